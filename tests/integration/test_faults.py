#!/usr/bin/env python3
"""test_faults.py - faults under load (issue 8, point 3), through lighttpd and Apache mod_fcgid
with auth = oauth (real tokens) on one private PostgreSQL, with tests/mcpgate-test.fcgi.

A load of LOAD_WORKERS client threads (half per front end, each with its own sign-in, MCP
session and keep-alive connection) runs for the whole script: tools/call echo (audited),
test_slow SLOW_MS (so that faults hit calls in flight), a bearer check (ping) and refresh token
rotation. While it runs, one after the other, each on a settled stack (every request sent
before it answered):

  a. stack.sh pg-restart, then pg-stop, PG_DOWN_S, pg-start: during the outage answers are 503
     with Retry-After, a JSON-RPC error (-32603) on /mcp and an OAuth error on /token, within
     FAIL_FAST_S of the responder's time for a request sent while PostgreSQL is down (one in
     flight when it went away finishes its work first); once PostgreSQL accepts connections
     again (probed on its socket every 20 ms) each front end serves again within PG_RECOVERY_S
     (printed: from the moment PostgreSQL accepts to the send time of the first request that
     succeeded with none failing after it, so a slow test client can only make it look
     longer, never shorter);
  b. SIGKILL to a random responder of each front end, KILL_ROUNDS times (mod_fcgid's in every
     FCGID_KILL_EVERY-th round only, see part_kill), then to every responder of both while a
     test_slow call runs on each: the web servers start new ones and serve again;
  c. stack.sh web-graceful (lighttpd SIGUSR1, apachectl -k graceful);
  d. a REST backend on 127.0.0.1 (this script, in a process of its own) that hangs, resets the
     connection, answers garbage, a truncated body, HTML, more than max_response_bytes,
     trickles its answer, or is not there, each tool called twice on each front end at once:
     every call gets a well-formed tool result (isError, but for the HTML, passed on as text);
     the responder spends at most timeout_ms + BACKEND_SERVER_SLACK_MS on it (the audit row's
     duration_ms) and the client waits at most timeout_ms + BACKEND_SLACK_S (which includes
     the wait for a mod_fcgid process while the hanging calls hold the others).

Every answer the load got is classified:
  ok           the expected answer: 200 with the JSON-RPC result (echo text, "slept N ms", {}),
               200 with a token response
  unavailable  503 from the responder (X-Request-Id) with Retry-After and the JSON-RPC error
               -32603 on /mcp, {"error":"temporarily_unavailable"} on /token
  web_5xx      500, 502, 503 or 504 from the web server itself (no X-Request-Id, its own HTML
               error page): what lighttpd and mod_fcgid answer when the responder dies with
               the request, or its replacement does not listen yet
  reset        no complete HTTP response: refused, reset, closed in the middle
  closed_idle  a reused keep-alive connection closed before any byte of the response: the server
               closed it as idle while the request went out (the race of HTTP/1.1 keep-alive,
               which clients retry)
  refresh_lost a refresh whose answer was lost (web_5xx/reset) and whose immediate retry was
               refused as already used: the responder rotated the token and died before it
               answered; the client keeps its access token and stops refreshing
  refused      a well-formed answer that is not the expected one (a 4xx, a JSON-RPC error)
  malformed    anything else: a 200 that is not the JSON it should be, a 503 without
               Retry-After, a 5xx from the responder that is not a 503, no answer within
               HTTP_TIMEOUT_S, ...
Accepted: ok always; unavailable from the start of a PostgreSQL fault to PG_RECOVERY_S after
PostgreSQL accepts connections again; web_5xx, reset, closed_idle and refresh_lost from the
first SIGKILL until every front end served again; closed_idle during a graceful restart.
Nothing else, ever.

Afterwards: every access token received before the backend faults (so before and during
a-c), and the refresh tokens of two sign-ins made before any fault and never used, still work; every tools/call answered with a
result (isError false or true) has its audit row with that outcome and the request id of the
answer (correlated as in test_audit.py); no token or session id in the logs.

test_soak.py imports the load machinery from here (Conn, Signin, Worker, Load, Recorder and
the checks).

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_faults.py   (TAP on stdout)
"""

import collections
import http.client
import http.server
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
import oauthlib  # noqa: E402
from mcptest import (Stack, Tap, admin, expect_error, expect_result, free_port,  # noqa: E402
                     json_bytes, pgrep, write_backend_files)

USER, PASSWORD = "loaded", "a long enough password for the load"
SERVERS = "lighttpd fcgid"
LOAD_WORKERS = 6           # half per front end
THINK_S = 0.005            # pause between two requests of a worker
SLOW_MS = 150              # test_slow: a call in flight for this long
SLOW_EVERY, PING_EVERY, REFRESH_EVERY = 6, 5, 23
HTTP_TIMEOUT_S = 15        # a hung request is an error: nothing here should take that long
BASELINE_S = 2.0
PG_DOWN_S = 2.0
PG_RECOVERY_S = 2.0        # the bound
FAIL_FAST_S = 1.0          # an answer during the outage comes at least this fast
KILL_ROUNDS, KILL_PAUSE_S = 6, 0.6
FCGID_KILL_EVERY = 3       # mod_fcgid's responders die in every third round only (see part_kill)
RESPAWN_WAIT_S = 15
GRACEFUL_TAIL_S = 2.0      # graceful window: from the command until this long after it
BACKEND_TIMEOUT_MS = 1000
BACKEND_MAX_BYTES = 65536
BACKEND_SLACK_S = 4.0      # client side: the wait for a mod_fcgid process, on a loaded machine
BACKEND_SERVER_SLACK_MS = 300  # server side (the audit row's duration_ms), on top of timeout_ms
TOKEN_CHECKS_PER_WORKER = 25
CONFIG_EXTRA = ("register_per_hour = 100000\n"  # dynamic registrations: one per sign-in
                "rate_limit_user_per_min = 0\n"  # one user, thousands of calls a minute
                "rate_limit_client_per_min = 0\n"
                "db_connect_timeout_s = 2")

ACCEPTED = {
    "pg": {"unavailable"},
    "kill": {"web_5xx", "reset", "closed_idle", "refresh_lost"},
    "graceful": {"closed_idle"},
    "backend": set(),
}


# ---------------------------------------------------------------------------
# one keep-alive connection, and what an answer is


class Conn:
    """A keep-alive HTTP/1.1 connection to one front end, reopened after an error or a
    Connection: close. exchange() returns an mcptest.Response with t_sent, t_done (monotonic)
    and reused (the request went out on a connection that had carried one before)."""

    def __init__(self, base_url):
        u = urllib.parse.urlsplit(base_url)
        self.base = base_url.rstrip("/")
        self.host, self.port = u.hostname, u.port
        self.conn = None
        self.used = 0
        self.since = None  # t_sent of the request in flight, if any

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn, self.used = None, 0

    def exchange(self, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT_S):
        if isinstance(body, str):
            body = body.encode()
        hdrs = {k: v for k, v in (headers or {}).items() if v is not None}
        r = mcptest.Response(method, self.base + path, hdrs, body)
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self.conn.timeout = timeout
        r.reused = self.used > 0
        r.got_status = False
        r.t_sent = self.since = time.monotonic()
        try:
            self.conn.request(method, path, body=body, headers=hdrs)
            resp = self.conn.getresponse()
            r.got_status = True
            r.status, r.reason = resp.status, resp.reason
            r.headers = list(resp.getheaders())
            r.body = resp.read()
            self.used += 1
            if resp.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as e:
            r.error = "%s: %s" % (type(e).__name__, e)
            r.timed_out = isinstance(e, socket.timeout)
            self.close()
        r.t_done = time.monotonic()
        r.elapsed = r.t_done - r.t_sent
        self.since = None
        return r


def mcp_headers(token, sid, extra=None):
    h = dict(mcptest.CLIENT_HEADERS)
    h["Authorization"] = "Bearer " + token
    if sid:
        h["Mcp-Session-Id"] = sid
        h["MCP-Protocol-Version"] = mcptest.LATEST
    h.update(extra or {})
    return h


def rpc_body(id, method, params=None):
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return json_bytes(msg)


def classify_failure(r, endpoint):
    """The class of an answer that is not the expected one (see the module docstring)."""
    if r.error is not None:
        if getattr(r, "timed_out", False):
            return "malformed", "no answer within %ss" % HTTP_TIMEOUT_S
        if r.reused and not r.got_status:
            return "closed_idle", r.error
        return "reset", r.error
    rid = r.header("X-Request-Id")
    if not rid:
        if r.status in (500, 502, 503, 504):
            return "web_5xx", "%s from the web server" % r.status
        return "malformed", "HTTP %s without X-Request-Id" % r.status
    if r.status == 503:
        if endpoint == "/mcp":
            p = expect_error(r, 503, -32603, mcptest.ANY_ID)
        else:
            j = r.json if isinstance(r.json, dict) else {}
            p = [] if j.get("error") == "temporarily_unavailable" else [
                "body %r is not an OAuth temporarily_unavailable error" % r.body[:200]]
        retry = r.header("Retry-After") or ""
        if not retry.isdigit() or not 1 <= int(retry) <= 60:
            p.append("Retry-After %r" % retry)
        return ("unavailable", "") if not p else ("malformed", "; ".join(p))
    if r.status >= 500:
        return "malformed", "HTTP %s from the responder" % r.status
    if r.content_type == "application/json" and isinstance(r.json, dict):
        return "refused", "HTTP %s %s" % (r.status, r.body[:160])
    return "malformed", "HTTP %s with a body that is not JSON" % r.status


def classify_rpc(r, id, want=None):
    """(class, why, result) of a /mcp JSON-RPC exchange; want(result) -> problem or None."""
    if r.error is None and r.status == 200:
        p, res = expect_result(r, id)
        if not p and want:
            w = want(res)
            if w:
                p.append(w)
        if not p:
            return "ok", "", res
        if isinstance(r.json, dict) and isinstance(r.json.get("error"), dict):
            return "refused", "; ".join(p), None
        return "malformed", "; ".join(p), None
    cls, why = classify_failure(r, "/mcp")
    return cls, why, None


def classify_token(r):
    """(class, why, token json) of a /token exchange."""
    if r.error is None and r.status == 200:
        j = r.json if isinstance(r.json, dict) else {}
        p = [k for k in ("access_token", "refresh_token") if not isinstance(j.get(k), str)]
        if j.get("token_type") != "Bearer" or not isinstance(j.get("expires_in"), int):
            p.append("token_type/expires_in")
        if r.content_type != "application/json":
            p.append("Content-Type %r" % r.header("Content-Type"))
        if not p:
            return "ok", "", j
        return "malformed", "token response lacks " + ", ".join(p), None
    cls, why = classify_failure(r, "/token")
    return cls, why, None


def tool_text_is(text):
    def want(res):
        try:
            got = res["content"][0]["text"]
        except (TypeError, KeyError, IndexError):
            got = None
        if got != text or res.get("isError") is not False:
            return "result %r, expected text %r and isError false" % (res, text)
        return None
    return want


# ---------------------------------------------------------------------------
# what happened, and when


Rec = collections.namedtuple("Rec", "t_sent t_done fe op cls why rid outcome status")


class Recorder:
    """Every exchange of every thread (appends are atomic in CPython), the fault windows, the
    tokens as they were received, and the first few failures in full for the diagnostics."""

    def __init__(self):
        self.t0 = time.monotonic()  # the origin of the +seconds in the diagnostics
        self.recs = []
        self.windows = []  # (kind, name, start, end)
        self.tokens = []   # (t received, worker name, access token)
        self.shown = collections.Counter()
        self.samples = []

    def add(self, r, fe, op, cls, why, outcome=None):
        rid = r.header("X-Request-Id") if r.error is None else None
        self.note(Rec(r.t_sent, r.t_done, fe, op, cls, why, rid, outcome, r.status), r)

    def note(self, rec, detail=""):
        """Records one exchange; detail (text, or a Response) is kept for the first few of each
        failing class."""
        self.recs.append(rec)
        if rec.cls != "ok" and self.shown[rec.cls] < 3:
            self.shown[rec.cls] += 1
            if hasattr(detail, "describe"):
                detail = detail.describe(600)
            self.samples.append("%s %s %s (%s): %s" % (rec.fe, rec.op, rec.cls, rec.why, detail))

    def window(self, kind, name, start, end):
        self.windows.append((kind, name, start, end))

    def accepted(self, rec):
        ok = {"ok"}
        for kind, _, start, end in self.windows:
            if rec.t_sent <= end and rec.t_done >= start:
                ok |= ACCEPTED[kind]
        return rec.cls in ok

    def describe(self, r):
        """': op on fe at +s (windows)' for a diagnostic line; '' for None."""
        if r is None:
            return ""
        wins = [n for _, n, a, b in self.windows if r.t_sent <= b and r.t_done >= a]
        return ": %s on %s at +%.2fs (%s)" % (r.op, r.fe, r.t_sent - self.t0,
                                              ", ".join(wins) or "no fault")

    def between(self, start, end):
        return [r for r in self.recs if r.t_sent <= end and r.t_done >= start]


def counts(recs):
    """'op: cls n, ...' lines, for the diagnostics."""
    c = collections.Counter((r.fe, r.op, r.cls) for r in recs)
    out = collections.defaultdict(list)
    for (fe, op, cls), n in sorted(c.items()):
        out["%s %s" % (fe, op)].append("%s %d" % (cls, n))
    return ["%-20s %s" % (k, ", ".join(v)) for k, v in sorted(out.items())]


def class_counts(recs):
    c = collections.Counter(r.cls for r in recs)
    return ", ".join("%s %d" % kv for kv in sorted(c.items())) or "none"


# ---------------------------------------------------------------------------
# sign-ins and the load


class Signin:
    """One OAuth sign-in at a front end (dynamic registration, authorize with login and consent,
    code exchange) and an MCP session opened with its access token."""

    def __init__(self, fe, url, name):
        self.fe, self.url, self.name = fe, url, name
        self.oauth = oauthlib.OAuth(url)
        client, tok, problems = self.oauth.full_flow(oauthlib.Browser(), USER, PASSWORD)
        self.problems = problems
        self.client_id = (client or {}).get("client_id")
        self.access = (tok or {}).get("access_token")
        self.refresh_token = (tok or {}).get("refresh_token")
        self.sid = None
        if self.access:
            m = oauthlib.mcp_with(url, self.access)
            r = m.initialize()
            self.sid = m.sid
            if not m.sid:
                self.problems.append("initialize failed: " + r.describe())
            else:
                mcptest.SESSION_IDS.add(m.sid)


class Worker(threading.Thread):
    """A client that loops over its operations until stop is set: next_op() says which one
    comes next (echo by default, test_slow, ping, refresh)."""

    think_s = THINK_S  # pause between two requests

    def __init__(self, signin, rec, stop):
        super().__init__(daemon=True, name=signin.name)
        self.s, self.fe, self.rec, self.stop = signin, signin.fe, rec, stop
        self.conn = Conn(signin.url)
        self.i = 0
        self.refreshing = True
        rec.tokens.append((time.monotonic(), signin.name, signin.access))

    def run(self):
        while not self.stop.is_set():
            self.i += 1
            self.next_op()()
            self.stop.wait(self.think_s)
        self.conn.close()

    def next_op(self):
        if self.i % REFRESH_EVERY == 0 and self.refreshing:
            return self.op_refresh
        if self.i % SLOW_EVERY == 0:
            return self.op_slow
        if self.i % PING_EVERY == 0:
            return self.op_ping
        return self.op_echo

    def rpc(self, op, method, params, want):
        id = mcptest.Mcp.next_id()
        r = self.conn.exchange("POST", "/mcp", rpc_body(id, method, params),
                               mcp_headers(self.s.access, self.s.sid))
        cls, why, res = classify_rpc(r, id, want)
        outcome = None
        if method == "tools/call" and cls == "ok":
            outcome = "error" if res.get("isError") else "ok"
        self.rec.add(r, self.fe, op, cls, why, outcome)
        return cls

    def op_echo(self):
        msg = "%s-%d" % (self.s.name, self.i)
        self.rpc("echo", "tools/call", {"name": "echo", "arguments": {"message": msg}},
                 tool_text_is(msg))

    def op_slow(self):
        self.rpc("slow", "tools/call", {"name": "test_slow", "arguments": {"ms": SLOW_MS}},
                 tool_text_is("slept %d ms" % SLOW_MS))

    def op_ping(self):
        self.rpc("ping", "ping", None, lambda res: None if res == {} else "result %r" % res)

    def op_refresh(self):
        """Rotates the refresh token. An answer lost with the responder (web_5xx, reset) may
        have rotated it: the retry at once (within refresh_grace_s) either gets new tokens or is
        refused as already used, which revokes nothing; then stop refreshing."""
        cls = self.refresh_once("refresh")
        for _ in range(3):
            if cls not in ("web_5xx", "reset", "closed_idle"):
                return
            cls = self.refresh_once("refresh_retry", retry=True)
        if cls != "ok" and cls != "unavailable":
            self.refreshing = False

    def refresh_once(self, op, retry=False):
        body = oauthlib.form_body({"grant_type": "refresh_token",
                                   "refresh_token": self.s.refresh_token,
                                   "client_id": self.s.client_id})
        r = self.conn.exchange("POST", "/token", body, oauthlib.FORM)
        cls, why, j = classify_token(r)
        if cls == "ok":
            self.s.access, self.s.refresh_token = j["access_token"], j["refresh_token"]
            self.rec.tokens.append((r.t_done, self.s.name, self.s.access))
        elif retry and cls == "refused" and (r.json or {}).get("error") == "invalid_grant":
            cls, why = "refresh_lost", "the lost answer had rotated it: %s" % r.body[:120]
            self.refreshing = False
        self.rec.add(r, self.fe, op, cls, why)
        return cls


class Load:
    """Workers over the front ends, started and stopped together."""

    def __init__(self, signins, rec, worker=Worker):
        self.stop = threading.Event()
        self.workers = [worker(s, rec, self.stop) for s in signins]

    def start(self):
        for w in self.workers:
            w.start()

    def finish(self):
        self.stop.set()
        for w in self.workers:
            w.join(HTTP_TIMEOUT_S + 10)
        return [w.name for w in self.workers if w.is_alive()]

    def waiting(self, before):
        """Workers whose request in flight was sent before `before`."""
        return [w.name for w in self.workers
                if w.conn.since is not None and w.conn.since < before]


def sign_in_all(t, urls, n, prefix):
    """n sign-ins spread over the front ends (fe, url) in turn; bails out if one fails."""
    out = []
    for i in range(n):
        fe, url = urls[i % len(urls)]
        s = Signin(fe, url, "%s%d-%s" % (prefix, i, fe))
        if s.problems or not s.sid:
            t.bail("sign-in %s failed" % s.name, *s.problems)
        out.append(s)
    return out


def add_user(t, st):
    r = admin(st, "user", "add", USER, stdin=PASSWORD + "\n")
    if r.returncode != 0:
        t.bail("mcpgate user add failed", r.stdout, r.stderr)


def serves(url, token, sid):
    """(served, response) of one ping over a fresh connection."""
    id = mcptest.Mcp.next_id()
    r = Conn(url).exchange("POST", "/mcp", rpc_body(id, "ping"), mcp_headers(token, sid),
                           timeout=5)
    cls, _, _ = classify_rpc(r, id)
    return cls == "ok", r


# ---------------------------------------------------------------------------
# checks shared with test_soak.py


def check_answers(t, rec, what):
    """Every answer is of a class accepted at its time; prints the counts."""
    bad = [r for r in rec.recs if not rec.accepted(r)]
    t.diag("%s: %d answers: %s" % (what, len(rec.recs), class_counts(rec.recs)), *counts(rec.recs))
    ex = ["%s%s: %s (%s)" % (r.cls, rec.describe(r), r.why, "%.2fs" % (r.t_done - r.t_sent))
          for r in bad[:15]]
    t.check("%s: every answer is well-formed and of a class accepted at its time "
            "(%d not: %s)" % (what, len(bad), class_counts(bad)), ex, *rec.samples[:8])


def check_audit(t, st, rec, extra=()):
    """Every tools/call answered with a result has its audit row, same request id and outcome.
    extra: more (request id, outcome) pairs."""
    want = {r.rid: r.outcome for r in rec.recs if r.outcome and r.rid}
    want.update(dict(extra))
    ok, out = st.psql("SELECT request_id, outcome FROM audit_log WHERE request_id IS NOT NULL")
    if not t.ok(ok, "audit_log can be read", out):
        return
    have = dict(line.split("|", 1) for line in out.splitlines() if "|" in line)
    missing = [rid for rid in want if rid not in have]
    wrong = ["%s: %s, answered %s" % (rid, have[rid], o) for rid, o in want.items()
             if rid in have and have[rid] != o]
    oks = sum(1 for o in want.values() if o == "ok")
    t.diag("audit: %d calls answered with a result (%d ok, %d isError), %d audit rows in all, "
           "%d answered without a row" % (len(want), oks, len(want) - oks, len(have),
                                          len(missing)))
    by_rid = {r.rid: r for r in rec.recs if r.rid}
    t.check("every tools/call answered with a result has its audit row (%d of %d)"
            % (len(want) - len(missing), len(want)),
            ["no audit row for request id %s%s" % (rid, rec.describe(by_rid.get(rid)))
             for rid in missing[:10]] + wrong[:10])


def check_no_secrets_in_logs(t, st, secrets_):
    """No token or session id in a log: one pass collects every long base64url word."""
    words = set()
    for key, path in sorted(st.log_paths().items()):
        try:
            with open(path, "rb") as f:
                words |= set(re.findall(rb"[A-Za-z0-9_-]{32,}", f.read()))
        except OSError:
            pass
    found = [s for s in secrets_ if s and s.encode() in words]
    t.check("no token or session id (of %d) in the web servers' logs" % len(secrets_),
            ["%s... found" % s[:6] for s in found[:10]])


# libpq's own notice output: "SEVERITY:  message", unformatted on stderr. A server that
# shuts down sends its idle connections "FATAL:  terminating connection due to
# administrator command"; mcpgate logs it in its own format (store_pg_log_notices).
RAW_LIBPQ_RE = re.compile(rb"^(?:.*stderr: )?(?:FATAL|ERROR|WARNING|NOTICE):  .*$", re.M)


def check_no_raw_libpq_lines(t, st):
    """The restarts above make every idle connection hear a FATAL: none of it is raw."""
    raw = []
    for key, path in sorted(st.log_paths().items()):
        try:
            with open(path, "rb") as f:
                raw += ["%s: %s" % (key, m.group(0).decode("utf-8", "replace"))
                        for m in RAW_LIBPQ_RE.finditer(f.read())]
        except OSError:
            pass
    t.check("no raw libpq notice line in the web servers' logs", raw[:10],
            "%d raw lines" % len(raw))


# ---------------------------------------------------------------------------
# d. a backend that misbehaves


class Faulty(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def head(self, status, ctype, length):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self):
        p = self.path.split("?")[0]
        self.close_connection = True
        try:
            if p == "/hang":
                time.sleep(BACKEND_TIMEOUT_MS / 1000 + 4)
            elif p == "/reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            elif p == "/garbage":
                self.head(200, "application/json", 22)
                self.wfile.write(b"\x00\xff{{not json at all...")
            elif p == "/truncated":
                self.head(200, "application/json", 4096)
                self.wfile.write(b'{"items": [1, 2, 3], "more": "')
            elif p == "/html":
                body = b"<html><body><h1>Service Unavailable</h1></body></html>"
                self.head(200, "text/html", len(body))
                self.wfile.write(body)
            elif p == "/huge":
                self.head(200, "application/json", 64 << 20)
                chunk = b"[" + b"1," * 32767
                for _ in range(1024):  # at most 64 MB, until mcpgate hangs up
                    self.wfile.write(chunk)
            elif p == "/drip":
                self.head(200, "application/json", 1000)
                for _ in range(100):  # 10 s, far past the timeout, until mcpgate hangs up
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
        except OSError:
            pass  # mcpgate gave up, as it should


def serve_faulty():
    """`test_faults.py --faulty-backend`: the backend in a process of its own (in this one the
    load's threads would slow its answers down), on a free loopback port that it prints; it
    exits when its stdin closes, so it never outlives the test."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Faulty)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    os._exit(0)


def start_faulty():
    """(process, port) of serve_faulty() run as a child."""
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--faulty-backend"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
    return p, int(p.stdout.readline() or 0)


BACKEND_FAULTS = [  # (tool, what, isError expected)
    ("flt_hang", "hangs", True),
    ("flt_reset", "resets the connection", True),
    ("flt_garbage", "answers garbage as JSON", True),
    ("flt_truncated", "answers a truncated body", True),
    ("flt_html", "answers HTML (wrong content type): passed on as text", False),
    ("flt_huge", "answers 64 MB", True),
    ("flt_drip", "trickles its answer past the timeout", True),
    ("gone_get", "is not there (connection refused)", True),
]


def write_backends(d, port):
    tools = [{"name": name[len("flt_"):], "method": "GET", "path": "/" + name[len("flt_"):]}
             for name, _, _ in BACKEND_FAULTS if name.startswith("flt_")]
    docs = {
        "flt": {"mcpgate_backend": 1, "name": "flt", "base_url": "http://127.0.0.1:%d" % port,
                "allow_private": True, "timeout_ms": BACKEND_TIMEOUT_MS,
                "max_response_bytes": BACKEND_MAX_BYTES, "tools": tools},
        "gone": {"mcpgate_backend": 1, "name": "gone", "allow_private": True,
                 "base_url": "http://127.0.0.1:%d" % free_port(),  # nothing listens
                 "timeout_ms": BACKEND_TIMEOUT_MS,
                 "tools": [{"name": "get", "method": "GET", "path": "/x"}]},
    }
    write_backend_files(d, docs)


BackendCall = collections.namedtuple("BackendCall", "fe tool elapsed problems text rid outcome resp")


def part_backend(t, rec, signins):
    """Each faulty tool twice on each front end, all at once, while the load runs."""
    results = []
    lock = threading.Lock()

    def call(s, tool, want_error):
        c = Conn(s.url)
        id = mcptest.Mcp.next_id()
        r = c.exchange("POST", "/mcp", rpc_body(id, "tools/call", {"name": tool, "arguments": {}}),
                       mcp_headers(s.access, s.sid))
        c.close()
        cls, why, res = classify_rpc(r, id)
        p = [] if cls == "ok" else ["%s: %s" % (cls, why)]
        text = ""
        if res is not None:
            try:
                text = res["content"][0]["text"]
            except (KeyError, IndexError, TypeError):
                p.append("no text content: %r" % res)
            if want_error is not None and res.get("isError") is not want_error:
                p.append("isError %r, expected %r" % (res.get("isError"), want_error))
        if r.elapsed > BACKEND_TIMEOUT_MS / 1000 + BACKEND_SLACK_S:
            p.append("took %.2fs" % r.elapsed)
        outcome = ("error" if res.get("isError") else "ok") if res is not None else None
        rid = r.header("X-Request-Id") if r.error is None else None
        with lock:
            results.append(BackendCall(s.fe, tool, r.elapsed, p, text, rid, outcome, r))

    t0 = time.monotonic()
    threads = [threading.Thread(target=call, args=(s, tool, want), daemon=True)
               for s in signins for tool, _, want in BACKEND_FAULTS for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(HTTP_TIMEOUT_S + 5)
    rec.window("backend", "backend faults", t0, time.monotonic())
    for tool, what, _ in BACKEND_FAULTS:
        mine = sorted(x for x in results if x.tool == tool)
        times = ", ".join("%s %.2fs" % (x.fe, x.elapsed) for x in mine)
        t.diag("%s: %s" % (tool, (mine[0].text if mine else "")[:140]))
        problems = ["%s: %s" % (x.fe, "; ".join(x.problems)) for x in mine if x.problems]
        if len(mine) != 2 * len(signins):
            problems.append("%d of %d calls answered" % (len(mine), 2 * len(signins)))
        t.check("backend that %s: %d calls answered within %.1fs with a clean tool result (%s)"
                % (what, len(mine), BACKEND_TIMEOUT_MS / 1000 + BACKEND_SLACK_S, times),
                problems, *[x.resp for x in mine if x.problems][:2])
    return results


def check_backend_durations(t, st, calls):
    """The responder's own time on each faulty call (the audit row's duration_ms, so that
    neither the test nor the wait for a process counts) stays within timeout_ms."""
    ok, out = st.psql("SELECT request_id, duration_ms FROM audit_log WHERE tool LIKE 'flt%' "
                      "OR tool LIKE 'gone%'")
    ms = dict(line.split("|") for line in out.splitlines() if ok and "|" in line)
    bound = BACKEND_TIMEOUT_MS + BACKEND_SERVER_SLACK_MS
    p, worst = [], collections.defaultdict(int)
    for c in calls:
        d = int(ms.get(c.rid, -1))
        worst[c.tool] = max(worst[c.tool], d)
        if d < 0 or d > bound:
            p.append("%s on %s: %s ms" % (c.tool, c.fe, d if d >= 0 else "no audit row"))
    t.check("backend faults: the responder spent at most %d ms on any call (audit duration_ms; "
            "worst: %s)" % (bound, ", ".join("%s %d" % kv for kv in sorted(worst.items()))), p)


# ---------------------------------------------------------------------------
# a. PostgreSQL restarted and stopped


def pg_accepts(sockdir, port, timeout=0.5):
    """True when PostgreSQL at sockdir completes a startup handshake (AuthenticationOk ..
    ReadyForQuery) for postgres/mcpgate: what a responder's reconnect needs."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(os.path.join(sockdir, ".s.PGSQL.%d" % port))
        params = b"user\0postgres\0database\0mcpgate\0\0"
        s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        buf = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return False
            buf += chunk
            while len(buf) >= 5:
                n = struct.unpack("!i", buf[1:5])[0]
                if len(buf) < 1 + n:
                    break
                typ, buf = buf[:1], buf[1 + n:]
                if typ == b"E":
                    return False
                if typ == b"Z":
                    s.sendall(b"X\0\0\0\x04")
                    return True
    except OSError:
        return False
    finally:
        s.close()


class PgWatch(threading.Thread):
    """Probes PostgreSQL every 20 ms; remembers when it last came up after being down."""

    def __init__(self, st):
        super().__init__(daemon=True)
        self.sockdir, self.port = st.env["PGHOST"], int(st.env["PGPORT"])
        self.stop = threading.Event()
        self.down_at = self.up_at = None

    def run(self):
        was_up = True
        while not self.stop.is_set():
            t = time.monotonic()
            up = pg_accepts(self.sockdir, self.port)
            if not up and was_up:
                self.down_at = self.down_at or t
            if up and not was_up:
                self.up_at = t
            was_up = up
            self.stop.wait(0.02)

    def finish(self):
        self.stop.set()
        self.join(5)


def recovery(rec, fe, start, up_at):
    """(seconds from up_at until fe served for good, unavailable answers on fe): the send time of
    the first ok after the last unavailable, minus up_at; 0 if none failed after up_at."""
    mine = [r for r in rec.recs if r.fe == fe and r.t_sent >= start]
    fails = [r.t_sent for r in mine if r.cls == "unavailable"]
    if not fails or max(fails) < up_at:
        return 0.0, len(fails)
    last = max(fails)
    oks = [r.t_sent for r in mine if r.cls == "ok" and r.t_sent > last]
    return (min(oks) - up_at if oks else float("inf")), len(fails)


def pg_fault(t, st, rec, fes, name, action):
    """Runs action() (the stack.sh commands of one outage) under load; checks the recovery."""
    watch = PgWatch(st)
    watch.start()
    t0 = time.monotonic()
    action()
    # wait for PostgreSQL, then for the load to have sent for PG_RECOVERY_S more
    deadline = time.monotonic() + 30
    while watch.up_at is None and watch.down_at is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    up_at = watch.up_at or time.monotonic()
    time.sleep(max(0.0, up_at + PG_RECOVERY_S + 0.5 - time.monotonic()))
    watch.finish()
    rec.window("pg", name, t0, up_at + PG_RECOVERY_S)
    down = (up_at - watch.down_at) if watch.down_at else 0.0
    for fe, _ in fes:
        rs, n = recovery(rec, fe, t0, up_at)
        t.diag("%s: %s: PostgreSQL refused connections for %.2fs; %d answers 503; served again "
               "%.3fs after PostgreSQL accepted connections" % (name, fe, down, n, rs))
        t.ok(rs <= PG_RECOVERY_S, "%s: %s serves again within %.1fs of PostgreSQL accepting "
             "connections (%.3fs)" % (name, fe, PG_RECOVERY_S, rs))
    return name, watch.down_at or t0, up_at


def check_fail_fast(t, st, rec, fes, outages):
    """Every request sent while PostgreSQL was down got its 503 within FAIL_FAST_S of the
    responder's own time (the dur_ms of its access log line: the client's time also holds
    mod_fcgid's once-a-second wait for a free process). One in flight when PostgreSQL went
    away finishes its work first (a tool runs, then its audit row fails): not counted."""
    dur_ms = {}
    for path in st.log_paths().values():
        with open(path, "rb") as f:
            for m in re.finditer(rb"rid=([0-9a-f]+) [^\n]*? msg=request [^\n]*? status=503 "
                                 rb"[^\n]*?dur_ms=([0-9.]+)", f.read()):
                dur_ms[m.group(1).decode()] = float(m.group(2))
    for name, down_at, up_at in outages:
        for fe, _ in fes:
            sent = [r for r in rec.recs if r.fe == fe and r.cls == "unavailable"
                    and down_at <= r.t_sent <= up_at]
            server = [dur_ms.get(r.rid, float("inf")) / 1000 for r in sent]
            client = max([r.t_done - r.t_sent for r in sent] or [0])
            t.check("%s: %s: the %d requests sent while PostgreSQL was down got their 503 "
                    "within %.1fs (slowest: %.3fs in the responder, %.3fs for the client)"
                    % (name, fe, len(sent), FAIL_FAST_S, max(server or [0]), client),
                    ["%d slower or without their access log line"
                     % sum(1 for d in server if d > FAIL_FAST_S)]
                    if max(server or [0]) > FAIL_FAST_S else [])


def outage_probes(t, signins):
    """With PostgreSQL stopped: tools/call, ping and refresh on each front end get the 503."""
    for s in signins:
        c = Conn(s.url)
        for what, path, body, h in [
            ("tools/call", "/mcp", rpc_body(7, "tools/call", {"name": "echo",
                                                              "arguments": {"message": "x"}}),
             mcp_headers(s.access, s.sid)),
            ("ping", "/mcp", rpc_body(8, "ping"), mcp_headers(s.access, s.sid)),
            ("refresh", "/token", oauthlib.form_body({"grant_type": "refresh_token",
                                                      "refresh_token": "x" * 43,
                                                      "client_id": s.client_id}), oauthlib.FORM),
        ]:
            r = c.exchange("POST", path, body, h)
            cls, why = classify_failure(r, path)
            p = [] if cls == "unavailable" else ["%s: %s" % (cls, why)]
            # the client's time also holds mod_fcgid's once-a-second wait for a free
            # process (check_fail_fast holds the responder's own time to FAIL_FAST_S)
            bound = FAIL_FAST_S + (BACKEND_SLACK_S if s.fe == "fcgid" else 0)
            if r.elapsed > bound:
                p.append("took %.2fs" % r.elapsed)
            t.check("%s: %s with PostgreSQL stopped -> 503, Retry-After, %s error within %.1fs "
                    "(%.3fs)" % (s.fe, what, "JSON-RPC" if path == "/mcp" else "OAuth",
                                 bound, r.elapsed), p, r)
        c.close()


def part_pg(t, st, rec, fes, probes):
    def restart():
        r = st.cmd("pg-restart")
        t.ok(r.returncode == 0, "stack.sh pg-restart under load exits 0", r.stderr[-1500:])

    def stop_start():
        r = st.cmd("pg-stop")
        t.ok(r.returncode == 0, "stack.sh pg-stop under load exits 0", r.stderr[-1500:])
        time.sleep(PG_DOWN_S / 2)
        outage_probes(t, probes)
        time.sleep(PG_DOWN_S / 2)
        r = st.cmd("pg-start")
        t.ok(r.returncode == 0, "stack.sh pg-start exits 0", r.stderr[-1500:])

    return [pg_fault(t, st, rec, fes, "pg-restart", restart),
            pg_fault(t, st, rec, fes, "pg-stop/pg-start", stop_start)]


# ---------------------------------------------------------------------------
# b. responders killed


def part_kill(t, st, rec, fes, probe):
    """KILL_ROUNDS rounds of SIGKILL to one random responder of each front end, then one to
    every responder of both while a test_slow call runs on each.

    mod_fcgid's responders die in every FCGID_KILL_EVERY-th round only: mod_fcgid throttles
    respawning (spawn score: +2 an exit, +1 a spawn, -1 a second, none above
    FcgidSpawnScoreUpLimit 10), and a request that finds no free process meanwhile polls for
    one once a second while the others take each process that frees up, so after a burst of a
    dozen deaths in a few seconds some requests wait longer than HTTP_TIMEOUT_S. Three or four
    deaths at once (the last round) stay within what it absorbs in a few seconds."""
    killed = collections.Counter()
    pids_killed = set()

    def kill(fe, pids):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed[fe] += 1
                pids_killed.add(pid)
            except ProcessLookupError:
                pass

    def inflight(s):
        id = mcptest.Mcp.next_id()
        r = Conn(s.url).exchange("POST", "/mcp", rpc_body(id, "tools/call", {
            "name": "test_slow", "arguments": {"ms": 1000}}), mcp_headers(s.access, s.sid))
        cls, why, res = classify_rpc(r, id, tool_text_is("slept 1000 ms"))
        rec.add(r, s.fe, "inflight", cls, why, ("ok" if cls == "ok" else None))

    t0 = time.monotonic()
    for n in range(KILL_ROUNDS):
        for fe, _ in fes:
            if fe == "fcgid" and n % FCGID_KILL_EVERY:
                continue
            pids = sorted(pgrep(st.responder_path(fe)) - pids_killed)
            if pids:
                kill(fe, [random.choice(pids)])
        time.sleep(KILL_PAUSE_S)
    threads = [threading.Thread(target=inflight, args=(probe[fe],), daemon=True) for fe, _ in fes]
    for th in threads:
        th.start()
    time.sleep(0.4)
    for fe, _ in fes:
        kill(fe, pgrep(st.responder_path(fe)))
    for th in threads:
        th.join(HTTP_TIMEOUT_S + 5)
    for fe, url in fes:
        s = probe[fe]
        ok, r, attempts, el = mcptest.retry_until(lambda: serves(url, s.access, s.sid),
                                                  RESPAWN_WAIT_S, 0.05)
        now = sorted(pgrep(st.responder_path(fe)))
        t.check("%s: %d responders SIGKILLed; the front end serves again %.2fs after the last "
                "kill (responders now: %d)" % (fe, killed[fe], el, len(now)),
                ([] if ok else ["not served within %ds" % RESPAWN_WAIT_S]) +
                ([] if now else ["no responder process"]) +
                ["killed pid %d is back" % p for p in set(now) & pids_killed], r)
    end = time.monotonic() + 0.5
    time.sleep(0.5)
    rec.window("kill", "SIGKILL", t0, end)
    inwin = rec.between(t0, end)
    for fe, _ in fes:
        mine = [r for r in inwin if r.fe == fe]
        web = collections.Counter(r.status for r in mine if r.cls == "web_5xx")
        t.diag("SIGKILL window %.1fs, %s: %s (web server statuses: %s)"
               % (end - t0, fe, class_counts(mine),
                  ", ".join("%s x%d" % kv for kv in sorted(web.items())) or "none"))


def settle(t, load, what):
    """Before the next fault: every request the load sent until now is answered, so that each
    fault starts from a settled stack. (mod_fcgid in particular: a request still waiting for a
    process slot when Apache restarts gracefully waits on a process manager that is gone, until
    mod_fcgid gives up about a minute later.)"""
    t0 = time.monotonic()
    while load.waiting(t0) and time.monotonic() < t0 + HTTP_TIMEOUT_S + 2:
        time.sleep(0.05)
    left = load.waiting(t0)
    t.check("after %s: every request sent before is answered (%.2fs)"
            % (what, time.monotonic() - t0), ["still waiting: %s" % ", ".join(left)] if left else [])


# ---------------------------------------------------------------------------
# c. graceful restart of the web servers


def part_graceful(t, st, rec, fes):
    before = {fe: pgrep(st.responder_path(fe)) for fe, _ in fes}
    t0 = time.monotonic()
    r = st.cmd("web-graceful")
    t.ok(r.returncode == 0, "stack.sh web-graceful under load exits 0 (%.2fs)"
         % (time.monotonic() - t0), r.stdout[-1500:], r.stderr[-1500:])
    time.sleep(GRACEFUL_TAIL_S)
    end = time.monotonic()
    rec.window("graceful", "web-graceful", t0, end)
    inwin = rec.between(t0, end)
    for fe, _ in fes:
        mine = [x for x in inwin if x.fe == fe]
        after = pgrep(st.responder_path(fe))
        t.diag("graceful window %.1fs, %s: %s; responders %d before, %d after, %d replaced"
               % (end - t0, fe, class_counts(mine), len(before[fe]), len(after),
                  len(before[fe] - after)))


# ---------------------------------------------------------------------------
# afterwards


def check_tokens(t, rec, signins, witnesses, before):
    """Access tokens received before `before` work; the witnesses' refresh tokens too."""
    sid_of = {s.name: s for s in signins}
    by_worker = collections.defaultdict(list)
    for ts, name, tok in rec.tokens:
        if ts < before:
            by_worker[name].append(tok)
    bad, n = [], 0
    for name, toks in sorted(by_worker.items()):
        s = sid_of[name]
        step = max(1, len(toks) // TOKEN_CHECKS_PER_WORKER)
        for tok in sorted(set(toks[::step] + toks[-1:]), key=toks.index):
            n += 1
            ok, r = serves(s.url, tok, s.sid)
            if not ok:
                bad.append("%s: token %d of %d: %s %s" % (name, toks.index(tok) + 1, len(toks),
                                                          r.status, r.body[:160]))
    t.check("%d access tokens received before the faults (of %d) still work afterwards"
            % (n, sum(len(v) for v in by_worker.values())), bad[:10])
    for w in witnesses:
        r = w.oauth.refresh(w.client_id, w.refresh_token)
        cls, why, j = classify_token(r)
        ok, r2 = serves(w.url, w.access, w.sid)
        t.check("%s: a sign-in from before every fault: its access token works and its refresh "
                "token rotates afterwards" % w.fe,
                ([] if cls == "ok" else ["refresh: %s %s" % (cls, why)]) +
                ([] if ok else ["access token: %s %s" % (r2.status, r2.body[:160])]), r)


def main():
    t = Tap()
    responder = os.environ.get("MCPGATE_TEST_RESPONDER") or mcptest.test_responder()
    if not os.access(responder, os.X_OK):
        t.bail("test responder %s not built (make check builds it)" % responder)
    faulty, port = start_faulty()
    if not port:
        t.bail("the faulty backend did not start")
    d = tempfile.mkdtemp(prefix="mcpgate-faults-")
    os.chmod(d, 0o755)  # the responders run as www-data
    try:
        write_backends(d, port)
        extra = CONFIG_EXTRA + "\nbackends_dir = %s" % d
        with Stack(t, servers=SERVERS, responder=responder, config_extra=extra,
                   auth="oauth") as st:
            run(t, st)
    finally:
        faulty.stdin.close()
        try:
            faulty.wait(5)
        except subprocess.TimeoutExpired:
            faulty.kill()
            faulty.wait(5)
        shutil.rmtree(d, ignore_errors=True)
    return t.done()


def run(t, st):
    fes = st.front_ends()
    if len(fes) != 2:
        return
    add_user(t, st)
    t_setup = time.monotonic()
    signins = sign_in_all(t, fes, LOAD_WORKERS, "w")
    witnesses = sign_in_all(t, fes, len(fes), "witness")
    probes = sign_in_all(t, fes, len(fes), "probe")
    probe = {s.fe: s for s in probes}
    t.diag("%d sign-ins in %.1fs" % (len(signins) + 2 * len(fes), time.monotonic() - t_setup))
    rec = Recorder()
    load = Load(signins, rec)
    load.start()
    time.sleep(BASELINE_S)
    t_first = time.monotonic()
    outages = part_pg(t, st, rec, fes, probes)
    settle(t, load, "the PostgreSQL outages")
    part_kill(t, st, rec, fes, probe)
    settle(t, load, "the SIGKILLs")
    part_graceful(t, st, rec, fes)
    settle(t, load, "the graceful restart")
    t_last = time.monotonic()
    backend = part_backend(t, rec, probes)
    time.sleep(1.0)
    stuck = load.finish()
    t.ok(not stuck, "every load thread stops by itself", "still running: %r" % stuck)
    t.diag("load ran %.1fs, faults from +%.1fs" % (time.monotonic() - rec.t0, t_first - rec.t0))
    check_answers(t, rec, "load")
    check_fail_fast(t, st, rec, fes, outages)
    lost = [r for r in rec.recs if r.cls == "refresh_lost"]
    t.diag("refreshes whose answer died with the responder and had rotated the token: %d"
           % len(lost))
    check_tokens(t, rec, signins, witnesses, t_last)
    check_audit(t, st, rec, [(c.rid, c.outcome) for c in backend if c.rid and c.outcome])
    check_backend_durations(t, st, backend)
    tokens = [tok for _, _, tok in rec.tokens] + [s.refresh_token for s in signins + witnesses]
    check_no_secrets_in_logs(t, st, tokens + sorted(mcptest.SESSION_IDS))
    mcptest.check_logs(t, st)
    check_no_raw_libpq_lines(t, st)


if __name__ == "__main__":
    if sys.argv[1:] == ["--faulty-backend"]:
        serve_faulty()
    sys.exit(main())
