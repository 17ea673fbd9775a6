#!/usr/bin/env bash
# scripts/tsan-signal-loss.sh: whether this machine's ThreadSanitizer
# runtime loses signals sent with pthread_kill() (docs/reliability.md,
# Signals), with test/support/tsan-signal-loss.c, a program without axle.
#
#   bash scripts/tsan-signal-loss.sh [runs]    (default 20)
#
# Builds the program plainly and with -fsanitize=thread, with gcc and,
# when installed, clang, in build-tsan-signal/, and runs each build `runs`
# times in each of its three modes (the handler writes to a pipe, only
# counts, or counts where TSan does not instrument it). Each run sends
# 8,000 signals and waits at most 2 s for any one, so a run lasts a few
# seconds; each is also killed after 60 s. Prints one line per build and
# mode: runs, runs that lost a signal, signals lost, and runs that ended
# with the target thread blocking every signal.
#
# test_signal_busy_loops (test/test_signal.c) sends with kill() where it
# would use pthread_kill() under TSan. Once this script shows no loss in
# the TSan builds (a runtime with llvm/llvm-project#138599), that switch
# can go. Exits 1 if a plain build lost a signal (that would not be TSan's
# doing), else 0.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(uname -s)" = Linux ] || ax_die "tsan-signal-loss.sh runs on Linux only"

RUNS=${1:-20}
OUT="build-tsan-signal"
SRC=test/support/tsan-signal-loss.c
mkdir -p "$OUT"

COMPILERS=(gcc)
if command -v clang >/dev/null 2>&1; then
  COMPILERS+=(clang)
fi

plain_lost=0
printf '%-6s %-6s %-6s %5s %11s %12s %12s\n' compiler build mode runs \
  "runs lost" "signals lost" "all blocked"
for cc in "${COMPILERS[@]}"; do
  for build in plain tsan; do
    flags=(-std=c11 -O1 -g -Wall -Wextra -Werror -pthread)
    [ "$build" = tsan ] && flags+=(-fsanitize=thread)
    bin="$OUT/tsan-signal-loss-$cc-$build"
    "$cc" "${flags[@]}" "$SRC" -o "$bin"
    for mode in write count bare; do
      runs_lost=0 signals_lost=0 blocked=0
      for _ in $(seq 1 "$RUNS"); do
        line=$(timeout 60 "$bin" "$mode" 2>/dev/null) || true
        lost=$(sed -n 's/.* \([0-9]*\) lost,.*/\1/p' <<<"$line")
        [ -n "$lost" ] || lost=1 # Killed, or no line: counts as a loss.
        if [ "$lost" -gt 0 ]; then
          runs_lost=$((runs_lost + 1))
          signals_lost=$((signals_lost + lost))
        fi
        case $line in *"every signal: yes"*) blocked=$((blocked + 1)) ;; esac
      done
      printf '%-6s %-6s %-6s %5d %11d %12d %12d\n' "$cc" "$build" "$mode" \
        "$RUNS" "$runs_lost" "$signals_lost" "$blocked"
      if [ "$build" = plain ]; then
        plain_lost=$((plain_lost + signals_lost))
      fi
    done
  done
done
[ "$plain_lost" -eq 0 ]
