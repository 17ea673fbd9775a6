#!/usr/bin/env bash
# scripts/test-windows.sh: the Windows port, checked on Linux. Cross-builds
# axle for x86_64 Windows with mingw-w64 and runs the test suite under Wine,
# on the IOCP backend, with the same assertions as on Linux.
#
# Installs the Debian packages that are missing, then runs these parts in
# order, timing each and stopping at the first that fails:
#
#   1. cmocka for Windows, built from Debian's cmocka source package by
#      scripts/cross-cmocka.sh into build-deps/mingw-w64 (once: a rerun
#      finds it built);
#   2. configure build-win/ with cross/mingw-w64.ini, warnings as errors;
#   3. build the library (static and DLL), the tests and the examples;
#   4. the Wine prefix, build-win/wineprefix: the first start creates it,
#      which is slow, so it is its own part rather than the first test's.
#      Its wineserver is kept running until the script ends, so that the
#      programs share one instead of each paying for a start;
#   5. the suite: every test program once, on iocp, under Wine;
#   6. the DLL: test/consumer as a meson subproject, linked against the
#      shared library, run under Wine.
#
# Exits 0 only if every part passed. Works from any directory.

# The part functions are called through ax_step, which shellcheck cannot see.
# shellcheck disable=SC2317
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# wine runs the programs (exe_wrapper in the cross file); wine64 is the
# 64-bit Wine it starts. No i386 architecture is needed: the programs are
# 64-bit, and the one complaint of a prefix without 32-bit Wine
# (syswow64\rundll32.exe) is harmless. cmake, dpkg-dev and xz-utils build
# cmocka; the rest is what any axle build needs.
PACKAGES=(gcc-mingw-w64-x86-64 wine64 wine cmake dpkg-dev xz-utils
  meson ninja-build pkg-config python3 gcc libc6-dev)

BUILD=build-win
CMOCKA_PREFIX="$AX_ROOT/build-deps/mingw-w64"

# The same prefix and quiet debug channels as test/meson.build gives the
# tests, for the Wine started here.
export WINEPREFIX="$AX_ROOT/$BUILD/wineprefix"
export WINEDEBUG=-all

part_cmocka() {
  bash scripts/cross-cmocka.sh cross/mingw-w64.cmake "$CMOCKA_PREFIX"
}

part_configure() {
  ax_meson_setup "$BUILD" --cross-file cross/mingw-w64.ini -Dwerror=true \
    -Dpkg_config_path="$CMOCKA_PREFIX/lib/pkgconfig"
}

part_build() {
  meson compile -C "$BUILD"
}

WINESERVER_STARTED=0

# Create the prefix if it is missing, and wait until Wine has finished with
# it. The mscoree and mshtml overrides stop wineboot from offering to
# install Wine Mono and Gecko, which nothing here needs (and no network may
# serve). Wine updates an existing prefix itself when Wine changed.
#
# Then start its wineserver, persistent (it would otherwise exit with its
# last program, and each test would pay for a new start), and the session's
# background programs (services, explorer...), with no terminal. The first
# program of a session starts those, and they inherit its output: run by
# meson test, that first test would not end until the server did. A server
# that is running already makes -p fail, harmlessly.
part_wine_prefix() {
  # Wine creates the prefix's directory, but not its parents.
  mkdir -p "$BUILD" || return 1
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    WINEDLLOVERRIDES="mscoree,mshtml=" wine wineboot --init &&
      wineserver -w || return 1
  fi
  if wineserver -p 2>/dev/null; then
    WINESERVER_STARTED=1
  fi
  wine wineboot </dev/null >/dev/null 2>&1
}

# The persistent server would outlive the script: end it, and the session's
# programs with it, however the script ends.
stop_wineserver() {
  if [ "$WINESERVER_STARTED" -eq 1 ]; then
    wineserver -k
  fi
}
trap stop_wineserver EXIT

# One line per test program: meson's verdict and cmocka's count of cases.
print_case_counts() {
  python3 - "$1" <<'EOF'
import json, re, sys
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    test = json.loads(line)
    # cmocka prints its cases on stdout and its summary on stderr.
    out = (test.get("stdout") or "") + (test.get("stderr") or "")
    ran = re.search(r"\[=+\] (\d+) test\(s\) run", out)
    passed = re.search(r"\[  PASSED  \] (\d+) test", out)
    print("  %-14s %-5s %s of %s cases passed" % (
        test["name"].split(" / ")[-1], test["result"],
        passed.group(1) if passed else "0", ran.group(1) if ran else "?"))
EOF
}

# The suite, then a count per program. meson exits 0 when no test matches,
# which is no pass.
part_suite() {
  local log="$BUILD/meson-logs/testlog.json"
  rm -f "$log"
  meson test -C "$BUILD" --print-errorlogs
  local rc=$?
  if [ ! -s "$log" ]; then
    echo "error: meson ran no test in $BUILD" >&2
    return 1
  fi
  print_case_counts "$log"
  return "$rc"
}

# test/consumer linked against the DLL (meson's default for a subproject's
# both_libraries), with the DLL copied beside it, which is where Windows
# looks first. The tests link the static library, so this is what runs the
# shared one.
part_dll() {
  local work rc
  work=$(mktemp -d) || return 1
  mkdir -p "$work/project/subprojects" &&
    cp test/consumer/meson.build test/consumer/main.c "$work/project/" &&
    ln -s "$AX_ROOT" "$work/project/subprojects/axle" &&
    meson setup "$work/build" "$work/project" \
      --cross-file "$AX_ROOT/cross/mingw-w64.ini" -Dwerror=true >/dev/null &&
    ninja -C "$work/build" >/dev/null &&
    cp "$work"/build/subprojects/axle/*.dll "$work/build/" &&
    wine "$work/build/consumer.exe"
  rc=$?
  rm -rf "$work"
  return "$rc"
}

finish() {
  local status=$1
  ax_say "Summary"
  echo "Time per part:"
  ax_print_steps
  if [ "$status" -ne 0 ]; then
    echo "FAILED: stopped at '${AX_STEP_NAMES[-1]}'"
  else
    echo "Windows (iocp, under Wine): every part passed"
  fi
  exit "$status"
}

ax_step "install missing packages" ax_install_missing "${PACKAGES[@]}" ||
  finish 1
ax_step "1. cmocka for mingw-w64" part_cmocka || finish 1
ax_step "2. configure $BUILD" part_configure || finish 1
ax_step "3. build" part_build || finish 1
ax_step "4. Wine prefix" part_wine_prefix || finish 1
ax_step "5. suite under Wine (iocp)" part_suite || finish 1
ax_step "6. DLL: consumer under Wine" part_dll || finish 1
finish 0
