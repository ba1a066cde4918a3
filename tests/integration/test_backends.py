#!/usr/bin/env python3
"""test_backends.py - REST backends (docs/backends.md) through lighttpd and the responder,
against an upstream on 127.0.0.1 (a Python http.server in this script).

  - backend tools are listed, namespaced <backend>_<tool>, with annotations from their
    access class; a tool whose name is a ChatGPT built-in (web_search) is renamed;
  - arguments that fail the inputSchema give an isError result and send nothing upstream;
  - a good call: path parameter percent-encoded, query and JSON body as declared, the
    backend's credential injected, the client's own Authorization header NOT forwarded,
    the JSON answer as structuredContent plus text;
  - an upstream that hangs, answers garbage, answers 500 or answers too much gives a bounded,
    clean isError result (and the responder keeps serving); a text answer that is not
    UTF-8 (an overlong form, a surrogate) is reported as binary content;
  - an upstream that echoes the secret gets it redacted; a backend without allow_private is
    refused at connect time for 127.0.0.1 and for localhost (resolved by libcurl);
  - the secret appears in no response and in no web server log;
  - a bad backend file stops the responder (--check-config) with a message naming the file.

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_backends.py   (TAP on stdout)
"""

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import (BEARER_TOKEN, BUILDDIR, Mcp, Stack, Tap, check_logs, result_of,  # noqa: E402
                     write_backend_files)

SECRET = "backend-secret-" + os.urandom(12).hex()
TIMEOUT_MS = 1500


class Upstream(http.server.BaseHTTPRequestHandler):
    seen = []  # (method, path, headers dict, body)
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def _record(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with Upstream.lock:
            Upstream.seen.append((self.command, self.path, dict(self.headers), body))
        return body

    def _send(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._record()
        p = self.path.split("?")[0]
        if p == "/hang":
            time.sleep(8)
            return self._send(200, b"{}")
        if p == "/garbage":
            return self._send(200, b"\x00\xff{{not json at all")
        if p == "/not-utf8":  # an overlong "/" and half a surrogate pair: not UTF-8
            return self._send(200, b"a \xc0\xaf and \xed\xa0\x80", "text/plain")
        if p == "/fail":
            return self._send(500, b"internal trouble")
        if p == "/echo-auth":
            return self._send(200, json.dumps({"auth": self.headers.get("Authorization")})
                              .encode())
        if p == "/big":
            return self._send(200, b"[" + b"1," * 100000 + b"1]")
        return self._send(200, json.dumps({"path": self.path, "items": [1, 2]}).encode())

    def do_POST(self):
        body = self._record()
        return self._send(201, body or b"{}")

    def do_DELETE(self):
        self._record()
        self.send_response(204)
        self.end_headers()


def write_backends(d, port):
    env_file = os.path.join(d, "secrets.env")
    with open(env_file, "w") as f:
        f.write("# test secrets\nUP_TOKEN=%s\n" % SECRET)
    os.chmod(env_file, 0o644)  # test only; the web server's user must read it
    base = "http://127.0.0.1:%d" % port
    up = {
        "mcpgate_backend": 1, "name": "up", "base_url": base, "allow_private": True,
        "timeout_ms": TIMEOUT_MS, "max_response_bytes": 65536,
        "credentials": {"token": {"type": "bearer", "env_file": env_file,
                                  "variable": "UP_TOKEN"}},
        "auth": ["token"],
        "tools": [
            {"name": "get_item", "method": "GET", "path": "/items/{id}",
             "description": "Reads one item",
             "input_schema": {"type": "object", "required": ["id"],
                              "additionalProperties": False,
                              "properties": {"id": {"type": "string", "minLength": 1},
                                             "limit": {"type": "integer", "minimum": 1,
                                                       "maximum": 100},
                                             "tags": {"type": "array",
                                                      "items": {"enum": ["a", "b c"]}}}},
             "args": {"tags": {"in": "query", "name": "tag"}},
             "result": {"pointer": ""}},
            {"name": "create_item", "method": "POST", "path": "/items",
             "input_schema": {"type": "object", "required": ["name"],
                              "properties": {"name": {"type": "string",
                                                      "pattern": "^[a-z]+$"},
                                             "size": {"$ref": "#/$defs/size"}},
                              "$defs": {"size": {"type": "integer", "minimum": 0}}}},
            {"name": "delete_item", "method": "DELETE", "path": "/items/{id}",
             "input_schema": {"type": "object", "required": ["id"],
                              "properties": {"id": {"type": "integer"}}}},
            {"name": "hang", "method": "GET", "path": "/hang"},
            {"name": "garbage", "method": "GET", "path": "/garbage"},
            {"name": "not_utf8", "method": "GET", "path": "/not-utf8"},
            {"name": "fail", "method": "GET", "path": "/fail"},
            {"name": "echo_auth", "method": "GET", "path": "/echo-auth"},
            {"name": "big", "method": "GET", "path": "/big"},
        ],
    }
    private = {"mcpgate_backend": 1, "name": "priv", "base_url": base,
               "tools": [{"name": "get", "method": "GET", "path": "/items/x"}]}
    byname = {"mcpgate_backend": 1, "name": "byname",
              "base_url": "http://localhost:%d" % port,
              "tools": [{"name": "get", "method": "GET", "path": "/items/x"}]}
    web = {"mcpgate_backend": 1, "name": "web", "base_url": base, "allow_private": True,
           "tools": [{"name": "search", "method": "GET", "path": "/items/s"}]}
    write_backend_files(d, {"up": up, "priv": private, "byname": byname, "web": web}, indent=1)


def text_of(res):
    try:
        return res["content"][0]["text"]
    except (KeyError, IndexError, TypeError):
        return ""


def check_config(t, d):
    """A bad backend file stops the responder with a message naming it."""
    bad_dir = os.path.join(d, "bad")
    os.mkdir(bad_dir)
    with open(os.path.join(bad_dir, "broken.json"), "w") as f:
        f.write('{"mcpgate_backend": 1, "name": "broken", "base_url": "ftp://x", "tools": []}')
    conf = os.path.join(d, "bad.conf")
    with open(conf, "w") as f:
        f.write("base_url = http://127.0.0.1:1\ndatabase = dbname=unused\n"
                "backends_dir = %s\n" % bad_dir)
    responder = os.path.join(BUILDDIR, "src", "mcpgate.fcgi")
    r = subprocess.run([responder, "--config", conf, "--check-config"], capture_output=True,
                       text=True, timeout=20, stdin=subprocess.DEVNULL)
    t.ok(r.returncode == 1 and "broken.json" in r.stderr and "base_url" in r.stderr,
         "a bad backend file stops the responder, naming the file and the fault",
         "exit %s" % r.returncode, r.stderr)


def main():
    t = Tap()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    d = tempfile.mkdtemp(prefix="mcpgate-backends-")
    os.chmod(d, 0o755)  # the stack's responders run as www-data
    try:
        write_backends(d, port)
        check_config(t, d)
        with Stack(t, servers="lighttpd", config_extra="backends_dir = %s" % d) as st:
            url = dict(st.front_ends()).get("lighttpd")
            c = Mcp(url, name="backends")
            r = c.initialize()
            if not t.ok(r.status == 200 and c.sid, "initialize", r.describe()):
                return t.done()
            run(t, c)
            st.stop(remove=False)
            check_logs(t, st)
            leaks = []
            for key, path in st.log_paths().items():
                try:
                    with open(path, errors="replace") as f:
                        if SECRET in f.read():
                            leaks.append("%s holds the backend secret" % key)
                except OSError:
                    pass
            t.check("the backend secret is in no web server log", leaks)
    finally:
        server.shutdown()
        shutil.rmtree(d, ignore_errors=True)
    return t.done()


def run(t, c):
    r = c.call("tools/list", {})
    tools = {x["name"]: x for x in (result_of(r).get("tools") or [])}
    want = ["up_get_item", "up_create_item", "up_delete_item", "up_hang", "priv_get",
            "web_search_tool"]
    t.check("tools/list shows the backend tools, namespaced",
            ["missing %s" % n for n in want if n not in tools], r)
    t.ok("web_search" not in tools, "a tool named like ChatGPT's web_search is renamed")
    ann = lambda n: (tools.get(n) or {}).get("annotations") or {}  # noqa: E731
    t.ok(ann("up_get_item").get("readOnlyHint") is True and
         ann("up_create_item").get("readOnlyHint") is False and
         ann("up_delete_item").get("destructiveHint") is True and
         ann("up_get_item").get("openWorldHint") is True,
         "annotations follow the access class (GET read, POST write, DELETE destructive)",
         json.dumps({n: ann(n) for n in want[:3]}))
    t.ok(SECRET not in r.body.decode("utf-8", "replace"), "tools/list shows no secret")

    def call(name, args, timeout=15):
        t0 = time.monotonic()
        r = c.tool(name, args, timeout=timeout)
        res = result_of(r)
        body = r.body.decode("utf-8", "replace")
        if SECRET in body:
            t.ok(False, "%s: the response holds the backend secret" % name)
        return r, res, time.monotonic() - t0

    # validation before anything goes out
    bad = [({"id": "x", "limit": 500}, "limit"), ({}, "id"), ({"id": "x", "extra": 1}, "extra"),
           ({"id": "x", "tags": ["zzz"]}, "tags[0]"), ({"id": 5}, "id")]
    for args, where in bad:
        before = len(Upstream.seen)
        r, res, _ = call("up_get_item", args)
        t.ok(res.get("isError") is True and where in text_of(res) and
             len(Upstream.seen) == before,
             "invalid arguments %s: isError naming %s, nothing sent" % (json.dumps(args), where),
             r.describe())
    r, res, _ = call("up_create_item", {"name": "Bad Name"})
    t.ok(res.get("isError") is True and "pattern" in text_of(res), "pattern is checked",
         r.describe())
    r, res, _ = call("up_create_item", {"name": "ok", "size": -1})
    t.ok(res.get("isError") is True and "size" in text_of(res), "a $ref'd schema is checked",
         r.describe())

    # a good call
    Upstream.seen.clear()
    r, res, _ = call("up_get_item", {"id": "a/b c", "limit": 5, "tags": ["a", "b c"]})
    seen = Upstream.seen[-1] if Upstream.seen else ("", "", {}, b"")
    t.ok(res.get("isError") is False and
         (res.get("structuredContent") or {}).get("items") == [1, 2] and
         "items" in text_of(res),
         "a GET answers structuredContent and text", r.describe())
    t.ok(seen[1] == "/items/a%2Fb%20c?limit=5&tag=a&tag=b%20c",
         "path parameter encoded, query and repeated array parameter as declared",
         "upstream saw %r" % (seen[1],))
    t.ok(seen[2].get("Authorization") == "Bearer " + SECRET,
         "the backend's credential is injected", "headers %r" % (list(seen[2].keys()),))
    t.ok(BEARER_TOKEN not in json.dumps(seen[2]),
         "the client's own access token is not forwarded upstream")
    r, res, _ = call("up_create_item", {"name": "abc", "size": 3})
    seen = Upstream.seen[-1]
    t.ok(res.get("isError") is False and seen[0] == "POST" and
         json.loads(seen[3] or b"{}") == {"name": "abc", "size": 3} and
         seen[2].get("Content-Type") == "application/json",
         "a POST sends the JSON body", r.describe(), repr(seen))
    r, res, _ = call("up_delete_item", {"id": 7})
    t.ok(res.get("isError") is False and Upstream.seen[-1][:2] == ("DELETE", "/items/7"),
         "a DELETE with an empty 204 answer", r.describe())

    # bad upstreams: bounded, clean errors
    r, res, el = call("up_hang", {}, timeout=20)
    t.ok(res.get("isError") is True and "did not answer within" in text_of(res) and
         el < TIMEOUT_MS / 1000 + 3,
         "an upstream that hangs: isError after the timeout (%.1fs)" % el, r.describe())
    r, res, _ = call("up_garbage", {})
    t.ok(res.get("isError") is True and "not valid JSON" in text_of(res),
         "an upstream that answers garbage: isError", r.describe())
    r, res, _ = call("up_not_utf8", {})
    t.ok(res.get("isError") is False and "binary content (text/plain)" in text_of(res),
         "a text answer with an overlong form and a surrogate is binary, not text",
         r.describe())
    r, res, _ = call("up_fail", {})
    t.ok(res.get("isError") is True and "HTTP 500" in text_of(res),
         "an upstream that answers 500: isError with the status", r.describe())
    r, res, _ = call("up_big", {})
    t.ok(res.get("isError") is True and "more than 65536 bytes" in text_of(res),
         "an answer over max_response_bytes: isError", r.describe())
    r, res, _ = call("up_echo_auth", {})
    t.ok(res.get("isError") is False and "[redacted]" in text_of(res),
         "an upstream that echoes the secret: redacted", r.describe())

    # private addresses
    for name in ("priv_get", "byname_get"):
        before = len(Upstream.seen)
        r, res, _ = call(name, {})
        t.ok(res.get("isError") is True and "private" in text_of(res) and
             len(Upstream.seen) == before,
             "%s: loopback refused without allow_private, nothing sent" % name, r.describe())
    r = c.call("ping")
    t.ok(r.status == 200, "the responder still serves after all that", r.describe())


if __name__ == "__main__":
    sys.exit(main())
