#!/usr/bin/env bash
# scripts/bench-net.sh: axle's echo server on epoll and on io_uring against
# libuv's, side by side in one run, on an optimised build of its own (build-bench-net/, or the
# directory AX_BENCH_NET_BUILD names). Linux only.
#
#   bash scripts/bench-net.sh
#
# The servers are examples/echo-server.c (run twice: AX_BACKEND=epoll, the
# "axle" column, and AX_BACKEND=io_uring, the "io_uring" column, where the
# kernel lets axle start it) and bench/net/echo-uv.c, the same program on
# each library; the load comes from bench/net/echo-load.c, on
# raw epoll so that it favours neither. The server runs on CPU 0 and the
# load tool on CPU 1 (taskset). What is measured is the SERVER's CPU time,
# user + system from /proc/PID/stat, read by the load tool at the start
# and the end of the measured phase; "per server CPU-second" figures are
# operations divided by it. Each such row is run AX_NET_ROUNDS times (3),
# sides alternating, every round on a fresh server, and the median round
# is reported.
#
# Rows: TCP ping-pong (one connection, 32-byte messages); echo with 50 and
# 1,000 connections each keeping one 32-byte message in flight; memory per
# idle connection (server VmRSS before and after 10,000 connections are
# open, divided by 10,000) and the TCP handle's size; 19,000 connections
# held on one loop thread and every one answered at the end; system calls
# per message, counted by strace -c (io_uring_enter on its own row), and
# the server's user-space instructions per message, counted by callgrind
# (the same on every run, where CPU time is not), both for ping-pong and
# for echo with 50 connections.
#
# Beside the io_uring column, the message rows also run
# bench/net/echo-uring.c, the floor: an echo server written by hand on
# liburing with nothing but what the fastest one does (multishot accept
# and receive, a shared buffer ring, DEFER_TASKRUN). A second table holds
# axle on io_uring against it, with io_uring_enter per message for both.
#
# AX_NET_BASELINE names another build's echo-server (a "before" binary):
# it runs on io_uring as one more side of the message rows, the system
# call counts and the instruction counts, and a third table holds axle on
# io_uring against it, so that a change is measured side by side in one
# run.
#
# Kernel memory per idle connection: /proc/slabinfo (where it can be
# read) before the idle connections open and once they are all open, the
# growth of each slab cache divided by the connections (both ends are on
# this machine: the client side is the same for every server, so the
# columns differ by what the server's backend costs). And 100 stalled
# readers: clients that send without ever reading the echoes, until the
# server stops reading them (its write queues full); the server's VmRSS
# growth is what holding them costs in user space.
#
# Environment: AX_NET_ROUNDS (3), AX_NET_SECONDS (5, per round),
# AX_NET_STRACE_COUNT (20000 round trips), AX_NET_MANY (19000
# connections), AX_NET_IDLE (10000 connections), AX_NET_SERVER_CPU (0) and
# AX_NET_LOAD_CPU (1): the CPUs the server and the load tool are pinned to;
# AX_NET_STALLED (100 stalled readers); AX_NET_ONLY=memory runs only the
# memory rows (idle, 19,000 connections, slab caches, stalled readers).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(uname -s)" = Linux ] || ax_die "bench-net.sh runs on Linux only"

ROUNDS=${AX_NET_ROUNDS:-3}
SECONDS_PER_ROUND=${AX_NET_SECONDS:-5}
STRACE_COUNT=${AX_NET_STRACE_COUNT:-20000}
SERVER_CPU=${AX_NET_SERVER_CPU:-0}
LOAD_CPU=${AX_NET_LOAD_CPU:-1}
# Round trips of the two callgrind runs whose difference is counted.
CALLGRIND_SMALL=2000
CALLGRIND_BIG=12000
MANY=${AX_NET_MANY:-19000}
IDLE=${AX_NET_IDLE:-10000}
STALLED=${AX_NET_STALLED:-100}
ONLY=${AX_NET_ONLY:-all}
# The chunk the stalled readers' clients send.
STALL_CHUNK=16384
BUILD=${AX_BENCH_NET_BUILD:-build-bench-net}
# Every wait on a server or the load tool is bounded by this.
LIMIT_S=180

ax_install_missing meson ninja-build pkg-config gcc libc6-dev libuv1-dev \
  strace valgrind util-linux >/dev/null
ax_meson_setup "$BUILD" -Dbuildtype=release -Dtests=false -Dexamples=true \
  -Ddocs=disabled >/dev/null
ninja -C "$BUILD" >/dev/null

# What the run prints is saved too, in build-bench/results/net.txt (or the
# directory AX_BENCH_RESULTS names), for scripts/plot.sh (bench.sh --plot).
RESULTS=${AX_BENCH_RESULTS:-build-bench/results}
mkdir -p "$RESULTS"
exec > >(tee "$RESULTS/net.txt")

AXLE_SERVER=$BUILD/examples/echo-server
UV_SERVER=$BUILD/bench/net/echo-uv
LOAD=$BUILD/bench/net/echo-load
SIZES=$BUILD/bench/net/net-sizes
FLOOR_SERVER=$BUILD/bench/net/echo-uring
if [ ! -x "$AXLE_SERVER" ] || [ ! -x "$LOAD" ]; then
  ax_die "echo-server or echo-load was not built in $BUILD"
fi
SIDES=(axle)
# The io_uring column, where this kernel lets axle start the backend.
if AX_BACKEND=io_uring timeout 2 "$AXLE_SERVER" --port 0 2>&1 </dev/null |
  grep -q "cannot start\|not a backend"; then
  echo "io_uring cannot start here: the io_uring column is left out"
else
  SIDES+=(uring)
fi
if [ -x "$UV_SERVER" ]; then
  SIDES+=(libuv)
else
  echo "libuv (libuv1-dev) not found by pkg-config: the libuv rows are left out"
fi
# The sides of the message rows: the floor too, where io_uring runs, and
# the baseline where one is named.
MSG_SIDES=("${SIDES[@]}")
if [[ " ${SIDES[*]} " == *" uring "* ]] && [ -x "$FLOOR_SERVER" ]; then
  MSG_SIDES+=(floor)
fi
BASELINE=${AX_NET_BASELINE:-}
if [ -n "$BASELINE" ]; then
  [ -x "$BASELINE" ] || ax_die "AX_NET_BASELINE: $BASELINE is not a program"
  [[ " ${SIDES[*]} " == *" uring "* ]] ||
    ax_die "AX_NET_BASELINE runs on io_uring, which cannot start here"
  MSG_SIDES+=(before)
fi

# 19,000 connections need as many descriptors in the server and in the
# load tool, each its own process: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)

TMP=$(mktemp -d)
SERVER_PID=
# A command the server runs under (valgrind), or nothing.
WRAP=()
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

server_exe() {
  if [ "$1" = libuv ]; then
    echo "$UV_SERVER"
  elif [ "$1" = floor ]; then
    echo "$FLOOR_SERVER"
  elif [ "$1" = before ]; then
    echo "$BASELINE"
  else
    echo "$AXLE_SERVER"
  fi
}

# The backend side $1's axle server runs on (libuv ignores it).
server_backend() {
  if [ "$1" = uring ] || [ "$1" = before ]; then
    echo io_uring
  else
    echo epoll
  fi
}

# Start side $1's server on its CPU and a free port; set SERVER_PID and
# PORT. Its standard error goes to $TMP/server.err.
start_server() {
  local out=$TMP/server.out i
  : >"$out"
  AX_BACKEND=$(server_backend "$1") taskset -c "$SERVER_CPU" "${WRAP[@]}" \
    "$(server_exe "$1")" --port 0 >"$out" 2>"$TMP/server.err" &
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

# Stop the server with SIGTERM, as a service manager would (a script's
# background jobs start with SIGINT ignored); warn unless it exits 0
# within 10 seconds.
stop_server() {
  local i rc=0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "warning: server $SERVER_PID ignored SIGTERM; killed" >&2
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" || rc=$?
  [ "$rc" -eq 0 ] || echo "warning: server exited with status $rc" >&2
  SERVER_PID=
}

# The value of key $2 in the key=value line $1.
field() {
  tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

# Run the load tool on its CPU against the running server; prints its line.
load() {
  taskset -c "$LOAD_CPU" timeout "$LIMIT_S" "$LOAD" "$@" --port "$PORT" \
    --server-pid "$SERVER_PID" --timeout-s 60
}

# One round of a message workload ($2...) on side $1, on a fresh server.
# Prints "per_server_cpu_s per_s"; the round's details go to stderr.
message_round() {
  local side=$1 line
  shift
  start_server "$side"
  line=$(load "$@") || echo "warning: $side: echo-load failed: $line" >&2
  stop_server
  printf '  %-5s %-8s %5s conns: %8s /server-CPU-s %8s /s (user %s s, system %s s)\n' \
    "$side" "$1" "$(field "$line" connections)" \
    "$(field "$line" per_server_cpu_s)" "$(field "$line" per_s)" \
    "$(field "$line" server_user_s)" "$(field "$line" server_system_s)" >&2
  echo "$(field "$line" per_server_cpu_s) $(field "$line" per_s)"
}

# Median of the rounds, by the per-CPU-second figure.
median() {
  sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}

# Run a message workload on every side, AX_NET_ROUNDS rounds, the sides
# taking turns to go first; sets RESULT[side] to the median "per_cpu per_s".
declare -A RESULT
message_row() {
  local side r
  declare -A rounds=()
  local order=("${MSG_SIDES[@]}")
  for ((r = 0; r < ROUNDS; r++)); do
    for side in "${order[@]}"; do
      rounds[$side]+="$(message_round "$side" "$@")"$'\n'
    done
    # The other side goes first next round, so that neither always runs
    # just after the other's teardown.
    order=("${order[@]:1}" "${order[0]}")
  done
  for side in "${MSG_SIDES[@]}"; do
    RESULT[$side]=$(printf '%s' "${rounds[$side]}" | median)
  done
}

# Each slab cache's bytes in use, "name bytes" a line, to file $1; an
# empty file where /proc/slabinfo cannot be read (it wants root).
slab_snapshot() {
  awk 'NR > 2 { print $1, $2 * $4 }' /proc/slabinfo >"$1" 2>/dev/null ||
    : >"$1"
}

# The growth of each slab cache from snapshot $1 to $2, in bytes per
# connection of $3, "name bytes" a line, to standard output.
slab_delta() {
  awk -v n="$3" 'FNR == NR { before[$1] = $2; next }
    { printf "%s %.0f\n", $1, ($2 - before[$1]) / n }' "$1" "$2"
}

# Open $2 idle connections (echo-load mode $3: idle by default, or stall)
# to side $1's fresh server, hold them while the server's VmRSS and the
# slab caches are read, then let them go (idle: check that every one
# still answers). Prints "rss_delta_kb answered opened"; the slab
# caches' growth per connection goes to $TMP/slab.$1.
idle_run() {
  local side=$1 count=$2 mode=${3:-idle} out=$TMP/idle.out fifo=$TMP/hold
  local i rss0 rss1 line
  rm -f "$fifo"
  mkfifo "$fifo"
  start_server "$side"
  rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
  slab_snapshot "$TMP/slab0"
  taskset -c "$LOAD_CPU" timeout "$LIMIT_S" "$LOAD" "$mode" --port "$PORT" \
    --connections "$count" --size "$STALL_CHUNK" --hold-s 120 \
    --timeout-s 60 <"$fifo" >"$out" 2>&1 &
  local load_pid=$!
  exec 7>"$fifo"
  for ((i = 0; i < LIMIT_S * 10; i++)); do
    grep -q '^ready' "$out" && break
    kill -0 "$load_pid" 2>/dev/null || break
    sleep 0.1
  done
  rss1=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
  slab_snapshot "$TMP/slab1"
  [ "$mode" != idle ] || slab_delta "$TMP/slab0" "$TMP/slab1" "$count" \
    >"$TMP/slab.$side"
  exec 7>&-
  wait "$load_pid" || true
  stop_server
  line=$(grep "^mode=$mode" "$out" || true)
  grep -v '^ready' "$out" | sed "s/^/  $side $mode: /" >&2
  echo "$((rss1 - rss0)) $(field "$line" answered) $(field "$line" opened)"
}

# The workloads whose system calls and instructions are counted: ping-pong
# and echo with 50 connections, N messages each.
declare -A COUNTED=([pingpong]="pingpong" [echo50]="echo --connections 50")

# System calls the server makes per message of workload $2, under
# strace -c. Sets SYSCALLS[$2,side] to the total per message,
# ENTERS[$2,side] to the io_uring_enter calls per message, and
# BREAKDOWN[$2,side] to the main calls.
declare -A SYSCALLS BREAKDOWN ENTERS
strace_run() {
  local side=$1 key=$2 out=$TMP/strace.txt i
  start_server "$side"
  strace -c -f -q -o "$out" -p "$SERVER_PID" 2>/dev/null &
  local strace_pid=$!
  for ((i = 0; i < 50; i++)); do
    [ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$SERVER_PID/status")" != 0 ] &&
      break
    sleep 0.1
  done
  # shellcheck disable=SC2086 # COUNTED holds words to split.
  load ${COUNTED[$key]} --count "$STRACE_COUNT" >/dev/null ||
    echo "warning: $side: echo-load failed under strace" >&2
  kill -INT "$strace_pid"
  wait "$strace_pid" || true
  stop_server
  SYSCALLS[$key,$side]=$(awk -v n="$STRACE_COUNT" \
    '$NF == "total" { printf "%.2f", $4 / n }' "$out")
  ENTERS[$key,$side]=$(awk -v n="$STRACE_COUNT" \
    '$NF == "io_uring_enter" { printf "%.2f", $4 / n }' "$out")
  BREAKDOWN[$key,$side]=$(awk -v n="$STRACE_COUNT" \
    '$1 ~ /^[0-9.]+$/ && $NF != "total" && $4 / n >= 0.01 {
       printf "%s%s %.2f", sep, $NF, $4 / n; sep = ", " }' "$out")
}

# User-space instructions side $1's server runs for $3 messages of
# workload $2, start-up and shutdown included, under callgrind.
callgrind_count() {
  WRAP=(valgrind --tool=callgrind --callgrind-out-file=/dev/null)
  start_server "$1"
  WRAP=()
  # shellcheck disable=SC2086 # COUNTED holds words to split.
  load ${COUNTED[$2]} --count "$3" >/dev/null ||
    echo "warning: $1: echo-load failed under callgrind" >&2
  if [ "$1" = uring ] || [ "$1" = before ]; then
    # Under valgrind the signal reaches the server only once its
    # io_uring_enter returns: one more connection makes it return.
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    sleep 0.5
    load pingpong --count 1 >/dev/null 2>&1 || true
  fi
  stop_server
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$TMP/server.err"
}

# Instructions per message: two runs, so that start-up, connecting and
# shutting down cancel out. Sets INSTRUCTIONS[$2,side].
declare -A INSTRUCTIONS
callgrind_run() {
  local small big
  small=$(callgrind_count "$1" "$2" "$CALLGRIND_SMALL")
  big=$(callgrind_count "$1" "$2" "$CALLGRIND_BIG")
  INSTRUCTIONS[$2,$1]=$(((big - small) / (CALLGRIND_BIG - CALLGRIND_SMALL)))
}

# Print one table row: name, axle's figure on epoll, on io_uring, libuv's,
# and the ratios of each axle figure to libuv's (above 1: axle does
# better). $5 is "higher" or "lower": which is better.
ratio() {
  local a=$1 u=$2 better=$3
  if [ "$better" = none ] || [ "$u" = - ] || [ -z "$a" ] || [ -z "$u" ] ||
    [ "$a" = - ]; then
    echo -
    return
  fi
  awk -v a="$a" -v u="$u" -v b="$better" 'BEGIN {
    if (b == "higher") r = (u > 0 ? a / u : 0); else r = (a > 0 ? u / a : 0)
    printf "%.2fx", r }'
}

row() {
  local name=$1 a=${2:--} i=${3:--} u=${4:--} better=$5
  printf '| %-52s | %10s | %10s | %10s | %6s | %6s |\n' "$name" "$a" "$i" \
    "$u" "$(ratio "$a" "$u" "$better")" "$(ratio "$i" "$u" "$better")"
}

echo "axle $(git describe --always --dirty 2>/dev/null || echo '?'), $(nproc) cores, $(uname -sr); descriptors: $FD_LIMIT"
echo "server on CPU $SERVER_CPU, load on CPU $LOAD_CPU; median of $ROUNDS rounds, ${SECONDS_PER_ROUND} s per round"

declare -A PP=() E50=() E1K=()
if [ "$ONLY" != memory ]; then
  message_row pingpong --seconds "$SECONDS_PER_ROUND" --size 32
  for side in "${MSG_SIDES[@]}"; do PP[$side]=${RESULT[$side]}; done
  message_row echo --connections 50 --size 32 --seconds "$SECONDS_PER_ROUND"
  for side in "${MSG_SIDES[@]}"; do E50[$side]=${RESULT[$side]}; done
  message_row echo --connections 1000 --size 32 --seconds "$SECONDS_PER_ROUND"
  for side in "${MSG_SIDES[@]}"; do E1K[$side]=${RESULT[$side]}; done
fi

declare -A MEM=() MANY_OK=() STALL=()
for side in "${SIDES[@]}"; do
  read -r kb answered _ < <(idle_run "$side" "$IDLE")
  MEM[$side]=$(awk -v kb="$kb" -v n="$IDLE" 'BEGIN { printf "%.0f", kb * 1024 / n }')
  [ "$answered" = "$IDLE" ] ||
    echo "warning: $side: $answered of $IDLE idle connections answered" >&2
done
for side in "${SIDES[@]}"; do
  read -r kb _ _ < <(idle_run "$side" "$STALLED" stall)
  STALL[$side]=$kb
done
if [ "$FD_LIMIT" -ge $((MANY + 100)) ]; then
  for side in "${SIDES[@]}"; do
    read -r _ answered _ < <(idle_run "$side" "$MANY")
    MANY_OK[$side]="${answered:-0}/$MANY"
  done
else
  echo "descriptor limit $FD_LIMIT < $((MANY + 100)): the $MANY-connection row is left out"
fi
if [ "$ONLY" != memory ]; then
  for key in pingpong echo50; do
    for side in "${SIDES[@]}"; do
      strace_run "$side" "$key"
      callgrind_run "$side" "$key"
    done
  done
  [[ " ${MSG_SIDES[*]} " != *" floor "* ]] || strace_run floor echo50
  if [ -n "$BASELINE" ]; then
    for key in pingpong echo50; do
      strace_run before "$key"
      callgrind_run before "$key"
    done
  fi
fi

sizes=$([ -x "$SIZES" ] && "$SIZES" || echo "")
first() { awk '{ print $1 }' <<<"$1"; }
second() { awk '{ print $2 }' <<<"$1"; }

echo
printf '| %-52s | %10s | %10s | %10s | %6s | %6s |\n' "Workload" "axle epoll" \
  "io_uring" libuv "ep/uv" "io/uv"
printf '| %s | %s | %s | %s | %s | %s |\n' "$(printf -- '-%.0s' {1..52})" \
  "---------:" "---------:" "---------:" "-----:" "-----:"
# Each of the rows below: name, then a figure per side, then which is better.
rates() {
  local name=$1 pick=$2 better=$3 side
  local vals=()
  for side in axle uring libuv; do
    local v=${RES[$side]:-}
    vals+=("$([ -n "$v" ] && "$pick" "$v" || echo -)")
  done
  row "$name" "${vals[@]}" "$better"
}
declare -A RES
for side in "${SIDES[@]}"; do RES[$side]=${PP[$side]:-}; done
rates "ping-pong round trips per server CPU-second" first higher
rates "ping-pong round trips per second" second higher
RES=()
for side in "${SIDES[@]}"; do RES[$side]=${E50[$side]:-}; done
rates "echo, 50 conns: messages per server CPU-second" first higher
rates "echo, 50 conns: messages per second" second higher
RES=()
for side in "${SIDES[@]}"; do RES[$side]=${E1K[$side]:-}; done
rates "echo, 1,000 conns: messages per server CPU-second" first higher
rates "echo, 1,000 conns: messages per second" second higher
row "bytes of server RSS per idle connection ($IDLE)" "${MEM[axle]:-}" \
  "${MEM[uring]:-}" "${MEM[libuv]:-}" lower
row "server RSS, $STALLED stalled readers (KiB)" "${STALL[axle]:-}" \
  "${STALL[uring]:-}" "${STALL[libuv]:-}" lower
row "sizeof TCP handle (ax_tcp_t, uv_tcp_t)" "$(field "$sizes" ax_tcp_t)" \
  "$(field "$sizes" ax_tcp_t)" "$(field "$sizes" uv_tcp_t)" lower
row "system calls per ping-pong round trip (strace)" \
  "${SYSCALLS[pingpong,axle]:-}" "${SYSCALLS[pingpong,uring]:-}" \
  "${SYSCALLS[pingpong,libuv]:-}" lower
row "system calls per message, echo with 50 conns" \
  "${SYSCALLS[echo50,axle]:-}" "${SYSCALLS[echo50,uring]:-}" \
  "${SYSCALLS[echo50,libuv]:-}" lower
row "io_uring_enter per message, echo with 50 conns" - \
  "${ENTERS[echo50,uring]:-}" - none
row "user-space instructions per round trip (callgrind)" \
  "${INSTRUCTIONS[pingpong,axle]:-}" "${INSTRUCTIONS[pingpong,uring]:-}" \
  "${INSTRUCTIONS[pingpong,libuv]:-}" lower
row "user-space instructions per message, echo 50 conns" \
  "${INSTRUCTIONS[echo50,axle]:-}" "${INSTRUCTIONS[echo50,uring]:-}" \
  "${INSTRUCTIONS[echo50,libuv]:-}" lower
if [ ${#MANY_OK[@]} -gt 0 ]; then
  row "$MANY connections on one thread: answered" "${MANY_OK[axle]}" \
    "${MANY_OK[uring]:-}" "${MANY_OK[libuv]:-}" none
fi
echo "(ratios above 1: axle does better; rates axle/libuv, costs libuv/axle)"
# Kernel memory per idle connection, by slab cache: those that grew by 8
# bytes or more per connection on some side, then their sum.
if [ -s "$TMP/slab.axle" ]; then
  echo
  printf '| %-52s | %10s | %10s | %10s |\n' \
    "Kernel memory per idle connection ($IDLE), bytes" "axle epoll" \
    io_uring libuv
  printf '| %s | %s | %s | %s |\n' "$(printf -- '-%.0s' {1..52})" \
    "---------:" "---------:" "---------:"
  for side in axle uring libuv; do
    [ -s "$TMP/slab.$side" ] || : >"$TMP/slab.$side"
  done
  awk 'FNR == 1 { col++ } { v[$1, col] = $2; names[$1] = 1 }
    END {
      for (n in names) {
        big = 0
        for (c = 1; c <= 3; c++) if (v[n, c] >= 8 || v[n, c] <= -8) big = 1
        if (big) printf "%s %d %d %d\n", n, v[n, 1], v[n, 2], v[n, 3]
        for (c = 1; c <= 3; c++) total[c] += v[n, c]
      }
      printf "~all-caches %d %d %d\n", total[1], total[2], total[3]
    }' "$TMP/slab.axle" "$TMP/slab.uring" "$TMP/slab.libuv" | sort |
    while read -r name a i u; do
      [ "$name" != "~all-caches" ] || name="all slab caches (both ends)"
      printf '| %-52s | %10s | %10s | %10s |\n' "$name" "$a" "$i" "$u"
    done
else
  echo "(/proc/slabinfo cannot be read here: no kernel memory rows)"
fi
# A table of two columns and their ratio: its head (title, the two
# columns' names, the ratio's), then its rows (name, the two figures, and
# higher or lower: which is better).
pair_head() {
  echo
  printf '| %-52s | %10s | %10s | %6s |\n' "$1" "$2" "$3" "$4"
  printf '| %s | %s | %s | %s |\n' "$(printf -- '-%.0s' {1..52})" \
    "---------:" "---------:" "-----:"
}
pair_row() {
  local a=${2:--} f=${3:--}
  printf '| %-52s | %10s | %10s | %6s |\n' "$1" "$a" "$f" \
    "$(ratio "$a" "$f" "$4")"
}
if [[ " ${MSG_SIDES[*]} " == *" floor "* ]] && [ "$ONLY" != memory ]; then
  pair_head "Against the io_uring floor" "axle uring" "floor" "io/fl"
  pair_row "ping-pong round trips per server CPU-second" \
    "$(first "${PP[uring]:-}")" "$(first "${PP[floor]:-}")" higher
  pair_row "echo, 50 conns: messages per server CPU-second" \
    "$(first "${E50[uring]:-}")" "$(first "${E50[floor]:-}")" higher
  pair_row "echo, 1,000 conns: messages per server CPU-second" \
    "$(first "${E1K[uring]:-}")" "$(first "${E1K[floor]:-}")" higher
  pair_row "io_uring_enter per message, echo with 50 conns" \
    "${ENTERS[echo50,uring]:-}" "${ENTERS[echo50,floor]:-}" lower
  echo "(io/fl above 1: axle on io_uring does better than the floor)"
fi
if [ -n "$BASELINE" ] && [ "$ONLY" != memory ]; then
  pair_head "io_uring: this build against the baseline" "this" "before" "th/bf"
  pair_row "ping-pong round trips per server CPU-second" \
    "$(first "${PP[uring]}")" "$(first "${PP[before]}")" higher
  pair_row "echo, 50 conns: messages per server CPU-second" \
    "$(first "${E50[uring]}")" "$(first "${E50[before]}")" higher
  pair_row "echo, 1,000 conns: messages per server CPU-second" \
    "$(first "${E1K[uring]}")" "$(first "${E1K[before]}")" higher
  pair_row "system calls per message, echo with 50 conns" \
    "${SYSCALLS[echo50,uring]:-}" "${SYSCALLS[echo50,before]:-}" lower
  pair_row "io_uring_enter per message, echo with 50 conns" \
    "${ENTERS[echo50,uring]:-}" "${ENTERS[echo50,before]:-}" lower
  pair_row "system calls per ping-pong round trip" \
    "${SYSCALLS[pingpong,uring]:-}" "${SYSCALLS[pingpong,before]:-}" lower
  pair_row "user-space instructions per round trip (callgrind)" \
    "${INSTRUCTIONS[pingpong,uring]:-}" "${INSTRUCTIONS[pingpong,before]:-}" lower
  pair_row "user-space instructions per message, echo 50 conns" \
    "${INSTRUCTIONS[echo50,uring]:-}" "${INSTRUCTIONS[echo50,before]:-}" lower
  echo "(th/bf above 1: this build does better than the baseline)"
fi
echo
for key in pingpong echo50; do
  for side in "${SIDES[@]}" $([ -n "$BASELINE" ] && echo before); do
    echo "system calls per message, $key, $side: ${BREAKDOWN[$key,$side]:-}"
  done
done
