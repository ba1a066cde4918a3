#!/usr/bin/env python3
"""test_audit.py - the audit trail and the rate limits of tool calls, through the web servers.

- every tools/call leaves an audit row: successful, failed (isError), refused (unknown tool,
  insufficient scope, rate limit); arguments only as a digest, secret-looking fields redacted
  first; the row names the user and the request id;
- audit_log is append-only for the responder: UPDATE, DELETE and TRUNCATE fail;
- rate limits per user, counted in PostgreSQL across front ends, every tools/call counted
  (an unknown tool too): over the limit a call gets
  HTTP 429 with Retry-After and JSON-RPC error -32005 (on every transport, the stateless
  2026-07-28 one too), and is audited as refused;
- `mcpgate audit tail|query` with filters and --json.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_audit.py   (TAP)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import Mcp, Stack, Tap, admin  # noqa: E402

USER, PASSWORD = "auditor", "a long enough password"
LIMIT = 4  # echo x3 and the unknown tool are counted: every tools/call is


def keyed(url, key):
    c = Mcp(url, name="audit", bearer=key)
    return c


def rows(st, where="true"):
    ok, out = st.psql("SELECT tool, outcome, coalesce(detail, ''), args_digest,"
                      " coalesce(user_id::text, ''), coalesce(request_id, '')"
                      " FROM audit_log WHERE %s ORDER BY id" % where)
    return [line.split("|") for line in out.splitlines()] if ok and out else []


def main():
    t = Tap()
    extra = "rate_limit_user_per_min = %d\nrate_limit_client_per_min = 0" % LIMIT
    with Stack(t, servers="lighttpd fcgid", config_extra=extra, auth="oauth") as st:
        fes = st.front_ends()
        r = admin(st, "user", "add", USER, stdin=PASSWORD + "\n")
        t.ok(r.returncode == 0, "mcpgate user add", r.stdout, r.stderr)
        r = admin(st, "key", "create", USER, "--name", "audit test")
        key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
        t.ok(r.returncode == 0 and key, "mcpgate key create prints the key once", r.stderr)
        ok, uid = st.psql("SELECT id FROM users WHERE username = '%s'" % USER)

        a = keyed(fes[0][1], key)
        a.initialize()
        r1 = a.tool("echo", {"message": "one", "password": "hunter2"})
        r2 = a.tool("echo", {"message": "one", "password": "different"})
        r3 = a.tool("echo", {})
        r4 = a.tool("no_such_tool", {"x": 1})
        got = rows(st)
        p = []
        if [g[:3] for g in got] != [["echo", "ok", ""], ["echo", "ok", ""], ["echo", "error", ""],
                                    ["no_such_tool", "refused", "unknown tool"]]:
            p.append("rows %r" % got)
        elif got[0][3] != got[1][3] or got[0][3] == got[2][3]:
            p.append("digests %r: secret fields must not change the digest" % [g[3] for g in got])
        if any(g[4] != uid for g in got):
            p.append("user ids %r, expected %s" % ([g[4] for g in got], uid))
        rids = [r.header("X-Request-Id") for r in (r1, r2, r3, r4)]
        if [g[5] for g in got] != rids:
            p.append("request ids %r vs %r" % ([g[5] for g in got], rids))
        t.check("four calls, four audit rows: ok, ok, error (isError), refused (unknown tool)", p)
        ok, dump = st.psql("SELECT string_agg(t::text, ' ') FROM audit_log t")
        t.ok(ok and "hunter2" not in dump and "different" not in dump,
             "no argument value is stored, not even redacted ones")

        # the 5th counted call this minute (limit 4), on the other front end: counted in PostgreSQL
        b = keyed(fes[1][1], key)
        b.initialize()
        r = b.tool("echo", {"message": "over"})
        j = r.json if isinstance(r.json, dict) else {}
        code = (j.get("error") or {}).get("code")
        retry = r.header("Retry-After") or ""
        t.ok(r.status == 429 and code == -32005 and retry.isdigit() and 1 <= int(retry) <= 60,
             "%s: the call over the user's limit -> 429, Retry-After %s, -32005"
             % (fes[1][0], retry), r.describe())
        last = rows(st, "id = (SELECT max(id) FROM audit_log)")
        t.ok(last and last[0][1:3] == ["refused", "rate limited"],
             "the refused call is audited as rate limited", repr(last))
        # the same limit on the stateless 2026-07-28 transport: the same status and header
        r = mcptest.stateless_tool(fes[0][1], key, "echo", {"message": "over"})
        j = r.json if isinstance(r.json, dict) else {}
        retry = r.header("Retry-After") or ""
        t.ok(r.status == 429 and (j.get("error") or {}).get("code") == -32005 and
             retry.isdigit() and 1 <= int(retry) <= 60,
             "%s: a stateless 2026-07-28 call over the limit -> 429, Retry-After %s, -32005"
             % (fes[0][0], retry), r.describe())

        for stmt in ("UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log",
                     "TRUNCATE audit_log"):
            ok, out = st.psql(stmt)
            t.ok(not ok and "append-only" in out, "audit_log refuses: %s" % stmt, out)
        ok, n = st.psql("SELECT count(*) FROM audit_log")
        t.ok(ok and n == "6", "all 6 rows are still there (%s)" % n)

        r = admin(st, "audit", "tail", "-n", "3")
        lines = r.stdout.strip().splitlines()
        t.ok(r.returncode == 0 and len(lines) == 4 and lines[0].startswith("ID") and
             "rate limited" in lines[1], "mcpgate audit tail -n 3: a table, newest first",
             r.stdout, r.stderr)
        r = admin(st, "audit", "query", "--user", USER, "--outcome", "refused", "--json")
        try:
            data = json.loads(r.stdout)
        except ValueError:
            data = None
        t.ok(r.returncode == 0 and isinstance(data, list) and len(data) == 3 and
             all(d["outcome"] == "refused" and d["user"] == USER for d in data),
             "mcpgate audit query --user --outcome refused --json", r.stdout, r.stderr)
        r = admin(st, "audit", "query", "--tool", "echo", "--since", "not a time")
        t.ok(r.returncode != 0 and "--since" in r.stderr, "a bad --since is explained",
             r.stderr)
        r = admin(st, "audit", "query", "--outcome", "maybe")
        t.ok(r.returncode == 2 and "outcome" in r.stderr, "a bad --outcome is a usage error",
             r.stderr)
        mcptest.check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
