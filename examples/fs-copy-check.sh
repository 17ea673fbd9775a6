#!/bin/sh
# examples/fs-copy-check.sh: meson's test of examples/fs-copy.c.
#
#   sh fs-copy-check.sh FS-COPY-PROGRAM SOME-FILE
#
# Copies SOME-FILE, a file of several chunks that ends mid-chunk, and an
# empty file, and compares each copy with its original byte for byte;
# checks that a copy over an existing longer file truncates it, and that a
# missing source and an impossible destination fail with a message and a
# non-zero status. EXAMPLE_WRAPPER, when set, names a program that runs
# FS-COPY-PROGRAM (wine, for a Windows build). Exits 0 when every check
# passed.
set -u
prog=$1
some_file=$2
wrapper=${EXAMPLE_WRAPPER:-}

work=$(mktemp -d "${TMPDIR:-/tmp}/axle-fs-copy-check.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failed=0

fail() {
  echo "FAIL: $*" >&2
  failed=1
}

run_copy() {
  if [ -n "$wrapper" ]; then
    "$wrapper" "$prog" "$@"
  else
    "$prog" "$@"
  fi
}

head -c $((3 * 65536 + 123)) /dev/urandom >"$work/odd" || exit 1
: >"$work/empty"

for f in "$some_file" "$work/odd" "$work/empty"; do
  rm -f "$work/copy"
  run_copy "$f" "$work/copy" || fail "fs-copy $f exited with $?"
  cmp "$f" "$work/copy" || fail "fs-copy $f: the copy differs"
done

# Over an existing, longer file: truncated first.
run_copy "$work/empty" "$work/copy" || fail "fs-copy over a file exited with $?"
cmp "$work/empty" "$work/copy" || fail "fs-copy over a file: not truncated"

if run_copy "$work/missing" "$work/copy2" 2>"$work/err"; then
  fail "fs-copy of a missing file exited 0"
fi
grep -q 'fs-copy: ' "$work/err" || fail "fs-copy of a missing file said nothing"

if run_copy "$work/odd" "$work/no-such-dir/copy" 2>"$work/err"; then
  fail "fs-copy into a missing directory exited 0"
fi
grep -q 'fs-copy: ' "$work/err" || fail "fs-copy into a missing directory said nothing"

[ "$failed" -eq 0 ] && echo "fs-copy: every check passed"
exit "$failed"
