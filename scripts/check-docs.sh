#!/usr/bin/env bash
# scripts/check-docs.sh: compile every C block of the guides (docs/*.md)
# and of README.md, so that what a reader copies compiles.
#
# Every ```c block is one of two kinds:
#
# - a whole program (it defines main()): compiled with
#   `gcc -std=c11 -Wall -Wextra -Wpedantic -Werror` against include/,
#   linked against the plain build's shared library (build/, which part a
#   of scripts/test.sh builds) and run, which must exit 0 within 10 s;
#
# - a fragment, marked by an HTML comment on the line before its fence
#   (blank lines between are allowed; Markdown and Doxygen show nothing):
#
#       <!-- fragment: NAME -->
#
#   docs/snippets/NAME.c is its wrapper: a C file that supplies what the
#   fragment assumes (headers, the application's own functions and types)
#   and places it with `#include AX_SNIPPET`, at file scope or inside a
#   function body. The wrapper is compiled with the same flags (without
#   linking). Several fragments may share a wrapper. A fragment quoted
#   from an example says so, and each of its paragraphs (code between
#   blank lines) must then appear word for word in that file, so that the
#   page and the example cannot drift apart:
#
#       <!-- fragment: NAME, from examples/tcp-echo.c -->
#
# A block that is neither fails the check, and so does a wrapper that no
# block uses. Errors point at the Markdown file and line (a #line
# directive). The flags are fixed; CC may name another compiler that takes
# them. Works from any directory.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CC=${CC:-gcc}
LIB_DIR=${AX_DOCS_LIB_DIR:-build}
[ -f "$LIB_DIR/libaxle.so" ] ||
  ax_die "no $LIB_DIR/libaxle.so: build the library first (meson setup build && meson compile -C build)"

work=$(mktemp -d "${TMPDIR:-/tmp}/axle-check-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 - "$CC" "$LIB_DIR" "$work" docs/*.md README.md <<'PY'
import glob, os, re, subprocess, sys

cc, lib_dir, work, *pages = sys.argv[1:]
FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
         "-Iinclude"]
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
MARK = re.compile(r"^\s*<!--\s*fragment:\s*([A-Za-z0-9_-]+)"
                  r"(?:\s*,\s*from\s+(\S+))?\s*-->\s*$")
MAIN = re.compile(r"^\s*int\s+main\s*\(", re.M)


def blocks(path):
    """Yield (line of the first code line, info string, code, marker)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, info = m.group(1), m.group(2)
        start = i + 1
        j = start
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        code = [l[len(indent):] if l.startswith(indent) else l.lstrip()
                for l in lines[start:j]]
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mark = MARK.match(lines[k]) if k >= 0 else None
        yield start + 1, info, "\n".join(code) + "\n", (
            mark.groups() if mark else None)
        i = j + 1


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


failed = 0
counts = {"programs": 0, "fragments": 0}
used = set()
for page in pages:
    for n, (line, info, code, mark) in enumerate(blocks(page)):
        if info != "c":
            continue
        where = "%s:%d" % (page, line)
        src = os.path.join(work, "%s-%d.c" % (
            page.replace("/", "_").replace(".", "_"), n))
        with open(src, "w") as out:
            out.write('#line %d "%s"\n%s' % (line, page, code))
        if MAIN.search(code):
            counts["programs"] += 1
            exe = src[:-2]
            r = run([cc] + FLAGS + [src, "-o", exe, "-L" + lib_dir, "-laxle",
                    "-Wl,-rpath," + os.path.abspath(lib_dir)])
            if r.returncode == 0:
                try:
                    r = run([exe], timeout=10)
                    if r.returncode != 0:
                        r.stderr += "\nexit status %d" % r.returncode
                except subprocess.TimeoutExpired:
                    r = subprocess.CompletedProcess(exe, 1, "", "timed out")
        elif mark is not None:
            counts["fragments"] += 1
            mark, source = mark
            used.add(mark)
            if source is not None:
                try:
                    text = open(source, encoding="utf-8").read()
                except OSError as e:
                    text = ""
                    print("%s: %s" % (where, e), file=sys.stderr)
                for para in code.strip("\n").split("\n\n"):
                    if para.strip() and para not in text:
                        print("%s: not word for word in %s:\n%s" %
                              (where, source, para), file=sys.stderr)
                        failed += 1
                        break
            wrapper = os.path.join("docs", "snippets", mark + ".c")
            if not os.path.exists(wrapper):
                print("%s: fragment names %s, which does not exist" %
                      (where, wrapper), file=sys.stderr)
                failed += 1
                continue
            r = run([cc] + FLAGS + ['-DAX_SNIPPET="%s"' % src, "-c", wrapper,
                    "-o", src + ".o"])
        else:
            print("%s: a C block that is neither a program (no main()) nor"
                  " marked <!-- fragment: NAME --> (see scripts/check-docs.sh)"
                  % where, file=sys.stderr)
            failed += 1
            continue
        if r.returncode != 0:
            print("%s: FAILED\n%s%s" % (where, r.stdout, r.stderr),
                  file=sys.stderr)
            failed += 1
        else:
            print("%s: ok" % where)

for wrapper in sorted(glob.glob("docs/snippets/*.c")):
    name = os.path.basename(wrapper)[:-2]
    if name not in used:
        print("%s: no fragment uses this wrapper" % wrapper, file=sys.stderr)
        failed += 1

print("%d programs and %d fragments checked, %d failed" %
      (counts["programs"], counts["fragments"], failed))
sys.exit(1 if failed else 0)
PY
