#!/usr/bin/env python3
"""test_mcp_http.py - the agreed HTTP behaviour of POST/GET/DELETE /mcp, through each front
end of one stack: lighttpd (bin-path), Apache mod_fcgid, and Apache mod_proxy_fcgi to a
standalone responder. The checks, in the order the responder makes them: method (405 +
Allow), Origin (403), Accept (406), Content-Type (415), size (413), JSON (-32700),
JSON-RPC shape (-32600), batches (2025-03-26 sessions only), Mcp-Session-Id (400/404),
MCP-Protocol-Version (400), notifications and responses (202), requests (200: initialize
and version negotiation, ping, tools/list, tools/call, unknown methods), DELETE (204).

Every bad-input case also asserts that mcp_sessions did not change (psql count) and that
the same front end then answers a normal ping (the process keeps serving). At the end the
error logs are searched for session ids and the Authorization value sent with every request.

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_mcp_http.py   (TAP on stdout)
"""

import os
import secrets
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import (ANY_ID, BEARER_TOKEN, LATEST, REQUEST_IDS, SESSION_ID_RE,  # noqa: E402
                     SESSION_IDS, VERSIONS, Mcp, Stack, Tap, check_logs, expect_empty,
                     expect_error, expect_result, expect_rpc_error, json_bytes, ping_ok,
                     request, tool_text)

PING = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'


class FrontEnd:
    def __init__(self, t, st, fe, url):
        self.t, self.st, self.fe, self.url = t, st, fe, url
        self.mcp_url = url + "/mcp"
        conf = st.config(fe)
        self.max_body = int(conf.get("max_body_bytes") or 1048576)
        u = urllib.parse.urlsplit(conf.get("base_url") or url)
        self.origin = "%s://%s" % (u.scheme, u.netloc)
        self.base = Mcp(url, name="base-" + fe)

    # -- helpers

    def count(self):
        return self.st.count_sessions()

    def served_after(self, desc, before, delta=0):
        """After a case: mcp_sessions changed by delta, and a ping on the base session works."""
        after = self.count()
        p = []
        if before is None or after is None:
            p.append("psql count failed (before %r, after %r)" % (before, after))
        elif after != before + delta:
            p.append("mcp_sessions rows %d -> %d, expected %+d" % (before, after, delta))
        pp, pr = ping_ok(self.base)
        p += ["then ping: " + x for x in pp]
        if delta == 0:
            d = "%s: %s: no session row written, ping still served" % (self.fe, desc)
        else:
            d = "%s: %s: mcp_sessions %+d, ping still served" % (self.fe, desc, delta)
        self.t.check(d, p, pr)

    def bad(self, desc, send, status, code, id=None, extra=None):
        """A rejected request: the error response, nothing written, process serving."""
        before = self.count()
        r = send()
        p = expect_error(r, status, code, id)
        if extra:
            p += extra(r)
        self.t.check("%s: %s -> %d %d" % (self.fe, desc, status, code), p, r)
        self.served_after(desc, before)
        return r

    def post(self, body, headers=None, session=True):
        return lambda: self.base.post(body, headers, session)

    def ok_ping(self, desc, headers=None, body=None, id=None):
        """A request that must be served: ping (or body, a ping with this id) with these
        header overrides."""
        id = Mcp.next_id() if id is None else id
        r = self.base.post(body if body is not None else {"jsonrpc": "2.0", "id": id,
                                                           "method": "ping"}, headers)
        p, res = expect_result(r, id)
        if res is not None and res != {}:
            p.append("result %r, expected {}" % (res,))
        self.t.check("%s: %s -> 200 ping result" % (self.fe, desc), p, r)


def allow_header(r):
    allow = r.header("Allow")
    if allow is None:
        return ["no Allow header"]
    got = {m.strip().upper() for m in allow.split(",") if m.strip()}
    if got != {"GET", "POST", "DELETE"}:
        return ["Allow: %r, expected GET, POST, DELETE" % allow]
    return []


def nested(depth, inner=b"1"):
    return b"[" * depth + inner + b"]" * depth


def ping_with_pad(id, length):
    """A ping of exactly length bytes: params {"pad": "aaa..."}."""
    head = b'{"jsonrpc":"2.0","id":%d,"method":"ping","params":{"pad":"' % id
    tail = b'"}}'
    n = length - len(head) - len(tail)
    assert n >= 0
    return head + b"a" * n + tail


# ---------------------------------------------------------------------------


def test_initialize(f):
    t, fe = f.t, f.fe
    before = f.count()
    r = f.base.initialize(LATEST, id="init-base")
    p, res = expect_result(r, "init-base")
    sid = r.header("Mcp-Session-Id")
    if not sid or not SESSION_ID_RE.match(sid):
        p.append("Mcp-Session-Id %r is not 43 chars of [A-Za-z0-9_-]" % sid)
    if isinstance(res, dict):
        if res.get("protocolVersion") != LATEST:
            p.append("protocolVersion %r" % res.get("protocolVersion"))
        caps = res.get("capabilities")
        tools = caps.get("tools") if isinstance(caps, dict) else None
        if not isinstance(tools, dict) or not isinstance(tools.get("listChanged"), bool):
            p.append("capabilities.tools.listChanged missing or not a boolean")
        si = res.get("serverInfo")
        if not isinstance(si, dict) or si.get("name") != "mcpgate" \
                or not isinstance(si.get("version"), str) or not si.get("version"):
            p.append('serverInfo is not {name:"mcpgate", version:string}: %r' % (si,))
        if not isinstance(res.get("instructions"), str):
            p.append("instructions missing or not a string")
    elif res is not None:
        p.append("result is not an object")
    if not t.check("%s: initialize -> 200, session id, result shape" % fe, p, r):
        return False
    f.served_after("initialize", before, delta=1)
    n = f.base.last_notify
    t.check("%s: notifications/initialized -> 202 empty" % fe, expect_empty(n, 202), n)
    ok, out = f.st.psql("SELECT count(*) FROM mcp_sessions t WHERE strpos(t::text, '%s') > 0"
                        % f.base.sid)
    t.ok(ok and out == "0", "%s: the session id is not stored in clear in mcp_sessions" % fe,
         "psql: %s %r" % (ok, out))
    return True


def test_versions(f):
    t, fe = f.t, f.fe
    for req, want in [(v, v) for v in VERSIONS] + [("1999-01-01", LATEST)]:
        before = f.count()
        c = Mcp(f.url, name="v-" + req)
        id = Mcp.next_id()
        r = c.initialize(req, id=id, notify=False)
        p, res = expect_result(r, id)
        if isinstance(res, dict) and res.get("protocolVersion") != want:
            p.append("protocolVersion %r, expected %r" % (res.get("protocolVersion"), want))
        if not c.sid:
            p.append("no session")
        t.check("%s: initialize %s -> protocolVersion %s" % (fe, req, want), p, r)
        if c.sid:
            n = c.notify("notifications/initialized")
            t.check("%s: %s session: notifications/initialized -> 202 empty" % (fe, req),
                    expect_empty(n, 202), n)
            pp, pr = ping_ok(c)
            t.check("%s: %s session: ping (MCP-Protocol-Version %s)"
                    % (fe, want, "sent" if want >= "2025-06-18" else "absent"), pp, pr)
        f.served_after("initialize " + req, before, delta=1)


def test_initialize_errors(f):
    t, fe = f.t, f.fe
    cases = [
        ("initialize without protocolVersion",
         {"capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}),
        ("initialize with numeric protocolVersion",
         {"protocolVersion": 20251125, "capabilities": {},
          "clientInfo": {"name": "x", "version": "1"}}),
        ("initialize without params", None),
    ]
    for desc, params in cases:
        before = f.count()
        c = Mcp(f.url)
        body = {"jsonrpc": "2.0", "id": 77, "method": "initialize"}
        if params is not None:
            body["params"] = params
        r = c.post(body, session=False)
        p = expect_rpc_error(r, 77, -32602)
        if r.header("Mcp-Session-Id"):
            SESSION_IDS.add(r.header("Mcp-Session-Id"))
            p.append("a Mcp-Session-Id header was returned")
        t.check("%s: %s -> 200 JSON-RPC error -32602, no session id" % (fe, desc), p, r)
        f.served_after(desc, before)


def test_method_origin_accept_type(f):
    fe, base = f.fe, f.base
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    # 1. method
    f.bad("GET /mcp from a stateless (2026-07-28) client", lambda: request(
        "GET", f.mcp_url, None, base.headers({"Accept": "text/event-stream", "Content-Type": None,
                                              "MCP-Protocol-Version": "2026-07-28"})),
          405, -32000, extra=allow_header)
    f.bad("GET /mcp that accepts no event stream", lambda: request(
        "GET", f.mcp_url, None, base.headers({"Accept": "application/json",
                                              "Content-Type": None})), 406, -32000)
    f.bad("PUT /mcp", lambda: request("PUT", f.mcp_url, PING, base.headers()), 405, -32000,
          extra=allow_header)
    f.bad("PATCH /mcp", lambda: request("PATCH", f.mcp_url, PING, base.headers()), 405, -32000,
          extra=allow_header)
    # 2. origin
    f.bad("foreign Origin on ping", f.post(ping, {"Origin": "http://evil.example.com"}),
          403, -32000)
    other_port = urllib.parse.urlsplit(f.origin)
    f.bad("Origin with the right host but another port",
          f.post(ping, {"Origin": "%s://%s:1" % (other_port.scheme, other_port.hostname)}),
          403, -32000)
    f.bad("foreign Origin on initialize",
          f.post(base.initialize_body(LATEST), {"Origin": "https://evil.example.com"},
                 session=False), 403, -32000)
    f.ok_ping("Origin = base_url's own origin %s" % f.origin, {"Origin": f.origin})
    # 3. accept
    f.bad("Accept: text/html", f.post(ping, {"Accept": "text/html"}), 406, -32000)
    f.bad("Accept: text/event-stream only", f.post(ping, {"Accept": "text/event-stream"}),
          406, -32000)
    f.ok_ping("no Accept header", {"Accept": None})
    f.ok_ping("Accept: */*", {"Accept": "*/*"})
    f.ok_ping("Accept: application/*", {"Accept": "application/*"})
    f.ok_ping("Accept: application/json", {"Accept": "application/json"})
    # 4. content type
    f.bad("Content-Type: text/plain", f.post(ping, {"Content-Type": "text/plain"}), 415, -32000)
    f.bad("no Content-Type", f.post(ping, {"Content-Type": None}), 415, -32000)
    f.bad("Content-Type: application/x-www-form-urlencoded",
          f.post(ping, {"Content-Type": "application/x-www-form-urlencoded"}), 415, -32000)
    f.ok_ping("Content-Type: application/json; charset=utf-8",
              {"Content-Type": "application/json; charset=utf-8"})
    # 5. size
    big = ping_with_pad(5, f.max_body + 1)
    f.bad("body of max_body_bytes+1 = %d bytes" % len(big), f.post(big), 413, -32000)
    exact_id = Mcp.next_id()
    exact = ping_with_pad(exact_id, f.max_body)
    r = base.post(exact)
    p, res = expect_result(r, exact_id)
    f.t.check("%s: body of exactly max_body_bytes = %d bytes -> 200" % (fe, len(exact)), p, r)


def test_json_errors(f):
    P = -32700
    f.bad("malformed JSON (truncated)", f.post(b'{"jsonrpc":"2.0","id":1,"method":"ping"'), 400, P)
    f.bad("empty body", f.post(b""), 400, P)
    f.bad("trailing garbage after the object", f.post(PING + b" x"), 400, P)
    f.bad("two concatenated objects", f.post(PING + PING), 400, P)
    f.bad("trailing comma", f.post(b'{"jsonrpc":"2.0","id":1,"method":"ping",}'), 400, P)
    f.bad("single-quoted strings", f.post(b"{'jsonrpc':'2.0','id':1,'method':'ping'}"), 400, P)
    f.bad("invalid UTF-8 byte 0xff in method",
          f.post(b'{"jsonrpc":"2.0","id":1,"method":"ping\xff"}'), 400, P)
    f.bad("overlong UTF-8 0xc0 0xaf in params",
          f.post(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":"\xc0\xaf"}}'), 400, P)
    f.bad("raw control character in a string",
          f.post(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":"x\x01y"}}'), 400, P)
    f.bad("10,000-deep nested arrays", f.post(nested(10000)), 400, P)
    f.bad("10,000-deep nesting in params",
          f.post(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + nested(10000)
                 + b"}}"), 400, P)
    f.bad("70-deep nesting in params",
          f.post(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + nested(70)
                 + b"}}"), 400, P)
    id = Mcp.next_id()
    f.ok_ping("60-deep nesting in params", body=b'{"jsonrpc":"2.0","id":%d,"method":"ping",'
              b'"params":{"a":%s}}' % (id, nested(58)), id=id)


def test_jsonrpc_errors(f):
    R = -32600
    cases = [
        ("JSON number", b"42", None),
        ("JSON string", b'"ping"', None),
        ("JSON null", b"null", None),
        ("JSON true", b"true", None),
        ('jsonrpc "1.0" (id echoed)', b'{"jsonrpc":"1.0","id":7,"method":"ping"}', 7),
        ("jsonrpc missing", b'{"id":8,"method":"ping"}', 8),
        ("jsonrpc 2.0 as a number", b'{"jsonrpc":2.0,"id":9,"method":"ping"}', 9),
        ("no method and not a response", b'{"jsonrpc":"2.0","id":10}', 10),
        ("method not a string (string id echoed)", b'{"jsonrpc":"2.0","id":"m5","method":5}',
         "m5"),
        ("id a float", b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}', None),
        ("id an object", b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', None),
        ("id true", b'{"jsonrpc":"2.0","id":true,"method":"ping"}', None),
        ("id null", b'{"jsonrpc":"2.0","id":null,"method":"ping"}', None),
        ("params a string", b'{"jsonrpc":"2.0","id":11,"method":"ping","params":"x"}', 11),
        ("params a number", b'{"jsonrpc":"2.0","id":12,"method":"ping","params":5}', 12),
        ("params null", b'{"jsonrpc":"2.0","id":13,"method":"ping","params":null}', 13),
    ]
    for desc, body, id in cases:
        f.bad(desc, f.post(body), 400, R, id)


def test_batches(f):
    t, fe = f.t, f.fe
    R = -32600
    f.bad("batch on a 2025-11-25 session", f.post(b"[" + PING + b"]"), 400, R)
    f.bad("batch without a session", f.post(b"[" + PING + b"]", session=False), 400, R)
    f.bad("batch holding initialize, no session",
          f.post(b"[" + json_bytes(f.base.initialize_body(LATEST)) + b"]", session=False), 400, R)
    for v in ("2024-11-05", "2025-06-18"):
        c = Mcp(f.url, name="batch-" + v)
        if t.ok(c.initialize(v).status == 200 and c.sid, "%s: %s session for batch test" % (fe, v)):
            f.bad("batch on a %s session" % v,
                  lambda: c.post(b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]'), 400, R)

    b = Mcp(f.url, name="batch-2025-03-26")
    r = b.initialize("2025-03-26")
    if not t.check("%s: 2025-03-26 session for batches" % fe,
                   [] if b.sid and b.version == "2025-03-26" else ["no 2025-03-26 session"], r):
        return
    before = f.count()
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "b2", "method": "tools/call",
         "params": {"name": "echo", "arguments": {"message": "batched"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "no/such/method"},
    ]
    r = b.post(batch)
    p = []
    if r.status != 200:
        p.append("HTTP status %s, expected 200" % r.status)
    if r.content_type != "application/json":
        p.append("Content-Type %r" % r.header("Content-Type"))
    j = r.json
    if not isinstance(j, list):
        p.append("body is not a JSON array")
    else:
        byid = {}
        for m in j:
            if isinstance(m, dict) and "id" in m:
                byid[repr(m["id"])] = m
        if len(j) != 3 or set(byid) != {"1", "'b2'", "3"}:
            p.append("expected 3 responses with ids 1, \"b2\", 3 (none for the notification)")
        else:
            if byid["1"].get("result") != {}:
                p.append("ping response %r" % byid["1"])
            try:
                if byid["'b2'"]["result"]["content"][0]["text"] != "batched":
                    p.append("echo response %r" % byid["'b2'"])
            except (KeyError, IndexError, TypeError):
                p.append("echo response %r" % byid["'b2'"])
            if (byid["3"].get("error") or {}).get("code") != -32601:
                p.append("unknown-method response %r" % byid["3"])
            if any(m.get("jsonrpc") != "2.0" for m in j):
                p.append('a response without "jsonrpc":"2.0"')
    t.check("%s: 2025-03-26 batch (ping, notification, echo, unknown method) -> 200 array of 3"
            % fe, p, r)
    f.served_after("2025-03-26 batch", before)
    r = b.post([{"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "method": "notifications/whatever"}])
    t.check("%s: 2025-03-26 batch of notifications -> 202 empty" % fe,
            expect_empty(r, 202), r)
    # a response to a request the server never sent is an error, also in a batch
    r = b.post([{"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 99, "result": {}}])
    p = []
    j = r.json if r.status == 200 else None
    if not (isinstance(j, list) and len(j) == 1 and
            (j[0].get("error") or {}).get("code") == -32600):
        p.append("expected 200 with one -32600 error, got %s %r" % (r.status, j))
    t.check("%s: 2025-03-26 batch with an unsolicited response -> its -32600 error" % fe, p, r)
    f.bad("empty batch on a 2025-03-26 session", lambda: b.post(b"[]"), 400, R)

    # initialize may not be in a batch: rejected as a whole (400 -32600) or answered with an
    # error for that element; either way no session is created.
    before = f.count()
    init = Mcp(f.url).initialize_body("2025-03-26", id=5)
    r = b.post([init])
    p = []
    if r.header("Mcp-Session-Id"):
        SESSION_IDS.add(r.header("Mcp-Session-Id"))
        p.append("a Mcp-Session-Id header was returned")
    if r.status == 400:
        p += expect_error(r, 400, R)
    elif r.status == 200 and isinstance(r.json, list) and len(r.json) == 1 \
            and isinstance(r.json[0], dict) and "error" in r.json[0]:
        pass
    else:
        p.append("neither 400 -32600 nor an error element for initialize")
    t.check("%s: initialize inside a 2025-03-26 batch is refused" % fe, p, r)
    f.served_after("initialize inside a batch", before)


def test_sessions(f):
    E = -32000
    ping = {"jsonrpc": "2.0", "id": 21, "method": "ping"}
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    sess = ANY_ID
    f.bad("ping without Mcp-Session-Id", f.post(ping, session=False), 400, E, (None, 21))
    f.bad("notification without Mcp-Session-Id", f.post(note, session=False), 400, E)
    for desc, sid in [("3 chars", "abc"),
                      ("42 chars", "a" * 42),
                      ("44 chars", "a" * 44),
                      ("43 chars with '!'", "a" * 42 + "!"),
                      ("43 chars of standard base64 (+ /)", "+/" * 21 + "A"),
                      ("43 chars with '='", "a" * 42 + "=")]:
        f.bad("malformed Mcp-Session-Id (%s)" % desc,
              f.post(ping, {"Mcp-Session-Id": sid}), 400, E, (None, 21))
    unknown = secrets.token_urlsafe(32)
    assert len(unknown) == 43
    f.bad("unknown well-formed Mcp-Session-Id", f.post(ping, {"Mcp-Session-Id": unknown}),
          404, -32001, (None, 21))
    f.bad("unknown session with tools/call",
          f.post({"jsonrpc": "2.0", "id": 22, "method": "tools/call",
                  "params": {"name": "echo", "arguments": {"message": "x"}}},
                 {"Mcp-Session-Id": unknown}), 404, -32001, (None, 22))
    f.bad("notification with an unknown session", f.post(note, {"Mcp-Session-Id": unknown}),
          404, -32001, sess)


def test_protocol_header(f):
    E = -32000
    ping = {"jsonrpc": "2.0", "id": 31, "method": "ping"}
    for v in ("2099-01-01", "not-a-version", "2024-10-07"):
        f.bad("MCP-Protocol-Version %r" % v, f.post(ping, {"MCP-Protocol-Version": v}),
              400, E, (None, 31))
    f.bad("notification with MCP-Protocol-Version 2099-01-01",
          f.post({"jsonrpc": "2.0", "method": "notifications/initialized"},
                 {"MCP-Protocol-Version": "2099-01-01"}), 400, E)
    f.ok_ping("MCP-Protocol-Version absent", {"MCP-Protocol-Version": None})
    f.ok_ping("MCP-Protocol-Version 2025-06-18 (supported) on a 2025-11-25 session",
              {"MCP-Protocol-Version": "2025-06-18"})


def test_order(f):
    """The order of checks in behaviour.md, pairwise."""
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    evil = "http://evil.example.com"
    f.bad("order: PUT with foreign Origin is 405 first",
          lambda: request("PUT", f.mcp_url, PING, f.base.headers({"Origin": evil})), 405, -32000,
          extra=allow_header)
    f.bad("order: foreign Origin and Accept text/html is 403 first",
          f.post(ping, {"Origin": evil, "Accept": "text/html"}), 403, -32000)
    f.bad("order: Accept text/html and Content-Type text/plain is 406 first",
          f.post(ping, {"Accept": "text/html", "Content-Type": "text/plain"}), 406, -32000)
    f.bad("order: Content-Type text/plain and oversized body is 415 first",
          f.post(ping_with_pad(1, f.max_body + 1), {"Content-Type": "text/plain"}), 415, -32000)
    f.bad("order: oversized invalid JSON is 413 first",
          f.post(b"{" * (f.max_body + 1)), 413, -32000)
    f.bad("order: malformed JSON without a session is -32700 first",
          f.post(b"{", session=False), 400, -32700)
    f.bad("order: invalid JSON-RPC without a session is -32600 first",
          f.post(b'{"jsonrpc":"1.0","id":4,"method":"ping"}', session=False), 400, -32600, 4)
    f.bad("order: unknown session and bad MCP-Protocol-Version is 404 first",
          f.post(ping, {"Mcp-Session-Id": secrets.token_urlsafe(32),
                        "MCP-Protocol-Version": "2099-01-01"}), 404, -32001, (None, 1))


def test_notifications(f):
    t, fe, base = f.t, f.fe, f.base
    for desc, msg in [
        ("notifications/initialized", {"jsonrpc": "2.0", "method": "notifications/initialized"}),
        ("unknown notification", {"jsonrpc": "2.0", "method": "notifications/nothing_here",
                                  "params": {"x": 1}}),
    ]:
        before = f.count()
        r = base.post(msg)
        t.check("%s: %s -> 202 empty" % (fe, desc), expect_empty(r, 202), r)
        f.served_after(desc, before)
    # responses are accepted only for requests the server sent (sampling, elicitation)
    for desc, msg in [
        ("JSON-RPC result response to a request never sent",
         {"jsonrpc": "2.0", "id": 5, "result": {}}),
        ("JSON-RPC error response to a request never sent",
         {"jsonrpc": "2.0", "id": "e", "error": {"code": -1, "message": "client says no"}}),
    ]:
        f.bad(desc, lambda msg=msg: base.post(msg), 400, -32600)


def test_requests(f):
    t, fe, base = f.t, f.fe, f.base
    for id in (0, -5, "str-id", ""):
        pp, pr = ping_ok(base, id)
        t.check("%s: ping with id %r -> {} with the same id" % (fe, id), pp, pr)
    before = f.count()
    r = base.call("no/such/method", {}, id=41)
    t.check("%s: unknown method -> JSON-RPC error -32601" % fe, expect_rpc_error(r, 41, -32601), r)
    r = base.call("no/such/method", id="u")
    t.check("%s: unknown method without params -> -32601" % fe, expect_rpc_error(r, "u", -32601), r)
    f.served_after("unknown methods", before)


def test_tools_list(f):
    t, fe, base = f.t, f.fe, f.base
    r = base.call("tools/list", id=51)
    p, res = expect_result(r, 51)
    tools = res.get("tools") if isinstance(res, dict) else None
    echo = None
    if not isinstance(tools, list) or not tools:
        p.append("result.tools is not a non-empty array")
        tools = []
    names = []
    for tl in tools:
        if not isinstance(tl, dict):
            p.append("tool %r is not an object" % (tl,))
            continue
        n = tl.get("name")
        names.append(n)
        if not isinstance(n, str) or not n:
            p.append("tool name %r" % (n,))
        if not isinstance(tl.get("description"), str):
            p.append("%s: description missing" % n)
        sch = tl.get("inputSchema")
        if not isinstance(sch, dict) or sch.get("type") != "object":
            p.append("%s: inputSchema is not {type: object, ...}" % n)
        if not isinstance(tl.get("annotations"), dict):
            p.append("%s: annotations missing" % n)
        if n == "echo":
            echo = tl
    if len(names) != len(set(map(repr, names))):
        p.append("duplicate tool names %r" % names)
    t.check("%s: tools/list -> tools with name, description, inputSchema, annotations" % fe, p, r)

    p = []
    if echo is None:
        p.append("no tool named echo")
    else:
        sch = echo.get("inputSchema") or {}
        props = sch.get("properties") if isinstance(sch.get("properties"), dict) else {}
        if sch.get("type") != "object" or (props.get("message") or {}).get("type") != "string" \
                or sch.get("required") != ["message"]:
            p.append("echo inputSchema %r" % (sch,))
        want = {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True,
                "openWorldHint": False}
        ann = echo.get("annotations") or {}
        for k, v in want.items():
            if ann.get(k) is not v:
                p.append("echo annotations.%s = %r, expected %r" % (k, ann.get(k), v))
    t.check("%s: tools/list has echo with its schema and annotations" % fe, p, r)

    for cursor in ("abc", ""):
        r = base.call("tools/list", {"cursor": cursor}, id=52)
        t.check("%s: tools/list with cursor %r -> -32602" % (fe, cursor),
                expect_rpc_error(r, 52, -32602), r)


def test_tools_call(f):
    t, fe, base = f.t, f.fe, f.base
    for msg in ("hi", 'h\u00e9llo "w\u00f6rld" \\ \u2713 \U0001F600 <&>'):
        r = base.tool("echo", {"message": msg}, id=61)
        p, res = expect_result(r, 61)
        if res is not None:
            if res.get("isError") is not False:
                p.append("isError %r, expected false" % res.get("isError"))
            if res.get("content") != [{"type": "text", "text": msg}]:
                p.append("content %r" % (res.get("content"),))
        t.check("%s: tools/call echo %r -> content [text], isError false" % (fe, msg), p, r)

    for desc, params in [
        ("name missing", {"arguments": {"message": "x"}}),
        ("name a number", {"name": 5, "arguments": {"message": "x"}}),
        ("unknown tool", {"name": "no_such_tool", "arguments": {}}),
        ("arguments a string", {"name": "echo", "arguments": "x"}),
        ("arguments an array", {"name": "echo", "arguments": ["x"]}),
        ("arguments null", {"name": "echo", "arguments": None}),
        ("no params", None),
    ]:
        before = f.count()
        r = base.call("tools/call", params, id=62)
        t.check("%s: tools/call %s -> -32602" % (fe, desc), expect_rpc_error(r, 62, -32602), r)
        f.served_after("tools/call " + desc, before)

    for desc, args in [("echo without message", {}),
                       ("echo with a numeric message", {"message": 5}),
                       ("echo without arguments", None)]:
        r = base.tool("echo", args, id=63)
        p, res = expect_result(r, 63)
        if res is not None:
            if res.get("isError") is not True:
                p.append("isError %r, expected true" % res.get("isError"))
            txt = tool_text(r)
            if not isinstance(txt, str) or not txt:
                p.append("no text content explaining the error")
        t.check("%s: tools/call %s -> result isError true with text" % (fe, desc), p, r)


def test_delete(f):
    t, fe = f.t, f.fe
    d = Mcp(f.url, name="delete-" + fe)
    if not t.ok(d.initialize().status == 200 and d.sid, "%s: session for DELETE" % fe):
        return
    f.bad("DELETE with foreign Origin", lambda: d.delete({"Origin": "http://evil.example.com"}),
          403, -32000)
    pp, pr = ping_ok(d)
    t.check("%s: session still valid after a refused DELETE" % fe, pp, pr)
    before = f.count()
    r = d.delete()
    t.check("%s: DELETE with the session -> 204 empty" % fe, expect_empty(r, 204), r)
    f.served_after("DELETE", before, delta=-1)
    r = d.call("ping", id=71)
    t.check("%s: ping with a deleted session -> 404 -32001" % fe,
            expect_error(r, 404, -32001, (None, 71)), r)
    f.bad("DELETE of a deleted session", lambda: d.delete(), 404, -32001, ANY_ID)
    f.bad("DELETE without Mcp-Session-Id", lambda: d.delete({"Mcp-Session-Id": None}),
          400, -32000, ANY_ID)
    f.bad("DELETE with malformed Mcp-Session-Id", lambda: d.delete({"Mcp-Session-Id": "x" * 10}),
          400, -32000, ANY_ID)
    f.bad("DELETE with unknown Mcp-Session-Id",
          lambda: d.delete({"Mcp-Session-Id": secrets.token_urlsafe(32)}), 404, -32001, ANY_ID)


def test_other_paths(f):
    """The OAuth endpoints are routed to mcpgate (their behaviour is tested in
    test_oauth_flow.py): each answers, none with 404."""
    t, fe = f.t, f.fe
    for method, path, status in [("POST", "/token", 400), ("GET", "/account", 303),
                                 ("GET", "/.well-known/oauth-authorization-server", 200)]:
        h = {"Authorization": "Bearer " + BEARER_TOKEN}
        if method == "POST":
            h["Content-Type"] = "application/x-www-form-urlencoded"
        r = request(method, f.url + path, b"" if method == "POST" else None, h)
        p = []
        if r.status != status:
            p.append("status %s, expected %s" % (r.status, status))
        if not r.header("X-Request-Id"):
            p.append("no X-Request-Id header")
        t.check("%s: %s %s (OAuth endpoint) -> %d" % (fe, method, path, status), p, r)
    r = request("GET", f.url + "/not-routed-anywhere")
    t.check("%s: GET /not-routed-anywhere -> 404" % fe,
            [] if r.status == 404 else ["status %s" % r.status], r)


def run_front_end(f):
    if not test_initialize(f):
        f.t.diag("%s: no base session, the other tests of this front end are skipped" % f.fe)
        return
    test_versions(f)
    test_initialize_errors(f)
    test_method_origin_accept_type(f)
    test_json_errors(f)
    test_jsonrpc_errors(f)
    test_batches(f)
    test_sessions(f)
    test_protocol_header(f)
    test_order(f)
    test_notifications(f)
    test_requests(f)
    test_tools_list(f)
    test_tools_call(f)
    test_delete(f)
    test_other_paths(f)


def main():
    t = Tap()
    with Stack(t) as st:
        for fe, url in st.front_ends():
            run_front_end(FrontEnd(t, st, fe, url))
        dup = len(REQUEST_IDS) - len(set(REQUEST_IDS))
        t.ok(REQUEST_IDS and dup == 0,
             "X-Request-Id values are unique (%d seen)" % len(REQUEST_IDS), "%d duplicates" % dup)
        check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
