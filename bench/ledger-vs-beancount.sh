#!/usr/bin/env bash
# `sandboxctl run` on a 40-year bean-example ledger (about 29k directives) with five builtin
# plugins, against Beancount 2.3.5 in-process (`bean-check`, pickle cache off) with the
# same plugin lines. Prints the median wall time of each and the ratio to bean-check, with
# the target of each isolation level: standard (builtins in the trusted session) <= 1.2x,
# standard-isolated (each builtin in its own container, runc) <= 1.5x, strict (each in its
# own gVisor container) <= 2.0x. With the standard profile, two floor lines
# (bench/session-floor.mjs): Beancount's work and the print in one session container with
# nothing sent to the host, without and with the session's own checks. Then the quickstart
# ledger under strict, whole command, against an absolute target of 3 s.
#
# Usage: bench/ledger-vs-beancount.sh
#   RUNS=5        timed runs of each command (after one untimed warm-up)
#   SEED=1        bean-example seed; BEGIN/END the ledger's dates (1985-01-01, 2025-01-01)
#   PROFILES="standard standard-isolated strict"   a sandboxctl run is timed under each profile
#   FORMATS="beancount"          sandboxctl's output formats timed (beancount, jsonl)
#   QUICKSTART=1                 also time examples/quickstart under strict (0: skip)
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
PROFILES=${PROFILES:-standard standard-isolated strict}
FORMATS=${FORMATS:-beancount}
QUICKSTART=${QUICKSTART:-1}
PLUGINS=(implicit_prices check_commodity unique_prices noduplicates coherent_cost)
# the target ratio to bean-check of each isolation level (by the profile that gives it)
target_for() {
  case $1 in
    standard | permissive) echo 1.2 ;;   # builtins in the trusted session
    strict) echo 2.0 ;;                   # each builtin in its own gVisor container
    *) echo 1.5 ;;                        # each builtin in its own runc container
  esac
}
level_of() {
  case $1 in
    standard | permissive) echo "builtins in the session" ;;
    strict) echo "builtins in gVisor containers" ;;
    *) echo "builtins in runc containers" ;;
  esac
}

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
names=("bean-check") cmds=("bean-check $ledger") targets=("")
for prof in $PROFILES; do
  if ! node bin/sandboxctl.js run "$ledger" --profile "$prof" --format jsonl -o "$work/check-$prof.jsonl" --json >"$work/report-$prof.json" 2>"$work/stderr-$prof.log"; then
    echo "error: sandboxctl run failed under profile $prof:" >&2; tail -c 2000 "$work/report-$prof.json" >&2; tail -5 "$work/stderr-$prof.log" >&2; exit 1
  fi
  read -r count_in count_out errors < <(node -e 'const r=require(process.argv[1]); console.log(r.counts.input, r.counts.output, r.errors.length)' "$work/report-$prof.json")
  if [ "$errors" != "$bean_errors" ]; then
    echo "error: sandboxctl reported $errors error(s) under profile $prof, bean-check $bean_errors" >&2; exit 1
  fi
  # every isolation level gives the same ledger
  first_prof=${first_prof:-$prof}
  if ! cmp -s "$work/check-$first_prof.jsonl" "$work/check-$prof.jsonl"; then
    echo "error: the ledgers sandboxctl wrote under profiles $first_prof and $prof differ" >&2; exit 1
  fi
  for fmt in $FORMATS; do names+=("sandboxctl run, profile $prof ($(level_of "$prof")), $fmt output") cmds+=("$(sbx "$prof" "$fmt")") targets+=("$(target_for "$prof")"); done
done
# the floor under the standard profile's line (bench/session-floor.mjs): Beancount's whole work and
# the print in one session container with nothing sent to the host, without and with the
# session's own checks (each plugin's effects, the audit's digests)
if [[ " $PROFILES " == *" standard "* ]]; then
  for checks in 0 1; do
    floor_cmd="CHECKS=$checks node $ROOT/bench/session-floor.mjs $ledger"
    bash -c "$floor_cmd" 2>"$work/stderr-floor.log" || { echo "error: bench/session-floor.mjs failed:" >&2; tail -5 "$work/stderr-floor.log" >&2; exit 1; }
    what=$([ "$checks" = 1 ] && echo "with the session's checks" || echo "nothing checked")
    names+=("floor: Beancount + print in one session container, no host, $what") cmds+=("$floor_cmd") targets+=("ratio")
  done
fi
qs_cmd="node $ROOT/bin/sandboxctl.js run $ROOT/examples/quickstart/main.beancount --plugins-dir $ROOT/examples/quickstart/plugins --profile strict -o $work/quickstart.beancount"
if [ "$QUICKSTART" = 1 ]; then
  bash -c "$qs_cmd" >/dev/null 2>"$work/stderr-quickstart.log" || { echo "error: the quickstart ledger failed under strict:" >&2; tail -5 "$work/stderr-quickstart.log" >&2; exit 1; }
  names+=("quickstart ledger (17 directives), profile strict, whole command") cmds+=("$qs_cmd") targets+=("3s")
fi
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
for i in "${!names[@]}"; do
  m=$(awk -F'\t' -v n="${names[$i]}" '$2 == n { print $1 }' "$medians")
  t=${targets[$i]}
  awk -v m="$m" -v base="$base" -v name="${names[$i]}" -v t="$t" 'BEGIN {
    printf "  %-78s median %7.2f s", name, m
    if (t ~ /s$/) { lim = substr(t, 1, length(t) - 1); printf "   (target < %s s: %s)", lim, (m < lim ? "met" : "NOT met") }
    else if (t == "ratio") printf "   ratio %.2fx", m / base
    else if (t != "") printf "   ratio %.2fx (target <= %sx: %s)", m / base, t, (m / base <= t ? "met" : "NOT met")
    printf "\n" }'
done

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
  awk -v t="$((b1 - b0))" -v hz="$hz" -v n="$cores" -v base="$base" -v name="${names[$i]}" -v target="${targets[$i]}" 'BEGIN {
    cpu = t / hz; floor = cpu / n
    printf "  %-78s %6.2f s of CPU", name, cpu
    if (target != "" && target != "ratio" && target !~ /s$/) printf ", so at least %.2f s of wall on %d cores: %.2fx bean-check at best (target <= %sx)", floor, n, floor / base, target
    printf "\n" }'
done
