#!/usr/bin/env bash
# scripts/build-libkqueue.sh: libkqueue (the kqueue API in user space on
# Linux) for the kqueue build of the suite (meson -Dkqueue_linux=enabled).
#
# Takes the tarball from the vendor directory beside the project
# ($(dirname repo)/shared/vendor, or AX_VENDOR_DIR), unpacks it into
# build-deps/libkqueue/, builds it with CMake and installs it into the
# private prefix build-deps/libkqueue/prefix/: nothing goes to the system.
# Only the static library is installed, so that the test programs need no
# run-time path to find it. A rerun with the same tarball does nothing.
#
# Prints exactly one line on stdout, for the caller to test:
#   the prefix (an absolute path) when libkqueue is there to use, whose
#   lib/pkgconfig/ holds libkqueue.pc; or
#   "skipped: ... because ..." when there is no tarball to build from.
# Both exit 0; a failed build exits 1, its log on stderr. Works from any
# directory.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vendor=${AX_VENDOR_DIR:-$(dirname "$AX_ROOT")/shared/vendor}
work="$AX_ROOT/build-deps/libkqueue"
prefix="$work/prefix"
stamp="$prefix/.tarball"

skip() {
  echo "skipped: libkqueue not built because $*"
  exit 0
}

[ -d "$vendor" ] || skip "there is no vendor directory at $vendor"
# The newest version when there are several.
tarball=$(compgen -G "$vendor/libkqueue-*.tar.gz" | sort -V | tail -n 1) ||
  skip "$vendor holds no libkqueue-*.tar.gz"

# Identified by name and checksum, so that a replaced tarball is rebuilt.
want="$(basename "$tarball") $(sha256sum <"$tarball" | cut -d' ' -f1)"
if [ -f "$prefix/lib/pkgconfig/libkqueue.pc" ] &&
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$prefix"
  exit 0
fi

ax_install_missing cmake gcc libc6-dev >&2

src="$work/src"
build="$work/build"
log="$work/build.log"
rm -rf "$src" "$build" "$prefix"
mkdir -p "$src"
tar -xzf "$tarball" -C "$src" --strip-components=1

# Its CMakeLists asks git for a version; a ceiling keeps git from finding
# axle's own repository above the sources and taking axle's tags.
# Static only (see the top); no tests, no packaging.
if ! GIT_CEILING_DIRECTORIES="$work" cmake -S "$src" -B "$build" \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENABLE_SHARED=OFF -DENABLE_STATIC=ON \
  -DENABLE_TESTING=OFF >"$log" 2>&1 ||
  ! cmake --build "$build" -j 2 >>"$log" 2>&1 ||
  ! cmake --install "$build" >>"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "error: libkqueue failed to build; the whole log is $log" >&2
  exit 1
fi
echo "$want" >"$stamp"
echo "libkqueue from $(basename "$tarball") installed in $prefix" >&2
echo "$prefix"
