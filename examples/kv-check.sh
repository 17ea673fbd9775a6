#!/bin/sh
# kv-check.sh: the HTTP server's /kv routes, end to end, driven by curl:
# a kv-server, an http-server that reaches it through its pool, and
# requests that store, read, refuse, and survive the upstream dropping
# its connections and restarting; then the same through a connection per
# request (--kv-pool 0). Exits 0 when all went as expected, 77 (skipped)
# without curl.
#
# Usage: kv-check.sh KV_SERVER HTTP_SERVER
set -u
KV_SERVER=$1
HTTP_SERVER=$2
command -v curl >/dev/null 2>&1 || { echo "kv-check: no curl: skipped"; exit 77; }

DIR=$(mktemp -d)
KV_PID=
HTTP_PID=
cleanup() {
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
  [ -n "$KV_PID" ] && kill "$KV_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
FAILED=0
fail() {
  echo "kv-check: FAIL: $*"
  FAILED=1
}

# The port a program prints in "listening on HOST:PORT" to file $1,
# once it has.
port_of() {
  out=$1
  i=0
  while [ $i -lt 100 ]; do
    port=$(sed -n 's/^listening on [0-9.]*:\([0-9]*\)$/\1/p' "$out")
    if [ -n "$port" ]; then
      echo "$port"
      return 0
    fi
    sleep 0.05
    i=$((i + 1))
  done
  echo "kv-check: did not start: $(cat "$out")" >&2
  return 1
}

start_kv() {
  # Emptied here, not by the background job's redirection, which may come
  # after port_of has read the last run's line (the same port, when the
  # upstream comes back on it).
  : >"$DIR/kv.out"
  "$KV_SERVER" --port "${1:-0}" >"$DIR/kv.out" 2>&1 &
  KV_PID=$!
  KV_PORT=$(port_of "$DIR/kv.out") || exit 1
}

start_http() {
  : >"$DIR/http.out"
  "$HTTP_SERVER" --port 0 --kv "127.0.0.1:$KV_PORT" --kv-pool "$1" \
    >"$DIR/http.out" 2>&1 &
  HTTP_PID=$!
  HTTP_PORT=$(port_of "$DIR/http.out") || exit 1
  URL="http://127.0.0.1:$HTTP_PORT/kv"
}

# expect CODE CURL-ARGS...: the status of one request.
expect() {
  want=$1
  shift
  got=$(curl -s -o "$DIR/body" -w '%{http_code}' --max-time 10 "$@")
  [ "$got" = "$want" ] || fail "$* gave $got, not $want: $(head -c 200 "$DIR/body")"
}

stop_http() {
  kill -INT "$HTTP_PID"
  wait "$HTTP_PID" || fail "http-server exited $?"
  HTTP_PID=
}

run_checks() {
  pool=$1
  # Store, read, overwrite, HEAD, missing keys.
  expect 200 -X PUT --data-binary 'hello' "$URL/greeting"
  expect 200 "$URL/greeting"
  [ "$(cat "$DIR/body")" = "hello" ] || fail "GET gave $(cat "$DIR/body")"
  expect 200 -X PUT --data-binary 'hello again' "$URL/greeting"
  expect 200 "$URL/greeting"
  [ "$(cat "$DIR/body")" = "hello again" ] || fail "overwrite lost"
  expect 200 -I "$URL/greeting"
  expect 404 "$URL/nobody-set-this-$pool"
  # A binary value of 100 000 bytes, back byte for byte.
  head -c 100000 /dev/urandom >"$DIR/blob"
  expect 200 -X PUT --data-binary "@$DIR/blob" "$URL/blob"
  expect 200 "$URL/blob"
  cmp -s "$DIR/blob" "$DIR/body" || fail "the binary value changed"
  # Refusals: no key, a bad method, a body over the value limit.
  expect 400 "$URL/"
  expect 405 -X POST --data x "$URL/k"
  head -c 1048577 /dev/zero >"$DIR/huge"
  expect 413 -X PUT --data-binary "@$DIR/huge" "$URL/huge"
  # Many requests on one client connection, and 8 clients at once.
  urls=""
  i=0
  while [ $i -lt 100 ]; do
    urls="$urls -o /dev/null $URL/greeting"
    i=$((i + 1))
  done
  codes=$(curl -s -w '%{http_code}\n' --max-time 30 $urls |
    sort | uniq -c | tr -s ' ')
  [ "$codes" = " 100 200" ] || fail "100 GETs in a row: $codes"
  i=0
  while [ $i -lt 8 ]; do
    curl -s -w '%{http_code}\n' --max-time 30 $urls \
      >"$DIR/par.$i" &
    i=$((i + 1))
  done
  wait_clients
  codes=$(cat "$DIR"/par.* | sort | uniq -c | tr -s ' ')
  [ "$codes" = " 800 200" ] || fail "8 clients at once: $codes"
  rm -f "$DIR"/par.*
}

# Wait for the background curl clients only (not the servers).
wait_clients() {
  i=0
  while [ $i -lt 600 ] && pgrep -P $$ curl >/dev/null 2>&1; do
    sleep 0.05
    i=$((i + 1))
  done
}

start_kv

# The key-value protocol itself, bad input included (python3, where
# found): each refusal answered with ERR, framing errors closing the
# connection, and the server alive after all of it.
if command -v python3 >/dev/null 2>&1; then
  python3 - "$KV_PORT" <<'PY' || fail "the kv protocol check"
import socket, sys
port = int(sys.argv[1])
def talk(data, expect, closes=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    got = b""
    while len(got) < len(expect):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    if got != expect:
        sys.exit("sent %r: got %r, not %r" % (data[:60], got[:200], expect))
    if closes:
        s.settimeout(5)
        if s.recv(1) != b"":
            sys.exit("sent %r: the connection stayed open" % data[:60])
    s.close()
talk(b"SET a 3\nabc\nGET a\nDEL a\nDEL a\nPING\r\n",
     b"OK\nVALUE 3\nabc\nDELETED\nNOTFOUND\nPONG\n")
talk(b"FOO\nGET\nGET a b\nGET bad\x01key\n\nGET " + b"k" * 251 + b"\nPING\n",
     b"ERR unknown command\nERR bad key\nERR bad key\nERR bad key\n"
     b"ERR unknown command\nERR bad key\nPONG\n")
talk(b"SET k x\n", b"ERR bad length\n", closes=True)
talk(b"SET k 1048577\n", b"ERR bad length\n", closes=True)
talk(b"SET k 3\nabcd\n", b"ERR value not followed by newline\n", closes=True)
talk(b"G" * 600, b"ERR line too long\n", closes=True)
talk(b"SET k 2\n\x00\xff\nGET k\n", b"OK\nVALUE 2\n\x00\xff\n")
talk(b"PING\n", b"PONG\n")
PY
fi

start_http 4
run_checks 4

# The upstream drops every connection: the pool notices (or a request
# retries once), and no request fails.
kill -USR1 "$KV_PID"
sleep 0.1
expect 200 "$URL/greeting"
kill -USR1 "$KV_PID"
expect 200 "$URL/greeting"

# The upstream goes away: 502 at once, not a hang. It comes back on the
# same port, empty: the pool connects again.
kill "$KV_PID"
wait "$KV_PID" 2>/dev/null
KV_PID=
expect 502 "$URL/greeting"
start_kv "$KV_PORT"
expect 404 "$URL/greeting"
expect 200 -X PUT --data-binary 'back' "$URL/greeting"
expect 200 "$URL/greeting"
stop_http

# A connection per request: the same answers.
start_http 0
run_checks 0
stop_http

[ $FAILED -eq 0 ] && echo "kv-check: all passed"
exit $FAILED
