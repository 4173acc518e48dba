#!/usr/bin/env bash
# Latency of the push path: how long `qci-mirror action` takes, from its start on a `push` event
# to the mirrored tag, for a push that adds one entry to the real openshift/release config
# (522 entries after the push), between two local CNCF distribution registries on 127.0.0.1.
# See the "Benchmark: push latency" section of bench/README.md.
#
#   bash bench/latency.sh
#
# Each run, on an emptied target registry:
#   copy    `qci-mirror mirror --only` of that one entry from a one-entry config: the copy itself
#   skopeo  `skopeo copy --all --preserve-digests` of the same image: the peer's copy
#   action  `qci-mirror action` with the push payload, in a git checkout of the pushed commit:
#           reads the config at `before` and `after`, validates it, diffs, copies, verifies,
#           writes the summary and outputs
# The target: action ≤ copy + 1 s (the incumbent mirrors hours after a merge). Exit 1 if missed.
#
# Env: QCI_BENCH_RUNS (default 5), QCI_BENCH_REAL_CONFIG (default the real config in tests/fixtures).
set -euo pipefail
export LC_ALL=C  # '.' decimals for EPOCHREALTIME, awk and printf

cd "$(dirname "${BASH_SOURCE[0]}")/.."  # repo root

BIN=target/release/qci-mirror
RUNS=${QCI_BENCH_RUNS:-5}
REAL_CONFIG=${QCI_BENCH_REAL_CONFIG:-tests/fixtures/openshift-release/_config.yaml}
# Fixed on purpose: change the code, never the bar.
MAX_OVERHEAD_S=1.0
CONFIG=core-services/image-mirroring/_config.yaml
KEY=ci/latency-bench:v1
TAG=ci_latency-bench_v1

source bench/lib.sh
[[ -f $REAL_CONFIG ]] || die "no config at $REAL_CONFIG (set QCI_BENCH_REAL_CONFIG)"

start_registry a
start_registry b
say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

say "building one image (24 MiB shared base layer, 8 MiB own layer) and pushing it to A..."
python3 bench/make_images.py "$WORK/layout" --images 1 --base-kib 24576 --own-kib 8192 \
  --multi-every 0 --prefix app --seed 7 >"$WORK/images.json"
SOURCE_DIGEST=$(json_get "$WORK/images.json" "r['tags'][0]['digest']")
IMAGE_BYTES=$(json_get "$WORK/images.json" "r['unique_blob_bytes']")
skopeo_fresh_cache
push_layout "$WORK/layout" app-00
SOURCE=${REG_ADDR[a]}/src/app-00:v1

# The checkout: the real config, then the push that adds one entry at the top of the section.
REPO=$WORK/repo
mkdir -p "$REPO/$(dirname "$CONFIG")"
git -C "$REPO" init -q -b main
cp "$REAL_CONFIG" "$REPO/$CONFIG"
gitc() { git -C "$REPO" -c user.name=bench -c user.email=bench@example.com -c commit.gpgsign=false "$@"; }
gitc add -A && gitc commit -q -m base
BEFORE=$(gitc rev-parse HEAD)
python3 - "$REPO/$CONFIG" "$KEY" "$SOURCE" <<'EOF'
import sys
path, key, source = sys.argv[1:]
text = open(path).read()
head = "supplementalCIImages:\n"
assert text.startswith(head), "the config must start with supplementalCIImages"
open(path, "w").write(head + f"  {key}:\n    image: {source}\n" + text[len(head):])
EOF
gitc commit -q -am "mirror one more image"
AFTER=$(gitc rev-parse HEAD)
# supplementalCIImages keys: two-space-indented keys up to the next top-level key.
ENTRIES=$(awk '/^[^ #]/ { inside = ($0 ~ /^supplementalCIImages:/) } inside && /^  [^ #]/ { n++ } END { print n + 0 }' "$REPO/$CONFIG")
cat >"$WORK/event.json" <<EOF
{"ref": "refs/heads/main", "before": "$BEFORE", "after": "$AFTER", "deleted": false,
 "repository": {"full_name": "openshift/release", "default_branch": "main"}}
EOF
printf 'supplementalCIImages:\n  %s:\n    image: %s\n' "$KEY" "$SOURCE" >"$WORK/one.yaml"

target_digest() { served_digest "${REG_ADDR[b]}" openshift/ci "$TAG"; }
check_copied() {
  local got
  got=$(target_digest)
  [[ $got == "$SOURCE_DIGEST" ]] || die "$1: the target has '$got', not $SOURCE_DIGEST"
}

declare -a COPY_S=() SKOPEO_S=() ACTION_S=() OVERHEAD_S=()
for ((run = 1; run <= RUNS; run++)); do
  wipe_registry b
  start=$EPOCHREALTIME
  "$BIN" mirror --config "$WORK/one.yaml" --only "$KEY" --target-repository "${REG_ADDR[b]}/openshift/ci" \
    --plain-http "${REG_ADDR[a]}" --plain-http "${REG_ADDR[b]}" --progress lines \
    >"$WORK/copy.out" 2>&1 || { cat "$WORK/copy.out" >&2; die "qci-mirror mirror failed"; }
  end=$EPOCHREALTIME
  check_copied copy
  copy_s=$(elapsed "$start" "$end")

  wipe_registry b
  skopeo_fresh_cache
  start=$EPOCHREALTIME
  "${SKOPEO[@]}" "docker://$SOURCE" "docker://${REG_ADDR[b]}/openshift/ci:$TAG"
  end=$EPOCHREALTIME
  check_copied skopeo
  skopeo_s=$(elapsed "$start" "$end")

  wipe_registry b
  rm -f "$WORK/output" "$WORK/summary.md"
  start=$EPOCHREALTIME
  env -i PATH="$PATH" HOME="${HOME:-/root}" GITHUB_ACTIONS=true GITHUB_EVENT_NAME=push \
    GITHUB_EVENT_PATH="$WORK/event.json" GITHUB_WORKSPACE="$REPO" GITHUB_OUTPUT="$WORK/output" \
    GITHUB_STEP_SUMMARY="$WORK/summary.md" QCI_TARGET_REPOSITORY="${REG_ADDR[b]}/openshift/ci" \
    QCI_PLAIN_HTTP="${REG_ADDR[a]} ${REG_ADDR[b]}" \
    "$BIN" action >"$WORK/action.out" 2>&1 || { cat "$WORK/action.out" >&2; die "qci-mirror action failed"; }
  end=$EPOCHREALTIME
  check_copied action
  grep -q "changes 1 entry in" "$WORK/action.out" || { cat "$WORK/action.out" >&2; die "the push did not change exactly one entry"; }
  action_s=$(elapsed "$start" "$end")

  COPY_S+=("$copy_s") SKOPEO_S+=("$skopeo_s") ACTION_S+=("$action_s")
  OVERHEAD_S+=("$(calc "$action_s - $copy_s")")
  say "run $run: copy ${copy_s} s, skopeo ${skopeo_s} s, action ${action_s} s"
done

copy=$(median "${COPY_S[@]}")
skopeo=$(median "${SKOPEO_S[@]}")
action=$(median "${ACTION_S[@]}")
overhead=$(median "${OVERHEAD_S[@]}")
verdict=PASS
awk "BEGIN { exit !($overhead <= $MAX_OVERHEAD_S) }" || verdict=FAIL
echo
echo "push latency, $RUNS runs, medians; $ENTRIES supplementalCIImages entries in the pushed config, one image of $IMAGE_BYTES bytes"
printf '  %-44s %8s s\n' "copy itself (qci-mirror mirror --only)" "$copy" \
  "skopeo copy of the same image" "$skopeo" \
  "qci-mirror action, push event to mirrored tag" "$action"
printf '  %-44s %8s s   target <= %s s: %s\n' "action - copy (median of per-run differences)" "$overhead" "$MAX_OVERHEAD_S" "$verdict"
printf '  %-44s %8s\n' "action / skopeo" "$(calc "$action / $skopeo")"
[[ $verdict == PASS ]]
