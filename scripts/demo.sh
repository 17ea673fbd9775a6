#!/usr/bin/env bash
# scripts/demo.sh: build axle and start its HTTP server example
# (examples/http-server/) on 127.0.0.1:8080, serving the repository's docs/
# as static files, then print curl lines to try against it.
#
# Installs the Debian packages that are missing (the clients of the lines it
# prints too: curl, and ab from apache2-utils), configures build/ the first
# time (with warnings as errors, as CI builds it) and reuses it afterwards,
# builds everything (the other examples too: build/examples/demo, the
# earlier demo, is still there), and runs the server until Ctrl-C, which
# lets it finish the requests in flight and exit. AX_DEMO_PORT picks
# another port; arguments are passed to the server (--threads 2, say).
# Works from any directory.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# curl and apache2-utils (ab) are the clients of the lines printed below.
ax_install_missing meson ninja-build pkg-config libcmocka-dev doxygen gcc \
  libc6-dev curl apache2-utils

if [ -f build/meson-private/coredata.dat ]; then
  ax_say "Reusing build/"
else
  ax_say "Configuring build/"
  meson setup build -Dwerror=true
fi

ax_say "Building"
meson compile -C build

PORT=${AX_DEMO_PORT:-8080}
URL="http://127.0.0.1:$PORT"
ax_say "Starting build/examples/http-server/http-server on $URL, serving docs/"
build/examples/http-server/http-server --host 127.0.0.1 --port "$PORT" \
  --static docs "$@" &
SERVER=$!
# Ctrl-C reaches the server too (same process group); wait for it to drain.
trap 'wait "$SERVER"; exit $?' INT TERM

for _ in $(seq 100); do
  if curl -s -o /dev/null "$URL/"; then
    break
  fi
  if ! kill -0 "$SERVER" 2>/dev/null; then
    wait "$SERVER" || ax_die "the server did not start (is port $PORT busy?)"
  fi
  sleep 0.1
done

cat <<EOF

The server is up. Try, from another terminal:

  curl -i $URL/
  curl -i $URL/static/index.md
  curl -i -r 0-99 $URL/static/http-server.md
  curl -i -H 'If-Modified-Since: $(date -u '+%a, %d %b %Y %H:%M:%S GMT')' $URL/static/index.md
  curl -i '$URL/delay?ms=500'
  curl -i '$URL/hash?n=100000000'
  curl -i --data-binary @README.md $URL/upload
  curl -i --path-as-is $URL/static/../README.md     # refused: 404
  ab -k -n 20000 -c 50 $URL/                         # a load, with ab

docs/http-server.md explains how it works. Ctrl-C stops it.

Smaller programs to read and copy, built in build/examples/ (README.md,
"Examples"): timer, tcp-echo with tcp-client, fs-copy, work.

EOF
wait "$SERVER"
