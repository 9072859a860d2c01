#!/usr/bin/env bash
# Run every cargo-fuzz target in fuzz/ for SECONDS each, one after another (docs/fuzzing.md).
#
#   scripts/fuzz.sh SECONDS [TARGET...]
#
# Each target starts from its committed seeds (fuzz/seeds/TARGET, read only) and its working
# corpus (fuzz/corpus/TARGET, gitignored, kept between runs). For each target it prints the
# executions, the corpus size and whether it crashed; crashing inputs are saved under
# fuzz/artifacts/TARGET/ and the log under fuzz/logs/. Exits 1 when any target crashed (a
# panic, a sanitizer error, a timeout of one input, an out-of-memory), 2 on a usage or build
# error.
#
# The fuzzers run under `nice -n 19`, one process each (-jobs=1 -workers=1): the machines this
# runs on are shared. Environment: FUZZ_TIMEOUT (seconds one input may take, default 25),
# FUZZ_RSS_MB (memory limit, default 2048), FUZZ_TOOLCHAIN (default nightly).
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
SECONDS_EACH=$1; shift
[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] && [ "$SECONDS_EACH" -gt 0 ] || usage

TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
TIMEOUT=${FUZZ_TIMEOUT:-25}
RSS_MB=${FUZZ_RSS_MB:-2048}
FUZZ=$PWD/fuzz

if ! cargo "+$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz (and rustup toolchain install $TOOLCHAIN)" >&2
  exit 2
fi

if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  mapfile -t TARGETS < <(cd fuzz && cargo "+$TOOLCHAIN" fuzz list)
fi

# Debug assertions on: an arithmetic overflow is a finding, as it is in a debug build.
echo "building ${#TARGETS[@]} target(s)..." >&2
for t in "${TARGETS[@]}"; do
  if ! (cd fuzz && nice -n 19 cargo "+$TOOLCHAIN" fuzz build --debug-assertions "$t") >&2; then
    echo "build of $t failed" >&2
    exit 2
  fi
done
BIN_DIR=$FUZZ/target/$(rustc "+$TOOLCHAIN" -vV | sed -n 's/^host: //p')/release

crashed=0
printf '%-12s %8s %12s %8s  %s\n' target seconds executions corpus result
for t in "${TARGETS[@]}"; do
  corpus=$FUZZ/corpus/$t
  seeds=$FUZZ/seeds/$t
  artifacts=$FUZZ/artifacts/$t
  logdir=$FUZZ/logs/$t
  mkdir -p "$corpus" "$seeds" "$artifacts" "$logdir"
  before=$(find "$artifacts" -type f | wc -l)
  # -jobs=1 runs the fuzzer as one child process that logs to fuzz-0.log in the current
  # directory: run it from the target's log directory.
  rm -f "$logdir/fuzz-0.log"
  (cd "$logdir" && nice -n 19 "$BIN_DIR/$t" "$corpus" "$seeds" \
      -jobs=1 -workers=1 \
      -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
      -print_final_stats=1 -artifact_prefix="$artifacts/" >"$logdir/driver.log" 2>&1)
  rc=$?
  log=$logdir/fuzz-0.log
  [ -f "$log" ] || log=$logdir/driver.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ -z "$execs" ]; then
    execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  fi
  size=$(find "$corpus" -type f | wc -l)
  after=$(find "$artifacts" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ] || grep -qE '^==[0-9]+== ?ERROR|^SUMMARY: libFuzzer|deadly signal' "$log"; then
    crashed=1
    newest=$(ls -t "$artifacts" 2>/dev/null | head -1)
    result="CRASH (exit $rc) ${newest:+$artifacts/$newest}; log $log"
  else
    result=ok
  fi
  printf '%-12s %8s %12s %8s  %s\n' "$t" "$SECONDS_EACH" "${execs:-?}" "$size" "$result"
done
exit $crashed
