#!/usr/bin/env bash
# scripts/bench-workers.sh: the two designs of CPU work behind an HTTP
# server, side by side in one run (docs/workers.md): /hash on the thread
# pool, and /hash on worker threads that each run a loop and talk to the
# serving loop through message queues (examples/workers/). Linux only.
#
#   bash scripts/bench-workers.sh
#
# For each design, a fresh server (examples/workers, an optimised build
# of its own in build-bench-workers/) with AX_WORKERS_THREADS threads
# for the hashes (2: --workers 2, or a pool of 2). Then, for
# AX_WORKERS_SECONDS (5), two wrk processes at once: one keeps
# AX_WORKERS_HASH_CONNS (4) /hash?n=AX_WORKERS_ROUNDS (2,000,000: a few
# milliseconds of a core each) requests in flight, the other asks for "/"
# on 50 keep-alive connections. Reported: requests per second of "/"
# and its p99 latency (wrk's), hashes per second, and the serving loop's
# delay (p50, p99, max) as its /metrics tells, reset before the run. A
# first row runs "/" with no hash load, for reference.
#
# Everything shares the machine's cores: the figures compare the designs
# within one run, not with another machine's.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(uname -s)" = Linux ] || ax_die "bench-workers.sh runs on Linux only"

SECS=${AX_WORKERS_SECONDS:-5}
THREADS=${AX_WORKERS_THREADS:-2}
ROUNDS=${AX_WORKERS_ROUNDS:-2000000}
HASH_CONNS=${AX_WORKERS_HASH_CONNS:-4}
BUILD=${AX_BENCH_WORKERS_BUILD:-build-bench-workers}

ax_install_missing meson ninja-build pkg-config gcc libc6-dev wrk curl \
  >/dev/null
ax_meson_setup "$BUILD" -Dbuildtype=release -Dtests=false -Dexamples=true \
  >/dev/null
ninja -C "$BUILD" examples/workers/workers >/dev/null
SERVER=$BUILD/examples/workers/workers

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Start the server with the given arguments; sets port and server_pid.
start_server() {
  : >"$tmp/server.out" # Not the last run's line: the job truncates late.
  AX_THREADPOOL_SIZE=$THREADS "$SERVER" --port 0 --workers "$THREADS" "$@" \
    >"$tmp/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/server.out")
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  ax_die "the server did not start: $(cat "$tmp/server.out")"
}

stop_server() {
  kill -TERM "$server_pid"
  timeout 30 tail --pid="$server_pid" -f /dev/null || kill -9 "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

# wrk's requests per second and p99 latency from its --latency output.
wrk_rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }
wrk_p99() { awk '$1 == "99%" { print $2 }' "$1"; }

# A field of /metrics' loop_delay row (3: p50, 5: p99, 6: max), in ms.
delay_ms() {
  awk -v f="$2" '$1 == "loop_delay" { printf "%.2f", $f / 1e6 }' "$1"
}

# One row: the design's name, the server's arguments; "none" for no hash
# load.
row() {
  local name=$1 load=$2
  shift 2
  start_server "$@"
  local base=http://127.0.0.1:$port
  # Warm up (the pool starts its threads with the first job), then reset.
  curl -s "$base/hash?n=1000" >/dev/null
  curl -s "$base/" >/dev/null
  curl -s "$base/metrics?reset=1" >/dev/null
  local hash_pid=
  if [ "$load" = hash ]; then
    timeout $((SECS + 30)) wrk -t1 -c"$HASH_CONNS" -d"${SECS}s" \
      --timeout 10s "$base/hash?n=$ROUNDS" >"$tmp/hash.txt" 2>&1 &
    hash_pid=$!
  fi
  timeout $((SECS + 30)) wrk -t1 -c50 -d"${SECS}s" --latency \
    "$base/" >"$tmp/hello.txt" 2>&1
  [ -n "$hash_pid" ] && wait "$hash_pid"
  curl -s "$base/metrics" >"$tmp/metrics.txt"
  stop_server
  local hashes=-
  [ "$load" = hash ] && hashes=$(wrk_rps "$tmp/hash.txt")
  printf '%-22s %10s %10s %10s %10s %10s %10s\n' "$name" \
    "$(wrk_rps "$tmp/hello.txt")" "$(wrk_p99 "$tmp/hello.txt")" "$hashes" \
    "$(delay_ms "$tmp/metrics.txt" 3)" "$(delay_ms "$tmp/metrics.txt" 5)" \
    "$(delay_ms "$tmp/metrics.txt" 6)"
}

echo "axle $(git describe --always --dirty 2>/dev/null || echo '?'),"\
  "$(nproc) cores, $THREADS hash threads, /hash?n=$ROUNDS on" \
  "$HASH_CONNS connections, $SECS s per row"
printf '%-22s %10s %10s %10s %10s %10s %10s\n' design "/ req/s" "/ p99" \
  "hash/s" "delay p50" "delay p99" "delay max"
printf '%-22s %10s %10s %10s %10s %10s %10s\n' "" "" "" "" ms ms ms
row "no hash load" none --hash workers
row "thread pool" hash --hash pool
row "worker loops (msgq)" hash --hash workers
