#!/usr/bin/env python3
"""test_streams.py - the streaming half of the MCP transports, through real web servers:

- a POST whose call sends notifications becomes an SSE stream: priming event (2025-11-25),
  progress and log notifications with ids, then the response; older versions get no priming;
- a stream dropped mid-call resumes with GET + Last-Event-ID at another front end, with no
  event lost or repeated; a stream the server closes early (SSE polling) too;
- sampling and elicitation requests from server to client whose answers are POSTed to
  another front end (another process), correlated through PostgreSQL;
- notifications/cancelled stops the work of the cancelled call, from another front end;
- the GET stream: heartbeats, bounded life, retry hint; Last-Event-ID garbage or from
  another session refused;
- the 2024-11-05 HTTP+SSE transport (/sse + /messages);
- the stateless 2026-07-28 protocol: server/discover, headers checked against the body
  (Mcp-Method, Mcp-Name, and the Mcp-Param-* headers of x-mcp-header arguments), its error
  codes, resultType, nothing stored;
- DNS rebinding: a foreign Host is refused.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_streams.py  (TAP)
"""

import base64
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import (SLOW, Mcp, Stack, Tap, expect_error, json_bytes, request,  # noqa: E402
                     test_responder)

CONFIG = "sse_max_s = 3\nsse_heartbeat_s = 1\nsse_retry_ms = 500"
ACCEPT = "application/json, text/event-stream"
MODERN = "2026-07-28"


class SSE:
    """A streamed HTTP exchange read event by event."""

    def __init__(self, method, url, body=None, headers=None, timeout=10):
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        path = u.path + ("?" + u.query if u.query else "")
        data = json_bytes(body) if body is not None and not isinstance(body, bytes) else body
        hdrs = {k: v for k, v in (headers or {}).items() if v is not None}
        self.conn.request(method, path, body=data, headers=hdrs)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.ctype = (self.resp.getheader("Content-Type") or "").split(";")[0]
        self.headers = dict((k.lower(), v) for k, v in self.resp.getheaders())
        self.comments = 0
        self.retry = None
        self.closed = False

    def next(self):
        """The next event as a dict {id, event, data}, or None at the end of the stream."""
        ev = {"id": None, "event": None, "data": None}
        seen = False
        while True:
            try:
                line = self.resp.readline()
            except (OSError, http.client.HTTPException):
                line = b""
            if not line:
                self.closed = True
                return ev if seen else None
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if seen:
                    return ev
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "retry":
                self.retry = value
                continue
            seen = True
            if field == "data":
                ev["data"] = value if ev["data"] is None else ev["data"] + "\n" + value
            elif field in ("id", "event"):
                ev[field] = value

    def messages(self, stop=None):
        """Events until the stream ends or stop(event) is true."""
        out = []
        while True:
            ev = self.next()
            if ev is None:
                return out
            out.append(ev)
            if stop and stop(ev):
                return out

    def body(self):
        return self.resp.read()

    def close(self):
        self.conn.close()


def parse(ev):
    try:
        return json.loads(ev["data"]) if ev and ev.get("data") else None
    except ValueError:
        return None


def is_response(ev, id):
    m = parse(ev)
    return isinstance(m, dict) and m.get("id") == id and ("result" in m or "error" in m)


def seq_of(ev):
    return int(ev["id"].rsplit(".", 1)[1])


def session(url, version="2025-11-25", caps=None, name="streams"):
    c = Mcp(url, version=version, name=name)
    params = {"protocolVersion": version, "capabilities": caps or {},
              "clientInfo": {"name": name, "version": "1"}}
    c.initialize(params=params)
    return c


def post_stream(c, url, body):
    return SSE("POST", url + "/mcp", body, c.headers({"Accept": ACCEPT}))


def call_body(id, name, args=None, token=None):
    params = {"name": name, "arguments": args or {}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}


def test_progress_stream(t, fe, url, version):
    c = session(url, version)
    s = post_stream(c, url, call_body(7, "test_stream", {"count": 3, "interval_ms": 50}, "tok"))
    evs = s.messages()
    s.close()
    p = []
    if s.status != 200 or s.ctype != "text/event-stream":
        p.append("status %s type %s" % (s.status, s.ctype))
    if s.headers.get("x-accel-buffering") != "no":
        p.append("no X-Accel-Buffering: no")
    if s.retry is None:
        p.append("no retry hint")
    priming = [e for e in evs if e["data"] == ""]
    data = [e for e in evs if e["data"]]
    want_priming = version >= "2025-11-25"
    if bool(priming) != want_priming:
        p.append("priming event %s, expected %s" % (bool(priming), want_priming))
    if priming and evs[0] is not priming[0]:
        p.append("priming event is not first")
    progress = [parse(e)["params"]["progress"] for e in data
                if parse(e).get("method") == "notifications/progress"]
    if progress != [1, 2, 3]:
        p.append("progress values %r" % progress)
    logs = [e for e in data if parse(e).get("method") == "notifications/message"]
    if len(logs) != 3:
        p.append("%d log messages" % len(logs))
    if not data or not is_response(data[-1], 7):
        p.append("the stream does not end with the response")
    ids = [e["id"] for e in evs]
    if None in ids or len({i.rsplit(".", 1)[0] for i in ids}) != 1 or \
            [seq_of(e) for e in evs] != sorted(seq_of(e) for e in evs):
        p.append("event ids %r are not one stream in order" % ids)
    t.check("%s: %s tools/call with progress streams as SSE (%d events)"
            % (fe, version, len(evs)), p)


def test_resume(t, fes):
    (fe_a, url_a), (fe_b, url_b) = fes[0], fes[1]
    c = session(url_a, name="resume")
    s = post_stream(c, url_a, call_body(11, "test_stream", {"count": 6, "interval_ms": 250}, 1))
    first = []
    while len([e for e in first if e["data"]]) < 3:
        ev = s.next()
        if ev is None:
            break
        first.append(ev)
    s.close()  # the client goes away mid-call; the call goes on
    last_id = first[-1]["id"] if first else ""
    time.sleep(0.3)
    g = SSE("GET", url_b + "/mcp", None, c.headers({"Accept": "text/event-stream",
                                                    "Last-Event-ID": last_id,
                                                    "Content-Type": None}), timeout=15)
    rest = g.messages(lambda e: is_response(e, 11))
    g.close()
    allev = first + rest
    seqs = [seq_of(e) for e in allev]
    p = []
    if g.status != 200:
        p.append("resume status %s" % g.status)
    if seqs != list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True:
        p.append("event seqs %r have gaps or repeats" % seqs)
    if not rest or not is_response(rest[-1], 11):
        p.append("the resumed stream does not end with the response")
    progress = [parse(e)["params"]["progress"] for e in allev
                if e["data"] and parse(e).get("method") == "notifications/progress"]
    if progress != [1, 2, 3, 4, 5, 6]:
        p.append("progress %r" % progress)
    t.check("stream dropped on %s resumes on %s: %d + %d events, none lost or repeated"
            % (fe_a, fe_b, len(first), len(rest)), p)

    # the server ends a stream early (SSE polling); the client resumes for the result
    s = post_stream(c, url_a, call_body(12, "test_hangup"))
    evs = s.messages()
    s.close()
    p = [] if evs and evs[-1]["id"] else ["no event id to resume from: %r" % evs]
    if any(is_response(e, 12) for e in evs):
        p.append("the response came before the hangup")
    t.check("%s: a stream the server closes early carries an id to resume from" % fe_a, p)
    if evs and evs[-1]["id"]:
        g = SSE("GET", url_b + "/mcp", None, c.headers({"Accept": "text/event-stream",
                                                        "Last-Event-ID": evs[-1]["id"],
                                                        "Content-Type": None}))
        rest = g.messages(lambda e: is_response(e, 12))
        g.close()
        ok = rest and is_response(rest[-1], 12) and \
            parse(rest[-1])["result"]["content"][0]["text"] == "done after hangup"
        t.ok(ok, "%s: resuming on %s delivers the result of the closed stream" % (fe_a, fe_b),
             repr(rest))

    # Last-Event-ID: garbage, unknown, and another session's
    hdr = {"Accept": "text/event-stream", "Content-Type": None}
    r = request("GET", url_b + "/mcp", None, c.headers(dict(hdr, **{"Last-Event-ID": "junk"})))
    t.check("%s: garbage Last-Event-ID -> 400" % fe_b, expect_error(r, 400, -32000), r)
    r = request("GET", url_b + "/mcp", None,
                c.headers(dict(hdr, **{"Last-Event-ID": "A" * 22 + ".1"})))
    t.check("%s: unknown Last-Event-ID -> 404" % fe_b, expect_error(r, 404, -32000), r)
    other = session(url_b, name="other")
    r = request("GET", url_b + "/mcp", None, other.headers(dict(hdr, **{"Last-Event-ID": last_id})))
    t.check("%s: another session's Last-Event-ID -> 404, nothing replayed" % fe_b,
            expect_error(r, 404, -32000), r)


def answer(c, url, id, result):
    return c.post({"jsonrpc": "2.0", "id": id, "result": result}) if url is None else \
        request("POST", url + "/mcp", json_bytes({"jsonrpc": "2.0", "id": id, "result": result}),
                c.headers())


def test_server_requests(t, fes):
    (fe_a, url_a), (fe_b, url_b) = fes[0], fes[1]
    for kind, method, result, want in [
        ("sampling", "sampling/createMessage",
         {"role": "assistant", "content": {"type": "text", "text": "hello from the client"},
          "model": "test-model"}, "hello from the client"),
        ("elicitation", "elicitation/create",
         {"action": "accept", "content": {"name": "Ada"}}, "Ada"),
    ]:
        c = session(url_a, caps={kind: {}}, name="ask-" + kind)
        s = post_stream(c, url_a, call_body(21, "test_ask", {"kind": kind}))
        req = None
        evs = []
        while True:
            ev = s.next()
            if ev is None:
                break
            evs.append(ev)
            m = parse(ev)
            if isinstance(m, dict) and m.get("method") == method and "id" in m:
                req = m
                break
        t.ok(req is not None, "%s: %s request arrives on the call's stream" % (fe_a, method),
             repr(evs))
        if req is None:
            s.close()
            continue
        r = answer(c, url_b, req["id"], result)
        t.ok(r.status == 202, "%s: the answer POSTed to %s -> 202" % (kind, fe_b), r.describe())
        rest = s.messages(lambda e: is_response(e, 21))
        s.close()
        final = parse(rest[-1]) if rest else None
        text = final["result"]["content"][0]["text"] if final and "result" in final else ""
        t.ok(want in text, "%s: the tool on %s got the answer given to %s" % (kind, fe_a, fe_b),
             repr(rest))
        r = answer(c, url_b, req["id"], result)
        t.check("%s: a second answer to the same request -> 400 -32600" % kind,
                expect_error(r, 400, -32600), r)
    c = session(url_a, caps={}, name="ask-nocap")
    r = c.tool("test_ask", {"kind": "sampling"})
    j = r.json if isinstance(r.json, dict) else {}
    res = j.get("result") or {}
    t.ok(res.get("isError") is True and "capability" in json.dumps(res),
         "%s: no sampling request to a client that did not declare it" % fe_a, r.describe())


def test_cancel(t, fes):
    (fe_a, url_a), (fe_b, url_b) = fes[0], fes[1]
    c = session(url_a, name="cancel")
    box = {}

    def run():
        box["r"] = c.tool("test_cancellable", {"ms": 8000}, id="cancel-me", timeout=20)

    th = threading.Thread(target=run)
    t0 = time.monotonic()
    th.start()
    time.sleep(0.6)
    r = request("POST", url_b + "/mcp",
                json_bytes({"jsonrpc": "2.0", "method": "notifications/cancelled",
                            "params": {"requestId": "cancel-me", "reason": "user stop"}}),
                c.headers())
    t.ok(r.status == 202, "notifications/cancelled on %s -> 202" % fe_b, r.describe())
    th.join(20)
    took = time.monotonic() - t0
    res = box.get("r")
    text = ""
    if res is not None and isinstance(res.json, dict):
        text = json.dumps(res.json)
    t.ok("cancelled after" in text and took < 4,
         "the call on %s stopped its work %.1fs after starting (cancelled on %s)"
         % (fe_a, took, fe_b), text)


def test_get_stream(t, fe, url):
    c = session(url, name="get")
    t0 = time.monotonic()
    g = SSE("GET", url + "/mcp", None, c.headers({"Accept": "text/event-stream",
                                                  "Content-Type": None}), timeout=15)
    evs = g.messages()
    took = time.monotonic() - t0
    g.close()
    p = []
    if g.status != 200 or g.ctype != "text/event-stream":
        p.append("status %s type %s" % (g.status, g.ctype))
    if g.retry != "500":
        p.append("retry hint %r" % g.retry)
    if g.comments < 1:
        p.append("no heartbeat comment")
    if not 2.0 <= took <= 8:
        p.append("lasted %.1fs, sse_max_s is 3" % took)
    if evs:
        p.append("unexpected events %r" % evs)
    t.check("%s: GET stream: retry hint, %d heartbeats, closed after %.1fs"
            % (fe, g.comments, took), p)
    r = request("GET", url + "/mcp", None,
                c.headers({"Accept": "application/json", "Content-Type": None}))
    t.check("%s: GET that accepts no event stream -> 406" % fe, expect_error(r, 406, -32000), r)


def test_missed_notifications(t, fe, url, other_url):
    """A notification published while the session has no GET stream connected arrives when
    one opens without Last-Event-ID (clients reconnect without one when they had no event
    yet), and a second connection does not get it again."""
    uri = "test://watched-resource"
    c = session(url, name="missed")
    r = c.call("resources/subscribe", {"uri": uri})
    t.ok(r.status == 200, "%s: resources/subscribe" % fe, r.describe())
    o = session(other_url, name="updater")
    r = o.tool("test_update_resource", {"uri": uri})
    t.ok(r.status == 200, "the resource is updated from another front end", r.describe())
    hdr = c.headers({"Accept": "text/event-stream", "Content-Type": None})
    g = SSE("GET", url + "/mcp", None, hdr, timeout=15)
    evs = g.messages(lambda e: "resources/updated" in (e.get("data") or ""))
    g.close()
    got = [parse(e) for e in evs if e.get("data")]
    t.ok(any(m and m.get("method") == "notifications/resources/updated" and
             m["params"]["uri"] == uri for m in got),
         "%s: the update published before the GET stream opened is delivered" % fe, repr(evs))
    g = SSE("GET", url + "/mcp", None, hdr, timeout=15)
    again = [e for e in g.messages() if e.get("data")]
    g.close()
    t.ok(not again, "%s: a later GET stream does not deliver it again" % fe, repr(again))


def test_legacy(t, fe, url):
    g = SSE("GET", url + "/sse", None, {"Accept": "text/event-stream"}, timeout=10)
    ep = g.next()
    p = []
    if g.status != 200 or not ep or ep["event"] != "endpoint" or \
            not (ep["data"] or "").startswith("/messages?sessionId="):
        p.append("first event %r (status %s)" % (ep, g.status))
    t.check("%s: GET /sse sends the endpoint event first" % fe, p)
    if p:
        g.close()
        return
    post_url = url + ep["data"]
    hdr = {"Content-Type": "application/json"}

    def send(msg):
        return request("POST", post_url, json_bytes(msg), hdr)

    r = send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2024-11-05", "capabilities": {},
                         "clientInfo": {"name": "legacy", "version": "1"}}})
    t.ok(r.status == 202 and r.body == b"Accepted", "%s: POST initialize to /messages -> 202"
         % fe, r.describe())
    ev = g.messages(lambda e: is_response(e, 1))
    init = parse(ev[-1]) if ev else None
    t.ok(init and init.get("result", {}).get("protocolVersion") == "2024-11-05" and
         ev[-1]["event"] == "message", "%s: the initialize result arrives as event: message" % fe,
         repr(ev))
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    r = send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
              "params": {"name": "echo", "arguments": {"message": "over sse"}}})
    ev = g.messages(lambda e: is_response(e, 2))
    res = parse(ev[-1]) if ev else None
    t.ok(r.status == 202 and res and res["result"]["content"][0]["text"] == "over sse",
         "%s: tools/call over the 2024-11-05 transport" % fe, repr(ev))
    g.close()
    r = request("POST", url + "/messages?sessionId=" + "B" * 22, json_bytes({}), hdr)
    t.check("%s: /messages with an unknown sessionId -> 404" % fe, expect_error(r, 404, -32001), r)
    r = request("POST", url + "/messages", json_bytes({}), hdr)
    t.check("%s: /messages without sessionId -> 400" % fe, expect_error(r, 400, -32000), r)
    r = request("POST", url + "/sse", json_bytes({}), hdr)
    t.check("%s: POST /sse -> 405 (clients fall back to GET)" % fe,
            expect_error(r, 405, -32000), r)


def modern_headers(method, name=None, version=MODERN):
    h = {"Content-Type": "application/json", "Accept": ACCEPT,
         "MCP-Protocol-Version": version, "Mcp-Method": method}
    if name is not None:
        h["Mcp-Name"] = name
    return h


def modern_body(id, method, params=None, version=MODERN, token=None):
    params = dict(params or {})
    meta = {"io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}
    if token is not None:
        meta["progressToken"] = token
    params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


def test_modern(t, fe, url, st):
    u = url + "/mcp"
    streams_before = st.psql("SELECT count(*) FROM mcp_streams")[1]
    r = request("POST", u, json_bytes(modern_body(1, "server/discover")),
                modern_headers("server/discover"))
    res = (r.json or {}).get("result") if isinstance(r.json, dict) else None
    t.ok(r.status == 200 and res and MODERN in res.get("supportedVersions", []) and
         res.get("resultType") == "complete" and "capabilities" in res and
         res.get("ttlMs") == 0 and res.get("cacheScope") == "private",
         "%s: server/discover, a private CacheableResult" % fe, r.describe())
    discovered = (res or {}).get("supportedVersions", [])
    full = modern_body(1, "server/discover")["params"]["_meta"]
    for desc, params in [
        ("no params", None),
        ("no _meta", {}),
        ("_meta without protocolVersion",
         {"_meta": {k: v for k, v in full.items() if not k.endswith("/protocolVersion")}}),
        ("_meta without clientCapabilities",
         {"_meta": {k: v for k, v in full.items() if not k.endswith("/clientCapabilities")}}),
    ]:
        body = {"jsonrpc": "2.0", "id": 11, "method": "server/discover"}
        if params is not None:
            body["params"] = params
        r = request("POST", u, json_bytes(body), modern_headers("server/discover"))
        t.check("%s: server/discover with %s -> 400 -32602" % (fe, desc),
                expect_error(r, 400, -32602, 11), r)
    for m in ("ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"):
        params = {"level": "debug"} if m == "logging/setLevel" else \
            {"uri": "test://watched-resource"} if m.startswith("resources/") else {}
        r = request("POST", u, json_bytes(modern_body(12, m, params)), modern_headers(m))
        t.check("%s: %s, removed in 2026-07-28 -> 404 -32601" % (fe, m),
                expect_error(r, 404, -32601, 12), r)
    call = modern_body(2, "tools/call", {"name": "echo", "arguments": {"message": "stateless"}})
    r = request("POST", u, json_bytes(call), modern_headers("tools/call", "echo"))
    res = (r.json or {}).get("result") if isinstance(r.json, dict) else None
    t.ok(r.status == 200 and res and res.get("resultType") == "complete" and
         res["content"][0]["text"] == "stateless" and not r.header("Mcp-Session-Id"),
         "%s: stateless tools/call without a session" % fe, r.describe())
    r = request("POST", u, json_bytes(modern_body(20, "tools/list")), modern_headers("tools/list"))
    res = (r.json or {}).get("result") if isinstance(r.json, dict) else None
    t.ok(r.status == 200 and res and res.get("ttlMs") == 0 and res.get("cacheScope") == "private"
         and res.get("resultType") == "complete" and any(x["name"] == "echo" for x in res["tools"]),
         "%s: stateless tools/list is a private, uncached CacheableResult" % fe, r.describe())
    enc = "=?base64?" + base64.b64encode(b"echo").decode() + "?="
    r = request("POST", u, json_bytes(call), modern_headers("tools/call", enc))
    t.ok(r.status == 200, "%s: Mcp-Name in =?base64?...?= form is decoded" % fe, r.describe())
    for desc, headers, code, status in [
        ("Mcp-Name that differs from the body", modern_headers("tools/call", "other"), -32020, 400),
        ("no Mcp-Name", modern_headers("tools/call"), -32020, 400),
        ("Mcp-Method that differs from the body", modern_headers("tools/list", "echo"), -32020,
         400),
        ("broken base64 in Mcp-Name", modern_headers("tools/call", "=?base64?***?="), -32020, 400),
    ]:
        r = request("POST", u, json_bytes(call), headers)
        t.check("%s: %s -> %d %d" % (fe, desc, status, code), expect_error(r, status, code, 2), r)
    h = modern_headers("tools/call", "echo")
    del h["Mcp-Method"]
    r = request("POST", u, json_bytes(call), h)
    t.check("%s: no Mcp-Method -> 400 -32020" % fe, expect_error(r, 400, -32020, 2), r)
    r = request("POST", u, json_bytes(modern_body(3, "tools/list", version="2099-01-01")),
                modern_headers("tools/list", version="2099-01-01"))
    j = r.json if isinstance(r.json, dict) else {}
    data = (j.get("error") or {}).get("data") or {}
    t.check("%s: unsupported version -> 400 -32022 listing the supported ones" % fe,
            expect_error(r, 400, -32022, 3) + ([] if MODERN in data.get("supported", []) and
                                               data.get("requested") == "2099-01-01"
                                               else ["data %r" % data]), r)
    t.ok(data.get("supported") == discovered,
         "%s: -32022 lists the versions server/discover lists" % fe,
         "error: %r" % data.get("supported"), "discover: %r" % discovered)
    r = request("POST", u, json_bytes(modern_body(4, "tools/list")),
                modern_headers("tools/list", version="2025-11-25"))
    t.check("%s: header version differs from _meta -> 400 -32020" % fe,
            expect_error(r, 400, -32020, 4), r)
    r = request("POST", u, json_bytes(modern_body(5, "no/such")), modern_headers("no/such"))
    t.check("%s: unknown method -> 404 -32601" % fe, expect_error(r, 404, -32601, 5), r)
    r = request("POST", u, json_bytes({"jsonrpc": "2.0", "id": 6, "method": "tools/list"}),
                modern_headers("tools/list"))
    t.check("%s: request without _meta -> 400 -32602" % fe, expect_error(r, 400, -32602, 6), r)
    r = request("POST", u, json_bytes(modern_body(7, "initialize")), modern_headers("initialize"))
    t.check("%s: initialize in 2026-07-28 -> 404 -32601" % fe, expect_error(r, 404, -32601, 7), r)
    s = SSE("POST", u, modern_body(8, "tools/call", {"name": "test_stream",
                                                     "arguments": {"count": 2,
                                                                   "interval_ms": 10}},
                                   token="m"), modern_headers("tools/call", "test_stream"))
    evs = s.messages()
    s.close()
    final = parse(evs[-1]) if evs else None
    t.ok(s.ctype == "text/event-stream" and final and
         final.get("result", {}).get("resultType") == "complete" and
         all(e["id"] is None for e in evs) and len(evs) == 3,
         "%s: stateless progress streams without event ids, then a complete result" % fe,
         repr(evs))
    r = request("POST", u, json_bytes(modern_body(9, "tools/call", {"name": "test_ask",
                                                                    "arguments": {}})),
                modern_headers("tools/call", "test_ask"))
    j = r.json if isinstance(r.json, dict) else {}
    req = ((j.get("error") or {}).get("data") or {}).get("requiredCapabilities")
    t.ok(r.status == 400 and (j.get("error") or {}).get("code") == -32021 and
         req == {"sampling": {}},
         "%s: stateless call needing sampling the client lacks -> 400 -32021 naming it" % fe,
         r.describe())
    r = request("POST", u, json_bytes(modern_body(13, "resources/read", {"uri": "test://nope"})),
                modern_headers("resources/read", "test://nope"))
    j = r.json if isinstance(r.json, dict) else {}
    t.ok(r.status == 200 and (j.get("error") or {}).get("code") == -32602 and
         (j["error"].get("data") or {}).get("uri") == "test://nope",
         "%s: unknown resource -> -32602 with data.uri" % fe, r.describe())
    for m in ("GET", "DELETE"):
        r = request(m, u, None, {"MCP-Protocol-Version": MODERN, "Accept": "text/event-stream"})
        t.check("%s: %s from a 2026-07-28 client -> 405" % (fe, m),
                expect_error(r, 405, -32000), r)
    streams_after = st.psql("SELECT count(*) FROM mcp_streams")[1]
    t.ok(streams_before == streams_after, "%s: stateless calls stored no stream (%s -> %s)"
         % (fe, streams_before, streams_after))


def test_param_headers(t, fe, url):
    """x-mcp-header (SEP-2243): Mcp-Param-* headers must mirror the annotated arguments."""
    u = url + "/mcp"
    args = {"region": "Hello", "priority": 7, "query": "q"}
    b64 = "=?base64?" + base64.b64encode(b"Hello").decode() + "?="
    for desc, extra, ok in [
        ("literal headers", {"Mcp-Param-Region": "Hello", "Mcp-Param-Priority": "7"}, True),
        ("a base64 header", {"Mcp-Param-Region": b64, "Mcp-Param-Priority": "7"}, True),
        ("a missing header", {"Mcp-Param-Priority": "7"}, False),
        ("a header that differs", {"Mcp-Param-Region": "Bye", "Mcp-Param-Priority": "7"}, False),
        ("unpadded base64", {"Mcp-Param-Region": "=?base64?SGVsbG8?=",
                             "Mcp-Param-Priority": "7"}, False),
        ("a header for an absent argument", {"Mcp-Param-Region": "Hello",
                                              "Mcp-Param-Priority": "7",
                                              "Mcp-Param-Verbose": "true"}, False),
    ]:
        h = modern_headers("tools/call", "test_custom_headers")
        h.update(extra)
        r = request("POST", u, json_bytes(modern_body(30, "tools/call", {
            "name": "test_custom_headers", "arguments": args})), h)
        if ok:
            res = (r.json or {}).get("result") if isinstance(r.json, dict) else None
            t.ok(r.status == 200 and res and not res.get("isError"),
                 "%s: x-mcp-header with %s is accepted" % (fe, desc), r.describe())
        else:
            t.check("%s: x-mcp-header with %s -> 400 -32020" % (fe, desc),
                    expect_error(r, 400, -32020, 30), r)


def test_get_delete_race(t, fe, url, st):
    """A GET /mcp whose session is deleted while it opens the stream: 404, not 503.

    A transaction deletes the session and holds it uncommitted while the GET runs, so the
    GET has found the session but waits on its row; the DELETE then commits."""
    import hashlib
    import subprocess
    from mcptest import Mcp
    m = Mcp(url)
    m.initialize()
    sid_hash = hashlib.sha256((m.sid or "").encode()).hexdigest()
    p = subprocess.Popen(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1"], env=st._pg_env(),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    got = {}

    def get():
        got["r"] = request("GET", url + "/mcp", None,
                           m.headers({"Accept": "text/event-stream"}), timeout=15)
    try:
        # the DELETE has run (uncommitted) once psql echoes the line after it
        p.stdin.write("BEGIN;\nDELETE FROM mcp_sessions WHERE id_hash = '%s';\n"
                      "SELECT pg_backend_pid();\n" % sid_hash)
        p.stdin.flush()
        holder = p.stdout.readline().strip()
        th = threading.Thread(target=get)
        th.start()
        # commit once the GET waits on the deleted row (or has answered without waiting,
        # which the check below then reports)
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND %s = ANY(" \
                  "pg_blocking_pids(pid))" % (holder if holder.isdigit() else "0")
        deadline = time.monotonic() + 15 * SLOW
        while th.is_alive() and time.monotonic() < deadline:
            ok, n = st.psql(waiting)
            if ok and n not in ("", "0"):
                break
            time.sleep(0.05)
        p.stdin.write("COMMIT;\n")
        p.stdin.flush()
        th.join(15 * SLOW)
    finally:
        p.stdin.close()
        p.wait(10)
    r = got.get("r")
    t.check("%s: GET /mcp racing the DELETE of its session -> 404, not 503" % fe,
            expect_error(r, 404, -32001) if r else ["no response"], r)


def test_host(t, fe, url):
    for path in ("/mcp", "/sse"):
        post = path == "/mcp"
        r = request("POST" if post else "GET", url + path,
                    json_bytes({"jsonrpc": "2.0", "id": 1, "method": "ping"}) if post else None,
                    {"Host": "evil.example.com", "Content-Type": "application/json",
                     "Accept": ACCEPT})
        t.check("%s: %s with Host evil.example.com -> 403" % (fe, path),
                expect_error(r, 403, -32000), r)


def main():
    t = Tap()
    with Stack(t, responder=test_responder(), config_extra=CONFIG) as st:
        fes = st.front_ends()
        for fe, url in fes:
            for version in ("2025-11-25", "2025-06-18"):
                test_progress_stream(t, fe, url, version)
        test_resume(t, fes)
        test_resume(t, [fes[1], fes[2]])
        test_server_requests(t, fes)
        test_server_requests(t, [fes[2], fes[0]])
        test_cancel(t, fes)
        test_cancel(t, [fes[1], fes[0]])
        test_missed_notifications(t, fes[1][0], fes[1][1], fes[0][1])
        for fe, url in fes:
            test_get_stream(t, fe, url)
            test_legacy(t, fe, url)
            test_modern(t, fe, url, st)
            test_param_headers(t, fe, url)
            test_get_delete_race(t, fe, url, st)
            test_host(t, fe, url)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
