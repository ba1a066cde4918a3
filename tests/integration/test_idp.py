#!/usr/bin/env python3
"""test_idp.py - sign-in at upstream OpenID providers through lighttpd, Apache mod_fcgid
and Apache mod_proxy_fcgi, against two real providers (the npm package oidc-provider,
tests/idp/provider.mjs): "alpha" with mcpgate as a public client (PKCE only) and "beta"
with mcpgate as a confidential client (client_secret_basic).

The ChatGPT-style flow: registration at mcpgate, /authorize, the sign-in page offering
the providers, the provider's login, the callback, mcpgate's consent, the code, the token
and an MCP tool call whose audit row names the provisioned user. Alice and Bob become
two mcpgate users keyed by (provider, subject), shown by `mcpgate user list`. Negative:
ID tokens with the wrong iss, aud or nonce, expired, unsigned (alg none), HMAC-signed
with the provider's public key (key confusion) or with another token's signature; a
callback in another browser (foreign state), a replayed callback, a mix-up between the
two providers (iss), a provider that is down, a password sign-in while local users are
off: each refused with a clear page, no browser session and no user created. TAP
output."""

import http.server
import json
import os
import threading
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
from oauthlib import OAuth, Browser, pkce, hidden_fields, mcp_with  # noqa: E402

SECRET = "beta-client-secret-for-tests"


class Provider:
    """One oidc-provider process."""

    def __init__(self, tap, d, port, clients):
        self.port = port
        self.issuer = "http://127.0.0.1:%d" % port
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["node", os.path.join(d, "provider.mjs"),
             json.dumps({"port": port, "clients": clients})],
            cwd=d, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL,
            start_new_session=True)
        line = self.proc.stdout.readline().decode()
        tap.ok(line.startswith("listening"), "provider on port %d started" % port, line,
               self.stderr())

    def stderr(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def refuse(self, on):
        r = mcptest.request("GET", self.issuer + "/__test/refuse?on=" + ("1" if on else "0"))
        return r.status == 200

    def tamper(self, mode):
        r = mcptest.request("GET", self.issuer + "/__test/tamper?mode=" + mode)
        return r.status == 200

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


def location(r, base):
    return urllib.parse.urljoin(base + "/", r.header("Location") or "")


def provider_login(tap, pv, url, login):
    """Drives the provider from its authorization URL through its login form to the
    redirect back. Returns the callback URL (or None), and the last response."""
    r = None
    for _ in range(12):
        r = pv.get(url)
        if r.status in (302, 303):
            nxt = urllib.parse.urljoin(url, r.header("Location"))
            if not nxt.startswith("http://127.0.0.1:%s" % urllib.parse.urlsplit(url).port):
                return nxt, r
            url = nxt
            continue
        if r.status == 200 and b'name="prompt"' in r.body:
            fields = hidden_fields(r.body)
            fields.update({"login": login, "password": "any"})
            action = re.search(rb'action="([^"]+)"', r.body).group(1).decode()
            r = pv.post(urllib.parse.urljoin(url, action), fields)
            if r.status in (302, 303):
                url = urllib.parse.urljoin(url, r.header("Location"))
                continue
        return None, r
    return None, r


def start_sign_in(o, mg, provider_name, params):
    """GET /authorize without a session, then the provider's link on the sign-in page.
    Returns (the provider's authorization URL or None, the sign-in page response, the
    start response)."""
    r = mg.get(o.authorize_url(params))
    if r.status != 303:
        return None, r, r
    page = mg.get(location(r, o.base))
    m = re.search(rb'id="idp-%s" href="([^"]+)"' % provider_name.encode(), page.body)
    if not m:
        return None, page, page
    href = m.group(1).decode().replace("&amp;", "&")
    start = mg.get(urllib.parse.urljoin(o.base + "/", href))
    if start.status != 303:
        return None, page, start
    return start.header("Location"), page, start


def sign_in(tap, o, mg, provider_name, login, params):
    """The whole sign-in up to mcpgate's answer to the callback. Returns (callback
    response, callback URL, problems)."""
    authz, page, start = start_sign_in(o, mg, provider_name, params)
    return finish_sign_in(mg, authz, start, login)


def finish_sign_in(mg, authz, start, login):
    """From the provider's authorization URL authz (None: start, mcpgate's last answer,
    did not lead there) through its login to mcpgate's answer to the callback in the
    browser mg. Returns (that answer, the callback URL, problems)."""
    if not authz:
        return start, None, ["sign-in did not reach the provider: %s" % start.describe()]
    cb, r = provider_login(None, Browser(), authz, login)
    if not cb:
        return r, None, ["the provider did not send the browser back: %s" % r.describe()]
    return mg.get(cb), cb, []


def chatgpt_flow(tap, st, fe, o, provider_name, login, username):
    """Registration, sign-in at the provider, consent, code, token, tool call."""
    client = o.register_public(name="ChatGPT")
    if not tap.ok(bool(client), "%s: dynamic registration" % fe):
        return None
    verifier, challenge = pkce()
    params = o.auth_params(client["client_id"], challenge)
    mg = Browser()
    authz, page, start = start_sign_in(o, mg, provider_name, params)
    tap.check("%s: the sign-in page offers both providers and no password form" % fe,
              [] if b'id="idp-alpha"' in page.body and b'id="idp-beta"' in page.body and
              b'name="password"' not in page.body else ["bad page"], page)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(authz or "").query)
    want = {"response_type": "code", "code_challenge_method": "S256",
            "redirect_uri": o.base + "/login/callback"}
    tap.check("%s: %s: the browser goes to the provider with code, PKCE S256, state, nonce"
              % (fe, provider_name),
              [] if authz and all(q.get(k, [""])[0] == v for k, v in want.items()) and
              len(q.get("state", [""])[0]) == 43 and len(q.get("nonce", [""])[0]) == 43 and
              len(q.get("code_challenge", [""])[0]) == 43 and "openid" in
              q.get("scope", [""])[0].split() else ["bad redirect"], start)
    cb, r = provider_login(tap, Browser(), authz, login) if authz else (None, start)
    if not tap.ok(bool(cb) and "iss=" in cb, "%s: %s signs in %s and sends the browser back "
                  "with code, state and iss" % (fe, provider_name, login), r.describe()):
        return None
    r = mg.get(cb)
    back = location(r, o.base)
    if not tap.ok(r.status == 303 and "/authorize?" in back and "mcpgate_session" in mg.cookies,
                  "%s: the callback signs the browser in and returns to /authorize" % fe,
                  r.describe()):
        return None
    r = mg.get(back)
    tap.ok(r.status == 200 and b"Allow access" in r.body and username.encode() in r.body,
           "%s: mcpgate's consent page names the application and the user %s" % (fe, username),
           r.describe())
    r = o.consent(mg, r)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location") or "").query)
    code = code.get("code", [None])[0]
    t = o.code_grant(client["client_id"], code or "x", verifier)
    if not tap.ok(t.status == 200 and (t.json or {}).get("access_token"),
                  "%s: code exchanged for mcpgate's own token" % fe, t.describe()):
        return None
    m = mcp_with(o.base, t.json["access_token"])
    mcptest.expect_result(m.initialize(), None)
    r = m.tool("test_whoami", {})
    tap.ok(r.status == 200 and mcptest.tool_text(r), "%s: MCP tool call with the token" % fe,
           r.describe())
    a = admin(st, "audit", "query", "--user", username, "--tool", "test_whoami", "--json",
              frontend=fe, timeout=60)
    rows = json.loads(a.stdout) if a.returncode == 0 and a.stdout.strip() else []
    tap.ok(len(rows) >= 1 and all(x.get("user") == username for x in rows),
           "%s: the call's audit row names the provisioned user %s" % (fe, username),
           a.stdout, a.stderr)
    return t.json


def refused(tap, desc, r, text):
    """A callback refused with a page saying text, and no browser session."""
    cookies = " ".join(r.header_all("Set-Cookie"))
    tap.check(desc,
              [] if 400 <= r.status < 500 and text.encode() in r.body and
              "mcpgate_session=" not in cookies and
              (r.header("Content-Type") or "").startswith("text/html") else ["not refused"], r)


def negatives(tap, st, fe, o, alpha, beta):
    client = o.register_public(name="negative")
    _, challenge = pkce()
    params = o.auth_params(client["client_id"], challenge)
    cases = [("iss", "token issuer not accepted"), ("aud", "token audience not accepted"),
             ("nonce", "token nonce does not match"), ("expired", "token expired"),
             ("none", "token algorithm not accepted"),
             ("hs256", "token algorithm not accepted"),
             ("signature", "token signature does not verify"),
             ("kid", "token signed with an unknown key")]
    for mode, text in cases:
        if not tap.ok(alpha.tamper(mode), "provider forges %s ID tokens now" % mode):
            continue
        r, _, problems = sign_in(tap, o, Browser(), "alpha", "a-1001", params)
        if problems:
            tap.ok(False, "%s: ID token (%s) refused" % (fe, mode), *problems)
            continue
        refused(tap, "%s: ID token with %s refused: \"%s\", no session" % (fe, mode, text), r,
                text)
    alpha.tamper("")
    u = admin(st, "user", "list", "--json", frontend=fe, timeout=60)
    tap.ok(u.returncode == 0 and json.loads(u.stdout or "[]") == [],
           "%s: no user was provisioned by any refused ID token" % fe, u.stdout, u.stderr)

    # foreign state: the provider's answer delivered to another browser
    mine = Browser()
    authz, _, _ = start_sign_in(o, mine, "alpha", params)
    cb, r = provider_login(tap, Browser(), authz, "a-1001") if authz else (None, None)
    if tap.ok(bool(cb), "%s: sign-in for the foreign-state case reaches the callback" % fe):
        r = Browser().get(cb)
        refused(tap, "%s: callback in another browser (foreign state) refused" % fe, r,
                "did not start in this browser")
        r = mine.get(cb)
        tap.ok(r.status == 303 and "mcpgate_session" in mine.cookies,
               "%s: the foreign delivery consumed nothing: the right browser signs in" % fe,
               r.describe())
        again = Browser()
        again.cookies["mcpgate_idp"] = urllib.parse.parse_qs(
            urllib.parse.urlsplit(cb).query)["state"][0]
        refused(tap, "%s: the same callback again (replay) refused" % fe, again.get(cb),
                "expired or was used already")

    # mix-up: the sign-in went to alpha, the answer comes from beta with alpha's state
    mg = Browser()
    authz, _, _ = start_sign_in(o, mg, "alpha", params)
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(authz or "").query).get("state",
                                                                                 [""])[0]
    _, ch = pkce()
    beta_url = beta.issuer + "/auth?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": "mcpgate-b", "scope": "openid",
        "redirect_uri": o.base + "/login/callback", "state": state, "nonce": "n" * 43,
        "code_challenge": ch, "code_challenge_method": "S256"})
    cb, r = provider_login(tap, Browser(), beta_url, "b-2002")
    if tap.ok(bool(cb) and "iss=" in cb, "%s: beta answers with alpha's state" % fe,
              r.describe() if r else "-"):
        refused(tap, "%s: mix-up (answer from beta for a sign-in at alpha) refused" % fe,
                mg.get(cb), "another identity provider")

    # a provider that does not answer
    mg = Browser()
    r = mg.get(o.url("/login/idp?provider=down&return_to=/account"))
    _, rows = st.psql("SELECT count(*) FROM idp_logins WHERE idp = 'down'")
    tap.ok(r.status == 502 and b"cannot be reached" in r.body and rows == "0" and
           "mcpgate_idp" not in mg.cookies,
           "%s: a provider that is down: a clear 502 page, no sign-in started" % fe,
           r.describe(), rows)
    r = mg.get(o.url("/login/idp?provider=nosuch"))
    tap.ok(r.status == 400 and b"no such identity provider" in r.body,
           "%s: an unknown provider name: 400 page" % fe, r.describe())

    # password sign-in is off
    mg = Browser()
    page = mg.get(o.url("/login?return_to=/account"))
    fields = hidden_fields(page.body)
    fields.update({"username": "alice@alpha", "password": "x"})
    r = mg.post(o.url("/login"), fields)
    tap.ok(r.status == 403 and b"turned off" in r.body,
           "%s: local_users = no: a password sign-in is refused" % fe, r.describe())


def tool_names(base, token):
    m = mcp_with(base, token["access_token"])
    mcptest.expect_result(m.initialize(), None)
    r = m.call("tools/list", {})
    return {t["name"] for t in ((r.json or {}).get("result") or {}).get("tools", [])}, r


def groups_policy(tap, st, fe, base, alice, bob):
    """The groups claim: alice is in staff (her invalid group name skipped), bob in
    contractors, and the policy of contractors applies to bob only."""
    _, rows = st.psql("SELECT u.username || ':' || g.name FROM group_members m JOIN users u ON "
                   "u.id = m.user_id JOIN user_groups g ON g.id = m.group_id ORDER BY 1")
    tap.ok(rows.split() == ["alice@alpha:staff", "bob@beta:contractors"],
           "the groups claim made the memberships (an invalid group name skipped)", rows)
    r = admin(st, "policy", "deny", "--group", "contractors", "test_slow", frontend=fe,
              timeout=60)
    tap.ok(r.returncode == 0, "policy: the group contractors (from the claim) may not use "
           "test_slow", r.stdout, r.stderr)
    if not (alice and bob):
        tap.ok(False, "%s: both users have tokens for the policy check" % fe)
        return
    a, ra = tool_names(base, alice)
    b, rb = tool_names(base, bob)
    tap.ok("test_slow" in a and "test_whoami" in a and "test_slow" not in b and
           "test_whoami" in b,
           "%s: the group policy applies: bob (contractors) has no test_slow, alice has" % fe,
           ra.describe(), rb.describe())


PROJECTS = {"a-1001": ["alice-blog", "alice-shop"], "b-2002": ["bob-wiki"]}


class Api(http.server.BaseHTTPRequestHandler):
    """The provider's own API: accepts only the provider's access tokens (checked at its
    userinfo endpoint) and lists the projects of the token's subject."""
    userinfo = {}  # issuer -> userinfo URL

    def log_message(self, *args):
        pass

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        issuer = "http://127.0.0.1:%s" % self.path.split("/")[2] if \
            self.path.startswith("/p/") else ""
        r = mcptest.request("GET", issuer + "/me", None, {"Authorization": auth}) \
            if issuer and auth.startswith("Bearer ") else None
        sub = (r.json or {}).get("sub") if r is not None and r.status == 200 else None
        body = json.dumps({"projects": PROJECTS.get(sub, [])} if sub else
                          {"error": "invalid_token"}).encode()
        self.send_response(200 if sub else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def write_backend(d, api_port, pa, pb):
    """A REST backend per provider whose calls carry the user's provider token."""
    for name, idp, port in (("hosting", "alpha", pa), ("other", "beta", pb)):
        doc = {"mcpgate_backend": 1, "name": name,
               "base_url": "http://127.0.0.1:%d/p/%d" % (api_port, port),
               "allow_private": True, "timeout_ms": 5000,
               "credentials": {"me": {"type": "bearer", "from_idp": idp}},
               "auth": ["me"],
               "tools": [{"name": "list_projects", "method": "GET", "path": "/projects"}]}
        with open(os.path.join(d, name + ".json"), "w") as f:
            json.dump(doc, f)
        os.chmod(os.path.join(d, name + ".json"), 0o644)


def call_projects(base, token, tool):
    m = mcp_with(base, token["access_token"])
    r = m.initialize()
    if r.status != 200:
        return None, r
    r = m.tool(tool, {})
    res = ((r.json or {}).get("result") or {})
    return res, r


def provider_tokens(tap, st, fes, tokens, bob, alpha, beta):
    """The provider's tokens behind the tools: each user's calls carry their own provider
    token; an expired one is refreshed exactly once for concurrent calls in several
    processes; a refresh the provider refuses ends with a link to sign in again."""
    fe0, base0 = fes[0]
    alice = tokens.get(fe0)
    if not (alice and bob):
        tap.ok(False, "tokens for the provider-token checks")
        return
    _, rows = st.psql("SELECT count(*) FROM idp_tokens WHERE access_sealed LIKE 'v1:%' AND "
                      "refresh_sealed LIKE 'v1:%'")
    tap.ok(rows == "2", "the provider's access and refresh tokens are kept sealed for both "
           "users", rows)
    res, r = call_projects(base0, alice, "hosting_list_projects")
    text = mcptest.tool_text(r) or ""
    tap.ok(res is not None and not res.get("isError") and "alice-blog" in text and
           "bob-wiki" not in text,
           "%s: alice's call carries her provider token: her projects only" % fe0, r.describe())
    res, r = call_projects(base0, bob, "other_list_projects")
    text = mcptest.tool_text(r) or ""
    tap.ok(res is not None and not res.get("isError") and "bob-wiki" in text and
           "alice" not in text,
           "%s: bob's call carries his provider token: his projects only" % fe0, r.describe())

    # expire alice's provider token: concurrent calls through all front ends refresh once
    before = mcptest.request("GET", alpha.issuer + "/__test/refreshes").json["refreshes"]
    ok, _ = st.psql("UPDATE idp_tokens SET expires_at = now() WHERE user_id = (SELECT id "
                    "FROM users WHERE username = 'alice@alpha')")
    results = []

    def one(base, tok):
        res, r = call_projects(base, tok, "hosting_list_projects")
        results.append((res, r))
    threads = [threading.Thread(target=one, args=(base, tokens[fe]))
               for fe, base in fes if tokens.get(fe) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    after = mcptest.request("GET", alpha.issuer + "/__test/refreshes").json["refreshes"]
    good = [1 for res, r in results if res is not None and not res.get("isError") and
            "alice-blog" in (mcptest.tool_text(r) or "")]
    tap.ok(ok and len(threads) >= 6 and len(good) == len(threads),
           "%d concurrent calls across the front ends after the token expired all succeed"
           % len(threads), *[r.describe() for res, r in results if not res or
                             res.get("isError")][:2])
    _, n = st.psql("SELECT refreshes FROM idp_tokens WHERE user_id = (SELECT id FROM users "
                   "WHERE username = 'alice@alpha')")
    tap.ok(after - before == 1 and n == "1",
           "...with exactly one refresh at the provider (counted there: %d; stored: %s)"
           % (after - before, n))

    # the provider ends bob's sign-in: the next call says to sign in again
    beta.refuse(True)
    st.psql("UPDATE idp_tokens SET expires_at = now() WHERE user_id = (SELECT id FROM users "
            "WHERE username = 'bob@beta')")
    res, r = call_projects(base0, bob, "other_list_projects")
    text = mcptest.tool_text(r) or ""
    _, n = st.psql("SELECT count(*) FROM idp_tokens WHERE user_id = (SELECT id FROM users "
                   "WHERE username = 'bob@beta')")
    tap.ok(res is not None and res.get("isError") and "sign in again" in text and
           "/login/idp?provider=beta" in text and n == "0",
           "%s: a refresh the provider refuses: the tool says to sign in again, with the "
           "link, and the tokens are forgotten" % fe0, r.describe(), n)
    m = mcp_with(base0, bob["access_token"])
    r = m.initialize()
    _, ws = st.psql("SELECT count(*) FROM web_sessions WHERE user_id = (SELECT id FROM users "
                    "WHERE username = 'bob@beta')")
    tap.ok(r.status == 401 and ws == "0",
           "%s: ...and mcpgate's own token and browser session of that sign-in stop working"
           % fe0, r.describe(), ws)
    res, r = call_projects(base0, alice, "hosting_list_projects")
    tap.ok(res is not None and not res.get("isError") and "alice-blog" in
           (mcptest.tool_text(r) or ""), "%s: alice is not affected" % fe0, r.describe())
    beta.refuse(False)


def one_provider(tap, port):
    """With one provider and no local users, /authorize goes straight to the provider."""
    config = "\n".join(["idp = solo issuer=http://127.0.0.1:%d client_id=mcpgate-a" % port,
                        "idp_allow_private = yes", "local_users = no"])
    with Stack(tap, servers="lighttpd", responder=mcptest.test_responder(),
               config_extra=config, auth="oauth") as st:
        (fe, base), = st.front_ends()
        o = OAuth(base)
        client = o.register_public()
        _, challenge = pkce()
        params = o.auth_params(client["client_id"], challenge)
        mg = Browser()
        r = mg.get(o.authorize_url(params))
        loc = r.header("Location") or ""
        tap.ok(r.status == 303 and loc.startswith("/login/idp?provider=solo&return_to=%2F"
                                                  "authorize%3F"),
               "%s: one provider, no local users: /authorize goes straight to it" % fe,
               r.describe())
        r = mg.get(location(r, base))
        tap.ok(r.status == 303 and (r.header("Location") or "").startswith(
            "http://127.0.0.1:%d/auth?" % port),
            "%s: ... and on to the provider's authorization endpoint" % fe, r.describe())


def main():
    tap = Tap()
    d = npmci.idp(tap)
    if not d:
        return tap.done()
    work = tempfile.mkdtemp(prefix="mcpgate-idp-")
    secret_file = os.path.join(work, "beta.secret")
    with open(secret_file, "w") as f:
        f.write(SECRET + "\n")
    # the responders run as the web server's user (a test secret, nothing else is here)
    os.chmod(work, 0o755)
    os.chmod(secret_file, 0o644)
    pa, pb, pdown = free_port(), free_port(), free_port()
    config = "\n".join([
        "idp = down issuer=http://127.0.0.1:%d client_id=nobody" % pdown,
        "idp = alpha issuer=http://127.0.0.1:%d client_id=mcpgate-a" % pa,
        "idp = beta issuer=http://127.0.0.1:%d client_id=mcpgate-b client_secret_file=%s "
        "scopes=openid,email,profile" % (pb, secret_file),
        "idp_allow_private = yes", "local_users = no", "register_per_hour = 100",
        "backends_dir = %s" % work, "credential_key = k1:" + os.urandom(32).hex()])
    api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api.daemon_threads = True
    threading.Thread(target=api.serve_forever, daemon=True).start()
    write_backend(work, api.server_address[1], pa, pb)
    alpha = beta = None
    try:
        with Stack(tap, servers="lighttpd fcgid proxy", responder=mcptest.test_responder(),
                   config_extra=config, auth="oauth") as st:
            fes = st.front_ends()
            callbacks = [base + "/login/callback" for _, base in fes]
            alpha = Provider(tap, d, pa, [{
                "client_id": "mcpgate-a", "token_endpoint_auth_method": "none",
                "redirect_uris": callbacks, "grant_types": ["authorization_code",
                                                            "refresh_token"]}])
            beta = Provider(tap, d, pb, [{
                "client_id": "mcpgate-b", "client_secret": SECRET,
                "token_endpoint_auth_method": "client_secret_basic",
                "redirect_uris": callbacks, "grant_types": ["authorization_code",
                                                            "refresh_token"]}])
            fe0, base0 = fes[0]
            negatives(tap, st, fe0, OAuth(base0), alpha, beta)
            tokens = {}
            for fe, base in fes:
                tokens[fe] = chatgpt_flow(tap, st, fe, OAuth(base), "alpha", "a-1001",
                                          "alice@alpha")
            bob = chatgpt_flow(tap, st, fe0, OAuth(base0), "beta", "b-2002", "bob@beta")
            groups_policy(tap, st, fe0, base0, tokens.get(fe0), bob)
            provider_tokens(tap, st, fes, tokens, bob, alpha, beta)
            u = admin(st, "user", "list", "--json", frontend=fe0, timeout=60)
            users = {x["username"]: x for x in json.loads(u.stdout or "[]")} \
                if u.returncode == 0 else {}
            tap.ok(set(users) == {"alice@alpha", "bob@beta"} and
                   users["alice@alpha"].get("idp") == "alpha" and
                   users["alice@alpha"].get("subject") == "a-1001" and
                   users["alice@alpha"].get("email") == "alice@example.org" and
                   users["bob@beta"].get("idp") == "beta" and
                   users["bob@beta"].get("subject") == "b-2002",
                   "user list: alice once (three sign-ins) and bob, each with provider and "
                   "subject", u.stdout, u.stderr)
            u = admin(st, "user", "list", frontend=fe0, timeout=60)
            tap.ok(u.returncode == 0 and re.search(r"alice@alpha\s+active\s+\S+\s+alpha\s+a-1001",
                                                   u.stdout),
                   "mcpgate user list shows provider and subject", u.stdout, u.stderr)
            mcptest.check_logs(tap, st)
        one_provider(tap, pa)
    finally:
        api.shutdown()
        shutil.rmtree(work, ignore_errors=True)
        for p in (alpha, beta):
            if p:
                p.stop()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
