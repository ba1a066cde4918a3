#!/usr/bin/env bash
# run.sh - the README's run command: install what is missing, build, and
# start the local stack (private PostgreSQL in .stack/, lighttpd, Apache
# mod_fcgid and mod_proxy_fcgi, all on 127.0.0.1), then print where to
# connect.
#
#   bash scripts/run.sh          start (or restart) the stack
#   bash scripts/run.sh stop     stop everything it started
#   bash scripts/run.sh status   show what runs
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
state="$top/.stack"

case "${1:-start}" in
stop)
    exec bash scripts/stack.sh stop "$state"
    ;;
status)
    exec bash scripts/stack.sh status "$state"
    ;;
start) ;;
*)
    echo "usage: bash scripts/run.sh [start|stop|status]" >&2
    exit 2
    ;;
esac

bash scripts/deps.sh run
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    autoreconf -fi
fi
# the same out-of-tree build as scripts/test.sh
mkdir -p build
if [ ! -f build/Makefile ] || [ configure -nt build/config.status ]; then
    (cd build && "$top/configure" --quiet)
fi
make -C build -j"$(nproc 2>/dev/null || echo 2)" --no-print-directory
export MCPGATE_BUILDDIR="$top/build"

bash scripts/stack.sh stop "$state" >/dev/null 2>&1 || true
bash scripts/stack.sh start "$state"

# shellcheck disable=SC1091
. "$state/env"

# auth = oauth (conf/mcpgate.conf): a demo user to sign in with, with a fresh
# random password (the stack's database is new on every start)
demo_user=demo
demo_password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
build/src/mcpgate --config "$CONFIG_LIGHTTPD" user add "$demo_user" <<<"$demo_password" >/dev/null

cat <<EOT

mcpgate is running.

  MCP endpoint (lighttpd):          $URL_LIGHTTPD/mcp
  MCP endpoint (Apache mod_fcgid):  $URL_FCGID/mcp
  MCP endpoint (Apache proxy_fcgi): $URL_PROXY/mcp
  PostgreSQL:                       psql -h $PGHOST -p $PGPORT -U $PGUSER $PGDATABASE
  logs:                             $state/log/

OAuth is on (auth = oauth). Sign in as:
  user name: $demo_user
  password:  $demo_password
  account page (connected applications, API keys): $URL_LIGHTTPD/account

Try it:
  npx @modelcontextprotocol/inspector   (transport "Streamable HTTP", URL $URL_LIGHTTPD/mcp;
                                         it registers itself and opens the sign-in page)
  or create an API key on the account page, then:
  curl -si $URL_LIGHTTPD/mcp -H 'Authorization: Bearer <API key>' \\
       -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
       -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'

Stop everything:  bash scripts/run.sh stop
EOT
