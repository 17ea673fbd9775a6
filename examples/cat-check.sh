#!/bin/sh
# examples/cat-check.sh: meson's test of the cat example (examples/cat.c).
#
#   sh cat-check.sh CAT-PROGRAM SOME-FILE
#
# Copies files of several sizes with CAT-PROGRAM, to standard output and
# with -o, and compares the copies with the originals byte for byte; checks
# that a missing file is reported, skipped and fails the exit status, and
# that a pipe is read too ("-", standard input). Exits 0 when every check
# passed. CAT_WRAPPER, when set, names a program that runs CAT-PROGRAM
# (wine, for a Windows build).
set -u
cat_prog=$1
some_file=$2
wrapper=${CAT_WRAPPER:-}
chunk=65536

work=$(mktemp -d "${TMPDIR:-/tmp}/axle-cat-check.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failed=0

fail() {
  echo "FAIL: $*" >&2
  failed=1
}

run_cat() {
  if [ -n "$wrapper" ]; then
    "$wrapper" "$cat_prog" "$@"
  else
    "$cat_prog" "$@"
  fi
}

# Files that end in the middle of a chunk, on a chunk boundary (the end is
# then a read of 0 bytes), and that are empty.
head -c $((3 * chunk + 123)) /dev/urandom >"$work/odd" || exit 1
head -c $((2 * chunk)) /dev/urandom >"$work/even" || exit 1
: >"$work/empty"

for f in "$some_file" "$work/odd" "$work/even" "$work/empty"; do
  run_cat "$f" >"$work/out" || fail "cat $f exited with $?"
  cmp "$f" "$work/out" || fail "cat $f: the copy differs"
done

# Several files, in order, into a file that -o creates.
cat "$work/odd" "$some_file" "$work/even" >"$work/expected"
run_cat -o "$work/copy" "$work/odd" "$some_file" "$work/even" ||
  fail "cat -o exited with $?"
cmp "$work/expected" "$work/copy" || fail "cat -o: the copy differs"

# A missing file: reported by name, skipped, and the status is not 0.
run_cat "$work/odd" "$work/missing" "$work/even" >"$work/out" \
  2>"$work/err"
status=$?
[ "$status" -ne 0 ] || fail "a missing file left the exit status 0"
grep -q "missing" "$work/err" || fail "the missing file was not named"
cat "$work/odd" "$work/even" >"$work/expected"
cmp "$work/expected" "$work/out" || fail "the files around a missing one"

# A pipe has no offsets: it is read at its current position, and the
# copy goes into a pipe too.
head -c $((3 * chunk + 123)) "$work/odd" |
  { run_cat - "$work/even"; echo $? >"$work/status"; } | cat >"$work/out"
[ "$(cat "$work/status")" = 0 ] || fail "cat of a pipe failed"
cat "$work/odd" "$work/even" >"$work/expected"
cmp "$work/expected" "$work/out" || fail "cat of a pipe: the copy differs"

# No file at all: a usage message and status 2.
run_cat 2>/dev/null
[ $? -eq 2 ] || fail "no argument: the status is not 2"

[ "$failed" -eq 0 ] && echo "cat: every check passed"
exit "$failed"
