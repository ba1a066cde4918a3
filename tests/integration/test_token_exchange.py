#!/usr/bin/env python3
"""test_token_exchange.py - auth = resource with a REST backend whose credential slot is an
exchange slot: the caller's access token is exchanged at the external issuer (OAuth 2.0 Token
Exchange, RFC 8693; tests/idp/resource_server.mjs registers the grant in oidc-provider) for a
token whose audience is the backend, and only that token reaches the backend, through
lighttpd, Apache mod_fcgid and Apache mod_proxy_fcgi.

The backend (in the provider's process, on a port of its own) accepts only JWTs of the issuer
for its own audience, checked against the issuer's JWKS: it refuses the caller's token. Per
front end: tools/call reaches the backend as the caller (sub) with an exchanged token (aud the
backend, act the mcpgate client); repeat calls reuse the cached exchanged token (fewer
exchanges than calls); the caller's own token never reaches the backend; a slot with a
client_id of its own exchanges as that client; a backend whose
audience the issuer will not exchange for gets a tool error that says the issuer refused
(invalid_target) and holds no token; an exchanged token the backend revokes is answered 401,
dropped and exchanged once more, and the call succeeds. doctor --idp finds token exchange in
the issuer's grant_types_supported. Backend files with a wrong exchange slot (no audience or
resource, a resource with a fragment, a query slot, with per_user, an unknown key; a per_user
slot on an upstream MCP backend, see test_token_exchange_mcp.py for exchange there) are refused with a message naming the fault. No token appears in the
logs. TAP output."""

import hashlib
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
import npmci  # noqa: E402
from mcptest import Stack, Tap, admin, free_port  # noqa: E402
from oauthlib import mcp_with  # noqa: E402
from test_resource_server import SECRET, Provider  # noqa: E402

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
CLIENT_SECRET = "mcpgate-exchange-secret"
REPEATS = 6


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


def get(url, method="GET"):
    r = mcptest.request(method, url, b"" if method == "POST" else None)
    return r.json or {}


def work_dir(prefix):
    """A work folder with the exchange client's secret file and an empty backends folder, all
    readable by the web servers' user: (work, secret_file, backends)."""
    work = tempfile.mkdtemp(prefix=prefix)
    os.chmod(work, 0o755)
    secret_file = os.path.join(work, "client.secret")
    with open(secret_file, "w") as f:
        f.write(CLIENT_SECRET + "\n")
    os.chmod(secret_file, 0o644)
    backends = os.path.join(work, "backends")
    os.mkdir(backends)
    os.chmod(backends, 0o755)
    return work, secret_file, backends


def client(client_id, secret, grant_types, **extra):
    """oidc-provider metadata of a confidential client (client_secret_basic)."""
    return dict({"client_id": client_id, "client_secret": secret, "grant_types": grant_types,
                 "response_types": [], "redirect_uris": [],
                 "token_endpoint_auth_method": "client_secret_basic"}, **extra)


def rs_config(issuer, secret_file, backends):
    """mcpgate's configuration lines: auth = resource at issuer, exchanging as mcpgate."""
    return "\n".join([
        "rs_issuer = " + issuer, "rs_name = corp", "idp_allow_private = yes",
        "rs_scopes_read = mcp.read", "rs_scopes_write = mcp.write", "rs_validation = jwt",
        "rs_introspection_client_id = mcpgate",
        "rs_introspection_client_secret_file = " + secret_file,
        "backends_dir = " + backends, "credential_key = k1:" + os.urandom(32).hex()])


def conf_with_backends(st, work, d):
    """A copy of the stack's configuration whose backends_dir is d: its path."""
    conf = os.path.join(work, "bad.conf")
    with open(st.env["CONFIG_" + st.front_ends()[0][0].upper()]) as f:
        lines = [ln for ln in f.read().splitlines() if not ln.startswith("backends_dir")]
    with open(conf, "w") as f:
        f.write("\n".join(lines + ["backends_dir = " + d]) + "\n")
    return conf


def logs_hold_no_tokens(tap, st, tokens):
    """The logs note exchanges and hold none of tokens; then mcptest.check_logs."""
    text = ""
    for path in st.log_paths().values():
        with open(path, "rb") as f:
            text += f.read().decode("utf-8", "replace")
    tap.ok(tokens and not any(t[-24:] in text for t in tokens) and "token exchanged" in text,
           "the logs note the exchanges and hold none of the callers' tokens",
           "%d bytes of logs" % len(text))
    mcptest.check_logs(tap, st)


def write_backends(d, port, audience, denied, secret_file):
    """api: exchanged as rs_introspection_client_id; own: as the slot's own client; denied:
    for an audience the issuer does not exchange for."""
    own = {"client_id": "backend-own", "client_secret_file": secret_file}
    for name, aud, client in (("api", audience, {}), ("own", audience, own),
                              ("denied", denied, {})):
        exchange = dict({"audience": aud, "scope": "api.read"}, **client)
        doc = {"mcpgate_backend": 1, "name": name, "base_url": "http://127.0.0.1:%d" % port,
               "allow_private": True, "timeout_ms": 5000,
               "credentials": {"api": {"type": "bearer", "exchange": exchange}},
               "auth": ["api"],
               "tools": [{"name": "whoami", "method": "GET", "path": "/whoami"}]}
        path = os.path.join(d, name + ".json")
        with open(path, "w") as f:
            json.dump(doc, f)
        os.chmod(path, 0o644)


BAD_SLOTS = (  # name, slot, kind, what the loader says
    ("noaud", {"type": "bearer", "exchange": {"scope": "x"}}, "rest",
     "exchange: audience or resource is required"),
    ("fragment", {"type": "bearer", "exchange": {"resource": "https://api.example/x#f"}}, "rest",
     "resource must be an absolute http(s) URL without a fragment"),
    ("inquery", {"type": "query", "name": "k", "exchange": {"audience": "a"}}, "rest",
     "an exchange slot is of type bearer or header"),
    ("peruser", {"type": "bearer", "per_user": True, "exchange": {"audience": "a"}}, "rest",
     "an exchange slot takes the caller's exchanged token only"),
    ("unknown", {"type": "bearer", "exchange": {"audience": "a", "subject": "b"}}, "rest",
     "subject"),
    ("upstream", {"type": "bearer", "per_user": True}, "mcp",
     "per_user and from_idp slots are for REST backends only"),
)


def bad_slots(tap, st, work):
    """Backend files with a wrong exchange slot are refused with a message naming the fault."""
    d = os.path.join(work, "bad")
    os.mkdir(d)
    for name, slot, kind, _ in BAD_SLOTS:
        doc = {"mcpgate_backend": 1, "name": name, "allow_private": True,
               "credentials": {"s": slot}, "auth": ["s"]}
        if kind == "mcp":
            doc.update({"kind": "mcp", "url": "http://127.0.0.1:9/mcp"})
        else:
            doc.update({"base_url": "http://127.0.0.1:9",
                        "tools": [{"name": "t", "method": "GET", "path": "/t"}]})
        with open(os.path.join(d, name + ".json"), "w") as f:
            json.dump(doc, f)
    r = admin(st, "backend", "list", conf=conf_with_backends(st, work, d))
    for name, _, _, says in BAD_SLOTS:
        line = next((ln for ln in r.stderr.splitlines() if "/%s.json" % name in ln), "")
        tap.ok(r.returncode != 0 and says in line,
               "a backend file with a wrong exchange slot (%s) is refused: %s" % (name, says),
               line or r.stderr[-800:])


def call(base, token, tool):
    m = mcp_with(base, token)
    r = m.initialize()
    if r.status != 200:
        return r, None
    r = m.tool(tool, {})
    text = mcptest.tool_text(r) or ""
    try:
        return r, json.loads(text)
    except ValueError:
        return r, None


def is_error(r):
    try:
        return r.json["result"]["isError"] is True
    except (TypeError, KeyError):
        return False


class Counts:
    def __init__(self, issuer, backend):
        self.issuer, self.backend = issuer, backend

    def exchanges(self):
        return get(self.issuer + "/__test/exchanges").get("exchanges", -1)

    def seen(self):
        return get(self.backend + "/__test/seen").get("seen", [])

    def refused(self):
        return get(self.backend + "/__test/refused").get("refused", -1)


def front_end(tap, fe, base, pv, n, audience, tokens):
    tok, r = pv.token("agent", base + "/mcp", "mcp.read mcp.write")
    if not tap.ok(bool(tok), "%s: the caller has an access token for base_url/mcp" % fe,
                  r.describe()):
        return
    tokens.append(tok)
    r = mcptest.request("GET", n.backend + "/whoami", None, {"Authorization": "Bearer " + tok})
    tap.ok(r.status == 401, "%s: the backend itself refuses the caller's own token" % fe,
           r.describe())
    before, seen0 = n.exchanges(), len(n.seen())
    r, j = call(base, tok, "api_whoami")
    tap.ok(j is not None and j.get("sub") == "agent" and j.get("aud") == audience and
           (j.get("act") or {}).get("sub") == "mcpgate" and not is_error(r),
           "%s: tools/call reaches the backend as the caller with an exchanged token "
           "(aud the backend, act mcpgate)" % fe, r.describe())
    tap.ok(n.exchanges() == before + 1, "%s: one exchange at the issuer for the first call" % fe,
           "exchanges %d -> %d" % (before, n.exchanges()))
    for i in range(REPEATS):
        r, j = call(base, tok, "api_whoami")
        if not (j and j.get("sub") == "agent"):
            break
    after = n.exchanges()
    tap.ok(j and j.get("sub") == "agent" and after - before < REPEATS + 1,
           "%s: %d repeat calls succeed and reuse the cached exchanged token (%d exchanges for "
           "%d calls, one cache per process)" % (fe, REPEATS, after - before, REPEATS + 1),
           r.describe())
    seen = n.seen()[seen0:]
    tap.ok(len(seen) == REPEATS + 1 and n.seen().count(sha(tok)) == 1 and
           len(set(seen)) == after - before,
           "%s: every call carried an exchanged token, the caller's reached the backend only "
           "when this test sent it there itself" % fe, "seen %d, distinct %d, exchanges %d" % (len(seen), len(set(seen)),
                                                          after - before))
    # the slot's own client exchanges instead of rs_introspection_client_id
    r, j = call(base, tok, "own_whoami")
    tap.ok(j is not None and j.get("sub") == "agent" and
           (j.get("act") or {}).get("sub") == "backend-own",
           "%s: a slot with its own client_id exchanges as that client" % fe, r.describe())
    # a refused exchange
    r, _ = call(base, tok, "denied_whoami")
    text = mcptest.tool_text(r) or ""
    tap.ok(is_error(r) and "the issuer refused to exchange your access token" in text and
           "invalid_target" in text and tok not in text and tok[-20:] not in text,
           "%s: an exchange the issuer refuses is a tool error saying so (invalid_target), "
           "no token in it" % fe, r.describe())
    # the backend revokes every exchanged token it accepted: each process that cached one
    # meets a 401 once, drops it and exchanges once more, and the call succeeds
    refused0, before = n.refused(), n.exchanges()
    get(n.backend + "/__test/revoke", "POST")
    good = 0
    for i in range(4):
        r, j = call(base, tok, "api_whoami")
        good += j is not None and j.get("sub") == "agent" and not is_error(r)
    refused, after = n.refused(), n.exchanges()
    tap.ok(good == 4 and refused > refused0 and after - before == refused - refused0,
           "%s: an exchanged token the backend revoked is answered 401, dropped and exchanged "
           "once more, and the calls succeed" % fe,
           "good %d of 4, refused %d -> %d, exchanges %d -> %d; %s"
           % (good, refused0, refused, before, after, r.describe()))


def main():
    tap = Tap()
    d = npmci.idp(tap)
    if not d:
        return tap.done()
    work, secret_file, backends = work_dir("mcpgate-tx-")
    port, bport = free_port(), free_port()
    issuer = "http://127.0.0.1:%d" % port
    backend = "http://127.0.0.1:%d" % bport
    audience = backend + "/api"
    write_backends(backends, bport, audience, backend + "/not-exchanged-for", secret_file)
    clients = [client("agent", SECRET, ["client_credentials"], scope="mcp.read mcp.write"),
               client("mcpgate", CLIENT_SECRET, [EXCHANGE]),
               client("backend-own", CLIENT_SECRET, [EXCHANGE])]
    config = rs_config(issuer, secret_file, backends)
    pv = None
    tokens = []
    try:
        pv = Provider(tap, d, port, "k1", clients, extra={
            "exchange_audiences": [audience], "backend": {"port": bport, "audience": audience}})
        with Stack(tap, servers="lighttpd fcgid proxy", responder=mcptest.test_responder(),
                   config_extra=config, auth="resource", code_check_servers="lighttpd") as st:
            n = Counts(issuer, backend)
            for fe, base in st.front_ends():
                front_end(tap, fe, base, pv, n, audience, tokens)
            r = admin(st, "doctor", "--idp", "--json", timeout=60)
            try:
                checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
            except (ValueError, KeyError):
                checks = {}
            tap.ok(checks.get("rs-token-exchange", {}).get("status") == "PASS",
                   "doctor --idp: the issuer's metadata list token exchange",
                   r.stdout[-1500:], r.stderr)
            bad_slots(tap, st, work)
            r = admin(st, "backend", "credential", "api", "api", stdin="a-shared-value")
            tap.ok(r.returncode != 0 and "is an exchange slot" in r.stderr,
                   "backend credential refuses to store a value for an exchange slot",
                   r.stdout, r.stderr)
            logs_hold_no_tokens(tap, st, tokens)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if pv:
            pv.stop()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
