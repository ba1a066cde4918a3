#!/usr/bin/env bash
# test.sh - the README's test command: install what is missing, build, and
# run every test, on a fresh Debian 12 machine (as root) or a developer's.
#
#   1. the default build (-Werror, in build/) and `make check`: unit tests, the layer
#      check, and the integration tests through lighttpd, Apache mod_fcgid
#      and Apache mod_proxy_fcgi on a private PostgreSQL;
#   2. a separate ASan+UBSan build (in build-san/) running every test that runs
#      mcpgate's code (make check-code);
#   3. a third build (in build-vg/) running those but the timed fault test under
#      valgrind memcheck, responders and admin command included (make check-valgrind;
#      skip with MCPGATE_SKIP_VALGRIND=1);
#   4. `make distcheck` with the tests that show the tarball is complete
#      (make distcheck-tarball; skip with MCPGATE_SKIP_DISTCHECK=1).
# The default build's make check also builds the Debian package, installs
# it, runs mcpgate doctor against it and purges it (test_deb.py).
# Ends with the line "N passed, N failed, N skipped"; exits non-zero when
# anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '\n==> %s\n' "$*"; }
rc=0
run() { "$@" || rc=1; }

step "installing missing packages"
bash scripts/deps.sh test || exit 1

step "configuring (default build in build/)"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    autoreconf -fi || exit 1
fi
if [ -f config.status ]; then
    echo "test.sh: this tree was configured in place; run 'make distclean' first" >&2
    exit 1
fi
configure_in() { # DIR [configure args...]
    local dir=$1
    shift
    mkdir -p "$dir"
    find "$dir" -name '*.trs' -delete
    if [ ! -f "$dir/Makefile" ] || [ configure -nt "$dir/config.status" ]; then
        (cd "$dir" && "$top/configure" --quiet "$@") || return 1
    fi
}
# the README's run command reuses this build
configure_in build || exit 1

step "building and running make check"
run make -C build -j"$jobs" --no-print-directory
# the default build also builds and installs the Debian package (test_deb.py)
run env MCPGATE_DEB_CHECK=1 make -C build -j"$jobs" --no-print-directory check

step "ASan+UBSan build (build-san/) running make check"
configure_in build-san --enable-sanitizers || rc=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run make -C build-san -j"$jobs" --no-print-directory
run make -C build-san -j"$jobs" --no-print-directory check-code
unset ASAN_OPTIONS UBSAN_OPTIONS

if [ "${MCPGATE_SKIP_VALGRIND:-0}" != 1 ]; then
    step "valgrind memcheck build (build-vg/) running make check-valgrind"
    configure_in build-vg || rc=1
    run make -C build-vg -j"$jobs" --no-print-directory
    run make -C build-vg -j"$jobs" --no-print-directory check-valgrind
fi

if [ "${MCPGATE_SKIP_DISTCHECK:-0}" != 1 ]; then
    step "make distcheck"
    # its tree (and .trs files) are removed when it passes: the summary reads its output
    make -C build -j"$jobs" --no-print-directory distcheck-tarball 2>&1 |
        tee build/distcheck.log
    [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
fi

for log in build/test-suite.log build-san/test-suite.log build-vg/test-suite.log; do
    if [ -f "$log" ] && grep -qE '^# (FAIL|ERROR|XPASS): *[1-9]' "$log"; then
        step "failures in $log"
        cat "$log"
    fi
done
echo
dlog=()
[ "${MCPGATE_SKIP_DISTCHECK:-0}" = 1 ] || dlog=(--log build/distcheck.log)
bash scripts/summary.sh "$rc" "${dlog[@]}" build/tests build-san/tests build-vg/tests
exit "$rc"
