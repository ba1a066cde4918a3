#!/usr/bin/env bash
# summary.sh [RC] [DIR...] - print the closing line of a test run,
# "N passed, N failed, N skipped", from the automake .trs files under DIRs
# (default: .). RC is the exit status of the run: a run that failed without
# any failed test result (a build or harness failure) counts as one failure.
set -u
rc=${1:-0}
shift || true
[ $# -gt 0 ] || set -- .
results=$(find "$@" -name '*.trs' -exec grep -h '^:test-result:' {} + 2>/dev/null || true)
count() { printf '%s\n' "$results" | grep -c "^:test-result: $1\$" || true; }
pass=$(( $(count PASS) + $(count XFAIL) ))
fail=$(( $(count FAIL) + $(count ERROR) + $(count XPASS) ))
skip=$(count SKIP)
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1
fi
echo "$pass passed, $fail failed, $skip skipped"
