#!/usr/bin/env bash
# Build cmocka for another target from Debian's own cmocka source package,
# for the cross builds' test suites (Windows, macOS). Nothing third-party is
# committed: the source is fetched with `apt-get source` into build-deps/.
#
#   bash scripts/cross-cmocka.sh CMAKE_TOOLCHAIN_FILE PREFIX
#
# installs cmocka.h, the libraries and a cmocka.pc under PREFIX. Does
# nothing when PREFIX already holds a build from the same toolchain file.
# deb-src entries are derived from the machine's own apt sources (deb822
# .sources files and one-line sources.list entries), never written from a
# host name of ours.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

toolchain=$(realpath "$1")
prefix=$(realpath -m "$2")
stamp="$prefix/.toolchain"
if [ -f "$stamp" ] && cmp -s "$stamp" "$toolchain"; then
  exit 0
fi

ax_install_missing cmake dpkg-dev xz-utils

src_root="$AX_ROOT/build-deps/src"
# Add deb-src twins of the machine's deb entries, once, if apt has none.
ensure_deb_src() {
  local list=/etc/apt/sources.list.d/axle-deb-src.sources
  if apt-get source --print-uris cmocka >/dev/null 2>&1; then
    return 0
  fi
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  python3 - <<'PY' | "${sudo[@]}" tee "$list" >/dev/null
import glob, re
stanzas = []
for path in glob.glob("/etc/apt/sources.list.d/*.sources"):
    if path.endswith("axle-deb-src.sources"):
        continue
    for stanza in open(path).read().split("\n\n"):
        if re.search(r"^Types:.*\bdeb\b", stanza, re.M):
            stanzas.append(re.sub(r"^Types:.*$", "Types: deb-src",
                                  stanza.strip(), flags=re.M))
for path in ["/etc/apt/sources.list"] + glob.glob(
        "/etc/apt/sources.list.d/*.list"):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        m = re.match(r"^deb\s+(\[[^]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$", line)
        if m:
            opts = m.group(1) or ""
            stanzas.append("Types: deb-src\nURIs: %s\nSuites: %s\n"
                           "Components: %s%s" % (
                               m.group(2), m.group(3), m.group(4),
                               "\n# options: " + opts if opts else ""))
print("\n\n".join(stanzas))
PY
  "${sudo[@]}" apt-get update -q
}

if ! compgen -G "$src_root/cmocka-*/src/cmocka.c" >/dev/null; then
  ensure_deb_src
  mkdir -p "$src_root"
  (cd "$src_root" && apt-get source -q cmocka)
fi
src=$(compgen -G "$src_root/cmocka-*/src/cmocka.c" | head -n 1)
src=${src%/src/cmocka.c}

build="$prefix.build"
rm -rf "$build" "$prefix"
cmake -S "$src" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_BUILD_TYPE=Release \
  -DWITH_STATIC_LIB=ON -DUNIT_TESTING=OFF -DWITH_EXAMPLES=OFF \
  -DPICKY_DEVELOPER=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
cmake --install "$build" >/dev/null
cp "$toolchain" "$stamp"
echo "cmocka for $(basename "$toolchain" .cmake) in $prefix"
