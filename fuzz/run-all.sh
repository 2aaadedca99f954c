#!/usr/bin/env bash
# Runs every fuzz target of fuzz/Cargo.toml (its [[bin]] entries) for
# FUZZ_RUNS executions or FUZZ_SECONDS, whichever comes first, with an RSS
# limit, then prints a table: target, execs, crashes.
#
#   FUZZ_RUNS      executions per target (default 10000000)
#   FUZZ_SECONDS   seconds per target at most (default 1800)
#   FUZZ_RSS_MB    libFuzzer's -rss_limit_mb (default 2048)
#   FUZZ_TOOLCHAIN the toolchain cargo-fuzz builds with (default nightly)
#   FUZZ_TARGETS   run only these targets (space-separated; default all)
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

# The names of the [[bin]] sections, in file order.
mapfile -t targets < <(awk '
  /^\[\[bin\]\]/ { in_bin = 1; next }
  /^\[/          { in_bin = 0 }
  in_bin && $1 == "name" {
    line = $0
    sub(/^[^=]*=[ \t]*"/, "", line)
    sub(/".*$/, "", line)
    print line
  }' Cargo.toml)

if [ -n "${FUZZ_TARGETS:-}" ]; then
  wanted=()
  for t in $FUZZ_TARGETS; do
    if printf '%s\n' "${targets[@]}" | grep -qxF -- "$t"; then
      wanted+=("$t")
    else
      echo "[fuzz] no target '$t' in Cargo.toml (have: ${targets[*]})" >&2
      exit 2
    fi
  done
  targets=("${wanted[@]}")
fi

if [ "${#targets[@]}" -eq 0 ]; then
  echo "[fuzz] no [[bin]] targets in $(pwd)/Cargo.toml" >&2
  exit 2
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-logs.XXXXXX")
failed=0
rows=()

for t in "${targets[@]}"; do
  log="$logs/$t.log"
  echo "[fuzz] $t: ${FUZZ_RUNS} runs or ${FUZZ_SECONDS}s (log: $log)"
  nice -n 19 cargo +"$FUZZ_TOOLCHAIN" fuzz run "$t" -- \
    -runs="$FUZZ_RUNS" -max_total_time="$FUZZ_SECONDS" \
    -rss_limit_mb="$FUZZ_RSS_MB" -print_final_stats=1 >"$log" 2>&1
  rc=$?

  # libFuzzer's final stats; without them (a crash stops the run) the last
  # "#N ..." status line.
  execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  fi
  execs=${execs:-0}
  # One line per input written to artifacts/ (crash, leak, timeout, oom).
  crashes=$(grep -c 'Test unit written to' "$log")

  if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]; then
    status=ok
  else
    failed=1
    if [ "$crashes" -gt 0 ]; then
      status=CRASH
      grep -m 5 -E 'panicked|ERROR: libFuzzer|Test unit written to' "$log" | sed 's/^/    /'
    else
      status="failed (exit $rc)"
      tail -n 15 "$log" | sed 's/^/    /'
    fi
  fi
  rows+=("$(printf '%-22s %14s %8s  %s' "$t" "$execs" "$crashes" "$status")")
done

echo
printf '%-22s %14s %8s  %s\n' target execs crashes status
for row in "${rows[@]}"; do
  echo "$row"
done
echo "(${FUZZ_RUNS} runs or ${FUZZ_SECONDS}s per target, -rss_limit_mb=${FUZZ_RSS_MB}; logs in $logs)"

exit "$failed"
