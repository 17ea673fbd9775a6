#!/usr/bin/env bash
# cluster-check.sh: the cluster example's test, driven from outside as a
# user would: curl for requests and status, wrk for load, kill for the
# signals. On 127.0.0.1 only; every wait is bounded.
#
#   bash examples/cluster/cluster-check.sh build/examples/cluster/cluster MODE
#
# For MODE (shared, round-robin or reuseport), with two workers:
#   1. curl gets the routes' answers, and GET /cluster on the status port
#      lists both workers, ready, with their pids and request counts;
#   2. kill -9 of one worker under load (wrk -t1 -c20): a new pid takes
#      its slot, and requests succeed afterwards;
#   3. SIGHUP under load: every worker is replaced, and wrk counts no
#      error at all (no non-2xx answer, no socket error, no time-out);
#   4. SIGINT: the primary exits 0 and no worker is left;
#   5. (shared mode) workers that never say ready are killed for not being
#      ready and restarted, and SIGINT still ends the primary with 0.
# Exit 77 (a skip, for meson) when wrk or curl is missing, or in reuseport
# mode where the system cannot share a port.
# ok() always succeeds, so "test && ok ... || fail ..." is an if-else.
# shellcheck disable=SC2015
set -u

EXE=$1
MODE=$2
WORKERS=2
START_S=30   # The longest wait for the workers to be ready.
LOAD_S=5     # Each wrk run.
STOP_S=20    # The longest wait for a drain (the workers' --drain-ms is 3 s).

command -v curl >/dev/null || { echo "SKIP: no curl"; exit 77; }
command -v wrk >/dev/null || { echo "SKIP: no wrk"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }

TMP=$(mktemp -d)
PRIMARY=
SEEN_PIDS=
failures=0

cleanup() {
  if [ -n "$PRIMARY" ] && kill -0 "$PRIMARY" 2>/dev/null; then
    # Its workers first (by parent, so a worker started after the last
    # status is found too), then the primary itself.
    pkill -9 -P "$PRIMARY" 2>/dev/null
    kill -9 "$PRIMARY" 2>/dev/null
  fi
  for pid in $SEEN_PIDS; do kill -9 "$pid" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

ok() {
  echo "ok: $*"
}

# The status as JSON, or nothing.
status() {
  curl -sS --max-time 5 "http://127.0.0.1:$SPORT/cluster" 2>/dev/null
}

# A field of each worker in the status, one per line: pid, state, ...
workers_field() {
  status | python3 -c '
import json, sys
try:
    for w in json.load(sys.stdin)["workers"]:
        print(w[sys.argv[1]])
except Exception:
    pass' "$1"
}

remember_pids() {
  SEEN_PIDS="$SEEN_PIDS $(workers_field pid | tr '\n' ' ')"
}

# Wait until the status shows every worker ready, pids none of $1.
wait_ready() {
  local old=$1 deadline=$((SECONDS + START_S))
  while [ $SECONDS -lt $deadline ]; do
    local states pids fresh=yes
    states=$(workers_field state | sort -u | tr '\n' ' ')
    pids=$(workers_field pid)
    for pid in $pids; do
      case " $old " in *" $pid "*) fresh=no ;; esac
    done
    if [ "$states" = "ready " ] && [ "$fresh" = yes ]; then
      remember_pids
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# wrk's errors: non-2xx answers and socket errors (connect, read, write,
# time-out), summed; and its request count.
wrk_errors() {
  local non2xx socket
  non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1")
  socket=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$1")
  echo $((${non2xx:-0} + $(echo "${socket:-0}" | tr ' ' '+')))
}

wrk_requests() {
  sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$1"
}

start_load() {
  timeout $((LOAD_S + 20)) wrk -t1 -c20 -d${LOAD_S}s --timeout 5s \
    "http://127.0.0.1:$PORT/" >"$1" 2>&1 &
  LOAD=$!
}

# SIGINT to the primary: it must exit 0 within STOP_S. One that does not is
# left for cleanup() to kill with its workers. $1 names the step.
interrupt_primary() {
  local deadline=$((SECONDS + STOP_S)) rc
  kill -INT "$PRIMARY"
  while [ $SECONDS -lt $deadline ] && kill -0 "$PRIMARY" 2>/dev/null; do
    sleep 0.1
  done
  if kill -0 "$PRIMARY" 2>/dev/null; then
    fail "$1: the primary still runs ${STOP_S}s after SIGINT"
    return
  fi
  wait "$PRIMARY"
  rc=$?
  [ $rc = 0 ] && ok "$1: the primary exits 0" || fail "$1: exit $rc"
  PRIMARY=
}

# -- Start ----------------------------------------------------------------

"$EXE" --workers $WORKERS --port 0 --mode "$MODE" --drain-ms 3000 \
  --restart-ms 200 2000 5000 >"$TMP/out" 2>"$TMP/err" &
PRIMARY=$!
deadline=$((SECONDS + START_S))
while [ $SECONDS -lt $deadline ] && ! grep -q '^status on' "$TMP/out"; do
  if ! kill -0 "$PRIMARY" 2>/dev/null; then
    wait "$PRIMARY"
    rc=$?
    if [ "$MODE" = reuseport ] && [ $rc = 3 ]; then
      echo "SKIP: this system cannot share a port"
      exit 77
    fi
    cat "$TMP/err"
    echo "FAIL: the primary exited with $rc before it was ready"
    exit 1
  fi
  sleep 0.1
done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/out")
SPORT=$(sed -n 's/^status on .*:\([0-9]*\)$/\1/p' "$TMP/out")
if [ -z "$PORT" ] || [ -z "$SPORT" ]; then
  cat "$TMP/err"
  echo "FAIL: no 'listening on' and 'status on' lines"
  exit 1
fi
echo "$MODE: port $PORT, status port $SPORT"

# -- 1. Requests and status -----------------------------------------------

wait_ready "" || fail "the workers are not all ready"
good=0
for _ in $(seq 1 20); do
  body=$(curl -sS --max-time 5 "http://127.0.0.1:$PORT/")
  [ -n "$body" ] && good=$((good + 1))
done
[ $good = 20 ] && ok "20 requests by curl" || fail "$good of 20 requests"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
  "http://127.0.0.1:$PORT/nothing-here")
[ "$code" = 404 ] && ok "404 from a worker" || fail "/nothing-here: $code"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
  "http://127.0.0.1:$SPORT/other")
[ "$code" = 404 ] && ok "404 from the status port" || fail "status 404: $code"
[ "$(workers_field pid | wc -l)" = $WORKERS ] &&
  ok "status lists $WORKERS workers" || fail "status: $(status)"
sleep 0.5 # The workers report their counts five times a second.
total=$(workers_field requests | awk '{ n += $1 } END { print n + 0 }')
[ "${total:-0}" -ge 20 ] && ok "status counts $total requests" ||
  fail "status counts ${total:-0} requests"
kill -USR1 "$PRIMARY"
sleep 0.3
grep -q '^worker 0 pid [0-9]* state ready' "$TMP/out" &&
  ok "SIGUSR1 prints the status" || fail "SIGUSR1: $(cat "$TMP/out")"

# -- 2. kill -9 under load -------------------------------------------------

victim=$(workers_field pid | head -n 1)
start_load "$TMP/wrk-kill"
sleep 1
kill -9 "$victim"
wait "$LOAD"
wait_ready "$victim" ||
  fail "worker $victim was not replaced: $(status)"
restarts=$(workers_field restarts | head -n 1)
[ "$restarts" = 1 ] && ok "worker $victim replaced (restarts 1)" ||
  fail "restarts: $restarts"
grep -q "killed by signal 9; restarting in" "$TMP/err" &&
  ok "its death is logged" || fail "no log line for the death"
echo "   wrk during the kill: $(wrk_requests "$TMP/wrk-kill") requests," \
  "$(wrk_errors "$TMP/wrk-kill") errors (the killed worker's)"
good=0
for _ in $(seq 1 10); do
  [ -n "$(curl -sS --max-time 5 "http://127.0.0.1:$PORT/")" ] &&
    good=$((good + 1))
done
[ $good = 10 ] && ok "requests succeed after the kill" ||
  fail "$good of 10 requests after the kill"

# -- 3. SIGHUP under load --------------------------------------------------

before=$(workers_field pid | tr '\n' ' ')
start_load "$TMP/wrk-roll"
sleep 1
kill -HUP "$PRIMARY"
wait "$LOAD"
wait_ready "$before" || fail "not every worker was replaced: $(status)"
grep -q "rolling restart done" "$TMP/err" &&
  ok "rolling restart done" || fail "no 'rolling restart done'"
sent=$(wrk_requests "$TMP/wrk-roll")
errors=$(wrk_errors "$TMP/wrk-roll")
echo "   rolling restart under load: ${sent:-0} requests, $errors failed"
[ "${sent:-0}" -gt 0 ] && [ "$errors" = 0 ] &&
  ok "no failed request during the rolling restart" ||
  { cat "$TMP/wrk-roll"; fail "rolling restart: $errors failed"; }

# -- 4. SIGINT --------------------------------------------------------------

remember_pids
interrupt_primary "SIGINT"
left=
for pid in $SEEN_PIDS; do
  kill -0 "$pid" 2>/dev/null && left="$left $pid"
done
[ -z "$left" ] && ok "no worker left" || fail "workers left:$left"
# Every worker that stopped did so cleanly (a sanitizer's report ends a
# worker with an error: it would say "stopped badly").
if grep -E -q 'stopped badly|Sanitizer|runtime error' "$TMP/err"; then
  fail "a process reported an error"
else
  ok "every stopped worker exited 0, with no sanitizer report"
fi

# -- 5. A worker that is never ready (shared mode only) --------------------

# A worker that never says it is ready (CLUSTER_NEVER_READY, the worker's
# test hook) is killed after --ready-ms and its slot restarted after the
# back-off, and SIGINT still ends everything. (A real deadline of 1 ms
# raced a fast worker, which sometimes was ready in time.)
if [ "$MODE" = shared ]; then
  CLUSTER_NEVER_READY=1 "$EXE" --workers 1 --port 0 --mode shared \
    --ready-ms 1 --restart-ms 100 200 1000 >"$TMP/out5" 2>"$TMP/err5" &
  PRIMARY=$!
  deadline=$((SECONDS + START_S))
  while [ $SECONDS -lt $deadline ] &&
    [ "$(grep -c 'not ready in 1 ms' "$TMP/err5")" -lt 2 ]; do
    sleep 0.1
  done
  [ "$(grep -c 'not ready in 1 ms' "$TMP/err5")" -ge 2 ] &&
    grep -q 'killed by signal 9; restarting in' "$TMP/err5" &&
    ok "a worker not ready in --ready-ms is killed and restarted" ||
    fail "no worker killed for not being ready: $(cat "$TMP/err5")"
  interrupt_primary "SIGINT with no worker ready"
fi

if [ $failures != 0 ]; then
  echo "--- the primary's log"
  cat "$TMP/err"
  exit 1
fi
echo "$MODE: all passed"
