#!/usr/bin/env bash
# Run the test programs over the simulation backend (AX_BACKEND=sim,
# docs/reliability.md) for many seeds, outside CI: the meson suite "sim"
# runs seeds 1..8; this runs as many as asked.
#
#   bash scripts/sim.sh [seeds] [first]   seeds first..first+seeds-1
#                                         (default 1000 from 1)
#
# Builds build-sim-asan/ (ASan+UBSan, so that a use after free or a leak
# fails a seed as surely as an assertion), then runs each program of
# SIM_PROGRAMS once per seed, two at a time, each with a timeout. The fault
# kinds per program are the meson suite's (test/meson.build). A failing
# seed prints the command that replays it exactly, and its log stays in
# build-sim-asan/sim-logs/. Exits 0 only if every run passed.
#
# AX_SIM_ENOMEM=1 adds "enomem" to every program's faults: axle's own
# allocations fail at the same rate (docs/reliability.md). The ordinary
# tests then fail their own assertions where a call returns AX_ENOMEM, as
# they should; such a run counts as tolerated. A run fails only on what
# must never happen: a crash or a timeout, an axle assertion, a sanitizer's
# report (a leak only when every test passed), a test's wait for a
# callback that never came, or test_loop_close() finding a handle or an
# allocation left over (when no test failed before: a failed test leaves
# its loop open, which upsets the counts of those after it). Each run has
# a scratch directory of its own in build-sim-asan/sim-tmp/, removed
# after it, for what a failed test leaves behind.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SEEDS=${1:-1000}
FIRST=${2:-1}
DIR=build-sim-asan
RATE=${AX_SIM_FAULT_RATE:-50}
TIMEOUT_S=${SIM_TIMEOUT_S:-60}
ENOMEM=${AX_SIM_ENOMEM:-0}
# program:faults, as in test/meson.build's sim_programs.
SIM_PROGRAMS=(tcp:transient stream:transient stream-posix:off stream-faults:all timer:all
  loop:all phase:all fs:all)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
# In enomem mode a test that failed on AX_ENOMEM leaves its loop open, so a
# leak report is judged from the log (sim_enomem_broken), not by an abort.
[ "${AX_SIM_ENOMEM:-0}" = 1 ] && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export CMOCKA_MESSAGE_OUTPUT=STDOUT

ax_install_missing meson ninja-build pkg-config libcmocka-dev gcc libc6-dev
ax_meson_setup "$DIR" -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbench=false -Ddocs=disabled >/dev/null || ax_die "meson setup failed"
ninja -C "$DIR" -j2 >/dev/null || ax_die "the build failed"
mkdir -p "$DIR/sim-logs" "$DIR/sim-tmp"
ROOT=$PWD

# The lines of test/support/test.c's test_loop_close(): a failure there is
# a leak even in enomem mode.
LOOP_CLOSE_LINES=$(awk '/^void test_loop_close/ { on = 1 } on { print NR }
  on && /^}/ { exit }' test/support/test.c | tr '\n' ' ')

# In enomem mode, whether a failed run's log shows more than the tests'
# own assertions on AX_ENOMEM (see the top). rc: the run's exit status.
sim_enomem_broken() {
  local log=$1 rc=$2 line
  # A timeout after every test ran and one failed: that test left a pool
  # job blocked on its own semaphore, and the exit waits for the worker.
  if [ "$rc" -eq 124 ] && grep -q 'FAILED TEST(S)' "$log"; then
    return 1
  fi
  [ "$rc" -ge 124 ] && return 0 # A timeout, or killed by a signal.
  grep -qE 'runtime error:|Assertion .* failed|^axle: .*(assert|invariant)|waited [0-9]+ ms for something' \
    "$log" && return 0
  # A use after free, unless a test failed and left a pool job waiting on
  # a semaphore in the failed test's own stack frame, which the next test
  # reused: the test's doing, not axle's.
  if grep -q 'ERROR: AddressSanitizer' "$log" &&
    ! { grep -q 'FAILED' "$log" &&
      grep -A1 'is located in stack of thread T0' "$log" | grep -q ' in test_'; }; then
    return 0
  fi
  grep -q 'LeakSanitizer' "$log" && ! grep -q 'FAILED' "$log" && return 0
  # Only the first failure counts: a test that failed leaves its loop and
  # its pool work behind, which upsets the counts of the tests after it.
  line=$(grep -m 1 'error: Failure' "$log" |
    sed -n 's/.*support\/test\.c:\([0-9]*\): error.*/\1/p')
  [ -n "$line" ] && [[ " $LOOP_CLOSE_LINES " == *" $line "* ]] && return 0
  return 1
}
export -f sim_enomem_broken

# One run: program, faults, seed. Prints a line only when it fails (in
# enomem mode, a TOLERATED line when only the tests' assertions failed).
sim_run() {
  local program=$1 faults=$2 seed=$3 rate=$RATE log rc=0
  [ "$faults" = off ] && rate=0
  if [ "$ENOMEM" = 1 ]; then
    rate=$RATE
    faults="$faults,enomem"
  fi
  log="$DIR/sim-logs/$program-$seed.log"
  local env=(AX_BACKEND=sim "AX_SIM_SEED=$seed" "AX_SIM_FAULT_RATE=$rate"
    "AX_SIM_FAULTS=$faults")
  # In a directory of its own: a test that fails leaves its files behind.
  local work
  work=$(mktemp -d "$DIR/sim-tmp/run-XXXXXX") || return 1
  (cd "$work" && env "${env[@]}" timeout "$TIMEOUT_S" \
    "$ROOT/$DIR/test/test-$program") >"$log" 2>&1 || rc=$?
  rm -rf "$work"
  if [ "$rc" -eq 0 ]; then
    rm -f "$log"
  elif [ "$ENOMEM" = 1 ] && ! sim_enomem_broken "$log" "$rc"; then
    echo "TOLERATED $program seed $seed"
    rm -f "$log"
  else
    echo "FAIL $program seed $seed (exit $rc): replay with"
    echo "  ${env[*]} $DIR/test/test-$program"
  fi
}
export -f sim_run
export DIR ROOT RATE TIMEOUT_S ENOMEM LOOP_CLOSE_LINES

# The runs, one line each: program, faults, seed.
sim_jobs() {
  local seed entry
  for ((seed = FIRST; seed < FIRST + SEEDS; seed++)); do
    for entry in "${SIM_PROGRAMS[@]}"; do
      echo "${entry%%:*} ${entry#*:} $seed"
    done
  done
}

# Expanded by the child shell xargs starts, not here.
# shellcheck disable=SC2016
run_one='sim_run "$0" "$1" "$2"'

start=$(ax_now_us)
runs=$((SEEDS * ${#SIM_PROGRAMS[@]}))
echo "sim: ${#SIM_PROGRAMS[@]} programs x seeds $FIRST..$((FIRST + SEEDS - 1))" \
  "= $runs runs, faults $RATE/1000$([ "$ENOMEM" = 1 ] && echo ', enomem')"
results=$(sim_jobs | xargs -P 2 -L 1 bash -c "$run_one" |
  tee >(grep -v '^TOLERATED' >&2))
failures=$(grep -c '^FAIL' <<<"$results")
tolerated=$(grep -c '^TOLERATED' <<<"$results")
summary="sim: $runs runs in $(ax_format_us $(($(ax_now_us) - start))), $failures failed"
[ "$ENOMEM" = 1 ] &&
  summary+=" ($tolerated more failed only their tests' assertions on AX_ENOMEM)"
echo "$summary"
[ "$failures" -eq 0 ]
