#!/usr/bin/env bash
# Benchmark reading the promoted tags of an openshift/release-sized ci-operator config tree
# (`qci-mirror validate --ci-operator-config DIR`) against PyYAML's C loader loading every file
# of the same tree. See bench/README.md.
#
#   bash bench/promoted.sh
#
# Env: QCI_BENCH_FILES (default 10000) sets the tree's size.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FILES=${QCI_BENCH_FILES:-10000}
RUNS=5
BIN=target/release/qci-mirror
# Fixed on purpose: change the code, never the bar.
MAX_SECONDS=2.0      # qci-mirror median, whole process, 10,000 configs
MAX_EMPTY_SECONDS=0.2 # qci-mirror median without any ci-operator folder

die() { echo "bench: $*" >&2; exit 1; }

echo "building release binary..."
cargo build --release --quiet
[[ -x $BIN ]] || die "cargo build succeeded but $BIN is missing"
python3 -c 'import yaml; yaml.CLoader' 2>/dev/null ||
  die "PyYAML with libyaml (yaml.CLoader) is needed: python3 -m pip install pyyaml"
PYTHON=$(python3 -c 'import sys; print(sys.executable)')

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "generating $FILES ci-operator configs..."
python3 bench/gen_ci_operator.py "$FILES" "$WORK/ci-operator/config"
mkdir -p "$WORK/core-services/image-mirroring" "$WORK/empty/core-services/image-mirroring"
CONFIG="$WORK/core-services/image-mirroring/_config.yaml"
printf 'supplementalCIImages:\n  ci/x:v1:\n    image: quay.io/org/x:v1\n' >"$CONFIG"
cp "$CONFIG" "$WORK/empty/core-services/image-mirroring/_config.yaml"
BYTES=$(find "$WORK/ci-operator/config" -name '*.yaml' -printf '%s\n' | awk '{ s += $1 } END { print s }')

LOAD_PY='
import os, sys, time, yaml
start = time.perf_counter()
files = 0
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(folder, name), "rb") as f:
                yaml.load(f, Loader=yaml.CLoader)
            files += 1
print(f"{time.perf_counter() - start:.6f}", files)
'

# time_runs CMD...: wall seconds of each of $RUNS runs in TIMES; a failing run fails the bench.
time_runs() {
  TIMES=()
  local i start end
  for ((i = 0; i < RUNS; i++)); do
    start=$EPOCHREALTIME
    "$@" >"$WORK/out" 2>"$WORK/err" || die "failed: $* ($(cat "$WORK/err"))"
    end=$EPOCHREALTIME
    TIMES+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }')")
  done
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

time_runs "$BIN" validate "$CONFIG"
QCI=$(median "${TIMES[@]}")
QCI_ALL="${TIMES[*]}"
[[ ! -s $WORK/err ]] || die "qci-mirror skipped configs: $(cat "$WORK/err")"
time_runs "$BIN" validate "$WORK/empty/core-services/image-mirroring/_config.yaml"
EMPTY=$(median "${TIMES[@]}")
time_runs "$PYTHON" -c "$LOAD_PY" "$WORK/ci-operator/config"
PY=$(median "${TIMES[@]}")
PY_FILES=$(cut -d' ' -f2 "$WORK/out")
[[ $PY_FILES -eq $FILES ]] || die "PyYAML loaded $PY_FILES files, expected $FILES"

printf '%-8s %10s %8s %8s %8s %8s\n' files bytes qci_s empty_s py_s qci/py
printf '%-8s %10s %8s %8s %8s %8s\n' "$FILES" "$BYTES" "$QCI" "$EMPTY" "$PY" \
  "$(awk -v a="$QCI" -v b="$PY" 'BEGIN { printf "%.3f", a / b }')"
echo "qci runs: $QCI_ALL"
verdict() { awk -v v="$1" -v max="$2" 'BEGIN { print (v <= max) ? "PASS" : "FAIL" }'; }
echo "speed: qci-mirror median $QCI s for $FILES configs (target <= $MAX_SECONDS s): $(verdict "$QCI" "$MAX_SECONDS")"
echo "no folder: qci-mirror median $EMPTY s (target <= $MAX_EMPTY_SECONDS s): $(verdict "$EMPTY" "$MAX_EMPTY_SECONDS")"
