#!/bin/bash
# tests/fuzz/run.sh - TAP: builds the libFuzzer targets (tests/fuzz/build.sh)
# and runs each on its seed corpus for a bounded time. One line per target
# with libFuzzer's final executions, cov and ft; a crash fails it and keeps
# the reproducer in $top_builddir/tests/fuzz-build/artifacts/.
# FUZZ_SECONDS (default 10) per target. Skips when clang cannot build
# -fsanitize=fuzzer (scripts/deps.sh installs clang).
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
out=${top_builddir:-.}/tests/fuzz-build
secs=${FUZZ_SECONDS:-10}
targets=$(cd "$src/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
n=$(echo "$targets" | wc -w)

probe=$(mktemp -d)
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){return 0;}' >"$probe/p.c"
if ! ${CC_FUZZ:-clang} -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>/dev/null; then
    rm -rf "$probe"
    echo "1..0 # SKIP clang with libFuzzer not available"
    exit 0
fi
rm -rf "$probe"

echo "1..$n"
mkdir -p "$out"
if ! CC=${CC_FUZZ:-clang} top_srcdir=$src bash "$src/tests/fuzz/build.sh" "$out" >"$out/build.log" 2>&1; then
    sed 's/^/# /' "$out/build.log" | tail -30
    i=0
    for t in $targets; do i=$((i + 1)); echo "not ok $i - $t (build failed)"; done
    exit 0
fi
mkdir -p "$out/artifacts"
i=0
for t in $targets; do
    i=$((i + 1))
    name=${t#fuzz_}
    work="$out/work/$name"
    rm -rf "$work" && mkdir -p "$work"
    "$out/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/artifacts/$name-" "$work" "$src/tests/fuzz/corpus/$name" \
        >"$out/$name.log" 2>&1
    rc=$?
    stats=$(grep -E '^#[0-9]+' "$out/$name.log" | tail -1 |
        sed -E 's/^#([0-9]+).*cov: ([0-9]+) ft: ([0-9]+).*/\1 executions, cov \2, ft \3/')
    if ((rc == 0)); then
        echo "ok $i - $t: $stats"
    else
        echo "not ok $i - $t: exit $rc after $stats; reproducer in $out/artifacts/"
        grep -m5 -E 'ERROR|SUMMARY|runtime error' "$out/$name.log" | sed 's/^/# /'
    fi
done
