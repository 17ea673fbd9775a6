#!/usr/bin/env bash
# Build test/consumer/main.c the three ways an application finds axle:
#  1. installed, through pkg-config (shared library);
#  2. installed, through CMake's find_package(axle) and the targets
#     axle::axle (shared) and axle::axle_static (test/consumer/CMakeLists.txt);
#     and a find_package() for another minor version is refused, as 0.x
#     minor releases may break the API;
#  3. as a meson subproject, through dependency('axle').
# Each build runs the program. Everything happens under a temporary folder.
# CMake (Debian's cmake) is installed if missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$root/scripts/lib.sh"
ax_install_missing cmake >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== consumer through pkg-config"
meson setup "$work/build" "$root" --prefix="$work/prefix" \
  -Dtests=false -Dexamples=false -Ddocs=disabled >/dev/null
ninja -C "$work/build" install >/dev/null
pc_dir=$(dirname "$(find "$work/prefix" -name axle.pc | head -n 1)")
lib_dir=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --variable=libdir axle)
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror "$root/test/consumer/main.c" \
  $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs axle) \
  -o "$work/consumer-pc"
LD_LIBRARY_PATH="$lib_dir" "$work/consumer-pc"

echo "== consumer through CMake's find_package(axle)"
version=$(sed -n "s/^  version: '\([0-9.]*\)',$/\1/p" "$root/meson.build")
cmake -S "$root/test/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DAXLE_VERSION="$version" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer"
"$work/cmake/consumer-static"
# Each target links the library it names.
# (readelf's output is read whole first: grep -q leaving early could kill
# it with SIGPIPE, which pipefail would count as a failure.)
needed=$(readelf -d "$work/cmake/consumer")
grep -q 'NEEDED.*libaxle\.so\.' <<<"$needed" ||
  { echo "error: axle::axle did not link libaxle.so" >&2; exit 1; }
needed=$(readelf -d "$work/cmake/consumer-static")
if grep -q 'NEEDED.*libaxle' <<<"$needed"; then
  echo "error: axle::axle_static linked libaxle.so" >&2
  exit 1
fi
# The next minor version is another API before 1.0: find_package refuses it.
IFS=. read -r major minor _ <<<"$version"
other="$major.$((minor + 1))"
if cmake -S "$root/test/consumer" -B "$work/cmake-other" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DAXLE_VERSION="$other" \
  >"$work/cmake-other.log" 2>&1; then
  echo "error: find_package(axle $other) accepted axle $version" >&2
  exit 1
fi
grep -q "axle-config.cmake, version: $version" "$work/cmake-other.log" || {
  cat "$work/cmake-other.log" >&2
  echo "error: find_package(axle $other) failed for another reason" >&2
  exit 1
}
echo "consumer: find_package(axle $other) refuses axle $version, as it should"

echo "== consumer as a meson subproject"
mkdir -p "$work/project/subprojects"
cp "$root/test/consumer/meson.build" "$root/test/consumer/main.c" \
  "$work/project/"
ln -s "$root" "$work/project/subprojects/axle"
meson setup "$work/project/build" "$work/project" >/dev/null
ninja -C "$work/project/build" >/dev/null
"$work/project/build/consumer"
