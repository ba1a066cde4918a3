#!/usr/bin/env bash
# demo.sh - the demo backends of the README's run command:
#   an upstream MCP server (@modelcontextprotocol/server-everything) and
#   a REST API (the OpenAPI Petstore in examples/openapi/, served by Stoplight
#   Prism, imported with mcpgate backend import-openapi),
# both on 127.0.0.1, with their backend files in a directory the responders
# (www-data) can read. Their npm packages are the versions the tests pin
# (tests/upstream, tests/openapi), installed with npm ci.
#
#   bash scripts/demo.sh start STATE_FILE ADMIN   prints the backends_dir to use
#   bash scripts/demo.sh stop STATE_FILE
#
# STATE_FILE records the demo directory (a /tmp/mcpgate-demo.XXXXXX); stop
# ends the servers and removes it. A backend whose server cannot start is
# left out with a warning: the rest of the demo still runs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

log() { echo "demo.sh: $*" >&2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # PORT SECONDS
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

npm_install() { # SRC_DIR DEST_DIR
    mkdir -p "$2"
    cp "$1/package.json" "$1/package-lock.json" "$2/"
    (cd "$2" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1)
}

stop() {
    local state=$1 dir pid
    [ -f "$state" ] || return 0
    dir=$(cat "$state")
    for pid in "$dir"/*.pid; do
        [ -f "$pid" ] || continue
        kill "$(cat "$pid")" 2>/dev/null || true
    done
    sleep 0.3
    for pid in "$dir"/*.pid; do
        [ -f "$pid" ] || continue
        kill -9 "$(cat "$pid")" 2>/dev/null || true
    done
    case "$dir" in
    /tmp/mcpgate-demo.*) rm -rf -- "$dir" ;;
    esac
    rm -f -- "$state"
}

start() {
    local state=$1 admin=$2 dir
    stop "$state"
    dir=$(mktemp -d /tmp/mcpgate-demo.XXXXXX)
    chmod 755 "$dir"
    echo "$dir" >"$state"
    mkdir -p "$dir/backends.d"
    chmod 755 "$dir/backends.d"
    command -v npm >/dev/null || log "npm is missing: no demo backends"

    # the upstream MCP server
    local port
    if command -v npm >/dev/null && npm_install "$top/tests/upstream" "$dir/upstream"; then
        port=$(free_port)
        # a clean environment: its get-env tool shows the server's environment
        env -i PATH="$PATH" HOME="$dir" PORT="$port" nohup node \
            --require "$top/tests/upstream/loopback.cjs" \
            "$dir/upstream/node_modules/@modelcontextprotocol/server-everything/dist/index.js" \
            streamableHttp >"$dir/everything.log" 2>&1 &
        echo $! >"$dir/everything.pid"
        if wait_port "$port" 30; then
            cat >"$dir/backends.d/everything.json" <<EOF
{
  "mcpgate_backend": 1,
  "kind": "mcp",
  "name": "everything",
  "title": "MCP Everything (demo upstream)",
  "description": "The MCP reference test server, as an upstream MCP backend of the demo.",
  "url": "http://127.0.0.1:$port/mcp",
  "allow_private": true
}
EOF
        else
            log "server-everything did not start (see $dir/everything.log): left out"
        fi
    else
        log "could not install @modelcontextprotocol/server-everything: left out"
    fi

    # the REST API
    if command -v npm >/dev/null && npm_install "$top/tests/openapi" "$dir/openapi"; then
        port=$(free_port)
        nohup "$dir/openapi/node_modules/.bin/prism" mock -h 127.0.0.1 -p "$port" \
            "$top/examples/openapi/petstore-3.0.json" >"$dir/prism.log" 2>&1 &
        echo $! >"$dir/prism.pid"
        if wait_port "$port" 60 &&
            "$admin" --database dbname=unused backend import-openapi \
                "$top/examples/openapi/petstore-3.0.json" --name petstore \
                --base-url "http://127.0.0.1:$port" --allow-private \
                --output "$dir/backends.d/petstore.json" >"$dir/import.log" 2>&1; then
            chmod 644 "$dir/backends.d/petstore.json"
        else
            log "Prism or the import failed (see $dir/prism.log, $dir/import.log): left out"
        fi
    else
        log "could not install @stoplight/prism-cli: the Petstore backend is left out"
    fi
    chmod 644 "$dir"/backends.d/*.json 2>/dev/null || true
    echo "$dir/backends.d"
}

case "${1:-}" in
start) start "$2" "$3" ;;
stop) stop "$2" ;;
*)
    echo "usage: bash scripts/demo.sh start STATE_FILE ADMIN | stop STATE_FILE" >&2
    exit 2
    ;;
esac
