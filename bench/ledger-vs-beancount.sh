#!/usr/bin/env bash
# `sandboxctl run` on a 40-year bean-example ledger (about 29k directives) with five builtin
# plugins, against Beancount 2.3.5 in-process (`bean-check`, pickle cache off) with the
# same plugin lines. Prints the median wall time of each and the ratio (target <= 1.5x).
#
# Usage: bench/ledger-vs-beancount.sh
#   RUNS=5        timed runs of each command (after one untimed warm-up)
#   SEED=1        bean-example seed; BEGIN/END the ledger's dates (1985-01-01, 2025-01-01)
#   PROFILES="strict standard"   a sandboxctl run is timed under each profile
#   FORMATS="beancount"          sandboxctl's output formats timed (beancount, jsonl)
# Needs: the engine, `npm run build` and the images (`node bin/sandboxctl.js images build`);
# bean-example and bean-check on the host (the baseline), which it installs itself when
# missing (scripts/host-beancount.sh: Debian's python3-beancount and beancount, as root).
# Uses hyperfine when installed, else times the runs itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-5}
SEED=${SEED:-1}
BEGIN=${BEGIN:-1985-01-01}
END=${END:-2025-01-01}
PROFILES=${PROFILES:-strict standard}
FORMATS=${FORMATS:-beancount}
PLUGINS=(implicit_prices check_commodity unique_prices noduplicates coherent_cost)
TARGET=1.5

if ! command -v bean-example >/dev/null || ! command -v bean-check >/dev/null; then
  echo "bean-example or bean-check is missing: installing Beancount on the host (scripts/host-beancount.sh)" >&2
  bash scripts/host-beancount.sh || { echo "error: could not install Beancount on the host; the baseline needs bean-check" >&2; exit 2; }
fi
command -v node >/dev/null || { echo "error: node is not installed" >&2; exit 2; }
[ -f dist/cli/index.js ] || { echo "error: dist/ is missing: run npm run build" >&2; exit 2; }

work=$(mktemp -d /tmp/sbx-bench-ledger.XXXXXX)
trap 'rm -rf "$work"' EXIT
# the loader reads the ledger as an unprivileged user
chmod 755 "$work"
# the runs' audit records stay with the bench's files
export SANDBOXCTL_AUDIT_LOG=$work/audit.jsonl
export BEANCOUNT_DISABLE_LOAD_CACHE=1

ledger=$work/ledger.beancount
bean-example -s "$SEED" --date-begin "$BEGIN" --date-end "$END" -o "$work/example.beancount" 2>/dev/null
{
  for p in "${PLUGINS[@]}"; do echo "plugin \"beancount.plugins.$p\""; done
  cat "$work/example.beancount"
} >"$ledger"

sbx() { # profile format -> the command line timed (the output file is replaced atomically)
  echo "node $ROOT/bin/sandboxctl.js run $ledger --profile $1 --format $2 -o $work/out-$1.$2"
}

# one untimed run of each: they must succeed, and agree on the number of errors
bean_errors=$(bean-check "$ledger" 2>&1 | grep -c '^/' || true)
names=("bean-check") cmds=("bean-check $ledger")
for prof in $PROFILES; do
  if ! node bin/sandboxctl.js run "$ledger" --profile "$prof" --format jsonl -o "$work/check-$prof.jsonl" --json >"$work/report-$prof.json" 2>"$work/stderr-$prof.log"; then
    echo "error: sandboxctl run failed under profile $prof:" >&2; tail -c 2000 "$work/report-$prof.json" >&2; tail -5 "$work/stderr-$prof.log" >&2; exit 1
  fi
  read -r count_in count_out errors < <(node -e 'const r=require(process.argv[1]); console.log(r.counts.input, r.counts.output, r.errors.length)' "$work/report-$prof.json")
  if [ "$errors" != "$bean_errors" ]; then
    echo "error: sandboxctl reported $errors error(s) under profile $prof, bean-check $bean_errors" >&2; exit 1
  fi
  for fmt in $FORMATS; do names+=("sandboxctl run, profile $prof, $fmt output") cmds+=("$(sbx "$prof" "$fmt")"); done
done
echo "ledger: bean-example -s $SEED, $BEGIN to $END: $(wc -l <"$ledger") lines, $count_in directives loaded, $count_out after the plugins; $bean_errors error(s)"
echo "plugins: ${PLUGINS[*]}"
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs each after a warm-up; medians"

medians=$work/medians.txt
if command -v hyperfine >/dev/null; then
  args=()
  for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  hyperfine --style basic --runs "$RUNS" --warmup 1 --export-json "$work/hyperfine.json" "${args[@]}" >"$work/hyperfine.out"
  node -e '
    const r = require(process.argv[1]);
    for (const x of r.results) {
      const t = [...x.times].sort((a, b) => a - b), m = t.length >> 1;
      console.log(`${(t.length % 2 ? t[m] : (t[m - 1] + t[m]) / 2).toFixed(3)}\t${x.command}`);
    }' "$work/hyperfine.json" >"$medians"
  echo "timing: hyperfine $(hyperfine --version | cut -d" " -f2)"
else
  for i in "${!cmds[@]}"; do
    bash -c "${cmds[$i]}" >/dev/null 2>&1 # warm-up
    times=()
    for _ in $(seq "$RUNS"); do
      s=$(date +%s%N); bash -c "${cmds[$i]}" >/dev/null 2>&1; e=$(date +%s%N)
      times+=("$(( (e - s) / 1000000 ))")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v name="${names[$i]}" '{ t[NR] = $1 } END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2; printf "%.3f\t%s\n", m / 1000, name }' >>"$medians"
  done
  echo "timing: plain (hyperfine not installed)"
fi

base=$(awk -F'\t' '$2 == "bean-check" { print $1 }' "$medians")
awk -F'\t' -v base="$base" -v target="$TARGET" '
  { printf "  %-50s median %7.2f s", $2, $1; if ($2 != "bean-check") printf "   ratio %.2fx (target <= %sx)", $1 / base, target; printf "\n" }' "$medians"

# CPU: one more run of each command, counting the CPU the whole machine used meanwhile
# (/proc/stat: user, nice, system, irq, softirq, steal), so the engine's and the containers'
# share is counted too. On N cores no schedule can finish in less wall time than CPU / N:
# that bound, against bean-check's median, says how far any overlap could take the ratio.
hz=$(getconf CLK_TCK)
cores=$(nproc)
busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
echo "CPU of one more run of each (whole machine, $cores cores; the load average above adds noise):"
for i in "${!cmds[@]}"; do
  b0=$(busy); bash -c "${cmds[$i]}" >/dev/null 2>&1; b1=$(busy)
  awk -v t="$((b1 - b0))" -v hz="$hz" -v n="$cores" -v base="$base" -v name="${names[$i]}" -v target="$TARGET" 'BEGIN {
    cpu = t / hz; floor = cpu / n
    printf "  %-50s %6.2f s of CPU", name, cpu
    if (name != "bean-check") printf ", so at least %.2f s of wall on %d cores: %.2fx bean-check at best (target <= %sx)", floor, n, floor / base, target
    printf "\n" }'
done
