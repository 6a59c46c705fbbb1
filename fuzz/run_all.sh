#!/usr/bin/env bash
# Run every harness under fuzz/ for SECONDS each (default 300), one process at a time.
#
#   fuzz/run_all.sh [SECONDS] [HARNESS ...]      e.g.  fuzz/run_all.sh 60 tl abx
#
# The seeds of fuzz/corpus/<name>/ are copied to a scratch corpus, so the corpus that grows during a
# run never lands in the repository; crash/timeout/oom inputs go to $ARTIFACTS (default
# /tmp/fuzz-artifacts/), logs to $LOGS (default /tmp/fuzz-logs/). A stall (-timeout, seconds per
# input) and a memory blow-up (-rss_limit_mb) are findings like an exception.
# Exit status: 0 when no harness found anything, 1 otherwise (the log names the input).
set -u
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-300}
shift || true
HARNESSES=${*:-tl typedstream abx exif f2fs archives}
PYTHON=${PYTHON:-.venv/bin/python}
ARTIFACTS=${ARTIFACTS:-/tmp/fuzz-artifacts}
LOGS=${LOGS:-/tmp/fuzz-logs}
mkdir -p "$ARTIFACTS" "$LOGS"
status=0
for name in $HARNESSES; do
    work=$(mktemp -d "/tmp/fuzz-corpus-$name-XXXXXX")
    cp fuzz/corpus/"$name"/* "$work"/
    echo "== $name: ${SECONDS_EACH}s, log $LOGS/$name.log"
    "$PYTHON" fuzz/fuzz_"$name".py -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$name-" "$work" >"$LOGS/$name.log" 2>&1
    rc=$?
    grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|Done [0-9]+ runs|stat::number_of_executed_units|ERROR|Test unit written" \
        "$LOGS/$name.log" | grep -v "^INFO"
    [ $rc -ne 0 ] && status=1 && echo "   $name: finding (exit $rc), see $LOGS/$name.log"
    rm -rf "$work"
done
exit $status
