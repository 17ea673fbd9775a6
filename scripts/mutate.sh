#!/usr/bin/env bash
# scripts/mutate.sh: mutation testing. Applies realistic one-line bugs to
# the library (src/) and the HTTP server's parser, one at a time, and
# reports which of them the test suite kills. A mutant that survives is a
# bug the tests would let through.
#
#   bash scripts/mutate.sh                  the catalogue, scripts/mutants.txt
#   bash scripts/mutate.sh --quick 10       10 mutants of it, sampled (--seed)
#   bash scripts/mutate.sh --only NAME,...  the named mutants
#   bash scripts/mutate.sh --file stream.c  the mutants of matching files
#   bash scripts/mutate.sh --random 20      20 generic mutants (below)
#   bash scripts/mutate.sh --list           print the catalogue and stop
#
# Other options: --seed N (sampling, default 1), --threshold PCT (exit 1
# when the score is under it, default 0), --asan (use an ASan+UBSan build,
# slower, which also kills what only shows as a memory error), --backends
# LIST (default epoll; a mutant of poll.c runs on poll), --timeout-factor F
# (a test program may take F times its unmutated time, at least 20 s;
# default 4), --catalogue FILE, --keep-going (do not stop at a mutant the
# catalogue cannot find in its file).
#
# How it works. The tracked files of the working tree (what `git ls-files`
# lists, as they are now, edits included) are copied to
# build-mutate/tree/, never touched in place, and built once there with
# meson (build-mutate/tree/build, or build-asan with --asan). Then, for
# each mutant: the one line is rewritten in the copy, ninja rebuilds the
# test programs that matter (one object and the links), each runs with its
# unmutated time times the factor as a limit, and the file is put back.
# The programs come from a map from source file to test programs (MAP
# below, "all" when a file is not in it). A test program that fails, or
# does not end in time, kills the mutant. A mutant that does not compile
# is reported as such and not counted. The score is killed / (killed +
# survived), leaving out those the catalogue marks equivalent (a change
# no program can observe, with the reason) when they survive.
#
# The catalogue (scripts/mutants.txt) is anchored to the code's text, not
# to line numbers, so it survives edits: each mutant names a line by a
# piece of it that occurs exactly once in the file (or, after "^", a start
# of exactly one line, indentation included), and what that piece
# becomes. --random makes generic mutants instead (a comparison flipped or
# widened, "+ 1" dropped, && and || swapped, a callback call or a flag
# update deleted) at lines sampled with the seed.
#
# The log of every run is in build-mutate/logs/NAME.log; the results in
# build-mutate/results.txt. The default catalogue runs in 15 to 20 minutes
# on two cores shared with other work. Works from any directory.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ax_install_missing meson ninja-build pkg-config libcmocka-dev gcc libc6-dev \
  python3 git || exit 1

exec python3 - "$@" <<'EOF'
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.getcwd()
WORK = os.path.join(ROOT, "build-mutate")
TREE = os.path.join(WORK, "tree")
LOGS = os.path.join(WORK, "logs")

# Source file (as the catalogue names it) -> test programs that exercise
# it. A file not in the map runs every program.
STREAM = ["stream", "stream-posix", "tcp", "stream-faults"]
MAP = {
    "src/timer.c": ["timer", "loop", "phase"],
    "src/heap.h": ["timer", "loop"],
    "src/loop.c": ["loop", "timer", "phase", "misuse", "handle"],
    "src/phase.c": ["phase", "loop", "handle"],
    "src/handle.c": ["handle", "loop", "misuse", "phase"],
    "src/req.c": ["threadpool", "fs", "misuse"],
    "src/async.c": ["async", "threadpool"],
    "src/stream.c": STREAM + ["misuse"],
    "src/listen.c": ["tcp", "tcp-posix", "stream", "stream-posix"],
    "src/tcp.c": ["tcp", "tcp-posix", "stream-posix"],
    "src/threadpool.c": ["threadpool", "fs", "dns"],
    "src/dns.c": ["dns"],
    "src/fs.c": ["fs", "fs-posix"],
    "src/signal.c": ["signal"],
    "src/unix/readiness.c": STREAM + ["tcp-posix", "backend"],
    "src/unix/sock.c": ["tcp-posix", "tcp", "stream-posix", "stream"],
    "src/unix/tcp.c": ["tcp", "tcp-posix", "stream-posix"],
    "src/unix/epoll.c": ["backend", "poll", "poll-posix", "tcp", "loop"],
    "src/unix/poll.c": ["backend", "poll", "poll-posix", "tcp", "loop"],
    "src/unix/core.c": ["loop", "backend", "poll", "tcp", "phase"],
    "src/unix/async.c": ["async", "threadpool"],
    "src/unix/async-eventfd.c": ["async", "threadpool"],
    "src/unix/signal.c": ["signal"],
    "src/unix/dns.c": ["dns"],
    "src/unix/fs.c": ["fs", "fs-posix"],
    "src/unix/thread.c": ["thread", "threadpool"],
    "examples/http-server/http-parser.c": ["http-parser"],
}
# Backends a file's mutants run on, when not the default.
FILE_BACKENDS = {"src/unix/poll.c": ["poll"]}
# What a program needs beyond AX_BACKEND (test/meson.build).
PROGRAM_ENV = {"threadpool": {"AX_THREADPOOL_SIZE": "3"}}


def say(*a):
    print(*a, flush=True)


def parse_args():
    p = argparse.ArgumentParser(prog="mutate.sh")
    p.add_argument("--catalogue",
                   default=os.path.join(ROOT, "scripts", "mutants.txt"))
    p.add_argument("--quick", type=int, default=0)
    p.add_argument("--random", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", default="")
    p.add_argument("--file", default="")
    p.add_argument("--threshold", type=float, default=0.0)
    p.add_argument("--asan", action="store_true")
    p.add_argument("--backends", default="epoll")
    p.add_argument("--timeout-factor", type=float, default=4.0)
    p.add_argument("--list", action="store_true")
    p.add_argument("--keep-going", action="store_true")
    return p.parse_args()


class Mutant:
    def __init__(self, name, path, old, new, equivalent="", tests=None):
        self.name, self.path, self.old, self.new = name, path, old, new
        self.equivalent = equivalent
        self.tests = tests
        self.lineno = None  # Fixed for random mutants.
        self.result = self.killers = ""
        self.seconds = 0.0


def parse_catalogue(path):
    """Blocks of: "NAME FILE [tests=a,b]", "- piece", "+ replacement"
    (nothing after "+": the piece is deleted), and optionally
    "= why it is equivalent". '#' starts a comment line."""
    mutants, cur = [], None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = "%s:%d" % (path, n)
            if line[0] in "-+=":
                if cur is None:
                    sys.exit("%s: %r before a mutant's name" % (where, line))
                text = line[2:] if len(line) > 1 else ""
                if line[0] == "-":
                    cur.old = text
                elif line[0] == "+":
                    cur.new = text
                else:
                    cur.equivalent = text
                continue
            words = line.split()
            tests = None
            for w in words[2:]:
                if w.startswith("tests="):
                    tests = w[len("tests="):].split(",")
            cur = Mutant(words[0], words[1], None, None, tests=tests)
            mutants.append(cur)
    names = set()
    for m in mutants:
        if m.old is None or m.new is None:
            sys.exit("%s: mutant %s needs a '-' and a '+' line" % (path, m.name))
        if m.name in names:
            sys.exit("%s: two mutants named %s" % (path, m.name))
        names.add(m.name)
    return mutants


# ---- Generic operators for --random ----

OPERATORS = [
    ("lt-to-le", re.compile(r"(?<=[\w)\]]) < (?=[\w(])"), " <= "),
    ("gt-to-ge", re.compile(r"(?<=[\w)\]]) > (?=[\w(])"), " >= "),
    ("le-to-lt", re.compile(r" <= "), " < "),
    ("ge-to-gt", re.compile(r" >= "), " > "),
    ("eq-to-ne", re.compile(r" == "), " != "),
    ("drop-plus-1", re.compile(r" \+ 1\b"), ""),
    ("and-to-or", re.compile(r" && "), " || "),
    ("or-to-and", re.compile(r" \|\| "), " && "),
]
# Whole statements deleted: a callback call, a flag set or cleared.
DELETIONS = [
    ("drop-cb-call", re.compile(r"^\s+[\w>.\-]*(cb|_cb)\((.*)\);\s*$")),
    ("drop-flag-update", re.compile(r"^\s+[\w>.\-\[\]]+ (\|=|&=) [^;]+;\s*$")),
]
RANDOM_FILES_EXCLUDE = re.compile(
    r"(io_uring|kqueue|sim|bsd|darwin|/win/|rfc2553|none|keepalive\.c)")


def random_mutants(count, seed):
    files = subprocess.run(["git", "ls-files", "src", "examples/http-server"],
                           capture_output=True, text=True, check=True).stdout
    files = [f for f in files.split()
             if (f.endswith(".c") and not RANDOM_FILES_EXCLUDE.search(f)
                 and (f.startswith("src/") or f.endswith("http-parser.c")))]
    candidates = []
    for path in sorted(files):
        with open(path) as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            code = line.strip()
            if (not code or code.startswith(("/*", "*", "//", "#"))
                    or "assert" in code):
                continue
            for name, rx, repl in OPERATORS:
                if rx.search(line):
                    candidates.append((path, i, name,
                                       rx.sub(repl, line, count=1)))
            for name, rx in DELETIONS:
                if rx.match(line):
                    indent = line[:len(line) - len(line.lstrip())]
                    candidates.append((path, i, name, indent + "(void)0;"))
    rng = random.Random(seed)
    picked = rng.sample(candidates, min(count, len(candidates)))
    out = []
    for path, i, name, new in sorted(picked):
        with open(path) as f:
            old = f.read().split("\n")[i]
        m = Mutant("%s:%s:%d" % (name, os.path.basename(path), i + 1), path,
                   old.strip(), new.strip())
        m.lineno = i
        m.line = new
        out.append(m)
    return out


# ---- The scratch tree and its build ----

def sync_tree():
    """Copy the tracked files of the working tree into TREE, each only if
    it differs, so that ninja rebuilds only what changed since last time."""
    files = subprocess.run(["git", "ls-files", "-z"], capture_output=True,
                           check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = os.path.join(ROOT, rel)
        dst = os.path.join(TREE, rel)
        if os.path.islink(src) or not os.path.isfile(src):
            continue
        with open(src, "rb") as f:
            data = f.read()
        try:
            with open(dst, "rb") as f:
                if f.read() == data:
                    continue
        except OSError:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(data)


def configure(asan):
    build = os.path.join(TREE, "build-asan" if asan else "build")
    if not os.path.exists(os.path.join(build, "build.ninja")):
        args = ["meson", "setup", build, TREE, "-Dexamples=false",
                "-Dbench=false", "-Ddocs=disabled", "-Dtests=true"]
        if asan:
            args.append("-Db_sanitize=address,undefined")
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return build


def program_target(name):
    return "test/test-" + name


def build_targets(build, programs, log):
    targets = [program_target(p) for p in programs]
    r = subprocess.run(["ninja", "-C", build] + targets, stdout=log,
                       stderr=subprocess.STDOUT)
    return r.returncode == 0


def available_programs(build):
    r = subprocess.run(["ninja", "-C", build, "-t", "targets", "all"],
                       capture_output=True, text=True, check=True)
    names = set()
    for line in r.stdout.splitlines():
        target = line.split(":")[0]
        if target.startswith("test/test-") and "." not in target:
            names.add(target[len("test/test-"):])
    return sorted(names)


def run_program(build, name, backend, limit, log):
    """Run one test program; returns (outcome, seconds), the outcome one
    of "passed", "failed" and "timed out"."""
    env = dict(os.environ)
    env.update({"CMOCKA_MESSAGE_OUTPUT": "STDOUT", "AX_BACKEND": backend,
                "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
                "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"})
    env.update(PROGRAM_ENV.get(name, {}))
    if name == "tcp-posix":
        env["AX_TEST_PYTHON"] = shutil.which("python3") or ""
    args = [os.path.join(build, program_target(name))]
    if name == "http-parser":
        corpus = os.path.join(TREE, "test", "http-corpus")
        args += sorted(os.path.join(corpus, f) for f in os.listdir(corpus)
                       if f.endswith(".txt"))
    log.write("\n--- %s on %s (limit %.0f s)\n" % (name, backend, limit))
    log.flush()
    start = time.monotonic()
    try:
        r = subprocess.run(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=limit,
                           cwd=os.path.join(build, "test"))
        outcome = "passed" if r.returncode == 0 else "failed"
        log.write("--- exit %d\n" % r.returncode)
    except subprocess.TimeoutExpired:
        outcome = "timed out"
        log.write("--- timed out\n")
    return outcome, time.monotonic() - start


# ---- Mutating ----

def mutate_text(m, text):
    """The file's text with the mutant applied, or None (with m.result
    set) when the catalogue's piece is not found exactly once."""
    lines = text.split("\n")
    if m.lineno is not None:
        lines[m.lineno] = m.line
        return "\n".join(lines)
    if m.old.startswith("^"):  # Anchored: the line starts with the rest.
        hits = [i for i, line in enumerate(lines) if line.startswith(m.old[1:])]
        old = m.old[1:]
    else:
        hits = [i for i, line in enumerate(lines) if m.old in line]
        old = m.old
    if len(hits) != 1:
        m.result = "not-found" if not hits else "ambiguous"
        return None
    i = hits[0]
    if m.new == "" and lines[i].strip() == old.strip():
        # A whole line deleted: a label goes; a statement becomes one that
        # does nothing, so that an if before it keeps its meaning.
        if old.strip().endswith(";"):
            indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
            lines[i] = indent + "(void)0;"
        else:
            del lines[i]
    else:
        lines[i] = lines[i].replace(old, m.new, 1)
    return "\n".join(lines)


def programs_for(m, available):
    wanted = m.tests or MAP.get(m.path, available)
    return [p for p in wanted if p in available]


def run_mutant(m, build, available, baseline, opts):
    path = os.path.join(TREE, m.path)
    with open(path) as f:
        original = f.read()
    mutated = mutate_text(m, original)
    if mutated is None:
        return
    programs = programs_for(m, available)
    backends = FILE_BACKENDS.get(m.path, opts.backends.split(","))
    start = time.monotonic()
    with open(os.path.join(LOGS, m.name.replace("/", "_") + ".log"), "w") as log:
        log.write("mutant %s in %s\n- %s\n+ %s\n" % (m.name, m.path, m.old,
                                                    m.new))
        try:
            with open(path, "w") as f:
                f.write(mutated)
            if not build_targets(build, programs, log):
                m.result = "build-failed"
                return
            killers = []
            for backend in backends:
                for p in programs:
                    limit = max(20.0, opts.timeout_factor *
                                baseline.get((p, backend), 20.0))
                    outcome, _ = run_program(build, p, backend, limit, log)
                    if outcome != "passed":
                        killers.append("%s@%s%s" % (
                            p, backend,
                            " (timed out)" if outcome == "timed out" else ""))
                        break  # One kill is enough: on to the next mutant.
                if killers:
                    break
            m.result = "killed" if killers else "survived"
            m.killers = ",".join(killers)
        finally:
            # Rewritten, not restored with its old time: ninja must see
            # that the file changed again.
            with open(path, "w") as f:
                f.write(original)
            m.seconds = time.monotonic() - start


def report(mutants, opts):
    width = max([len(m.name) for m in mutants] + [6])
    lines = ["%-*s  %-36s  %-12s  %5s  %s" % (width, "mutant", "file",
                                               "result", "secs", "killed by")]
    for m in mutants:
        result = m.result
        if result == "survived" and m.equivalent:
            result = "equivalent"
        lines.append("%-*s  %-36s  %-12s  %5.0f  %s" % (
            width, m.name, m.path, result, m.seconds,
            m.killers or (m.equivalent if result == "equivalent" else "")))
    killed = sum(m.result == "killed" for m in mutants)
    survived = [m for m in mutants
                if m.result == "survived" and not m.equivalent]
    equivalent = sum(m.result == "survived" and bool(m.equivalent)
                     for m in mutants)
    failed = sum(m.result == "build-failed" for m in mutants)
    lost = sum(m.result in ("not-found", "ambiguous") for m in mutants)
    counted = killed + len(survived)
    score = 100.0 * killed / counted if counted else 100.0
    lines.append("")
    lines.append("%d mutants: %d killed, %d survived, %d equivalent, "
                 "%d did not build, %d not found" % (
                     len(mutants), killed, len(survived), equivalent, failed,
                     lost))
    lines.append("score: %.1f%% of the %d non-equivalent mutants killed" %
                 (score, counted))
    if survived:
        lines.append("survivors: " + ", ".join(m.name for m in survived))
    text = "\n".join(lines)
    say("\n" + text)
    with open(os.path.join(WORK, "results.txt"), "w") as f:
        f.write(text + "\n")
    return score


def main():
    # A run stopped with SIGTERM puts the mutated file back (the finally
    # of run_mutant), as one stopped with Ctrl-C does; the next run's copy
    # would repair it anyway.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    opts = parse_args()
    if opts.random:
        mutants = random_mutants(opts.random, opts.seed)
    else:
        mutants = parse_catalogue(opts.catalogue)
    if opts.only:
        wanted = set(opts.only.split(","))
        mutants = [m for m in mutants if m.name in wanted]
    if opts.file:
        mutants = [m for m in mutants if opts.file in m.path]
    if opts.quick:
        mutants = random.Random(opts.seed).sample(
            mutants, min(opts.quick, len(mutants)))
    if opts.list:
        for m in mutants:
            say("%-32s %s\n  - %s\n  + %s%s" % (
                m.name, m.path, m.old, m.new,
                "\n  = " + m.equivalent if m.equivalent else ""))
        return 0
    if not mutants:
        sys.exit("no mutants selected")

    os.makedirs(LOGS, exist_ok=True)
    say("==> Copying the working tree to %s" % TREE)
    sync_tree()
    # Check every piece before the long part, on the copy.
    for m in mutants:
        if m.lineno is None:
            with open(os.path.join(TREE, m.path)) as f:
                if mutate_text(m, f.read()) is None:
                    say("%s: %s's piece is %s in %s" % (
                        "warning" if opts.keep_going else "error", m.name,
                        m.result, m.path))
                    if not opts.keep_going:
                        return 2
    build = configure(opts.asan)
    available = available_programs(build)
    wanted = sorted({p for m in mutants for p in programs_for(m, available)})
    backends = sorted({b for m in mutants
                       for b in FILE_BACKENDS.get(m.path,
                                                  opts.backends.split(","))})
    say("==> Building %s (%s)" % (build, " ".join(wanted)))
    with open(os.path.join(LOGS, "baseline.log"), "w") as log:
        if not build_targets(build, wanted, log):
            say("error: the unmutated tree does not build; see %s" % log.name)
            return 2
        say("==> Running the unmutated programs once, for their times")
        baseline = {}
        for backend in backends:
            for p in wanted:
                outcome, secs = run_program(build, p, backend, 300, log)
                if outcome != "passed":
                    say("error: %s on %s fails unmutated; see %s" % (
                        p, backend, log.name))
                    return 2
                baseline[(p, backend)] = secs
                say("    %-14s %-6s %5.1f s" % (p, backend, secs))

    say("==> %d mutants" % len(mutants))
    start = time.monotonic()
    for i, m in enumerate(mutants, 1):
        if m.result:  # Not found: reported as such.
            continue
        run_mutant(m, build, available, baseline, opts)
        say("[%d/%d] %-34s %-12s %4.0f s %s" % (i, len(mutants), m.name,
                                                m.result, m.seconds, m.killers))
    say("\n==> %.0f s in all" % (time.monotonic() - start))
    score = report(mutants, opts)
    return 1 if score < opts.threshold else 0


sys.exit(main())
EOF
