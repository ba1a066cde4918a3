#!/usr/bin/env python3
"""test_oauth_flow.py - the OAuth 2.1 authorization server through lighttpd, Apache
mod_fcgid and Apache mod_proxy_fcgi: discovery from the 401, registration (as ChatGPT and
Claude send it), sign-in, consent, PKCE, tokens, a tool call, refresh rotation, revocation,
introspection, the account page, API keys, client ID metadata documents, and the negative
cases, each refused with the RFC's error and nothing issued. TAP output."""

import http.client
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import Stack, Tap, admin  # noqa: E402
from oauthlib import OAuth, Browser, pkce, hidden_fields, mcp_with, REDIRECT  # noqa: E402

USER, PASSWORD = "alice", "correct horse battery staple"
# the refresh grace: under valgrind four refreshes of one token reach the responders
# seconds apart, and the losers must still come within it
GRACE_S = 3 * mcptest.SLOW
CONFIG = "\n".join(["cimd_allow_private = yes", "refresh_grace_s = %d" % GRACE_S,
                    "register_per_hour = 60"])


def err_of(r):
    return (r.json or {}).get("error") if isinstance(r.json, dict) else None


def www_auth(r):
    return r.header("WWW-Authenticate") or ""


def tool_ok(m, name, args, id=None):
    r = m.tool(name, args, id=id)
    return r


class CimdServer:
    """Serves client metadata documents on 127.0.0.1 for the CIMD tests."""

    def __init__(self):
        docs = self.docs = {}

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body, cc = docs.get(self.path, (None, None))
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", cc or "max-age=300")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, path, doc, cc=None):
        self.docs[path] = (json.dumps(doc).encode() if not isinstance(doc, bytes) else doc, cc)
        return self.base + path

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def discovery(tap, fe, base, o):
    r = mcptest.post_json(base + "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    wa = www_auth(r)
    tap.check("%s: /mcp without a token: 401 with resource_metadata and scope" % fe,
              [] if r.status == 401 and 'resource_metadata="' in wa and 'scope="' in wa
              and "error=" not in wa else ["status/header wrong"], r)
    prm_url = wa.split('resource_metadata="', 1)[-1].split('"', 1)[0]
    prm = mcptest.request("GET", prm_url)
    j = prm.json or {}
    tap.check("%s: protected resource metadata names the resource and the issuer" % fe,
              [] if prm.status == 200 and j.get("resource") == o.resource
              and j.get("authorization_servers") == [base]
              and "mcp:tools:read" in j.get("scopes_supported", []) else ["bad PRM"], prm)
    root = mcptest.request("GET", base + "/.well-known/oauth-protected-resource")
    tap.check("%s: PRM also at the root path" % fe,
              [] if root.status == 200 and (root.json or {}).get("resource") == o.resource
              else ["no root PRM"], root)
    asm = mcptest.request("GET", base + "/.well-known/oauth-authorization-server")
    a = asm.json or {}
    probs = []
    for k, v in (("issuer", base), ("code_challenge_methods_supported", ["S256"]),
                 ("response_types_supported", ["code"]),
                 ("client_id_metadata_document_supported", True),
                 ("authorization_response_iss_parameter_supported", True),
                 ("token_endpoint_auth_methods_supported",
                  ["none", "client_secret_post", "client_secret_basic"])):
        if a.get(k) != v:
            probs.append("%s = %r" % (k, a.get(k)))
    for k in ("authorization_endpoint", "token_endpoint", "registration_endpoint",
              "revocation_endpoint", "introspection_endpoint"):
        if not str(a.get(k, "")).startswith(base + "/"):
            probs.append("%s missing" % k)
    tap.check("%s: authorization server metadata (RFC 8414)" % fe, probs, asm)
    bad = mcptest.post_json(base + "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                            {"Authorization": "Bearer nottoken"})
    tap.check("%s: an unknown token: 401 error=invalid_token" % fe,
              [] if bad.status == 401 and 'error="invalid_token"' in www_auth(bad) else ["no"],
              bad)


def chatgpt_claude(tap, fe, o):
    # Claude: hosted DCR with client_secret_post
    r = o.register({"client_name": "Claude", "redirect_uris":
                    ["https://claude.ai/api/mcp/auth_callback"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"], "token_endpoint_auth_method":
                    "client_secret_post", "scope": "mcp:tools:read mcp:tools:write"})
    j = r.json or {}
    tap.check("%s: Claude's registration: 201, client_secret_post echoed, secret issued" % fe,
              [] if r.status == 201 and j.get("token_endpoint_auth_method") ==
              "client_secret_post" and j.get("client_secret") and j.get("redirect_uris") ==
              ["https://claude.ai/api/mcp/auth_callback"] else ["bad"], r)
    claude = j
    # ChatGPT: DCR with none and its connector redirect
    r = o.register({"client_name": "ChatGPT", "redirect_uris":
                    ["https://chatgpt.com/connector_platform_oauth_redirect"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"], "token_endpoint_auth_method": "none"})
    j = r.json or {}
    tap.check("%s: ChatGPT's registration: 201, none echoed, no secret" % fe,
              [] if r.status == 201 and j.get("token_endpoint_auth_method") == "none"
              and "client_secret" not in j else ["bad"], r)
    return claude, j


def redirect_flow(tap, fe, o, client, redirect, secret=None, scope=None):
    """Authorization through the pages for a client with an https redirect; the code is
    taken from the Location header (the browser does not follow it)."""
    b = Browser()
    verifier, challenge = pkce()
    params = o.auth_params(client["client_id"], challenge, redirect=redirect, scope=scope,
                           state="st-" + fe)
    if scope is None:
        params.pop("scope", None)
    r, q = o.authorize(b, params, USER, PASSWORD)
    loc = r.header("Location") or ""
    ok = loc.startswith(redirect + "?") and q.get("state") == "st-" + fe and \
        q.get("iss") == o.base and "code" in q
    extra = {"client_secret": secret} if secret else {}
    t = o.code_grant(client["client_id"], q.get("code", "x"), verifier, redirect, **extra)
    return ok, r, t


def main():
    tap = Tap()
    cimd = CimdServer()
    try:
        # under valgrind and ASan through lighttpd only: the checks are the responder's,
        # and each front end more repeats the whole flow (a minute under memcheck)
        with Stack(tap, servers="lighttpd fcgid proxy", responder=mcptest.test_responder(),
                   config_extra=CONFIG, auth="oauth", code_check_servers="lighttpd") as st:
            fes = st.front_ends()
            r = admin(st, "user", "add", USER, stdin=PASSWORD + "\n", frontend=fes[0][0])
            tap.ok(r.returncode == 0, "mcpgate user add (password on stdin)", r.stdout, r.stderr)
            r = admin(st, "user", "add", "bob", stdin="bob password\n", frontend=fes[0][0])
            for fe, base in fes:
                run_front_end(tap, st, fe, base, cimd)
            negative_common(tap, st, fes[0][1])
            mcptest.check_logs(tap, st)
    finally:
        cimd.stop()
    return tap.done()


def run_front_end(tap, st, fe, base, cimd):
    o = OAuth(base)
    discovery(tap, fe, base, o)
    claude, chatgpt = chatgpt_claude(tap, fe, o)
    ok, r, t = redirect_flow(tap, fe, o, claude, "https://claude.ai/api/mcp/auth_callback",
                             secret=claude.get("client_secret"),
                             scope="mcp:tools:read mcp:tools:write")
    tap.check("%s: Claude: code redirected with state and iss; client_secret_post token" % fe,
              [] if ok and t.status == 200 and (t.json or {}).get("refresh_token") else ["bad"],
              r, t)
    ok, r, t = redirect_flow(tap, fe, o, chatgpt,
                             "https://chatgpt.com/connector_platform_oauth_redirect")
    tj = t.json or {}
    tap.check("%s: ChatGPT without scope: default scope granted, public client token" % fe,
              [] if ok and t.status == 200 and tj.get("scope") ==
              "mcp:tools:read mcp:tools:write" else ["bad"], r, t)
    tap.check("%s: token response has Cache-Control: no-store" % fe,
              [] if "no-store" in (t.header("Cache-Control") or "") else ["missing"], t)

    # the main flow with a loopback client
    b = Browser()
    client, tok, probs = o.full_flow(b, USER, PASSWORD)
    tap.check("%s: loopback client: register, sign in, consent, code, token" % fe, probs)
    if not tok:
        return
    cid = client["client_id"]
    m = mcp_with(base, tok["access_token"])
    r = m.initialize()
    tap.check("%s: /mcp initialize with the access token" % fe,
              mcptest.expect_result(r, (r.json or {}).get("id"))[0] if r.status == 200
              else ["status %s" % r.status], r)
    r = m.tool("echo", {"message": "hi"}, id=7)
    tap.check("%s: tools/call echo with the token" % fe,
              [] if mcptest.tool_text(r) and "hi" in mcptest.tool_text(r) else ["no echo"], r)
    r = m.tool("test_update_resource", {"uri": "test://x"}, id=8)
    tap.check("%s: a write tool with the read+write token is not refused" % fe,
              [] if r.status == 200 else ["status %s" % r.status], r)

    # consent remembered: a second authorization goes straight back with a code
    verifier, challenge = pkce()
    r = b.get(o.authorize_url(o.auth_params(cid, challenge)))
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location") or "").query)
    tap.check("%s: consent remembered: second authorization redirects at once" % fe,
              [] if r.status == 303 and "code" in q else ["no direct code"], r)

    # refresh rotation
    r1 = o.refresh(cid, tok["refresh_token"])
    j1 = r1.json or {}
    tap.check("%s: refresh: new access and refresh token" % fe,
              [] if r1.status == 200 and j1.get("refresh_token") not in
              (None, tok["refresh_token"]) else ["bad"], r1)
    r2 = o.refresh(cid, tok["refresh_token"])
    tap.check("%s: the old refresh token within the grace: invalid_grant, nothing issued" % fe,
              [] if r2.status == 400 and err_of(r2) == "invalid_grant" else ["bad"], r2)
    m2 = mcp_with(base, j1.get("access_token", "x"))
    r = m2.initialize()
    tap.check("%s: after a refused retry within the grace the new token still works" % fe,
              [] if r.status == 200 else ["status %s" % r.status], r)
    time.sleep(GRACE_S + 0.3)
    r3 = o.refresh(cid, tok["refresh_token"])
    tap.check("%s: refresh replay after the grace: invalid_grant" % fe,
              [] if r3.status == 400 and err_of(r3) == "invalid_grant" else ["bad"], r3)
    r = m2.call("ping", id=3)
    tap.check("%s: ...and the whole family is revoked (the new access token: 401)" % fe,
              [] if r.status == 401 and 'invalid_token' in www_auth(r) else ["still works"], r)
    r = o.refresh(cid, j1.get("refresh_token", "x"))
    tap.check("%s: ...the new refresh token too" % fe,
              [] if r.status == 400 and err_of(r) == "invalid_grant" else ["bad"], r)

    concurrent_refresh(tap, fe, o, b)
    read_only(tap, fe, o, base)
    revoke_introspect(tap, fe, o, base, b)
    account(tap, fe, o, base)
    cimd_tests(tap, fe, o, cimd)
    rfc9700(tap, fe, o, base, cimd)
    negative(tap, st, fe, o, base, b)


def concurrent_refresh(tap, fe, o, b):
    client, tok, probs = o.full_flow(b, USER, PASSWORD)
    if probs:
        tap.check("%s: concurrent refresh: setup" % fe, probs)
        return
    results = []

    def go():
        results.append(o.refresh(client["client_id"], tok["refresh_token"]))
    ts = [threading.Thread(target=go) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ok = [r for r in results if r.status == 200]
    bad = [r for r in results if r.status == 400 and err_of(r) == "invalid_grant"]
    tap.check("%s: 4 processes refresh one token at once: exactly one succeeds" % fe,
              [] if len(ok) == 1 and len(bad) == 3 else
              ["%d succeeded, %d invalid_grant" % (len(ok), len(bad))], *results)
    if ok:
        r = mcp_with(o.base, ok[0].json["access_token"]).initialize()
        tap.check("%s: ...and the winner's token works (within the grace nothing is revoked)"
                  % fe, [] if r.status == 200 else ["status %s" % r.status], r)


def read_only(tap, fe, o, base):
    b = Browser()
    client, tok, probs = o.full_flow(b, "bob", "bob password", read_only=True)
    tap.check("%s: consent downgraded to read-only: token scope mcp:tools:read" % fe,
              probs or ([] if tok.get("scope") == "mcp:tools:read" else
                        ["scope %r" % tok.get("scope")]))
    if not tok:
        return
    m = mcp_with(base, tok["access_token"])
    m.initialize()
    r = m.tool("echo", {"message": "ro"}, id=11)
    tap.check("%s: read-only token calls a read-only tool" % fe,
              [] if mcptest.tool_text(r) == "ro" or "ro" in (mcptest.tool_text(r) or "")
              else ["refused"], r)
    r = m.tool("test_update_resource", {"uri": "test://x"}, id=12)
    wa = www_auth(r)
    tap.check("%s: read-only token and a write tool: 403 insufficient_scope naming both" % fe,
              [] if r.status == 403 and 'error="insufficient_scope"' in wa and
              'scope="mcp:tools:read mcp:tools:write"' in wa else ["bad"], r)
    scope_on_every_path(tap, fe, base, tok["access_token"])


WRITE_TOOL = "test_update_resource"
BOTH = 'scope="mcp:tools:read mcp:tools:write"'


def insufficient(r):
    wa = www_auth(r)
    return [] if r.status == 403 and 'error="insufficient_scope"' in wa and BOTH in wa \
        and 'resource_metadata="' in wa else ["expected 403 insufficient_scope naming both"]


def sse_first_event(base, token):
    """GET /sse with token: (connection, endpoint path) once the endpoint event came."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", "/sse", headers={"Accept": "text/event-stream",
                                         "Authorization": "Bearer " + token})
    resp = conn.getresponse()
    data = None
    while resp.status == 200:
        line = resp.fp.readline().decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("data:"):
            data = line[5:].strip()
        elif line == "" and data:
            break
    return conn, data


def scope_on_every_path(tap, fe, base, token):
    """A read-only token: tools/list hides the write tools, and a write tool gets 403
    insufficient_scope on every transport: a 2025-03-26 batch, the stateless 2026-07-28
    protocol and the 2024-11-05 /messages."""
    m = mcp_with(base, token)
    m.initialize()
    r = m.call("tools/list", {}, id=31)
    names = [t.get("name") for t in ((r.json or {}).get("result") or {}).get("tools", [])]
    tap.check("%s: read-only token: tools/list lists echo but not the write tool" % fe,
              [] if "echo" in names and WRITE_TOOL not in names else ["tools %r" % names], r)
    b = mcp_with(base, token)
    b.initialize(version="2025-03-26")
    r = b.post([{"jsonrpc": "2.0", "id": 32, "method": "ping"},
                {"jsonrpc": "2.0", "id": 33, "method": "tools/call",
                 "params": {"name": WRITE_TOOL, "arguments": {"uri": "test://x"}}}])
    tap.check("%s: read-only token, write tool in a batch: 403 insufficient_scope" % fe,
              insufficient(r) + ([] if isinstance(r.json, list) and len(r.json) == 2
                                 else ["body is not the batch's two replies"]), r)
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "modern", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}
    r = mcptest.post_json(base + "/mcp", {
        "jsonrpc": "2.0", "id": 34, "method": "tools/call",
        "params": {"name": WRITE_TOOL, "arguments": {"uri": "test://x"}, "_meta": meta}},
        {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call",
         "Mcp-Name": WRITE_TOOL, "Authorization": "Bearer " + token})
    tap.check("%s: read-only token, write tool, stateless 2026-07-28: 403 insufficient_scope"
              % fe, insufficient(r), r)
    conn, endpoint = sse_first_event(base, token)
    try:
        if not endpoint:
            tap.ok(False, "%s: GET /sse with the read-only token gives the endpoint" % fe)
            return
        r = mcptest.post_json(base + endpoint, {
            "jsonrpc": "2.0", "id": 35, "method": "tools/call",
            "params": {"name": WRITE_TOOL, "arguments": {"uri": "test://x"}}},
            {"Authorization": "Bearer " + token})
        tap.check("%s: read-only token, write tool, 2024-11-05 /messages: 403 "
                  "insufficient_scope (before the 202)" % fe, insufficient(r), r)
    finally:
        conn.close()


def revoke_introspect(tap, fe, o, base, b):
    # a confidential client for introspection
    r = o.register({"client_name": "introspector", "redirect_uris": [REDIRECT],
                    "token_endpoint_auth_method": "client_secret_basic"})
    conf = r.json or {}
    verifier, challenge = pkce()
    _, q = o.authorize(b, o.auth_params(conf.get("client_id"), challenge), USER, PASSWORD)
    import base64
    basic = "Basic " + base64.b64encode(("%s:%s" % (conf.get("client_id"),
                                                    conf.get("client_secret"))).encode()).decode()
    t = o.token({"grant_type": "authorization_code", "code": q.get("code", "x"),
                 "code_verifier": verifier, "redirect_uri": REDIRECT},
                {"Authorization": basic})
    tj = t.json or {}
    tap.check("%s: client_secret_basic client gets tokens" % fe,
              [] if t.status == 200 else ["bad"], t)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    i = mcptest.request("POST", o.url("/introspect"),
                        "token=" + urllib.parse.quote(tj.get("access_token", "")),
                        dict(form, Authorization=basic))
    ij = i.json or {}
    tap.check("%s: introspection by its client: active, scope, aud" % fe,
              [] if i.status == 200 and ij.get("active") is True and ij.get("aud") ==
              o.resource else ["bad"], i)
    i2 = mcptest.request("POST", o.url("/introspect"),
                         "token=" + urllib.parse.quote(tj.get("access_token", "")), form)
    tap.check("%s: introspection without client authentication: 401 invalid_client" % fe,
              [] if i2.status == 401 and err_of(i2) == "invalid_client" else ["bad"], i2)
    rv = mcptest.request("POST", o.url("/revoke"),
                         "token=" + urllib.parse.quote(tj.get("refresh_token", "")),
                         dict(form, Authorization=basic))
    tap.check("%s: RFC 7009 revocation of the refresh token: 200" % fe,
              [] if rv.status == 200 else ["bad"], rv)
    r = mcp_with(base, tj.get("access_token", "x")).initialize()
    tap.check("%s: revoking the refresh token revokes its access tokens" % fe,
              [] if r.status == 401 else ["status %s" % r.status], r)
    i3 = mcptest.request("POST", o.url("/introspect"),
                         "token=" + urllib.parse.quote(tj.get("access_token", "")),
                         dict(form, Authorization=basic))
    tap.check("%s: introspection of a revoked token: active false" % fe,
              [] if (i3.json or {}).get("active") is False else ["bad"], i3)
    rv = mcptest.request("POST", o.url("/revoke"), "token=unknown-token",
                         dict(form, Authorization=basic))
    tap.check("%s: revoking an unknown token: 200 (RFC 7009 section 2.2)" % fe,
              [] if rv.status == 200 else ["bad"], rv)


def account(tap, fe, o, base):
    b = Browser()
    client, tok, probs = o.full_flow(b, USER, PASSWORD)
    r = b.get(o.url("/account"))
    body = r.body.decode("utf-8", "replace")
    tap.check("%s: account page lists the connected application" % fe,
              [] if r.status == 200 and client and client["client_id"] in body else ["bad"], r)
    tap.check("%s: pages: frame-ancestors 'none', no-store, Secure HttpOnly SameSite cookies"
              % fe, [] if "frame-ancestors 'none'" in (r.header("Content-Security-Policy") or "")
              and "no-store" in (r.header("Cache-Control") or "") else ["headers"], r)
    fields = {"csrf": hidden_fields(r.body).get("csrf", ""), "client_id": client["client_id"]}
    r2 = b.post(o.url("/account/revoke"), fields)
    tap.check("%s: disconnecting an application: 303 back to the account page" % fe,
              [] if r2.status == 303 else ["bad"], r2)
    r3 = mcp_with(base, tok["access_token"]).initialize()
    tap.check("%s: ...and its token is refused" % fe, [] if r3.status == 401 else ["works"], r3)
    r4 = b.post(o.url("/account/revoke"), {"client_id": client["client_id"]})
    tap.check("%s: account POST without CSRF token: 403" % fe,
              [] if r4.status == 403 else ["status %s" % r4.status], r4)
    page = b.get(o.url("/account"))
    r5 = b.post(o.url("/account/keys"), {"csrf": hidden_fields(page.body)["csrf"],
                                         "name": "script key", "read_only": "1"})
    page = b.get(o.url("/account"))
    text = page.body.decode()
    key = text.split('id="new-key">', 1)[-1].split("<", 1)[0] if 'id="new-key"' in text else ""
    tap.check("%s: API key created (303) and shown once" % fe,
              [] if r5.status == 303 and key.startswith("mgk_") else ["no key"], r5, page)
    again = b.get(o.url("/account"))
    tap.check("%s: ...not shown again" % fe,
              [] if key and key not in again.body.decode() else ["shown again"], again)
    m = mcp_with(base, key)
    r = m.initialize()
    tap.check("%s: the API key works as a bearer token" % fe,
              [] if r.status == 200 else ["status %s" % r.status], r)
    r = m.tool("test_update_resource", {"uri": "test://x"}, id=21)
    tap.check("%s: a read-only API key and a write tool: 403" % fe,
              [] if r.status == 403 else ["status %s" % r.status], r)
    keys_part = text.split('id="keys"', 1)[-1]
    kid = keys_part.split('data-id="', 1)[-1].split('"', 1)[0] if 'data-id="' in keys_part else ""
    page = b.get(o.url("/account"))
    r = b.post(o.url("/account/keys/revoke"), {"csrf": hidden_fields(page.body)["csrf"],
                                               "key_id": kid})
    r2 = mcp_with(base, key).initialize()
    tap.check("%s: a revoked API key is refused" % fe,
              [] if r.status == 303 and r2.status == 401 else ["bad"], r, r2)


def cimd_tests(tap, fe, o, cimd):
    url = cimd.add("/%s/client.json" % fe, None)
    cimd.add("/%s/client.json" % fe, {"client_id": url, "client_name": "CIMD app " + fe,
                                      "redirect_uris": [REDIRECT],
                                      "token_endpoint_auth_method": "none"})
    b = Browser()
    verifier, challenge = pkce()
    r, q = o.authorize(b, o.auth_params(url, challenge), USER, PASSWORD)
    t = o.code_grant(url, q.get("code", "x"), verifier)
    tap.check("%s: client ID metadata document: fetched, authorized, token" % fe,
              [] if t.status == 200 else ["bad"], r, t)
    bad = cimd.add("/%s/wrong.json" % fe, {"client_id": "https://elsewhere.example/c.json",
                                           "redirect_uris": [REDIRECT]})
    r = Browser().get(o.authorize_url(o.auth_params(bad, challenge)))
    tap.check("%s: metadata document whose client_id differs from its URL: refused, no "
              "redirect" % fe, [] if r.status == 400 and not r.header("Location") else ["bad"],
              r)


def rfc9700(tap, fe, o, base, cimd):
    """RFC 9700 edge cases: no open redirector through a client nobody approved (section
    4.11.2); a code is spent only by its own client with its verifier, and only that client
    replaying it revokes the sign-in (sections 2.1.1, 4.8); the consent page's "this
    computer" notice only for hosts that are loopback exactly."""
    evil_uri = "https://evil.example/cb"
    evil = o.register_public(redirect=evil_uri, name="unapproved") or {}
    doc = cimd.add("/%s/unapproved.json" % fe, None)
    cimd.add("/%s/unapproved.json" % fe, {"client_id": doc, "client_name": "unapproved doc",
                                          "redirect_uris": [evil_uri],
                                          "token_endpoint_auth_method": "none"})
    verifier, challenge = pkce()
    signed = Browser()
    r = o.login(signed, USER, PASSWORD)
    tap.ok(r.status == 303, "%s: signed in for the RFC 9700 checks" % fe, r.describe())
    for kind, cid in (("registered", evil.get("client_id", "none")), ("metadata-document", doc)):
        for who, br in (("signed out", Browser()), ("signed in, not approved", signed)):
            for desc, extra in (("response_type token", {"response_type": "token"}),
                                ("unknown scope", {"scope": "admin"}),
                                ("prompt=none", {"prompt": "none"})):
                r = br.get(o.authorize_url(o.auth_params(cid, challenge, redirect=evil_uri,
                                                         **extra)))
                tap.check("%s: %s client nobody approved, %s, %s: error page, no redirect"
                          % (fe, kind, who, desc),
                          [] if r.status == 400 and not r.header("Location") else
                          ["status %s Location %r" % (r.status, r.header("Location"))], r)
    r, q = o.authorize(signed, o.auth_params(evil.get("client_id", "none"), challenge,
                                             redirect=evil_uri), USER, PASSWORD)
    r = signed.get(o.authorize_url(o.auth_params(evil.get("client_id", "none"), challenge,
                                                 redirect=evil_uri, response_type="token")))
    loc = r.header("Location") or ""
    tap.check("%s: once the user approved it, its errors go back to it" % fe,
              [] if "code" in q and r.status == 303 and loc.startswith(evil_uri + "?") and
              "error=unsupported_response_type" in loc else ["bad"], r)

    # codes: only the code's own client with its verifier spends or revokes
    mine = o.register_public(name="code owner") or {}
    other = o.register_public(name="other client") or {}
    cid, oid = mine.get("client_id", "none"), other.get("client_id", "none")
    page = signed.get(o.authorize_url(o.auth_params(cid, challenge)))
    tap.ok(page.status == 200 and b"this computer" in page.body,
           "%s: consent page for a 127.0.0.1 redirect says \"this computer\"" % fe,
           page.describe())
    r = o.consent(signed, page)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location") or "").query)
    c = (q.get("code") or ["none"])[0]
    wrong = pkce()[0]
    t = o.code_grant(oid, c, verifier)
    tap.check("%s: the code presented by another client: invalid_grant" % fe,
              [] if t.status == 400 and err_of(t) == "invalid_grant" else ["bad"], t)
    t = o.code_grant(cid, c, wrong)
    tap.check("%s: the code with a wrong verifier: invalid_grant" % fe,
              [] if t.status == 400 and err_of(t) == "invalid_grant" else ["bad"], t)
    t1 = o.code_grant(cid, c, verifier)
    tap.check("%s: neither spent the code: its client with its verifier gets tokens" % fe,
              [] if t1.status == 200 and "access_token" in (t1.json or {}) else ["bad"], t1)
    m = mcp_with(base, (t1.json or {}).get("access_token", "x"))
    t = o.code_grant(oid, c, verifier)
    t2 = o.code_grant(cid, c, wrong)
    r = m.initialize()
    tap.check("%s: the used code presented by another client or with a wrong verifier: "
              "refused, the sign-in stays" % fe,
              [] if t.status == 400 and t2.status == 400 and r.status == 200 else ["bad"],
              t, t2, r)
    t = o.code_grant(cid, c, verifier)
    r = m.initialize()
    tap.check("%s: the used code replayed by its own client: refused, the sign-in revoked" % fe,
              [] if t.status == 400 and err_of(t) == "invalid_grant" and r.status == 401
              else ["bad"], t, r)

    # "this computer" only for exactly loopback hosts
    for host in ("127.0.0.1.evil.example", "localhost.evil.example"):
        uri = "https://%s/cb" % host
        cl = o.register_public(redirect=uri, name="lookalike") or {}
        page = signed.get(o.authorize_url(o.auth_params(cl.get("client_id", "none"),
                                                        challenge, redirect=uri)))
        tap.ok(page.status == 200 and b"Allow access" in page.body and
               b"this computer" not in page.body,
               "%s: consent page for %s does not say \"this computer\"" % (fe, host),
               page.describe())


def negative(tap, st, fe, o, base, b):
    client = o.register_public()
    cid = client["client_id"]
    verifier, challenge = pkce()

    def code():
        _, q = o.authorize(b, o.auth_params(cid, challenge), USER, PASSWORD)
        return q.get("code", "none")

    def redirected_error(params, want):
        r = b.get(o.authorize_url(params))
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location") or "").query)
        return r, (q.get("error") or [None])[0] == want and "code" not in q

    c = code()
    t = o.code_grant(cid, c, None)
    tap.check("%s: missing code_verifier: invalid_request" % fe,
              [] if t.status == 400 and err_of(t) == "invalid_request" else ["bad"], t)
    c = code()
    t = o.code_grant(cid, c, pkce()[0])
    tap.check("%s: wrong code_verifier: invalid_grant, nothing issued" % fe,
              [] if t.status == 400 and err_of(t) == "invalid_grant" and
              "access_token" not in (t.json or {}) else ["bad"], t)
    t = o.code_grant(cid, c, verifier)
    tap.check("%s: ...and that code is not spent: the right verifier still gets tokens" % fe,
              [] if t.status == 200 and "access_token" in (t.json or {}) else ["bad"], t)
    c = code()
    t1 = o.code_grant(cid, c, verifier)
    t2 = o.code_grant(cid, c, verifier)
    r = mcp_with(base, (t1.json or {}).get("access_token", "x")).initialize()
    tap.check("%s: reused code: invalid_grant and the tokens it issued are revoked" % fe,
              [] if t1.status == 200 and t2.status == 400 and err_of(t2) == "invalid_grant"
              and r.status == 401 else ["bad"], t1, t2, r)
    c = code()
    t = o.code_grant(cid, c, verifier, redirect="http://127.0.0.1:9/other")
    tap.check("%s: token request with another redirect_uri: invalid_grant" % fe,
              [] if t.status == 400 and err_of(t) == "invalid_grant" else ["bad"], t)
    c = code()
    t = o.code_grant(cid, c, verifier, resource="https://other.example/mcp")
    tap.check("%s: token request for another resource: invalid_target" % fe,
              [] if t.status == 400 and err_of(t) == "invalid_target" else ["bad"], t)
    c = code()
    st.psql("UPDATE oauth_codes SET expires_at = now() - interval '1 second' "
            "WHERE used_at IS NULL")
    t = o.code_grant(cid, c, verifier)
    tap.check("%s: expired code: invalid_grant" % fe,
              [] if t.status == 400 and err_of(t) == "invalid_grant" else ["bad"], t)

    r, ok = redirected_error(o.auth_params(cid, challenge, code_challenge_method="plain"),
                             "invalid_request")
    tap.check("%s: code_challenge_method plain: invalid_request to the redirect URI" % fe,
              [] if ok else ["bad"], r)
    r, ok = redirected_error(o.auth_params(cid, None, code_challenge_method=None),
                             "invalid_request")
    tap.check("%s: no code_challenge: invalid_request" % fe, [] if ok else ["bad"], r)
    r, ok = redirected_error(o.auth_params(cid, challenge, scope="admin"), "invalid_scope")
    tap.check("%s: unknown scope: invalid_scope" % fe, [] if ok else ["bad"], r)
    r, ok = redirected_error(o.auth_params(cid, challenge, resource="https://evil.example/"),
                             "invalid_target")
    tap.check("%s: foreign resource at /authorize: invalid_target" % fe, [] if ok else ["bad"],
              r)
    r, ok = redirected_error(o.auth_params(cid, challenge, response_type="token"),
                             "unsupported_response_type")
    tap.check("%s: response_type token: unsupported_response_type" % fe,
              [] if ok else ["bad"], r)
    r, ok = redirected_error(o.auth_params(cid, challenge, state="s" * 2000), "invalid_request")
    tap.check("%s: oversize state: invalid_request" % fe, [] if ok else ["bad"], r)
    for desc, params in (
            ("unregistered redirect_uri", o.auth_params(cid, challenge,
                                                        redirect="https://evil.example/cb")),
            ("redirect_uri with a different path", o.auth_params(
                cid, challenge, redirect="http://127.0.0.1:9/callback/../x")),
            ("redirect_uri with a fragment", o.auth_params(cid, challenge,
                                                           redirect=REDIRECT + "#f")),
            ("unknown client_id", o.auth_params("mcp_nosuchclient", challenge,
                                                redirect="https://evil.example/cb")),
            ("oversize client_id", o.auth_params("x" * 5000, challenge))):
        r = b.get(o.authorize_url(params))
        tap.check("%s: %s: error page, never redirected (no open redirect)" % fe, desc,
                  [] if r.status == 400 and not r.header("Location") else ["redirected"], r) \
            if False else tap.check("%s: %s: error page, never redirected" % (fe, desc),
                                    [] if r.status == 400 and not r.header("Location")
                                    else ["status %s" % r.status], r)
    r = b.get(o.authorize_url(o.auth_params(cid, challenge, redirect="http://127.0.0.1:4567/"
                                            "callback")))
    tap.check("%s: loopback redirect_uri with another port is accepted (RFC 8252)" % fe,
              [] if r.status == 303 and (r.header("Location") or "").startswith(
                  "http://127.0.0.1:4567/callback?code=") else ["bad"], r)
    r = b.get(o.url("/authorize?client_id=%s&client_id=%s" % (cid, cid)))
    tap.check("%s: repeated parameter: error page" % fe,
              [] if r.status == 400 and not r.header("Location") else ["bad"], r)
    r = b.get(o.url("/authorize?client_id=%zz"))
    tap.check("%s: malformed percent-encoding: error page" % fe,
              [] if r.status == 400 else ["bad"], r)
    # consent without CSRF
    page = Browser()
    page.cookies = dict(b.cookies)
    st.psql("DELETE FROM oauth_consents")
    r = page.get(o.authorize_url(o.auth_params(cid, challenge)))
    f = hidden_fields(r.body)
    f.pop("csrf", None)
    f["decision"] = "allow"
    r2 = page.post(o.url("/consent"), f)
    tap.check("%s: consent POST without the CSRF token: 403, no code" % fe,
              [] if r2.status == 403 and not r2.header("Location") else ["bad"], r2)
    f["csrf"] = "forged"
    r2 = page.post(o.url("/consent"), f)
    tap.check("%s: consent POST with a forged CSRF token: 403" % fe,
              [] if r2.status == 403 else ["bad"], r2)
    f = hidden_fields(r.body)
    f["decision"] = "deny"
    r3 = page.post(o.url("/consent"), f)
    tap.check("%s: deny: access_denied to the redirect URI with state and iss" % fe,
              [] if r3.status == 303 and "error=access_denied" in (r3.header("Location") or "")
              and "iss=" in (r3.header("Location") or "") else ["bad"], r3)
    f = hidden_fields(r.body)
    f["decision"] = "allow"
    f["redirect_uri"] = "https://evil.example/cb"
    r4 = page.post(o.url("/consent"), f)
    tap.check("%s: consent POST with a swapped redirect_uri: error page, no redirect" % fe,
              [] if r4.status == 400 and not r4.header("Location") else ["bad"], r4)
    # token endpoint shapes
    t = o.token({"grant_type": "password", "username": "a", "password": "b", "client_id": cid})
    tap.check("%s: grant_type password: unsupported_grant_type" % fe,
              [] if t.status == 400 and err_of(t) == "unsupported_grant_type" else ["bad"], t)
    t = mcptest.request("POST", o.url("/token"), json.dumps({"grant_type": "x"}),
                        {"Content-Type": "application/json"})
    tap.check("%s: JSON body at /token: refused" % fe,
              [] if t.status in (400, 415) and "access_token" not in (t.json or {}) else ["bad"],
              t)
    t = o.token({"grant_type": "authorization_code", "code": "x", "client_id": "mcp_nobody",
                 "code_verifier": "a" * 43, "redirect_uri": REDIRECT})
    tap.check("%s: unknown client at /token: 401 invalid_client" % fe,
              [] if t.status == 401 and err_of(t) == "invalid_client" else ["bad"], t)
    r = o.register({"redirect_uris": ["http://evil.example/cb"]})
    tap.check("%s: registration with an http non-loopback redirect: invalid_redirect_uri" % fe,
              [] if r.status == 400 and err_of(r) == "invalid_redirect_uri" else ["bad"], r)
    r = o.register({"redirect_uris": ["https://a.example/cb#frag"]})
    tap.check("%s: registration with a fragment: invalid_redirect_uri" % fe,
              [] if r.status == 400 and err_of(r) == "invalid_redirect_uri" else ["bad"], r)
    r = o.register({"redirect_uris": ["https://a.example/cb"],
                    "token_endpoint_auth_method": "private_key_jwt"})
    tap.check("%s: registration with an unsupported auth method: invalid_client_metadata" % fe,
              [] if r.status == 400 and err_of(r) == "invalid_client_metadata" else ["bad"], r)
    r = mcptest.post_json(o.url("/register"), b"{not json")
    tap.check("%s: malformed registration JSON: invalid_client_metadata" % fe,
              [] if r.status == 400 and err_of(r) == "invalid_client_metadata" else ["bad"], r)
    # sign-in
    r = o.login(Browser(), USER, "wrong")
    tap.check("%s: wrong password: 401 page, no session cookie" % fe,
              [] if r.status == 401 and "mcpgate_session" not in
              (r.header("Set-Cookie") or "") else ["bad"], r)
    r = Browser().post(o.url("/login"), {"username": USER, "password": PASSWORD})
    tap.check("%s: sign-in without the CSRF token: 403" % fe,
              [] if r.status == 403 else ["bad"], r)
    r = o.login(Browser(), USER, PASSWORD, return_to="https://evil.example/")
    tap.check("%s: sign-in with an off-site return_to: goes to the account page" % fe,
              [] if r.status == 303 and r.header("Location") == "/account" else ["bad"], r)


def code_redeemed_atomically(tap, st, base):
    """The token endpoint fails while writing the tokens (a trigger refuses them, as a
    failover between the statements would): the answer is 503 and the code stays unused,
    so the client's retry gets the tokens (before, the retry was refused as a replay and
    the sign-in revoked)."""
    o = OAuth(base)
    b = Browser()
    client = o.register_public()
    verifier, challenge = pkce()
    _, q = o.authorize(b, o.auth_params((client or {}).get("client_id"), challenge),
                       USER, PASSWORD)
    if not client or "code" not in q:
        tap.check("a code for the atomic redemption check", ["no client or code"])
        return
    ok, out = st.psql(
        "CREATE FUNCTION test_refuse_tokens() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'test: token write refused'; END $$;"
        " CREATE TRIGGER test_refuse_tokens BEFORE INSERT ON oauth_tokens"
        " FOR EACH ROW EXECUTE FUNCTION test_refuse_tokens()")
    tap.ok(ok, "a trigger that refuses token rows is installed", out)
    t = o.code_grant(client["client_id"], q["code"], verifier)
    tap.check("writing the tokens fails: 503 with Retry-After, no token",
              [] if t.status == 503 and t.header("Retry-After") and
              "access_token" not in (t.json or {}) else ["status %s" % t.status], t)
    ok, out = st.psql("DROP TRIGGER test_refuse_tokens ON oauth_tokens;"
                      " DROP FUNCTION test_refuse_tokens()")
    tap.ok(ok, "the trigger is removed", out)
    t = o.code_grant(client["client_id"], q["code"], verifier)
    tap.check("the retry with the same code gets the tokens (the code was not spent)",
              [] if t.status == 200 and (t.json or {}).get("refresh_token") else
              ["status %s" % t.status], t)
    r = mcp_with(base, (t.json or {}).get("access_token", "none")).initialize()
    tap.check("...and the access token works at /mcp",
              [] if r.status == 200 else ["status %s" % r.status], r)


def negative_common(tap, st, base):
    code_redeemed_atomically(tap, st, base)
    o = OAuth(base)
    b = Browser()
    client, tok, probs = o.full_flow(b, USER, PASSWORD)
    if probs:
        tap.check("tokens for the audience and expiry checks", probs)
        return
    st.psql("UPDATE oauth_tokens SET audience = 'https://other.example/mcp' WHERE kind = "
            "'access'")
    r = mcp_with(base, tok["access_token"]).initialize()
    tap.check("a token of another audience is refused at /mcp (401 invalid_token)",
              [] if r.status == 401 and "invalid_token" in www_auth(r) else ["accepted"], r)
    st.psql("UPDATE oauth_tokens SET audience = '%s/mcp', expires_at = now() - "
            "interval '1 second' WHERE kind = 'access'" % base)
    r = mcp_with(base, tok["access_token"]).initialize()
    tap.check("an expired access token is refused (401 invalid_token)",
              [] if r.status == 401 and "invalid_token" in www_auth(r) else ["accepted"], r)
    ok, out = st.psql("SELECT count(*) FROM oauth_tokens WHERE token_hash !~ '^[0-9a-f]{64}$'")
    tap.ok(ok and out == "0", "only SHA-256 hashes of tokens are stored")
    ok, out = st.psql("SELECT count(*) FROM users WHERE password_hash NOT LIKE '$scrypt$%'")
    tap.ok(ok and out == "0", "passwords are stored as scrypt hashes")
    # brute force: 5 free failures, then growing delay, shared by both front ends
    bb = Browser()
    for _ in range(5):
        o.login(bb, "bob", "nope")
    r = o.login(bb, "bob", "bob password")
    tap.check("after 5 failed sign-ins the next (even correct) one must wait: 429",
              [] if r.status == 429 and r.header("Retry-After") else ["status %s" % r.status],
              r)
    time.sleep(1.2)
    r = o.login(bb, "bob", "bob password")
    tap.check("...and succeeds once the delay has passed",
              [] if r.status == 303 else ["status %s" % r.status], r)
    # registration rate limit per address
    codes = [o.register_public().__class__ for _ in range(0)]
    last = None
    for _ in range(70):
        last = o.register({"redirect_uris": [REDIRECT]})
        if last.status == 429:
            break
    tap.check("client registrations are rate-limited per address (429)",
              [] if last is not None and last.status == 429 else ["never limited"], last)
    del codes


if __name__ == "__main__":
    sys.exit(main())
