#!/usr/bin/env python3
"""test_limits.py - the limits on what one client can make a responder hold or do
(SECURITY.md, "Limits"; docs/man/mcpgate.conf.5), through lighttpd and Apache mod_proxy_fcgi
on one PostgreSQL, with OAuth on (API keys) and the test responder's tools.

Checked, each with a limit set low in the stack's config:
  - max_batch_messages: a longer batch gets 400 -32600 before any of it runs, on /mcp
    (2025-03-26) and on the legacy /messages (before its 202); a batch at the limit runs;
  - max_progress_token_bytes: a longer string progressToken gets -32602;
  - max_events_per_call: a call sending 40 notifications sends and stores at most the
    limit, then one warning, then its result;
  - search_max_query_bytes, search_max_words: search_tools refuses a longer query
    (-32602, audited as refused);
  - the rate limit counts every tools/call: search_tools, call_tool and unknown tools
    included, each before its audit row;
  - a tool name that two upstream MCP backends both give ("a" with "b_c", "a_b" with "c")
    is refused for both, with a log line naming both; one that a static tool has is
    refused for the upstream;
  - upstream_tools_max_kib: an upstream tool list over the bound is not stored, one that
    fits alone but not with the others is not loaded, the other upstreams' are, and the
    log says why.

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_limits.py   (TAP on stdout)
"""

import http.client
import http.server
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import (Mcp, Stack, Tap, admin, check_logs, expect_error, expect_result,  # noqa: E402
                     expect_rpc_error, json_bytes, test_responder, write_backend_files)

BATCH = 5
TOKEN = 64
EVENTS = 10
QUERY_BYTES, QUERY_WORDS = 64, 4
RATE = 8
USER, USER2, PASSWORD = "limits", "limits2", "a long enough password"

BIG_TOOLS = 150  # of about 1.2 KiB each: over upstream_tools_max_kib = 64
MID_TOOLS = 26
UPSTREAM_TOOLS = {
    "/a/mcp": ["b_c", "x"],
    "/ab/mcp": ["c"],
    "/test/mcp": ["stream"],  # backend "test": test_stream, the responder's own tool
    "/big/mcp": ["t%03d" % i for i in range(BIG_TOOLS)],
    # about 35 KiB each: either fits the bound alone, not both together
    "/mid1/mcp": ["m%02d" % i for i in range(MID_TOOLS)],
    "/mid2/mcp": ["m%02d" % i for i in range(MID_TOOLS)],
}


class Upstream(http.server.BaseHTTPRequestHandler):
    """A minimal MCP server: initialize, tools/list by path, tools/call answers its name."""

    def log_message(self, *a):
        pass

    def _send(self, status, obj, headers=()):
        body = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        msg = json.loads(self.rfile.read(n) or b"{}")
        method, id = msg.get("method"), msg.get("id")
        if id is None:
            return self._send(202, None)
        if method == "initialize":
            return self._send(200, {"jsonrpc": "2.0", "id": id, "result": {
                "protocolVersion": msg["params"]["protocolVersion"],
                "capabilities": {"tools": {}}, "serverInfo": {"name": "up", "version": "1"}}},
                headers=[("Mcp-Session-Id", "up-session")])
        if method == "tools/list":
            pad = "p" * 1200 if self.path in ("/big/mcp", "/mid1/mcp", "/mid2/mcp") else ""
            tools = [{"name": n, "description": "tool %s %s" % (n, pad),
                      "inputSchema": {"type": "object"},
                      "annotations": {"readOnlyHint": True}}
                     for n in UPSTREAM_TOOLS.get(self.path, [])]
            return self._send(200, {"jsonrpc": "2.0", "id": id, "result": {"tools": tools}})
        if method == "tools/call":
            text = "%s%s" % (self.path, msg["params"]["name"])
            return self._send(200, {"jsonrpc": "2.0", "id": id, "result": {
                "content": [{"type": "text", "text": text}]}})
        return self._send(200, {"jsonrpc": "2.0", "id": id,
                                "error": {"code": -32601, "message": "no such method"}})


def write_backends(d, port):
    paths = {"a": "/a/mcp", "a_b": "/ab/mcp", "test": "/test/mcp", "big": "/big/mcp",
             "mid1": "/mid1/mcp", "mid2": "/mid2/mcp"}
    write_backend_files(d, {name: {"mcpgate_backend": 1, "kind": "mcp", "name": name,
                                   "url": "http://127.0.0.1:%d%s" % (port, path),
                                   "allow_private": True, "timeout_ms": 5000, "cache_ttl_s": 300}
                            for name, path in paths.items()})


def api_key(t, st, user):
    r = admin(st, "user", "add", user, stdin=PASSWORD + "\n", timeout=60)
    t.ok(r.returncode == 0, "mcpgate user add %s" % user, r.stdout, r.stderr)
    r = admin(st, "key", "create", user, "--name", "limits test", timeout=60)
    key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
    t.ok(r.returncode == 0 and key, "mcpgate key create %s" % user, r.stderr)
    return key


def keyed(url, key, version=mcptest.LATEST):
    c = Mcp(url, version=version, name="limits", bearer=key)
    c.initialize()
    return c


def sse_data(body):
    """The JSON messages of an SSE body (events with data)."""
    out = []
    for block in (body or b"").decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        data = [ln[5:].lstrip(" ") for ln in block.split("\n") if ln.startswith("data:")]
        if data and "".join(data):
            out.append(json.loads("\n".join(data)))
    return out


def pings(n):
    return [{"jsonrpc": "2.0", "id": 100 + i, "method": "ping"} for i in range(n)]


def check_batches(t, fe, url, key):
    c = keyed(url, key, version="2025-03-26")
    r = c.post(pings(BATCH + 1))
    p = expect_error(r, 400, -32600)
    msg = ((r.json or {}).get("error") or {}).get("message", "") if isinstance(r.json, dict) \
        else ""
    if "at most %d" % BATCH not in msg:
        p.append("message %r does not name the limit" % msg)
    t.check("%s: a batch of %d on /mcp -> 400 -32600 naming the limit" % (fe, BATCH + 1), p, r)
    r = c.post(pings(BATCH))
    ok = r.status == 200 and isinstance(r.json, list) and len(r.json) == BATCH
    t.ok(ok, "%s: a batch of %d (the limit) runs: %d replies" % (fe, BATCH, BATCH), r.describe())

    # the 2024-11-05 transport: GET /sse, then POST /messages?sessionId=
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", "/sse", headers={"Accept": "text/event-stream",
                                        "Authorization": "Bearer " + key})
    resp = conn.getresponse()
    endpoint = None
    while resp.status == 200:
        line = resp.readline().decode().strip()
        if line.startswith("data:"):
            endpoint = line[5:].strip()
            break
        if not line and resp.isclosed():
            break
    if not t.ok(endpoint and "sessionId=" in endpoint, "%s: GET /sse names its endpoint" % fe,
                "status %s" % resp.status):
        conn.close()
        return
    h = {"Content-Type": "application/json", "Authorization": "Bearer " + key}
    r = mcptest.request("POST", url + endpoint, json_bytes(pings(BATCH + 1)), h)
    t.check("%s: a batch of %d on /messages -> 400 -32600, not 202" % (fe, BATCH + 1),
            expect_error(r, 400, -32600), r)
    r = mcptest.request("POST", url + endpoint, json_bytes(pings(BATCH)), h)
    t.ok(r.status == 202, "%s: a batch of %d on /messages -> 202" % (fe, BATCH), r.describe())
    conn.close()


def check_progress_token(t, fe, c):
    long_token = "t" * (TOKEN + 1)
    r = c.call("tools/call", {"name": "echo", "arguments": {"message": "hi"},
                              "_meta": {"progressToken": long_token}}, id=7)
    p = expect_rpc_error(r, 7, -32602)
    if long_token.encode() in (r.body or b""):
        p.append("the token is echoed")
    t.check("%s: a progressToken of %d bytes -> -32602" % (fe, TOKEN + 1), p, r)
    r = c.call("tools/call", {"name": "echo", "arguments": {"message": "hi"},
                              "_meta": {"progressToken": "t" * TOKEN}}, id=8)
    p, _ = expect_result(r, 8)
    t.check("%s: a progressToken of %d bytes is fine" % (fe, TOKEN), p, r)


def check_events(t, st, fe, c):
    r = c.call("tools/call", {"name": "test_stream", "arguments": {"count": 20, "interval_ms": 0},
                              "_meta": {"progressToken": "ev"}}, id=9, timeout=30)
    msgs = sse_data(r.body) if r.status == 200 else []
    notes = [m for m in msgs if m.get("method", "").startswith("notifications/")]
    warn = [m for m in notes if m["method"] == "notifications/message" and
            "max_events_per_call" in str(m["params"].get("data"))]
    final = [m for m in msgs if m.get("id") == 9 and "result" in m]
    p = []
    if len(notes) != EVENTS + 1:
        p.append("%d notifications sent, expected %d and a warning" % (len(notes), EVENTS))
    if len(warn) != 1 or notes[-1:] != warn:
        p.append("no single warning after the last one allowed")
    if len(final) != 1 or msgs[-1] is not final[0]:
        p.append("the result does not end the stream")
    t.check("%s: a call sending 40 notifications sends %d, a warning and its result"
            % (fe, EVENTS), p, r)
    ok, n = st.psql("SELECT max(c) FROM (SELECT count(*) AS c FROM mcp_events GROUP BY "
                    "stream_id) s")
    t.ok(ok and n.isdigit() and int(n) <= EVENTS + 3,
         "%s: at most %d events stored for the call (%s)" % (fe, EVENTS + 3, n))


def check_search(t, st, fe, c):
    long_query = "x" * (QUERY_BYTES + 1)
    r = c.tool("search_tools", {"query": long_query}, id=11)
    t.check("%s: search_tools with a %d-byte query -> -32602" % (fe, QUERY_BYTES + 1),
            expect_rpc_error(r, 11, -32602), r)
    r = c.tool("search_tools", {"query": "echo a b c d"}, id=12)
    t.check("%s: search_tools with %d words -> -32602" % (fe, QUERY_WORDS + 1),
            expect_rpc_error(r, 12, -32602), r)
    r = c.tool("search_tools", {"query": "echo message"}, id=13)
    p, res = expect_result(r, 13)
    try:
        found = json.loads(((res or {}).get("content") or [{}])[0].get("text", ""))
    except ValueError:
        found = {}
    names = [x.get("name") for x in found.get("tools", [])]
    if "echo" not in names:
        p.append("echo not found: %r" % names)
    t.check("%s: search_tools with a query within the limits finds echo" % fe, p, r)
    ok, rows = st.psql("SELECT count(*) FROM audit_log WHERE tool = 'search_tools' AND "
                       "outcome = 'refused' AND detail = 'query too long'")
    t.ok(ok and rows == "2", "the refused queries are audited (%s rows)" % rows)


def check_rate(t, st, fes, key):
    """USER2 makes RATE - 1 calls that today's code did not count, one that it did, then
    one over the limit."""
    c = keyed(fes[0][1], key)
    c2 = keyed(fes[1][1], key)
    calls = [(c, "search_tools", {"query": "echo"}), (c2, "search_tools", {"query": "stream"}),
             (c, "search_tools", {"query": "q" * (QUERY_BYTES + 1)}),
             (c2, "call_tool", {"name": "no_such_tool", "arguments": {}}),
             (c, "no_such_tool", {}), (c2, "also_unknown", {}),
             (c, "call_tool", {"name": "echo", "arguments": {"message": "via call_tool"}})]
    statuses = [cl.tool(name, args).status for cl, name, args in calls]
    r = c2.tool("echo", {"message": "the last one allowed"}, id=21)
    p, _ = expect_result(r, 21)
    t.check("%d calls (search_tools, call_tool, unknown tools) then echo: all answered (%r)"
            % (RATE - 1, statuses), p + ["status %r" % statuses] * (set(statuses) != {200}), r)
    r = c.tool("echo", {"message": "over"}, id=22)
    t.check("the call over %d per minute -> 429 -32005: every tools/call was counted" % RATE,
            expect_error(r, 429, -32005, 22), r)
    ok, rows = st.psql("SELECT tool || ':' || outcome || ':' || coalesce(detail, '') FROM "
                       "audit_log a JOIN users u ON u.id = a.user_id WHERE u.username = '%s' "
                       "ORDER BY a.id" % USER2)
    got = rows.splitlines() if ok else []
    want_unknown = ["no_such_tool:refused:unknown tool", "also_unknown:refused:unknown tool"]
    t.ok(all(w in got for w in want_unknown) and got[-1:] == ["echo:refused:rate limited"]
         and len(got) == RATE + 1,
         "each call wrote one audit row; unknown tools as unknown, the last as rate limited",
         "\n".join(got))


def check_upstreams(t, st, fes, c):
    r = c.call("tools/list", id=31)
    p, res = expect_result(r, 31)
    names = [x.get("name") for x in (res or {}).get("tools", [])]
    if "a_x" not in names:
        p.append("a_x (no collision) is not listed")
    if "a_b_c" in names:
        p.append("a_b_c, given by both a and a_b, is listed %d times" % names.count("a_b_c"))
    if names.count("test_stream") != 1:
        p.append("test_stream listed %d times" % names.count("test_stream"))
    big = [n for n in names if n.startswith("big_")]
    if big:
        p.append("%d tools of the list over upstream_tools_max_kib are listed" % len(big))
    mid = (len([n for n in names if n.startswith("mid1_")]),
           len([n for n in names if n.startswith("mid2_")]))
    if mid != (MID_TOOLS, 0):
        p.append("mid1, mid2: %r tools listed; expected only the first list, which fits" % (mid,))
    t.check("tools/list: the colliding name and the over-large list are left out, the rest is "
            "there", p, r)
    r = c.tool("a_b_c", {}, id=32)
    t.check("tools/call a_b_c (two backends give it) -> unknown tool, reaching neither",
            expect_rpc_error(r, 32, -32602), r)
    r = c.tool("a_x", {}, id=33)
    p, res = expect_result(r, 33)
    if "/a/mcpx" not in json.dumps(res):
        p.append("a_x did not reach backend a")
    t.check("tools/call a_x reaches backend a", p, r)
    st.stop(remove=False)
    text = "".join(mcptest.stack_log_texts(st).values())
    coll = re.search(r"tool name used by two backends: refused for both\" tool=a_b_c "
                     r"backend=(a|a_b) other=(a|a_b)", text)
    t.ok(coll and coll.group(1) != coll.group(2),
         "a log line names the tool and both backends (a, a_b)")
    t.ok(re.search(r"tool name used by two backends: the upstream's tool is refused\" "
                   r"tool=test_stream backend=test other=mcpgate", text),
         "a log line names the upstream tool that a static tool's name refuses")
    t.ok(re.search(r"upstream tool list refused\" backend=big why=\"the tool list \(\d+ bytes\) "
                   r"is larger than upstream_tools_max_kib", text),
         "a log line says why backend big's list was refused")
    t.ok(re.search(r"upstream tool list not loaded: the lists would pass upstream_tools_max_kib\" "
                   r"backend=mid2 bytes=\d+ max_bytes=65536", text),
         "a log line says that mid2's list, with mid1's, would pass the bound")


def main():
    t = Tap()
    work = tempfile.mkdtemp(prefix="mcpgate-limits-")
    os.chmod(work, 0o755)  # the stack's responders run as www-data
    up = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    up.daemon_threads = True
    threading.Thread(target=up.serve_forever, daemon=True).start()
    extra = "\n".join([
        "max_batch_messages = %d" % BATCH,
        "max_progress_token_bytes = %d" % TOKEN,
        "max_events_per_call = %d" % EVENTS,
        "search_max_query_bytes = %d" % QUERY_BYTES,
        "search_max_words = %d" % QUERY_WORDS,
        "upstream_tools_max_kib = 64",
        "rate_limit_user_per_min = %d" % RATE,
        "rate_limit_client_per_min = 0",
        "discovery_threshold = 0",  # tools/list lists every tool; search_tools still answers
        "backends_dir = %s" % work])
    try:
        write_backends(work, up.server_address[1])
        with Stack(t, servers="lighttpd proxy", responder=test_responder(), config_extra=extra,
                   auth="oauth") as st:
            fes = st.front_ends()
            key = api_key(t, st, USER)
            key2 = api_key(t, st, USER2)
            for fe, url in fes:
                check_batches(t, fe, url, key)
            c = keyed(fes[0][1], key)
            check_progress_token(t, fes[0][0], c)
            check_events(t, st, fes[0][0], c)
            check_search(t, st, fes[1][0], keyed(fes[1][1], key))
            check_rate(t, st, fes, key2)
            check_upstreams(t, st, fes, c)
            check_logs(t, st)
    finally:
        up.shutdown()
        up.server_close()
        shutil.rmtree(work, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
