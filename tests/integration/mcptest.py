"""mcptest.py - stdlib-only harness for the mcpgate integration tests.

What it gives a test script:
  Tap          TAP output: `ok N - desc` / `not ok N - desc` with `# ` diagnostics
               (status, headers and body of the response that failed), `1..N` at the end,
               exit status 1 if any test failed, 99 after a bail-out.
  Stack        context manager: runs `$top_srcdir/scripts/stack.sh start DIR` in a fresh
               temporary DIR, parses DIR/env, and ALWAYS runs `stack.sh stop DIR`
               (finally, atexit, SIGTERM/SIGINT/SIGHUP handlers, and a watchdog alarm).
  request / post_json    one HTTP exchange with http.client (raw bytes, custom headers;
               a header given as None is left out), returns a Response.
  Mcp          an MCP client over one front end: initialize() -> session id, call(), notify(),
               delete(); every request carries a recognisable bearer token so the log check
               can look for it.
  checks       expect_error / expect_result / expect_rpc_error / expect_empty return a list of
               problems (empty = pass), so one TAP line can report everything that was wrong.
  helpers      admin (the admin command against a stack), free_port, result_of,
               write_backend_files (backend documents into a backends.d), HeldTransaction
               (a psql transaction left open, e.g. holding a lock, until commit()).

Environment (set by automake's AM_TESTS_ENVIRONMENT, all optional when run by hand):
  top_srcdir, top_builddir   default: the repository holding this file
  MCPGATE_BUILDDIR           default: $top_builddir (passed on to stack.sh)
  MCPGATE_RESPONDER          responder binary (stack.sh default: $MCPGATE_BUILDDIR/src/mcpgate.fcgi)
  MCPGATE_ADMIN              default: $top_builddir/src/mcpgate
  MCPGATE_TEST_TIMEOUT       watchdog for the whole script in seconds (default 110)
  MCPGATE_KEEP_STACK_DIR=1   keep DIR (configs, logs) after the stack is stopped
"""

import atexit
import http.client
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

# MCPGATE_VALGRIND=1 (make check under valgrind memcheck): the responders and the admin
# command run 10 to 50 times slower, a sign-in's scrypt takes seconds; waits scale by SLOW.
VALGRIND = os.environ.get("MCPGATE_VALGRIND") == "1"
SLOW = 4 if VALGRIND else 1
# MCPGATE_SANITIZERS=1: the build has ASan+UBSan (configure --enable-sanitizers; set by
# Makefile.am). In these code-checking passes and under valgrind, a test may run what only
# repeats the responder's code through fewer front ends (Stack's code_check_servers); the
# default build runs every front end. MCPGATE_ALL_FRONT_ENDS=1 keeps them all anywhere.
SANITIZERS = os.environ.get("MCPGATE_SANITIZERS") == "1"
FEWER_FRONT_ENDS = (VALGRIND or SANITIZERS) and os.environ.get("MCPGATE_ALL_FRONT_ENDS") != "1"
HTTP_TIMEOUT_S = 10 * SLOW
STACK_START_TIMEOUT_S = 90
STACK_CMD_TIMEOUT_S = 60
PSQL_TIMEOUT_S = 10

VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST = "2025-11-25"
FRONT_ENDS = ("lighttpd", "fcgid", "proxy")
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# ASan/LSan/UBSan reports, and valgrind memcheck's (MCPGATE_VALGRIND=1, quiet mode:
# every ==PID== line is an error or a definite leak, except valgrind's own warnings)
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: "
                          r"|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)"
                          r"|==\d+== (?!Warning: )\S")

HERE = os.path.dirname(os.path.abspath(__file__))

# Secrets sent during the run; the log check asserts none of them reaches a log.
SESSION_IDS = set()
BEARER_TOKEN = "secret-token-" + secrets.token_hex(16)
REQUEST_IDS = []


# ---------------------------------------------------------------------------
# paths and environment


def _abs_env(name, default):
    value = os.environ.get(name) or default
    return os.path.abspath(value)


TOP_SRCDIR = _abs_env("top_srcdir", os.path.join(HERE, "..", ".."))
TOP_BUILDDIR = _abs_env("top_builddir", TOP_SRCDIR)
BUILDDIR = _abs_env("MCPGATE_BUILDDIR", TOP_BUILDDIR)
STACK_SH = os.path.join(TOP_SRCDIR, "scripts", "stack.sh")


def test_responder():
    """Path of the responder with the test-only tools (test_slow, test_whoami)."""
    return os.path.join(TOP_BUILDDIR, "tests", "mcpgate-test.fcgi")


# ---------------------------------------------------------------------------
# TAP


class Tap:
    """TAP producer. Descriptions never contain '#' (that would start a directive)."""

    def __init__(self):
        self.n = 0
        self.failed = []
        self.lock = threading.Lock()

    @staticmethod
    def diag(*lines):
        for chunk in lines:
            for line in str(chunk).splitlines() or [""]:
                sys.stdout.write("# " + line + "\n")
        sys.stdout.flush()

    def ok(self, cond, desc, *diag):
        """Report one test; diag lines are printed only on failure. Returns cond."""
        with self.lock:
            self.n += 1
            desc = desc.replace("#", "no.").replace("\n", " ")
            sys.stdout.write("%s %d - %s\n" % ("ok" if cond else "not ok", self.n, desc))
            if not cond:
                self.failed.append("%d - %s" % (self.n, desc))
                self.diag(*diag)
            sys.stdout.flush()
        return bool(cond)

    def check(self, desc, problems, *context):
        """ok() when the list of problems is empty; on failure prints them, then context
        (typically Response objects, printed with their status, headers and body)."""
        diag = ["problem: " + p for p in problems]
        for c in context:
            diag.append(c.describe() if hasattr(c, "describe") else str(c))
        return self.ok(not problems, desc, *diag)

    def skip(self, desc, reason):
        with self.lock:
            self.n += 1
            sys.stdout.write("ok %d - %s # SKIP %s\n" % (self.n, desc.replace("#", "no."), reason))
            sys.stdout.flush()

    def bail(self, reason, *diag):
        self.diag(*diag)
        sys.stdout.write("Bail out! %s\n" % reason.replace("\n", " "))
        sys.stdout.flush()
        _cleanup_all()
        os._exit(99)

    def done(self):
        """Print the plan and return the exit status (0 if all passed)."""
        sys.stdout.write("1..%d\n" % self.n)
        if self.failed:
            self.diag("%d of %d tests failed:" % (len(self.failed), self.n), *self.failed)
        sys.stdout.flush()
        return 1 if self.failed else 0


# ---------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, method, url, req_headers, req_body, status=None, reason="",
                 headers=None, body=b"", error=None, elapsed=0.0):
        self.method = method
        self.url = url
        self.req_headers = req_headers
        self.req_body = req_body
        self.status = status
        self.reason = reason
        self.headers = headers or []  # list of (name, value) as received
        self.body = body
        self.error = error  # exception text when no response was received
        self.elapsed = elapsed
        self._json = None
        self._json_done = False

    def header(self, name):
        """First value of a header (case-insensitive), or None."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def json(self):
        """The body parsed as JSON, or None if it is not JSON."""
        if not self._json_done:
            self._json_done = True
            try:
                self._json = json.loads(self.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self._json = None
        return self._json

    @property
    def content_type(self):
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    def describe(self, limit=1500):
        out = []
        body = self.req_body or b""
        shown = body[:300]
        more = " ...(%d bytes)" % len(body) if len(body) > 300 else ""
        out.append("request: %s %s" % (self.method, self.url))
        for k, v in self.req_headers.items():
            if k.lower() == "content-length":
                continue
            out.append("  %s: %s" % (k, v))
        if body:
            out.append("  body: %r%s" % (shown, more))
        if self.error is not None:
            out.append("no response: %s (after %.2fs)" % (self.error, self.elapsed))
            return "\n".join(out)
        out.append("response: %s %s (%.2fs)" % (self.status, self.reason, self.elapsed))
        for k, v in self.headers:
            out.append("  %s: %s" % (k, v))
        b = self.body[:limit]
        out.append("  body: %r%s" % (b, " ...(%d bytes)" % len(self.body)
                                     if len(self.body) > limit else ""))
        return "\n".join(out)


def request(method, url, body=None, headers=None, timeout=HTTP_TIMEOUT_S):
    """One HTTP exchange on a fresh connection. headers: dict; a None value omits the
    header. body: bytes, str (UTF-8) or None. Never raises for network errors: the
    Response then has status None and error set."""
    u = urllib.parse.urlsplit(url)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    hdrs = {k: v for k, v in (headers or {}).items() if v is not None}
    if isinstance(body, str):
        body = body.encode("utf-8")
    t0 = time.monotonic()
    resp = Response(method, url, hdrs, body)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True,
                        skip_host=any(k.lower() == "host" for k in hdrs))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if body is not None and not any(k.lower() == "content-length" for k in hdrs):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                # The server may answer (e.g. 413) and close before reading it all:
                # the response can still be read.
                pass
        r = conn.getresponse()
        resp.status = r.status
        resp.reason = r.reason
        resp.headers = list(r.getheaders())
        resp.body = r.read()
    except (OSError, http.client.HTTPException) as e:
        resp.error = "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    resp.elapsed = time.monotonic() - t0
    rid = resp.header("X-Request-Id")
    if rid:
        REQUEST_IDS.append(rid)
    return resp


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


CLIENT_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
}


def post_json(url, body, headers=None, timeout=HTTP_TIMEOUT_S):
    """POST body (bytes sent as is; anything else JSON-encoded) with the usual client
    headers, overridden by headers (None removes one)."""
    if not isinstance(body, (bytes, bytearray)):
        body = json_bytes(body)
    h = dict(CLIENT_HEADERS)
    h.update(headers or {})
    return request("POST", url, bytes(body), h, timeout)


def stateless_tool(base_url, key, name, arguments, id=7):
    """A stateless 2026-07-28 tools/call (no session) of tool name with a bearer key."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}
    return post_json(base_url + "/mcp", {
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": meta}},
        {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": name,
         "Authorization": "Bearer " + key})


# ---------------------------------------------------------------------------
# MCP client


class Mcp:
    """A client of one front end's /mcp. Every request carries an Authorization header
    with bearer: BEARER_TOKEN unless given (auth = none: the server ignores it; the logs
    must not show it), or an API key or access token the test got."""

    _ids = 0
    _ids_lock = threading.Lock()

    def __init__(self, base_url, version=LATEST, name="mcptest", bearer=BEARER_TOKEN):
        self.bearer = bearer
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/mcp"
        self.version = version
        self.requested_version = version
        self.sid = None
        self.name = name
        self.last_notify = None  # the notifications/initialized Response of initialize()

    @classmethod
    def next_id(cls):
        with cls._ids_lock:
            cls._ids += 1
            return cls._ids

    def headers(self, extra=None, session=True):
        h = dict(CLIENT_HEADERS)
        h["Authorization"] = "Bearer " + self.bearer
        if session and self.sid:
            h["Mcp-Session-Id"] = self.sid
        # Clients send MCP-Protocol-Version from 2025-06-18 on.
        if session and self.sid and self.version >= "2025-06-18":
            h["MCP-Protocol-Version"] = self.version
        h.update(extra or {})
        return h

    def post(self, body, headers=None, session=True, timeout=HTTP_TIMEOUT_S):
        if not isinstance(body, (bytes, bytearray)):
            body = json_bytes(body)
        return request("POST", self.url, bytes(body), self.headers(headers, session), timeout)

    def initialize_body(self, version=None, id=None, params=None):
        if params is None:
            params = {
                "protocolVersion": version or self.requested_version,
                "capabilities": {},
                "clientInfo": {"name": self.name, "version": "0.1"},
            }
        return {"jsonrpc": "2.0", "id": self.next_id() if id is None else id,
                "method": "initialize", "params": params}

    def initialize(self, version=None, id=None, params=None, headers=None, notify=True):
        """Send initialize (no session header). On success remember the session id and
        the negotiated version and, if notify, send notifications/initialized.
        Returns the initialize Response."""
        if version:
            self.requested_version = version
        r = self.post(self.initialize_body(version, id, params), headers, session=False)
        sid = r.header("Mcp-Session-Id")
        if sid:
            SESSION_IDS.add(sid)
        res = (r.json or {}).get("result") if isinstance(r.json, dict) else None
        if r.status == 200 and sid and isinstance(res, dict):
            self.sid = sid
            self.version = res.get("protocolVersion", self.requested_version)
            if notify:
                self.last_notify = self.notify("notifications/initialized")
        return r

    def call(self, method, params=None, id=None, headers=None, timeout=HTTP_TIMEOUT_S):
        msg = {"jsonrpc": "2.0", "id": self.next_id() if id is None else id, "method": method}
        if params is not None:
            msg["params"] = params
        return self.post(msg, headers, timeout=timeout)

    def tool(self, name, arguments=None, id=None, headers=None, timeout=HTTP_TIMEOUT_S):
        params = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        return self.call("tools/call", params, id, headers, timeout)

    def notify(self, method, params=None, headers=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        return self.post(msg, headers)

    def delete(self, headers=None):
        h = self.headers(headers)
        for k in ("Content-Type",):
            h.pop(k, None)
        h = {k: v for k, v in h.items() if v is not None}
        return request("DELETE", self.url, None, h)


def tool_text(resp):
    """The text of the first content item of a tools/call result, or None."""
    try:
        return resp.json["result"]["content"][0]["text"]
    except (TypeError, KeyError, IndexError):
        return None


# ---------------------------------------------------------------------------
# checks: each returns a list of problems, empty when the response is as expected


ANY_ID = object()  # for errors where either null or the request's id is acceptable


def _common(resp, status):
    p = []
    if resp.status is None:
        return ["no HTTP response: %s" % resp.error]
    if resp.status != status:
        p.append("HTTP status %s, expected %s" % (resp.status, status))
    if not resp.header("X-Request-Id"):
        p.append("no X-Request-Id header")
    return p


def expect_error(resp, status, code, id=None):
    """A transport-level error: HTTP status, Content-Type application/json, body
    {"jsonrpc":"2.0","id":id,"error":{"code":code,"message":str}}. id=ANY_ID accepts any
    string/integer/null id; id=(a, b) accepts a or b."""
    p = _common(resp, status)
    if resp.status is None:
        return p
    if resp.content_type != "application/json":
        p.append("Content-Type %r, expected application/json" % resp.header("Content-Type"))
    j = resp.json
    if not isinstance(j, dict):
        p.append("body is not a JSON object")
        return p
    if j.get("jsonrpc") != "2.0":
        p.append('"jsonrpc" is %r, expected "2.0"' % j.get("jsonrpc"))
    if "id" not in j:
        p.append('no "id" member')
    elif id is ANY_ID:
        if not (j["id"] is None or isinstance(j["id"], (str, int))):
            p.append("id %r is not null/string/integer" % (j["id"],))
    elif isinstance(id, tuple):
        if not any(_same_id(j["id"], i) for i in id):
            p.append("id %r, expected one of %r" % (j["id"], id))
    elif not _same_id(j["id"], id):
        p.append("id %r, expected %r" % (j["id"], id))
    if "result" in j:
        p.append('error response has a "result" member')
    e = j.get("error")
    if not isinstance(e, dict):
        p.append('no "error" object')
        return p
    if e.get("code") != code or isinstance(e.get("code"), bool):
        p.append("error.code %r, expected %d" % (e.get("code"), code))
    if not isinstance(e.get("message"), str) or not e.get("message"):
        p.append("error.message missing or not a non-empty string")
    return p


# A change made through one process (a session deleted, a token revoked) reaches the caches
# of the others by PostgreSQL NOTIFY: the process that made it answers once its own
# listener has the notification; the others get theirs within milliseconds, not at the
# same instant. The caches promise 1 s (docs/scaling.md): tests print how long it took.
CHANGE_REACHES_ALL_S = 1.0
# What a correctness test allows before it calls a change lost: well under the caches'
# fallback lifetime (STORE_CACHE_MAX_LIFE_MS, 60 s), so a change that reached a process only
# by that expiry, not by its notification, still fails; but a loaded CI machine, where one
# round of requests alone can take a second, is not a defect.
CHANGE_CHECK_S = 10.0 * SLOW


def until_status(call, status, timeout_s=CHANGE_CHECK_S):
    """retry_until() for an HTTP answer: calls call() every 5 ms until it answers status.
    Returns (the last response, seconds until it did, or None when it never did)."""
    def attempt():
        r = call()
        return r.status == status, r
    ok, r, _, took = retry_until(attempt, timeout_s, 0.005)
    return r, (took if ok else None)


def _same_id(a, b):
    return type(a) is type(b) and a == b


def _rpc(resp, id):
    p = _common(resp, 200)
    if resp.status is None:
        return p, None
    if resp.content_type != "application/json":
        p.append("Content-Type %r, expected application/json" % resp.header("Content-Type"))
    j = resp.json
    if not isinstance(j, dict):
        p.append("body is not a JSON object")
        return p, None
    if j.get("jsonrpc") != "2.0":
        p.append('"jsonrpc" is %r' % j.get("jsonrpc"))
    if "id" not in j or not _same_id(j.get("id"), id):
        p.append("id %r, expected %r" % (j.get("id", "<missing>"), id))
    return p, j


def expect_result(resp, id):
    """HTTP 200 with a JSON-RPC success for id. Returns (problems, result or None)."""
    p, j = _rpc(resp, id)
    if j is None:
        return p, None
    if "error" in j:
        p.append("JSON-RPC error %r instead of a result" % (j["error"],))
    if "result" not in j:
        p.append('no "result" member')
        return p, None
    return p, j["result"]


def expect_rpc_error(resp, id, code):
    """HTTP 200 with a JSON-RPC error response for id with this code."""
    p, j = _rpc(resp, id)
    if j is None:
        return p
    if "result" in j:
        p.append('"result" present, expected an error: %r' % (j["result"],))
    e = j.get("error")
    if not isinstance(e, dict):
        p.append('no "error" object')
        return p
    if e.get("code") != code or isinstance(e.get("code"), bool):
        p.append("error.code %r, expected %d" % (e.get("code"), code))
    if not isinstance(e.get("message"), str):
        p.append("error.message is not a string")
    return p


def expect_empty(resp, status):
    """status (202/204) with an empty body."""
    p = _common(resp, status)
    if resp.status is not None and resp.body:
        p.append("body is not empty (%d bytes)" % len(resp.body))
    return p


def ping_ok(client, id=None):
    """Problems with a ping over client's session (empty list = it answered {})."""
    id = Mcp.next_id() if id is None else id
    r = client.call("ping", id=id)
    p, res = expect_result(r, id)
    if res is not None and res != {}:
        p.append("ping result %r, expected {}" % (res,))
    return p, r


def retry_until(fn, timeout_s, interval_s=0.2):
    """Call fn() -> (ok, value) until ok or timeout. Returns (ok, value, attempts, elapsed)."""
    t0 = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        ok, value = fn()
        elapsed = time.monotonic() - t0
        if ok or elapsed >= timeout_s:
            return ok, value, attempts, elapsed
        time.sleep(interval_s)


# ---------------------------------------------------------------------------
# processes


def pgrep(path):
    """pids of the processes whose command line contains path (pgrep -f)."""
    try:
        out = subprocess.run(["pgrep", "-f", re.escape(path)], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {int(x) for x in out.split()} - {os.getpid()}


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    # state is the field after "(comm)"
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    return state not in ("Z", "X")


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return "?"


def wait_exit(pids, timeout_s=10):
    """Wait until none of pids is alive. Returns (set still alive, elapsed)."""
    t0 = time.monotonic()
    while True:
        alive = {p for p in pids if pid_alive(p)}
        elapsed = time.monotonic() - t0
        if not alive or elapsed >= timeout_s:
            return alive, elapsed
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# the stack

_STACKS = []  # started and not yet stopped
_RUNNING = []  # [(subcommand, Popen)] of the stack.sh command under way, if any


def _finish_running_command():
    """From a signal handler: let a running `stack.sh stop` finish; end any other running
    stack.sh command (start, pg-*) with SIGTERM to its process group, so that the stop that
    follows finds a settled stack. Bounded; uses os.waitpid because the interrupted frame
    may hold the Popen's wait lock."""
    for sub, p in list(_RUNNING):
        if sub != "stop":
            _killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + (STACK_CMD_TIMEOUT_S if sub == "stop" else 10)
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(p.pid, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                break
            time.sleep(0.1)
        else:
            _killpg(p.pid, signal.SIGKILL)


def _killpg(pid, sig):
    try:
        os.killpg(pid, sig)
    except OSError:
        pass


def _cleanup_all():
    for s in list(_STACKS):
        s.stop()


def _on_signal(signum, frame):
    sys.stdout.write("# caught signal %d: stopping the stack\n" % signum)
    sys.stdout.flush()
    _finish_running_command()
    _cleanup_all()
    os._exit(128 + signum)


def _on_alarm(signum, frame):
    sys.stdout.write("Bail out! watchdog: the script ran longer than %s s\n"
                     % os.environ.get("MCPGATE_TEST_TIMEOUT", "110"))
    sys.stdout.flush()
    _finish_running_command()
    _cleanup_all()
    os._exit(99)


_handlers_installed = False


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_cleanup_all)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(int(os.environ.get("MCPGATE_TEST_TIMEOUT") or 110 * SLOW))


def parse_env_file(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            if line.startswith("export "):
                line = line[7:].strip()
            k, v = line.split("=", 1)
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            env[k.strip()] = v
    return env


def parse_config(path):
    """mcpgate.conf: key = value lines, # comments."""
    conf = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if "=" in line:
                    k, v = line.split("=", 1)
                    conf[k.strip()] = v.strip()
    except OSError:
        pass
    return conf


class Stack:
    """with Stack(tap, servers=..., responder=..., config_extra=..., auth=...) as st: ...

    Starts scripts/stack.sh in a fresh temporary directory and stops it however the
    script ends. A failed start is a bail-out (after stop). auth is the responders'
    `auth` setting (STACK_AUTH): "none" unless a test asks for "oauth", so that each test
    says what it needs whatever conf/mcpgate.conf's default is.

    code_check_servers: the front ends to start instead of servers under valgrind
    (MCPGATE_VALGRIND=1) and in the ASan+UBSan build (MCPGATE_SANITIZERS=1), for a test
    whose checks are the responder's whatever front end it is behind: memcheck and the
    sanitizers look at the responder's code, the same behind every front end, and each
    front end more only repeats it, 2 to 50 times slower. The default build still runs
    servers; MCPGATE_ALL_FRONT_ENDS=1 ignores it."""

    def __init__(self, tap, servers=None, responder=None, config_extra=None, auth="none",
                 code_check_servers=None):
        self.tap = tap
        self.dir = None
        self.env = {}
        self.started = False
        self.stopped = False
        self.proc_env = dict(os.environ)
        self.proc_env.setdefault("MCPGATE_BUILDDIR", BUILDDIR)
        self.proc_env.setdefault("MCPGATE_ADMIN", os.path.join(TOP_BUILDDIR, "src", "mcpgate"))
        self.proc_env["top_srcdir"] = TOP_SRCDIR
        self.proc_env["top_builddir"] = TOP_BUILDDIR
        if responder:
            self.proc_env["MCPGATE_RESPONDER"] = responder
        if code_check_servers and FEWER_FRONT_ENDS:
            servers = code_check_servers
        if servers:
            self.proc_env["STACK_SERVERS"] = servers
        if responder == test_responder() and "discovery_threshold" not in (config_extra or ""):
            # the test responder carries every conformance suite's fixtures, more tools than
            # the default discovery_threshold: tests list them all unless they test discovery
            config_extra = "discovery_threshold = 0\n" + (config_extra or "")
        if config_extra:
            self.proc_env["STACK_CONFIG_EXTRA"] = config_extra
        self.proc_env["STACK_AUTH"] = auth

    # -- lifecycle

    def __enter__(self):
        _install_handlers()
        if not os.path.isfile(STACK_SH):
            self.tap.bail("no stack script at %s" % STACK_SH)
        for tool in ("psql",):
            if not shutil.which(tool):
                self.tap.bail("%s not found on PATH" % tool)
        self.dir = tempfile.mkdtemp(prefix="mcpgate-it-")
        _STACKS.append(self)
        self.started = True  # from here on, stop() runs `stack.sh stop` (idempotent)
        t0 = time.monotonic()
        r = self._run("start", timeout=STACK_START_TIMEOUT_S)
        self.start_s = time.monotonic() - t0
        if r.returncode != 0:
            self.tap.bail("stack.sh start failed (exit %s)" % r.returncode,
                          "stdout:", r.stdout[-3000:], "stderr:", r.stderr[-3000:])
        envfile = os.path.join(self.dir, "env")
        try:
            self.env = parse_env_file(envfile)
        except OSError as e:
            self.tap.bail("stack started but %s unreadable: %s" % (envfile, e))
        for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
            if k not in self.env:
                self.tap.bail("%s missing from %s" % (k, envfile))
        self.tap.diag("stack started in %.1fs: %s" % (self.start_s, self.dir))
        return self

    def __exit__(self, *exc):
        self.stop(remove=False)
        if self.started:
            # stack.sh stop must leave nothing running that this stack started
            left = set()
            for key in ("STACK_RUNTIME", "STACK_DIR", "RESPONDER_LIGHTTPD", "RESPONDER_FCGID",
                        "RESPONDER_PROXY"):
                if self.env.get(key):
                    left |= pgrep(self.env[key])
            alive, _ = wait_exit(left, 10)
            self.tap.ok(not alive, "stack.sh stop leaves no process of this stack running",
                        *["still running: %d %s" % (p, _cmdline(p)) for p in sorted(alive)])
            self.check_sanitizer_reports()
        self.remove_dir()
        return False

    def stop(self, remove=True):
        """Run `stack.sh stop DIR` once (idempotent); then remove DIR unless remove=False."""
        if not self.stopped and self.dir:
            self.stopped = True
            self._psql_close()
            if self.started:
                if self.tap.failed:
                    self.dump_logs()
                r = self._run("stop", timeout=STACK_CMD_TIMEOUT_S)
                if r.returncode != 0:
                    self.tap.diag("stack.sh stop exited %s: %s"
                                  % (r.returncode, r.stderr[-2000:]))
            if self in _STACKS:
                _STACKS.remove(self)
        if remove:
            self.remove_dir()

    def remove_dir(self):
        if not self.dir or not os.path.isdir(self.dir):
            return
        if os.environ.get("MCPGATE_KEEP_STACK_DIR") == "1":
            self.tap.diag("stack dir kept: %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def check_sanitizer_reports(self):
        """After the stop (responders exited, leak checks ran): no ASan/LSan/UBSan report in
        the logs. Meaningful in the sanitizer build; passes trivially in the default one."""
        found = []
        for key, path in sorted(self.log_paths().items()):
            try:
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            for line in text.splitlines():
                if SANITIZER_RE.search(line):
                    found.append("%s: %s" % (key, line.strip()[:300]))
        self.tap.check("no sanitizer report in the logs (after the stop)", found[:20])

    def _run(self, sub, timeout=STACK_CMD_TIMEOUT_S):
        """Run `stack.sh SUB DIR` in its own session (a ^C for the tests must not cut a
        stop short) with its output in files (no SIGPIPE if this process dies first).
        Returns a CompletedProcess with text stdout/stderr; never raises."""
        argv = _script_argv(STACK_SH) + [sub, self.dir]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                p = subprocess.Popen(argv, env=self.proc_env, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=err, start_new_session=True)
            except OSError as e:
                return subprocess.CompletedProcess(argv, 127, "", str(e))
            _RUNNING.append((sub, p))
            note = ""
            try:
                rc = p.wait(timeout)
            except subprocess.TimeoutExpired:
                _killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    _killpg(p.pid, signal.SIGKILL)
                    p.wait()
                rc, note = 124, "\n(timed out after %ss)" % timeout
            finally:
                _RUNNING.remove((sub, p))
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, rc, _s(out.read()), _s(err.read()) + note)

    def cmd(self, sub, timeout=STACK_CMD_TIMEOUT_S):
        """Run `stack.sh SUB DIR` (pg-restart, pg-stop, pg-start, responder-restart, status).
        Returns the CompletedProcess (never raises)."""
        return self._run(sub, timeout)

    # -- what the env file says

    def front_ends(self):
        """(name, url) of the front ends this stack should have. A front end that was asked
        for (STACK_SERVERS, default all three) but has no URL_ is reported as failed."""
        wanted = (self.proc_env.get("STACK_SERVERS") or " ".join(FRONT_ENDS)).split()
        out = []
        for fe in wanted:
            url = self.env.get("URL_" + fe.upper())
            if self.tap.ok(bool(url), "%s: env file has URL_%s" % (fe, fe.upper()),
                           "env: %r" % self.env):
                out.append((fe, url.rstrip("/")))
        return out

    def config(self, fe):
        return parse_config(self.env.get("CONFIG_" + fe.upper(), ""))

    def responder_path(self, fe):
        return self.env.get("RESPONDER_" + fe.upper())

    def stop_responders(self, fe, timeout_s):
        """SIGTERM to the responders behind fe (mod_proxy_fcgi's through responder-restart,
        which starts a new one); returns (pids, those still alive after timeout_s)."""
        pids = pgrep(self.responder_path(fe))
        if fe == "proxy":
            self.cmd("responder-restart")
        else:
            for pid in pids:
                os.kill(pid, signal.SIGTERM)
        alive, _ = wait_exit(pids, timeout_s)
        return pids, alive

    def log_paths(self):
        return {k: self.env[k] for k in ("LOG_LIGHTTPD", "LOG_APACHE", "LOG_PROXY")
                if self.env.get(k)}

    def dump_logs(self, lines=40):
        for k, path in self.log_paths().items():
            try:
                with open(path, errors="replace") as f:
                    tail = f.readlines()[-lines:]
            except OSError as e:
                tail = ["(unreadable: %s)" % e]
            self.tap.diag("---- last %d lines of %s (%s) ----" % (lines, k, path))
            self.tap.diag("".join(tail).rstrip("\n"))

    # -- PostgreSQL

    def _pg_env(self):
        env = dict(os.environ)
        for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
            env[k] = self.env[k]
        env.pop("PGPASSWORD", None)
        return env

    def psql(self, sql):
        """Run one SQL statement; returns (ok, stdout stripped or error text).
        Uses one long-lived `psql -XAtq` (a process per statement costs ~30 ms); falls back
        to a one-shot psql if that one died (e.g. after a PostgreSQL restart) or hung."""
        res = self._psql_session(sql)
        if res is not None:
            return res
        try:
            r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                               env=self._pg_env(), capture_output=True, text=True,
                               timeout=PSQL_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, str(e)
        if r.returncode != 0:
            return False, r.stderr.strip()
        return True, r.stdout.strip()

    def _psql_session(self, sql):
        """(ok, output) from the long-lived psql, or None when it is not usable."""
        p = getattr(self, "_psql", None)
        if p is None or p.poll() is not None:
            self._psql_close()
            try:
                errf = tempfile.TemporaryFile()
                p = subprocess.Popen(["psql", "-XAtq", "-v", "ON_ERROR_STOP=0"],
                                     env=self._pg_env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=errf)
            except OSError:
                return None
            self._psql, self._psql_err = p, errf
        marker = "--mcptest-%s--" % secrets.token_hex(8)
        errf = self._psql_err
        errf.seek(0, os.SEEK_END)
        err_at = errf.tell()
        try:
            p.stdin.write(("%s;\n\\echo %s\n" % (sql.rstrip().rstrip(";"), marker)).encode())
            p.stdin.flush()
        except OSError:
            self._psql_close()
            return None
        out = b""
        deadline = time.monotonic() + PSQL_TIMEOUT_S
        fd = p.stdout.fileno()
        while (marker.encode() + b"\n") not in out:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self._psql_close()
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                self._psql_close()
                return None
            out += chunk
        text = out.decode("utf-8", "replace").split(marker)[0].strip()
        errf.seek(err_at)
        err = errf.read().decode("utf-8", "replace").strip()
        if err:
            return False, err
        return True, text

    def _psql_close(self):
        p = getattr(self, "_psql", None)
        self._psql = None
        if p is None:
            return
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(2)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(2)
        if getattr(self, "_psql_err", None):
            self._psql_err.close()
            self._psql_err = None

    def count_sessions(self):
        """SELECT count(*) FROM mcp_sessions, or None if psql failed."""
        ok, out = self.psql("SELECT count(*) FROM mcp_sessions")
        if not ok:
            self.tap.diag("psql failed: " + out)
            return None
        try:
            return int(out)
        except ValueError:
            return None


# ---------------------------------------------------------------------------
# helpers many tests share


def free_port():
    """A loopback TCP port nothing listens on at the moment of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def result_of(resp):
    """The JSON-RPC result object of a response, or {} when there is none."""
    res = resp.json.get("result") if isinstance(resp.json, dict) else None
    return res if isinstance(res, dict) else {}


def write_backend_files(d, docs, indent=None):
    """Writes each backend document of docs ({name: document}) to d/NAME.json, readable
    by the web server's user (test only: the files hold no secret)."""
    for name, doc in docs.items():
        p = os.path.join(d, name + ".json")
        with open(p, "w") as f:
            json.dump(doc, f, indent=indent)
        os.chmod(p, 0o644)


def admin_exe():
    """The admin command: $MCPGATE_ADMIN (read at each call), else the build's src/mcpgate."""
    return os.environ.get("MCPGATE_ADMIN") or os.path.join(TOP_BUILDDIR, "src", "mcpgate")


class HeldTransaction:
    """A transaction of its own psql session: BEGIN, then sql (e.g. a LOCK or a SELECT
    ... FOR UPDATE), left open until commit(). ok: sql ran (psql stops at an error)."""

    def __init__(self, stack, sql, timeout_s=20):
        self.timeout_s = timeout_s
        self.p = subprocess.Popen(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1"],
                                  env=stack._pg_env(), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.p.stdin.write("BEGIN;\n%s;\nSELECT 'held';\n" % sql)
        self.p.stdin.flush()
        self.ok = False
        for line in self.p.stdout:  # what sql printed, then 'held'; EOF when it failed
            if line.strip() == "held":
                self.ok = True
                break

    def commit(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("COMMIT;\n")
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(self.timeout_s)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def admin(stack, *args, stdin="", frontend=None, conf=None, timeout=None):
    """Runs `mcpgate --config CONF ARGS...` for a stack and returns the CompletedProcess
    (text, output captured). CONF is conf if given, else the configuration of frontend
    ("lighttpd", "fcgid", "proxy"), else of the first of those the stack runs. stdin is
    the command's input; MCPGATE_CONFIG from the caller's environment is not passed on.
    timeout defaults to 30 s times SLOW (under valgrind a `user add` hashes a password
    at the production cost under memcheck, which on a loaded machine took over 30 s)."""
    if timeout is None:
        timeout = 30 * SLOW
    if conf is None and frontend:
        conf = stack.env["CONFIG_" + frontend.upper()]
    elif conf is None:
        conf = next(stack.env[k] for k in ("CONFIG_LIGHTTPD", "CONFIG_FCGID", "CONFIG_PROXY")
                    if k in stack.env)
    env = dict(os.environ)
    env.pop("MCPGATE_CONFIG", None)
    return subprocess.run([admin_exe(), "--config", conf] + list(args), input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=env)


def _script_argv(path):
    """argv to run a script, through its #! interpreter when it is not executable."""
    if os.access(path, os.X_OK):
        return [path]
    try:
        with open(path) as f:
            first = f.readline()
    except OSError:
        return [path]
    if first.startswith("#!"):
        return first[2:].split() + [path]
    return ["sh", path]


def _s(x):
    if x is None:
        return ""
    return x.decode("utf-8", "replace") if isinstance(x, bytes) else x


# ---------------------------------------------------------------------------
# shared test parts


def secret_in(text, secret, fragment=12):
    """Where secret shows in text: "all" when whole, "a FRAGMENT-char fragment" when one of
    its pieces of that length (taken every 4 characters, the end included) does, else
    None. A secret shorter than fragment counts only whole."""
    if secret in text:
        return "all"
    starts = list(range(0, len(secret) - fragment + 1, 4))
    if starts and starts[-1] != len(secret) - fragment:
        starts.append(len(secret) - fragment)
    for i in starts:
        if secret[i:i + fragment] in text:
            return "a %d-char fragment" % fragment
    return None


def stack_log_texts(stack):
    """{name: text} of every log file the stack wrote, whatever wrote it: everything in
    DIR/log (the web servers' error and access logs, the responders', PostgreSQL's, the
    migration's). Read it after stack.stop(remove=False), so that all is flushed."""
    out = {}
    logdir = os.path.join(stack.dir or "", "log")
    for name in sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []:
        path = os.path.join(logdir, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out[name] = f.read().decode("utf-8", "replace")
    return out


def check_secrets_logged(tap, stack, secrets, fragment=12):
    """One TAP line per secret ({label: value}): neither it nor a fragment-char piece of it
    is in any log the stack wrote (stack_log_texts). Returns the number of leaks."""
    texts = stack_log_texts(stack)
    tap.ok(bool(texts), "the stack wrote logs to read (%s)" % ", ".join(sorted(texts)))
    leaks = 0
    for label, value in sorted(secrets.items()):
        where = []
        for name, text in texts.items():
            found = secret_in(text, value, fragment)
            if found:
                where.append("%s of it is in %s" % (found, name))
        leaks += bool(where)
        tap.check("no log holds %s (%d chars), not even a %d-char fragment"
                  % (label, len(value), fragment), where)
    return leaks


def check_logs(tap, stack):
    """No session id and no Authorization header value in the error logs."""
    logs = stack.log_paths()
    for key in ("LOG_LIGHTTPD", "LOG_APACHE", "LOG_PROXY"):
        fe_started = {"LOG_LIGHTTPD": "URL_LIGHTTPD", "LOG_APACHE": ("URL_FCGID", "URL_PROXY"),
                      "LOG_PROXY": "URL_PROXY"}[key]
        fe_started = fe_started if isinstance(fe_started, tuple) else (fe_started,)
        if not any(stack.env.get(u) for u in fe_started):
            continue
        path = logs.get(key)
        if not tap.ok(bool(path) and os.path.isfile(path), "%s exists" % key,
                      "env %s=%r" % (key, path)):
            continue
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        leaks = []
        for sid in sorted(SESSION_IDS):
            found = secret_in(text, sid, 16)
            if found:
                leaks.append("%s of session id %s... found" % (found, sid[:6]))
        found = secret_in(text, BEARER_TOKEN[len("secret-token-"):], 12)
        if found:
            leaks.append("%s of the Authorization bearer token found" % found)
        seen = sum(1 for rid in set(REQUEST_IDS) if rid in text)
        tap.check("%s: no session id (of %d) and no Authorization value in the log"
                  % (key, len(SESSION_IDS)), leaks,
                  "log %s: %d bytes, mentions %d of our request ids" % (path, len(text), seen))
