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
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SEEDS=${1:-1000}
FIRST=${2:-1}
DIR=build-sim-asan
RATE=${AX_SIM_FAULT_RATE:-50}
TIMEOUT_S=${SIM_TIMEOUT_S:-60}
# program:faults, as in test/meson.build's sim_programs.
SIM_PROGRAMS=(tcp:transient stream:transient stream-posix:off stream-faults:all timer:all
  loop:all phase:all fs:all)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export CMOCKA_MESSAGE_OUTPUT=STDOUT

ax_install_missing meson ninja-build pkg-config libcmocka-dev gcc libc6-dev
ax_meson_setup "$DIR" -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbench=false -Ddocs=disabled >/dev/null || ax_die "meson setup failed"
ninja -C "$DIR" -j2 >/dev/null || ax_die "the build failed"
mkdir -p "$DIR/sim-logs"

# One run: program, faults, seed. Prints a line only when it fails.
sim_run() {
  local program=$1 faults=$2 seed=$3 rate=$RATE log
  [ "$faults" = off ] && rate=0
  log="$DIR/sim-logs/$program-$seed.log"
  local env=(AX_BACKEND=sim "AX_SIM_SEED=$seed" "AX_SIM_FAULT_RATE=$rate"
    "AX_SIM_FAULTS=$faults")
  if env "${env[@]}" timeout "$TIMEOUT_S" "$DIR/test/test-$program" \
    >"$log" 2>&1; then
    rm -f "$log"
  else
    echo "FAIL $program seed $seed (exit $?): replay with"
    echo "  ${env[*]} $DIR/test/test-$program"
  fi
}
export -f sim_run
export DIR RATE TIMEOUT_S

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
  "= $runs runs, faults $RATE/1000"
failures=$(sim_jobs | xargs -P 2 -L 1 bash -c "$run_one" | tee /dev/stderr |
  grep -c '^FAIL')
echo "sim: $runs runs in $(ax_format_us $(($(ax_now_us) - start))), $failures failed"
[ "$failures" -eq 0 ]
