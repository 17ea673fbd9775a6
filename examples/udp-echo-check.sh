#!/bin/sh
# udp-echo-check.sh: run examples/udp-echo.c as a server (with the mode
# given, "" or --batch) and as its own load, 20,000 datagrams; pass when
# every one came back and the server stops cleanly on SIGTERM.
#   sh udp-echo-check.sh path/to/udp-echo [--batch]
set -eu
exe=$1
mode=${2:-}
out=$(mktemp)
trap 'rm -f "$out"; kill "$pid" 2>/dev/null || true' EXIT
# shellcheck disable=SC2086 # $mode is empty or one word
"$exe" --port 0 $mode >"$out" &
pid=$!
port=
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
  port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
  [ -n "$port" ] || sleep 0.1
  i=$((i + 1))
done
[ -n "$port" ] || { echo "the server did not start"; exit 1; }
timeout 50 "$exe" --load 20000 --port "$port" --size 100
kill -TERM "$pid"
wait "$pid"
