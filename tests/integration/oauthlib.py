"""oauthlib.py - helpers for the OAuth integration tests (stdlib only).

Browser   a cookie jar over mcptest.request(): follows nothing by itself, remembers
          Set-Cookie, and can fill in the login and consent forms.
pkce()    a (verifier, S256 challenge) pair.
OAuth     one front end's client side: metadata, registration, the authorization code
          flow driven through the pages, token requests.
"""

import base64
import hashlib
import html.parser
import secrets
import urllib.parse

import mcptest

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REDIRECT = "http://127.0.0.1:9/callback"


def pkce():
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def form_body(fields):
    return urllib.parse.urlencode(fields).encode()


class _Inputs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs = []

    def handle_starttag(self, tag, attrs):
        if tag == "input":
            self.inputs.append(dict(attrs))


def hidden_fields(page):
    p = _Inputs()
    p.feed(page.decode("utf-8", "replace"))
    return {i.get("name"): i.get("value", "") for i in p.inputs
            if i.get("type") == "hidden" and i.get("name")}


class Browser:
    def __init__(self):
        self.cookies = {}

    def _headers(self, extra=None):
        h = {}
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        h.update(extra or {})
        return h

    def _remember(self, r):
        for v in r.header_all("Set-Cookie"):
            pair = v.split(";", 1)[0]
            name, _, value = pair.partition("=")
            if "Max-Age=0" in v or not value:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()
        return r

    def get(self, url, headers=None):
        return self._remember(mcptest.request("GET", url, None, self._headers(headers)))

    def post(self, url, fields, headers=None):
        h = dict(FORM)
        h.update(headers or {})
        return self._remember(mcptest.request("POST", url, form_body(fields), self._headers(h)))


class OAuth:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.resource = self.base + "/mcp"

    def url(self, path):
        return self.base + path

    def register(self, body):
        return mcptest.post_json(self.url("/register"), body,
                                 {"Accept": "application/json"})

    def register_public(self, redirect=REDIRECT, name="test client"):
        r = self.register({"redirect_uris": [redirect], "client_name": name,
                           "token_endpoint_auth_method": "none",
                           "grant_types": ["authorization_code", "refresh_token"],
                           "response_types": ["code"]})
        return r.json if r.status == 201 else None

    def authorize_url(self, params):
        return self.url("/authorize") + "?" + urllib.parse.urlencode(params)

    def auth_params(self, client_id, challenge, redirect=REDIRECT, state=None, **extra):
        p = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
             "code_challenge": challenge, "code_challenge_method": "S256",
             "state": state or secrets.token_urlsafe(12), "resource": self.resource}
        p.update(extra)
        return {k: v for k, v in p.items() if v is not None}

    def login(self, browser, user, password, return_to="/account"):
        page = browser.get(self.url("/login?return_to=") + urllib.parse.quote(return_to))
        fields = hidden_fields(page.body)
        fields.update({"username": user, "password": password})
        return browser.post(self.url("/login"), fields)

    def consent(self, browser, page, decision="allow", read_only=False, drop=()):
        fields = hidden_fields(page.body)
        fields["decision"] = decision
        if read_only:
            fields["read_only"] = "1"
        for k in drop:
            fields.pop(k, None)
        return browser.post(self.url("/consent"), fields)

    def authorize(self, browser, params, user, password, decision="allow", read_only=False):
        """Runs GET /authorize, sign-in when asked, consent when shown. Returns
        (final redirect Response, dict of the redirect's query)."""
        r = browser.get(self.authorize_url(params))
        if r.status == 303 and "/login" in (r.header("Location") or ""):
            back = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location")).query)
            r = self.login(browser, user, password, back["return_to"][0])
            if r.status != 303:
                return r, {}
            r = browser.get(self.base + r.header("Location"))
        if r.status == 200 and b"Allow access" in r.body:
            r = self.consent(browser, r, decision, read_only)
        loc = r.header("Location") or ""
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
        return r, {k: v[0] for k, v in q.items()}

    def token(self, fields, headers=None):
        h = dict(FORM)
        h.update(headers or {})
        return mcptest.request("POST", self.url("/token"), form_body(fields), h)

    def code_grant(self, client_id, code, verifier, redirect=REDIRECT, **extra):
        f = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
             "redirect_uri": redirect, "client_id": client_id, "resource": self.resource}
        f.update(extra)
        return self.token({k: v for k, v in f.items() if v is not None})

    def refresh(self, client_id, refresh_token, **extra):
        f = {"grant_type": "refresh_token", "refresh_token": refresh_token,
             "client_id": client_id}
        f.update(extra)
        return self.token(f)

    def full_flow(self, browser, user, password, scope=None, read_only=False):
        """Registration, authorization and code exchange. Returns (client, token json,
        problems)."""
        client = self.register_public()
        if not client:
            return None, None, ["registration failed"]
        verifier, challenge = pkce()
        r, q = self.authorize(browser, self.auth_params(client["client_id"], challenge,
                                                        scope=scope),
                              user, password, read_only=read_only)
        if "code" not in q:
            return client, None, ["no code in the redirect: %s" % r.describe()]
        t = self.code_grant(client["client_id"], q["code"], verifier)
        if t.status != 200:
            return client, None, ["token request failed: %s" % t.describe()]
        return client, t.json, []


def mcp_with(base, token):
    """An mcptest.Mcp that sends token as its bearer."""
    return mcptest.Mcp(base, bearer=token)
