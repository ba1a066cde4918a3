#!/usr/bin/env python3
"""test_resource_server.py - auth = resource: mcpgate as a resource server only, trusting
the access tokens of an external authorization server (the npm package oidc-provider,
tests/idp/resource_server.mjs), through lighttpd, Apache mod_fcgid and Apache
mod_proxy_fcgi.

First the provider is down and nothing is cached: a token is answered 503 with
Retry-After, never accepted. Then each front end: the protected resource metadata name
the external issuer and its scopes, mcpgate's own /authorize, /token and /register are
404, a request without a token gets 401 with WWW-Authenticate naming the metadata; a
JWT access token (RFC 9068, client credentials, resource = base_url/mcp) calls tools,
its person is provisioned as (rs_name, sub) with the groups of its claim, the audit row
names that user; a policy for that group applies; an opaque token checked by
introspection (rs_validation = auto) calls tools too. As an MCP client that never saw
mcpgate's own authorization server: from mcpgate's 401 to its resource metadata, to the
issuer they name, dynamic registration there, a person's sign-in (authorization code with
PKCE and resource = base_url/mcp), tool calls as that person, provisioned as (rs_name, sub)
with her groups. A connector's endpoint takes tokens for its own resource only. mcpgate
doctor checks the issuer's metadata, keys and the audience. Negative: alg none, HS256 signed with the public key (key confusion), a
tampered payload, an expired token, another issuer, another token type, a token for
another resource, a
read-only token calling a write tool (403 naming the external write scope), an unknown
kid flood (the key set is fetched again at most once per rs_jwks_refetch_s per process).
Key rotation at the provider is followed. A tool call held while it waits for the client's
answer (test_ask) whose person is disabled meanwhile ends at request_timeout_s with the
-32000 error, audited refused, instead of running the tool again: mcpgate keeps no token
between turns, so it checks the token's exp and the person. TAP output."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
import npmci  # noqa: E402
from mcptest import Stack, Tap, admin, free_port  # noqa: E402
from oauthlib import Browser, mcp_with, pkce  # noqa: E402
from test_held_revoke import DETAIL, audit, finish, held_call, last_audit_id  # noqa: E402
from test_idp import provider_login  # noqa: E402

SECRET = "rs-client-secret-for-tests"
INTROSPECT_SECRET = "mcpgate-introspection-secret"
REFETCH_S = 3
TIMEOUT_S = 6 * mcptest.SLOW  # request_timeout_s: the held call's wait


class Provider:
    """One oidc-provider process (resource_server.mjs)."""

    def __init__(self, tap, d, port, kid, clients, opaque=False, extra=None):
        """opaque: every access token is opaque (else JWTs, but for clients "*-opaque");
        extra: more members of the provider's CONFIG_JSON."""
        self.port = port
        self.issuer = "http://127.0.0.1:%d" % port
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["node", os.path.join(d, "resource_server.mjs"),
             json.dumps(dict({"port": port, "kid": kid, "clients": clients, "opaque": opaque},
                             **(extra or {})))],
            cwd=d, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL,
            start_new_session=True)
        line = self.proc.stdout.readline().decode()
        tap.ok(line.startswith("listening"), "provider (key %s) started" % kid, line,
               self.stderr())

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def token(self, client, resource, scope):
        body = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "resource": resource, "scope": scope}).encode()
        auth = base64.b64encode(("%s:%s" % (client, SECRET)).encode()).decode()
        r = mcptest.request("POST", self.issuer + "/token", body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + auth})
        return (r.json or {}).get("access_token"), r

    def forge(self, mode, token):
        r = mcptest.request("GET", self.issuer + "/__test/forge?" + urllib.parse.urlencode(
            {"mode": mode, "token": token}))
        return (r.json or {}).get("token")

    def jwks_fetches(self):
        r = mcptest.request("GET", self.issuer + "/__test/jwks")
        return (r.json or {}).get("fetches", -1)

    def introspections(self):
        r = mcptest.request("GET", self.issuer + "/__test/introspections")
        return (r.json or {}).get("introspections", -1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


CLIENTS = [
    {"client_id": "agent", "client_secret": SECRET, "grant_types": ["client_credentials"],
     "response_types": [], "redirect_uris": [], "token_endpoint_auth_method":
     "client_secret_basic", "scope": "mcp.read mcp.write", "groups": ["staff"]},
    {"client_id": "agent-opaque", "client_secret": SECRET,
     "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [],
     "token_endpoint_auth_method": "client_secret_basic", "scope": "mcp.read mcp.write"},
    {"client_id": "mcpgate", "client_secret": INTROSPECT_SECRET, "grant_types": [],
     "response_types": [], "redirect_uris": [],
     "token_endpoint_auth_method": "client_secret_basic"},
]


def b64(o):
    return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()


def www_auth(r):
    return r.header("WWW-Authenticate") or ""


def refused_401(r):
    wa = www_auth(r)
    return r.status == 401 and 'error="invalid_token"' in wa and 'resource_metadata="' in wa


def call_echo(base, token, message="hi"):
    m = mcp_with(base, token)
    r = m.initialize()
    if r.status != 200:
        return r
    return m.tool("echo", {"message": message})


def echoed(r, message="hi"):
    return r.status == 200 and message in (mcptest.tool_text(r) or "")


def provider_down(tap, fes, issuer):
    """Before the provider runs: no key set can be had."""
    now = int(time.time())
    fake = "%s.%s.%s" % (b64({"alg": "RS256", "typ": "at+jwt", "kid": "k1"}),
                         b64({"iss": issuer, "sub": "x", "aud": "y", "exp": now + 600,
                              "iat": now}),
                         base64.urlsafe_b64encode(b"\0" * 256).rstrip(b"=").decode())
    for fe, base in fes:
        r = mcp_with(base, fake).initialize()
        tap.ok(r.status == 503 and (r.header("Retry-After") or "") == str(REFETCH_S),
               "%s: issuer unreachable, keys not cached: 503 with Retry-After %d"
               % (fe, REFETCH_S), r.describe())
    fe, base = fes[0]
    none = "%s.%s." % (b64({"alg": "none"}), b64({"iss": issuer, "sub": "x"}))
    r = mcp_with(base, none).initialize()
    tap.ok(refused_401(r), "%s: alg none is refused (401) even before any key is known" % fe,
           r.describe())


def surface(tap, fe, base, issuer):
    """Metadata, challenges, the authorization server endpoints that are not here."""
    r = mcptest.request("GET", base + "/.well-known/oauth-protected-resource")
    j = r.json or {}
    tap.ok(r.status == 200 and j.get("authorization_servers") == [issuer] and
           j.get("scopes_supported") == ["mcp.read", "mcp.write"] and
           j.get("resource") == base + "/mcp",
           "%s: protected resource metadata name the external issuer and its scopes" % fe,
           r.describe())
    for path in ("/authorize?response_type=code", "/token", "/register",
                 "/.well-known/oauth-authorization-server"):
        r = mcptest.request("POST" if path in ("/token", "/register") else "GET", base + path,
                            b"" if path in ("/token", "/register") else None)
        tap.ok(r.status == 404 and b"resource server" in r.body,
               "%s: %s answers 404 (a resource server only)" % (fe, path.split("?")[0]),
               r.describe())
    m = mcptest.Mcp(base)
    r = mcptest.request("POST", m.url, mcptest.json_bytes(m.initialize_body()),
                        dict(mcptest.CLIENT_HEADERS))
    wa = www_auth(r)
    tap.ok(r.status == 401 and 'resource_metadata="' in wa and
           'scope="mcp.read mcp.write"' in wa and "error=" not in wa,
           "%s: no token: 401 naming the metadata and the external scopes" % fe, r.describe())
    r = mcp_with(base, "not a token!").initialize()
    tap.ok(refused_401(r), "%s: a malformed token: 401 invalid_token" % fe, r.describe())


def jwt_calls(tap, st, fe, base, pv):
    """A JWT access token of the external issuer calls tools."""
    tok, r = pv.token("agent", base + "/mcp", "mcp.read mcp.write")
    if not tap.ok(bool(tok) and tok.count(".") == 2,
                  "%s: the provider issues a JWT access token for base_url/mcp" % fe,
                  r.describe()):
        return None
    r = call_echo(base, tok)
    tap.ok(echoed(r), "%s: tools/call with the JWT access token" % fe, r.describe())
    r = call_echo(base, tok, "again")
    tap.ok(echoed(r, "again"), "%s: ...and again (the verified token is cached)" % fe,
           r.describe())
    return tok


def negatives(tap, fe, base, pv, tok):
    for mode, what in (("none", "alg none"),
                       ("hs256", "HS256 signed with the issuer's public key (key confusion)"),
                       ("tampered", "a tampered payload"),
                       ("expired", "an expired token"),
                       ("iss", "a token of another issuer"),
                       ("typ", "a signed token of another type (typ logout+jwt)")):
        forged = pv.forge(mode, tok)
        r = mcp_with(base, forged).initialize() if forged else None
        tap.ok(r is not None and refused_401(r), "%s: %s: 401 invalid_token" % (fe, what),
               r.describe() if r else "no forged token")
    other, r = pv.token("agent", "http://127.0.0.1:9/other/mcp", "mcp.read mcp.write")
    r = mcp_with(base, other).initialize() if other else r
    tap.ok(bool(other) and refused_401(r) and "another resource" in (
        (r.json or {}).get("error_description") or www_auth(r)),
        "%s: a token for another resource: 401 invalid_token" % fe, r.describe())
    ro, r = pv.token("agent", base + "/mcp", "mcp.read")
    m = mcp_with(base, ro or "")
    m.initialize()
    r = m.tool("echo", {"message": "ro"})
    tap.ok(bool(ro) and echoed(r, "ro"), "%s: a read-only token calls a read-only tool" % fe,
           r.describe())
    r = m.tool("test_update_resource", {"uri": "test://x"})
    wa = www_auth(r)
    tap.ok(r.status == 403 and 'error="insufficient_scope"' in wa and "mcp.write" in wa and
           "mcp:tools" not in wa,
           "%s: ...and a write tool: 403 insufficient_scope naming the external scope" % fe,
           r.describe())


def flood(tap, fes, pv, tok):
    """Made-up kids: each is refused; the key set is fetched again at most once per
    interval in each process (and does at least once: the flood starts after an interval
    has passed)."""
    time.sleep(REFETCH_S + 0.5)
    before = pv.jwks_fetches()
    n, bad = 0, []
    t0 = time.monotonic()
    for i in range(15):
        for fe, base in fes:
            forged = pv.forge("kid", tok)
            r = mcp_with(base, forged).initialize()
            n += 1
            if not refused_401(r):
                bad.append(r.describe())
    took = time.monotonic() - t0
    after = pv.jwks_fetches()
    # every responder process may fetch once per REFETCH_S: bound it by the processes
    procs = sum(len(mcptest.pgrep(st_path)) for st_path in FLOOD_PATHS)
    bound = max(procs, 1) * (int(took / REFETCH_S) + 1)
    tap.ok(not bad, "unknown kid flood: all %d tokens refused with 401" % n, *bad[:2])
    tap.ok(1 <= after - before <= bound and after - before < n,
           "...with %d key set fetches for %d tokens (bound %d: %d processes, %.1f s)"
           % (after - before, n, bound, procs, took))


FLOOD_PATHS = []


def introspected(tap, st, fes, pv):
    for fe, base in fes:
        tok, r = pv.token("agent-opaque", base + "/mcp", "mcp.read mcp.write")
        if not tap.ok(bool(tok) and "." not in tok,
                      "%s: the provider issues an opaque token" % fe, r.describe()):
            continue
        r = call_echo(base, tok, "opaque")
        tap.ok(echoed(r, "opaque"), "%s: tools/call with it, checked by introspection" % fe,
               r.describe())
        r = mcp_with(base, tok + "x").initialize()
        tap.ok(refused_401(r), "%s: an opaque token the issuer does not know: 401" % fe,
               r.describe())


def at_connector(base, token):
    m = mcp_with(base, token)
    m.url = base + "/mcp/reads"
    return m


def connector(tap, fe, base, pv, issuer):
    """A connector's endpoint takes tokens for its own resource only (its tokens are not
    /mcp's, and a token accepted at /mcp is not at the connector: the cache knows where)."""
    r = mcptest.request("GET", base + "/.well-known/oauth-protected-resource/mcp/reads")
    j = r.json or {}
    tap.ok(r.status == 200 and j.get("resource") == base + "/mcp/reads" and
           j.get("authorization_servers") == [issuer],
           "%s: a connector's metadata name its resource and the external issuer" % fe,
           r.describe())
    own, r = pv.token("agent", base + "/mcp/reads", "mcp.read")
    main_tok, r2 = pv.token("agent", base + "/mcp", "mcp.read")
    if not tap.ok(bool(own and main_tok), "%s: tokens for the connector and for /mcp" % fe,
                  r.describe(), r2.describe()):
        return
    r = call_echo(base, main_tok, "main")  # accepted (and cached) at /mcp first
    tap.ok(echoed(r, "main"), "%s: the /mcp token works at /mcp" % fe, r.describe())
    r = at_connector(base, main_tok).initialize()
    tap.ok(refused_401(r), "%s: ...and is refused at the connector (another resource)" % fe,
           r.describe())
    r = at_connector(base, own).initialize()
    tap.ok(r.status == 200, "%s: the connector's own token works there" % fe, r.describe())
    r = mcp_with(base, own).initialize()
    tap.ok(refused_401(r), "%s: ...and is refused at /mcp" % fe, r.describe())


def tool_names(base, token):
    m = mcp_with(base, token)
    m.initialize()
    r = m.call("tools/list", {})
    return {t["name"] for t in ((r.json or {}).get("result") or {}).get("tools", [])}, r


def group_policy(tap, st, fe_base, tok):
    """The group from the token's claim carries a policy."""
    fe, base = fe_base
    before, r0 = tool_names(base, tok or "")
    r = admin(st, "policy", "deny", "--group", "staff", "test_slow", frontend=fe, timeout=60)

    def attempt():
        names, resp = tool_names(base, tok or "")
        return "test_slow" not in names, (names, resp)

    _, (after, r1), _, _ = mcptest.retry_until(attempt, 10)
    tap.ok(r.returncode == 0 and "test_slow" in before and "test_slow" not in after and
           "echo" in after,
           "%s: a policy for the group of the token's claim applies (test_slow denied to staff)"
           % fe, r.stdout, r.stderr, r1.describe())


def doctor(st, *args):
    r = admin(st, "doctor", *args, "--json", timeout=60)
    try:
        return r, {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    except (ValueError, KeyError):
        return r, {}


def doctor_up(tap, st, base, issuer):
    r, c = doctor(st, "--idp")
    get = lambda n: c.get(n, {})  # noqa: E731
    tap.ok(r.returncode == 0 and get("rs-issuer").get("status") == "PASS" and
           "introspection at %s/" % issuer in get("rs-issuer").get("seen", "") and
           get("rs-keys").get("status") == "PASS" and
           "1 signing key" in get("rs-keys").get("seen", "") and
           get("rs-audience").get("status") == "PASS",
           "doctor --idp: the issuer's metadata, its key set and the audience pass",
           r.stdout[-1500:], r.stderr)
    r, c = doctor(st, "--url", base + "/mcp")
    tap.ok(get("wellknown-resource").get("status") == "PASS" and
           get("wellknown-as").get("status") == "SKIP" and
           get("rs-issuer").get("status") == "PASS" and get("rs-keys").get("status") == "PASS",
           "doctor --url: the resource metadata, then the issuer they name and its keys; "
           "no authorization server metadata of mcpgate expected", r.stdout[-1500:], r.stderr)


def held_disabled(tap, st, fe, base, tok):
    """A held call whose person is disabled while it waits stops at its next turn."""
    before = last_audit_id(st)
    c, s, req = held_call(base, tok, "rs-held")
    r = admin(st, "user", "disable", "agent@corp")
    status, final = finish(c, s, base, None, "rs-held", "")
    back = admin(st, "user", "enable", "agent@corp")
    err = (final or {}).get("error") or {}
    rows = audit(st, before)
    tap.ok(req is not None and r.returncode == 0 and back.returncode == 0 and
           err.get("code") == -32000 and rows == [("refused", DETAIL)],
           "%s: a call held with a JWT whose person is disabled while it waits ends at "
           "request_timeout_s with the -32000 error, audited refused, the tool not run again"
           % fe, r.stderr, "final: %r" % final, "rows: %r" % rows)


def person(tap, st, fe, base):
    """What an MCP client that never saw mcpgate's own authorization server does: from the
    401 to the resource metadata, to the issuer they name, dynamic registration there, the
    person's sign-in (authorization code, PKCE, resource = base_url/mcp), then tool calls as
    that person, provisioned as (rs_name, sub) with the groups of her token."""
    m = mcptest.Mcp(base)
    r = mcptest.request("POST", m.url, mcptest.json_bytes(m.initialize_body()),
                        dict(mcptest.CLIENT_HEADERS))
    prm_url = re.search(r'resource_metadata="([^"]+)"', www_auth(r))
    prm = mcptest.request("GET", prm_url.group(1)).json if prm_url else {}
    issuer = ((prm or {}).get("authorization_servers") or [""])[0]
    meta = mcptest.request("GET", issuer + "/.well-known/openid-configuration").json or {}
    redirect = "http://127.0.0.1:9/callback"
    reg = mcptest.request("POST", meta.get("registration_endpoint", issuer + "/reg"),
                          mcptest.json_bytes({
                              "redirect_uris": [redirect], "client_name": "an MCP client",
                              "grant_types": ["authorization_code"], "response_types": ["code"],
                              "token_endpoint_auth_method": "none"}),
                          {"Content-Type": "application/json"})
    client_id = (reg.json or {}).get("client_id")
    if not tap.ok(r.status == 401 and prm_url and issuer and client_id,
                  "%s: a client finds the issuer from mcpgate's 401 and registers there" % fe,
                  r.describe(), reg.describe()):
        return
    verifier, challenge = pkce()
    url = meta["authorization_endpoint"] + "?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect,
        "scope": "openid mcp.read mcp.write", "resource": prm["resource"], "state": "s1",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    cb, r = provider_login(tap, Browser(), url, "a-1001")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(cb or "").query).get("code", [""])[0]
    t = mcptest.request("POST", meta["token_endpoint"], urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "code_verifier": verifier, "client_id": client_id,
        "resource": prm["resource"]}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"})
    tok = (t.json or {}).get("access_token") or ""
    if not tap.ok(tok.count(".") == 2, "%s: alice signs in at the issuer and gets a JWT access "
                  "token for %s" % (fe, prm.get("resource")), r.describe(), t.describe()):
        return
    r = call_echo(base, tok, "alice")
    tap.ok(echoed(r, "alice"), "%s: ...and calls tools with it" % fe, r.describe())
    _, rows = st.psql("SELECT u.username || ':' || u.idp || ':' || u.subject || ':' || "
                      "(SELECT string_agg(g.name, ',') FROM group_members m JOIN user_groups g "
                      "ON g.id = m.group_id WHERE m.user_id = u.id) FROM users u "
                      "WHERE u.subject = 'a-1001'")
    tap.ok(rows.strip() == "alice@corp:corp:a-1001:staff",
           "alice is provisioned as (rs_name, sub) with the groups of her token", rows)


def introspection_secret_file():
    """(a new directory, the file in it holding mcpgate's introspection client secret),
    both readable by the web servers' users."""
    work = tempfile.mkdtemp(prefix="mcpgate-rs-")
    secret_file = os.path.join(work, "introspect.secret")
    with open(secret_file, "w") as f:
        f.write(INTROSPECT_SECRET + "\n")
    os.chmod(work, 0o755)
    os.chmod(secret_file, 0o644)
    return work, secret_file


def main():
    tap = Tap()
    d = npmci.idp(tap)
    if not d:
        return tap.done()
    work, secret_file = introspection_secret_file()
    port = free_port()
    issuer = "http://127.0.0.1:%d" % port
    config = "\n".join([
        "rs_issuer = " + issuer, "rs_name = corp", "idp_allow_private = yes",
        "rs_scopes_read = mcp.read", "rs_scopes_write = mcp.write",
        "rs_jwks_refetch_s = %d" % REFETCH_S, "rs_validation = auto",
        "rs_introspection_client_id = mcpgate",
        "rs_introspection_client_secret_file = " + secret_file,
        "connector = reads access=read", "request_timeout_s = %d" % TIMEOUT_S])
    pv = None
    try:
        with Stack(tap, servers="lighttpd fcgid proxy", responder=mcptest.test_responder(),
                   config_extra=config, auth="resource") as st:
            fes = st.front_ends()
            FLOOD_PATHS.extend({st.responder_path(fe) for fe, _ in fes})
            provider_down(tap, fes, issuer)
            r, c = doctor(st, "--idp")
            tap.ok(r.returncode == 1 and c.get("rs-issuer", {}).get("status") == "FAIL" and
                   c.get("rs-issuer", {}).get("fix", {}).get("any"),
                   "doctor --idp: an issuer that does not answer fails, with a fix",
                   r.stdout[-1500:], r.stderr)
            time.sleep(REFETCH_S)  # the failure is remembered this long
            pv = Provider(tap, d, port, "k1", CLIENTS)
            tokens = {}
            for fe, base in fes:
                surface(tap, fe, base, issuer)
                tokens[fe] = jwt_calls(tap, st, fe, base, pv)
            connector(tap, fes[0][0], fes[0][1], pv, issuer)
            doctor_up(tap, st, fes[0][1], issuer)
            _, rows = st.psql("SELECT username || ':' || idp || ':' || subject FROM users")
            tap.ok(rows.split() == ["agent@corp:corp:agent"],
                   "the token's subject is one user keyed by (rs_name, sub)", rows)
            _, rows = st.psql("SELECT g.name FROM group_members m JOIN user_groups g ON "
                              "g.id = m.group_id JOIN users u ON u.id = m.user_id "
                              "WHERE u.username = 'agent@corp'")
            tap.ok(rows.split() == ["staff"], "the groups claim made the membership", rows)
            group_policy(tap, st, fes[0], tokens.get(fes[0][0]))
            _, rows = st.psql("SELECT DISTINCT u.username || ':' || a.client_id FROM audit_log "
                              "a JOIN users u ON u.id = a.user_id WHERE a.tool = 'echo'")
            tap.ok(rows.split() == ["agent@corp:agent"],
                   "audit rows name the provisioned user and the client", rows)
            if tokens.get(fes[0][0]):
                held_disabled(tap, st, fes[0][0], fes[0][1], tokens[fes[0][0]])
            for fe, base in fes:
                person(tap, st, fe, base)
            fe0, base0 = fes[0]
            tok = tokens.get(fe0)
            if tok:
                negatives(tap, fe0, base0, pv, tok)
                flood(tap, fes, pv, tok)
            introspected(tap, st, fes, pv)
            # key rotation: the provider comes back with another key
            pv.stop()
            time.sleep(REFETCH_S + 1)  # past every process's last key fetch (the flood's)
            pv = Provider(tap, d, port, "k2", CLIENTS)
            for fe, base in fes:
                tok2, r = pv.token("agent", base + "/mcp", "mcp.read mcp.write")
                r = call_echo(base, tok2 or "", "rotated")
                tap.ok(echoed(r, "rotated"),
                       "%s: after key rotation a token signed with the new key works" % fe,
                       r.describe())
            mcptest.check_logs(tap, st)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if pv:
            pv.stop()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
