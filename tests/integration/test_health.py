#!/usr/bin/env python3
"""test_health.py - /health/live and /health/ready through lighttpd, mod_fcgid and
mod_proxy_fcgi on a real PostgreSQL: both 200 with every check ok; with PostgreSQL
stopped readiness answers 503 with Retry-After and names the database while liveness
stays 200; after PostgreSQL starts again readiness returns to 200; with the schema
bookkeeping one migration behind readiness says "behind" (503), one ahead "ahead" (200);
with the restriction snippets of docs/operations.md (allowing only 10.0.0.0/8) the web
servers answer the health paths from 127.0.0.1 with 403 while /mcp still works; and a
mod_fcgid process in shared mode (threads = 1, db_connections = 1: no listener thread)
is ready with the listener "shared".

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_health.py   (TAP on stdout)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import SLOW, Stack, Tap, request, retry_until  # noqa: E402

# generous bounds for a state change to show (the memo lives 1 s); outcomes are
# asserted, not times
CHANGE_S = 20 * SLOW


def body(r):
    try:
        return json.loads(r.body)
    except (TypeError, ValueError):
        return {}


def text(r):
    return (r.body or b"").decode("utf-8", "replace")


def states(r):
    """{check: (ok, state)} of a readiness answer."""
    return {k: (v.get("ok"), v.get("state")) for k, v in body(r).get("checks", {}).items()}


def ready_until(t, url, pred):
    """Polls GET url/health/ready until pred(response); returns (ok, last response) and
    prints how long it took (a figure, not asserted)."""
    def attempt():
        r = request("GET", url + "/health/ready")
        return pred(r), r
    ok, r, n, elapsed = retry_until(attempt, CHANGE_S, 0.2)
    t.diag("%s: %s after %.2f s, %d poll(s)" % (url, r.status, elapsed, n))
    return ok, r


# docs/operations.md, "Restricting them"
LIGHTTPD_RESTRICT = """
$HTTP["url"] =~ "^/health/" {
    $HTTP["remoteip"] != "10.0.0.0/8" {
        url.access-deny = ( "" )
    }
}
"""
APACHE_RESTRICT = """
<Location "/health/">
    Require ip 10.0.0.0/8
</Location>
"""


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def restrict(t, st, fes):
    """Applies the guide's restriction to every front end: health paths 403, /mcp not."""
    rt = st.env["STACK_RUNTIME"]
    # mod_access before mod_fastcgi, as in Debian's lighttpd.conf (it runs first)
    snippet = os.path.join(rt, "lighttpd", "mcpgate.conf")
    with open(snippet) as f:
        text = f.read()
    with open(snippet, "w") as f:
        f.write('server.modules += ( "mod_access" )\n' + text + LIGHTTPD_RESTRICT)
    for name in ("mcpgate-fcgid.conf", "mcpgate-proxy-fcgi.conf"):
        append(os.path.join(rt, "apache", name), APACHE_RESTRICT)
    # Debian's Apache loads mod_authz_host (Require ip) by default; the stack's does not
    httpd = os.path.join(rt, "apache", "httpd.conf")
    with open(httpd) as f:
        text = f.read()
    core = next(l for l in text.splitlines() if "mod_authz_core.so" in l)
    with open(httpd, "w") as f:
        f.write(text.replace(core, core + "\n" + core.replace("authz_core", "authz_host"), 1))
    r = st.cmd("web-restart")
    t.ok(r.returncode == 0, "stack.sh web-restart with the restriction snippets", r.stderr[-2000:])
    ping = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    for fe, url in fes:
        live = request("GET", url + "/health/live")
        ready = request("GET", url + "/health/ready")
        t.ok(live.status == 403 and ready.status == 403,
             "%s: restricted: health paths 403 from 127.0.0.1" % fe, live.describe(),
             ready.describe())
        r = request("POST", url + "/mcp", body=ping,
                    headers={"Content-Type": "application/json",
                             "Accept": "application/json, text/event-stream",
                             "MCP-Protocol-Version": "2025-06-18"})
        t.ok(r.status != 403 and r.status is not None,
             "%s: restricted: /mcp is not affected" % fe, r.describe())


def main():
    t = Tap()
    with Stack(t) as st:
        fes = st.front_ends()
        secret_bits = [st.env.get("MCPGATE_DB", "?"), st.env.get("PGHOST", "?")]
        all_ok = {"database": (True, "reachable"), "schema": (True, "current"),
                  "listener": (True, "connected")}
        for fe, url in fes:
            r = request("GET", url + "/health/live")
            t.ok(r.status == 200 and body(r).get("status") == "live",
                 "%s: live 200 {\"status\":\"live\"}" % fe, r.describe())
            # a process may just have been spawned for this request: poll
            ok, r = ready_until(t, url, lambda r: r.status == 200)
            t.ok(ok and body(r).get("status") == "ready" and states(r) == all_ok,
                 "%s: ready 200, database reachable, schema current, listener connected" % fe,
                 r.describe())
            t.ok(r.header("Content-Type") == "application/json"
                 and r.header("Cache-Control") == "no-store",
                 "%s: ready is JSON, not cached" % fe, r.describe())
            r = request("POST", url + "/health/ready", body="")
            t.ok(r.status == 405 and r.header("Allow") == "GET, HEAD",
                 "%s: POST ready -> 405, Allow: GET, HEAD" % fe, r.describe())

        # PostgreSQL down
        r = st.cmd("pg-stop")
        t.ok(r.returncode == 0, "stack.sh pg-stop", r.stderr[-1500:])
        for fe, url in fes:
            # the listener may notice first: wait for the database check itself
            ok, r = ready_until(t, url, lambda r: states(r).get("database") == (False, "unreachable"))
            s = states(r)
            t.ok(ok and r.status == 503 and r.header("Retry-After") == "1"
                 and body(r).get("status") == "not_ready",
                 "%s: PostgreSQL stopped: ready 503, Retry-After: 1" % fe, r.describe())
            t.ok(s.get("schema") == (False, "unknown"),
                 "%s: the body names the database unreachable, the schema unknown" % fe,
                 r.describe())
            t.ok(not any(b in text(r) for b in secret_bits if b),
                 "%s: the body reveals no connection string or socket path" % fe, text(r))
            r = request("GET", url + "/health/live")
            t.ok(r.status == 200, "%s: PostgreSQL stopped: live still 200" % fe, r.describe())
        # the listener notices too (it asks its server something every second)
        fe, url = fes[0]
        ok, r = ready_until(t, url, lambda r: states(r).get("listener") == (False, "disconnected"))
        t.ok(ok, "%s: PostgreSQL stopped: the listener check says disconnected" % fe,
             r.describe())

        r = st.cmd("pg-start")
        t.ok(r.returncode == 0, "stack.sh pg-start", r.stderr[-1500:])
        for fe, url in fes:
            ok, r = ready_until(t, url, lambda r: r.status == 200 and states(r) == all_ok)
            t.ok(ok, "%s: PostgreSQL back: ready 200 with every check ok again" % fe,
                 r.describe())

        # schema bookkeeping one migration behind, then one ahead
        ok, last = st.psql("SELECT version || '|' || name FROM mcpgate_schema "
                           "ORDER BY version DESC LIMIT 1")
        t.ok(ok and "|" in last, "the newest row of mcpgate_schema", last)
        version, name = last.split("|", 1) if "|" in last else ("0", "")
        ok, out = st.psql("DELETE FROM mcpgate_schema WHERE version = %d" % int(version))
        t.ok(ok, "delete the newest migration's row", out)
        for fe, url in fes:
            ok, r = ready_until(t, url, lambda r: r.status == 503)
            sc = body(r).get("checks", {}).get("schema", {})
            t.ok(ok and sc.get("state") == "behind" and sc.get("ok") is False
                 and sc.get("needed") == int(version) and sc.get("version") < int(version)
                 and r.header("Retry-After") == "1",
                 "%s: schema behind: ready 503 naming the schema behind" % fe, r.describe())
        ok, out = st.psql("INSERT INTO mcpgate_schema (version, name) VALUES (%d, '%s'), "
                          "(%d, 'from_a_newer_build')" % (int(version), name.replace("'", "''"),
                                                          int(version) + 1))
        t.ok(ok, "restore the row and add one a newer build would have applied", out)
        for fe, url in fes:
            ok, r = ready_until(t, url, lambda r: r.status == 200)
            sc = body(r).get("checks", {}).get("schema", {})
            t.ok(ok and sc.get("state") == "ahead" and sc.get("ok") is True,
                 "%s: schema ahead (rolling upgrade): ready 200, schema ahead" % fe,
                 r.describe())
        restrict(t, st, fes)

    with Stack(t, servers="fcgid", config_extra="db_connections = 1") as st:
        for fe, url in st.front_ends():
            ok, r = ready_until(t, url, lambda r: r.status == 200)
            t.ok(ok and states(r) == dict(all_ok, listener=(True, "shared")),
                 "%s shared mode: ready 200, listener shared" % fe, r.describe())
    t.done()


if __name__ == "__main__":
    main()
