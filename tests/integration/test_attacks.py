#!/usr/bin/env python3
"""test_attacks.py - the attack suite: hostile input at every door of one stack, each
attack its own TAP line, counted by class and totalled at the end.

The stack: lighttpd (bin-path) and Apache mod_proxy_fcgi, auth = oauth, the test
responder, REST and MCP backends written by this script. The proxy's responder is
restarted with cimd_allow_private = yes, so that client ID metadata documents can come
from a loopback server there (redirects, sizes, hostile documents); lighttpd's keeps the
production setting.

  ssrf   client ID metadata URLs and REST/MCP backend URLs aimed at loopback, private,
         link-local (cloud metadata), shared, IPv4-mapped, NAT64, 6to4 and integer-
         encoded addresses, names that resolve to them, user info, other schemes,
         redirects; path, query and header arguments that try to leave the backend's
         host or path. Refused with a clean error, and nothing fetched: a witness
         server on every such address records any connection that reaches it.
  crlf   CR/LF and control characters in every reflected parameter (state, redirect_uri,
         return_to, ids, headers, tool names): no injected header, no split response;
         the pages escape what they echo.
  sql    SQL metacharacters in every field that reaches PostgreSQL: a clean error or the
         literal value stored and returned, and the tables otherwise unchanged.
  size   oversize bodies, huge and many headers, deep nesting, huge numbers and strings,
         invalid UTF-8, U+0000 and NUL bytes: the right status, and a ping afterwards.
  logs   no token, code, password, client secret, API key, session id, cookie or backend
         secret of this run (nor a 12-character fragment of one) in any log the stack
         wrote.

Attacks on non-loopback addresses are sent only from a network namespace of this
script's own (it re-executes itself under `unshare --net` when run as root), where
those addresses exist on lo and nothing can leave the machine, whatever the code does;
without one they are skipped.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_attacks.py  (TAP)
"""

import base64
import http.client
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mcptest  # noqa: E402
from mcptest import (Stack, Tap, admin, expect_error, expect_rpc_error, request,  # noqa: E402
                     result_of, write_backend_files)
from oauthlib import FORM, REDIRECT, Browser, OAuth, hidden_fields, mcp_with, pkce  # noqa: E402

NETNS_MARK = "MCPGATE_ATTACKS_NETNS"  # "1": inside our namespace; "0": do not make one
PRIVATE_V4 = ("10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.0.1", "169.254.169.254",
              "100.64.0.1", "198.18.0.1")
PRIVATE_V6 = ("fd00::1", "fe80::1")

USER = "alice"
PASSWORD = "alice password " + secrets.token_hex(8)
VICTIM = "bob"
VICTIM_PASSWORD = "bob password " + secrets.token_hex(8)
BACKEND_SECRET = "backend-secret-" + secrets.token_hex(16)

SQLI = ["'", '"', ";", "--", "\\", "%", "_", "$1", "' OR '1'='1", "'); DROP TABLE users;--",
        "\\'; SELECT pg_sleep(5);--", "%' OR 1=1 --", "$$;$$", "E'\\x27'", "1; TRUNCATE audit_log"]
# Under valgrind and ASan+UBSan (mcptest.FEWER_FRONT_ENDS) five of them, at every door
# still: each value takes the same path through the responder (bound parameters), and under
# memcheck each one more is another round of some twenty requests and scrypt sign-ins.
if mcptest.FEWER_FRONT_ENDS:
    SQLI = [SQLI[i] for i in (0, 4, 8, 9, 12)]  # quote, backslash, OR, DROP TABLE, $$
XSS = '"><script>alert(1)</script>'
CRLF = "x\r\nX-Injected: 1\r\n\r\n<html>split</html>"

SECRETS = {}  # label -> value: must appear in no log


def secret(label, value):
    if value:
        SECRETS[label] = value
    return value


# ---------------------------------------------------------------------------
# the network namespace


def private_netns():
    """Runs this script in a network namespace of its own: re-executes it under
    `unshare --net` (as root) once, then brings lo up with the private addresses on it.
    Returns (True, "") in such a namespace with no route out, else (False, why)."""
    mark = os.environ.get(NETNS_MARK)
    if mark is None:
        if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
            return False, "needs root, unshare and ip"
        probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10)
        if probe.returncode != 0:
            return False, "unshare --net failed: %s" % probe.stderr.decode(errors="replace")
        os.environ[NETNS_MARK] = "1"
        sys.stdout.flush()
        try:
            os.execvp("unshare", ["unshare", "--net", "--", sys.executable,
                                  os.path.abspath(__file__)] + sys.argv[1:])
        except OSError as e:
            os.environ[NETNS_MARK] = "0"
            return False, "could not re-execute under unshare: %s" % e
    if mark != "1":
        return False, "%s=%s" % (NETNS_MARK, mark)
    cmds = [["ip", "link", "set", "lo", "up"]]
    cmds += [["ip", "addr", "add", a + "/32", "dev", "lo"] for a in PRIVATE_V4]
    for c in cmds:
        r = subprocess.run(c, capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            return False, "%s: %s" % (" ".join(c), r.stderr.strip())
    for a in PRIVATE_V6:  # best effort: without them such a connection finds no route
        subprocess.run(["ip", "-6", "addr", "add", a + "/128", "dev", "lo"], capture_output=True,
                       timeout=10)
    routes = subprocess.run(["ip", "route", "show", "default"], capture_output=True,
                            text=True, timeout=10).stdout.strip()
    if routes:
        return False, "a default route exists: %s" % routes
    return True, ""


# ---------------------------------------------------------------------------
# the witness: where every outbound fetch of this test would land


class Witness:
    """An HTTP server on one port of 127.0.0.1 and ::1 or, in the namespace (everywhere),
    of 0.0.0.0 and [::], so of every private address on lo too. It records every
    connection (a TLS attempt too) and request; serves client metadata documents (docs)
    and redirects for the CIMD fetcher, and answers the allowed backend's calls."""

    def __init__(self, everywhere):
        self.hits = []  # (peer, method, path, headers) or (peer, "connect", "", {})
        self.docs = {}  # path -> bytes
        self.lock = threading.Lock()
        w = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def handle(self):
                with w.lock:
                    w.hits.append((self.client_address[0], "connect", "", {}))
                super().handle()

            def _send(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                with w.lock:
                    w.hits.append((self.client_address[0], self.command, self.path,
                                   dict(self.headers)))
                p = self.path.split("?")[0]
                if p.endswith("/redirect"):
                    return self._send(302, b"", [("Location", w.base + "/landed")])
                if p.endswith("/redirect307"):
                    return self._send(307, b"", [("Location", w.base + "/cimd/good.json")])
                if p in w.docs:
                    return self._send(200, w.docs[p], [("Content-Type", "application/json")])
                if p.startswith("/api/") or p.startswith("/x"):
                    body = json.dumps({"path": self.path}).encode()
                    return self._send(200, body, [("Content-Type", "application/json")])
                return self._send(404, b"{}", [("Content-Type", "application/json")])

            do_POST = do_GET

        self.servers = []
        s4 = http.server.ThreadingHTTPServer(("0.0.0.0" if everywhere else "127.0.0.1", 0), H)
        self.port = s4.server_address[1]
        self.servers.append(s4)

        class V6(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6

            def server_bind(self):
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                super().server_bind()
        try:
            self.servers.append(V6(("::" if everywhere else "::1", self.port), H))
        except OSError:
            pass
        for s in self.servers:
            s.daemon_threads = True
            threading.Thread(target=s.serve_forever, daemon=True).start()
        self.base = "http://127.0.0.1:%d" % self.port

    def mark(self):
        with self.lock:
            return len(self.hits)

    def since(self, n):
        with self.lock:
            return list(self.hits[n:])

    def requests_since(self, n):
        return [h for h in self.since(n) if h[1] != "connect"]

    def refused_targets_reached(self):
        """Problems if, over the whole run, a connection carried no HTTP request (a TLS
        attempt: only refused https URLs point here) or a request reached a path only
        refused targets use."""
        with self.lock:
            conns = sum(1 for h in self.hits if h[1] == "connect")
            reqs = [h for h in self.hits if h[1] != "connect"]
        p = [] if conns == len(reqs) else ["%d connections, %d requests" % (conns, len(reqs))]
        return p + ["%s %s from %s" % (h[1], h[2], h[0]) for h in reqs
                    if h[2] == "/mcp" or h[2].startswith(("/x/", "/cimd/c.json", "/landed",
                                                          "/cimd/good.json"))]

    def stop(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()


# ---------------------------------------------------------------------------
# counting


class Attacks:
    """Each attack is one TAP check in a class; refused = the check passed (the attack
    was answered as the protocol says and changed nothing)."""

    CLASSES = ("ssrf", "crlf", "sql", "size", "logs")

    def __init__(self, tap):
        self.tap = tap
        self.tried = {c: 0 for c in self.CLASSES}
        self.refused = {c: 0 for c in self.CLASSES}
        self.skipped = {c: 0 for c in self.CLASSES}

    def check(self, cls, desc, problems, *context):
        self.tried[cls] += 1
        ok = self.tap.check("%s: %s" % (cls, desc.replace("#", "%23")), problems, *context)
        self.refused[cls] += bool(ok)
        return ok

    def skip(self, cls, desc, why):
        self.skipped[cls] += 1
        self.tap.skip("%s: %s" % (cls, desc), why)

    def total(self):
        tried, refused = sum(self.tried.values()), sum(self.refused.values())
        parts = ", ".join("%s %d/%d" % (c, self.refused[c], self.tried[c]) for c in self.CLASSES)
        skipped = sum(self.skipped.values())
        line = "attacks: %d tried, %d refused (%s)%s" % (
            tried, refused, parts, ", %d skipped" % skipped if skipped else "")
        self.tap.diag(line)
        self.tap.ok(tried > 0 and tried == refused, line)


# ---------------------------------------------------------------------------
# helpers


def err_of(r):
    return (r.json or {}).get("error") if isinstance(r.json, dict) else None


def text_of(r):
    try:
        return result_of(r)["content"][0]["text"]
    except (KeyError, IndexError, TypeError):
        return ""


def page_text(r):
    return r.body.decode("utf-8", "replace")


def no_injection(r):
    """Problems if the response shows a header or a second response an attack tried to add."""
    p = []
    if r.status is None:
        return ["no HTTP response: %s" % r.error]
    for k, v in r.headers:
        if k.lower() in ("x-injected", "x-evil"):
            p.append("injected header %s: %s" % (k, v))
        if "\r" in v or "\n" in v:
            p.append("header %s carries CR/LF" % k)
    if len(r.header_all("Location")) > 1:
        p.append("more than one Location header")
    if b"HTTP/1." in r.body and b"split" in r.body:
        p.append("a second response in the body")
    return p


def web_server_refusal(r):
    """A 400 that lighttpd or Apache gave itself (the request never reached mcpgate)."""
    return r.status == 400 and not r.header("X-Request-Id")


def not_5xx(r):
    if r.status is None:
        return ["no HTTP response: %s" % r.error]
    return ["HTTP %d" % r.status] if r.status >= 500 else []


def valid_utf8(r):
    try:
        r.body.decode("utf-8")
        return []
    except UnicodeDecodeError as e:
        return ["the body is not valid UTF-8: %s" % e]


def psql_value(st, sql):
    ok, out = st.psql(sql)
    return out if ok else None


def counts(st):
    """Row counts of the tables an attack could write to (None if psql failed)."""
    tables = ("users", "oauth_clients", "oauth_codes", "oauth_tokens", "oauth_families",
              "oauth_consents", "web_sessions", "api_keys", "mcp_sessions", "audit_log",
              "backend_credentials", "tool_policies")
    sql = "SELECT " + ", ".join("(SELECT count(*) FROM %s)" % t for t in tables)
    ok, out = st.psql(sql)
    if not ok:
        return None
    return dict(zip(tables, (int(x) for x in out.split("|"))))


def unchanged(before, after, allow=()):
    if before is None or after is None:
        return ["psql failed"]
    return ["%s: %d rows -> %d" % (t, before[t], after[t]) for t in before
            if t not in allow and before[t] != after[t]]


def sq(s):
    """s as an SQL literal (for the test's own read-back queries)."""
    return "'" + s.replace("'", "''") + "'"


def raw_request(port, data, timeout=10):
    """Sends bytes as they are on a fresh connection; returns what came back (bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    finally:
        s.close()
    return out


def raw_mcp_post(base, headers, body):
    """POST /mcp with header values as raw bytes (http.client would refuse some)."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.putrequest("POST", "/mcp", skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body)
    r = conn.getresponse()
    resp = mcptest.Response("POST", base + "/mcp", {k: repr(v) for k, v in headers.items()},
                            body, r.status, r.reason, list(r.getheaders()), r.read())
    conn.close()
    return resp


class FrontEnd:
    """One front end with a signed-in browser, a token and an MCP session."""

    def __init__(self, name, base):
        self.name, self.base = name, base
        self.port = urllib.parse.urlsplit(base).port
        self.o = OAuth(base)
        self.b = Browser()
        self.m = None

    def sign_in(self, tap):
        """Registration, sign-in, consent, code, token, initialize; every secret noted."""
        o = self.o
        client = o.register_public(name="attack suite " + self.name)
        if not client:
            return tap.ok(False, "%s: registration for the suite's own client" % self.name)
        verifier, challenge = pkce()
        r, q = o.authorize(self.b, o.auth_params(client["client_id"], challenge), USER,
                           PASSWORD)
        secret("%s authorization code" % self.name, q.get("code"))
        for k, v in self.b.cookies.items():
            secret("%s cookie %s" % (self.name, k), v)
        t = o.code_grant(client["client_id"], q.get("code", "x"), verifier)
        tok = t.json or {}
        secret("%s access token" % self.name, tok.get("access_token"))
        secret("%s refresh token" % self.name, tok.get("refresh_token"))
        secret("%s PKCE verifier" % self.name, verifier)
        self.client = client
        self.token = tok.get("access_token", "none")
        self.m = mcp_with(self.base, self.token)
        i = self.m.initialize()
        secret("%s MCP session id" % self.name, self.m.sid)
        return tap.ok(t.status == 200 and i.status == 200 and self.m.sid,
                      "%s: signed in, token issued, MCP session open" % self.name,
                      r.describe(), t.describe(), i.describe())


def serving(tap, fes, after):
    """Not an attack: every front end still answers a ping over its session."""
    for fe in fes:
        p, r = mcptest.ping_ok(fe.m)
        tap.check("%s still serves after the %s" % (fe.name, after), p, r)


# ---------------------------------------------------------------------------
# backends


def write_backends(d, port, hosts):
    """The allowed backend "wit" (the witness, for the argument attacks), one REST
    backend without allow_private per address in hosts and an MCP one on loopback.
    Returns {REST backend name: host}."""
    env_file = os.path.join(d, "secrets.env")
    with open(env_file, "w") as f:
        f.write("WIT_TOKEN=%s\n" % BACKEND_SECRET)
    string = {"type": "string", "minLength": 1}
    docs = {"wit": {
        "mcpgate_backend": 1, "name": "wit", "base_url": "http://127.0.0.1:%d/api" % port,
        "allow_private": True, "timeout_ms": 5000,
        "credentials": {"token": {"type": "bearer", "env_file": env_file,
                                  "variable": "WIT_TOKEN"}},
        "auth": ["token"],
        "tools": [
            {"name": "get_item", "method": "GET", "path": "/items/{id}",
             "input_schema": {"type": "object", "required": ["id"],
                              "properties": {"id": string}}},
            {"name": "search", "method": "GET", "path": "/search",
             "input_schema": {"type": "object", "required": ["q"], "properties": {"q": string}}},
            {"name": "traced", "method": "GET", "path": "/traced",
             "input_schema": {"type": "object", "required": ["trace"],
                              "properties": {"trace": string}},
             "args": {"trace": {"in": "header", "name": "X-Trace"}}},
            {"name": "moved", "method": "GET", "path": "/redirect"},
        ]}}
    names = {}
    for i, host in enumerate(hosts):
        name = "p%d" % i
        names[name] = host
        docs[name] = {"mcpgate_backend": 1, "name": name, "timeout_ms": 3000,
                      "base_url": "http://%s:%d/x" % (host, port),
                      "tools": [{"name": "get", "method": "GET", "path": "/y"}]}
    docs["upriv"] = {"mcpgate_backend": 1, "kind": "mcp", "name": "upriv", "timeout_ms": 3000,
                     "url": "http://127.0.0.1:%d/mcp" % port}
    write_backend_files(d, docs)
    os.chmod(env_file, 0o644)  # test only: the web server's user must read it
    return names


# ---------------------------------------------------------------------------
# ssrf


def loopback_hosts():
    """Host parts that reach this machine: literals in every spelling, and every name
    /etc/hosts maps to a loopback address (no name is added for the test)."""
    hosts = ["127.0.0.1", "127.1", "127.0.0.2", "0177.0.0.1", "0x7f.0.0.1", "2130706433",
             "0x7f000001", "017700000001", "0.0.0.0", "0", "localhost", "LocalHost",
             "[::1]", "[::]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
             "[0:0:0:0:0:ffff:127.0.0.1]"]
    try:
        with open("/etc/hosts") as f:
            for line in f:
                parts = line.split("#")[0].split()
                if len(parts) > 1 and (parts[0].startswith("127.") or parts[0] == "::1"):
                    hosts += [h for h in parts[1:] if h not in hosts]
    except OSError:
        pass
    return hosts


def private_hosts():
    """Non-loopback private, link-local, shared and reserved addresses, and encodings of
    them: only ever tried inside the namespace."""
    return ["10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.0.1", "169.254.169.254",
            "100.64.0.1", "198.18.0.1", "[fd00::1]", "[fe80::1]", "167772161", "0xa9fea9fe",
            "0251.0376.0251.0376", "[::ffff:169.254.169.254]", "[::ffff:10.0.0.1]",
            "[64:ff9b::a9fe:a9fe]", "[64:ff9b::7f00:1]", "[2002:a9fe:a9fe::1]", "[::127.0.0.1]"]


REFUSED_PAGE = ("address is not public", "not a usable client metadata document URL",
                "could not fetch the client metadata document", "unknown client_id")


def cimd_attack(A, fe, w, url, want, challenge):
    """GET /authorize with client_id url: a 400 page saying want, no redirect, nothing
    fetched."""
    n = w.mark()
    r = fe.b.get(fe.o.authorize_url(fe.o.auth_params(url, challenge)))
    text = page_text(r)
    p = [] if r.status == 400 else ["HTTP %s, expected 400" % r.status]
    if r.header("Location"):
        p.append("redirected to %s" % r.header("Location"))
    if not web_server_refusal(r) and not any(x in text.replace("&#39;", "'") for x in want):
        p.append("the page does not say %s" % " or ".join(repr(x) for x in want))
    hits = w.since(n)
    if hits:
        p.append("the witness was reached: %r" % hits[:3])
    A.check("ssrf", "%s: client_id %s: 400 page, nothing fetched" % (fe.name, url), p, r)


def ssrf_cimd(A, st, fe, w, netns):
    _, challenge = pkce()
    before = counts(st)
    path = "/cimd/c.json"
    for host in loopback_hosts():
        cimd_attack(A, fe, w, "https://%s:%d%s" % (host, w.port, path),
                    ("address is not public",), challenge)
    # names that may or may not resolve here (refused either way); outside the namespace
    # the lookup could leave the machine for a DNS server
    for host in ("localhost.", "127.0.0.1.", "ip6-localhost", "ip6-loopback"):
        url = "https://%s:%d%s" % (host, w.port, path)
        if netns:
            cimd_attack(A, fe, w, url, REFUSED_PAGE, challenge)
        else:
            A.skip("ssrf", "%s: client_id %s" % (fe.name, url), "no private network namespace")
    for host in private_hosts():
        url = "https://%s:%d%s" % (host, w.port, path)
        if netns:
            cimd_attack(A, fe, w, url, ("address is not public",), challenge)
        else:
            A.skip("ssrf", "%s: client_id %s" % (fe.name, url), "no private network namespace")
    tricks = [
        ("https://evil.example@127.0.0.1:%d%s", ("not a usable",)),
        ("https://127.0.0.1:%d@evil.example%s", ("not a usable",)),
        ("https://user:pass@127.0.0.1:%d%s", ("not a usable",)),
        ("https://127.0.0.1:%d#@evil.example%s", ("not a usable",)),
        ("https://127.0.0.1:%d\\@evil.example%s", REFUSED_PAGE),
        ("https://127.0.0.1:%d/../%s", ("not a usable",)),
        ("https://127.0.0.1:%d/./%s", ("not a usable",)),
        ("https://127.0.0.1:%d%s\r\nX-Injected: 1", ("not a usable",)),
        ("https://127.0.0.1:%d%s x", ("not a usable",)),
        ("https://127.0.0.1:%d", ("not a usable",)),
        ("https://127.0.0.1:%d/", ("not a usable",)),
        ("http://127.0.0.1:%d%s", ("unknown client_id",)),
        ("HTTPS://127.0.0.1:%d%s", ("unknown client_id",)),
        ("file://127.0.0.1:%d/etc/passwd%s", ("unknown client_id",)),
        ("gopher://127.0.0.1:%d/_GET%s", ("unknown client_id",)),
        ("ftp://127.0.0.1:%d%s", ("unknown client_id",)),
        ("dict://127.0.0.1:%d%s", ("unknown client_id",)),
        ("ldap://127.0.0.1:%d%s", ("unknown client_id",)),
        ("//127.0.0.1:%d%s", ("unknown client_id",)),
        ("https:/127.0.0.1:%d%s", ("unknown client_id",)),
    ]
    for fmt, want in tricks:
        url = fmt % ((w.port, path) if fmt.count("%") == 2 else (w.port,))
        cimd_attack(A, fe, w, url, want, challenge)
    # the token, revocation and introspection endpoints resolve client ids too
    url = "https://127.0.0.1:%d%s" % (w.port, path)
    for ep, fields, status in (
            ("/token", {"grant_type": "authorization_code", "code": "x", "client_id": url,
                        "code_verifier": "a" * 43, "redirect_uri": REDIRECT}, 401),
            ("/revoke", {"token": "x", "client_id": url}, 401),
            ("/introspect", {"token": "x", "client_id": url}, 401)):
        n = w.mark()
        r = request("POST", fe.o.url(ep), urllib.parse.urlencode(fields), FORM)
        p = [] if r.status == status and (err_of(r) == "invalid_client") else [
            "HTTP %s %r, expected %d invalid_client" % (r.status, err_of(r), status)]
        if w.since(n):
            p.append("the witness was reached")
        A.check("ssrf", "%s: %s with a loopback client_id URL: invalid_client, nothing "
                "fetched" % (fe.name, ep), p, r)
    A.check("ssrf", "%s: no client row from any of those" % fe.name,
            unchanged(before, counts(st)))


def ssrf_cimd_allowed(A, st, fe, w):
    """The proxy's responder may fetch from loopback (cimd_allow_private, a test switch):
    what a hostile document server can still not do."""
    _, challenge = pkce()
    before = counts(st)
    for path, status in (("/redirect", 302), ("/redirect307", 307)):
        n = w.mark()
        url = w.base + "/cimd" + path
        r = fe.b.get(fe.o.authorize_url(fe.o.auth_params(url, challenge)))
        got = [h[2] for h in w.requests_since(n)]
        p = [] if r.status == 400 and not r.header("Location") else ["HTTP %s" % r.status]
        if "not 200" not in page_text(r):
            p.append("the page does not say the status was not 200")
        if got != ["/cimd" + path]:
            p.append("the witness saw %r, expected only the first request" % got)
        A.check("ssrf", "%s: a metadata URL answering %d: the redirect is not followed"
                % (fe.name, status), p, r)
    w.docs["/cimd/big.json"] = b'{"client_id":"' + b"x" * (70 * 1024) + b'"}'
    w.docs["/cimd/deep.json"] = b"[" * 10000 + b"]" * 10000
    w.docs["/cimd/latin1.json"] = b'{"client_id":"\xe9"}'
    docs = {
        "big": ("too large",),
        "deep": ("not a JSON object",),
        "latin1": ("not a JSON object",),
    }
    for name, want in docs.items():
        url = w.base + "/cimd/%s.json" % name
        r = fe.b.get(fe.o.authorize_url(fe.o.auth_params(url, challenge)))
        p = [] if r.status == 400 and not r.header("Location") else ["HTTP %s" % r.status]
        if not any(x in page_text(r) for x in want):
            p.append("the page does not say %r" % (want,))
        A.check("size", "%s: hostile metadata document %s: 400 page" % (fe.name, name), p, r)
    bad_redirects = ["javascript:alert(1)", "http://evil.example/cb", "data:text/html,x",
                     "https://evil.example/cb#frag", "https://u@evil.example/cb",
                     "https://evil.example/cb\r\nX-Injected: 1"]
    for i, uri in enumerate(bad_redirects):
        url = w.base + "/cimd/badredir%d.json" % i
        w.docs["/cimd/badredir%d.json" % i] = json.dumps(
            {"client_id": url, "redirect_uris": [uri]}).encode()
        r = fe.b.get(fe.o.authorize_url(fe.o.auth_params(url, challenge, redirect=uri)))
        p = [] if r.status == 400 and not r.header("Location") else ["HTTP %s" % r.status]
        A.check("ssrf", "%s: metadata document with redirect URI %r: refused, no redirect"
                % (fe.name, uri), p + no_injection(r), r)
    A.check("ssrf", "%s: no client row from any hostile document" % fe.name,
            unchanged(before, counts(st)))
    # names a document chooses: stored as given (cut between characters), shown escaped
    for label, name in (("a script and SQL", "n" + XSS + "'); DROP TABLE oauth_clients;--"),
                        ("201 bytes of UTF-8", "a" + "\u00e9" * 100)):
        url = w.base + "/cimd/named%d.json" % len(w.docs)
        w.docs[urllib.parse.urlsplit(url).path] = json.dumps(
            {"client_id": url, "client_name": name, "redirect_uris": [REDIRECT],
             "token_endpoint_auth_method": "none"}).encode()
        st.psql("DELETE FROM oauth_consents")
        r = fe.b.get(fe.o.authorize_url(fe.o.auth_params(url, challenge)))
        stored = psql_value(st, "SELECT name FROM oauth_clients WHERE client_id = %s" % sq(url))
        want = name.encode()[:200].decode("utf-8", "ignore")
        p = no_injection(r) + ([] if r.status == 200 and "Allow access" in page_text(r) else
                               ["HTTP %s, not the consent page" % r.status])
        if stored != want:
            p.append("stored name %r, expected %r" % (stored, want))
        if "<script>" in page_text(r):
            p.append("the consent page echoes the script")
        A.check("sql", "%s: metadata document with client_name holding %s: stored as given, "
                "shown escaped" % (fe.name, label), p, r)


def backend_call(fe, name, args):
    r = fe.m.tool(name, args)
    return r, result_of(r)


def ssrf_backends(A, st, fe, w, private_names, skipped):
    # arguments that try to leave the allowed backend's host or path
    paths = ["@evil.example", "//evil.example/x", "..", ".", "../../admin", "..%2F..%2Fadmin",
             "%2e%2e", "%2F", "%40evil.example", "a/../../b", "a\r\nHost: evil.example",
             "a\nX-Injected: 1", "a#frag", "a?admin=1", "http://evil.example/", "\\..\\admin",
             "evil.example:80@127.0.0.1", ".%2e", "\u2025", "\uff0e\uff0e", " ", "a b"]
    for v in paths:
        n = w.mark()
        r, res = backend_call(fe, "wit_get_item", {"id": v})
        got = w.requests_since(n)
        p = []
        if len(got) != 1:
            p.append("the backend saw %d requests, expected 1" % len(got))
        else:
            path, headers = got[0][2], got[0][3]
            seg = path[len("/api/items/"):] if path.startswith("/api/items/") else None
            if seg is None or not seg:
                p.append("path %r left /api/items/" % path)
            elif any(c in seg for c in "/?#@\\ \r\n") or seg in (".", ".."):
                p.append("path %r: the argument was not encoded" % path)
            elif urllib.parse.unquote(seg) != v:
                p.append("path %r does not carry the argument as given" % path)
            if headers.get("Host") != "127.0.0.1:%d" % w.port:
                p.append("Host %r" % headers.get("Host"))
            if "X-Injected" in headers:
                p.append("an injected header reached the backend")
        if res.get("isError") is not False:
            p.append("isError %r" % res.get("isError"))
        A.check("ssrf", "path argument %r stays one encoded segment on the backend's host"
                % v, p, r)
    n = w.mark()
    q = "x&admin=1#f?y=/../&q=2"
    r, res = backend_call(fe, "wit_search", {"q": q})
    got = w.requests_since(n)
    p = [] if len(got) == 1 else ["%d requests" % len(got)]
    if got:
        u = urllib.parse.urlsplit(got[0][2])
        if u.path != "/api/search" or urllib.parse.parse_qs(u.query) != {"q": [q]}:
            p.append("the backend saw %r" % got[0][2])
    A.check("ssrf", "query argument with & # ? / ..: one parameter, as given", p, r)
    for v in ("x\r\nX-Injected: 1", "x\nHost: evil.example", "x\rY"):
        n = w.mark()
        r, res = backend_call(fe, "wit_traced", {"trace": v})
        p = [] if res.get("isError") is True and "one line" in text_of(r) else ["not refused"]
        if w.since(n):
            p.append("something was sent")
        A.check("crlf", "header argument %r: isError, nothing sent" % v, p, r)
    n = w.mark()
    r, res = backend_call(fe, "wit_moved", {})
    got = [h[2] for h in w.requests_since(n)]
    A.check("ssrf", "a backend answering 302: isError, the redirect is not followed",
            ([] if res.get("isError") is True and "not followed" in text_of(r) else
             ["result %r" % res]) + ([] if got == ["/api/redirect"] else ["saw %r" % got]), r)
    for host in skipped:
        A.skip("ssrf", "backend base_url http://%s" % host, "no private network namespace")
    for name, host in sorted(private_names.items()):
        n = w.mark()
        r, res = backend_call(fe, name + "_get", {})
        p = [] if res.get("isError") is True and "private" in text_of(r) else ["result %r" % res]
        if w.since(n):
            p.append("the witness was reached: %r" % w.since(n)[:2])
        A.check("ssrf", "backend base_url http://%s:PORT without allow_private: isError, "
                "nothing sent" % host, p, r)
    n = w.mark()
    r = fe.m.call("tools/list", {})
    names = [t.get("name", "") for t in result_of(r).get("tools", [])]
    p = [] if r.status == 200 and not any(x.startswith("upriv_") for x in names) else [
        "tools %r" % [x for x in names if x.startswith("upriv")]]
    if w.since(n):
        p.append("the witness was reached")
    A.check("ssrf", "an upstream MCP server on loopback without allow_private: no tools, "
            "nothing sent", p, r)


# ---------------------------------------------------------------------------
# crlf and reflection


def location_query(r):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location") or "").query)


def crlf(A, st, fe):
    o, b = fe.o, fe.b
    _, challenge = pkce()
    cid = fe.client["client_id"]
    st.psql("DELETE FROM oauth_consents")  # so that the consent page shows
    for state in (CRLF, "a\r\nLocation: https://evil.example/", "a\nSet-Cookie: x=1", XSS,
                  "\x00", "\x7f\x1b[31m"):
        r = b.get(o.authorize_url(o.auth_params(cid, challenge, state=state)))
        p = no_injection(r)
        if r.status == 200:  # the consent page: state is a hidden field
            if XSS in page_text(r) or "<script>" in page_text(r):
                p.append("the consent page echoes the script")
            if hidden_fields(r.body).get("state") != state:
                p.append("hidden state %r" % hidden_fields(r.body).get("state"))
        elif r.status == 303:
            got = location_query(r).get("state", [None])[0]
            if got != state:
                p.append("state came back as %r" % got)
        elif r.status != 400:
            p.append("HTTP %s" % r.status)
        A.check("crlf", "%s: state %r: carried encoded, escaped, or refused" % (fe.name, state),
                p, r)
    for uri in (REDIRECT + "\r\nX-Injected: 1", REDIRECT + "%0d%0aX-Injected:%201",
                REDIRECT + "/\r\n", "https://evil.example/%0d%0aX-Injected:1"):
        r = b.get(o.authorize_url(o.auth_params(cid, challenge, redirect=uri)))
        p = no_injection(r) + ([] if r.status == 400 and not r.header("Location") else
                               ["HTTP %s, Location %r" % (r.status, r.header("Location"))])
        A.check("crlf", "%s: redirect_uri %r: error page, no redirect" % (fe.name, uri), p, r)
    for name in ("<script>alert(1)</script>", "a\r\nX-Injected: 1"):
        q = "client_id=%s&%s=1&%s=2" % (cid, urllib.parse.quote(name), urllib.parse.quote(name))
        r = b.get(o.url("/authorize?") + q)
        p = no_injection(r) + ([] if r.status == 400 else ["HTTP %s" % r.status])
        if "<script>alert" in page_text(r):
            p.append("the page echoes the script")
        A.check("crlf", "%s: repeated parameter named %r: escaped on the error page"
                % (fe.name, name), p, r)
    r = b.get(o.authorize_url(o.auth_params(XSS, challenge)))
    A.check("crlf", "%s: client_id with a script: error page, escaped" % fe.name,
            no_injection(r) + ([] if r.status == 400 and XSS not in page_text(r) else
                               ["HTTP %s or echoed" % r.status]), r)
    # sign-in: return_to ends up in Location
    for rt in ("/authorize?a\r\nSet-Cookie: x=1", "/authorize?a\nX-Injected: 1",
               "/authorize?\x0bX-Injected: 1", "/authorize?\x01", "/authorize?\x7f",
               "/authorize?\x1b[2J", "/authorize?\u00e9", "//evil.example/", "/\\evil.example",
               "https://evil.example/authorize?", "/authorize?" + XSS.replace(" ", ""),
               "/account\r\nX-Injected: 1"):
        b2 = Browser()
        page = b2.get(o.url("/login"))
        f = hidden_fields(page.body)
        f.update({"username": USER, "password": PASSWORD, "return_to": rt})
        r = b2.post(o.url("/login"), f)
        loc = r.header("Location") or ""
        p = no_injection(r)
        if r.status != 303:
            p.append("HTTP %s" % r.status)
        if any(ord(c) < 0x21 or ord(c) > 0x7e for c in loc):
            p.append("Location %r carries a control or non-ASCII character" % loc)
        if not (loc == "/account" or loc.startswith("/authorize?")):
            p.append("Location %r" % loc)
        for k, v in b2.cookies.items():
            secret("%s sign-in cookie %s (return_to %r)" % (fe.name, k, rt), v)
        A.check("crlf", "%s: sign-in with return_to %r: Location is ours and one clean line"
                % (fe.name, rt), p, r)
    for rt in (XSS, CRLF):
        r = Browser().get(o.url("/login?return_to=") + urllib.parse.quote(rt))
        A.check("crlf", "%s: sign-in page with return_to %r: escaped" % (fe.name, rt),
                no_injection(r) + ([] if XSS not in page_text(r) else ["echoed"]) + not_5xx(r),
                r)
    for user in (XSS, "a\r\nX-Injected: 1"):
        b2 = Browser()
        page = b2.get(o.url("/login"))
        f = hidden_fields(page.body)
        f.update({"username": user, "password": "wrong password"})
        r = b2.post(o.url("/login"), f)
        p = no_injection(r) + ([] if r.status in (400, 401, 429) else ["HTTP %s" % r.status])
        if XSS in page_text(r):
            p.append("the page echoes the script")
        A.check("crlf", "%s: sign-in as %r: refused, the name escaped" % (fe.name, user), p, r)
    # the consent page shows the client's name and carries the request
    reg = o.register({"redirect_uris": [REDIRECT], "client_name": XSS,
                      "token_endpoint_auth_method": "none"})
    xcid = (reg.json or {}).get("client_id", "none")
    r = b.get(o.authorize_url(o.auth_params(xcid, challenge, state=XSS)))
    p = no_injection(r) + ([] if r.status == 200 and "Allow access" in page_text(r) else
                           ["HTTP %s, not the consent page" % r.status])
    if XSS in page_text(r) or "<script>" in page_text(r):
        p.append("the consent page echoes the script")
    A.check("crlf", "%s: consent page for a client named with a script: escaped" % fe.name,
            p, r)
    # bearer challenge
    for tok in ('x", error="none', "x\x0bX-Injected: 1", XSS):
        r = mcptest.post_json(fe.base + "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                              {"Authorization": "Bearer " + tok})
        wa = r.header("WWW-Authenticate") or ""
        p = no_injection(r) + ([] if r.status == 401 or web_server_refusal(r) else
                               ["HTTP %s" % r.status])
        if any(x in wa for x in ('"none"', "X-Injected", "<script>")):
            p.append("WWW-Authenticate reflects the token: %r" % wa)
        A.check("crlf", "%s: bearer %r: 401 (or the web server's 400), WWW-Authenticate holds "
                "only our values"
                % (fe.name, tok), p, r)
    mcp_reflection(A, fe)
    for port_fe in (fe,):
        for line in (b"GET /authorize?x=\r\nX-Injected: 1 HTTP/1.1\r\nHost: a\r\n\r\n",
                     b"POST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n"
                     b" X-Injected: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"):
            out = raw_request(port_fe.port, line)
            # Apache takes "GET /authorize?x=" for an HTTP/0.9 request (its default
            # HttpProtocolOptions Allow0.9) and answers with the bare page: no headers at all
            head = out.split(b"\r\n\r\n", 1)[0] if out.startswith(b"HTTP/1.") else b""
            p = [] if out else ["no answer"]
            if b"x-injected" in head.lower() or b"X-Injected" in out:
                p.append("the injected header is in the answer")
            if out.count(b"HTTP/1.") > 1:
                p.append("two responses")
            A.check("crlf", "%s: raw request %r: one answer, nothing injected"
                    % (fe.name, line[:40]), p, out[:300].decode("latin-1"))


def mcp_reflection(A, fe):
    m = fe.m
    for id in (CRLF, "</script><script>alert(1)</script>", "\u2028\u2029", "\x7f\x1b[2J"):
        r = m.call("ping", id=id)
        p = no_injection(r) + ([] if r.status == 200 else ["HTTP %s" % r.status])
        if r.content_type != "application/json":
            p.append("Content-Type %r" % r.header("Content-Type"))
        if r.status == 200 and (r.json or {}).get("id") != id:
            p.append("id came back as %r" % (r.json or {}).get("id"))
        if (r.header("X-Content-Type-Options") or "") != "nosniff":
            p.append("no X-Content-Type-Options: nosniff")
        A.check("crlf", "%s: JSON-RPC id %r: echoed exactly, JSON-escaped" % (fe.name, id),
                p, r)
    for name in ("<script>alert(1)</script>", "x\r\nX-Injected: 1", "x\u0085\u2028"):
        r = m.tool(name, {})
        p = no_injection(r) + expect_rpc_error(r, (r.json or {}).get("id"), -32602) + \
            valid_utf8(r)
        if (r.json or {}).get("error", {}).get("message", "").find(name) < 0:
            p.append("the message does not name the tool as given")
        A.check("crlf", "%s: tool name %r: Unknown tool, JSON-escaped" % (fe.name, name), p, r)
    for h, v in (("MCP-Protocol-Version", "2025-06-18\x0bX-Injected: 1"),
                 ("MCP-Protocol-Version", XSS),
                 ("Last-Event-ID", "x\x0bX-Injected: 1"),
                 ("Mcp-Session-Id", "x\x0bX-Injected: 1")):
        if h == "Last-Event-ID":
            r = request("GET", m.url, None, m.headers({"Accept": "text/event-stream", h: v}))
        else:
            r = m.call("ping", headers={h: v})
        p = no_injection(r) + ([] if r.status == 400 else ["HTTP %s" % r.status]) + valid_utf8(r)
        A.check("crlf", "%s: %s %r: 400, nothing injected" % (fe.name, h, v), p, r)
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "x", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}
    for method_h, name_h in (("=?base64?%s?=" % base64.b64encode(
            b"tools/call\r\nX-Injected: 1").decode(), "echo"),
            ("tools/call", "=?base64?%s?=" % base64.b64encode(b"echo\r\nX-Injected: 1").decode())):
        r = mcptest.post_json(fe.base + "/mcp", {
            "jsonrpc": "2.0", "id": 9, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": "x"}, "_meta": meta}},
            {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method_h, "Mcp-Name": name_h,
             "Authorization": "Bearer " + fe.token})
        A.check("crlf", "%s: 2026-07-28 Mcp-Method %r / Mcp-Name %r decoding to CRLF: "
                "-32020 header mismatch" % (fe.name, method_h, name_h),
                no_injection(r) + expect_error(r, 400, -32020, 9), r)


# ---------------------------------------------------------------------------
# sql


def sql(A, st, fe):
    o, b, m = fe.o, fe.b, fe.m
    _, challenge = pkce()
    cid = fe.client["client_id"]
    _, q = o.authorize(b, o.auth_params(cid, challenge), USER, PASSWORD)  # consent again
    secret("%s code after consent" % fe.name, q.get("code"))
    # registration: stored and answered literally
    for v in SQLI:
        before = counts(st)
        r = o.register({"redirect_uris": ["https://app.example/cb?q=" + urllib.parse.quote(v)],
                        "client_name": "n" + v, "token_endpoint_auth_method": "none",
                        "scope": "mcp:tools:read" + v})
        j = r.json or {}
        p = [] if r.status == 201 and j.get("client_name") == "n" + v else [
            "HTTP %s name %r" % (r.status, j.get("client_name"))]
        stored = psql_value(st, "SELECT name FROM oauth_clients WHERE client_id = %s"
                            % sq(j.get("client_id", "")))
        if stored != "n" + v:
            p.append("stored name %r" % stored)
        after = counts(st)
        p += unchanged(before, after, allow=("oauth_clients",))
        if after and before and after["oauth_clients"] != before["oauth_clients"] + 1:
            p.append("oauth_clients +%d" % (after["oauth_clients"] - before["oauth_clients"]))
        A.check("sql", "%s: registration with client_name and redirect URI holding %r: "
                "stored and answered as given" % (fe.name, v), p, r)
    before = counts(st)
    revoked = "SELECT (SELECT count(*) FROM oauth_tokens WHERE revoked_at IS NOT NULL) + " \
              "(SELECT count(*) FROM oauth_families WHERE revoked_at IS NOT NULL)"
    revoked_before = psql_value(st, revoked)
    # authorization and token endpoints: refused, nothing written
    for v in SQLI:
        r = b.get(o.authorize_url(o.auth_params(cid, challenge, state="s" + v)))
        got = location_query(r).get("state", [None])[0]
        p = [] if r.status == 303 and got == "s" + v else ["HTTP %s state %r" % (r.status, got)]
        secret("%s code (state %r)" % (fe.name, v), location_query(r).get("code", [None])[0])
        A.check("sql", "%s: state %r comes back as given" % (fe.name, v), p, r)
        for field, want in (("scope", "invalid_scope"), ("resource", "invalid_target"),
                            ("code_challenge", "invalid_request")):
            args = {field: "mcp:tools:read" + v if field == "scope" else v}
            r = b.get(o.authorize_url(o.auth_params(cid, challenge, **args)))
            got = location_query(r).get("error", [None])[0]
            A.check("sql", "%s: %s %r: %s" % (fe.name, field, v, want),
                    [] if r.status == 303 and got == want else ["HTTP %s error %r" %
                                                                (r.status, got)], r)
        r = b.get(o.authorize_url(o.auth_params("mcp_" + v, challenge)))
        A.check("sql", "%s: client_id %r: unknown application page" % (fe.name, v),
                [] if r.status == 400 and "Unknown application" in page_text(r) else
                ["HTTP %s" % r.status], r)
        for fields, status, want in (
                ({"grant_type": "authorization_code", "code": v, "code_verifier": "a" * 43,
                  "redirect_uri": REDIRECT, "client_id": cid}, 400, "invalid_grant"),
                ({"grant_type": "refresh_token", "refresh_token": v, "client_id": cid}, 400,
                 "invalid_grant"),
                ({"grant_type": "authorization_code", "code": "x", "code_verifier": "a" * 43,
                  "redirect_uri": REDIRECT, "client_id": v}, 401, "invalid_client"),
                ({"grant_type": v, "client_id": cid}, 400, "unsupported_grant_type")):
            t = o.token(fields)
            A.check("sql", "%s: /token %s %r: %d %s" % (
                fe.name, [k for k, x in fields.items() if x == v][0], v, status, want),
                [] if t.status == status and err_of(t) == want else
                ["HTTP %s %r" % (t.status, err_of(t))], t)
        r = request("POST", o.url("/revoke"), urllib.parse.urlencode(
            {"token": v, "client_id": cid}), FORM)
        A.check("sql", "%s: /revoke token %r: 200, nothing revoked" % (fe.name, v),
                [] if r.status == 200 else ["HTTP %s" % r.status], r)
    A.check("sql", "%s: no token or client written, nothing revoked by those (codes only "
            "for the good requests)" % fe.name,
            unchanged(before, counts(st), allow=("oauth_codes", "oauth_families")) +
            ([] if psql_value(st, revoked) == revoked_before else ["something was revoked"]))
    # sign-in: refused, counted under the name as typed
    for v in SQLI[:10]:
        b2 = Browser()
        page = b2.get(o.url("/login"))
        f = hidden_fields(page.body)
        f.update({"username": USER + v, "password": v})
        r = b2.post(o.url("/login"), f)
        key = psql_value(st, "SELECT count(*) FROM login_failures WHERE key = %s"
                         % sq("u:" + USER + v))
        p = [] if r.status in (401, 429) and "mcpgate_session" not in b2.cookies else [
            "HTTP %s cookies %r" % (r.status, sorted(b2.cookies))]
        if r.status == 401 and key != "1":
            p.append("login_failures has %r rows for the name as typed" % key)
        A.check("sql", "%s: sign-in as %r: refused, the name counted as typed"
                % (fe.name, USER + v), p, r)
    for v in SQLI[:3]:
        b2 = Browser()
        page = b2.get(o.url("/login"))
        f = hidden_fields(page.body)
        f.update({"username": VICTIM, "password": VICTIM_PASSWORD[:4] + v})
        r = b2.post(o.url("/login"), f)
        A.check("sql", "%s: sign-in as %s with password %r: refused" % (fe.name, VICTIM, v),
                [] if r.status in (401, 429) and "mcpgate_session" not in b2.cookies else
                ["HTTP %s" % r.status], r)
    # MCP: tool names are audited as given, arguments come back as given
    for v in SQLI:
        before = counts(st)
        r = m.tool("t" + v, {"a": v})
        stored = psql_value(st, "SELECT count(*) FROM audit_log WHERE tool = %s AND "
                            "outcome = 'refused'" % sq("t" + v))
        p = expect_rpc_error(r, (r.json or {}).get("id"), -32602)
        if stored != "1":
            p.append("%r audit rows for the name as given" % stored)
        p += unchanged(before, counts(st), allow=("audit_log",))
        A.check("sql", "%s: tools/call %r: Unknown tool, audited as given" % (fe.name, "t" + v),
                p, r)
        r = m.tool("echo", {"message": v})
        A.check("sql", "%s: echo %r: returned as given" % (fe.name, v),
                [] if mcptest.tool_text(r) == v else ["text %r" % mcptest.tool_text(r)], r)
        for method, params, code in (("tools/list", {"cursor": v}, -32602),
                                     ("resources/read", {"uri": v}, None),
                                     ("prompts/get", {"name": v}, -32602),
                                     ("logging/setLevel", {"level": v}, -32602)):
            r = m.call(method, params)
            e = err_of(r) or {}
            p = [] if r.status == 200 and isinstance(e, dict) and e.get("code") and (
                code is None or e.get("code") == code) else ["HTTP %s error %r" % (r.status, e)]
            A.check("sql", "%s: %s %r: a JSON-RPC error" % (fe.name, method, params), p, r)
        for h in ("Mcp-Session-Id", "Last-Event-ID"):
            if h == "Last-Event-ID":
                r = request("GET", m.url, None, m.headers({"Accept": "text/event-stream", h: v}))
            else:
                r = m.call("ping", headers={h: v})
            A.check("sql", "%s: %s %r: 400" % (fe.name, h, v),
                    expect_error(r, 400, -32000, None), r)
    # the account page: a key named with metacharacters is stored and shown as given
    page = b.get(o.url("/account"))
    csrf = hidden_fields(page.body).get("csrf", "")
    for v in SQLI[:6] + [XSS]:
        before = counts(st)
        r = b.post(o.url("/account/keys"), {"csrf": csrf, "name": "k" + v, "read_only": "1"})
        key = b.cookies.get("mcpgate_flash")
        stored = psql_value(st, "SELECT count(*) FROM api_keys WHERE name = %s" % sq("k" + v))
        acct = b.get(o.url("/account"))
        if key:
            secret("%s API key named %r" % (fe.name, v), urllib.parse.unquote(key))
        for k, val in b.cookies.items():
            secret("%s cookie %s after key %r" % (fe.name, k, v), val)
        p = [] if r.status == 303 and stored == "1" else ["HTTP %s, %r rows" % (r.status, stored)]
        if XSS in page_text(acct):
            p.append("the account page echoes the script")
        p += unchanged(before, counts(st), allow=("api_keys",))
        A.check("sql", "%s: API key named %r: stored as given, shown escaped" % (fe.name, v),
                p, r)
    for v in SQLI[:6]:
        before = counts(st)
        r1 = b.post(o.url("/account/revoke"), {"csrf": csrf, "client_id": v})
        r2 = b.post(o.url("/account/keys/revoke"), {"csrf": csrf, "key_id": v})
        p = [] if r1.status == 303 and r2.status == 400 else ["HTTP %s / %s" % (r1.status,
                                                                                r2.status)]
        p += unchanged(before, counts(st))
        if psql_value(st, revoked) != revoked_before:
            p.append("something was revoked")
        A.check("sql", "%s: disconnecting client %r / revoking key %r: nothing revoked"
                % (fe.name, v, v), p, r1, r2)


# ---------------------------------------------------------------------------
# size and encoding


def nested(depth):
    return b"[" * depth + b"]" * depth


def size(A, st, fe, max_body):
    o, b, m = fe.o, fe.b, fe.m
    before = counts(st)
    big = b"a=" + b"x" * max_body
    page = b.get(o.url("/account"))
    csrf = hidden_fields(page.body).get("csrf", "")
    for ep in ("/token", "/register", "/login", "/consent", "/revoke", "/introspect",
               "/account/keys"):
        ct = "application/json" if ep == "/register" else FORM["Content-Type"]
        r = request("POST", o.url(ep), big, b._headers({"Content-Type": ct}))
        A.check("size", "%s: %s with a body of max_body_bytes+2: 413" % (fe.name, ep),
                [] if r.status == 413 and err_of(r) == "invalid_request" else
                ["HTTP %s %r" % (r.status, err_of(r))], r)
    r = m.post(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"p":"' +
               b"x" * max_body + b'"}}')
    A.check("size", "%s: /mcp with a body over max_body_bytes: 413 -32000" % fe.name,
            expect_error(r, 413, -32000, None), r)
    r = o.register({"redirect_uris": [REDIRECT], "client_name": "c", "x": "y" * 70000})
    A.check("size", "%s: registration over 64 KiB: 400 invalid_client_metadata" % fe.name,
            [] if r.status == 400 and err_of(r) == "invalid_client_metadata" else ["bad"], r)
    for what, body in (("10,000 nested arrays", nested(10000)),
                       ("nesting in a member", b'{"redirect_uris":' + nested(100) + b"}"),
                       ("invalid UTF-8", b'{"redirect_uris":["https://a.example/\xff"]}'),
                       ("U+0000 in client_name", b'{"redirect_uris":["https://a.example/cb"],'
                                                 b'"client_name":"a\\u0000<script>"}'),
                       ("a NUL byte", b'{"redirect_uris":["https://a.example/cb"]}\x00')):
        r = mcptest.post_json(o.url("/register"), body, {"Accept": "application/json"})
        A.check("size", "%s: registration, %s: 400 invalid_client_metadata" % (fe.name, what),
                [] if r.status == 400 and err_of(r) == "invalid_client_metadata" else
                ["HTTP %s %r" % (r.status, err_of(r))], r)
    # headers the web server refuses, and large ones it passes on
    for what, h in (("a 100 KB header", {"X-Big": "a" * 100000}),
                    ("1,000 headers", {"X-H%d" % i: "v" for i in range(1000)})):
        r = m.call("ping", headers=h)
        A.check("size", "%s: %s: refused by the web server (400/413/431)" % (fe.name, what),
                [] if r.status in (400, 413, 431) else ["HTTP %s" % r.status], r)
    for what, h, want in (
            ("a 7 KB Mcp-Session-Id", {"Mcp-Session-Id": "A" * 7000}, 400),
            ("a 7 KB MCP-Protocol-Version", {"MCP-Protocol-Version": "2" * 7000}, 400),
            ("a 7 KB bearer token", {"Authorization": "Bearer " + "A" * 7000}, 401),
            ("a 7 KB Last-Event-ID", {"Last-Event-ID": "A" * 7000}, 400)):
        hh = m.headers({"Accept": "text/event-stream"} if "Last-Event-ID" in h else None)
        hh.update(h)
        r = request("GET" if "Last-Event-ID" in h else "POST", m.url,
                    None if "Last-Event-ID" in h else mcptest.json_bytes(
                        {"jsonrpc": "2.0", "id": 1, "method": "ping"}), hh)
        A.check("size", "%s: %s: %d" % (fe.name, what, want),
                ([] if r.status == want else ["HTTP %s" % r.status]) + valid_utf8(r), r)
    r = b.get(o.url("/account"), {"Cookie": "; ".join("c%d=%s" % (i, "v" * 60)
                                                      for i in range(100))})
    A.check("size", "%s: 100 cookies without ours: sent to sign in" % fe.name,
            [] if r.status == 303 else ["HTTP %s" % r.status], r)
    # numbers and strings
    for what, body, code in (
            ("an id beyond uint64", b'{"jsonrpc":"2.0","id":123456789012345678901234567890,'
                                    b'"method":"ping"}', -32700),
            ("an id below int64", b'{"jsonrpc":"2.0","id":-123456789012345678901234567890,'
                                  b'"method":"ping"}', -32700),
            ("an id of 1e400", b'{"jsonrpc":"2.0","id":1e400,"method":"ping"}', -32600),
            ("U+0000 in the method", b'{"jsonrpc":"2.0","id":1,"method":"ping\\u0000x"}',
             -32700),
            ("U+0000 in a tool name", b'{"jsonrpc":"2.0","id":1,"method":"tools/call",'
                                      b'"params":{"name":"echo\\u0000x","arguments":'
                                      b'{"message":"a"}}}', -32700),
            ("U+0000 in an argument", b'{"jsonrpc":"2.0","id":1,"method":"tools/call",'
                                      b'"params":{"name":"echo","arguments":'
                                      b'{"message":"a\\u0000b"}}}', -32700),
            ("a NUL byte in the body", b'{"jsonrpc":"2.0","id":1,"method":"ping"}\x00', -32700),
            ("a NUL byte in a string", b'{"jsonrpc":"2.0","id":1,"method":"pi\x00ng"}', -32700),
            ("invalid UTF-8 in a string", b'{"jsonrpc":"2.0","id":1,"method":"\xc3\x28"}',
             -32700),
            ("a lone surrogate escape", b'{"jsonrpc":"2.0","id":1,"method":"\\ud800"}', None),
            ("a 10,000-deep argument", b'{"jsonrpc":"2.0","id":1,"method":"tools/call",'
                                       b'"params":{"name":"echo","arguments":{"message":' +
                                       nested(10000) + b"}}}", -32700)):
        before_s = counts(st)
        r = m.post(body)
        if code is None:
            p = ([] if r.status in (200, 400) else ["HTTP %s" % r.status]) + valid_utf8(r)
        else:
            p = expect_error(r, 400, code, None) if r.status == 400 else expect_rpc_error(
                r, None, code)
        p += valid_utf8(r) + unchanged(before_s, counts(st))
        A.check("size", "%s: %s: %s" % (fe.name, what, code or "a clean answer"), p, r)
    for what, text in (("a 900 KB string", "\u00e9" * 450000), ("a string of 64 KiB of \\n",
                                                               "\n" * 65536)):
        r = m.tool("echo", {"message": text})
        A.check("size", "%s: echo %s: returned exactly" % (fe.name, what),
                [] if mcptest.tool_text(r) == text else ["not the same text"], r)
    long_name = "a" + "\u00e9" * 100  # cut at 128 bytes inside a character
    for method in ("tools/call", "x"):
        before_s = counts(st)
        r = m.tool(long_name, {}) if method == "tools/call" else m.call("x" + "\u00e9" * 100)
        p = valid_utf8(r) + ([] if r.status == 200 and err_of(r) else ["HTTP %s" % r.status])
        if method == "tools/call":
            after = counts(st)
            if before_s and after and after["audit_log"] != before_s["audit_log"] + 1:
                p.append("no audit row for the refused call")
        A.check("size", "%s: %s with a 201-byte name: the error quotes it as valid UTF-8%s"
                % (fe.name, method, ", audited" if method == "tools/call" else ""), p, r)
    # invalid UTF-8 and NUL in forms, queries and headers
    forms = (("/token", "client_id=%FF", "grant_type=authorization_code&code=x&"
              "code_verifier=" + "a" * 43),
             ("/token", "client_id=%C0%AF", "grant_type=authorization_code&code=x"),
             ("/token", "refresh_token=%ED%A0%80", "grant_type=refresh_token&client_id=x"),
             ("/revoke", "token=%FE%FF", ""),
             ("/login", "username=%FF%FE", "password=x&csrf=" + csrf),
             ("/login", "username=a%00b", "password=x&csrf=" + csrf),
             ("/account/keys", "name=%FF", "csrf=" + csrf),
             ("/account/revoke", "client_id=%C3", "csrf=" + csrf))
    for ep, bad, rest in forms:
        r = request("POST", o.url(ep), bad + "&" + rest if rest else bad, b._headers(FORM))
        A.check("size", "%s: %s with %s: 400 invalid_request" % (fe.name, ep, bad),
                [] if r.status == 400 and err_of(r) == "invalid_request" else
                ["HTTP %s %r" % (r.status, err_of(r))], r)
    for q in ("state=%FF", "client_id=%FF", "redirect_uri=%C0%AF", "client_id=a%00b"):
        r = b.get(o.url("/authorize?") + q)
        A.check("size", "%s: /authorize?%s: a 400 page" % (fe.name, q),
                ([] if r.status == 400 and not r.header("Location") else
                 ["HTTP %s" % r.status]) + valid_utf8(r), r)
    hdrs = m.headers()
    for h, v, want in (("MCP-Protocol-Version", b"2025-\xc3\xa9\xff\xfe", 400),
                       ("Mcp-Session-Id", b"\xff" * 43, 400),
                       ("Authorization", b"Bearer \xff\xfe", 401)):
        hh = dict(hdrs)
        hh[h] = v
        r = raw_mcp_post(fe.base, hh, b'{"jsonrpc":"2.0","id":5,"method":"ping"}')
        A.check("size", "%s: %s with bytes that are not UTF-8: %d, valid UTF-8 answer"
                % (fe.name, h, want),
                ([] if r.status == want else ["HTTP %s" % r.status]) + valid_utf8(r), r)
    A.check("size", "%s: the tables are unchanged by the size attacks" % fe.name,
            unchanged(before, counts(st), allow=("audit_log",)))


# ---------------------------------------------------------------------------


def main():
    netns, why = private_netns()
    tap = Tap()
    if not netns and os.environ.get(NETNS_MARK) == "1":
        tap.bail("could not set up the network namespace: %s" % why)
    if not netns:
        tap.diag("attacks on non-loopback addresses are skipped: %s" % why)
    w = Witness(everywhere=netns)
    d = tempfile.mkdtemp(prefix="mcpgate-attacks-")
    os.chmod(d, 0o755)  # the stack's responders run as www-data
    A = Attacks(tap)
    try:
        hosts = ["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "2130706433", "0x7f000001",
                 "[::ffff:127.0.0.1]", "evil.example@127.0.0.1"]
        hosts += [h for h in loopback_hosts() if re.match(r"^[a-z][a-z0-9.-]*$", h) and
                  h not in hosts]
        skipped = [] if netns else private_hosts()
        private_names = write_backends(d, w.port, hosts + (private_hosts() if netns else []))
        extra = "\n".join(["backends_dir = %s" % d, "register_per_hour = 10000",
                           "rate_limit_user_per_min = 100000",
                           "rate_limit_client_per_min = 100000"])
        with Stack(tap, servers="lighttpd proxy", responder=mcptest.test_responder(),
                   config_extra=extra, auth="oauth") as st:
            urls = dict(st.front_ends())
            with open(st.env["CONFIG_PROXY"], "a") as f:
                f.write("\n# test_attacks.py: metadata documents from loopback\n"
                        "cimd_allow_private = yes\n")
            r = st.cmd("responder-restart")
            tap.ok(r.returncode == 0, "proxy: responder restarted with cimd_allow_private",
                   r.stderr[-2000:])
            for user, pw in ((USER, PASSWORD), (VICTIM, VICTIM_PASSWORD)):
                r = admin(st, "user", "add", user, stdin=pw + "\n")
                tap.ok(r.returncode == 0, "mcpgate user add %s" % user, r.stdout, r.stderr)
                secret("password of %s" % user, pw)
            secret("backend secret", BACKEND_SECRET)
            fes = [FrontEnd(name, urls[name]) for name in ("lighttpd", "proxy") if name in urls]
            if not all(fe.sign_in(tap) for fe in fes) or len(fes) != 2:
                tap.bail("could not set up both front ends")
            light, proxy = fes
            max_body = int(st.config("lighttpd").get("max_body_bytes") or 1048576)

            ssrf_cimd(A, st, light, w, netns)
            ssrf_cimd_allowed(A, st, proxy, w)
            ssrf_backends(A, st, light, w, private_names, skipped)
            serving(tap, fes, "SSRF attacks")
            # what is reflected is escaped by the responder, the same code behind both:
            # under valgrind and ASan through lighttpd only (the size attacks keep both,
            # as mod_proxy_fcgi hands the responder the body as the client sends it)
            for fe in ([light] if mcptest.FEWER_FRONT_ENDS else fes):
                crlf(A, st, fe)
            serving(tap, fes, "CRLF and reflection attacks")
            sql(A, st, light)
            serving(tap, fes, "SQL attacks")
            for fe in fes:
                size(A, st, fe, max_body)
            serving(tap, fes, "size and encoding attacks")
            for fe in fes:
                secret("%s final MCP session id" % fe.name, fe.m.sid)
            for sid in mcptest.SESSION_IDS:
                secret("MCP session id %s..." % sid[:6], sid)

            tap.check("the witness: over the whole run, nothing reached it but the allowed "
                      "backend's calls and the documents it serves",
                      w.refused_targets_reached())
            st.stop(remove=False)
            leaks = mcptest.check_secrets_logged(tap, st, SECRETS)
            A.tried["logs"] += len(SECRETS)
            A.refused["logs"] += len(SECRETS) - leaks
            A.total()
    finally:
        w.stop()
        shutil.rmtree(d, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
