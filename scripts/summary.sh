#!/usr/bin/env bash
# summary.sh RC [--log FILE]... [DIR...] - print the closing line of a test run,
# "N passed, N failed, N skipped", from the automake .trs files under DIRs
# (default: .) and the "Testsuite summary" blocks of the make output in each
# --log FILE (make distcheck removes its tree, .trs files included).
# A test script that fails some cases and then exits non-zero counts its failed
# cases only, not the exit status as one more. RC is the exit status of the run:
# a run that failed without any failed test result (a build or harness failure)
# counts as one failure.
set -u
rc=${1:-0}
shift || true
logs=()
while [ $# -gt 0 ] && [ "$1" = --log ]; do
    logs+=("$2")
    shift 2
done
[ $# -gt 0 ] || set -- .
# per .trs file: PASS/XFAIL pass; FAIL/XPASS fail; ERROR (the script's exit
# status, or a bail-out) fails only when no case of that file failed
read -r pass fail skip < <(
    find "$@" -name '*.trs' -print0 2>/dev/null |
        xargs -0 -r awk '
            FNR == 1 && NR > 1 { flush() }
            /^:test-result: (PASS|XFAIL)$/ { p++ }
            /^:test-result: (FAIL|XPASS)$/ { f++ }
            /^:test-result: ERROR$/ { e++ }
            /^:test-result: SKIP$/ { s++ }
            function flush() { P += p; F += f + (f ? 0 : e); S += s; p = f = e = s = 0 }
            END { flush(); print P + 0, F + 0, S + 0 }')
pass=${pass:-0} fail=${fail:-0} skip=${skip:-0}
for log in "${logs[@]}"; do
    [ -f "$log" ] || continue
    read -r lp lf ls < <(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
        /^# PASS: / || /^# XFAIL: / { p += $3 }
        /^# FAIL: / || /^# XPASS: / { f += $3 }
        /^# ERROR: / { e += $3 }
        /^# SKIP: / { s += $3 }
        END { print p + 0, f + (f ? 0 : e), s + 0 }')
    pass=$((pass + lp)) fail=$((fail + lf)) skip=$((skip + ls))
done
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1
fi
echo "$pass passed, $fail failed, $skip skipped"
