#!/usr/bin/env python3
"""test_upstream.py - mcp backends (docs/backends.md, "Upstream MCP servers"): mcpgate
aggregates upstream MCP servers over Streamable HTTP, through lighttpd and mod_proxy_fcgi
(two responder processes on one PostgreSQL).

Upstreams, all on 127.0.0.1:
  - @modelcontextprotocol/server-everything (npm, pinned in tests/upstream/) in
    streamableHttp mode, behind a recording proxy in this script (it counts the JSON-RPC
    messages and keeps the headers mcpgate sent);
  - a fake MCP server in this script (paginated tools/list, JSON and SSE answers, a tool
    that hangs, one that answers garbage, HTTP 500, a JSON-RPC error, a forgotten session),
    and endpoints that answer garbage, 500 or nothing to everything.

Checked:
  - the upstream tools are listed, namespaced <backend>_<tool>, annotations passed
    through, every page of the upstream's list, filters applied; broken, hanging,
    private and unreachable upstreams are left out and tools/list still answers;
  - calls work (echo, get-sum); a long-running tool streams its progress to the client
    with the client's progressToken; a cancellation reaches the upstream;
  - the upstream's tools/list is fetched once for both front ends (recording proxy and
    the upstream_tools row);
  - the backend's credential is injected (bearer, header) and redacted from answers;
    the client's own Authorization header never reaches an upstream;
  - an upstream that hangs, answers garbage, 500 or a JSON-RPC error gives a bounded,
    clean isError result; a forgotten session is initialized again;
  - with the upstream down and the cache expired, the cached list is still served and
    calls give a clean isError;
  - no secret in any response or web server log.

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_upstream.py   (TAP on stdout)
"""

import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import (BEARER_TOKEN, Mcp, Stack, Tap, check_logs, free_port, result_of,  # noqa: E402
                     write_backend_files)
import npmci  # noqa: E402

SECRET = "upstream-secret-" + os.urandom(12).hex()
SECRET2 = "fake-key-" + os.urandom(12).hex()
FAKE_TIMEOUT_MS = 1500
NODE_START_S = 30


# ---------------------------------------------------------------------------
# the recording proxy in front of server-everything


class Recorder:
    lock = threading.Lock()
    seen = []  # (server, http method, headers dict, JSON body or None)

    @classmethod
    def add(cls, server, method, headers, body):
        try:
            doc = json.loads(body) if body else None
        except ValueError:
            doc = None
        with cls.lock:
            cls.seen.append((server, method, dict(headers), doc))

    @classmethod
    def messages(cls, server, method=None):
        with cls.lock:
            out = [d for s, _, _, d in cls.seen if s == server and isinstance(d, dict)]
        return [d for d in out if method is None or d.get("method") == method]

    @classmethod
    def headers(cls, server=None):
        with cls.lock:
            return [h for s, _, h, _ in cls.seen if server is None or s == server]


class Proxy(http.server.BaseHTTPRequestHandler):
    target = None  # node's port

    def log_message(self, *a):
        pass

    def _forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        Recorder.add("everything", self.command, self.headers, body)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "content-length")}
        conn = http.client.HTTPConnection("127.0.0.1", Proxy.target, timeout=60)
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            r = conn.getresponse()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length",
                                     "keep-alive"):
                    self.send_header(k, v)
            self.send_header("Connection", "close")
            self.end_headers()
            while True:
                chunk = r.read1(65536)
                if not chunk:
                    break
                self.wfile.write(chunk)
                self.wfile.flush()
        except (OSError, http.client.HTTPException):
            pass  # mcpgate hung up (cancelled, or it had its response), or node is gone
        finally:
            conn.close()

    do_POST = do_GET = do_DELETE = _forward


# ---------------------------------------------------------------------------
# the fake upstream


def tool(name, **extra):
    t = {"name": name, "description": "fake " + name,
         "inputSchema": {"type": "object", "properties": {}}}
    t.update(extra)
    return t


PAGE1 = [tool("whoami", annotations={"readOnlyHint": True}), tool("hang"), tool("garbage"),
         tool("fail"), tool("rpcerr", annotations={"destructiveHint": True})]
PAGE2 = [tool("sse_tool"), tool("forget"), tool("Weird Name!"), tool("hidden_one")]


class Fake(http.server.BaseHTTPRequestHandler):
    sessions = set()
    inits = 0
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def _send(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _result(self, id, result, headers=()):
        self._send(200, json.dumps({"jsonrpc": "2.0", "id": id, "result": result}).encode(),
                   headers=headers)

    def do_GET(self):
        self._send(405, b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        Recorder.add("fake" + self.path, "POST", self.headers, body)
        if self.path.startswith("/junk/"):
            return self._send(200, b"\x00\xffnot json {{")
        if self.path.startswith("/err/"):
            return self._send(500, b"internal trouble", "text/plain")
        if self.path.startswith("/slow/"):
            time.sleep(5)
            try:
                self._send(500, b"too late", "text/plain")
            except OSError:
                pass  # mcpgate gave up long ago, as it should
            return
        try:
            msg = json.loads(body)
        except ValueError:
            return self._send(400, b"bad json", "text/plain")
        method, id = msg.get("method"), msg.get("id")
        if method == "initialize":
            with Fake.lock:
                Fake.inits += 1
                sid = "fake-session-%d" % Fake.inits
                Fake.sessions.add(sid)
            return self._result(id, {"protocolVersion": msg["params"]["protocolVersion"],
                                     "capabilities": {"tools": {}},
                                     "serverInfo": {"name": "fake", "version": "1"}},
                                headers=[("Mcp-Session-Id", sid)])
        if self.headers.get("Mcp-Session-Id") not in Fake.sessions:
            return self._send(404, b'{"jsonrpc":"2.0","id":null,"error":{"code":-32001,'
                                   b'"message":"Session not found"}}')
        if id is None:
            return self._send(202, b"")
        if method == "tools/list":
            cursor = (msg.get("params") or {}).get("cursor")
            if cursor == "page-2":
                return self._result(id, {"tools": PAGE2})
            return self._result(id, {"tools": PAGE1, "nextCursor": "page-2"})
        if method != "tools/call":
            return self._send(200, json.dumps({"jsonrpc": "2.0", "id": id, "error": {
                "code": -32601, "message": "no such method"}}).encode())
        name = msg["params"]["name"]
        if name == "whoami":
            return self._result(id, {"content": [{"type": "text", "text": json.dumps(
                dict(self.headers))}], "structuredContent": {"key": self.headers.get(
                    "X-Api-Key")}})
        if name == "hang":
            time.sleep(8)
            try:
                self._result(id, {"content": []})
            except OSError:
                pass
            return
        if name == "garbage":
            return self._send(200, b"<html>surprise</html>", "text/html")
        if name == "fail":
            return self._send(500, b"internal trouble", "text/plain")
        if name == "rpcerr":
            return self._send(200, json.dumps({"jsonrpc": "2.0", "id": id, "error": {
                "code": -32602, "message": "bad thing"}}).encode())
        if name == "forget":
            with Fake.lock:
                Fake.sessions.clear()
            return self._result(id, {"content": [{"type": "text", "text": "forgotten"}]})
        if name == "sse_tool":
            tok = ((msg["params"].get("_meta") or {}).get("progressToken"))
            prog = json.dumps({"jsonrpc": "2.0", "method": "notifications/progress",
                               "params": {"progressToken": tok, "progress": 1, "total": 2,
                                          "message": "half"}})
            res = json.dumps({"jsonrpc": "2.0", "id": id, "result": {
                "content": [{"type": "text", "text": "from sse"}]}}, indent=1)
            data = "".join("data: %s\r\n" % line for line in res.split("\n"))
            out = (": a comment\r\n\r\nevent: message\r\nid: 1\r\ndata: %s\r\n\r\n"
                   "retry: 100\r\n%s\r\n" % (prog, data)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for i in range(0, len(out), 7):  # in small pieces: the parser must reassemble
                self.wfile.write(out[i:i + 7])
                self.wfile.flush()
            return
        return self._result(id, {"content": [{"type": "text", "text": "?"}], "isError": True})


# ---------------------------------------------------------------------------
# set-up


def start_node(t, d, workdir):
    port = free_port()
    main = os.path.join(d, "node_modules", "@modelcontextprotocol", "server-everything",
                        "dist", "index.js")
    log = open(os.path.join(workdir, "everything.log"), "wb")
    env = dict(os.environ, PORT=str(port))
    # server-everything listens on every interface; keep it on 127.0.0.1
    loopback = os.path.join(os.environ.get("top_srcdir", "."), "tests", "upstream",
                            "loopback.cjs")
    p = subprocess.Popen(["node", "--require", os.path.abspath(loopback), main,
                          "streamableHttp"], cwd=d, env=env,
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    log.close()
    deadline = time.monotonic() + NODE_START_S
    while time.monotonic() < deadline and p.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return p, port
        except OSError:
            time.sleep(0.2)
    t.ok(False, "server-everything starts in streamableHttp mode",
         open(os.path.join(workdir, "everything.log"), errors="replace").read()[-2000:])
    stop_node(p)
    return None, None


def stop_node(p):
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(5)
    except (OSError, subprocess.TimeoutExpired):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait(5)


def serve(handler):
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    s.daemon_threads = True
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s


def write_backends(d, proxy_port, fake_port, closed_port):
    env_file = os.path.join(d, "secrets.env")
    with open(env_file, "w") as f:
        f.write("EV_TOKEN=%s\n" % SECRET)
    key_file = os.path.join(d, "fake.key")
    with open(key_file, "w") as f:
        f.write(SECRET2 + "\n")
    for p in (env_file, key_file):
        os.chmod(p, 0o644)  # test only; the web server's user must read them
    fake = "http://127.0.0.1:%d" % fake_port
    docs = {
        "ev": {"mcpgate_backend": 1, "kind": "mcp", "name": "ev",
               "url": "http://127.0.0.1:%d/mcp" % proxy_port, "allow_private": True,
               "timeout_ms": 30000, "cache_ttl_s": 300,
               "exclude_tools": ["trigger-sampling*", "trigger-elicitation*"],
               "credentials": {"token": {"type": "bearer", "env_file": env_file,
                                         "variable": "EV_TOKEN"}},
               "auth": ["token"]},
        "fake": {"mcpgate_backend": 1, "kind": "mcp", "name": "fake", "url": fake + "/good/mcp",
                 "allow_private": True, "timeout_ms": FAKE_TIMEOUT_MS,
                 "exclude_tools": ["hidden_*"],
                 "credentials": {"key": {"type": "header", "name": "X-Api-Key",
                                         "file": key_file}},
                 "auth": ["key"]},
        "junk": {"mcpgate_backend": 1, "kind": "mcp", "name": "junk", "url": fake + "/junk/mcp",
                 "allow_private": True, "timeout_ms": FAKE_TIMEOUT_MS},
        "broken": {"mcpgate_backend": 1, "kind": "mcp", "name": "broken",
                   "url": fake + "/err/mcp", "allow_private": True,
                   "timeout_ms": FAKE_TIMEOUT_MS},
        "slow": {"mcpgate_backend": 1, "kind": "mcp", "name": "slow", "url": fake + "/slow/mcp",
                 "allow_private": True, "timeout_ms": 1000},
        "gone": {"mcpgate_backend": 1, "kind": "mcp", "name": "gone",
                 "url": "http://127.0.0.1:%d/mcp" % closed_port, "allow_private": True,
                 "timeout_ms": FAKE_TIMEOUT_MS},
        "priv": {"mcpgate_backend": 1, "kind": "mcp", "name": "priv", "url": fake + "/good/mcp",
                 "timeout_ms": FAKE_TIMEOUT_MS},
    }
    write_backend_files(d, docs, indent=1)


# ---------------------------------------------------------------------------
# helpers


def text_of(res):
    try:
        return "\n".join(c.get("text", "") for c in res["content"])
    except (KeyError, TypeError, AttributeError):
        return ""


def sse_messages(r):
    """The JSON-RPC messages of an SSE response body."""
    out = []
    for block in r.body.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[5:].lstrip(" ") for line in block.split("\n")
                         if line.startswith("data:"))
        if data.strip():
            try:
                out.append(json.loads(data))
            except ValueError:
                pass
    return out


def final_result(r):
    if r.content_type == "text/event-stream":
        for m in sse_messages(r):
            if "result" in m or "error" in m:
                return m.get("result") or {}
        return {}
    return result_of(r)


def list_tools(c):
    t0 = time.monotonic()
    r = c.call("tools/list", {}, timeout=30)
    return r, {x["name"]: x for x in (result_of(r).get("tools") or [])}, time.monotonic() - t0


# ---------------------------------------------------------------------------
# the checks


def check_listing(t, c, c2, st):
    r, tools, el = list_tools(c)
    want = ["ev_echo", "ev_get-sum", "ev_trigger-long-running-operation", "fake_whoami",
            "fake_hang", "fake_sse_tool", "fake_forget", "fake_Weird_Name"]
    t.check("tools/list shows the upstream tools, namespaced, from every page (%.1fs)" % el,
            ["missing %s" % n for n in want if n not in tools], r)
    t.ok(not [n for n in tools if n.startswith("ev_trigger-sampling") or
              n.startswith("fake_hidden")],
         "include/exclude filters leave tools out", sorted(tools))
    bad = [n for n in tools if n.split("_")[0] in ("junk", "broken", "slow", "gone", "priv")]
    t.ok(r.status == 200 and not bad and el < 15,
         "garbage, 500, hanging, unreachable and private upstreams are left out, "
         "tools/list still answers", "left in: %r" % bad)
    ann = (tools.get("ev_echo") or {}).get("annotations") or {}
    t.ok(ann.get("readOnlyHint") is True and
         (tools.get("ev_echo") or {}).get("inputSchema", {}).get("type") == "object",
         "annotations and inputSchema are passed through", json.dumps(tools.get("ev_echo")))
    t.ok(SECRET not in r.body.decode("utf-8", "replace"), "tools/list shows no secret")

    # a second process (the other front end) uses the stored list
    r2, tools2, _ = list_tools(c2)
    t.ok(all(n in tools2 for n in want), "the other front end lists the same tools",
         sorted(tools2))
    lists = Recorder.messages("everything", "tools/list")
    t.ok(len(lists) == 1, "server-everything's tools/list was fetched once for both front "
         "ends (%d)" % len(lists))
    ok, out = st.psql("SELECT fetches, generation, expires_at > now() FROM upstream_tools "
                      "WHERE backend = 'ev'")
    t.ok(ok and out == "1|1|t", "the upstream_tools row: one fetch, fresh", out)
    ok, out = st.psql("SELECT backend, failures > 0, tools IS NULL FROM upstream_tools "
                      "WHERE backend IN ('junk', 'broken', 'gone', 'slow', 'priv') "
                      "ORDER BY backend")
    t.ok(ok and out.count("|t|t") == 5, "failed fetches are recorded, with no list", out)
    return tools


def call(t, c, name, args, timeout=30, headers=None):
    t0 = time.monotonic()
    r = c.tool(name, args, timeout=timeout, headers=headers)
    body = r.body.decode("utf-8", "replace")
    if SECRET in body or SECRET2 in body:
        t.ok(False, "%s: the response holds a backend secret" % name)
    return r, final_result(r), time.monotonic() - t0


def check_everything(t, c):
    r, res, _ = call(t, c, "ev_echo", {"message": "hello upstream"})
    t.ok(res.get("isError") is False and "Echo: hello upstream" in text_of(res),
         "ev_echo answers through the upstream", r.describe())
    r, res, _ = call(t, c, "ev_get-sum", {"a": 2, "b": 40})
    t.ok(res.get("isError") is False and "42" in text_of(res), "ev_get-sum adds", r.describe())
    hs = Recorder.headers("everything")
    t.ok(hs and all(h.get("Authorization") == "Bearer " + SECRET for h in hs),
         "every request to the upstream carries the backend's bearer credential",
         repr([h.get("Authorization", "")[:12] for h in hs]))

    # progress, with the client's own token
    params = {"name": "ev_trigger-long-running-operation",
              "arguments": {"duration": 2, "steps": 4}, "_meta": {"progressToken": "tok-77"}}
    r = c.call("tools/call", params, timeout=30)
    msgs = sse_messages(r) if r.content_type == "text/event-stream" else []
    prog = [m for m in msgs if m.get("method") == "notifications/progress"]
    res = final_result(r)
    t.ok(len(prog) >= 3 and all(m["params"].get("progressToken") == "tok-77" for m in prog) and
         prog[-1]["params"].get("total") == 4 and "completed" in text_of(res),
         "a long-running upstream tool streams its progress to the client (%d)" % len(prog),
         r.describe())

    # cancellation
    rid = Mcp.next_id()
    box = {}

    def run():
        t0 = time.monotonic()
        box["r"] = c.call("tools/call", {"name": "ev_trigger-long-running-operation",
                                         "arguments": {"duration": 20, "steps": 20}},
                          id=rid, timeout=40)
        box["el"] = time.monotonic() - t0

    th = threading.Thread(target=run)
    th.start()
    time.sleep(3)
    c.notify("notifications/cancelled", {"requestId": rid, "reason": "test"})
    th.join(40)
    calls = [m for m in Recorder.messages("everything", "tools/call")
             if (m.get("params") or {}).get("arguments", {}).get("duration") == 20]
    up_id = calls[0].get("id") if calls else None
    cancels = [m for m in Recorder.messages("everything", "notifications/cancelled")
               if (m.get("params") or {}).get("requestId") == up_id]
    t.ok(box.get("el", 99) < 12, "a cancelled upstream call ends early (%.1fs)"
         % box.get("el", 99), box["r"].describe() if "r" in box else "no response")
    t.ok(up_id is not None and cancels, "the cancellation reaches the upstream "
         "(notifications/cancelled for its request id)", repr(calls[:1]), repr(cancels))


def check_fake(t, c):
    r, res, _ = call(t, c, "fake_whoami", {})
    seen = [h for h in Recorder.headers("fake/good/mcp") if h.get("X-Api-Key")]
    t.ok(res.get("isError") is False and "[redacted]" in text_of(res) and
         (res.get("structuredContent") or {}).get("key") == "[redacted]",
         "the header credential reaches the upstream and is redacted from its answer",
         r.describe())
    t.ok(seen and all(h.get("X-Api-Key") == SECRET2 for h in seen),
         "every request to the fake upstream carries the header credential")
    r, res, el = call(t, c, "fake_hang", {})
    t.ok(res.get("isError") is True and "did not answer within" in text_of(res) and
         el < FAKE_TIMEOUT_MS / 1000 + 3,
         "an upstream that hangs: isError after the timeout (%.1fs)" % el, r.describe())
    r, res, _ = call(t, c, "fake_garbage", {})
    t.ok(res.get("isError") is True and "not a JSON-RPC response" in text_of(res),
         "an upstream that answers garbage: isError", r.describe())
    r, res, _ = call(t, c, "fake_fail", {})
    t.ok(res.get("isError") is True and "HTTP 500" in text_of(res),
         "an upstream that answers 500: isError with the status", r.describe())
    r, res, _ = call(t, c, "fake_rpcerr", {})
    t.ok(res.get("isError") is True and "bad thing" in text_of(res) and
         "-32602" in text_of(res), "a JSON-RPC error becomes an isError result", r.describe())
    params = {"name": "fake_sse_tool", "arguments": {}, "_meta": {"progressToken": 5}}
    r = c.call("tools/call", params, timeout=30)
    msgs = sse_messages(r) if r.content_type == "text/event-stream" else []
    prog = [m for m in msgs if m.get("method") == "notifications/progress"]
    res = final_result(r)
    t.ok(res.get("isError") is False and text_of(res) == "from sse" and prog and
         prog[0]["params"].get("progressToken") == 5 and
         prog[0]["params"].get("message") == "half",
         "an SSE answer in pieces (CRLF, comments, multi-line data) is parsed, its progress "
         "passed on", r.describe())
    inits = Fake.inits
    r, res, _ = call(t, c, "fake_forget", {})
    r, res, _ = call(t, c, "fake_whoami", {})
    t.ok(res.get("isError") is False and Fake.inits == inits + 1,
         "a session the upstream forgot (404) is initialized again (%d -> %d)"
         % (inits, Fake.inits), r.describe())
    leaked = [h for h in Recorder.headers() if BEARER_TOKEN in json.dumps(h)]
    t.ok(Recorder.headers() and not leaked,
         "no upstream ever saw the client's own access token (%d requests)"
         % len(Recorder.headers()))


def check_down(t, c, c2, st, node, proxy):
    stop_node(node)
    proxy.shutdown()
    proxy.server_close()
    ok, out = st.psql("UPDATE upstream_tools SET expires_at = now() - interval '1 second' "
                      "WHERE backend = 'ev'")
    time.sleep(1.2)  # past the per-process check interval
    for name, client in (("lighttpd", c), ("proxy", c2)):
        r, tools, el = list_tools(client)
        t.ok(r.status == 200 and "ev_echo" in tools and el < 10,
             "%s: upstream down, cache expired: the cached list is still served (%.1fs)"
             % (name, el), r.describe())
    r, res, el = call(t, c, "ev_echo", {"message": "x"})
    t.ok(res.get("isError") is True and "could not be reached" in text_of(res) and el < 10,
         "a call to the upstream that is down: a clean isError (%.1fs)" % el, r.describe())


def main():
    t = Tap()
    work = tempfile.mkdtemp(prefix="mcpgate-upstream-")
    os.chmod(work, 0o755)  # the stack's responders run as www-data
    node = proxy = fake = None
    try:
        d = npmci.ensure(t, "upstream")
        if not d:
            return t.done()
        node, node_port = start_node(t, d, work)
        if not node:
            return t.done()
        Proxy.target = node_port
        proxy = serve(Proxy)
        fake = serve(Fake)
        write_backends(work, proxy.server_address[1], fake.server_address[1], free_port())
        with Stack(t, servers="lighttpd proxy", config_extra="backends_dir = %s" % work) as st:
            urls = dict(st.front_ends())
            c = Mcp(urls.get("lighttpd"), name="upstream")
            c2 = Mcp(urls.get("proxy"), name="upstream2")
            if not (t.ok(c.initialize().status == 200 and c.sid, "initialize (lighttpd)") and
                    t.ok(c2.initialize().status == 200 and c2.sid, "initialize (proxy)")):
                return t.done()
            check_listing(t, c, c2, st)
            check_everything(t, c)
            check_fake(t, c)
            check_down(t, c, c2, st, node, proxy)
            proxy = None
            r = c.call("ping")
            t.ok(r.status == 200, "the responder still serves after all that", r.describe())
            st.stop(remove=False)
            check_logs(t, st)
            leaks = []
            for key, path in st.log_paths().items():
                try:
                    with open(path, errors="replace") as f:
                        text = f.read()
                except OSError:
                    continue
                leaks += ["%s holds a backend secret" % key for s in (SECRET, SECRET2)
                          if s in text]
            t.check("no backend secret in any web server log", leaks)
    finally:
        stop_node(node)
        for s in (proxy, fake):
            if s:
                s.shutdown()
                s.server_close()
        shutil.rmtree(work, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
