#!/usr/bin/env python3
"""test_isolation.py - one user's streams and sessions are invisible to another, through
lighttpd, Apache mod_fcgid and Apache mod_proxy_fcgi on one PostgreSQL (SECURITY.md,
"Isolation"; docs/transports.md).

Two users with API keys: A (read and write) and B (read-only). On each front end A works
there and B, from another front end (another process), presents every id of A's it could
learn, each kind where a client sends one:

  - the session id (Mcp-Session-Id) on POST, GET and DELETE /mcp: 404, A's session intact,
    its expiry not pushed (only A's own use slides it);
  - an event id of A's call stream as Last-Event-ID, from B's own session: 404;
  - the /sse stream id (it is in /messages?sessionId=..., so in access logs) on POST
    /messages: 404; as Last-Event-ID on GET /sse: B gets a new session of B's own, none of
    A's events, and A's delivered position does not move; A still resumes it;
  - the id of A's pending server-to-client request (sampling), answered from B's session:
    400 -32600, and A's own answer still reaches A's call;
  - the id of A's running call in notifications/cancelled from B's session: A's call is
    not cancelled;
  - A's resource subscription, unsubscribed from B's session: A stays subscribed;
  - the id of A's task (tasks extension) in tasks/get, tasks/cancel and tasks/update
    (B with a read and write key here): answered exactly as an unknown task id, and A's
    task completes.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_isolation.py  (TAP)
"""

import hashlib
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import Stack, Tap, admin, expect_error, json_bytes, request  # noqa: E402
from oauthlib import mcp_with  # noqa: E402
from test_streams import SSE, is_response, parse  # noqa: E402

CONFIG = "sse_max_s = 2\nsse_heartbeat_s = 1\nsse_retry_ms = 500"
ACCEPT = "application/json, text/event-stream"
SSE_ONLY = {"Accept": "text/event-stream", "Content-Type": None}


def api_key(t, st, user, *flags):
    r = admin(st, "key", "create", user, "--name", "isolation", *flags)
    key = next((w.rstrip(".,;)") for w in r.stdout.split() if w.startswith("mgk_")), "")
    t.ok(r.returncode == 0 and key, "key create %s %s" % (user, " ".join(flags)), r.stderr)
    return key


def client(url, key, caps=None, name="isolation"):
    c = mcp_with(url, key)
    c.initialize(params={"protocolVersion": "2025-11-25", "capabilities": caps or {},
                         "clientInfo": {"name": name, "version": "1"}})
    return c


def with_session(b, sid, extra=None):
    """B's headers (B's key) naming session sid."""
    h = b.headers(extra)
    h["Mcp-Session-Id"] = sid
    return h


def psql1(st, sql):
    ok, out = st.psql(sql)
    return out if ok else None


def sessions(t, fe, st, a, b, url_b):
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    # less than half its TTL left: a lookup by its owner slides the expiry, B's must not
    h = hashlib.sha256(a.sid.encode()).hexdigest()
    expiry = "SELECT expires_at FROM mcp_sessions WHERE id_hash = '%s'" % h
    st.psql("UPDATE mcp_sessions SET expires_at = now() + interval '60 seconds' WHERE "
            "id_hash = '%s'" % h)
    before = psql1(st, expiry)
    r = request("POST", url_b + "/mcp", json_bytes(ping), with_session(b, a.sid))
    after = psql1(st, expiry)
    t.ok(r.status == 404 and before and before == after,
         "%s: B's lookup of A's session does not push its expiry (%s -> %s)"
         % (fe, before, after), r.describe())
    ok, _, _, _ = mcptest.retry_until(
        lambda: (a.call("ping").status == 200 and psql1(st, expiry) != before, None), 5)
    t.ok(ok, "%s: A's own use does" % fe)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": "as A"}}}
    for desc, r in (
            ("POST ping", request("POST", url_b + "/mcp", json_bytes(ping),
                                 with_session(b, a.sid))),
            ("POST tools/call", request("POST", url_b + "/mcp", json_bytes(call),
                                        with_session(b, a.sid))),
            ("GET stream", request("GET", url_b + "/mcp", None,
                                   with_session(b, a.sid, SSE_ONLY))),
            ("DELETE", request("DELETE", url_b + "/mcp", None,
                               with_session(b, a.sid, {"Content-Type": None})))):
        t.check("%s: B with A's Mcp-Session-Id, %s -> 404" % (fe, desc),
                expect_error(r, 404, -32001), r)
    r = a.call("ping", id=3)
    t.ok(r.status == 200, "%s: A's session still serves A" % fe, r.describe())


def call_stream(t, fe, st, a, b, url_a, url_b):
    body = {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "test_stream", "arguments": {"count": 2, "interval_ms": 10},
                       "_meta": {"progressToken": "iso"}}}
    s = SSE("POST", url_a + "/mcp", body, a.headers({"Accept": ACCEPT}))
    evs = s.messages()
    s.close()
    ids = [e["id"] for e in evs if e.get("id")]
    t.ok(len(ids) >= 2 and is_response(evs[-1], 5), "%s: A's call streams with event ids" % fe,
         repr(evs))
    if not ids:
        return
    r = request("GET", url_b + "/mcp", None, b.headers(dict(SSE_ONLY, **{"Last-Event-ID":
                                                                         ids[0]})))
    t.check("%s: B's session with A's Last-Event-ID -> 404, nothing replayed" % fe,
            expect_error(r, 404, -32000), r)
    r = request("GET", url_b + "/mcp", None,
                with_session(b, a.sid, dict(SSE_ONLY, **{"Last-Event-ID": ids[0]})))
    t.check("%s: B with A's session and Last-Event-ID -> 404" % fe,
            expect_error(r, 404, -32001), r)


def legacy(t, fe, st, key_a, key_b, url_a, url_b):
    secret = "A's result " + os.urandom(6).hex()
    auth_a = {"Authorization": "Bearer " + key_a}
    auth_b = {"Authorization": "Bearer " + key_b}
    g = SSE("GET", url_a + "/sse", None, dict(auth_a, Accept="text/event-stream"))
    ep = g.next() or {}
    data = ep.get("data") or ""
    stream = data.split("sessionId=", 1)[1] if "sessionId=" in data else ""
    t.ok(g.status == 200 and len(stream) == 22, "%s: A opens /sse" % fe, repr(ep))
    if not stream:
        g.close()
        return
    post_a = dict(auth_a, **{"Content-Type": "application/json"})
    conn = {"g": g, "last": ep.get("id")}

    def read_until(stop):
        """A's events until stop(event); when the server ends the stream (its bounded
        life, which a slow responder can outlast) A reconnects with Last-Event-ID, as
        EventSource does."""
        out = []
        for _ in range(20):
            for ev in iter(conn["g"].next, None):
                conn["last"] = ev.get("id") or conn["last"]
                out.append(ev)
                if stop(ev):
                    return out
            conn["g"].close()
            conn["g"] = SSE("GET", url_a + "/sse", None, dict(
                auth_a, Accept="text/event-stream", **{"Last-Event-ID": conn["last"]}))
            conn["g"].next()  # the endpoint event again
        return out

    request("POST", url_a + data, json_bytes(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2024-11-05", "capabilities": {},
                    "clientInfo": {"name": "legacy-a", "version": "1"}}}), post_a)
    read_until(lambda e: is_response(e, 1))
    r = request("POST", url_a + data, json_bytes(
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "echo", "arguments": {"message": secret}}}), post_a)
    evs = read_until(lambda e: is_response(e, 2))
    conn["g"].messages()  # to the end of its bounded life: no follower of A's is left
    conn["g"].close()
    got = [e for e in evs if secret in (e.get("data") or "")]
    t.ok(r.status == 202 and got, "%s: A's call result arrives on A's /sse stream" % fe,
         repr(evs))
    # a reply stored while A is away: A's next connection gets it, B must not move it
    seq_sql = "SELECT delivered_seq || '/' || last_seq FROM mcp_streams WHERE " \
        "stream_id = '%s'" % stream
    newest = (psql1(st, seq_sql) or "0/0").split("/")[1]
    request("POST", url_a + data, json_bytes({"jsonrpc": "2.0", "id": 3, "method": "ping"}),
            post_a)

    def stored():
        v = psql1(st, seq_sql) or "0/0"
        return int(v.split("/")[1]) > int(newest), v
    ok, before, _, _ = mcptest.retry_until(stored, 20)
    t.ok(ok and int(before.split("/")[0]) < int(before.split("/")[1]),
         "%s: A's reply to a ping waits on A's stream (delivered/last %s)" % (fe, before))

    r = request("POST", url_b + "/messages?sessionId=" + stream, json_bytes(
        {"jsonrpc": "2.0", "id": 9, "method": "ping"}),
        dict(auth_b, **{"Content-Type": "application/json"}))
    t.check("%s: B posts to A's /messages?sessionId= -> 404" % fe,
            expect_error(r, 404, -32001), r)
    g = SSE("GET", url_b + "/sse", None,
            dict(auth_b, Accept="text/event-stream", **{"Last-Event-ID": stream + ".0"}))
    evs = g.messages()
    g.close()
    first = (evs[0].get("data") or "") if evs else ""
    leaked = [e for e in evs if secret in (e.get("data") or "") or stream in
              (e.get("data") or "") + (e.get("id") or "")]
    t.ok(g.status == 200 and first.startswith("/messages?sessionId=") and not leaked,
         "%s: B resuming A's /sse stream id gets a new session of its own, none of A's "
         "events" % fe, repr(evs))
    after = psql1(st, seq_sql)
    t.ok(before is not None and before == after,
         "%s: A's stream is not moved (delivered/last %s -> %s)" % (fe, before, after))
    owner_b = psql1(st, "SELECT count(*) FROM mcp_streams s JOIN mcp_sessions m ON "
                    "m.id_hash = s.session_hash JOIN users u ON u.id = m.user_id WHERE "
                    "s.stream_id = '%s' AND u.username = 'alice'" % stream)
    t.ok(owner_b == "1", "%s: A's stream still belongs to A" % fe, owner_b)
    last = (got[-1].get("id") or "") if got else stream + ".0"
    g = SSE("GET", url_a + "/sse", None,
            dict(auth_a, Accept="text/event-stream", **{"Last-Event-ID": last}))
    ep = g.next() or {}
    evs = g.messages(lambda e: is_response(e, 3))
    g.close()
    t.ok(g.status == 200 and (ep.get("data") or "").endswith("sessionId=" + stream) and
         evs and is_response(evs[-1], 3),
         "%s: A resumes its own /sse stream and gets the waiting reply" % fe,
         repr(ep), repr(evs))


def pending(t, fe, key_a, b, url_a, url_b):
    a = client(url_a, key_a, caps={"sampling": {}}, name="ask")
    s = SSE("POST", url_a + "/mcp", {"jsonrpc": "2.0", "id": 21, "method": "tools/call",
                                     "params": {"name": "test_ask",
                                                "arguments": {"kind": "sampling"}}},
            a.headers({"Accept": ACCEPT}))
    req = None
    for ev in iter(s.next, None):
        m = parse(ev)
        if isinstance(m, dict) and m.get("method") == "sampling/createMessage":
            req = m
            break
    t.ok(req is not None, "%s: A's call sends a sampling request" % fe)
    if req is None:
        s.close()
        return

    def result(text):
        return {"role": "assistant", "content": {"type": "text", "text": text}, "model": "m"}

    r = request("POST", url_b + "/mcp", json_bytes({"jsonrpc": "2.0", "id": req["id"],
                                                    "result": result("from B")}), b.headers())
    t.check("%s: B answers A's pending request id -> 400 -32600" % fe,
            expect_error(r, 400, -32600), r)
    r = request("POST", url_a + "/mcp", json_bytes({"jsonrpc": "2.0", "id": req["id"],
                                                    "result": result("from A")}), a.headers())
    rest = s.messages(lambda e: is_response(e, 21))
    s.close()
    final = json.dumps(parse(rest[-1]) if rest else None)
    t.ok(r.status == 202 and "from A" in final and "from B" not in final,
         "%s: A's own answer reaches A's call" % fe, final)


def cancel(t, fe, key_a, b, url_a, url_b):
    a = client(url_a, key_a, name="cancel")
    box = {}
    th = threading.Thread(target=lambda: box.update(
        r=a.tool("test_cancellable", {"ms": 1500}, id="iso-cancel", timeout=20)))
    th.start()
    time.sleep(0.4)  # A's call is running: test_cancellable takes 1.5 s
    r = request("POST", url_b + "/mcp", json_bytes(
        {"jsonrpc": "2.0", "method": "notifications/cancelled",
         "params": {"requestId": "iso-cancel", "reason": "B"}}), b.headers())
    started = r.status == 202
    th.join(20)
    r = box.get("r")
    text = json.dumps(r.json) if r is not None and isinstance(r.json, dict) else ""
    t.ok(started and r is not None and r.status == 200 and "cancelled" not in text,
         "%s: B cancelling A's request id does not cancel A's call" % fe, text)


def subscription(t, fe, st, key_a, b, url_a):
    a = client(url_a, key_a, name="sub")
    uri = "test://watched-resource"
    r = a.call("resources/subscribe", {"uri": uri})
    t.ok(r.status == 200 and "result" in (r.json or {}), "%s: A subscribes" % fe, r.describe())
    b.call("resources/unsubscribe", {"uri": uri})
    n = psql1(st, "SELECT count(*) FROM mcp_subscriptions WHERE uri = '%s' AND "
              "session_hash = '%s'" % (uri, hashlib.sha256(a.sid.encode()).hexdigest()))
    t.ok(n == "1", "%s: B unsubscribing the same URI leaves A subscribed (%s)" % (fe, n))


MODERN = "2026-07-28"
TASKS = {"elicitation": {}, "extensions": {"io.modelcontextprotocol/tasks": {}}}


def modern(url, key, id, method, params):
    """A stateless (2026-07-28) request that declares the tasks extension."""
    params = dict(params, _meta={"io.modelcontextprotocol/protocolVersion": MODERN,
                                 "io.modelcontextprotocol/clientCapabilities": TASKS})
    h = {"Content-Type": "application/json", "Accept": ACCEPT, "MCP-Protocol-Version": MODERN,
         "Mcp-Method": method, "Mcp-Name": params.get("name") or params.get("taskId"),
         "Authorization": "Bearer " + key}
    return request("POST", url + "/mcp", json_bytes({"jsonrpc": "2.0", "id": id,
                                                     "method": method, "params": params}), h)


def tasks(t, fe, key_a, key_b, url_a, url_b):
    r = modern(url_a, key_a, 1, "tools/call", {"name": "slow_compute",
                                               "arguments": {"seconds": 1, "label": "iso"}})
    res = (r.json or {}).get("result") or {} if isinstance(r.json, dict) else {}
    tid = res.get("taskId")
    t.ok(r.status == 200 and tid, "%s: A's call becomes a task" % fe, r.describe())
    if not tid:
        return
    unknown = "0" * len(tid) if len(tid) > 1 else "unknown"
    for method, params in (("tasks/get", {}), ("tasks/cancel", {}),
                           ("tasks/update", {"inputResponses": {}})):
        r = modern(url_b, key_b, 2, method, dict(params, taskId=tid))
        u = modern(url_b, key_b, 2, method, dict(params, taskId=unknown))
        same = r.status == u.status and isinstance(r.json, dict) and isinstance(u.json, dict) \
            and (r.json.get("error") or {}).get("code") == (u.json.get("error") or {}).get("code")
        t.ok(same and ((r.json or {}).get("error") or {}).get("code") == -32602,
             "%s: B's %s of A's task is answered as for an unknown task" % (fe, method),
             r.describe(), u.describe())
    end = time.monotonic() + 30
    res = {}
    while time.monotonic() < end and res.get("status") not in ("completed", "failed",
                                                               "cancelled"):
        r = modern(url_a, key_a, 3, "tasks/get", {"taskId": tid})
        res = (r.json or {}).get("result") or {} if isinstance(r.json, dict) else {}
        time.sleep(0.2)
    t.ok(res.get("status") == "completed",
         "%s: A's task completes, not cancelled by B (%s)" % (fe, res.get("status")), repr(res))


def main():
    t = Tap()
    # under valgrind and ASan lighttpd and mod_proxy_fcgi: B still comes from another
    # front end (another process) and every check is the responder's
    with Stack(t, responder=mcptest.test_responder(), config_extra=CONFIG,
               auth="oauth", code_check_servers="lighttpd proxy") as st:
        for user in ("alice", "bob"):
            r = admin(st, "user", "add", user, stdin=user + " password here\n")
            t.ok(r.returncode == 0, "user add %s" % user, r.stderr)
        key_a = api_key(t, st, "alice")
        key_b = api_key(t, st, "bob", "--read-only")
        key_b_tasks = api_key(t, st, "bob")  # tasks/cancel and tasks/update need write
        fes = st.front_ends()
        for i, (fe, url_a) in enumerate(fes):
            url_b = fes[(i + 1) % len(fes)][1]
            a = client(url_a, key_a, name="a")
            b = client(url_b, key_b, name="b")
            t.ok(a.sid and b.sid, "%s: A and B (read-only key) have sessions" % fe)
            sessions(t, fe, st, a, b, url_b)
            call_stream(t, fe, st, a, b, url_a, url_b)
            legacy(t, fe, st, key_a, key_b, url_a, url_b)
            pending(t, fe, key_a, b, url_a, url_b)
            cancel(t, fe, key_a, b, url_a, url_b)
            subscription(t, fe, st, key_a, b, url_a)
            tasks(t, fe, key_a, key_b_tasks, url_a, url_b)
        mcptest.check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
