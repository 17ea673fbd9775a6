#!/bin/sh
# examples/cat-check.sh: meson's test of the cat example (examples/cat.c).
#
#   sh cat-check.sh CAT-PROGRAM SOME-FILE
#
# Copies files of several sizes with CAT-PROGRAM, to standard output and
# with -o, and compares the copies with the originals byte for byte; checks
# that a missing file is reported, skipped and fails the exit status, and
# that a pipe is read too. Exits 0 when every check passed.
set -u
cat_prog=$1
some_file=$2
chunk=65536

work=$(mktemp -d "${TMPDIR:-/tmp}/axle-cat-check.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failed=0

fail() {
  echo "FAIL: $*" >&2
  failed=1
}

# Files that end in the middle of a chunk, on a chunk boundary (the end is
# then a read of 0 bytes), and that are empty.
head -c $((3 * chunk + 123)) /dev/urandom >"$work/odd" || exit 1
head -c $((2 * chunk)) /dev/urandom >"$work/even" || exit 1
: >"$work/empty"

for f in "$some_file" "$work/odd" "$work/even" "$work/empty"; do
  "$cat_prog" "$f" >"$work/out" || fail "cat $f exited with $?"
  cmp "$f" "$work/out" || fail "cat $f: the copy differs"
done

# Several files, in order, into a file that -o creates.
cat "$work/odd" "$some_file" "$work/even" >"$work/expected"
"$cat_prog" -o "$work/copy" "$work/odd" "$some_file" "$work/even" ||
  fail "cat -o exited with $?"
cmp "$work/expected" "$work/copy" || fail "cat -o: the copy differs"

# A missing file: reported by name, skipped, and the status is not 0.
"$cat_prog" "$work/odd" "$work/missing" "$work/even" >"$work/out" \
  2>"$work/err"
status=$?
[ "$status" -ne 0 ] || fail "a missing file left the exit status 0"
grep -q "missing" "$work/err" || fail "the missing file was not named"
cat "$work/odd" "$work/even" >"$work/expected"
cmp "$work/expected" "$work/out" || fail "the files around a missing one"

# A pipe has no offsets: it is read at its current position, and the
# copy goes into a pipe too.
if [ -e /dev/stdin ]; then
  head -c $((3 * chunk + 123)) "$work/odd" |
    { "$cat_prog" /dev/stdin; echo $? >"$work/status"; } | cat >"$work/out"
  [ "$(cat "$work/status")" = 0 ] || fail "cat of a pipe failed"
  cmp "$work/odd" "$work/out" || fail "cat of a pipe: the copy differs"
fi

# No file at all: a usage message and status 2.
"$cat_prog" 2>/dev/null
[ $? -eq 2 ] || fail "no argument: the status is not 2"

[ "$failed" -eq 0 ] && echo "cat: every check passed"
exit "$failed"
