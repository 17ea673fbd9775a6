#!/usr/bin/env bash
# scripts/sigint-stress.sh: SIGINT sent to the HTTP server example right
# after (or during) a burst of requests, many times, counting the signals
# the server did not act on (issue #11, item 2b).
#
#   bash scripts/sigint-stress.sh [tries] [seconds]    (default 300, 900)
#
# On a build of its own (build-sigint/), for each backend in
# AX_SIGINT_BACKENDS (default "epoll io_uring"; one the kernel refuses is
# skipped), it runs up to `tries` rounds, all of them within `seconds` in
# total (shared evenly between the backends). Each round starts the server on 127.0.0.1, port 0, with one or two
# loops (alternately), sends a burst of requests with ab (plain or
# keep-alive; on /, on /hash, which runs on the thread pool, or on /delay,
# which runs on timers), and sends SIGINT either as soon as ab returns or
# while it is still sending. Then it classifies what the server did:
#   - ok:    it closed its listener within AX_SIGINT_ACT_S (3) seconds and
#            exited 0 (draining finishes the requests in flight; the grace
#            is --shutdown-timeout 4000 ms, so the wait is bounded);
#   - lost:  it still had all its listeners after AX_SIGINT_ACT_S seconds:
#            the signal's callback never ran;
#   - unwoken: some listeners closed, not all: the callback ran on the
#            first loop, and another loop did not hear of it (the async
#            wakeup path).
#     For either, the round records /proc/PID/status (is the handler
#     installed, is the signal pending or blocked) and, if gdb is
#     installed, every thread's stack, then sends a second SIGINT and notes
#     whether that one worked;
#   - hung:  it closed its listener but did not exit within the grace and
#            a margin: draining, not delivery, went wrong;
#   - error: the server did not start, or exited non-zero.
# A round that failed keeps its evidence in build-sigint/sigint-*.log.
# Prints progress every 100 rounds, one line per backend at the end, and
# exits 0 when nothing was lost, unwoken or hung.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(uname -s)" = Linux ] || ax_die "sigint-stress.sh runs on Linux only"

TRIES=${1:-300}
LIMIT_S=${2:-900}
BACKENDS=${AX_SIGINT_BACKENDS:-epoll io_uring}
ACT_S=${AX_SIGINT_ACT_S:-3}
# Another signal the server ignores (WINCH) checks the script itself: every
# round must then come out lost.
SIGNAL=${AX_SIGINT_SIGNAL:-INT}
GRACE_MS=4000
BUILD=${AX_SIGINT_BUILD:-build-sigint}

ax_install_missing meson ninja-build pkg-config gcc libc6-dev apache2-utils \
  iproute2 >/dev/null
ax_meson_setup "$BUILD" -Dbuildtype=debugoptimized -Dtests=false \
  -Dexamples=true -Ddocs=disabled >/dev/null
ninja -C "$BUILD" >/dev/null
SERVER=$BUILD/examples/http-server/http-server

TMP=$(mktemp -d)
PID=
AB_PID=
# shellcheck disable=SC2317 # Called by the trap.
cleanup() {
  if [ -n "$AB_PID" ]; then kill "$AB_PID" 2>/dev/null || true; fi
  if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# Start the server ($1: backend, $2: loops); sets PID and PORT, or fails.
server_start() {
  local i
  PORT=
  : >"$TMP/out" # Not the last round's line: the job truncates it late.
  AX_BACKEND=$1 "$SERVER" --host 127.0.0.1 --port 0 --threads "$2" \
    --shutdown-timeout "$GRACE_MS" >"$TMP/out" 2>"$TMP/err" &
  PID=$!
  for ((i = 0; i < 100; i++)); do
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/out")
    [ -n "$PORT" ] && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=
  return 1
}

# How many listening sockets the server has on its port (one per loop).
server_listeners() {
  ss -Hltn "sport = :$PORT" 2>/dev/null | wc -l
}

# Wait up to $1 tenths of a second for the server to exit; its status in
# EXIT_STATUS, or 1 if it did not exit.
server_wait_exit() {
  local i
  for ((i = 0; i < $1; i++)); do
    if ! kill -0 "$PID" 2>/dev/null; then
      EXIT_STATUS=0
      wait "$PID" || EXIT_STATUS=$?
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Record why the server did not act on SIGINT, then try a second one.
server_evidence() {
  local log=$1
  {
    echo "== round $2, backend $3, loops $4, burst: $5"
    grep -E '^(SigQ|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt)' "/proc/$PID/status"
    for t in /proc/"$PID"/task/*; do
      printf 'thread %s: ' "${t##*/}"
      grep -E '^(SigPnd|SigBlk)' "$t/status" | tr '\n' ' '
      echo
    done
    if command -v gdb >/dev/null 2>&1; then
      timeout 30 gdb -p "$PID" -batch -ex 'thread apply all bt' 2>&1 || true
    fi
    kill -INT "$PID" 2>/dev/null || true
    if server_wait_exit $((GRACE_MS / 100 + 30)); then
      echo "a second SIGINT: exited $EXIT_STATUS"
    else
      echo "a second SIGINT: still running"
    fi
  } >>"$log" 2>&1
}

# One round; sets VERDICT (ok, lost, hung, error).
round() {
  local backend=$1 n=$2 loops=$((1 + $2 % 2)) keep='' path='' during i
  local listeners left
  case $((n % 3)) in
  0) path=/ ;;
  1) path='/hash?n=2000' ;;
  2) path='/delay?ms=2' ;;
  esac
  [ $((n % 4)) -lt 2 ] && keep=-k
  during=$((n % 5 == 4))
  server_start "$backend" "$loops" || {
    VERDICT=error
    return
  }
  timeout 20 ab -q -r -s 5 $keep -n 400 -c 16 \
    "http://127.0.0.1:$PORT$path" >/dev/null 2>&1 &
  AB_PID=$!
  if [ "$during" = 1 ]; then
    sleep "0.0$((RANDOM % 10))"
  else
    wait "$AB_PID" 2>/dev/null || true
  fi
  listeners=$(server_listeners)
  kill -"$SIGNAL" "$PID"
  for ((i = 0; i < ACT_S * 20; i++)); do
    [ "$(server_listeners)" -gt 0 ] || break
    sleep 0.05
  done
  left=$(server_listeners)
  if [ "$left" -gt 0 ] && kill -0 "$PID" 2>/dev/null; then
    # All listeners left: the signal's callback never ran. Fewer: it ran,
    # and a loop it woke with ax_async_send() did not hear of it.
    server_evidence "$BUILD/sigint-$backend.log" "$n" "$backend" "$loops" \
      "${keep:-close} $path during=$during, listeners $listeners -> $left"
    if [ "$left" -ge "$listeners" ]; then VERDICT=lost; else VERDICT=unwoken; fi
  elif ! server_wait_exit $((GRACE_MS / 100 + 30)); then
    echo "== round $n: listener closed, no exit" >>"$BUILD/sigint-$backend.log"
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    VERDICT=hung
  elif [ "$EXIT_STATUS" != 0 ]; then
    VERDICT=error
  else
    VERDICT=ok
  fi
  PID=
  wait "$AB_PID" 2>/dev/null || true
  AB_PID=
}

read -ra BACKEND_LIST <<<"$BACKENDS"
LIMIT_EACH_S=$((LIMIT_S / ${#BACKEND_LIST[@]}))
FAILED=0
for backend in "${BACKEND_LIST[@]}"; do
  START=$SECONDS
  if ! server_start "$backend" 1 ||
    ! grep -q "$backend backend" "$TMP/out"; then
    if [ -n "$PID" ]; then
      kill -9 "$PID" 2>/dev/null || true
      wait "$PID" 2>/dev/null || true
    fi
    PID=
    echo "$backend: not available here, skipped"
    continue
  fi
  kill -9 "$PID"
  wait "$PID" 2>/dev/null || true
  PID=
  rm -f "$BUILD/sigint-$backend.log"
  declare -A count=([ok]=0 [lost]=0 [unwoken]=0 [hung]=0 [error]=0)
  n=0
  while [ "$n" -lt "$TRIES" ] && [ $((SECONDS - START)) -lt "$LIMIT_EACH_S" ]; do
    round "$backend" "$n"
    count[$VERDICT]=$((count[$VERDICT] + 1))
    n=$((n + 1))
    [ $((n % 100)) -ne 0 ] || echo "$backend: $n rounds..."
  done
  echo "$backend: $n rounds: ${count[ok]} ok, ${count[lost]} lost," \
    "${count[unwoken]} unwoken, ${count[hung]} hung, ${count[error]} errors"
  [ $((count[lost] + count[unwoken] + count[hung])) -eq 0 ] ||
    FAILED=1
  unset count
done
exit "$FAILED"
