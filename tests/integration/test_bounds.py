#!/usr/bin/env python3
"""test_bounds.py - resources a client can hold are bounded across every process, through
lighttpd, Apache mod_fcgid and Apache mod_proxy_fcgi on one PostgreSQL.

  body      under mod_proxy_fcgi the body reaches the responder as the client sends it: a
            body trickled a byte a second gets 408 once body_timeout_s has passed (it is
            not waited for), and a Content-Length over max_body_bytes gets 413 before any
            of the body is read; the responder serves the next request meanwhile.
  streams   held SSE streams (GET /mcp, GET /sse, subscriptions/listen) per token and
            per user, counted in PostgreSQL whichever front end holds them: over the cap
            429 with Retry-After;
            a stream that ends gives its place back; a streaming POST over the cap is not
            held waiting for the client (its request to the client fails at once).
  unauth    unauthenticated requests that wait (/mcp/doctor here) share one cap across all
            processes: more than unauth_waiting_max at once get 429.
  cimd      client ID metadata documents: never fetched from this server itself (a
            client_id nesting /authorize?client_id= URLs), at most one fetch of a URL at a
            time (the second gets 503 at once), a failure remembered briefly.
  signin    concurrent wrong passwords for one account are checked no more often than
            sequential ones (the attempt is counted before its password is checked);
            more concurrent sign-ins than password_hash_max in a process, or on the host
            (all its processes), get 503 at once.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_bounds.py   (TAP)
"""

import http.server
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import SLOW, Mcp, Stack, Tap, admin, request  # noqa: E402
from oauthlib import FORM, Browser, OAuth, form_body, hidden_fields, pkce  # noqa: E402

USER, PASSWORD = "bounded", "a long enough password"
TOKEN_CAP, USER_CAP, UNAUTH_CAP = 2, 3, 2
BODY_TIMEOUT_S = 2
HASH_MAX = 2  # password hashes at once per process and per host
CONFIG = "\n".join([
    "streams_per_token = %d" % TOKEN_CAP,
    "streams_per_user = %d" % USER_CAP,
    "unauth_waiting_max = %d" % UNAUTH_CAP,
    "body_timeout_s = %d" % BODY_TIMEOUT_S,
    "body_max_s = %d" % (BODY_TIMEOUT_S * 2),
    "password_hash_max = %d" % HASH_MAX,
    "sse_heartbeat_s = 1",
    "cimd_allow_private = yes",
    "rate_limit_user_per_min = 0",
])


def new_key(st, name):
    r = admin(st, "key", "create", USER, "--name", name, timeout=60 * SLOW)
    return next((w for w in r.stdout.split() if w.startswith("mgk_")), "")


def keyed(url, key, caps=None):
    c = Mcp(url, name="bounds", bearer=key)
    params = {"protocolVersion": mcptest.LATEST, "capabilities": caps or {},
              "clientInfo": {"name": "bounds", "version": "0.1"}}
    c.initialize(params=params)
    return c


def hostport(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port


class Held:
    """A GET request whose response is read up to its headers and then held open."""

    def __init__(self, url, path, headers):
        host, port = hostport(url)
        self.sock = socket.create_connection((host, port), timeout=10 * SLOW)
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port)]
        lines += ["%s: %s" % kv for kv in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.head = b""
        while b"\r\n\r\n" not in self.head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.head += chunk
        first = self.head.split(b"\r\n", 1)[0].split()
        self.status = int(first[1]) if len(first) > 1 and first[1].isdigit() else 0

    def header(self, name):
        for line in self.head.split(b"\r\n")[1:]:
            k, _, v = line.decode("latin-1").partition(":")
            if k.strip().lower() == name.lower():
                return v.strip()
        return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def get_stream(c, url):
    return Held(url, "/mcp", c.headers({"Accept": "text/event-stream"}))


def sse_stream(url, key):
    return Held(url, "/sse", {"Accept": "text/event-stream", "Authorization": "Bearer " + key})


class HeldPost(Held):
    """A POST whose response is read up to its headers and then held open."""

    def __init__(self, url, path, headers, body):
        host, port = hostport(url)
        self.sock = socket.create_connection((host, port), timeout=10 * SLOW)
        lines = ["POST %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
                 "Content-Length: %d" % len(body)]
        lines += ["%s: %s" % kv for kv in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        self.head = b""
        while b"\r\n\r\n" not in self.head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.head += chunk
        first = self.head.split(b"\r\n", 1)[0].split()
        self.status = int(first[1]) if len(first) > 1 and first[1].isdigit() else 0


def listen_stream(url, key):
    """A 2026-07-28 subscriptions/listen stream, held like a GET stream."""
    modern = "2026-07-28"
    body = {"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen",
            "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": modern,
                                 "io.modelcontextprotocol/clientCapabilities": {}},
                       "notifications": {"toolsListChanged": True}}}
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
         "MCP-Protocol-Version": modern, "Mcp-Method": "subscriptions/listen",
         "Authorization": "Bearer " + key}
    return HeldPost(url, "/mcp", h, json.dumps(body).encode())


def raw_exchange(url, head, pieces, gap_s, timeout_s):
    """Sends head, then each of pieces gap_s apart until an answer arrives. Returns
    (status, seconds until the answer, pieces sent)."""
    host, port = hostport(url)
    s = socket.create_connection((host, port), timeout=timeout_s)
    t0 = time.monotonic()
    sent = 0
    try:
        s.sendall(head)
        s.setblocking(False)
        data = b""
        while time.monotonic() - t0 < timeout_s:
            try:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
                if b"\r\n" in data:
                    break
            except BlockingIOError:
                pass
            if sent < len(pieces):
                try:
                    s.sendall(pieces[sent])
                    sent += 1
                except OSError:
                    pass
            time.sleep(gap_s)
        first = data.split(b"\r\n", 1)[0].split()
        status = int(first[1]) if len(first) > 1 and first[1].isdigit() else 0
        return status, time.monotonic() - t0, sent
    finally:
        s.close()


def test_body(t, st, proxy, key):
    host, port = hostport(proxy)
    head = ("POST /mcp HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            "Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n"
            % (host, port)).encode()
    status, took, sent = raw_exchange(proxy, head, [b"{"] * 60, 1.0, 20 * SLOW)
    t.ok(status == 408, "proxy: a body trickled 1 byte/s gets 408 (body_timeout_s = %d), "
         "not a wait for all of it (got %s after %.1f s, %d bytes sent)"
         % (BODY_TIMEOUT_S, status, took, sent))
    head = ("POST /mcp HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            "Accept: application/json, text/event-stream\r\nAuthorization: Bearer %s\r\n"
            "Content-Length: 268435456\r\n\r\n" % (host, port, key)).encode()
    status, took, sent = raw_exchange(proxy, head, [b"x" * 1024] * 20, 0.5, 20 * SLOW)
    t.ok(status == 413, "proxy: Content-Length 256 MiB gets 413 before the body is read "
         "(got %s after %.1f s, %d KiB sent)" % (status, took, sent))
    r = Mcp(proxy).call("ping")
    t.ok(r.status in (200, 401), "proxy: the responder serves the next request", r.describe())


def test_streams(t, st, fes):
    k1, k2, k3 = new_key(st, "one"), new_key(st, "two"), new_key(st, "three")
    t.ok(k1 and k2 and k3, "three API keys of one user")
    (n0, u0), (n1, u1), (n2, u2) = fes[0], fes[1], fes[2]
    held = []
    try:
        a = keyed(u0, k1)
        b = keyed(u2, k1)
        s1, s2 = get_stream(a, u0), get_stream(b, u2)
        held += [s1, s2]
        t.ok(s1.status == 200 and s2.status == 200,
             "GET /mcp with token one on %s and %s: two streams held (%s, %s)"
             % (n0, n2, s1.status, s2.status))
        c = keyed(u1, k1)
        s3 = get_stream(c, u1)
        held.append(s3)
        retry = s3.header("Retry-After") or ""
        t.ok(s3.status == 429 and retry.isdigit(),
             "%s: a third stream of token one -> 429, Retry-After %s (streams_per_token = %d)"
             % (n1, retry, TOKEN_CAP), s3.head.decode("latin-1")[:400])
        s4 = sse_stream(u1, k2)
        held.append(s4)
        t.ok(s4.status == 200, "%s: GET /sse with token two -> 200 (%s)" % (n1, s4.status))
        s5 = sse_stream(u0, k3)
        held.append(s5)
        t.ok(s5.status == 429, "%s: a fourth stream of the user (token three) -> 429 "
             "(streams_per_user = %d; got %s)" % (n0, USER_CAP, s5.status))
        s6 = listen_stream(u2, k1)
        held.append(s6)
        t.ok(s6.status == 429,
             "%s: a subscriptions/listen stream of token one counts as held too -> 429 (%s)"
             % (n2, s6.status), s6.head.decode("latin-1")[:400])
        # a streaming POST over the cap does not wait for the client's answer
        d = keyed(u2, k1, caps={"sampling": {}})
        t0 = time.monotonic()
        r = d.tool("test_ask", {"kind": "sampling"}, timeout=15 * SLOW)
        took = time.monotonic() - t0
        text = json.dumps(r.json) if r.json is not None else ""
        t.ok(r.status == 200 and "too many open streams" in text,
             "%s: test_ask over token one's cap is answered at once, not held for the client "
             "(%.1f s): %s" % (n2, took, text[:200]))
        # a stream that ends gives its place back
        s1.close()
        s2.close()
        again = []

        def reopen():
            s = get_stream(c, u1)
            again.append(s)
            return s.status == 200, s.status
        ok = mcptest.retry_until(reopen, 20 * SLOW, 0.5)[0]
        held += again
        t.ok(ok, "%s: after token one's streams are closed it may hold one again (%s)"
             % (n1, [s.status for s in again]))
        ok, n = st.psql("SELECT count(*) FROM mcp_leases WHERE key LIKE 'su:%'")
        t.ok(ok and n.isdigit() and int(n) <= USER_CAP,
             "PostgreSQL holds at most streams_per_user leases of the user (%s)" % n)
    finally:
        for s in held:
            s.close()


def test_unauth(t, fes):
    results = []

    def doctor(url):
        r = request("GET", url + "/mcp/doctor", None, {"Accept": "text/event-stream"},
                    timeout=20 * SLOW)
        results.append(r.status)
    urls = [fes[0][1], fes[0][1], fes[2][1], fes[2][1]]
    threads = [threading.Thread(target=doctor, args=(u,)) for u in urls]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.ok(sorted(results) == [200] * UNAUTH_CAP + [429] * (len(urls) - UNAUTH_CAP),
         "4 /mcp/doctor at once on %s and %s: %d served, the rest 429 across processes (%s)"
         % (fes[0][0], fes[2][0], UNAUTH_CAP, sorted(results)))


class SlowDocs:
    """An http server on loopback that answers every GET after a pause."""

    def __init__(self, pause_s):
        self.hits = 0
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.hits += 1
                time.sleep(pause_s)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def authorize(base, client_id):
    o = OAuth(base)
    _, challenge = pkce()
    p = o.auth_params(client_id, challenge)
    return request("GET", o.authorize_url(p), None, {}, timeout=20 * SLOW)


def test_cimd(t, fes):
    name, base = fes[2]
    inner = base + "/doc?x=1"
    nested = base + "/authorize?" + urllib.parse.urlencode({"client_id": inner})
    r = authorize(base, nested)
    t.ok(r.status == 400 and b"cannot come from this server" in r.body,
         "%s: a client_id on this server itself is refused without a fetch (%s)"
         % (name, r.status), r.describe())
    docs = SlowDocs(3 * SLOW)
    try:
        url = "http://127.0.0.1:%d/client.json" % docs.port
        out = []
        ths = [threading.Thread(target=lambda: out.append(authorize(base, url)))
               for _ in range(2)]
        for th in ths:
            th.start()
            time.sleep(0.5)
        for th in ths:
            th.join()
        statuses = sorted(r.status for r in out)
        t.ok(statuses == [400, 503] and docs.hits == 1,
             "%s: two sign-ins with one slow client_id at once: one fetch, the other 503 at "
             "once (%s, %d fetches)" % (name, statuses, docs.hits))
        r = authorize(base, url)
        t.ok(r.status == 400 and b"a moment ago" in r.body and docs.hits == 1,
             "%s: the failed fetch is remembered: refused again without a fetch (%s, %d)"
             % (name, r.status, docs.hits), r.describe())
    finally:
        docs.stop()


def login_form(base):
    b = Browser()
    page = b.get(base + "/login?return_to=/account")
    return b, hidden_fields(page.body)


def test_signin(t, st, fes):
    admin(st, "user", "add", "victim", stdin="the right password\n", timeout=60 * SLOW)
    st.psql("DELETE FROM login_failures")
    b, fields = login_form(fes[0][1])
    out = []

    def guess(url, i):
        f = dict(fields, username="victim", password="wrong %d" % i)
        h = dict(FORM)
        h.update(b._headers())
        out.append(request("POST", url + "/login", form_body(f), h, timeout=60 * SLOW).status)
    ths = [threading.Thread(target=guess, args=(fes[i % len(fes)][1], i)) for i in range(40)]
    t0 = time.monotonic()
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    took = time.monotonic() - t0
    # sequentially: 5 free failures, then one after 1 s, 2 s, 4 s ... from the last
    allowed = 5 + max(0, int(took).bit_length())
    checked = out.count(401)
    ok, failures = st.psql("SELECT failures FROM login_failures WHERE key = 'u:victim'")
    t.ok(1 <= checked <= allowed and set(out) <= {401, 429, 503} and failures == str(checked),
         "40 concurrent wrong passwords for one account in %.1f s: %d checked (at most %d, as "
         "one after the other), the rest 429/503; the account counts %s failures (429: %d, "
         "503: %d)" % (took, checked, allowed, failures, out.count(429), out.count(503)))
    st.psql("DELETE FROM login_failures")
    # more sign-ins at once than one process hashes: 503 at once, not a queue
    name, url = fes[2]
    out = []

    def unknown(i):
        f = dict(fields, username="nobody%d" % i, password="wrong")
        h = dict(FORM)
        h.update(b._headers())
        r = request("POST", url + "/login", form_body(f), h, timeout=60 * SLOW)
        out.append((r.status, r.header("Retry-After")))
    ths = [threading.Thread(target=unknown, args=(i,)) for i in range(12)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    busy = [s for s in out if s[0] == 503]
    t.ok(busy and all(ra == "1" for _, ra in busy) and {s for s, _ in out} <= {401, 503},
         "%s: 12 sign-ins at once with password_hash_max = %d: %d answered 503 Retry-After 1 "
         "without hashing, the rest 401" % (name, HASH_MAX, len(busy)), repr(sorted(out)))
    st.psql("DELETE FROM login_failures")
    # the hashing slots of the host are counted across its processes (mod_fcgid's have
    # one thread each): with the host's slots held, every front end answers 503
    host = re.sub(r"[^A-Za-z0-9-]", "_", socket.gethostname()[:63]) or "-"
    for _ in range(HASH_MAX):
        st.psql("INSERT INTO mcp_leases (holder, key, expires_at) VALUES (-1, 'ph:%s', "
                "now() + interval '1 minute')" % host)
    got = [(name, OAuth(url).login(Browser(), "victim", "the right password").status)
           for name, url in fes]
    t.ok(all(status == 503 for _, status in got),
         "with the host's hashing slots held elsewhere, sign-in gets 503 on every front end "
         "(%s)" % got)
    st.psql("DELETE FROM mcp_leases WHERE holder = -1")
    r = OAuth(fes[1][1]).login(Browser(), "victim", "the right password")
    t.ok(r.status == 303, "%s: the owner still signs in afterwards (%s)" % (fes[1][0], r.status))


def main():
    t = Tap()
    with Stack(t, servers="lighttpd fcgid proxy", config_extra=CONFIG, auth="oauth",
               responder=mcptest.test_responder()) as st:
        fes = st.front_ends()
        r = admin(st, "user", "add", USER, stdin=PASSWORD + "\n", timeout=60 * SLOW)
        t.ok(r.returncode == 0, "mcpgate user add", r.stdout, r.stderr)
        proxy = dict(fes)["proxy"]
        test_body(t, st, proxy, new_key(st, "body"))
        test_streams(t, st, fes)
        test_unauth(t, fes)
        test_cimd(t, fes)
        test_signin(t, st, fes)
        mcptest.check_logs(t, st)
    t.done()


if __name__ == "__main__":
    main()
