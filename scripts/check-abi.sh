#!/usr/bin/env bash
# scripts/check-abi.sh [BUILD_DIR]: what the shared library exports.
#
#   1. exports  nm -D --defined-only on BUILD_DIR/libaxle.so (default
#               build/, the test command's plain build): every defined
#               symbol is a public "ax_" name at version AXLE_0 (never an
#               internal "ax__" one, never a name from elsewhere), and every
#               function include/axle.h declares with AX_EXTERN is there.
#               Any difference fails.
#   2. abidiff  the library's ABI (abidw) against the baseline of the last
#               release, abi/axle-<version>.abi, the newest by version.
#               Printed, never failing, until 1.0: before 1.0 a minor
#               release may change the ABI.
#
# Why a committed baseline rather than a build of the release's tag: CI's
# clones are shallow and carry no tags, so "the last tag" is not there to
# build from; building an older commit would also cost a second full build.
# abidw's XML of the released library is small, reviewable in a diff, and
# needs nothing but abigail-tools. abi/axle-0.1.abi was written by
# "scripts/check-abi.sh --write-baseline" from the library of the commit
# that added it, as no release is tagged yet; at each release, the same
# command writes abi/axle-<major.minor>.abi, committed with the tag.
#
# The abigail-tools and binutils packages are installed if missing.
# Works from any directory.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_baseline=0
if [ "${1:-}" = "--write-baseline" ]; then
  write_baseline=1
  shift
fi
build_dir=${1:-build}
lib="$build_dir/libaxle.so"
[ -f "$lib" ] || ax_die "$lib not found: build the library first (meson setup $build_dir)"

ax_install_missing abigail-tools binutils >/dev/null || exit 1

# abidw's options, the same for the baseline and for the library compared
# with it: no paths of this machine, only types the public headers reach.
abidw_args=(--no-corpus-path --no-show-locs --no-comp-dir-path
  --headers-dir include --drop-private-types)

version=$(sed -n "s/^  version: '\([0-9.]*\)',$/\1/p" meson.build)
[ -n "$version" ] || ax_die "no version found in meson.build"

if [ "$write_baseline" -eq 1 ]; then
  out="abi/axle-${version%.*}.abi"
  mkdir -p abi
  abidw "${abidw_args[@]}" "$lib" >"$out" || exit 1
  echo "wrote $out from $lib (axle $version)"
  exit 0
fi

rc=0

echo "== exported symbols of $lib"
exported=$(nm -D --defined-only "$lib" | awk '{print $3}')
# The version script's node shows as an absolute symbol named AXLE_0.
strays=$(echo "$exported" | grep -v -e '^AXLE_0$' -e '^ax_[^_][A-Za-z0-9_]*@@\?AXLE_0$')
if [ -n "$strays" ]; then
  echo "error: the library exports symbols outside the public API:" >&2
  echo "$strays" | sed 's/^/  /' >&2
  rc=1
fi
declared=$(grep -ho 'AX_EXTERN[^(]*(' include/axle.h |
  grep -o 'ax_[a-z0-9_]*($' | tr -d '(' | sort -u)
defined=$(echo "$exported" | grep '^ax_' | sed 's/@.*//' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$defined"))
if [ -n "$missing" ]; then
  echo "error: declared in include/axle.h but not exported:" >&2
  echo "$missing" | sed 's/^/  /' >&2
  rc=1
fi
echo "$(echo "$defined" | wc -l) public functions exported, $(echo "$declared" | wc -l) declared;" \
  "$(echo "$strays" | grep -c .) other symbols"

baseline=$(find abi -name 'axle-*.abi' 2>/dev/null | sort -V | tail -n 1)
if [ -z "$baseline" ]; then
  echo "== abidiff: no baseline in abi/, nothing to compare"
  exit "$rc"
fi
echo "== abidiff $baseline against $lib (axle $version; a report, not a check, until 1.0)"
current=$(mktemp)
trap 'rm -f "$current"' EXIT
if abidw "${abidw_args[@]}" "$lib" >"$current"; then
  abidiff "$baseline" "$current"
  diff_rc=$?
  # abidiff's status is a bit field: 1 is an error of its own, 2 a usage
  # error; 4 an ABI change, 8 an incompatible one.
  if [ $((diff_rc & 3)) -ne 0 ]; then
    echo "abidiff could not compare (exit $diff_rc)"
  elif [ "$diff_rc" -eq 0 ]; then
    echo "abidiff: no ABI change since $baseline"
  else
    echo "abidiff: the ABI changed since $baseline (exit $diff_rc);" \
      "$([ $((diff_rc & 8)) -ne 0 ] && echo incompatibly || echo compatibly)"
  fi
else
  echo "abidw failed on $lib: no ABI report"
fi
exit "$rc"
