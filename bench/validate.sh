#!/usr/bin/env bash
# Benchmark `qci-mirror validate FILE --format json` against PyYAML's C loader
# merely parsing the same file. See bench/README.md for what the columns mean.
#
#   bash bench/validate.sh
#
# Env: QCI_BENCH_REAL_CONFIG overrides the path of the real _config.yaml
# (default, relative to the repo root: tests/fixtures/openshift-release/_config.yaml).
set -euo pipefail
# EPOCHREALTIME, awk and printf must all use '.' as the decimal separator.
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/.."  # repo root: cargo and relative paths work from here

REAL_CONFIG=${QCI_BENCH_REAL_CONFIG:-tests/fixtures/openshift-release/_config.yaml}
RUNS=5
BIN=target/release/qci-mirror
# Targets are fixed on purpose: change the code, never the bar.
MAX_SPEED_RATIO=1.0   # qci median / PyYAML parse-only median, at 100k entries
MAX_RSS_MIB=300       # qci peak RSS, any input
MAX_GROWTH=1.5        # per-entry time at 100k / per-entry time at 10k

die() { echo "bench: $*" >&2; exit 1; }

[[ -r $REAL_CONFIG ]] || die "real config not readable: $REAL_CONFIG (set QCI_BENCH_REAL_CONFIG)"

echo "building release binary..."
cargo build --release --quiet
[[ -x $BIN ]] || die "cargo build succeeded but $BIN is missing"

# GNU time gives peak RSS (%M, KiB); bash's `time` keyword cannot.
if [[ ! -x /usr/bin/time ]]; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  # A fresh container often has no package lists yet; update only if needed.
  $sudo apt-get install -y -qq time || { $sudo apt-get update -qq && $sudo apt-get install -y -qq time; } \
    || die "could not install Debian package 'time' (/usr/bin/time)"
fi

# Compare against the fast C loader only: the pure-Python loader is ~10x slower
# and would make qci-mirror look better than it is.
if ! python3 -c 'import yaml; yaml.CLoader' 2>/dev/null; then
  echo "PyYAML with libyaml missing; installing the binary wheel (it bundles libyaml)..."
  python3 -m pip install --quiet --only-binary=:all: --force-reinstall pyyaml \
    || die "pip install pyyaml failed (an externally managed Python? use a venv)"
  python3 -c 'import yaml; yaml.CLoader' 2>/dev/null \
    || die "PyYAML is installed but yaml.CLoader (libyaml) is unavailable; refusing to fall back to the pure-Python loader"
fi

# Time the interpreter itself, not a version-manager shim (pyenv's python3 is a
# shell script that adds ~100 ms per start and is no part of PyYAML's cost).
PYTHON=$(python3 -c 'import sys; print(sys.executable)')

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "generating synthetic configs..."
python3 bench/gen_config.py 10000 "$WORK/config-10k.yaml"
python3 bench/gen_config.py 100000 "$WORK/config-100k.yaml"

# PyYAML run. The whole process is timed from outside (what a user waits for);
# inside, perf_counter covers yaml.load only (no interpreter start, no import),
# which is the "parse-only" view. The entry count is taken after the clock stops.
PARSE_PY='
import sys, time, yaml
with open(sys.argv[1], "rb") as f:
    start = time.perf_counter()
    config = yaml.load(f, Loader=yaml.CLoader)
    parse_s = time.perf_counter() - start
print(f"{parse_s:.6f}", len(config["supplementalCIImages"]))
'

# measure CMD...: run CMD $RUNS times under GNU time; set TIMES (wall seconds
# per run, taken with bash's microsecond clock because %e only has 10 ms
# resolution) and PEAK_KIB (largest max-RSS over the runs); every run's stdout
# is appended to $WORK/outputs. A non-zero exit fails the bench: timing a crash
# or a findings exit would be meaningless.
measure() {
  TIMES=()
  PEAK_KIB=0
  : >"$WORK/outputs"
  local i start end status rss
  for ((i = 0; i < RUNS; i++)); do
    status=0
    start=$EPOCHREALTIME
    /usr/bin/time -f %M -o "$WORK/rss" "$@" >"$WORK/stdout" 2>"$WORK/stderr" || status=$?
    end=$EPOCHREALTIME
    if ((status != 0)); then
      echo "bench: exit status $status from: $*" >&2
      head -c 2000 "$WORK/stderr" "$WORK/stdout" >&2
      exit 1
    fi
    cat "$WORK/stdout" >>"$WORK/outputs"
    TIMES+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f", b - a }')")
    rss=$(tail -n 1 "$WORK/rss")
    if ((rss > PEAK_KIB)); then PEAK_KIB=$rss; fi
  done
}

best() { printf '%s\n' "$@" | sort -g | head -n 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"%.4f\", $1 }"; }  # calc 'EXPR' -> 4 decimals

declare -A ENTRIES QCI_MED PY_MED PARSE_MED QCI_MIB PY_MIB BYTES
INPUTS=(real 10k 100k)
declare -A FILE=([real]=$REAL_CONFIG [10k]=$WORK/config-10k.yaml [100k]=$WORK/config-100k.yaml)

for input in "${INPUTS[@]}"; do
  file=${FILE[$input]}
  BYTES[$input]=$(wc -c <"$file")
  echo "measuring $input ($file, ${BYTES[$input]} bytes, $RUNS runs each)..."

  measure "$BIN" validate "$file" --format json
  QCI_MED[$input]=$(median "${TIMES[@]}")
  QCI_MIB[$input]=$(calc "$PEAK_KIB / 1024")
  echo "  qci-mirror       best $(best "${TIMES[@]}") s  median ${QCI_MED[$input]} s  peak ${QCI_MIB[$input]} MiB"

  measure "$PYTHON" -c "$PARSE_PY" "$file"
  PY_MED[$input]=$(median "${TIMES[@]}")
  PY_MIB[$input]=$(calc "$PEAK_KIB / 1024")
  echo "  PyYAML process   best $(best "${TIMES[@]}") s  median ${PY_MED[$input]} s  peak ${PY_MIB[$input]} MiB"

  # Same runs, inside view: each printed "<parse seconds> <entries>".
  PARSES=()
  while read -r parse_s entries; do
    PARSES+=("$parse_s")
    ENTRIES[$input]=$entries
  done <"$WORK/outputs"
  PARSE_MED[$input]=$(median "${PARSES[@]}")
  echo "  PyYAML parse     best $(best "${PARSES[@]}") s  median ${PARSE_MED[$input]} s  (in-process, yaml.load only)"
done

echo
printf '%-6s %8s %10s %9s %9s %9s %9s %9s %8s %8s\n' \
  input entries bytes qci_s py_s parse_s qci/py qci/parse qci_MiB py_MiB
for input in "${INPUTS[@]}"; do
  printf '%-6s %8s %10s %9.4f %9.4f %9.4f %9.3f %9.3f %8.1f %8.1f\n' \
    "$input" "${ENTRIES[$input]}" "${BYTES[$input]}" \
    "${QCI_MED[$input]}" "${PY_MED[$input]}" "${PARSE_MED[$input]}" \
    "$(calc "${QCI_MED[$input]} / ${PY_MED[$input]}")" \
    "$(calc "${QCI_MED[$input]} / ${PARSE_MED[$input]}")" \
    "${QCI_MIB[$input]}" "${PY_MIB[$input]}"
done
echo

# verdict CONDITION: set VERDICT to PASS/FAIL (no subshell, so FAILED sticks).
FAILED=0
verdict() { if awk "BEGIN { exit !($1) }"; then VERDICT=PASS; else VERDICT=FAIL; FAILED=1; fi; }

speed=$(calc "${QCI_MED[100k]} / ${PARSE_MED[100k]}")
speed_process=$(calc "${QCI_MED[100k]} / ${PY_MED[100k]}")
verdict "$speed <= $MAX_SPEED_RATIO"
echo "speed:  100k qci / PyYAML parse-only = $speed (target <= $MAX_SPEED_RATIO; vs whole PyYAML process: $speed_process): $VERDICT"

peak=0
for input in "${INPUTS[@]}"; do peak=$(calc "(${QCI_MIB[$input]} > $peak) ? ${QCI_MIB[$input]} : $peak"); done
verdict "$peak <= $MAX_RSS_MIB"
echo "memory: qci peak RSS = $peak MiB (target <= $MAX_RSS_MIB MiB): $VERDICT"

# Per-entry time includes process start-up, which inflates the 10k figure, so
# a ratio below 1.0 is expected; above 1.0 means superlinear work.
per10k=$(calc "${QCI_MED[10k]} / ${ENTRIES[10k]} * 1000000")
per100k=$(calc "${QCI_MED[100k]} / ${ENTRIES[100k]} * 1000000")
growth=$(calc "$per100k / $per10k")
verdict "$growth <= $MAX_GROWTH"
echo "linear: qci time per entry 10k = $per10k us, 100k = $per100k us, ratio = $growth (target <= $MAX_GROWTH): $VERDICT"

exit "$FAILED"
