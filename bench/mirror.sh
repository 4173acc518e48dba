#!/usr/bin/env bash
# Benchmark `qci-mirror mirror` against skopeo and a raw curl blob copy,
# between two local CNCF distribution registries on 127.0.0.1 (plain HTTP).
# See the "Benchmark: qci-mirror mirror" section of bench/README.md.
#
#   bash bench/mirror.sh
#
# Measures, in one run:
#   (a) cold mirror of 20 images sharing a base layer: qci-mirror (one process)
#       vs `skopeo copy --all --preserve-digests` image by image; bytes uploaded
#   (b) no-op re-run of 500 entries (50 distinct sources): wall time and the
#       requests both registries saw; skopeo on 50 of them, extrapolated x10
#       (QCI_BENCH_SKOPEO_NOOP=500 times all of them instead)
#   (c) qci-mirror peak RSS copying one 1 GiB layer
#   (d) qci-mirror copy time of that 1 GiB layer vs curl GET | curl PUT
# Nothing talks to anything but 127.0.0.1. Exit 1 if a target is missed.
#
# Env: QCI_BENCH_RUNS (default 3) repetitions of (a), (b)'s qci-mirror no-op
# and (c)/(d); medians are reported. QCI_BENCH_SKOPEO_NOOP (default 50, at
# most 500): how many of (b)'s 500 no-op copies skopeo does; its time is
# scaled to 500.
set -euo pipefail
export LC_ALL=C  # '.' decimals for EPOCHREALTIME, awk and printf

cd "$(dirname "${BASH_SOURCE[0]}")/.."  # repo root

BIN=target/release/qci-mirror
RUNS=${QCI_BENCH_RUNS:-3}
# Targets are fixed on purpose: change the code, never the bar.
MAX_COLD_RATIO=0.4        # (a) qci / skopeo wall time
MAX_BYTES_RATIO=1.01      # (a) bytes uploaded / unique blob bytes (and >= 1.0)
MAX_NOOP_RATIO=0.05       # (b) qci 500 entries / skopeo 500 (extrapolated)
MAX_HEADS_PER_ENTRY=2     # (b) manifest HEADs on both registries per entry
MAX_RSS_MIB=32            # (c)
MAX_RAW_RATIO=1.1         # (d) qci / curl wall time
COLD_IMAGES=20
NOOP_ENTRIES=500
NOOP_SOURCES=50
SKOPEO_NOOP_SAMPLE=${QCI_BENCH_SKOPEO_NOOP:-50}
BIG_MIB=1024
[[ $SKOPEO_NOOP_SAMPLE =~ ^[1-9][0-9]*$ ]] && ((SKOPEO_NOOP_SAMPLE <= NOOP_ENTRIES)) ||
  { echo "bench: QCI_BENCH_SKOPEO_NOOP must be 1..$NOOP_ENTRIES" >&2; exit 1; }
SCALE=$(awk -v a="$NOOP_ENTRIES" -v b="$SKOPEO_NOOP_SAMPLE" 'BEGIN { printf "%g", a / b }')

# Registries, tools, timing helpers and the release build, shared with bench/latency.sh.
source bench/lib.sh

# run_qci OUT CONFIG TARGET_ADDR: one timed `qci-mirror mirror` process under
# GNU time; sets QCI_S (wall seconds) and QCI_KIB (peak RSS); JSON to OUT.
run_qci() {
  local out=$1 config=$2 target=$3 start end status=0
  start=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$WORK/rss" "$BIN" mirror --config "$config" \
    --target-repository "$target/ci" \
    --plain-http "${REG_ADDR[a]}" --plain-http "$target" \
    --format json >"$out" 2>"$out.stderr" || status=$?
  end=$EPOCHREALTIME
  if ((status != 0)); then
    echo "bench: qci-mirror exit status $status" >&2
    head -c 3000 "$out.stderr" "$out" >&2
    exit 1
  fi
  QCI_S=$(elapsed "$start" "$end")
  QCI_KIB=$(tail -n 1 "$WORK/rss")
}

start_registry a
start_registry b
say "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine skews timings)"
say "registries: A (source) ${REG_ADDR[a]}, B (target) ${REG_ADDR[b]}; work dir $WORK"
# The log format was checked by hand: one line per request on stdout, e.g.
# 127.0.0.1 - - [27/Nov/2026:12:30:53 +0000] "HEAD /v2/foo/manifests/bar HTTP/1.1" 404 93 "" "curl/7.88.1"
curl -sf -o /dev/null "http://${REG_ADDR[a]}/v2/"
sleep 0.3
grep -q '"GET /v2/ HTTP/1.1" 200' "$WORK/a.access" || die "no access log line for GET /v2/ in $WORK/a.access"

declare -A RESULT=() TARGET=() VERDICT=()
# Request counts per phase (filled by counts_into).
declare -A A_QCI_REQ=() A_SKO_REQ=() RA=() RB=() SA=() SB=() DQ=() DR=()
ORDER=()
FAILED=0
record() {  # record KEY VALUE TARGET_TEXT CONDITION
  ORDER+=("$1"); RESULT[$1]=$2; TARGET[$1]=$3
  if awk "BEGIN { exit !($4) }"; then VERDICT[$1]=PASS; else VERDICT[$1]=FAIL; FAILED=1; fi
}

# --- (a) cold mirror of 20 images ---------------------------------------------
say "(a) building $COLD_IMAGES images (shared 8 MiB base, own 1 MiB layer; every 5th a 2-platform index)..."
python3 bench/make_images.py "$WORK/layout-a" --images "$COLD_IMAGES" --base-kib 8192 --own-kib 1024 \
  --multi-every 5 --prefix img --seed 1 >"$WORK/images-a.json"
UNIQUE_BYTES=$(json_get "$WORK/images-a.json" "r['unique_blob_bytes']")
UNIQUE_BLOBS=$(json_get "$WORK/images-a.json" "r['unique_blobs']")
mapfile -t A_TAGS < <(json_get "$WORK/images-a.json" "'\n'.join(t['tag'] for t in r['tags'])")
mapfile -t A_DIGESTS < <(json_get "$WORK/images-a.json" "'\n'.join(t['digest'] for t in r['tags'])")
say "(a) pushing them to A with skopeo..."
skopeo_fresh_cache
push_layout "$WORK/layout-a" "${A_TAGS[@]}"
{
  echo "supplementalCIImages:"
  for tag in "${A_TAGS[@]}"; do printf '  bench/%s:v1:\n    image: %s/src/%s:v1\n' "$tag" "${REG_ADDR[a]}" "$tag"; done
} >"$WORK/config-a.yaml"

# check_target_digests LABEL: every target tag on B has its source's digest.
check_target_digests() {
  local i got
  for i in "${!A_TAGS[@]}"; do
    got=$(served_digest "${REG_ADDR[b]}" ci "bench_${A_TAGS[$i]}_v1")
    [[ $got == "${A_DIGESTS[$i]}" ]] || die "(a) $1: B/ci:bench_${A_TAGS[$i]}_v1 is '$got', want ${A_DIGESTS[$i]}"
  done
}

A_QCI=() A_SKO=()
for ((run = 1; run <= RUNS; run++)); do
  wipe_registry b
  sync
  mark=$(log_mark b)
  cpu_mark
  run_qci "$WORK/a-qci-$run.json" "$WORK/config-a.yaml" "${REG_ADDR[b]}"
  A_QCI+=("$QCI_S")
  cpu_since
  A_QCI_CPU=$CPU_TEXT
  counts_into A_QCI_REQ b "$mark"
  copied=$(count_results "$WORK/a-qci-$run.json" copied)
  ((copied == COLD_IMAGES)) || die "(a) qci-mirror copied $copied of $COLD_IMAGES entries"
  check_target_digests qci-mirror
  A_BYTES=$(json_get "$WORK/a-qci-$run.json" "r['bytes_uploaded']")
  A_BLOBS=$(json_get "$WORK/a-qci-$run.json" "r['blobs_uploaded']")
  A_STATS=$(json_get "$WORK/a-qci-$run.json" "'blobs_uploaded %d, blobs_mounted %d, blobs_existing %d' % (r['blobs_uploaded'], r['blobs_mounted'], r['blobs_existing'])")

  wipe_registry b
  skopeo_fresh_cache
  sync
  mark=$(log_mark b)
  cpu_mark
  start=$EPOCHREALTIME
  for tag in "${A_TAGS[@]}"; do
    "${SKOPEO[@]}" "docker://${REG_ADDR[a]}/src/$tag:v1" "docker://${REG_ADDR[b]}/ci:bench_${tag}_v1"
  done
  end=$EPOCHREALTIME
  cpu_since
  A_SKO_CPU=$CPU_TEXT
  A_SKO+=("$(elapsed "$start" "$end")")
  counts_into A_SKO_REQ b "$mark"
  check_target_digests skopeo
  say "(a) run $run: qci-mirror ${A_QCI[-1]} s (peak $((QCI_KIB / 1024)) MiB; $A_QCI_CPU)"
  say "(a) run $run: skopeo     ${A_SKO[-1]} s ($A_SKO_CPU)"
done
A_QCI_MED=$(median "${A_QCI[@]}")
A_SKO_MED=$(median "${A_SKO[@]}")
say "(a) qci-mirror bytes_uploaded $A_BYTES ($A_STATS); unique layer+config bytes $UNIQUE_BYTES in $UNIQUE_BLOBS blobs"
say "(a) requests on B, last run: qci-mirror $(summary A_QCI_REQ)"
say "(a) requests on B, last run: skopeo     $(summary A_SKO_REQ)"
record "a.qci_s" "$A_QCI_MED" "info" 1
record "a.skopeo_s" "$A_SKO_MED" "info" 1
record "a.ratio" "$(calc "$A_QCI_MED / $A_SKO_MED")" "<= $MAX_COLD_RATIO" "$A_QCI_MED / $A_SKO_MED <= $MAX_COLD_RATIO"
record "a.bytes" "$A_BYTES / $UNIQUE_BYTES = $(calc "$A_BYTES / $UNIQUE_BYTES")" "1.0 .. $MAX_BYTES_RATIO" \
  "$A_BYTES >= $UNIQUE_BYTES && $A_BYTES / $UNIQUE_BYTES <= $MAX_BYTES_RATIO"
record "a.blobs" "$A_BLOBS / $UNIQUE_BLOBS" "= unique" "$A_BLOBS == $UNIQUE_BLOBS"
rm -rf "$WORK/layout-a"

# --- (b) no-op re-run of 500 entries --------------------------------------------
say "(b) building and pushing $NOOP_SOURCES small source images..."
python3 bench/make_images.py "$WORK/layout-b" --images "$NOOP_SOURCES" --own-kib 4 \
  --multi-every 10 --prefix noop --seed 2 >"$WORK/images-b.json"
mapfile -t B_TAGS < <(json_get "$WORK/images-b.json" "'\n'.join(t['tag'] for t in r['tags'])")
skopeo_fresh_cache
push_layout "$WORK/layout-b" "${B_TAGS[@]}"
{
  echo "supplementalCIImages:"
  for ((e = 0; e < NOOP_ENTRIES; e++)); do
    printf '  bench/%s:t%02d:\n    image: %s/src/%s:v1\n' \
      "${B_TAGS[$((e % NOOP_SOURCES))]}" "$((e / NOOP_SOURCES))" "${REG_ADDR[a]}" "${B_TAGS[$((e % NOOP_SOURCES))]}"
  done
} >"$WORK/config-b.yaml"

wipe_registry b
run_qci "$WORK/b-populate.json" "$WORK/config-b.yaml" "${REG_ADDR[b]}"
copied=$(count_results "$WORK/b-populate.json" copied)
((copied == NOOP_ENTRIES)) || die "(b) populating run copied $copied of $NOOP_ENTRIES entries"
say "(b) populated $NOOP_ENTRIES target tags in $QCI_S s (one qci-mirror run, $(json_get "$WORK/b-populate.json" "r['blobs_uploaded']") blobs uploaded)"

B_QCI=()
B_HEADS=0 B_BLOBREQ=0 B_WRITES=0 B_MGETS=0 B_PINGS=0 B_OTHER=0
for ((run = 1; run <= RUNS; run++)); do
  mark_a=$(log_mark a); mark_b=$(log_mark b)
  cpu_mark
  run_qci "$WORK/b-noop-$run.json" "$WORK/config-b.yaml" "${REG_ADDR[b]}"
  cpu_since
  B_QCI+=("$QCI_S")
  up=$(count_results "$WORK/b-noop-$run.json" up-to-date)
  ((up == NOOP_ENTRIES)) || die "(b) no-op run: $up of $NOOP_ENTRIES entries up to date"
  counts_into RA a "$mark_a"; counts_into RB b "$mark_b"
  # The worst run counts.
  heads=$(($(get RA manifest_HEAD) + $(get RB manifest_HEAD)))
  blobreq=$(($(get RA blob_HEAD) + $(get RA blob_GET) + $(get RB blob_HEAD) + $(get RB blob_GET) + $(get RA upload_POST) + $(get RB upload_POST)))
  writes=$(($(get RA writes) + $(get RB writes)))
  mgets=$(($(get RA manifest_GET) + $(get RB manifest_GET)))
  pings=$(($(get RA ping_GET) + $(get RB ping_GET)))
  other=$(($(get RA total) + $(get RB total) - heads - mgets - blobreq - writes - pings))
  if ((heads > B_HEADS)); then B_HEADS=$heads; fi
  if ((blobreq > B_BLOBREQ)); then B_BLOBREQ=$blobreq; fi
  if ((writes > B_WRITES)); then B_WRITES=$writes; fi
  if ((mgets > B_MGETS)); then B_MGETS=$mgets; fi
  if ((pings > B_PINGS)); then B_PINGS=$pings; fi
  if ((other > B_OTHER)); then B_OTHER=$other; fi
  say "(b) qci-mirror no-op run $run: $QCI_S s (peak $((QCI_KIB / 1024)) MiB; $CPU_TEXT)"
  say "    requests: A $(summary RA); B $(summary RB)"
done
B_QCI_MED=$(median "${B_QCI[@]}")

say "(b) skopeo: $SKOPEO_NOOP_SAMPLE of the $NOOP_ENTRIES no-op copies (fresh blob-info cache), scaled x$SCALE..."
skopeo_fresh_cache
sync
mark_a=$(log_mark a); mark_b=$(log_mark b)
cpu_mark
start=$EPOCHREALTIME
for ((e = 0; e < SKOPEO_NOOP_SAMPLE; e++)); do
  # Entry e: bench/noop-XX:tYY -> B/ci:bench_noop-XX_tYY, already there.
  tag=${B_TAGS[$((e % NOOP_SOURCES))]}
  "${SKOPEO[@]}" "docker://${REG_ADDR[a]}/src/$tag:v1" \
    "docker://${REG_ADDR[b]}/ci:bench_${tag}_t$(printf %02d $((e / NOOP_SOURCES)))"
done
end=$EPOCHREALTIME
cpu_since
B_SKO_SAMPLE=$(elapsed "$start" "$end")
B_SKO_EST=$(calc "$B_SKO_SAMPLE * $NOOP_ENTRIES / $SKOPEO_NOOP_SAMPLE")
counts_into SA a "$mark_a"; counts_into SB b "$mark_b"
say "(b) skopeo $SKOPEO_NOOP_SAMPLE copies: $B_SKO_SAMPLE s -> $B_SKO_EST s estimated for $NOOP_ENTRIES ($CPU_TEXT)"
say "(b) skopeo requests for $SKOPEO_NOOP_SAMPLE copies: A $(summary SA); B $(summary SB)"
record "b.qci_s" "$B_QCI_MED" "info" 1
record "b.skopeo_s" "$B_SKO_EST (= ${B_SKO_SAMPLE} x $SCALE)" "info" 1
record "b.ratio" "$(calc "$B_QCI_MED / $B_SKO_EST")" "<= $MAX_NOOP_RATIO" "$B_QCI_MED / $B_SKO_EST <= $MAX_NOOP_RATIO"
record "b.heads" "$B_HEADS ($(calc "$B_HEADS / $NOOP_ENTRIES")/entry)" "<= $MAX_HEADS_PER_ENTRY/entry" \
  "$B_HEADS / $NOOP_ENTRIES <= $MAX_HEADS_PER_ENTRY"
record "b.blobreq" "$B_BLOBREQ" "= 0" "$B_BLOBREQ == 0"
record "b.writes" "$B_WRITES" "= 0" "$B_WRITES == 0"
record "b.mgets" "$B_MGETS" "info" 1
record "b.pings" "$B_PINGS" "info" 1
record "b.other" "$B_OTHER" "info" 1
rm -rf "$WORK/layout-b"

# --- (c) + (d) one 1 GiB layer ----------------------------------------------------
say "(c/d) generating a $BIG_MIB MiB random layer and pushing it to A..."
python3 bench/make_images.py "$WORK/layout-big" --images 1 --own-kib $((BIG_MIB * 1024)) \
  --prefix big --seed 3 >"$WORK/images-big.json"
BIG_DIGEST=$(json_get "$WORK/images-big.json" "r['largest_layer']['digest']")
BIG_SIZE=$(json_get "$WORK/images-big.json" "r['largest_layer']['size']")
BIG_IMAGE=$(json_get "$WORK/images-big.json" "r['tags'][0]['digest']")
skopeo_fresh_cache
"${SKOPEO[@]}" "oci:$WORK/layout-big:big-00" "docker://${REG_ADDR[a]}/src/big:v1"
rm -rf "$WORK/layout-big"
printf 'supplementalCIImages:\n  bench/big:v1:\n    image: %s/src/big:v1\n' "${REG_ADDR[a]}" >"$WORK/config-big.yaml"
# Warm the page cache with A's copy, so the first timed run is not the only cold read.
curl -sf -o /dev/null "http://${REG_ADDR[a]}/v2/src/big/blobs/$BIG_DIGEST"

# raw_copy: POST an upload on B, then stream A's blob into one monolithic PUT
# (`PUT <location>&digest=...` with Content-Length, distribution's
# "monolithic upload"); the digest check is the registry's. Sets RAW_S.
raw_copy() {
  local start end location code
  start=$EPOCHREALTIME
  location=$(curl -sf -X POST -o /dev/null -D - "http://${REG_ADDR[b]}/v2/raw/blobs/uploads/" |
    awk -F': ' 'tolower($1) == "location" { gsub(/\r/, "", $2); print $2 }')
  [[ -n $location ]] || die "(d) POST upload on B gave no Location"
  [[ $location == http* ]] || location="http://${REG_ADDR[b]}$location"
  local sep="?"
  [[ $location != *\?* ]] || sep="&"
  # -T - alone would add Transfer-Encoding: chunked next to Content-Length.
  code=$(curl -sf "http://${REG_ADDR[a]}/v2/src/big/blobs/$BIG_DIGEST" |
    curl -s -o /dev/null -w '%{http_code}' -T - -H "Content-Length: $BIG_SIZE" -H 'Transfer-Encoding:' \
      -H 'Content-Type: application/octet-stream' -H 'Expect:' "$location${sep}digest=$BIG_DIGEST")
  end=$EPOCHREALTIME
  [[ $code == 201 ]] || die "(d) monolithic PUT returned $code"
  RAW_S=$(elapsed "$start" "$end")
}

D_QCI=() D_RAW=() C_KIB=0
for ((run = 1; run <= RUNS; run++)); do
  # Alternate who goes first; the target starts empty every time.
  for tool in $( ((run % 2)) && echo "raw qci" || echo "qci raw"); do
    wipe_registry b
    sync
    if [[ $tool == raw ]]; then
      mark=$(log_mark b)
      cpu_mark
      raw_copy
      D_RAW+=("$RAW_S")
      cpu_since
      D_RAW_CPU=$CPU_TEXT
      counts_into DR b "$mark"
      [[ $(curl -s -o /dev/null -w '%{http_code}' -I "http://${REG_ADDR[b]}/v2/raw/blobs/$BIG_DIGEST") == 200 ]] ||
        die "(d) the raw copy is not on B"
    else
      mark=$(log_mark b)
      cpu_mark
      run_qci "$WORK/d-qci-$run.json" "$WORK/config-big.yaml" "${REG_ADDR[b]}"
      D_QCI+=("$QCI_S")
      cpu_since
      D_QCI_CPU=$CPU_TEXT
      if ((QCI_KIB > C_KIB)); then C_KIB=$QCI_KIB; fi
      counts_into DQ b "$mark"
      [[ $(count_results "$WORK/d-qci-$run.json" copied) == 1 ]] || die "(d) qci-mirror did not copy the big image"
      [[ $(served_digest "${REG_ADDR[b]}" ci bench_big_v1) == "$BIG_IMAGE" ]] || die "(d) wrong digest on B"
      D_BYTES=$(json_get "$WORK/d-qci-$run.json" "r['bytes_uploaded']")
    fi
  done
  say "(c/d) run $run: qci-mirror ${D_QCI[-1]} s (peak $((QCI_KIB / 1024)) MiB, uploaded $D_BYTES bytes; $D_QCI_CPU)"
  say "(c/d) run $run: curl GET|PUT ${D_RAW[-1]} s ($D_RAW_CPU)"
done
say "(d) requests on B, last run: qci-mirror $(summary DQ)"
say "(d) requests on B, last run: curl       $(summary DR)"
D_QCI_MED=$(median "${D_QCI[@]}")
D_RAW_MED=$(median "${D_RAW[@]}")
C_MIB=$(calc "$C_KIB / 1024")
record "c.rss" "$C_MIB MiB" "<= $MAX_RSS_MIB MiB" "$C_MIB <= $MAX_RSS_MIB"
record "d.qci_s" "$D_QCI_MED" "info" 1
record "d.raw_s" "$D_RAW_MED" "info" 1
record "d.ratio" "$(calc "$D_QCI_MED / $D_RAW_MED")" "<= $MAX_RAW_RATIO" "$D_QCI_MED / $D_RAW_MED <= $MAX_RAW_RATIO"

# --- table --------------------------------------------------------------------
declare -A LABEL=(
  [a.qci_s]="(a) cold 20 images: qci-mirror wall s (1 process)"
  [a.skopeo_s]="(a) cold 20 images: skopeo wall s (20 processes)"
  [a.ratio]="(a) cold: qci-mirror / skopeo"
  [a.bytes]="(a) bytes_uploaded / unique layer+config bytes"
  [a.blobs]="(a) blobs_uploaded / unique blobs"
  [b.qci_s]="(b) no-op 500 entries: qci-mirror wall s"
  [b.skopeo_s]="(b) no-op 500: skopeo wall s ($SKOPEO_NOOP_SAMPLE timed x$SCALE)"
  [b.ratio]="(b) no-op: qci-mirror / skopeo"
  [b.heads]="(b) no-op: manifest HEADs on A+B"
  [b.blobreq]="(b) no-op: blob requests on A+B"
  [b.writes]="(b) no-op: PUT/POST/PATCH/DELETE on A+B"
  [b.mgets]="(b) no-op: manifest GETs on A+B"
  [b.pings]="(b) no-op: GET /v2/ pings on A+B"
  [b.other]="(b) no-op: any other request on A+B"
  [c.rss]="(c) 1 GiB layer: qci-mirror peak RSS"
  [d.qci_s]="(d) 1 GiB layer: qci-mirror wall s"
  [d.raw_s]="(d) 1 GiB layer: curl GET | curl PUT wall s"
  [d.ratio]="(d) 1 GiB: qci-mirror / curl"
)
echo
echo "qci-mirror mirror benchmark: medians of $RUNS runs (skopeo no-op: one sample of $SKOPEO_NOOP_SAMPLE); $(nproc) cores, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-52s %-28s %-20s %s\n' measurement value target verdict
for key in "${ORDER[@]}"; do
  verdict=${VERDICT[$key]}
  [[ ${TARGET[$key]} == info* ]] && verdict="-"
  printf '%-52s %-28s %-20s %s\n' "${LABEL[$key]}" "${RESULT[$key]}" "${TARGET[$key]}" "$verdict"
done
echo
if ((FAILED)); then echo "RESULT: FAIL (at least one target missed)"; else echo "RESULT: PASS"; fi
exit "$FAILED"
