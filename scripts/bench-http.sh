#!/usr/bin/env bash
# scripts/bench-http.sh: the HTTP server example on axle against its twin
# on libuv and against nginx, side by side in one run, on an optimised
# build of its own (build-bench-http/, or the directory AX_BENCH_HTTP_BUILD
# names). Linux only.
#
#   bash scripts/bench-http.sh
#
# The servers: examples/http-server (--threads 1) on epoll (the "axle"
# side) and on io_uring (the "io_uring" side, where the kernel lets axle
# start it), bench/http/http-uv.c
# (its plaintext route on libuv, with the same parser compiled in), and
# nginx with one worker process, access log off, on a configuration this
# script writes to a temporary directory: a location that returns 200
# "Hello, World!", keep-alive limits raised so that no connection is
# closed during a run. Every server listens on 127.0.0.1 only and runs
# on CPU 0; wrk runs on CPU 1 (taskset), one thread.
#
# The load is wrk's (bench/http/wrk.lua), GET / on keep-alive connections:
# 50 and 1,000 connections, each with one request in flight, and each with
# 16 pipelined requests in flight (one write of 16 requests, then the next
# once all 16 answers are in). Reported: requests per second; p50 and p99
# latency as wrk measures it (without pipelining only: see figures()); the
# mean round trip, from Little's law; and
# requests per SERVER CPU-second, from the server's user + system time in
# /proc/PID/stat before and after the run (nginx: master and worker). On
# a 2-core machine the load generator, not the server, limits raw
# throughput, so the per-CPU-second figure is the one that compares the
# servers. Each row is run AX_HTTP_ROUNDS times (3), the sides taking
# turns to go first, each time on a fresh server, and the round with the
# median per-CPU-second figure is reported.
#
# Then, apart from the timed runs since tracing slows the server down:
# system calls per request (strace -c on the server for a short wrk run of
# 50 connections, without and with pipelining), and the user-space
# instructions per request of the axle and libuv servers, counted by
# callgrind (two runs of different lengths, so that start-up and
# shutdown cancel out): unlike CPU time, the same on a busy machine as on
# an idle one, but blind to the kernel's share. Last, AX_HTTP_MANY
# (10,000) keep-alive connections to one loop thread, with p99 latency;
# that needs as many descriptors in the server and in wrk, so the script
# raises its soft limit to the hard one (ulimit -Hn).
#
# Environment: AX_HTTP_ROUNDS (3), AX_HTTP_SECONDS (5, per round),
# AX_HTTP_DEPTH (16), AX_HTTP_STRACE_SECONDS (3), AX_HTTP_MANY (10000),
# AX_HTTP_MANY_SECONDS (10), AX_HTTP_SIDES ("axle uring libuv nginx": a
# subset runs fewer), AX_HTTP_SERVER_CPU (0), AX_HTTP_LOAD_CPU (1).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(uname -s)" = Linux ] || ax_die "bench-http.sh runs on Linux only"

ROUNDS=${AX_HTTP_ROUNDS:-3}
SECONDS_PER_ROUND=${AX_HTTP_SECONDS:-5}
DEPTH=${AX_HTTP_DEPTH:-16}
STRACE_SECONDS=${AX_HTTP_STRACE_SECONDS:-3}
MANY=${AX_HTTP_MANY:-10000}
MANY_SECONDS=${AX_HTTP_MANY_SECONDS:-10}
SERVER_CPU=${AX_HTTP_SERVER_CPU:-0}
LOAD_CPU=${AX_HTTP_LOAD_CPU:-1}
BUILD=${AX_BENCH_HTTP_BUILD:-build-bench-http}
WANTED_SIDES=${AX_HTTP_SIDES:-axle uring libuv nginx}
# wrk's own time-out per request: slower answers count as time-outs.
WRK_TIMEOUT_S=10
# Every wait on a server or on wrk is bounded by this much beyond its run.
LIMIT_S=60

ax_install_missing meson ninja-build pkg-config gcc libc6-dev libuv1-dev \
  wrk nginx-light strace valgrind util-linux procps python3 >/dev/null
ax_meson_setup "$BUILD" -Dbuildtype=release -Dtests=false -Dexamples=true \
  -Ddocs=disabled >/dev/null
ninja -C "$BUILD" >/dev/null

# What the run prints is saved too, in build-bench/results/http.txt (or the
# directory AX_BENCH_RESULTS names), for scripts/plot.sh (bench.sh --plot).
RESULTS=${AX_BENCH_RESULTS:-build-bench/results}
mkdir -p "$RESULTS"
exec > >(tee "$RESULTS/http.txt")

UV_SERVER=$BUILD/bench/http/http-uv
AXLE_SERVER=
for candidate in "$BUILD/examples/http-server/http-server" \
  "$BUILD/examples/http-server"; do
  if [ -f "$candidate" ] && [ -x "$candidate" ]; then
    AXLE_SERVER=$candidate
    break
  fi
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
LUA=$AX_ROOT/bench/http/wrk.lua
command -v wrk >/dev/null || ax_die "wrk is not installed"

SIDES=()
for side in $WANTED_SIDES; do
  case $side in
  axle)
    if [ -n "$AXLE_SERVER" ]; then
      SIDES+=(axle)
    else
      echo "the axle HTTP server (examples/http-server) was not built: its rows are left out"
    fi
    ;;
  uring)
    if [ -z "$AXLE_SERVER" ]; then
      echo "the axle HTTP server was not built: its io_uring rows are left out"
    elif AX_BACKEND=io_uring timeout 2 "$AXLE_SERVER" --port 0 2>&1 \
      </dev/null | grep -q "cannot start\|not a backend"; then
      echo "io_uring cannot start here: the io_uring rows are left out"
    else
      SIDES+=(uring)
    fi
    ;;
  libuv)
    if [ -x "$UV_SERVER" ]; then
      SIDES+=(libuv)
    else
      echo "libuv (libuv1-dev) not found by pkg-config: the libuv rows are left out"
    fi
    ;;
  nginx)
    if [ -x "$NGINX" ]; then
      SIDES+=(nginx)
    else
      echo "nginx is not installed: its rows are left out"
    fi
    ;;
  *) ax_die "unknown side in AX_HTTP_SIDES: $side" ;;
  esac
done
[ ${#SIDES[@]} -gt 0 ] || ax_die "no server to measure"

# 10,000 connections need as many descriptors in the server and in wrk,
# each its own process: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
TICKS_PER_S=$(getconf CLK_TCK)

TMP=$(mktemp -d)
SERVER_PID=
WORKER_PID=
# A command the axle or libuv server runs under (valgrind), or nothing.
WRAP=()
STRACE_PID=
cleanup() {
  if [ -n "$STRACE_PID" ]; then
    kill -INT "$STRACE_PID" 2>/dev/null || true
  fi
  if [ -n "$SERVER_PID" ]; then
    # nginx's worker goes with its master, but not when the master is
    # killed outright: end the server's children first, while they are
    # still its children.
    pkill -KILL -P "$SERVER_PID" 2>/dev/null || true
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# A TCP port on 127.0.0.1 that nothing listens on now (for nginx, which
# cannot be told to pick one and say which).
free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# nginx's configuration for port $1, in $TMP/nginx/.
nginx_config() {
  local dir=$TMP/nginx
  mkdir -p "$dir/body"
  cat >"$dir/nginx.conf" <<EOF
# Written by scripts/bench-http.sh for one run; removed after it.
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $FD_LIMIT;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections $FD_LIMIT;
}
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path $dir/body;
    server {
        listen 127.0.0.1:$1 backlog=4096;
        location / {
            default_type text/plain;
            return 200 "Hello, World!";
        }
    }
}
EOF
}

# Start side $1's server on its CPU; set SERVER_PID, PORT and CPU_PIDS
# (the processes whose CPU time is the server's).
start_server() {
  local side=$1 out=$TMP/server.out i
  : >"$out"
  PORT=
  case $side in
  axle | uring | libuv)
    # The axle server refuses connections past --max-connections (10,000
    # by default) with a 503: raised, as nginx's worker_connections is,
    # for the AX_HTTP_MANY run. http-uv has no such limit.
    local args=(--port 0 --threads 1) backend=epoll
    if [ "$side" = libuv ]; then
      args=("$UV_SERVER" "${args[@]}")
    else
      args=("$AXLE_SERVER" "${args[@]}" --max-connections "$((MANY + 1000))")
    fi
    [ "$side" = uring ] && backend=io_uring
    AX_BACKEND=$backend taskset -c "$SERVER_CPU" "${WRAP[@]}" "${args[@]}" \
      >"$out" 2>"$TMP/server.err" &
    SERVER_PID=$!
    for ((i = 0; i < 300; i++)); do
      PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
      [ -n "$PORT" ] && break
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    CPU_PIDS=$SERVER_PID
    ;;
  nginx)
    PORT=$(free_port)
    nginx_config "$PORT"
    taskset -c "$SERVER_CPU" "$NGINX" -p "$TMP/nginx" \
      -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" \
      >"$out" 2>"$TMP/server.err" &
    SERVER_PID=$!
    local worker=
    for ((i = 0; i < 100; i++)); do
      worker=$(pgrep -P "$SERVER_PID" | head -n 1 || true)
      if [ -n "$worker" ] &&
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        break
      fi
      worker=
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$worker" ] || PORT=
    CPU_PIDS="$SERVER_PID $worker"
    WORKER_PID=$worker
    ;;
  esac
  if [ -z "$PORT" ]; then
    cat "$out" "$TMP/server.err" "$TMP/nginx/error.log" >&2 2>/dev/null || true
    ax_die "the $side server did not start"
  fi
}

# Stop the server with SIGTERM, as a service manager would (nginx: a fast
# shutdown); warn unless it exits 0 within 10 seconds.
stop_server() {
  local i rc=0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "warning: server $SERVER_PID ignored SIGTERM; killed" >&2
    pkill -KILL -P "$SERVER_PID" 2>/dev/null || true
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" || rc=$?
  [ "$rc" -eq 0 ] || echo "warning: server exited with status $rc" >&2
  SERVER_PID=
}

# Clock ticks of user + system time of the processes in CPU_PIDS. The
# fields are counted after the command name, which may hold spaces.
server_ticks() {
  local pid total=0 t
  for pid in $CPU_PIDS; do
    t=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
    total=$((total + t))
  done
  echo "$total"
}

# The value of key $2 in the key=value line $1.
field() {
  tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

# Run wrk on its CPU against the running server: $1 connections, $2
# seconds, pipelining depth $3. Prints wrk's result line, with the
# server's CPU time added as server_ticks=; wrk's whole output goes to
# $TMP/wrk.out.
run_wrk() {
  local conns=$1 secs=$2 depth=$3 t0 t1 line
  t0=$(server_ticks)
  taskset -c "$LOAD_CPU" timeout "$((secs + LIMIT_S))" wrk -t 1 \
    -c "$conns" -d "${secs}s" --timeout "${WRK_TIMEOUT_S}s" --latency \
    -s "$LUA" "http://127.0.0.1:$PORT/" -- "$depth" >"$TMP/wrk.out" 2>&1 ||
    echo "warning: wrk failed: $(tail -n 3 "$TMP/wrk.out")" >&2
  t1=$(server_ticks)
  line=$(grep '^result ' "$TMP/wrk.out" || echo result)
  echo "$line server_ticks=$((t1 - t0))"
}

# Warn about errors wrk counted in result line $2 of side $1.
check_errors() {
  local side=$1 line=$2 key n
  for key in connect_errors read_errors write_errors status_errors timeouts; do
    n=$(field "$line" "$key")
    if [ "${n:-0}" != 0 ]; then
      echo "warning: $side: wrk counted $n $key" >&2
    fi
  done
}

# The figures of result line $1 for $2 connections at depth $3: requests
# per server CPU-second, per second, p50 and p99 latency (us), the
# server's CPU use (%), and the mean round trip (us), from Little's law:
# each connection always has one batch of $3 requests in flight, so a
# batch takes connections / (batches per second) on average.
#
# wrk's percentiles are left out ("-") with pipelining. wrk corrects its
# histogram for coordinated omission, adding samples at multiples of the
# expected interval between requests of a connection, which it takes as
# run time / (responses / connections); with 16 responses per round trip
# that is a 16th of the real one, so the samples it adds swamp the
# measured ones (its percentiles often come out as 0). Its figures stay
# in the per-round lines for the record.
figures() {
  awk -v r="$(field "$1" responses)" -v d="$(field "$1" duration_us)" \
    -v t="$(field "$1" server_ticks)" -v hz="$TICKS_PER_S" \
    -v p50="$(field "$1" p50_us)" -v p99="$(field "$1" p99_us)" \
    -v conns="$2" -v depth="$3" 'BEGIN {
      cpu = t / hz; secs = d / 1e6; per_s = (secs > 0 ? r / secs : 0)
      if (depth > 1 || p50 == 0 || p99 == 0) { p50 = "-"; p99 = "-" }
      printf "%.0f %.0f %s %s %.0f %.0f\n", (cpu > 0 ? r / cpu : 0), per_s,
        p50, p99, (secs > 0 ? 100 * cpu / secs : 0),
        (per_s > 0 ? 1e6 * conns * depth / per_s : 0)
    }'
}

# One round of $2 connections at depth $3 on side $1, on a fresh server.
# Prints its figures; the round's details go to stderr.
load_round() {
  local side=$1 conns=$2 depth=$3 line f
  start_server "$side"
  line=$(run_wrk "$conns" "$SECONDS_PER_ROUND" "$depth")
  stop_server
  check_errors "$side" "$line"
  f=$(figures "$line" "$conns" "$depth")
  read -r per_cpu per_s _ _ busy mean <<<"$f"
  printf '  %-5s %5s conns, depth %2s: %9s /server-CPU-s %9s /s  mean %7s us  wrk p50 %7s us  p99 %7s us  server CPU %3s%%\n' \
    "$side" "$conns" "$depth" "$per_cpu" "$per_s" "$mean" \
    "$(field "$line" p50_us)" "$(field "$line" p99_us)" "$busy" >&2
  echo "$f"
}

# Median of the rounds, by the per-CPU-second figure.
median() {
  sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}

# Run $1 connections at depth $2 on every side, AX_HTTP_ROUNDS rounds, the
# sides taking turns to go first; sets RESULT[key,side] to the median
# round's figures, key being "$1x$2".
declare -A RESULT
load_row() {
  local conns=$1 depth=$2 side r
  declare -A rounds=()
  local order=("${SIDES[@]}")
  for ((r = 0; r < ROUNDS; r++)); do
    for side in "${order[@]}"; do
      rounds[$side]+="$(load_round "$side" "$conns" "$depth")"$'\n'
    done
    # Another side goes first next round, so that none always runs just
    # after the same other one's teardown.
    order=("${order[@]:1}" "${order[0]}")
  done
  for side in "${SIDES[@]}"; do
    RESULT[${conns}x$depth,$side]=$(printf '%s' "${rounds[$side]}" | median)
  done
}

# System calls per request of side $1's server, under strace -c, for 50
# connections at depth $2. Sets SYSCALLS[$2,side] to the total per
# request and BREAKDOWN[$2,side] to the main calls.
declare -A SYSCALLS BREAKDOWN
strace_run() {
  local side=$1 depth=$2 out=$TMP/strace.txt traced i line n
  start_server "$side"
  traced=$SERVER_PID
  [ "$side" = nginx ] && traced=$WORKER_PID
  strace -c -f -q -o "$out" -p "$traced" 2>/dev/null &
  STRACE_PID=$!
  for ((i = 0; i < 50; i++)); do
    [ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$traced/status")" != 0 ] &&
      break
    sleep 0.1
  done
  line=$(run_wrk 50 "$STRACE_SECONDS" "$depth")
  kill -INT "$STRACE_PID"
  wait "$STRACE_PID" || true
  STRACE_PID=
  stop_server
  n=$(field "$line" responses)
  SYSCALLS[$depth,$side]=$(awk -v n="${n:-0}" \
    '$NF == "total" { printf "%.2f", (n > 0 ? $4 / n : 0) }' "$out")
  BREAKDOWN[$depth,$side]=$(awk -v n="${n:-0}" \
    '$1 ~ /^[0-9.]+$/ && $NF != "total" && n > 0 && $4 / n >= 0.005 {
       printf "%s%s %.3f", sep, $NF, $4 / n; sep = ", " }' "$out")
}

# User-space instructions side $1's server runs for $2 seconds of 50
# connections at depth $3, start-up and shutdown included, under
# callgrind. Prints "instructions responses".
callgrind_count() {
  local line
  WRAP=(valgrind --tool=callgrind --callgrind-out-file=/dev/null)
  start_server "$1"
  WRAP=()
  line=$(run_wrk 50 "$2" "$3")
  stop_server
  echo "$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$TMP/server.err") $(field "$line" responses)"
}

# Instructions per request: the difference between a short and a long
# run over the difference in requests. Sets INSTRUCTIONS[$2,side].
declare -A INSTRUCTIONS
callgrind_run() {
  local i1 n1 i2 n2
  read -r i1 n1 < <(callgrind_count "$1" 2 "$2")
  read -r i2 n2 < <(callgrind_count "$1" 6 "$2")
  INSTRUCTIONS[$2,$1]=$(awk -v i1="${i1:-0}" -v n1="${n1:-0}" \
    -v i2="${i2:-0}" -v n2="${n2:-0}" \
    'BEGIN { if (n2 > n1) printf "%.0f", (i2 - i1) / (n2 - n1); else print "-" }')
}

# AX_HTTP_MANY keep-alive connections, one request in flight each, on
# side $1. Sets MANY_RESULT[side] to "figures" plus wrk's error counts.
declare -A MANY_RESULT
many_run() {
  local side=$1 line
  start_server "$side"
  line=$(run_wrk "$MANY" "$MANY_SECONDS" 1)
  stop_server
  check_errors "$side" "$line"
  MANY_RESULT[$side]="$(figures "$line" "$MANY" 1) $(field "$line" connect_errors) $(field "$line" timeouts) $(field "$line" max_us)"
  echo "  $side $MANY conns: ${MANY_RESULT[$side]} (per_cpu per_s p50 p99 busy mean connect_errors timeouts max)" >&2
}

echo "axle $(git describe --always --dirty 2>/dev/null || echo '?'), $(nproc) cores, $(uname -sr); descriptors: $FD_LIMIT"
echo "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2); $("$NGINX" -v 2>&1 | sed 's/.*: //'); libuv $(pkg-config --modversion libuv 2>/dev/null || echo -)"
echo "sides: ${SIDES[*]}; servers on CPU $SERVER_CPU, wrk on CPU $LOAD_CPU; median of $ROUNDS rounds, $SECONDS_PER_ROUND s each"

LOADS=("50 1" "1000 1" "50 $DEPTH" "1000 $DEPTH")
for l in "${LOADS[@]}"; do
  # shellcheck disable=SC2086 # l holds two words to split.
  load_row $l
done
for depth in 1 "$DEPTH"; do
  for side in "${SIDES[@]}"; do
    strace_run "$side" "$depth"
    # Not nginx (several processes), and not io_uring: under valgrind
    # its server takes SIGTERM only when a completion wakes it.
    [ "$side" = nginx ] || [ "$side" = uring ] ||
      callgrind_run "$side" "$depth"
  done
done
if [ "$FD_LIMIT" -ge $((MANY + 100)) ]; then
  for side in "${SIDES[@]}"; do
    many_run "$side"
  done
else
  echo "descriptor limit $FD_LIMIT < $((MANY + 100)): the $MANY-connection row is left out"
fi

# The n-th (1-based) word of $1.
word() {
  awk -v i="$2" '{ print $i }' <<<"$1"
}

# Microseconds as milliseconds with two decimals ("-" stays "-").
ms() {
  if [ "$1" = - ]; then
    echo -
  elif [ -n "$1" ]; then
    awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'
  fi
}

# The ratio a / b of two figures, or "-".
ratio() {
  if [ -n "$1" ] && [ -n "$2" ] && [ "$1" != - ] && [ "$2" != - ]; then
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'
  else
    echo -
  fi
}

# Print one table row: name, then the value of each of axle, axle on
# io_uring, libuv and nginx ("-" when not run), then axle/libuv,
# axle/nginx, io_uring/libuv and io_uring/nginx when $6 says the figures
# are rates to compare ("rate"), else "-".
row() {
  local name=$1 a=${2:--} i=${3:--} u=${4:--} n=${5:--} kind=$6
  local au=- an=- iu=- in=-
  if [ "$kind" = rate ]; then
    au=$(ratio "$a" "$u")
    an=$(ratio "$a" "$n")
    iu=$(ratio "$i" "$u")
    in=$(ratio "$i" "$n")
  fi
  printf '| %-48s | %9s | %9s | %9s | %9s | %6s | %6s | %6s | %6s |\n' \
    "$name" "$a" "$i" "$u" "$n" "$au" "$an" "$iu" "$in"
}

# The n-th figure of RESULT[$1,side] for every side, as four words, "-"
# for a side not run; latencies ($3 = ms) in milliseconds.
four() {
  local key=$1 i=$2 unit=${3:-} side v out=()
  for side in axle uring libuv nginx; do
    v=${RESULT[$key,$side]:-}
    if [ -z "$v" ]; then
      out+=(-)
    elif [ "$unit" = ms ]; then
      out+=("$(ms "$(word "$v" "$i")")")
    else
      out+=("$(word "$v" "$i")")
    fi
  done
  echo "${out[@]}"
}

echo
printf '| %-48s | %9s | %9s | %9s | %9s | %6s | %6s | %6s | %6s |\n' \
  "Workload" axle io_uring libuv nginx "ax/uv" "ax/ng" "io/uv" "io/ng"
printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
  "$(printf -- '-%.0s' {1..48})" "--------:" "--------:" "--------:" \
  "--------:" "-----:" "-----:" "-----:" "-----:"
for l in "${LOADS[@]}"; do
  read -r conns depth <<<"$l"
  key=${conns}x$depth
  what="$conns conns"
  [ "$depth" != 1 ] && what="$what, pipelined x$depth"
  # shellcheck disable=SC2046 # four prints four words to split.
  row "$what: requests per server CPU-second" $(four "$key" 1) rate
  # shellcheck disable=SC2046
  row "$what: requests per second" $(four "$key" 2) rate
  # shellcheck disable=SC2046
  row "$what: latency p50 (ms)" $(four "$key" 3 ms) none
  # shellcheck disable=SC2046
  row "$what: latency p99 (ms)" $(four "$key" 4 ms) none
  # shellcheck disable=SC2046
  row "$what: mean round trip (ms)" $(four "$key" 6 ms) none
  # shellcheck disable=SC2046
  row "$what: server CPU busy (%)" $(four "$key" 5) none
done
row "system calls per request, 50 conns" "${SYSCALLS[1,axle]:-}" \
  "${SYSCALLS[1,uring]:-}" "${SYSCALLS[1,libuv]:-}" "${SYSCALLS[1,nginx]:-}" \
  none
row "system calls per request, 50 conns, x$DEPTH" \
  "${SYSCALLS[$DEPTH,axle]:-}" "${SYSCALLS[$DEPTH,uring]:-}" \
  "${SYSCALLS[$DEPTH,libuv]:-}" "${SYSCALLS[$DEPTH,nginx]:-}" none
row "user-space instructions per request, 50 conns" \
  "${INSTRUCTIONS[1,axle]:-}" - "${INSTRUCTIONS[1,libuv]:-}" - none
row "user-space instructions per request, x$DEPTH" \
  "${INSTRUCTIONS[$DEPTH,axle]:-}" - "${INSTRUCTIONS[$DEPTH,libuv]:-}" - \
  none
if [ ${#MANY_RESULT[@]} -gt 0 ]; then
  for i in 1 2; do
    label="requests per server CPU-second"
    [ $i = 2 ] && label="requests per second"
    row "$MANY conns: $label" "$(word "${MANY_RESULT[axle]:-}" $i)" \
      "$(word "${MANY_RESULT[uring]:-}" $i)" \
      "$(word "${MANY_RESULT[libuv]:-}" $i)" \
      "$(word "${MANY_RESULT[nginx]:-}" $i)" rate
  done
  for i in 3 4; do
    label="latency p50 (ms)"
    [ $i = 4 ] && label="latency p99 (ms)"
    row "$MANY conns: $label" "$(ms "$(word "${MANY_RESULT[axle]:-}" $i)")" \
      "$(ms "$(word "${MANY_RESULT[uring]:-}" $i)")" \
      "$(ms "$(word "${MANY_RESULT[libuv]:-}" $i)")" \
      "$(ms "$(word "${MANY_RESULT[nginx]:-}" $i)")" none
  done
  errors=()
  for side in axle uring libuv nginx; do
    v=${MANY_RESULT[$side]:-}
    if [ -n "$v" ]; then
      errors+=("$(word "$v" 7)/$(word "$v" 8)")
    else
      errors+=(-)
    fi
  done
  row "$MANY conns: connect errors / time-outs" "${errors[@]}" none
fi
echo "(ratios: axle's rate, on epoll (ax) or io_uring (io), over libuv's (uv) or nginx's (ng); above 1, axle serves more)"
echo
for depth in 1 "$DEPTH"; do
  for side in "${SIDES[@]}"; do
    echo "system calls per request, 50 conns, depth $depth, $side: ${BREAKDOWN[$depth,$side]}"
  done
done
