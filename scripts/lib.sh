# shellcheck shell=bash
# scripts/lib.sh: what the other scripts share. Source it; do not run it.
#
#   ax_install_missing PKG...    install the Debian packages not yet installed
#   ax_meson_setup DIR ARGS...   configure DIR, or reconfigure it if it exists
#   ax_step NAME CMD...          run CMD, print and record how long it took
#                                (exit 77 is recorded as "skipped")
#   ax_print_steps               print the recorded steps and their times
#
# Sourcing it also sets AX_ROOT to the repository root and changes to it, so
# every script works from any directory.

AX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$AX_ROOT" || exit 1

# Print a line that stands out from the build tools' output.
ax_say() {
  printf '\n==> %s\n' "$*"
}

ax_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Install those of the named Debian packages that are not installed yet.
# Nothing is fetched when all of them are present, so a second run costs only
# one dpkg-query per package. Uses sudo when not root.
ax_install_missing() {
  local missing=() pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "All required packages are installed: $*"
    return 0
  fi

  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      ax_die "not root and no sudo: install ${missing[*]} by hand"
    sudo=(sudo)
  fi
  ax_say "Installing missing packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update ||
    return 1
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# Configure a meson build directory, or reconfigure it with the same options
# when it exists already, so that reruns pick up changed meson files and
# options. A directory left by an incompatible meson version is set up anew.
ax_meson_setup() {
  local dir=$1
  shift
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$dir" "$@" ||
      meson setup --wipe "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

# Microseconds since the epoch, from bash's own clock (no subprocess).
ax_now_us() {
  local t=${EPOCHREALTIME/[.,]/}
  echo "$t"
}

# Microseconds as seconds with one decimal, e.g. "12.3 s".
ax_format_us() {
  local us=$1
  printf '%d.%d s' $((us / 1000000)) $((us % 1000000 / 100000))
}

AX_STEP_NAMES=()
AX_STEP_TIMES=()
AX_STEP_RESULTS=()

# Run a command as a named step: announce it, time it, record the result.
# Returns the command's exit status.
ax_step() {
  local name=$1
  shift
  ax_say "$name"
  local start rc
  start=$(ax_now_us)
  "$@"
  rc=$?
  local elapsed=$(($(ax_now_us) - start))
  AX_STEP_NAMES+=("$name")
  AX_STEP_TIMES+=("$elapsed")
  if [ $rc -eq 0 ]; then
    AX_STEP_RESULTS+=("ok")
  elif [ $rc -eq 77 ]; then
    AX_STEP_RESULTS+=("skipped")
  else
    AX_STEP_RESULTS+=("FAILED (exit $rc)")
  fi
  echo "<== $name: $(ax_format_us "$elapsed"), ${AX_STEP_RESULTS[-1]}"
  return $rc
}

# One line per recorded step: its time and its result.
ax_print_steps() {
  local i
  for i in "${!AX_STEP_NAMES[@]}"; do
    printf '  %-40s %9s  %s\n' "${AX_STEP_NAMES[$i]}" \
      "$(ax_format_us "${AX_STEP_TIMES[$i]}")" "${AX_STEP_RESULTS[$i]}"
  done
}
