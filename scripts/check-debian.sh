#!/usr/bin/env bash
# scripts/check-debian.sh: the Debian packages, built and used.
#
#   1. copy     the source tree (tracked files and untracked ones .gitignore
#               does not exclude, so that uncommitted work is what gets
#               packaged; every file outside a git checkout) into a scratch
#               directory: the packaging never touches the working tree;
#   2. build    dpkg-buildpackage -us -uc -b there, with
#               DEB_BUILD_OPTIONS=nocheck and the nocheck profile (the
#               suite has run in the other parts; with it, the build takes
#               minutes rather than about one), giving libaxle0,
#               libaxle-dev and libaxle-doc; dpkg-gensymbols compares the library with
#               debian/libaxle0.symbols on the way;
#   3. lintian  on the .changes: any error or warning fails;
#   4. use      both packages unpacked with dpkg -x into a scratch root (the
#               machine is left alone), then test/consumer/main.c built
#               against that root through pkg-config and through CMake's
#               find_package(axle), and run with the root's library.
#
# Everything happens under a temporary directory, removed at the end (kept
# when AX_KEEP_DEBIAN=1, its path printed). The packages it needs are
# installed if missing. Exits non-zero at the first failure. Works from any
# directory.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ax_install_missing build-essential debhelper dpkg-dev fakeroot lintian \
  doxygen meson ninja-build pkgconf liburing-dev cmake >/dev/null

work=$(mktemp -d)
if [ "${AX_KEEP_DEBIAN:-0}" = 1 ]; then
  echo "scratch directory: $work (kept)"
else
  trap 'rm -rf "$work"' EXIT
fi

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
meson_version=$(sed -n "s/^  version: '\([0-9.]*\)',$/\1/p" meson.build)
[ "$version" = "$meson_version" ] ||
  ax_die "debian/changelog is at $version but meson.build at $meson_version: add a changelog entry (dch -v $meson_version)"
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
multiarch=$(dpkg-architecture -q DEB_HOST_MULTIARCH)
src="$work/axle-$version"

ax_say "copy the source tree to $src"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Files deleted but not yet removed from the index are skipped.
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do
      [ -f "$file" ] && [ ! -L "$file" ] && printf '%s\0' "$file"
    done | tar --null -T - -cf - | tar -xf - -C "$src"
else
  tar --exclude='./build*' --exclude='./.git' -cf - . | tar -xf - -C "$src"
fi

ax_say "dpkg-buildpackage -us -uc -b (nocheck)"
(cd "$src" &&
  DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b -Pnocheck) >"$work/build.log" 2>&1 || {
  tail -n 60 "$work/build.log"
  ax_die "dpkg-buildpackage failed (log above)"
}
# dpkg-gensymbols prints what changed against the symbols file: new public
# functions are expected while the API grows; they belong in the file at
# the next release.
grep -A 20 '^dpkg-gensymbols: warning' "$work/build.log" || true
changes="$work/axle_${version}_${arch}.changes"
for deb in "$work/libaxle0_${version}_${arch}.deb" \
  "$work/libaxle-dev_${version}_${arch}.deb" "$work/libaxle-doc_${version}_all.deb"; do
  [ -f "$deb" ] || ax_die "$deb was not built"
  echo "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"
  case $deb in
  *-doc_*)
    # The listing is read whole first: grep -q leaving early would kill
    # dpkg-deb with SIGPIPE.
    listing=$(dpkg-deb -c "$deb")
    grep -q '/html/index.html$' <<<"$listing" ||
      ax_die "libaxle-doc has no html/index.html"
    echo "  $(grep -c '\.html$' <<<"$listing") HTML pages"
    ;;
  *) dpkg-deb -c "$deb" | awk '{print "  " $6 ($7 ? " " $7 " " $8 : "")}' ;;
  esac
done

ax_say "lintian (errors and warnings fail)"
lintian --fail-on error,warning --display-info "$changes"
echo "lintian: no error, no warning"

ax_say "consumers against the packages unpacked in a scratch root"
root="$work/root"
for pkg in libaxle0 libaxle-dev; do
  dpkg -x "$work/${pkg}_${version}_${arch}.deb" "$root"
done
libdir="$root/usr/lib/$multiarch"
# PKG_CONFIG_SYSROOT_DIR puts the root before the /usr axle.pc names.
# liburing.pc, which axle.pc requires, is the machine's (liburing-dev, a
# dependency of libaxle-dev).
pc=(env PKG_CONFIG_PATH="$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
  pkg-config)
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror test/consumer/main.c \
  $("${pc[@]}" --cflags --libs axle) -o "$work/consumer-pc"
LD_LIBRARY_PATH="$libdir" "$work/consumer-pc"
# The program found the root's library, not one installed on the machine.
# (ldd's output is read whole first: grep -q leaving early could kill it
# with SIGPIPE and fail the pipe.)
loaded=$(LD_LIBRARY_PATH="$libdir" ldd "$work/consumer-pc")
grep -q "$libdir/libaxle.so.0" <<<"$loaded" ||
  ax_die "consumer-pc did not load $libdir/libaxle.so.0: $loaded"

cmake -S test/consumer -B "$work/cmake" -DCMAKE_PREFIX_PATH="$root/usr" \
  -DAXLE_VERSION="$version" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
cmake --build "$work/cmake" >/dev/null
LD_LIBRARY_PATH="$libdir" "$work/cmake/consumer"
"$work/cmake/consumer-static"
