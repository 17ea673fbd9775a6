#!/usr/bin/env bash
# Run the benchmarks against libuv, side by side, on an optimised build in
# build-bench/. Installs libuv1-dev (and the build tools) when missing.
#
#   bash scripts/bench.sh [scale]     operations per CPU-second, both sides
#                                     in one process, and their ratio
#   bash scripts/bench.sh --callgrind instructions per operation, counted by
#                                     valgrind: the same on every run
#   bash scripts/bench.sh --plot      no run: the tables as PNG charts in
#                                     docs/images/ (scripts/plot.sh), from
#                                     the last run's saved results, else
#                                     from docs/performance.md's figures
#
# A run saves what each benchmark prints in build-bench/results/ (core.txt,
# net.txt, http.txt; AX_BENCH_RESULTS names another directory), so that
# --plot after a fresh run draws that run's figures.
#
# CPU time moves with whatever else the machine does; instruction counts do
# not, but they ignore cache misses and system-call cost. Read both.
#
# Without --callgrind, the network benchmarks follow on Linux
# (scripts/bench-net.sh: echo servers on both libraries, load from a
# second process), so that one command runs them all.
#
# Both thread pools get the same size: BENCH_THREADPOOL_SIZE workers
# (default 4, both libraries' default), through UV_THREADPOOL_SIZE and
# AX_THREADPOOL_SIZE. axle adds its reserve worker for file system jobs.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "${1:-}" = "--plot" ]; then
  shift
  exec bash "$AX_ROOT/scripts/plot.sh" "$@"
fi

packages=(meson ninja-build pkg-config gcc libc6-dev libuv1-dev)
if [ "${1:-}" = "--callgrind" ]; then
  packages+=(valgrind)
fi
ax_install_missing "${packages[@]}"

ax_meson_setup build-bench -Dbuildtype=release -Dtests=false \
  -Dexamples=false >/dev/null
ninja -C build-bench >/dev/null
bench=./build-bench/bench/bench-core
export UV_THREADPOOL_SIZE=${BENCH_THREADPOOL_SIZE:-4}
export AX_THREADPOOL_SIZE=$UV_THREADPOOL_SIZE
echo "axle $(git describe --always --dirty 2>/dev/null || echo '?'), $(nproc) cores, $(uname -sr)"

# Instructions one run of workload $2 with count $3 on side $1 executes.
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bench" --one "$1" "$2" "$3" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

if [ "${1:-}" = "--callgrind" ]; then
  # Two counts per side, so that start-up and loop set-up cancel out:
  # (I(big) - I(small)) / (big - small) is the cost of one operation.
  # 20,000 and 120,000 operations, or for a workload whose round is
  # shorter (spawning a child), one round and six: under valgrind 120,000
  # spawns would outlast bench-core's limit.
  printf '%-32s %12s %12s %8s\n' "workload (instr/op)" axle libuv ratio
  while IFS=$'\t' read -r index name round; do
    small=$((round < 20000 ? round : 20000))
    big=$((small * 6))
    per_op=()
    for side in axle libuv; do
      i1=$(instructions "$side" "$index" "$small")
      i2=$(instructions "$side" "$index" "$big")
      per_op+=("$(((i2 - i1) / (big - small)))")
    done
    ratio=$(awk -v a="${per_op[0]}" -v u="${per_op[1]}" \
      'BEGIN { printf "%.2fx", (a > 0 ? u / a : 0) }')
    printf '%-32s %12s %12s %8s\n' "$name" "${per_op[0]}" "${per_op[1]}" \
      "$ratio"
  done < <("$bench" --list)
  echo "(ratio: libuv's instructions / axle's; above 1, axle runs fewer)"
  exit 0
fi
RESULTS=${AX_BENCH_RESULTS:-build-bench/results}
mkdir -p "$RESULTS"
"$bench" "$@" | tee "$RESULTS/core.txt"

if [ "$(uname -s)" = Linux ]; then
  echo
  bash "$AX_ROOT/scripts/bench-net.sh"
  bash "$AX_ROOT/scripts/bench-http.sh"
fi
