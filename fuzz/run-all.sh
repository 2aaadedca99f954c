#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/Cargo.toml (its [[bin]] entries), one at a
# time, each for FUZZ_RUNS executions or FUZZ_SECONDS, whichever comes
# first, with an RSS limit, and keeps a record that grows across sessions.
#
#   FUZZ_RUNS      executions per target (default 10000000)
#   FUZZ_SECONDS   seconds per target at most (default 1800)
#   FUZZ_RSS_MB    libFuzzer's -rss_limit_mb (default 2048)
#   FUZZ_TOOLCHAIN the toolchain cargo-fuzz builds with (default nightly)
#   FUZZ_TARGETS   run these targets, in this order, even if recorded
#                  (space-separated; default: every target, see below)
#   FUZZ_ALL=1     run every target, even those already recorded
#
# The record is fuzz/records.tsv: each target run that finished (to its
# budget, or stopped by a crash) appends one line: target, executions,
# crashes, seconds, date (UTC), the hash of the code fuzzed
# (`fuzz/record.py code TARGET`: the target and the crates it reaches, as
# in the work tree) and the commit. A run that was killed or interrupted,
# or that did not build, records nothing. Without FUZZ_TARGETS, the targets
# run fewest recorded executions first, and a target whose latest record is
# of the current code, with 0 crashes and at least FUZZ_RUNS executions or
# FUZZ_SECONDS seconds, is skipped. At the end the tables in fuzz/README.md
# and README.md are rewritten from the record (`fuzz/record.py table`).
#
# Installs cargo-fuzz when `cargo fuzz` is missing. New inputs the fuzzer
# finds go to corpus/<target>/; a crashing input to artifacts/<target>/.
# Exits non-zero if any target crashed or failed to run.

set -u

cd "$(dirname "${BASH_SOURCE[0]}")" || exit 2

FUZZ_RUNS=${FUZZ_RUNS:-10000000}
FUZZ_SECONDS=${FUZZ_SECONDS:-1800}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
FUZZ_TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}

for var in FUZZ_RUNS FUZZ_SECONDS FUZZ_RSS_MB; do
  case ${!var} in
    '' | *[!0-9]*)
      echo "[fuzz] $var must be a whole number, not '${!var}'" >&2
      exit 2
      ;;
  esac
done

if ! cargo fuzz --help >/dev/null 2>&1; then
  echo "[fuzz] cargo-fuzz is missing: cargo install cargo-fuzz --locked"
  cargo install cargo-fuzz --locked || {
    echo "[fuzz] could not install cargo-fuzz" >&2
    exit 2
  }
fi

plan_args=(--runs "$FUZZ_RUNS" --seconds "$FUZZ_SECONDS")
if [ "${FUZZ_ALL:-0}" = 1 ]; then
  plan_args+=(--all)
fi
# shellcheck disable=SC2086 # FUZZ_TARGETS is a space-separated list
plan=$(python3 record.py plan "${plan_args[@]}" ${FUZZ_TARGETS:-}) || exit 2
targets=()
while read -r verb t reason; do
  if [ "$verb" = run ]; then
    targets+=("$t")
  else
    echo "[fuzz] $t: skipped, recorded: $reason"
  fi
done <<<"$plan"

if [ "${#targets[@]}" -eq 0 ]; then
  echo "[fuzz] nothing to run: every target is recorded for this code (FUZZ_ALL=1 runs them again)"
  python3 record.py table
  exit 0
fi

# Killed or interrupted: stop the fuzzer too (each job runs in its own
# process group, cargo and the fuzzer it starts), and record nothing for it.
set -m
child=
stop() {
  echo "[fuzz] interrupted: nothing recorded for the target that was running" >&2
  if [ -n "$child" ]; then
    kill -TERM -- -"$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  exit 130
}
trap stop INT TERM HUP

logs=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-logs.XXXXXX")
failed=0
rows=()

for t in "${targets[@]}"; do
  log="$logs/$t.log"
  echo "[fuzz] $t: ${FUZZ_RUNS} runs or ${FUZZ_SECONDS}s (log: $log) from $(date -u +%H:%M)"
  # The code as built: when it changed while building, build again (the
  # run that follows rebuilds only what changed since, and the record
  # names the code of the build).
  : >"$log"
  for _ in 1 2 3; do
    code=$(python3 record.py code "$t") || exit 2
    nice -n 19 cargo +"$FUZZ_TOOLCHAIN" fuzz build "$t" >>"$log" 2>&1 &
    child=$!
    wait "$child"
    rc=$?
    child=
    if [ "$rc" -ne 0 ] || [ "$(python3 record.py code "$t")" = "$code" ]; then
      break
    fi
    echo "    the code changed while building: building again"
  done
  if [ "$rc" -ne 0 ]; then
    failed=1
    echo "    does not build (exit $rc): nothing recorded"
    tail -n 15 "$log" | sed 's/^/    /'
    rows+=("$(printf '%-22s %14s %8s  %s' "$t" - - "build failed")")
    continue
  fi
  start=$(date +%s)
  nice -n 19 cargo +"$FUZZ_TOOLCHAIN" fuzz run "$t" -- \
    -runs="$FUZZ_RUNS" -max_total_time="$FUZZ_SECONDS" \
    -rss_limit_mb="$FUZZ_RSS_MB" -print_final_stats=1 >>"$log" 2>&1 &
  child=$!
  wait "$child"
  rc=$?
  child=
  wall=$(($(date +%s) - start))

  # libFuzzer's final stats; without them (a crash stops the run) the last
  # "#N ..." status line.
  execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  fi
  execs=${execs:-0}
  # libFuzzer's own count of seconds when it ends normally ("Done N runs
  # in S second(s)"), else the wall time of the run.
  seconds=$(sed -n 's/^Done [0-9][0-9]* runs in \([0-9][0-9]*\) second.*/\1/p' "$log" | tail -n 1)
  seconds=${seconds:-$wall}
  # One line per input written to artifacts/ for a crash, leak, timeout or
  # oom. A slow-unit- input is not one: libFuzzer writes one for any unit
  # over 10 s of wall time, which a stalled machine causes too (a unit that
  # really hangs is a timeout- after -timeout, 1200 s).
  crashes=$(grep -cE 'Test unit written to .*/(crash|leak|timeout|oom)-' "$log")
  slow=$(grep -cE 'Test unit written to .*/slow-unit-' "$log")
  if [ "$slow" -gt 0 ]; then
    echo "    $slow slow unit(s) (not counted as crashes; replay to check):"
    grep -E 'Slowest unit:|Test unit written to .*/slow-unit-' "$log" | sed 's/^/      /'
  fi

  if grep -q 'libFuzzer: run interrupted' "$log" || { [ "$rc" -gt 128 ] && [ "$crashes" -eq 0 ]; }; then
    # Stopped by a signal from outside: not a finished run.
    failed=1
    status="interrupted (exit $rc): nothing recorded"
  elif [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then
    status=ok
    python3 record.py append "$t" "$execs" 0 "$seconds" "$code"
  elif [ "$crashes" -gt 0 ]; then
    failed=1
    status=CRASH
    grep -m 5 -E 'panicked|ERROR: libFuzzer|Test unit written to' "$log" | sed 's/^/    /'
    python3 record.py append "$t" "$execs" "$crashes" "$seconds" "$code"
  else
    failed=1
    status="failed (exit $rc): nothing recorded"
    tail -n 15 "$log" | sed 's/^/    /'
  fi
  echo "    $t: $execs executions, $crashes crashes, ${seconds}s: $status"
  rows+=("$(printf '%-22s %14s %8s  %s' "$t" "$execs" "$crashes" "$status")")
  python3 record.py table
done

echo
printf '%-22s %14s %8s  %s\n' target execs crashes status
for row in "${rows[@]}"; do
  echo "$row"
done
echo "(${FUZZ_RUNS} runs or ${FUZZ_SECONDS}s per target, -rss_limit_mb=${FUZZ_RSS_MB}; logs in $logs)"

exit "$failed"
