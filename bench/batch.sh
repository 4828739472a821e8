#!/usr/bin/env bash
# `sandboxctl batch` over N one-year bean-example ledgers, each with two third-party-style
# Python plugins (bench/plugins: one modifies transactions, one only reports), against a
# sequential loop of Beancount 2.3.5 in-process with the same plugin modules on PYTHONPATH
# over the same ledgers: one `python3 in-process.py LEDGER` per ledger (loader.load_file,
# then the result printed), as a cron loop of bean-check would; and, for reference, one
# Python process for all of them. Prints the wall times and the ratios (target <= 1.5x
# against the loop), measured in this run, and sandboxctl's peak RSS. Then a memory run: MEMORY_N tiny ledgers, sandboxctl's RSS sampled
# through the run (target: flat, peak under 300 MB). And the floor under the ratio: what the
# containers alone cost, empty (bench/container-floor.mjs), for as many as the batch makes.
#
# Usage: bench/batch.sh
#   N=200          one-year ledgers (bean-example -s 1..N, 2024-01-01 to 2025-01-01; 0: memory run only)
#   MEMORY_N=1000  tiny ledgers of the memory run (0: no memory run)
#   PROFILE=standard   the admin profile of the batch
#   JOBS=          sandboxctl's --jobs (default: its own choice from the cores and memory)
# Needs: Beancount on the host (bash scripts/host-beancount.sh), the engine, `npm run build`
# and the images (`node bin/sandboxctl.js images build`), GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${N:-200}
MEMORY_N=${MEMORY_N:-1000}
PROFILE=${PROFILE:-standard}
JOBS=${JOBS:-}
PY=/usr/bin/python3 # Debian's, where python3-beancount is
TARGET_RATIO=1.5
TARGET_RSS_MB=300

for tool in bean-example node /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (bash scripts/host-beancount.sh installs Beancount; apt-get install time)" >&2; exit 2; }
done
"$PY" -c 'import beancount' 2>/dev/null || { echo "error: $PY cannot import beancount: bash scripts/host-beancount.sh" >&2; exit 2; }
[ -f dist/cli/index.js ] || { echo "error: dist/ is missing: run npm run build" >&2; exit 2; }

work=$(mktemp -d /tmp/sbx-bench-batch.XXXXXX)
# on failure the reports and logs stay, for a look at what went wrong
trap 'rc=$?; if [ "$rc" -ne 0 ]; then rm -rf "$work"/year "$work"/tiny "$work"/warm; echo "kept for inspection: $work" >&2; else rm -rf "$work"; fi' EXIT
# the loader reads the ledgers as an unprivileged user
chmod 755 "$work"
export SANDBOXCTL_AUDIT_LOG=$work/audit.jsonl
export BEANCOUNT_DISABLE_LOAD_CACHE=1

# the same plugin code both ways: bundles for sandboxctl, a package on PYTHONPATH in-process
mkdir -p "$work/py/benchplugins"
: >"$work/py/benchplugins/__init__.py"
cp bench/plugins/benchplugins.*/*.py "$work/py/benchplugins/"
PLUGIN_LINES='plugin "benchplugins.tag_spend" "250"
plugin "benchplugins.payee_check"'

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
hz=$(getconf CLK_TCK)
busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

# gen DIR COUNT KIND: COUNT ledgers DIR/l-NNNN/main.beancount (KIND year: bean-example -s NNNN; tiny: 3 transactions)
gen() {
  mkdir -p "$1"
  seq 1 "$2" | KIND=$3 DIR=$1 PLUGIN_LINES=$PLUGIN_LINES xargs -P "$(nproc)" -I{} bash -c '
    d=$(printf "%s/l-%04d" "$DIR" {}); mkdir -p "$d"
    { printf "%s\n" "$PLUGIN_LINES"
      if [ "$KIND" = year ]; then bean-example -s {} --date-begin 2024-01-01 --date-end 2025-01-01 2>/dev/null
      else printf "%s\n" "2024-01-01 open Assets:Cash EUR" "2024-01-01 open Expenses:Food EUR" "2024-01-01 open Expenses:Rent EUR" \
        "2024-01-05 * \"Corner Shop\" \"groceries\"" "  Expenses:Food  42.10 EUR" "  Assets:Cash" \
        "2024-02-01 * \"Landlord\" \"rent\"" "  Expenses:Rent  900.00 EUR" "  Assets:Cash" \
        "2024-02-07 * \"corner shop\" \"groceries\"" "  Expenses:Food  12.00 EUR" "  Assets:Cash"; fi
    } >"$d/main.beancount"'
}

# sbx OUT_TIME OUT_RSS_SAMPLES LEDGER_GLOB REPORT_DIR: one `sandboxctl batch`, its RSS polled each second
sbx() {
  /usr/bin/time -v -o "$1" node "$ROOT/bin/sandboxctl.js" batch "$3" --plugins-dir "$ROOT/bench/plugins" \
    --profile "$PROFILE" --report-dir "$4" --force ${JOBS:+--jobs "$JOBS"} >"$4.stdout" 2>"$4.stderr" &
  local timer=$! pid=""
  : >"$2"
  while kill -0 "$timer" 2>/dev/null; do
    [ -n "$pid" ] || pid=$(pgrep -P "$timer" node || true)
    [ -n "$pid" ] && awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null >>"$2" || true
    sleep 1
  done
  wait "$timer"
}
peak_mb() { awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$1"; }

echo "host: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB; load average at start $(loadavg)"

if [ "$N" -gt 0 ]; then
echo "== generating $N one-year ledgers (bean-example -s 1..$N, 2024) with the two plugin lines"
gen "$work/year" "$N" year
lines=$(cat "$work"/year/l-*/main.beancount | wc -l)
echo "   $lines lines in all, $((lines / N)) per ledger"

echo "== warm-up: sandboxctl on 2 ledgers (builds the two plugin images), Beancount on 2"
mkdir -p "$work/warm"
cp -r "$work/year/l-0001" "$work/year/l-0002" "$work/warm/"
if ! sbx "$work/warm.time" "$work/warm.rss" "$work/warm/*/main.beancount" "$work/warm-report"; then
  echo "error: the warm-up batch failed:" >&2; tail -c 3000 "$work/warm-report.stdout" >&2; tail -20 "$work/warm-report.stderr" >&2; exit 1
fi

cat >"$work/in-process.py" <<'EOF'
# Beancount in-process, one ledger after another: load (parse, book, plugins, validate),
# then print the result next to the ledger, as sandboxctl batch writes its outputs.
import sys
from beancount import loader
from beancount.parser import printer

errors_total = tagged = 0
for path in sys.argv[1:]:
    entries, errors, options = loader.load_file(path)
    errors_total += len(errors)
    tagged += sum(1 for e in entries if 'big-spend' in (getattr(e, 'tags', None) or ()))
    with open(path[:-len('.beancount')] + '.inproc.beancount', 'w') as out:
        printer.print_entries(entries, file=out)
print(len(sys.argv) - 1, errors_total, tagged)
EOF
PYTHONPATH="$work/py" "$PY" "$work/in-process.py" "$work"/warm/l-*/main.beancount >/dev/null

echo "== timed: Beancount in-process (a process per ledger, then one for all), then sandboxctl batch (profile $PROFILE), over the same $N ledgers; load average $(loadavg)"
b0=$(busy); t0=$(now)
for f in "$work"/year/l-*/main.beancount; do PYTHONPATH="$work/py" "$PY" "$work/in-process.py" "$f"; done >"$work/loop.out"
t1=$(now); b1=$(busy)
base_wall=$(secs "$t0" "$t1")
base_cpu=$(awk -v t="$((b1 - b0))" -v hz="$hz" 'BEGIN { printf "%.1f", t / hz }')
read -r base_errors base_tagged < <(awk '{ e += $2; t += $3 } END { print e + 0, t + 0 }' "$work/loop.out")

b0=$(busy); t0=$(now)
read -r one_n one_errors one_tagged < <(PYTHONPATH="$work/py" "$PY" "$work/in-process.py" "$work"/year/l-*/main.beancount)
t1=$(now); b1=$(busy)
one_wall=$(secs "$t0" "$t1")
one_cpu=$(awk -v t="$((b1 - b0))" -v hz="$hz" 'BEGIN { printf "%.1f", t / hz }')
[ "$one_n $one_errors $one_tagged" = "$N $base_errors $base_tagged" ] || { echo "error: one process and the loop disagree: $one_n $one_errors $one_tagged vs $N $base_errors $base_tagged" >&2; exit 1; }

load_mid=$(loadavg)
b0=$(busy); t0=$(now)
status=0
sbx "$work/year.time" "$work/year.rss" "$work/year/*/main.beancount" "$work/year-report" || status=$?
t1=$(now); b1=$(busy)
sbx_wall=$(secs "$t0" "$t1")
sbx_cpu=$(awk -v t="$((b1 - b0))" -v hz="$hz" 'BEGIN { printf "%.1f", t / hz }')
if [ "$status" -ne 0 ]; then
  echo "error: sandboxctl batch exited $status:" >&2; tail -c 3000 "$work/year-report.stdout" >&2; tail -20 "$work/year-report.stderr" >&2; exit 1
fi

# the same work both ways: every ledger succeeded, the same errors, the same transactions tagged
read -r sbx_ok sbx_errors < <(node -e '
  const r = require(process.argv[1]);
  console.log(r.totals.ok, r.ledgers.reduce((n, l) => n + l.diagnostics.length + l.diagnosticsOmitted, 0))' "$work/year-report/report.json")
sbx_tagged=$(cat "$work"/year/l-*/main.out.beancount | grep -c '#big-spend' || true)
[ "$sbx_ok" = "$N" ] || { echo "error: sandboxctl: $sbx_ok of $N ledgers ok (see $work/year-report/report.json)" >&2; exit 1; }
[ "$sbx_errors" = "$base_errors" ] || { echo "error: sandboxctl reported $sbx_errors error(s), Beancount $base_errors" >&2; exit 1; }
[ "$sbx_tagged" = "$base_tagged" ] || { echo "error: sandboxctl tagged $sbx_tagged transaction(s) #big-spend, Beancount $base_tagged" >&2; exit 1; }
jobs_used=$(node -e 'console.log(require(process.argv[1]).jobs)' "$work/year-report/report.json")

echo "results ($N ledgers, $base_tagged transactions tagged, $base_errors errors, both ways):"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '  %-58s %8s s  CPU %6s s\n' "Beancount in-process, a Python process per ledger (loop)" "$base_wall" "$base_cpu"
printf '  %-58s %8s s  CPU %6s s\n' "Beancount in-process, one Python process for all" "$one_wall" "$one_cpu"
printf '  %-58s %8s s  CPU %6s s   %sx the loop (target <= %sx), %sx one process\n' "sandboxctl batch, profile $PROFILE, --jobs $jobs_used" "$sbx_wall" "$sbx_cpu" \
  "$(ratio "$sbx_wall" "$base_wall")" "$TARGET_RATIO" "$(ratio "$sbx_wall" "$one_wall")"
printf '  %-58s %8s s\n' "sandboxctl per ledger (wall x jobs / N)" "$(awk -v w="$sbx_wall" -v j="$jobs_used" -v n="$N" 'BEGIN { printf "%.2f", w * j / n }')"
printf '  %-58s %8s MB (target < %s MB)\n' "sandboxctl peak RSS (GNU time)" "$(peak_mb "$work/year.time")" "$TARGET_RSS_MB"
echo "  load average: $(loadavg) (before sandboxctl's run: $load_mid)"

# the floor under any design that gives each ledger its own containers: one container per
# plugin line and one for the trusted session, each costing the machine at least what an
# empty one does (bench/container-floor.mjs: the plugin's own spec running /bin/true)
per_ledger=$(( $(printf '%s\n' "$PLUGIN_LINES" | grep -c '^plugin') + 1 ))
floor=$(PROFILE="$PROFILE" node bench/container-floor.mjs --json)
floor_cpu=$(node -e 'console.log(JSON.parse(process.argv[1]).cpuMsPerContainer)' "$floor")
echo "floor: $per_ledger containers per ledger (the session and one per plugin line), never reused across ledgers;"
echo "  an empty container under profile $PROFILE costs the machine $floor_cpu ms of CPU (bench/container-floor.mjs)"
awk -v c="$floor_cpu" -v k="$per_ledger" -v n="$N" -v cores="$(nproc)" -v base="$base_wall" -v t="$TARGET_RATIO" 'BEGIN {
  w = c * k * n / 1000 / cores
  printf "  %d ledgers x %d empty containers on %d cores: at least %.2f s of wall with no plugin code at all, %.2fx the loop (target <= %sx)\n", n, k, cores, w, w / base, t }'
fi

[ "$MEMORY_N" -gt 0 ] || exit 0
echo "== memory: sandboxctl batch over $MEMORY_N tiny ledgers (3 transactions, the same two plugins); load average $(loadavg)"
gen "$work/tiny" "$MEMORY_N" tiny
t0=$(now)
status=0
sbx "$work/tiny.time" "$work/tiny.rss" "$work/tiny/*/main.beancount" "$work/tiny-report" || status=$?
t1=$(now)
# exit 10: ledgers with errors, which the payee check reports in every tiny ledger
[ "$status" -eq 0 ] || [ "$status" -eq 10 ] || { echo "error: the memory batch exited $status" >&2; tail -c 3000 "$work/tiny-report.stdout" >&2; tail -20 "$work/tiny-report.stderr" >&2; exit 1; }
tiny_ok=$(node -e 'const r = require(process.argv[1]); console.log(r.totals.ok + r.totals.errors)' "$work/tiny-report/report.json")
echo "  $tiny_ok of $MEMORY_N ledgers ran (the payee check reports one error in each), wall $(secs "$t0" "$t1") s"
# RSS in quarters of the run: flat means the last quarter's peak is no higher than the first's
awk -v n="$(wc -l <"$work/tiny.rss")" '
  { q = int((NR - 1) * 4 / n); seen[q] = 1; if ($1 > max[q]) max[q] = $1 }
  END { printf "  RSS peak by quarter of the run (%d samples, 1 s apart):", n
        for (q = 0; q < 4; q++) if (q in seen) printf " %.0f", max[q] / 1024; printf " MB\n" }' "$work/tiny.rss"
printf '  %-58s %8s MB (target < %s MB)\n' "sandboxctl peak RSS over $MEMORY_N ledgers (GNU time)" "$(peak_mb "$work/tiny.time")" "$TARGET_RSS_MB"
echo "  report.json $(wc -c <"$work/tiny-report/report.json") bytes$( [ -f "$work/tiny-report/report.html" ] && echo ", report.html $(wc -c <"$work/tiny-report/report.html") bytes")"
echo "  load average: $(loadavg)"
