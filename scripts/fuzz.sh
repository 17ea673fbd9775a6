#!/usr/bin/env bash
# Fuzz the HTTP server example for a long time, outside CI: the request
# parser (test/fuzz/fuzz_http_parser.c) and the connection handling past
# it, over the simulation backend (test/fuzz/fuzz_http_server.c).
#
#   bash scripts/fuzz.sh [seconds] [parser|server|both] [workers]
#                                      each target for that long
#                                      (default 3600, both)
#
# Both are built with clang -fsanitize=fuzzer,address,undefined in
# build-fuzz/; the server target links an axle built the same way in
# build-fuzz/axle/ (instrumented, so coverage counts the engine too). Each
# keeps its corpus in build-fuzz/corpus-TARGET/ between runs, and the
# input of any crash, leak or timeout in build-fuzz/crashes-TARGET/. The
# last lines say, per target: executions, coverage and crashes. Exits 0
# only if no target crashed. scripts/test.sh part j runs the server target
# for a short time through this script.
#
# With workers (the long mode, outside CI), each target runs as libFuzzer
# jobs (-jobs=N -workers=N: N processes, each for the whole time, their
# logs in build-fuzz/long-TARGET/), and one line per target is appended to
# build-fuzz/fuzz-long.log: the date, the time and workers, the run's
# executions, rate, coverage and crashes, and the target's executions over
# every long run logged so far, which is the figure issue 11 asks for:
#
#   bash scripts/fuzz.sh 3600 server 1    # an hour of the server target
#   tail -n 4 build-fuzz/fuzz-long.log
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECONDS_EACH=${1:-3600}
WHICH=${2:-both}
WORKERS=${3:-}
DIR=build-fuzz
LONG_LOG=$DIR/fuzz-long.log
# The commas belong to -fsanitize=, not to the array.
# shellcheck disable=SC2054
FLAGS=(-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
  -fno-sanitize-recover=undefined)

ax_install_missing clang libclang-rt-14-dev meson ninja-build pkg-config \
  libcmocka-dev >/dev/null

build_parser() {
  clang -std=c11 "${FLAGS[@]}" -fsanitize=fuzzer -Wall -Wextra -Werror \
    -Iexamples/http-server examples/http-server/http-parser.c \
    test/fuzz/fuzz_http_parser.c -o "$DIR/fuzz-http-parser"
}

# What the static library's io_uring backend links: liburing where meson
# found it (the backend is a stub that refuses to start without it).
uring_libs() {
  pkg-config --libs liburing 2>/dev/null || true
}

# axle itself, instrumented for coverage (fuzzer-no-link) and sanitized,
# static, with nothing else; then the target over it and the example.
build_server() {
  local flags="${FLAGS[*]} -fsanitize=fuzzer-no-link"
  CC=clang ax_meson_setup "$DIR/axle" -Ddefault_library=static \
    -Dtests=false -Dexamples=false -Dbench=false -Ddocs=disabled \
    -Db_lundef=false -Dc_args="$flags" -Dc_link_args="$flags" >/dev/null &&
    ninja -C "$DIR/axle" -j2 >/dev/null || return 1
  # shellcheck disable=SC2046 # uring_libs prints words to split.
  clang -std=c11 "${FLAGS[@]}" -fsanitize=fuzzer -Wall -Wextra -Werror \
    -D_GNU_SOURCE -Iinclude -Isrc -Iexamples/http-server -Iexamples/pool \
    test/fuzz/fuzz_http_server.c examples/http-server/server.c \
    examples/http-server/routes.c examples/http-server/http-date.c \
    examples/http-server/http-parser.c examples/http-server/kv-routes.c \
    examples/pool/pool.c examples/pool/kv-client.c \
    examples/http-server/socket-file-posix.c \
    "$DIR/axle/libaxle.a" $(uring_libs) -lpthread \
    -o "$DIR/fuzz-http-server"
}

# Seeds for the server target: a few inputs that open clients and send
# every well-formed request, so that the fuzzer starts past the handshake.
server_seeds() {
  local seeds=$DIR/seeds-server
  mkdir -p "$seeds"
  # Header (8 bytes of seed, rate, flags); connect; requests 0..6 on
  # client 0; run; read.
  printf '\0\0\0\0\0\0\0\1\0\0\0\2\0\0\2\0\1\2\0\2\2\0\3\2\0\4\2\0\5\2\0\6\5\7\7\0' \
    >"$seeds/requests"
  printf '\0\0\0\0\0\0\0\2\62\1\0\0\2\0\0\1\1\20GET / HTTP/1.1\r\n\5\7\3\1\5\7' \
    >"$seeds/faults"
  # 230 requests for /delay?ms=30 pipelined on one connection: their
  # answers take 6.9 s of virtual time, one after the other (the harness
  # once gave them 6.4 s in all, and reported the answers as lost).
  {
    printf '\0\0\0\0\0\0\0\0\0\0\0'
    for _ in $(seq 230); do printf '\2\0\2'; done
  } >"$seeds/pipelined-delays"
  # Six requests pipelined on one connection, twice, replayed under
  # injected ENOMEM (replay_enomem): the static file's start fails, so the
  # route answers inside the parse, which once made the server parse the
  # requests behind that answer twice (seven answers to six requests).
  printf '%b' '\045\0\0\0\001\217\0\030\030\030\030\030\030\0\374\147' \
    '\002\0\003\002\0\004\002\0\367\002\0\003\002\0\004\002\0' \
    >"$seeds/enomem-sync-answer"
}

# The server seeds that found a bug under injected ENOMEM, each run once
# with AX_SIM_FAULTS=enomem: a regression test, deterministic, that the
# timed run (without ENOMEM) would not be.
replay_enomem() {
  AX_SIM_FAULTS=enomem "$DIR/fuzz-http-server" \
    "$DIR/seeds-server/enomem-sync-answer" >"$DIR/replay-enomem.log" 2>&1 && return 0
  tail -n 30 "$DIR/replay-enomem.log"
  echo "error: the server's ENOMEM seeds fail again" >&2
  return 1
}

# Run one target for SECONDS_EACH; print its executions, coverage and
# crashes. Returns non-zero if it crashed.
run_target() {
  local name=$1 exe=$DIR/fuzz-http-$1 log=$DIR/fuzz-$1.log rc crashes
  shift
  mkdir -p "$DIR/corpus-$name" "$DIR/crashes-$name"
  "$exe" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$DIR/crashes-$name/" \
    "$DIR/corpus-$name" "$@" >"$log" 2>&1
  rc=$?
  # crash-, leak-, timeout- and oom- files are failures; libFuzzer also
  # keeps slow-unit- files (an input that once took over 10 s, which a
  # loaded machine makes of any input), which are not.
  crashes=$(find "$DIR/crashes-$name" -type f ! -name 'slow-unit-*' | wc -l)
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    tail -n 40 "$log"
    echo "error: $name fuzzer failed (exit $rc); inputs in $DIR/crashes-$name/" >&2
    [ "$rc" -ne 0 ] || rc=1
  fi
  printf 'fuzz-http-%s: %s executions in %ss (%s/s), %s, %d crashes\n' "$name" \
    "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" \
    "$SECONDS_EACH" "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")" \
    "$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)" "$crashes"
  return "$rc"
}

# The long mode: run one target as WORKERS libFuzzer jobs for SECONDS_EACH
# and append its line to LONG_LOG. Returns non-zero if it crashed.
run_long() {
  local name=$1 exe=$DIR/fuzz-http-$1 jobs_dir=$DIR/long-$1 rc crashes
  local before after executions cov ft corpus total start elapsed top=$PWD
  shift
  mkdir -p "$DIR/corpus-$name" "$DIR/crashes-$name" "$jobs_dir"
  rm -f "$jobs_dir"/fuzz-*.log
  before=$(find "$DIR/crashes-$name" -type f ! -name 'slow-unit-*' | wc -l)
  start=$(date +%s)
  # libFuzzer writes each job's log as fuzz-JOB.log in the current
  # directory: run from jobs_dir, with absolute paths.
  (cd "$jobs_dir" && "$top/$exe" -jobs="$WORKERS" -workers="$WORKERS" \
    -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$top/$DIR/crashes-$name/" \
    "$top/$DIR/corpus-$name" "$@" >"$top/$DIR/fuzz-$name.log" 2>&1)
  rc=$?
  elapsed=$(($(date +%s) - start))
  after=$(find "$DIR/crashes-$name" -type f ! -name 'slow-unit-*' | wc -l)
  crashes=$((after - before))
  executions=$(cat "$jobs_dir"/fuzz-*.log 2>/dev/null |
    sed -n 's/^stat::number_of_executed_units: *//p' |
    awk '{ sum += $1 } END { print sum + 0 }')
  cov=$(grep -ho 'cov: [0-9]*' "$jobs_dir"/fuzz-*.log | awk '{print $2}' |
    sort -n | tail -n 1)
  ft=$(grep -ho 'ft: [0-9]*' "$jobs_dir"/fuzz-*.log | awk '{print $2}' |
    sort -n | tail -n 1)
  corpus=$(find "$DIR/corpus-$name" -type f | wc -l)
  total=$(awk -v t="$name" '$2 == t { for (i = 3; i <= NF; i++)
      if ($i ~ /^executions=/) { sub(/^executions=/, "", $i); s += $i } }
    END { print s + 0 }' "$LONG_LOG" 2>/dev/null || echo 0)
  total=$((total + executions))
  printf '%s %s seconds=%s workers=%s executions=%s exec/s=%s cov=%s ft=%s corpus=%s crashes=%s total_executions=%s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" "$elapsed" "$WORKERS" \
    "$executions" "$((executions / (elapsed > 0 ? elapsed : 1)))" \
    "${cov:-?}" "${ft:-?}" "$corpus" "$crashes" "$total" | tee -a "$LONG_LOG"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    tail -n 40 "$jobs_dir"/fuzz-*.log
    echo "error: $name fuzzer failed (exit $rc); inputs in $DIR/crashes-$name/" >&2
    [ "$rc" -ne 0 ] || rc=1
  fi
  return "$rc"
}

# One target, short or long.
run_one() {
  if [ -n "$WORKERS" ]; then
    run_long "$@"
  else
    run_target "$@"
  fi
}

case "$WORKERS" in
'' | [1-9] | [1-9][0-9]) ;;
*) ax_die "workers: a number from 1 to 99, not '$WORKERS'" ;;
esac

mkdir -p "$DIR"
status=0
if [ "$WHICH" != server ]; then
  build_parser || ax_die "building the parser target failed"
  # Seeds from the corpus, written by the first test-http-parser built.
  parser_seeds=()
  for candidate in build build-asan build-sim; do
    [ -x "$candidate/test/test-http-parser" ] || continue
    mkdir -p "$DIR/seeds"
    "$candidate/test/test-http-parser" --write-seeds "$DIR/seeds" \
      test/http-corpus/*.txt >/dev/null && parser_seeds=("$DIR/seeds")
    break
  done
  # Options first, then the seed directories after the corpus (libFuzzer
  # writes new inputs into the first directory it is given).
  run_one parser -max_len=9000 -dict="$PWD/test/fuzz/http.dict" \
    "${parser_seeds[@]/#/$PWD/}" || status=1
fi
if [ "$WHICH" != parser ]; then
  build_server || ax_die "building the server target failed"
  server_seeds
  replay_enomem || status=1
  run_one server -max_len=4096 -dict="$PWD/test/fuzz/http.dict" \
    "$PWD/$DIR/seeds-server" || status=1
fi
exit "$status"
