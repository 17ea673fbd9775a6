#!/usr/bin/env bash
# scripts/soak.sh: a long run of mixed load against the example servers,
# sampling their memory and descriptors, to show that neither grows.
#
#   bash scripts/soak.sh [seconds]       (default 3600: one hour)
#
# On an optimised build of its own (build-soak/), it starts the echo server
# and the HTTP server (two loops, static files from a directory of files
# it writes: 1 KiB to 64 MiB), both on 127.0.0.1 and port 0. Then, once a
# minute until the time is up, a round of load, each part bounded in count
# and time:
#   - echo: bench/net/echo-load with 50 connections for 10 s;
#   - HTTP: ab on /, on /delay?ms=5 (timers), on /hash?n=2000 (the pool)
#     and on a 64 KiB file (fs requests and sendfile), keep-alive;
#   - resets: 20 connections that ask for the 64 MiB file and reset after
#     the first bytes, while sendfile runs on the pool (the SIGPIPE case);
#   - ranges and conditional requests with curl;
#   - signals: SIGWINCH to both servers, whose default action is to ignore
#     it, 50 times: the loops' wakeups must not disturb what they serve.
# After each round it samples each server's VmRSS and open descriptors
# (/proc/PID/status, /proc/PID/fd), and prints one line. At the end it
# prints the series and a verdict:
#   - memory: the RSS of the last third of the samples is compared with
#     the middle third (the first third is warm-up: allocators and caches
#     fill); growth above AX_SOAK_RSS_SLACK_KB (2048) fails;
#   - descriptors: every sample taken between rounds must be the same
#     (the one before any load may hold fewer: the pool opens on first
#     use);
#   - errors: the load tools' failures other than the injected resets,
#     and a server that died, fail.
# It writes the series to build-soak/soak.tsv. Exits 0 on a pass.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(uname -s)" = Linux ] || ax_die "soak.sh runs on Linux only"

DURATION=${1:-3600}
RSS_SLACK_KB=${AX_SOAK_RSS_SLACK_KB:-2048}
BUILD=build-soak
ax_install_missing meson ninja-build pkg-config gcc libc6-dev libuv1-dev \
  apache2-utils curl python3 >/dev/null
ax_meson_setup "$BUILD" -Dbuildtype=release -Dtests=false -Dexamples=true \
  -Ddocs=disabled >/dev/null
ninja -C "$BUILD" >/dev/null

TMP=$(mktemp -d)
ECHO_PID=
HTTP_PID=
cleanup() {
  [ -n "$ECHO_PID" ] && kill "$ECHO_PID" 2>/dev/null || true
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# Files to serve.
mkdir -p "$TMP/www"
head -c 1024 /dev/urandom >"$TMP/www/small.bin"
head -c 65536 /dev/urandom >"$TMP/www/medium.bin"
head -c $((64 * 1024 * 1024)) /dev/zero >"$TMP/www/large.bin"

# Start $@ with its output in $TMP/$name.out; prints the port it listens on.
start() {
  local name=$1 i port
  shift
  : >"$TMP/$name.out" # Not the last run's line: the job truncates late.
  "$@" --port 0 >"$TMP/$name.out" 2>"$TMP/$name.err" &
  echo $! >"$TMP/$name.pid"
  for ((i = 0; i < 100; i++)); do
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/$name.out")
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.1
  done
  cat "$TMP/$name.err" >&2
  ax_die "$name did not start"
}

ECHO_PORT=$(start echo "$BUILD/examples/echo-server")
ECHO_PID=$(cat "$TMP/echo.pid")
HTTP_PORT=$(start http "$BUILD/examples/http-server/http-server" \
  --threads 2 --static "$TMP/www")
HTTP_PID=$(cat "$TMP/http.pid")
URL=http://127.0.0.1:$HTTP_PORT

ERRORS=0
# Count the failures a tool reports (non-zero exit, or ab's "Failed").
note_failure() {
  ERRORS=$((ERRORS + 1))
  echo "  failure: $*" >&2
}

run_ab() {
  local out
  out=$(timeout 30 ab -q -k -n "$1" -c 20 "$2" 2>&1) || {
    note_failure "ab $2"
    return
  }
  local failed
  failed=$(sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p' <<<"$out")
  [ "${failed:-0}" = 0 ] || note_failure "ab $2: $failed failed"
}

# Connections that ask for the large file and reset after the first
# bytes: sendfile on the pool meets a reset peer.
resets() {
  python3 - "$HTTP_PORT" <<'EOF'
import socket, struct, sys
port = int(sys.argv[1])
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /static/large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(65536)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
EOF
}

curls() {
  local code modified
  code=$(curl -s -o /dev/null -w '%{http_code}' -r 0-99 "$URL/static/medium.bin")
  [ "$code" = 206 ] || note_failure "curl range: $code"
  modified=$(curl -sI "$URL/static/small.bin" | tr -d '\r' |
    sed -n 's/^Last-Modified: //Ip')
  code=$(curl -s -o /dev/null -w '%{http_code}' \
    -H "If-Modified-Since: $modified" "$URL/static/small.bin")
  [ "$code" = 304 ] || note_failure "curl conditional: $code"
}

signals() {
  for _ in $(seq 50); do
    kill -WINCH "$ECHO_PID" "$HTTP_PID"
  done
}

alive() {
  kill -0 "$ECHO_PID" 2>/dev/null && kill -0 "$HTTP_PID" 2>/dev/null
}

# One sample: elapsed seconds, then RSS (KiB) and descriptors of each.
sample() {
  local pid rss fds line=$1
  for pid in "$ECHO_PID" "$HTTP_PID"; do
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
    fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
    line="$line	$rss	$fds"
  done
  echo "$line"
}

SERIES=$BUILD/soak.tsv
printf 'seconds\techo_rss_kb\techo_fds\thttp_rss_kb\thttp_fds\n' >"$SERIES"
sample 0 >>"$SERIES"
start_s=$SECONDS
printf '%8s %12s %9s %12s %9s %7s\n' seconds echo_rss echo_fds http_rss \
  http_fds errors
while ((SECONDS - start_s < DURATION)); do
  round_start=$SECONDS
  timeout 30 "$BUILD/bench/net/echo-load" echo --port "$ECHO_PORT" \
    --connections 50 --seconds 10 >/dev/null || note_failure "echo-load"
  run_ab 2000 "$URL/"
  run_ab 500 "$URL/delay?ms=5"
  run_ab 200 "$URL/hash?n=2000"
  run_ab 1000 "$URL/static/medium.bin"
  resets || note_failure "resets"
  curls
  signals
  alive || { note_failure "a server died"; break; }
  # Idle a moment, so that the sample sees what is held between rounds.
  sleep 2
  line=$(sample $((SECONDS - start_s)))
  echo "$line" >>"$SERIES"
  awk -F'\t' -v e="$ERRORS" \
    '{ printf "%8s %12s %9s %12s %9s %7s\n", $1, $2, $3, $4, $5, e }' \
    <<<"$line"
  left=$((60 - (SECONDS - round_start)))
  if ((left > 0 && SECONDS - start_s + left < DURATION)); then
    sleep "$left"
  fi
done

# The verdict, over the series.
python3 - "$SERIES" "$RSS_SLACK_KB" "$ERRORS" <<'EOF'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])][1:]
slack, errors = int(sys.argv[2]), int(sys.argv[3])
ok = errors == 0
samples = [list(map(int, r)) for r in rows]
for name, rss_col, fd_col in (("echo", 1, 2), ("http", 3, 4)):
    third = max(1, len(samples) // 3)
    mid = [s[rss_col] for s in samples[third:2 * third]] or [samples[-1][rss_col]]
    last = [s[rss_col] for s in samples[-third:]]
    growth = max(last) - max(mid)
    # The first sample is taken before any load: the pool and its wakeup
    # open on first use.
    fds = sorted({s[fd_col] for s in samples[1:] or samples})
    verdict = "flat" if growth <= slack else "GROWS"
    fd_verdict = "flat" if len(fds) == 1 else "VARIES"
    print(f"{name}: rss middle third max {max(mid)} KiB, last third max "
          f"{max(last)} KiB ({growth:+d} KiB): {verdict}; descriptors "
          f"{fds}: {fd_verdict}")
    ok = ok and growth <= slack and len(fds) == 1
print(f"{len(samples)} samples, {errors} errors: {'pass' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
EOF
