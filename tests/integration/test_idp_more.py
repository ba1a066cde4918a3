#!/usr/bin/env python3
"""test_idp_more.py - more ways to sign in at an upstream provider, through lighttpd on a
private PostgreSQL, against a real OpenID provider (oidc-provider, tests/idp/provider.mjs)
that also plays a plain OAuth 2.0 service:

- groups_allowed: only members of the listed groups sign in; another gets a clear page
  and nothing is made (no user, no browser session, no provider tokens kept);
- identity from the userinfo endpoint (userinfo_endpoint=) instead of the ID token;
- plain OAuth 2.0: explicit authorization and token endpoints, no openid scope and no
  nonce, identity from a "who am I" API URL and the JSON member of the subject
  (whoami_url= subject_field=account.id); an answer without that member is refused;
- a backend that answers 401 to the user's provider token (a from_idp slot): the token is
  refreshed once and the call made again; a second 401 ends with the message to sign in
  again, after exactly one more refresh; when the provider refuses that refresh, the
  user's mcpgate token stops working too;
- the account page lists the linked account with Disconnect: CSRF-checked, it revokes
  the refresh and access token at the provider (counted there) and forgets them;
- consent=provider: the provider's consent page (prompt=consent) stands instead of
  mcpgate's: the callback leads straight to the code; a second application of the same
  signed-in user goes to the provider again, and a forged consent mark gets no code;
- URL elicitation (2025-11-25): a call that needs the user's sign-in at a provider, from a
  client that declared URL-mode elicitation, is answered with -32042 pointing at the
  sign-in page; another client gets the link in the tool's error; after the user signs
  in there, the same call succeeds; an unlinked per_user credential points at the account
  page, and after linking there the call succeeds;
- linking an account at an unrelated service (a second oidc-provider, link_only=yes):
  not offered for sign-in; Connect on the account page; a call needing it answers -32042
  with the Connect URL; the link's tokens kept beside the sign-in's; the retried call
  succeeds; concurrent calls after expiry refresh once there; a refused refresh forgets
  only the link;
- `mcpgate doctor --idp`: each provider's discovery (a provider that is down fails), the
  redirect URI to register, and its clock by the Date header (a provider 5 minutes off
  fails).

TAP output."""

import http.server
import json
import os
import threading
import re
import shutil
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
import npmci  # noqa: E402
from mcptest import Stack, Tap, admin, free_port  # noqa: E402
from oauthlib import OAuth, Browser, pkce, mcp_with, hidden_fields  # noqa: E402
from test_idp import Provider, provider_login, start_sign_in, location, refused  # noqa: E402


def user_row(st, username):
    _, row = st.psql("SELECT idp || ' ' || subject || ' ' || coalesce(email, '') FROM users "
                     "WHERE username = '%s'" % username)
    return row


def groups_of(st, username):
    _, rows = st.psql("SELECT g.name FROM group_members m JOIN users u ON u.id = m.user_id "
                      "JOIN user_groups g ON g.id = m.group_id WHERE u.username = '%s' "
                      "ORDER BY 1" % username)
    return rows.split()


def flow(tap, st, o, idp, login, username, what):
    """Registration, sign-in at idp as login, mcpgate's consent, code, token, a tool call.
    Returns (mcpgate's token response or None, the provider's authorization URL, the
    signed-in browser)."""
    client = o.register_public(name="client for " + idp)
    verifier, challenge = pkce()
    params = o.auth_params(client["client_id"], challenge)
    mg = Browser()
    authz, _, start = start_sign_in(o, mg, idp, params)
    cb, r = provider_login(tap, Browser(), authz, login) if authz else (None, start)
    if not tap.ok(bool(cb), "%s: %s signs in at the provider" % (what, login), r.describe()):
        return None, authz, mg
    r = mg.get(cb)
    back = location(r, o.base)
    if not tap.ok(r.status == 303 and "/authorize?" in back and "mcpgate_session" in mg.cookies,
                  "%s: the callback signs the browser in as %s" % (what, username),
                  r.describe()):
        return None, authz, mg
    r = o.consent(mg, mg.get(back))
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location") or "").query)
    t = o.code_grant(client["client_id"], q.get("code", ["x"])[0], verifier)
    m = mcp_with(o.base, (t.json or {}).get("access_token", "x"))
    r = m.initialize()
    r = m.tool("test_whoami", {}) if r.status == 200 else r
    _, n = st.psql("SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.user_id WHERE "
                   "u.username = '%s' AND a.tool = 'test_whoami' AND a.outcome = 'ok'" % username)
    tap.ok(t.status == 200 and r.status == 200 and n == "1",
           "%s: mcpgate's token works; the call's audit row names %s" % (what, username),
           t.describe(), r.describe())
    return t.json, authz, mg


def groups_allowed(tap, st, o):
    """idp staff: groups_allowed=staff. Bob (contractors) is refused, alice (staff) not."""
    client = o.register_public(name="groups")
    _, challenge = pkce()
    params = o.auth_params(client["client_id"], challenge)
    mg = Browser()
    authz, _, start = start_sign_in(o, mg, "staff", params)
    cb, r = provider_login(tap, Browser(), authz, "b-2002") if authz else (None, start)
    if tap.ok(bool(cb), "groups_allowed: bob signs in at the provider", r.describe()):
        r = mg.get(cb)
        refused(tap, "groups_allowed: bob (contractors) is refused with a clear 403 page", r,
                "not in a group allowed to sign in")
        _, n = st.psql("SELECT (SELECT count(*) FROM users WHERE idp = 'staff') || ' ' || "
                       "(SELECT count(*) FROM web_sessions) || ' ' || "
                       "(SELECT count(*) FROM idp_tokens)")
        tap.ok(r.status == 403 and n == "0 0 0" and "mcpgate_session" not in mg.cookies,
               "groups_allowed: ...and nothing is made: no user, no browser session, no "
               "provider tokens", n)
    tok, _, mg = flow(tap, st, o, "staff", "a-1001", "alice@staff", "groups_allowed")
    tap.ok(tok is not None and user_row(st, "alice@staff") == "staff a-1001 alice@example.org",
           "groups_allowed: alice (staff) signs in", user_row(st, "alice@staff"))
    return tok, mg


def linking(tap, st, o, pv2, mg, tok):
    """idp other (link_only=yes, a second oidc-provider: an unrelated service): alice@staff
    links her account there for the tool other_list_projects."""
    if not tap.ok(bool(tok), "link: alice@staff has mcpgate's token"):
        return
    page = Browser().get(o.url("/login?return_to=/account"))
    acct = mg.get(o.url("/account"))
    tap.ok(b'id="idp-other"' not in page.body and b'id="idp-staff"' in page.body and
           b'id="connect-other"' in acct.body,
           "link: a link_only provider is no way to sign in; the account page offers Connect",
           page.describe(), acct.describe())
    m = mcp_with(o.base, tok["access_token"])
    r = m.initialize(params={"protocolVersion": "2025-11-25",
                             "capabilities": {"elicitation": {"url": {}}},
                             "clientInfo": {"name": "elicits", "version": "1"}})
    r = m.tool("other_list_projects", {}) if r.status == 200 else r
    e = (r.json or {}).get("error") or {}
    url = ((e.get("data") or {}).get("elicitations") or [{}])[0].get("url") or ""
    want = o.base + "/login/idp?provider=other&return_to=%2Faccount"
    tap.ok(e.get("code") == -32042 and url == want,
           "link: a call needing the unlinked account: -32042 with the Connect URL", r.describe())
    r = Browser().get(want)
    _, n = st.psql("SELECT count(*) FROM idp_logins WHERE idp = 'other'")
    tap.ok(r.status == 303 and "/login?" in (r.header("Location") or "") and n == "0",
           "link: without a signed-in user the Connect URL asks to sign in first, nothing "
           "started", r.describe(), n)
    start = mg.get(want)
    cb, r = provider_login(tap, Browser(), start.header("Location") or "", "a-1001") \
        if start.status == 303 and (start.header("Location") or "").startswith(pv2.issuer) \
        else (None, start)
    r = mg.get(cb) if cb else r
    _, rows = st.psql("SELECT string_agg(t.idp || ':' || t.linked, ' ' ORDER BY t.idp) FROM "
                      "idp_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = "
                      "'alice@staff'")
    tap.ok(bool(cb) and r.status == 303 and (r.header("Location") or "").endswith("/account")
           and rows == "other:true staff:false",
           "link: alice signs in at the other service; its tokens are kept as her linked "
           "account, beside her sign-in's", r.describe(), rows)
    acct = mg.get(o.url("/account"))
    tap.ok(b'id="linked-other"' in acct.body and b'id="linked-staff"' in acct.body,
           "link: the account page lists both, each with Disconnect", acct.describe())
    r = m.tool("other_list_projects", {})
    text = mcptest.tool_text(r) or ""
    tap.ok(r.status == 200 and "alice-blog" in text and "bob" not in text,
           "link: the retried call succeeds with alice's projects there", r.describe())

    # the linked token expires: concurrent calls refresh it once, at the other service
    before = refreshes(pv2)
    st.psql("UPDATE idp_tokens SET expires_at = now() WHERE idp = 'other'")
    results = []

    def one():
        results.append(call_tool(o.base, tok, "other_list_projects"))
    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    good = [1 for res, r, text in results if res and not res.get("isError") and
            "alice-blog" in text]
    tap.ok(len(good) == 4 and refreshes(pv2) - before == 1,
           "link: 4 concurrent calls after the linked token expired succeed with one refresh "
           "at the other service (%d)" % (refreshes(pv2) - before))

    # the other service refuses the refresh: only the link ends
    pv2.refuse(True)
    st.psql("UPDATE idp_tokens SET expires_at = now() WHERE idp = 'other'")
    res, r, text = call_tool(o.base, tok, "other_list_projects")
    pv2.refuse(False)
    _, rows = st.psql("SELECT string_agg(t.idp, ' ') FROM idp_tokens t JOIN users u ON "
                      "u.id = t.user_id WHERE u.username = 'alice@staff'")
    r2 = mcp_with(o.base, tok["access_token"]).initialize()
    tap.ok(res and res.get("isError") and "connect it again" in text and rows == "staff" and
           r2.status == 200,
           "link: a refresh the other service refuses forgets the link only; mcpgate's token "
           "still works", r.describe(), rows, r2.describe())


def userinfo(tap, st, o, pv):
    """idp ui: the identity from the userinfo endpoint."""
    r0 = mcptest.request("GET", pv.issuer + "/.well-known/openid-configuration")
    tok, authz, mg = flow(tap, st, o, "ui", "b-2002", "bob@ui", "userinfo")
    tap.ok(tok is not None and user_row(st, "bob@ui") == "ui b-2002 bob@example.org" and
           groups_of(st, "bob@ui") == ["contractors"],
           "userinfo: bob is provisioned from the userinfo answer (subject, email, groups)",
           user_row(st, "bob@ui"), groups_of(st, "bob@ui"))
    ui = (r0.json or {}).get("userinfo_endpoint")
    tap.ok(bool(ui) and ui.endswith("/me"), "userinfo: the provider's userinfo endpoint is "
           "the one configured (%s)" % ui)
    return mg, tok


def url_elicitation(tap, st, o, pv, mg, tok):
    """bob@ui has no tokens at ui (disconnected): ui_list_projects needs his sign-in."""
    if not tap.ok(bool(tok), "URL elicitation: bob@ui has mcpgate's token"):
        return
    m = mcp_with(o.base, tok["access_token"])
    caps = {"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {"url": {}}},
            "clientInfo": {"name": "elicits", "version": "1"}}
    r = m.initialize(params=caps)
    r = m.tool("ui_list_projects", {}) if r.status == 200 else r
    e = (r.json or {}).get("error") or {}
    els = (e.get("data") or {}).get("elicitations") or [{}]
    want = o.base + "/login/idp?provider=ui&return_to=%2Faccount"
    _, audit = st.psql("SELECT outcome FROM audit_log WHERE tool = 'ui_list_projects' "
                       "ORDER BY id DESC LIMIT 1")
    tap.ok(e.get("code") == -32042 and els[0].get("mode") == "url" and
           els[0].get("url") == want and len(els[0].get("elicitationId", "")) >= 16 and
           "sign in" in els[0].get("message", "") and audit == "refused",
           "URL elicitation: a client that declared it gets -32042 with the sign-in page",
           r.describe(), audit)
    res, r, text = call_tool(o.base, tok, "ui_list_projects")
    tap.ok(res and res.get("isError") and want in text,
           "URL elicitation: a client without it gets the tool's error with the link",
           r.describe())
    # the user opens the URL (signed in at mcpgate already) and signs in at ui
    start = mg.get(want)
    cb, r = provider_login(tap, Browser(), start.header("Location") or "", "b-2002") \
        if start.status == 303 else (None, start)
    r = mg.get(cb) if cb else r
    tap.ok(bool(cb) and r.status == 303 and (r.header("Location") or "").endswith("/account"),
           "URL elicitation: the user signs in at the provider and comes back to the account "
           "page", r.describe())
    r = m.tool("ui_list_projects", {})
    text = mcptest.tool_text(r) or ""
    tap.ok(r.status == 200 and not ((r.json or {}).get("result") or {}).get("isError") and
           "bob-wiki" in text and "alice" not in text,
           "URL elicitation: the retried call succeeds with bob's projects", r.describe())

    # a per_user slot bob has not linked: the account page is the URL
    r = m.tool("pasted_list_projects", {})
    e = (r.json or {}).get("error") or {}
    els = (e.get("data") or {}).get("elicitations") or [{}]
    tap.ok(e.get("code") == -32042 and els[0].get("url") == o.base + "/account",
           "URL elicitation: an unlinked per_user credential: -32042 with the account page",
           r.describe())
    page = mg.get(els[0].get("url") or o.url("/account"))
    m2 = re.search(rb'<form[^>]*action="[^"]*/account/credentials"[^>]*>.*?</form>', page.body,
                   re.S)
    fields = hidden_fields(m2.group(0) if m2 else b"")
    fields["value"] = Api.PASTED
    r = mg.post(o.url("/account/credentials"), fields)
    r2 = m.tool("pasted_list_projects", {})
    text = mcptest.tool_text(r2) or ""
    tap.ok(r.status == 303 and "bob-wiki" in text,
           "URL elicitation: after linking the value on the account page the call succeeds",
           r.describe(), r2.describe())


def code_of(r):
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location") or "").query)
    return q.get("code", [None])[0]


def provider_consent(tap, st, o, pv):
    """idp pc: consent=provider."""
    client = o.register_public(name="consent at the provider")
    verifier, challenge = pkce()
    params = o.auth_params(client["client_id"], challenge)
    mg = Browser()
    authz, _, start = start_sign_in(o, mg, "pc", params)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(authz or "").query)
    tap.ok(q.get("prompt") == ["consent"],
           "consent=provider: the provider is asked for its consent (prompt=consent)", authz)
    cb, r = provider_login(tap, Browser(), authz, "a-1001") if authz else (None, start)
    if not tap.ok(bool(cb), "consent=provider: alice signs in and consents at the provider",
                  r.describe()):
        return
    r = mg.get(cb)
    r = mg.get(location(r, o.base))
    code = code_of(r)
    t = o.code_grant(client["client_id"], code or "x", verifier)
    tap.ok(r.status == 303 and code and t.status == 200,
           "consent=provider: back from the provider, /authorize answers with the code: no "
           "consent page of mcpgate", r.describe(), t.describe())

    # another application of the signed-in user: to the provider again, not mcpgate's page
    client2 = o.register_public(name="second application")
    verifier2, challenge2 = pkce()
    url2 = o.authorize_url(o.auth_params(client2["client_id"], challenge2))
    r = mg.get(url2)
    loc = r.header("Location") or ""
    tap.ok(r.status == 303 and "/login/idp?provider=pc" in loc,
           "consent=provider: a new application of a signed-in user goes to the provider for "
           "consent", r.describe())
    mg.cookies["mcpgate_idp_consent"] = "A" * 43
    r = mg.get(url2)
    tap.ok(r.status == 303 and "/login/idp?provider=pc" in (r.header("Location") or "") and
           not code_of(r),
           "consent=provider: a forged consent mark gets no code", r.describe())
    del mg.cookies["mcpgate_idp_consent"]
    start = mg.get(location(r, o.base))
    cb, r = provider_login(tap, Browser(), start.header("Location") or "", "a-1001")
    r = mg.get(cb) if cb else r
    r = mg.get(location(r, o.base)) if cb else r
    code = code_of(r)
    t = o.code_grant(client2["client_id"], code or "x", verifier2)
    _, n = st.psql("SELECT count(*) FROM oauth_consents c JOIN users u ON u.id = c.user_id "
                   "WHERE u.username = 'alice@pc'")
    tap.ok(code and t.status == 200 and n == "2",
           "consent=provider: ...and after consenting there, its code; both consents kept",
           r.describe(), n)


def revocations(pv):
    return mcptest.request("GET", pv.issuer + "/__test/revocations").json["revocations"]


def disconnect(tap, st, o, pv, mg):
    """bob@ui's account page lists his account at ui; Disconnect (CSRF-checked) revokes
    his tokens at the provider and forgets them."""
    page = mg.get(o.url("/account"))
    m = re.search(rb'<tr class="linked" id="linked-ui">.*?</tr>', page.body, re.S)
    tap.ok(page.status == 200 and m and b'data-id="disconnect:ui"' in m.group(0),
           "disconnect: the account page lists the linked account at ui with Disconnect",
           page.describe())
    fields = hidden_fields(m.group(0) if m else b"")
    bad = dict(fields, csrf="x" * 43)
    r = mg.post(o.url("/account/linked/disconnect"), bad)
    _, n = st.psql("SELECT count(*) FROM idp_tokens t JOIN users u ON u.id = t.user_id "
                   "WHERE u.username = 'bob@ui'")
    tap.ok(r.status == 403 and n == "1",
           "disconnect: a POST without the page's CSRF token is refused, nothing changes",
           r.describe(), n)
    before = revocations(pv)
    r = mg.post(o.url("/account/linked/disconnect"), fields)
    _, n = st.psql("SELECT count(*) FROM idp_tokens t JOIN users u ON u.id = t.user_id "
                   "WHERE u.username = 'bob@ui'")
    tap.ok(r.status == 303 and (r.header("Location") or "").endswith("/account") and
           n == "0" and revocations(pv) - before == 2,
           "disconnect: revoked at the provider (refresh and access token: %d) and forgotten"
           % (revocations(pv) - before), r.describe(), n)
    page = mg.get(o.url("/account"))
    tap.ok(page.status == 200 and b'id="linked-ui"' not in page.body,
           "disconnect: the account page no longer lists it", page.describe())


def plain_oauth(tap, st, o, pv):
    """idp plain: explicit endpoints, no openid, a who-am-I URL."""
    tok, authz, _ = flow(tap, st, o, "plain", "a-1001", "alice@plain", "plain OAuth 2.0")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(authz or "").query)
    tap.ok(bool(authz) and authz.startswith(pv.issuer + "/auth?") and
           q.get("scope") == ["profile"] and "nonce" not in q and
           len(q.get("code_challenge", [""])[0]) == 43,
           "plain OAuth 2.0: the configured authorization endpoint, scope profile only (no "
           "openid), PKCE, no nonce", authz)
    tap.ok(user_row(st, "alice@plain") == "plain a-1001 alice@example.org" and
           groups_of(st, "alice@plain") == ["staff"],
           "plain OAuth 2.0: alice is provisioned from the who-am-I answer's account.id, "
           "email and groups", user_row(st, "alice@plain"), groups_of(st, "alice@plain"))

    # a who-am-I answer without the subject's member: refused, nothing made
    client = o.register_public(name="nosub")
    _, challenge = pkce()
    mg = Browser()
    authz, _, start = start_sign_in(o, mg, "nosub", o.auth_params(client["client_id"],
                                                                   challenge))
    cb, r = provider_login(tap, Browser(), authz, "a-1001") if authz else (None, start)
    if tap.ok(bool(cb), "who-am-I without the subject: alice signs in at the provider",
              r.describe()):
        r = mg.get(cb)
        _, n = st.psql("SELECT count(*) FROM users WHERE idp = 'nosub'")
        tap.check("who-am-I without the subject: a clear 502 page, no user, no session",
                  [] if r.status == 502 and b"lacks the subject" in r.body and n == "0" and
                  "mcpgate_session" not in mg.cookies else ["not refused"], r)
    return tok


PROJECTS = {"a-1001": ["alice-blog", "alice-shop"], "b-2002": ["bob-wiki"]}


class Api(http.server.BaseHTTPRequestHandler):
    """The provider's API: accepts the provider's access tokens (asked at its /api/whoami)
    and lists the projects of the token's user. poison: the next token seen is refused
    from then on (what a backend does with a token revoked early); refuse_all: every
    token is refused. Counts the 401s it answered."""
    issuer = ""
    PASTED = "pasted-token-of-bob"  # a token bob pastes on the account page
    poison = False
    refuse_all = False
    refused = set()
    n401 = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else ""
        if Api.poison and tok:
            Api.refused.add(tok)
            Api.poison = False
        sub = "b-2002" if tok == Api.PASTED else None
        issuer = "http://127.0.0.1:%s" % self.path.split("/")[2] \
            if self.path.startswith("/p/") else Api.issuer
        if not sub and tok and tok not in Api.refused and not Api.refuse_all:
            r = mcptest.request("GET", issuer + "/api/whoami", None, {"Authorization": auth})
            sub = ((r.json or {}).get("account") or {}).get("id") if r.status == 200 else None
        if not sub:
            Api.n401 += 1
        body = json.dumps({"projects": PROJECTS.get(sub, [])} if sub else
                          {"error": "invalid_token"}).encode()
        self.send_response(200 if sub else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def refreshes(pv):
    return mcptest.request("GET", pv.issuer + "/__test/refreshes").json["refreshes"]


def call_tool(base, token, tool):
    m = mcp_with(base, token["access_token"])
    r = m.initialize()
    if r.status != 200:
        return None, r, ""
    r = m.tool(tool, {})
    return ((r.json or {}).get("result") or {}), r, mcptest.tool_text(r) or ""


def call_projects(base, token):
    return call_tool(base, token, "hosting_list_projects")


def on_401(tap, st, base, pv, tok):
    """alice@plain's calls to the hosting backend carry her token at the plain provider."""
    if not tap.ok(bool(tok), "401: alice@plain has mcpgate's token"):
        return
    res, r, text = call_projects(base, tok)
    tap.ok(res and not res.get("isError") and "alice-blog" in text and "bob" not in text,
           "401: alice's call carries her provider token: her projects", r.describe())

    before, n401 = refreshes(pv), Api.n401
    Api.poison = True
    res, r, text = call_projects(base, tok)
    _, stored = st.psql("SELECT refreshes FROM idp_tokens WHERE user_id = (SELECT id FROM "
                        "users WHERE username = 'alice@plain')")
    tap.ok(res and not res.get("isError") and "alice-blog" in text and
           Api.n401 - n401 == 1 and refreshes(pv) - before == 1 and stored == "1",
           "401: the backend refuses the (unexpired) token: refreshed once at the provider "
           "(%d), the call made again succeeds" % (refreshes(pv) - before), r.describe(),
           "401s: %d, stored refreshes: %s" % (Api.n401 - n401, stored))

    before, n401 = refreshes(pv), Api.n401
    Api.refuse_all = True
    res, r, text = call_projects(base, tok)
    Api.refuse_all = False
    tap.ok(res and res.get("isError") and "sign in again" in text and
           "/login/idp?provider=plain" in text and Api.n401 - n401 == 2 and
           refreshes(pv) - before == 1,
           "401: refused again after the refresh: one refresh (%d), two tries (%d), then the "
           "message to sign in again with the link" % (refreshes(pv) - before,
                                                        Api.n401 - n401), r.describe())

    pv.refuse(True)
    Api.poison = True
    res, r, text = call_projects(base, tok)
    _, n = st.psql("SELECT count(*) FROM idp_tokens WHERE user_id = (SELECT id FROM users "
                   "WHERE username = 'alice@plain')")
    tap.ok(res and res.get("isError") and "sign in again" in text and n == "0",
           "401: the provider refuses the refresh: sign in again, the provider tokens are "
           "forgotten", r.describe(), n)
    r = mcp_with(base, tok["access_token"]).initialize()
    tap.ok(r.status == 401, "401: ...and mcpgate's own token of that sign-in stops working",
           r.describe())
    pv.refuse(False)


def doctor(tap, st, base, pv):
    def run():
        r = admin(st, "doctor", "--idp", "--json", timeout=60)
        try:
            return r, {c["name"]: c for c in json.loads(r.stdout)["checks"]}
        except (ValueError, KeyError):
            return r, {}
    r, c = run()
    get = lambda n: c.get(n, {})  # noqa: E731
    tap.ok(r.returncode == 1 and get("idp-discovery-staff").get("status") == "PASS" and
           "issuer matches" in get("idp-discovery-staff").get("seen", "") and
           get("idp-discovery-plain").get("status") == "PASS" and
           "explicit endpoints" in get("idp-discovery-plain").get("seen", "") and
           get("idp-discovery-down").get("status") == "FAIL" and
           get("idp-discovery-down").get("fix", {}).get("any"),
           "doctor --idp: discovery of each provider (the one that is down fails, with a fix; "
           "explicit endpoints said)", r.stdout[-1500:], r.stderr)
    tap.ok(("register %s/login/callback" % base) in get("idp-redirect-staff").get("seen", "") and
           "mcpgate-s" in get("idp-redirect-staff").get("seen", "") and
           get("idp-clock-staff").get("status") == "PASS" and
           get("idp-clock-down").get("status") == "SKIP",
           "doctor --idp: the redirect URI to register, and the provider's clock agrees",
           json.dumps([get("idp-redirect-staff"), get("idp-clock-staff")]))
    mcptest.request("GET", pv.issuer + "/__test/skew?s=300")
    r, c = run()
    mcptest.request("GET", pv.issuer + "/__test/skew?s=0")
    m = re.search(r"clock ([+-]\d+) s", get("idp-clock-staff").get("seen", ""))
    tap.ok(get("idp-clock-staff").get("status") == "FAIL" and m and
           290 <= int(m.group(1)) <= 310 and
           get("idp-clock-staff").get("fix", {}).get("any"),
           "doctor --idp: a provider whose clock is 300 s off fails the clock check",
           json.dumps(get("idp-clock-staff")))


def write_backend(d, api_port, other_port):
    """hosting: the API as alice@plain (plain OAuth 2.0); ui: the same API as the user of
    the ui provider."""
    for name, slot in (("hosting", {"from_idp": "plain"}), ("ui", {"from_idp": "ui"}),
                       ("pasted", {"per_user": True}), ("other", {"from_idp": "other"})):
        doc = {"mcpgate_backend": 1, "name": name,
               "base_url": "http://127.0.0.1:%d" % api_port +
               ("/p/%d" % other_port if name == "other" else ""),
               "allow_private": True, "timeout_ms": 5000,
               "credentials": {"me": dict({"type": "bearer"}, **slot)},
               "auth": ["me"],
               "tools": [{"name": "list_projects", "method": "GET", "path": "/projects"}]}
        with open(os.path.join(d, name + ".json"), "w") as f:
            json.dump(doc, f)
        os.chmod(os.path.join(d, name + ".json"), 0o644)


def main():
    tap = Tap()
    d = npmci.idp(tap)
    if not d:
        return tap.done()
    work = tempfile.mkdtemp(prefix="mcpgate-idp-more-")
    os.chmod(work, 0o755)
    port, pdown, port2 = free_port(), free_port(), free_port()
    iss = "http://127.0.0.1:%d" % port
    Api.issuer = iss
    api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api.daemon_threads = True
    threading.Thread(target=api.serve_forever, daemon=True).start()
    write_backend(work, api.server_address[1], port2)
    config = "\n".join([
        "idp = staff issuer=%s client_id=mcpgate-s groups_allowed=staff,admins" % iss,
        "idp = ui issuer=%s client_id=mcpgate-u userinfo_endpoint=%s/me" % (iss, iss),
        "idp = pc issuer=%s client_id=mcpgate-c consent=provider" % iss,
        "idp = plain issuer=%s client_id=mcpgate-p authorization_endpoint=%s/auth "
        "token_endpoint=%s/token whoami_url=%s/api/whoami subject_field=account.id "
        "scopes=profile" % (iss, iss, iss, iss),
        "idp = nosub issuer=%s client_id=mcpgate-p authorization_endpoint=%s/auth "
        "token_endpoint=%s/token whoami_url=%s/api/whoami subject_field=account.uuid "
        "scopes=profile" % (iss, iss, iss, iss),
        "idp = down issuer=http://127.0.0.1:%d client_id=nobody" % pdown,
        "idp = other issuer=http://127.0.0.1:%d client_id=mcpgate-o link_only=yes "
        "scopes=profile" % port2,
        "idp_allow_private = yes", "local_users = no", "register_per_hour = 100",
        "backends_dir = %s" % work, "credential_key = k1:" + os.urandom(32).hex()])
    pv = pv2 = None
    try:
        with Stack(tap, servers="lighttpd", responder=mcptest.test_responder(),
                   config_extra=config, auth="oauth") as st:
            (fe, base), = st.front_ends()
            cb = [base + "/login/callback"]
            grants = ["authorization_code", "refresh_token"]
            pv = Provider(tap, d, port, [
                {"client_id": c, "token_endpoint_auth_method": "none", "redirect_uris": cb,
                 "grant_types": grants} for c in ("mcpgate-s", "mcpgate-u", "mcpgate-p",
                                                  "mcpgate-c")])
            pv2 = Provider(tap, d, port2, [
                {"client_id": "mcpgate-o", "token_endpoint_auth_method": "none",
                 "redirect_uris": cb, "grant_types": grants}])
            o = OAuth(base)
            alice, alice_mg = groups_allowed(tap, st, o)
            linking(tap, st, o, pv2, alice_mg, alice)
            provider_consent(tap, st, o, pv)
            mg, bob = userinfo(tap, st, o, pv)
            disconnect(tap, st, o, pv, mg)
            url_elicitation(tap, st, o, pv, mg, bob)
            tok = plain_oauth(tap, st, o, pv)
            on_401(tap, st, base, pv, tok)
            doctor(tap, st, base, pv)
            mcptest.check_logs(tap, st)
    finally:
        api.shutdown()
        shutil.rmtree(work, ignore_errors=True)
        for p in (pv, pv2):
            if p:
                p.stop()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
