#!/bin/sh
# tests/valgrind.sh PROGRAM [ARGS...] - run PROGRAM; under valgrind memcheck when
# MCPGATE_VALGRIND=1, where a memory error or a definite leak makes it exit 99
# (reports on stderr). make check's LOG_COMPILER for the unit tests, and the
# admin command of the integration tests (tests/valgrind-admin.sh).
if [ "${MCPGATE_VALGRIND:-0}" = 1 ]; then
    exec valgrind -q --leak-check=full --show-leak-kinds=definite \
        --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30 --vgdb=no "$@"
fi
exec "$@"
