# Shared by the benchmark scripts (sourced from the repository root, after `set -euo pipefail`):
# tools installed when missing, the release build, a scratch directory removed on exit, local
# registries on loopback, and timing and JSON helpers. Nothing talks to anything but 127.0.0.1.
# Expects BIN to be set.

# Loopback only, whatever proxies the environment sets.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "[$(date +%H:%M:%S)] $*"; }

# --- tools --------------------------------------------------------------------
missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v skopeo >/dev/null || missing+=(skopeo)
[[ -x /usr/bin/time ]] || missing+=(time)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  say "installing ${missing[*]} with apt..."
  # policy-rc.d (if present) keeps apt from starting the registry daemon.
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
    die "could not install ${missing[*]}"
fi

say "building release binary..."
cargo build --release --quiet
[[ -x $BIN ]] || die "cargo build succeeded but $BIN is missing"

WORK=$(mktemp -d /tmp/qci-mirror-bench.XXXXXX)
declare -A REG_PID=() REG_ADDR=()
cleanup() {
  local name
  for name in "${!REG_PID[@]}"; do
    kill "${REG_PID[$name]}" 2>/dev/null || true
    wait "${REG_PID[$name]}" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers ------------------------------------------------------------------
calc() { awk "BEGIN { printf \"%.4f\", $1 }"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_registry NAME [PORT]: a plain-HTTP anonymous registry on 127.0.0.1 with
# empty storage in $WORK/NAME/data. The access log (Apache combined format,
# one line per request) goes to stdout, appended to $WORK/NAME.access;
# the application log (level warn) to $WORK/NAME.err.
start_registry() {
  local name=$1 port=${2:-} attempt i
  mkdir -p "$WORK/$name"
  for attempt in 1 2 3 4 5; do
    [[ -n $port ]] || port=$(free_port)
    cat >"$WORK/$name/config.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $WORK/$name/data}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}}
http: {addr: 127.0.0.1:$port, secret: fixed-bench-secret}
EOF
    docker-registry serve "$WORK/$name/config.yml" >>"$WORK/$name.access" 2>>"$WORK/$name.err" &
    REG_PID[$name]=$!
    REG_ADDR[$name]=127.0.0.1:$port
    for ((i = 0; i < 500; i++)); do
      if ! kill -0 "${REG_PID[$name]}" 2>/dev/null; then break; fi  # exited: port taken?
      if curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"; then return 0; fi
      sleep 0.02
    done
    kill "${REG_PID[$name]}" 2>/dev/null || true
    wait "${REG_PID[$name]}" 2>/dev/null || true
    unset "REG_PID[$name]"
    port=""
  done
  die "registry $name did not start (see $WORK/$name.err)"
}

# wipe_registry NAME: stop it, delete its storage, start it again (same port if possible).
wipe_registry() {
  local name=$1 port=${REG_ADDR[$1]##*:}
  kill "${REG_PID[$name]}"
  wait "${REG_PID[$name]}" 2>/dev/null || true
  unset "REG_PID[$name]"
  rm -rf "$WORK/$name/data"
  start_registry "$name" "$port"
}

log_mark() { stat -c %s "$WORK/$1.access"; }

# CPU seconds (user + sys) so far: reg_cpu NAME for a running registry;
# tool_cpu for every process this shell has waited for (the tools), read from
# the `times` builtin, which must run in this shell, not in a $(...) subshell.
CLK_TCK=$(getconf CLK_TCK)
reg_cpu() { awk -v hz="$CLK_TCK" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/${REG_PID[$1]}/stat"; }
tool_cpu() {
  times >"$WORK/times"
  TOOL_CPU=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.2f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$WORK/times")
}
# cpu_mark, then cpu_since: "CPU: tool X s, registry A Y s, B Z s" in between.
cpu_mark() { tool_cpu; CPU0=("$TOOL_CPU" "$(reg_cpu a)" "$(reg_cpu b)"); }
cpu_since() {
  tool_cpu
  CPU_TEXT="CPU: tool $(calc "$TOOL_CPU - ${CPU0[0]}") s, registry A $(calc "$(reg_cpu a) - ${CPU0[1]}") s, B $(calc "$(reg_cpu b) - ${CPU0[2]}") s"
}

# log_count NAME MARK: requests logged since MARK, as "kind_METHOD=count" lines
# (kind: manifest, blob, upload, ping, tags, other) plus writes= and total=.
log_count() {
  sleep 0.3  # the access log line is written just after the response
  tail -c +"$(($2 + 1))" "$WORK/$1.access" | awk '
    match($0, /"[A-Z]+ [^ ]+ HTTP\/[0-9.]+"/) {
      split(substr($0, RSTART + 1, RLENGTH - 2), r, " ")
      m = r[1]; p = r[2]; sub(/\?.*/, "", p)
      if (p ~ /\/blobs\/uploads/) k = "upload"
      else if (p ~ /\/manifests\//) k = "manifest"
      else if (p ~ /\/blobs\//) k = "blob"
      else if (p ~ /^\/v2\/?$/) k = "ping"
      else if (p ~ /\/tags\/list$/) k = "tags"
      else k = "other"
      n[k "_" m]++; total++
      if (m == "PUT" || m == "POST" || m == "PATCH" || m == "DELETE") writes++
    }
    END { for (k in n) print k "=" n[k]; print "writes=" writes + 0; print "total=" total + 0 }'
}

# counts_into ARRAY NAME MARK: log_count into an associative array.
counts_into() {
  local -n into=$1
  local k v
  into=()
  while IFS== read -r k v; do into[$k]=$v; done < <(log_count "$2" "$3")
}
get() { local -n from=$1; echo "${from[$2]:-0}"; }
summary() {  # summary ARRAY: "total N: kind_METHOD=n ..." sorted
  local -n from=$1
  local k out=""
  for k in $(printf '%s\n' "${!from[@]}" | grep -v -e '^total$' -e '^writes$' | sort); do out+=" $k=${from[$k]}"; done
  echo "total ${from[total]:-0}:${out:- none}"
}

ACCEPT=(-H 'Accept: application/vnd.oci.image.index.v1+json'
  -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json'
  -H 'Accept: application/vnd.oci.image.manifest.v1+json'
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json')
# served_digest ADDR REPO REF: the Docker-Content-Digest a manifest HEAD returns.
served_digest() {
  curl -sfI "${ACCEPT[@]}" "http://$1/v2/$2/manifests/$3" |
    awk -F': ' 'tolower($1) == "docker-content-digest" { gsub(/\r/, "", $2); print $2 }'
}

SKOPEO=(skopeo copy --quiet --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false)
# push_layout LAYOUT TAG...: skopeo each oci:LAYOUT:TAG to A/src/TAG:v1, two at a time.
push_layout() {
  local layout=$1
  shift
  printf '%s\n' "$@" | xargs -P 2 -I '{}' "${SKOPEO[@]}" "oci:$layout:{}" "docker://${REG_ADDR[a]}/src/{}:v1" ||
    die "pushing images from $layout to A failed"
}
SKOPEO_CACHE=/var/lib/containers/cache/blob-info-cache-v1.boltdb
skopeo_fresh_cache() { rm -f "$SKOPEO_CACHE" "${HOME:-/root}/.local/share/containers/cache/blob-info-cache-v1.boltdb"; }

# json_get FILE EXPR: a Python expression over `r` (the parsed report).
json_get() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
count_results() { json_get "$1" "sum(e['result'] == '$2' for e in r['entries'])"; }
