#!/usr/bin/env bash
# run.sh - the README's run command: install what is missing, build, and
# start the local stack (private PostgreSQL in .stack/, lighttpd, Apache
# mod_fcgid and mod_proxy_fcgi, all on 127.0.0.1) with OAuth on, a demo
# user, and two demo backends (scripts/demo.sh: an upstream MCP server and
# a REST API imported from OpenAPI, served by Prism); then print where to
# connect and how to connect clients.
#
#   bash scripts/run.sh          start (or restart) the stack
#   bash scripts/run.sh stop     stop everything it started
#   bash scripts/run.sh status   show what runs
#
# MCPGATE_PUBLIC_URL=https://… (an HTTPS tunnel to the lighttpd port, for
# ChatGPT) becomes base_url, so OAuth metadata names the public URL.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
state="$top/.stack"

case "${1:-start}" in
stop)
    bash scripts/demo.sh stop "$top/.demo-dir"
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
echo "starting the demo backends (the first run installs their npm packages) ..."
backends_dir=$(bash scripts/demo.sh start "$top/.demo-dir" "$top/build/src/mcpgate")
extra="backends_dir = $backends_dir"
if [ -n "${MCPGATE_PUBLIC_URL:-}" ]; then
    extra="$extra
base_url = ${MCPGATE_PUBLIC_URL%/}"
fi
STACK_CONFIG_EXTRA="$extra" bash scripts/stack.sh start "$state"
backends=$(find "$backends_dir" -maxdepth 1 -name '*.json' -printf '%f\n' | sed 's/\.json$//' |
    sort | tr '\n' ' ')

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

Backends: ${backends:-none} (files in $backends_dir; tools are named <backend>_<tool>)

Connect a client (sign in as $demo_user when it opens the sign-in page):
  MCP Inspector:  npx @modelcontextprotocol/inspector, transport "Streamable HTTP",
                  URL $URL_LIGHTTPD/mcp
  Claude:         Settings > Connectors > Add custom connector, URL https://<public host>/mcp
  ChatGPT:        Settings > Connectors > Developer mode > Create; ChatGPT only reaches
                  public HTTPS URLs: run an HTTPS tunnel (e.g. cloudflared or ngrok) to
                  $URL_LIGHTTPD, then restart with
                  MCPGATE_PUBLIC_URL=https://<tunnel host> bash scripts/run.sh
                  and give ChatGPT https://<tunnel host>/mcp (it registers, asks you to
                  sign in, and asks before tools that are not read-only)
  Cursor:         ~/.cursor/mcp.json: {"mcpServers":{"mcpgate":{"url":"$URL_LIGHTTPD/mcp"}}}
  VS Code:        .vscode/mcp.json: {"servers":{"mcpgate":{"type":"http","url":"$URL_LIGHTTPD/mcp"}}}
  mcp-remote:     create an API key on the account page, then
                  npx mcp-remote $URL_LIGHTTPD/mcp --header "Authorization: Bearer <API key>"
  More: docs/oauth.md and docs/clients.md.

Try it:
  npx @modelcontextprotocol/inspector   (transport "Streamable HTTP", URL $URL_LIGHTTPD/mcp;
                                         it registers itself and opens the sign-in page)
  or create an API key on the account page, then:
  curl -si $URL_LIGHTTPD/mcp -H 'Authorization: Bearer <API key>' \\
       -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
       -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'

Stop everything:  bash scripts/run.sh stop
EOT
