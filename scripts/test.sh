#!/usr/bin/env bash
# scripts/test.sh: everything CI checks, in one command (.ci/run calls it).
#
# Installs the Debian packages that are missing, then runs these parts in
# order, timing each and stopping at the first that fails:
#
#   a. plain build in build/ (warnings as errors), the whole suite, which
#      runs every test once per backend (epoll, poll);
#   b. ASan+UBSan build in build-asan/, the whole suite;
#   c. TSan build in build-tsan/, the whole suite: every program, not
#      only those that start threads, since any of them may touch the
#      pool, a signal handler's state or another loop's wakeup;
#   d. the documentation: the API reference with Doxygen, every warning
#      an error; then every C block of docs/*.md and README.md compiled
#      with -std=c11 -Wall -Wextra -Wpedantic -Werror, whole programs
#      linked against part a's library and run (scripts/check-docs.sh);
#   e. the code format: clang-format over include/ src/ test/ examples/
#      bench/;
#   f. the three ways an application finds axle: installed with pkg-config
#      or CMake's find_package(axle), and as a meson subproject
#      (scripts/check-consumers.sh);
#   g. clang-tidy over the library's sources with .clang-tidy's checks
#      (bug patterns, the analyzer, functions of at most 70 lines);
#   h. Windows: a mingw-w64 cross build whose suite runs under Wine on the
#      IOCP backend (scripts/test-windows.sh);
#   i. macOS: the library and tests compiled and linked for x86_64 and
#      aarch64 with zig cc (scripts/check-macos.sh); Zig comes from npm,
#      each attempt bounded in time, and when npm cannot deliver it the
#      part is listed as skipped with that reason;
#   j. fuzzing: the HTTP server example's request parser under libFuzzer
#      with ASan+UBSan, built with clang in build-fuzz/, seeded from
#      test/http-corpus/ (through part a's test-http-parser), for
#      AX_FUZZ_SECONDS seconds (default 40). A crash fails it; its input
#      is kept in build-fuzz/crashes/. Then the HTTP server's connection
#      handling over the simulation backend (scripts/fuzz.sh server), for
#      AX_FUZZ_SERVER_SECONDS (default 30), its crashes kept in
#      build-fuzz/crashes-server/.
#   k. kqueue on Linux through libkqueue (see part_kqueue below);
#   l. the shared library's exports: nm -D finds ax_ names alone, every
#      one include/axle.h declares; then abidiff against the last release's
#      ABI (abi/), printed, not failing, before 1.0 (scripts/check-abi.sh);
#   m. the Debian packages built from a scratch copy with
#      dpkg-buildpackage (nocheck), checked by lintian, unpacked in a
#      scratch root and used by a consumer through pkg-config and CMake
#      (scripts/check-debian.sh).
#
# Build directories are reused and reconfigured, so a rerun only rebuilds
# what changed. The summary lists every skip by name with its reason: a
# whole test program meson reports skipped, and each cmocka case skipped
# inside a program that passed (test_skip() in test/support prints the
# reason). The last line is "N passed, N failed", counting meson's test
# results of the suite runs, and the fuzzing run as one test. Exits 0 only
# if every part passed. Works from any directory.

# The part functions are called through ax_step, which shellcheck cannot see.
# shellcheck disable=SC2317
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# libuv1-dev lets the plain build compile the benchmarks (warnings as errors
# included); they are run by scripts/bench.sh, not here. liburing-dev
# builds the io_uring backend (without it, a stub that refuses to start).
# clang and libclang-rt-14-dev (its libFuzzer and sanitizer runtimes) build
# the fuzz target. curl, apache2-utils (ab) and nghttp2-client (h2load) are
# the clients of the HTTP server example's test; wrk is the cluster
# example's load (examples/cluster/cluster-check.sh).
PACKAGES=(meson ninja-build pkg-config libcmocka-dev doxygen gcc libc6-dev
  clang-format clang-tidy libuv1-dev clang libclang-rt-14-dev curl
  apache2-utils nghttp2-client liburing-dev wrk)

# Sanitizer settings for the instrumented test programs. Meson keeps these
# rather than its own defaults because they are set. abort_on_error and
# halt_on_error make the first report fail the test, whatever its exit code
# would have been.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1

# Sanitized programs run a few times slower; give their tests more time.
SANITIZER_TIMEOUT_MULTIPLIER=3

TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0
RUN_SUMMARIES=()

# Count the results in a meson testlog.json: prints "passed failed skipped".
# A missing log (the build failed before any test ran) counts nothing.
count_results() {
  python3 - "$1" <<'EOF'
import json, sys
passed = failed = skipped = 0
try:
    with open(sys.argv[1]) as log:
        for line in log:
            if not line.strip():
                continue
            result = json.loads(line).get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, ...
                failed += 1
except FileNotFoundError:
    pass
print(passed, failed, skipped)
EOF
}

# The skips of every run, one per line, tab-separated: the run's label,
# the test's name (program@backend), the cmocka case (or "-" for a whole
# program meson reports skipped), the reason. finish() groups them.
SKIP_LOG=$(mktemp "${TMPDIR:-/tmp}/axle-test-skips.XXXXXX")
trap 'rm -f "$SKIP_LOG"' EXIT

# Add the skips in a meson testlog.json to SKIP_LOG: a program meson
# reports skipped, with its last line of output as the reason; a cmocka
# case skipped inside a program, with the reason test_skip() printed just
# before it (test/support/test.c).
collect_skips() {
  python3 - "$1" "$2" >>"$SKIP_LOG" <<'EOF'
import json, re, sys
log, label = sys.argv[1], sys.argv[2]
try:
    lines = open(log).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    if not line.strip():
        continue
    test = json.loads(line)
    name = test.get("name", "?").split(" / ")[-1]
    out = (test.get("stdout") or "").splitlines()
    if test.get("result") == "SKIP":
        last = [l.strip() for l in out if l.strip()]
        print("\t".join([label, name, "-",
                         last[-1] if last else "no reason printed"]))
        continue
    reason, seen = None, set()
    for l in out:
        m = re.match(r"\s*skipped: (.*)$", l)
        if m:
            reason = m.group(1).strip()
            continue
        m = re.match(r"\[\s*SKIPPED\s*\]\s+(\w+)\s*$", l)
        if m and m.group(1) not in seen:
            seen.add(m.group(1))
            print("\t".join([label, name, m.group(1),
                             reason or "no reason printed"]))
            reason = None
EOF
}

# Print the skips, grouped: one line per program, case and reason, with
# the runs and backends it was skipped on.
print_skips() {
  python3 - "$SKIP_LOG" <<'EOF'
import sys
groups, total = {}, 0
for line in open(sys.argv[1]):
    label, name, case, reason = line.rstrip("\n").split("\t", 3)
    program, _, backend = name.partition("@")
    runs = groups.setdefault((program, case, reason), {})
    runs.setdefault(label, []).append(backend or "-")
    total += 1
if not groups:
    print("Skipped: nothing")
    sys.exit(0)
print("Skipped: %d (a program and case, then the runs and backends, then why):"
      % total)
for (program, case, reason), runs in sorted(groups.items()):
    where = "; ".join("%s %s" % (label, " ".join(backends))
                      for label, backends in runs.items())
    what = program if case == "-" else "%s %s" % (program, case)
    print("  %s [%s]: %s" % (what, where, reason))
EOF
}

# Run meson test in a build directory and add its results to the totals.
# The old log is removed first, so that a run that stops early is not
# counted with a previous run's results.
run_suite() {
  local dir=$1
  shift
  local log="$dir/meson-logs/testlog.json"
  rm -f "$log"
  meson test -C "$dir" --print-errorlogs "$@"
  local rc=$?
  local passed failed skipped
  read -r passed failed skipped < <(count_results "$log")
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed))
  TOTAL_SKIPPED=$((TOTAL_SKIPPED + skipped))
  RUN_SUMMARIES+=("$(printf '%-12s %d passed, %d failed, %d skipped' \
    "$dir:" "$passed" "$failed" "$skipped")")
  collect_skips "$log" "$dir"
  if [ "$rc" -eq 0 ] && [ "$failed" -ne 0 ]; then
    rc=1
  fi
  # meson exits 0 when no test matches (a misspelt --suite): that is no pass.
  if [ "$rc" -eq 0 ] && [ $((passed + failed + skipped)) -eq 0 ]; then
    echo "error: meson ran no test in $dir ($*)" >&2
    rc=1
  fi
  return "$rc"
}

part_plain() {
  ax_meson_setup build -Dwerror=true &&
    meson compile -C build &&
    run_suite build
}

part_asan() {
  ax_meson_setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dwerror=true &&
    meson compile -C build-asan &&
    run_suite build-asan --timeout-multiplier "$SANITIZER_TIMEOUT_MULTIPLIER"
}

part_tsan() {
  ax_meson_setup build-tsan -Db_sanitize=thread -Db_lundef=false &&
    meson compile -C build-tsan &&
    run_suite build-tsan --timeout-multiplier "$SANITIZER_TIMEOUT_MULTIPLIER"
}

part_docs() {
  ninja -C build docs && bash scripts/check-docs.sh
}

# The C files under format control: tracked ones and untracked ones that
# .gitignore does not exclude, so a new file is checked before its commit.
# Outside a git checkout (an unpacked archive), every file is.
format_files() {
  local dirs=(include src test examples bench)
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard -- "${dirs[@]}"
  else
    find "${dirs[@]}" -type f 2>/dev/null
  fi | grep -E '\.[ch]$' | sort -u
}

part_format() {
  local files=() file
  while IFS= read -r file; do
    # A file deleted but not yet removed from the index is skipped.
    [ -f "$file" ] && files+=("$file")
  done < <(format_files)
  if [ ${#files[@]} -eq 0 ]; then
    echo "no C files found under include/ src/ test/ examples/ bench/" >&2
    return 1
  fi
  echo "clang-format --dry-run --Werror on ${#files[@]} files"
  clang-format --dry-run --Werror "${files[@]}" && return 0
  local unformatted=()
  for file in "${files[@]}"; do
    clang-format --dry-run --Werror "$file" >/dev/null 2>&1 ||
      unformatted+=("$file")
  done
  echo "${#unformatted[@]} of ${#files[@]} files need formatting; fix them with:" >&2
  echo "  clang-format -i ${unformatted[*]}" >&2
  return 1
}

# The Windows run, its results counted with the others.
part_windows() {
  bash scripts/test-windows.sh
  local rc=$? passed failed skipped
  read -r passed failed skipped < <(count_results build-win/meson-logs/testlog.json)
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed))
  TOTAL_SKIPPED=$((TOTAL_SKIPPED + skipped))
  RUN_SUMMARIES+=("$(printf '%-12s %d passed, %d failed, %d skipped' \
    "build-win:" "$passed" "$failed" "$skipped")")
  collect_skips build-win/meson-logs/testlog.json build-win
  if [ "$rc" -eq 0 ] && [ $((passed + failed)) -eq 0 ]; then
    echo "error: no test ran under Wine" >&2
    rc=1
  fi
  return "$rc"
}

# The library's own C files the plain build compiles (so the compile
# database has their flags), run through clang-tidy two at a time.
part_tidy() {
  python3 - build/compile_commands.json <<'PY' |
import json, os, sys
seen = set()
for entry in json.load(open(sys.argv[1])):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    rel = os.path.relpath(path)
    if rel.startswith("src" + os.sep) and rel not in seen:
        seen.add(rel)
        print(rel)
PY
    xargs -P 2 -n 4 clang-tidy -p build --quiet 2>&1 |
    grep -v '^[0-9]* warnings\? generated\.$'
  return "${PIPESTATUS[1]}"
}

FUZZ_DIR=build-fuzz
FUZZ_SECONDS=${AX_FUZZ_SECONDS:-40}

# Build the parser's fuzz target and write the corpus's inputs as seeds.
fuzz_build() {
  rm -rf "$FUZZ_DIR/seeds" "$FUZZ_DIR/crashes" &&
    mkdir -p "$FUZZ_DIR/seeds" "$FUZZ_DIR/corpus" "$FUZZ_DIR/crashes" &&
    clang -std=c11 -g -O1 -fno-omit-frame-pointer \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -Wall -Wextra -Werror -Iexamples/http-server \
      examples/http-server/http-parser.c test/fuzz/fuzz_http_parser.c \
      -o "$FUZZ_DIR/fuzz-http-parser" &&
    build/test/test-http-parser --write-seeds "$FUZZ_DIR/seeds" \
      test/http-corpus/*.txt
}

# Fuzz for FUZZ_SECONDS, then print executions and crashes and count the
# run as one test. New inputs that reach new code go to build-fuzz/corpus,
# so a rerun on the same machine starts from where the last one stopped.
part_fuzz() {
  local log="$FUZZ_DIR/fuzz.log" rc executions speed coverage crashes start
  local elapsed
  fuzz_build || return 1
  start=$(ax_now_us)
  "$FUZZ_DIR/fuzz-http-parser" -max_total_time="$FUZZ_SECONDS" \
    -max_len=9000 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict=test/fuzz/http.dict -artifact_prefix="$FUZZ_DIR/crashes/" \
    "$FUZZ_DIR/corpus" "$FUZZ_DIR/seeds" >"$log" 2>&1
  rc=$?
  elapsed=$(ax_format_us $(($(ax_now_us) - start)))
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  crashes=$(find "$FUZZ_DIR/crashes" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    tail -n 40 "$log"
    echo "error: the fuzzer failed (exit $rc); inputs in $FUZZ_DIR/crashes/" >&2
    [ "$rc" -ne 0 ] || rc=1
  fi
  RUN_SUMMARIES+=("$(printf '%-12s %s executions in %s (%s/s, %s), %d crashes' \
    "$FUZZ_DIR:" "${executions:-?}" "$elapsed" "${speed:-?}" \
    "${coverage:-cov: ?}" "$crashes")")
  echo "${RUN_SUMMARIES[-1]}"
  if [ "$rc" -eq 0 ]; then
    TOTAL_PASSED=$((TOTAL_PASSED + 1))
  else
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
  fi
  return "$rc"
}

# The HTTP server's connection handling over the simulation backend
# (test/fuzz/fuzz_http_server.c), through scripts/fuzz.sh, which builds an
# instrumented axle in build-fuzz/axle/ and the target; for
# AX_FUZZ_SERVER_SECONDS (default 30). Its last line (executions,
# coverage, crashes) goes in the summary; a crash fails it.
part_fuzz_server() {
  local out rc
  out=$(bash scripts/fuzz.sh "${AX_FUZZ_SERVER_SECONDS:-30}" server 2>&1)
  rc=$?
  echo "$out" | tail -n 40
  RUN_SUMMARIES+=("$(printf '%-12s %s' "build-fuzz:" "$(echo "$out" | tail -n 1)")")
  if [ "$rc" -eq 0 ]; then
    TOTAL_PASSED=$((TOTAL_PASSED + 1))
  else
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
  fi
  return "$rc"
}

# k. kqueue on Linux: libkqueue, the kqueue API in user space, built from
# the vendor directory beside the project by scripts/build-libkqueue.sh
# into build-deps/; then build-kqueue/ with -Dkqueue_linux=enabled, and the
# suite on the kqueue backend alone (the meson suite "kqueue"; what runs
# once rather than per backend ran in part a). Without the tarball it
# prints why, counts nothing and passes.
part_kqueue() {
  local prefix
  prefix=$(bash scripts/build-libkqueue.sh) || return 1
  case $prefix in
  skipped:*)
    echo "$prefix"
    RUN_SUMMARIES+=("$(printf '%-12s %s' "build-kqueue:" "$prefix")")
    return 0
    ;;
  esac
  # pkg_config_path rather than the environment: meson keeps it for the
  # reconfigurations ninja starts by itself.
  ax_meson_setup build-kqueue -Dkqueue_linux=enabled -Dtest_backends=kqueue \
    -Dpkg_config_path="$prefix/lib/pkgconfig" -Dbench=false -Ddocs=disabled \
    -Dwerror=true &&
    meson compile -C build-kqueue &&
    run_suite build-kqueue --suite kqueue
}

# i. scripts/check-macos.sh; when it exits 77, Zig could not be fetched
# from npm within zig.sh's bounds: nothing was compiled, which the summary
# lists among the skips, and the run goes on.
part_macos() {
  bash scripts/check-macos.sh
  local rc=$?
  if [ "$rc" -eq 77 ]; then
    printf 'macos\tcheck-macos\t-\t%s\n' \
      "Zig could not be fetched from npm; nothing was compiled for macOS" \
      >>"$SKIP_LOG"
    RUN_SUMMARIES+=("$(printf '%-12s %s' "build-macos:" "skipped: Zig not fetched")")
    return 0
  fi
  return "$rc"
}

# Print the times and the results, then exit with the given status.
finish() {
  local status=$1
  ax_say "Summary"
  echo "Time per part:"
  ax_print_steps
  if [ ${#RUN_SUMMARIES[@]} -gt 0 ]; then
    echo "Tests per run:"
    printf '  %s\n' "${RUN_SUMMARIES[@]}"
  fi
  # Every skip by name and reason: the runs' "N skipped" above count
  # whole programs only, and a cmocka case skipped inside a program that
  # passed would otherwise go unseen.
  print_skips
  if [ "$status" -ne 0 ]; then
    echo "FAILED: stopped at '${AX_STEP_NAMES[-1]}'"
  fi
  echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
  exit "$status"
}

ax_step "install missing packages" ax_install_missing "${PACKAGES[@]}" ||
  finish 1
ax_step "a. plain build and suite" part_plain || finish 1
ax_step "b. ASan+UBSan build and suite" part_asan || finish 1
ax_step "c. TSan build and suite" part_tsan || finish 1
ax_step "d. docs (Doxygen, the guides' C blocks)" part_docs || finish 1
ax_step "e. format (clang-format)" part_format || finish 1
ax_step "f. consumers (pkg-config, CMake, subproject)" bash scripts/check-consumers.sh ||
  finish 1
ax_step "g. clang-tidy" part_tidy || finish 1
ax_step "h. Windows: cross build, suite under Wine" part_windows || finish 1
ax_step "i. macOS: compile and link with zig cc" part_macos || finish 1
ax_step "j. fuzz the HTTP request parser" part_fuzz || finish 1
ax_step "j. fuzz the HTTP server over the sim backend" part_fuzz_server ||
  finish 1
ax_step "k. kqueue on Linux (libkqueue), suite" part_kqueue || finish 1
ax_step "l. exported symbols (nm), ABI report (abidiff)" \
  bash scripts/check-abi.sh build || finish 1
ax_step "m. Debian packages: build, lintian, consumers" \
  bash scripts/check-debian.sh || finish 1
finish 0
