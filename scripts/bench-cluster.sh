#!/usr/bin/env bash
# scripts/bench-cluster.sh: the cluster example (examples/cluster/) in each
# of its three modes beside the single-process HTTP server example, in one
# run, on an optimised build of its own (build-bench-cluster/, or the
# directory AX_BENCH_CLUSTER_BUILD names). Linux only.
#
#   bash scripts/bench-cluster.sh
#
# The sides: examples/http-server with one loop (--threads 1), and
# cluster --workers N (AX_CLUSTER_WORKERS, 2) in shared, round-robin and
# reuseport mode. Each listens on 127.0.0.1 only. wrk runs on CPU 1
# (taskset), one thread, GET / on 50 keep-alive connections, for
# AX_CLUSTER_SECONDS (5) per round; the servers are not pinned, since a
# cluster's point is to use every CPU, so on a 2-core machine wrk and the
# servers compete and the raw rate says more about the machine than the
# server. The figure that compares the sides is requests per SERVER
# CPU-second: the user + system time of every server process (the
# primary and its workers) from /proc/PID/stat before and after the run.
# Each side runs AX_CLUSTER_ROUNDS (3) times on a fresh server, and the
# round with the median per-CPU-second figure is reported, with wrk's
# error count (which must be 0).
#
# Environment: AX_CLUSTER_ROUNDS (3), AX_CLUSTER_SECONDS (5),
# AX_CLUSTER_WORKERS (2), AX_CLUSTER_CONNECTIONS (50), AX_CLUSTER_LOAD_CPU
# (1).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(uname -s)" = Linux ] || ax_die "bench-cluster.sh runs on Linux only"

ROUNDS=${AX_CLUSTER_ROUNDS:-3}
SECONDS_PER_ROUND=${AX_CLUSTER_SECONDS:-5}
WORKERS=${AX_CLUSTER_WORKERS:-2}
CONNS=${AX_CLUSTER_CONNECTIONS:-50}
LOAD_CPU=${AX_CLUSTER_LOAD_CPU:-1}
BUILD=${AX_BENCH_CLUSTER_BUILD:-build-bench-cluster}
# Every wait on a server or on wrk is bounded by this much.
LIMIT_S=60

ax_install_missing meson ninja-build pkg-config gcc libc6-dev wrk \
  util-linux procps curl python3 >/dev/null
ax_meson_setup "$BUILD" -Dbuildtype=release -Dtests=false -Dexamples=true \
  -Ddocs=disabled >/dev/null
ninja -C "$BUILD" >/dev/null

RESULTS=${AX_BENCH_RESULTS:-build-bench/results}
mkdir -p "$RESULTS"
exec > >(tee "$RESULTS/cluster.txt")

HTTP_SERVER=$BUILD/examples/http-server/http-server
CLUSTER=$BUILD/examples/cluster/cluster
TICKS_PER_S=$(getconf CLK_TCK)
TMP=$(mktemp -d)
SERVER_PID=
CPU_PIDS=
PORT=

cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill -INT "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# Wait for line $2 in file $1, while process $3 lives; bounded.
wait_line() {
  local deadline=$((SECONDS + LIMIT_S))
  while ! grep -q "$2" "$1"; do
    kill -0 "$3" 2>/dev/null || ax_die "the server exited: $(cat "$1")"
    [ $SECONDS -lt $deadline ] || ax_die "no '$2' in ${LIMIT_S}s"
    sleep 0.1
  done
}

# Start side $1 on a free port; set SERVER_PID, CPU_PIDS and PORT.
start_side() {
  local side=$1 out=$TMP/out
  : >"$out"
  if [ "$side" = single ]; then
    "$HTTP_SERVER" --port 0 --threads 1 >"$out" 2>"$TMP/err" &
  else
    "$CLUSTER" --workers "$WORKERS" --port 0 --mode "$side" \
      >"$out" 2>"$TMP/err" &
  fi
  SERVER_PID=$!
  if [ "$side" = single ]; then
    wait_line "$out" '^listening on' "$SERVER_PID"
  else
    wait_line "$out" '^status on' "$SERVER_PID"
  fi
  PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
  CPU_PIDS="$SERVER_PID $(pgrep -P "$SERVER_PID" | tr "\n" " " || true)"
}

stop_side() {
  kill -INT "$SERVER_PID"
  timeout "$LIMIT_S" tail --pid="$SERVER_PID" -f /dev/null || true
  wait "$SERVER_PID" || echo "warning: the server exited with $?" >&2
  SERVER_PID=
}

# Clock ticks of user + system time of the processes in CPU_PIDS.
server_ticks() {
  local pid total=0 t
  for pid in $CPU_PIDS; do
    t=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
    total=$((total + t))
  done
  echo "$total"
}

# One round on a fresh server of side $1: "per_cpu_s per_s errors".
round() {
  local side=$1 t0 t1 requests secs non2xx socket
  start_side "$side"
  t0=$(server_ticks)
  taskset -c "$LOAD_CPU" timeout "$((SECONDS_PER_ROUND + LIMIT_S))" wrk \
    -t 1 -c "$CONNS" -d "${SECONDS_PER_ROUND}s" --timeout 10s \
    "http://127.0.0.1:$PORT/" >"$TMP/wrk.out" 2>&1 ||
    echo "warning: wrk failed: $(tail -n 3 "$TMP/wrk.out")" >&2
  t1=$(server_ticks)
  stop_side
  requests=$(sed -n 's/^ *\([0-9]*\) requests in \([0-9.]*\)s.*/\1/p' \
    "$TMP/wrk.out")
  secs=$(sed -n 's/^ *[0-9]* requests in \([0-9.]*\)s.*/\1/p' "$TMP/wrk.out")
  non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' \
    "$TMP/wrk.out")
  socket=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1+\2+\3+\4/p' "$TMP/wrk.out")
  awk -v r="${requests:-0}" -v s="${secs:-0}" -v t="$((t1 - t0))" \
    -v hz="$TICKS_PER_S" -v e="$((${non2xx:-0} + ${socket:-0}))" 'BEGIN {
      cpu = t / hz
      printf "%.0f %.0f %d %.2f\n", (cpu > 0 ? r / cpu : 0),
        (s > 0 ? r / s : 0), e, cpu
    }'
}

echo "cluster benchmark: $WORKERS workers, $CONNS connections," \
  "${SECONDS_PER_ROUND}s per round, $ROUNDS rounds, wrk on CPU $LOAD_CPU," \
  "$(nproc) CPUs, $(uname -r)"
printf '%-12s %14s %10s %8s %8s\n' side req/cpu-s req/s cpu-s errors
for side in single shared round-robin reuseport; do
  : >"$TMP/rounds"
  for _ in $(seq 1 "$ROUNDS"); do
    round "$side" >>"$TMP/rounds"
  done
  sort -n "$TMP/rounds" | sed -n "$(((ROUNDS + 1) / 2))p" |
    awk -v side="$side" '{ printf "%-12s %14s %10s %8s %8s\n", side, $1, $2,
      $4, $3 }'
done
