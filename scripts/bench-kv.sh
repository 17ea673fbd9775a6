#!/usr/bin/env bash
# scripts/bench-kv.sh: GET /kv/KEY of the HTTP server example, through
# its connection pool to examples/kv-server, against a connection per
# request, and the pool at sizes 1, 4, 16 and 64, in one run, on an
# optimised build of its own (build-bench-http/, or the directory
# AX_BENCH_HTTP_BUILD names). Linux only.
#
#   bash scripts/bench-kv.sh
#
# The HTTP server (--threads 1) runs on CPU 0; the kv-server and wrk
# share CPU 1 (taskset). wrk (bench/http/wrk.lua, one request in flight
# per connection) keeps AX_KV_CONNS (64) keep-alive connections busy for
# AX_KV_SECONDS (5) per configuration, each on a fresh pair of servers.
# "--kv-pool 0" is a connection per request: connect, send, read, close.
#
# Reported per configuration: requests per second; requests per SERVER
# CPU-second, where the server is the HTTP server (the pool's side: user
# + system time from /proc/PID/stat before and after), and per CPU-second
# of both servers together (connecting costs the upstream too); p50 and
# p99 latency as wrk measures them. Then the pooled figure against the
# connection per request, and a plot of requests per server CPU-second
# against the pool size: docs/images/pool-throughput.png (or the
# directory given as $1). Results are kept in build-bench/results/kv.txt.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(uname -s)" = Linux ] || ax_die "bench-kv.sh runs on Linux only"

SECONDS_PER_RUN=${AX_KV_SECONDS:-5}
CONNS=${AX_KV_CONNS:-64}
SIZES=${AX_KV_SIZES:-0 1 4 16 64}
VALUE_BYTES=${AX_KV_VALUE_BYTES:-100}
BUILD=${AX_BENCH_HTTP_BUILD:-build-bench-http}
OUT_DIR=${1:-docs/images}
LIMIT_S=60

ax_install_missing meson ninja-build pkg-config gcc libc6-dev wrk curl \
  gnuplot-nox util-linux procps >/dev/null
ax_meson_setup "$BUILD" -Dbuildtype=release -Dtests=false -Dexamples=true \
  -Ddocs=disabled >/dev/null
ninja -C "$BUILD" examples/kv-server examples/http-server/http-server \
  >/dev/null

RESULTS=${AX_BENCH_RESULTS:-build-bench/results}
mkdir -p "$RESULTS" "$OUT_DIR"
exec > >(tee "$RESULTS/kv.txt")

HTTP=$BUILD/examples/http-server/http-server
KV=$BUILD/examples/kv-server
LUA=$AX_ROOT/bench/http/wrk.lua
TICKS_PER_S=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d)
HTTP_PID=
KV_PID=
cleanup() {
  [ -n "$HTTP_PID" ] && kill -KILL "$HTTP_PID" 2>/dev/null
  [ -n "$KV_PID" ] && kill -KILL "$KV_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

# Start "$@" on CPU $1 with output to file $2; wait for its
# "listening on HOST:PORT" and set LAST_PID and LAST_PORT.
start() {
  local cpu=$1 out=$2 i
  shift 2
  : >"$out" # Not the last run's line: the job truncates it too late.
  taskset -c "$cpu" "$@" >"$out" 2>&1 &
  LAST_PID=$!
  LAST_PORT=
  for ((i = 0; i < 100; i++)); do
    LAST_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
    [ -n "$LAST_PORT" ] && return 0
    kill -0 "$LAST_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$out" >&2
  ax_die "$1 did not start"
}

ticks() {
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

field() {
  tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

stop() {
  kill -TERM "$1" 2>/dev/null || true
  timeout 10 tail --pid="$1" -f /dev/null || kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null || true
}

# One configuration: pool size $1 (0: a connection per request). Prints
# "size req/s per-http-cpu-s per-both-cpu-s p50_us p99_us errors".
run_one() {
  local size=$1 h0 k0 h1 k1 line
  start 1 "$TMP/kv.out" "$KV" --port 0
  KV_PID=$LAST_PID
  start 0 "$TMP/http.out" "$HTTP" --port 0 --threads 1 \
    --kv "127.0.0.1:$LAST_PORT" --kv-pool "$size" --max-connections 100000
  HTTP_PID=$LAST_PID
  local url="http://127.0.0.1:$LAST_PORT/kv/bench"
  head -c "$VALUE_BYTES" /dev/zero | tr '\0' v >"$TMP/value"
  curl -sf -o /dev/null -X PUT --data-binary "@$TMP/value" "$url" ||
    ax_die "PUT $url failed"
  h0=$(ticks "$HTTP_PID")
  k0=$(ticks "$KV_PID")
  taskset -c 1 timeout "$((SECONDS_PER_RUN + LIMIT_S))" wrk -t 1 \
    -c "$CONNS" -d "${SECONDS_PER_RUN}s" --timeout 10s --latency \
    -s "$LUA" "$url" -- 1 >"$TMP/wrk.out" 2>&1 ||
    echo "warning: wrk failed: $(tail -n 3 "$TMP/wrk.out")" >&2
  h1=$(ticks "$HTTP_PID")
  k1=$(ticks "$KV_PID")
  stop "$HTTP_PID"
  HTTP_PID=
  stop "$KV_PID"
  KV_PID=
  line=$(grep '^result ' "$TMP/wrk.out" || echo result)
  awk -v r="$(field "$line" responses)" -v d="$(field "$line" duration_us)" \
    -v h="$((h1 - h0))" -v k="$((k1 - k0))" -v hz="$TICKS_PER_S" \
    -v p50="$(field "$line" p50_us)" -v p99="$(field "$line" p99_us)" \
    -v e="$(($(field "$line" status_errors) + $(field "$line" timeouts) + \
      $(field "$line" read_errors) + $(field "$line" connect_errors)))" \
    -v size="$size" 'BEGIN {
      secs = d / 1e6; hc = h / hz; bc = (h + k) / hz
      printf "%s %.0f %.0f %.0f %s %s %s\n", size, (secs > 0 ? r / secs : 0),
        (hc > 0 ? r / hc : 0), (bc > 0 ? r / bc : 0), p50, p99, e
    }'
}

echo "bench-kv: GET /kv/bench ($VALUE_BYTES-byte value), $CONNS wrk" \
  "connections, ${SECONDS_PER_RUN} s per configuration, $(date -u +%F)"
echo
printf '| %-16s | %10s | %14s | %14s | %8s | %8s | %6s |\n' \
  "--kv-pool" "requests/s" "per server CPU-s" "per both CPU-s" "p50 us" \
  "p99 us" "errors"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "------------------" "------------:" \
  "-----------------:" "----------------:" "---------:" "---------:" \
  "-------:"
: >"$TMP/rows"
for size in $SIZES; do
  row=$(run_one "$size")
  echo "$row" >>"$TMP/rows"
  read -r s rps per_http per_both p50 p99 errors <<<"$row"
  label=$s
  [ "$s" = 0 ] && label="0 (per request)"
  printf '| %-16s | %10s | %16s | %14s | %8s | %8s | %6s |\n' "$label" \
    "$rps" "$per_http" "$per_both" "$p50" "$p99" "$errors"
done
echo

# The pooled figures against a connection per request.
awk '$1 == 0 { base = $3; base_both = $4 }
     $1 != 0 { best = ($3 > best ? $3 : best); row[$1] = $3; both[$1] = $4 }
     END {
       if (base <= 0) exit
       for (s in row)
         printf "pool of %s: %.1fx the requests per server CPU-second of a connection per request (%.1fx per CPU-second of both servers)\n", s, row[s] / base, both[s] / base_both
     }' "$TMP/rows" | sort -t' ' -k3 -n

# The plot: requests per server CPU-second against the pool size, with
# the connection per request as its own bar.
awk '{ label = ($1 == 0 ? "per request" : "pool " $1); printf "\"%s\"\t%s\t%s\n", label, $3, $4 }' \
  "$TMP/rows" >"$TMP/plot.tsv"
gnuplot <<EOF
set terminal pngcairo size 800,440 font 'sans,10'
set output '$OUT_DIR/pool-throughput.png'
set title "GET /kv through the pool: requests per CPU-second (higher is better)"
set ylabel 'requests per CPU-second'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set format y '%.0s%c'
set grid ytics
set key top left
set datafile separator '\t'
set linetype 1 lc rgb '#1f77b4'
set linetype 2 lc rgb '#ff7f0e'
plot '$TMP/plot.tsv' using 2:xtic(1) title 'per HTTP server CPU-second', \
     '' using 3 title 'per CPU-second of both servers'
EOF
echo "wrote $OUT_DIR/pool-throughput.png"
