#!/usr/bin/env bash
# Build test/consumer/main.c the two ways an application finds axle:
#  1. installed, through pkg-config (shared library);
#  2. as a meson subproject, through dependency('axle').
# Each build runs the program. Everything happens under a temporary folder.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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

echo "== consumer as a meson subproject"
mkdir -p "$work/project/subprojects"
cp "$root/test/consumer/meson.build" "$root/test/consumer/main.c" \
  "$work/project/"
ln -s "$root" "$work/project/subprojects/axle"
meson setup "$work/project/build" "$work/project" >/dev/null
ninja -C "$work/project/build" >/dev/null
"$work/project/build/consumer"
