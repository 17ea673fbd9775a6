#!/usr/bin/env bash
# scripts/bench-udp.sh: axle's UDP echo server against libuv's, side by
# side in one run, on an optimised build of its own (build-bench-udp/, or
# the directory AX_BENCH_UDP_BUILD names). Linux only.
#
#   bash scripts/bench-udp.sh
#
# The servers are examples/udp-echo.c (on epoll, the default backend) and
# bench/udp/udp-echo-uv.c, the same program on libuv; the load comes from
# bench/udp/udp-load.c, on raw sockets so that it favours neither. The
# server runs on CPU 0 and the load tool on CPU 1 (taskset). What is
# measured is the SERVER's CPU time, read by the load tool at the start and
# the end of the measured phase from /proc/PID/schedstat (nanoseconds; the
# user/system split from /proc/PID/stat, in clock ticks): "per server
# CPU-second" is datagrams echoed divided by it.
#
# Rows: 64-byte and 1,400-byte datagrams, each without batching (one
# recvmsg per datagram) and with it (axle: AX_UDP_RECVMMSG, recvmmsg and
# the echoes leaving by sendmmsg; libuv: UV_UDP_RECVMMSG). Each row is
# run AX_UDP_ROUNDS times (3), sides alternating, every round on a fresh
# server, and the median round is reported, with axle / libuv.
#
# Environment: AX_UDP_ROUNDS (3), AX_UDP_SECONDS (5, per round),
# AX_UDP_WINDOW (64 datagrams in flight), AX_UDP_SERVER_CPU (0) and
# AX_UDP_LOAD_CPU (1).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(uname -s)" = Linux ] || ax_die "bench-udp.sh runs on Linux only"

ROUNDS=${AX_UDP_ROUNDS:-3}
SECONDS_PER_ROUND=${AX_UDP_SECONDS:-5}
WINDOW=${AX_UDP_WINDOW:-64}
SERVER_CPU=${AX_UDP_SERVER_CPU:-0}
LOAD_CPU=${AX_UDP_LOAD_CPU:-1}
BUILD=${AX_BENCH_UDP_BUILD:-build-bench-udp}
LIMIT_S=120

ax_install_missing meson ninja-build pkg-config gcc libc6-dev libuv1-dev \
  util-linux >/dev/null
ax_meson_setup "$BUILD" -Dbuildtype=release -Dtests=false -Dexamples=true \
  -Ddocs=disabled >/dev/null
ninja -C "$BUILD" >/dev/null

AXLE_SERVER=$BUILD/examples/udp-echo
UV_SERVER=$BUILD/bench/udp/udp-echo-uv
LOAD=$BUILD/bench/udp/udp-load
if [ ! -x "$AXLE_SERVER" ] || [ ! -x "$LOAD" ]; then
  ax_die "udp-echo or udp-load was not built in $BUILD"
fi
SIDES=(axle)
if [ -x "$UV_SERVER" ]; then
  SIDES+=(libuv)
else
  echo "libuv (libuv1-dev) not found by pkg-config: the libuv rows are left out"
fi

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# Start side $1's server ($2: "" or --batch) on its CPU and a free port;
# set SERVER_PID and PORT.
start_server() {
  local exe=$AXLE_SERVER out=$TMP/server.out i
  [ "$1" = libuv ] && exe=$UV_SERVER
  : >"$out"
  # shellcheck disable=SC2086 # $2 is empty or one word
  AX_BACKEND=epoll taskset -c "$SERVER_CPU" "$exe" --port 0 $2 \
    >"$out" 2>"$TMP/server.err" &
  SERVER_PID=$!
  for ((i = 0; i < 300; i++)); do
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$out" "$TMP/server.err" >&2
  ax_die "the $1 server did not start"
}

stop_server() {
  local i
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

field() {
  tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

# One round of side $1, mode $2, size $3: prints "per_cpu per_s".
round() {
  local line
  start_server "$1" "$2"
  line=$(taskset -c "$LOAD_CPU" timeout "$LIMIT_S" "$LOAD" --port "$PORT" \
    --size "$3" --window "$WINDOW" --seconds "$SECONDS_PER_ROUND" \
    --server-pid "$SERVER_PID") || echo "warning: $1: udp-load: $line" >&2
  stop_server
  printf '  %-5s %-7s %5s B: %9s /server-CPU-s %9s /s (user %s s, system %s s, lost %s)\n' \
    "$1" "${2:-plain}" "$3" "$(field "$line" per_server_cpu_s)" \
    "$(field "$line" per_s)" "$(field "$line" server_user_s)" \
    "$(field "$line" server_system_s)" "$(field "$line" lost)" >&2
  echo "$(field "$line" per_server_cpu_s) $(field "$line" per_s)"
}

median() {
  sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}

declare -A RESULT
row() {
  local mode=$1 size=$2 r side
  declare -A rounds
  for ((r = 0; r < ROUNDS; r++)); do
    local order=("${SIDES[@]}")
    if ((r % 2 == 1)); then
      order=()
      for ((i = ${#SIDES[@]} - 1; i >= 0; i--)); do order+=("${SIDES[i]}"); done
    fi
    for side in "${order[@]}"; do
      rounds[$side]+="$(round "$side" "$mode" "$size")"$'\n'
    done
  done
  for side in "${SIDES[@]}"; do
    RESULT[$side]=$(printf '%s' "${rounds[$side]}" | median)
  done
}

echo "UDP echo, $WINDOW datagrams in flight, $ROUNDS rounds of" \
  "$SECONDS_PER_ROUND s, median; server on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
SUMMARY=()
for size in 64 1400; do
  for mode in "" --batch; do
    echo "row: ${mode:-plain}, $size-byte datagrams" >&2
    row "$mode" "$size"
    a=${RESULT[axle]}
    line=$(printf '%-7s %5s B  axle %9s /server-CPU-s' "${mode:-plain}" \
      "$size" "${a%% *}")
    if [ -n "${RESULT[libuv]:-}" ]; then
      u=${RESULT[libuv]}
      ratio=$(awk -v a="${a%% *}" -v u="${u%% *}" \
        'BEGIN { if (u > 0) printf "%.2f", a / u; else print "n/a" }')
      line+=$(printf '  libuv %9s  axle/libuv %s' "${u%% *}" "$ratio")
    fi
    SUMMARY+=("$line")
  done
done
echo
echo "datagrams echoed per server CPU-second (median of $ROUNDS):"
printf '  %s\n' "${SUMMARY[@]}"
