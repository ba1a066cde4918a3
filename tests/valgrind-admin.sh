#!/bin/sh
# tests/valgrind-admin.sh ARGS... - the admin command (MCPGATE_VALGRIND_ADMIN, the
# build's src/mcpgate) under valgrind: what make check uses as MCPGATE_ADMIN when
# MCPGATE_VALGRIND=1, so that the integration tests check it as they run it.
exec "$(dirname "$0")/valgrind.sh" "${MCPGATE_VALGRIND_ADMIN:?}" "$@"
