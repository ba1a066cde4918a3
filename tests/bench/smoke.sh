#!/bin/sh
# smoke.sh - make check's short run of the benchmark harness (tests/bench/bench.py --smoke):
# every workload for 1 s, 50 SSE streams, TAP on stdout. It fails only when the harness is
# broken (a workload errors, a result is missing), never on the figures; without wrk it is
# skipped. The figures go to $top_builddir/bench/smoke-results.json.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
exec "${PYTHON3:-python3}" "$top_srcdir/tests/bench/bench.py" --smoke
