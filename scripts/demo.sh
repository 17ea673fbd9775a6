#!/usr/bin/env bash
# scripts/demo.sh: build axle and run its demo (examples/demo.c).
#
# Installs the Debian packages that are missing, configures build/ the first
# time (with warnings as errors, as CI builds it) and reuses it afterwards,
# builds, and runs build/examples/demo. Arguments are passed to the demo.
# Works from any directory.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ax_install_missing meson ninja-build pkg-config libcmocka-dev doxygen gcc \
  libc6-dev

if [ -f build/meson-private/coredata.dat ]; then
  ax_say "Reusing build/"
else
  ax_say "Configuring build/"
  meson setup build -Dwerror=true
fi

ax_say "Building"
meson compile -C build

ax_say "Running build/examples/demo $*"
exec build/examples/demo "$@"
