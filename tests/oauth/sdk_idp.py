#!/usr/bin/env python3
"""sdk_idp.py - a real MCP client whose user signs in at mcpgate's upstream identity
provider, end to end, through lighttpd, Apache mod_fcgid and Apache mod_proxy_fcgi:
the official TypeScript SDK client's OAuth support with the pages in headless Chromium
(sdk_idp.mjs), a real OpenID provider (oidc-provider, tests/idp/provider.mjs), and a
REST backend whose credential slot is the signed-in user's provider token (from_idp).

mcpgate has one identity provider and no local users, so /authorize goes straight to the
provider. For Alice and then Bob, once per front end, the SDK client starts from mcpgate's
401, discovers, registers, and Chromium signs in on the provider's login page, allows on
mcpgate's consent page and lands at the SDK's redirect URI; the SDK gets mcpgate's token
and calls the backend's tool. The backend (here) takes the Bearer token only when the
provider's userinfo endpoint accepts it, and answers with the provider's subject for it
and that subject's projects; it also checks the operator's own key (a second slot, a
file) came in its own header. Afterwards: every token the backend got was a provider
token of the user who called, never one of mcpgate's tokens or codes the script saw, nor
the operator's key; and no token, code or key is in any log.

Under valgrind and ASan lighttpd only (mcptest.FEWER_FRONT_ENDS): the flow is the
responder's code whatever front end it is behind. Run: top_srcdir=. top_builddir=build
python3 tests/oauth/sdk_idp.py (TAP on stdout). Environment: MCPGATE_CHROMIUM (default
/usr/bin/chromium); without Chromium the test fails (it is what the test is about).
"""

import http.server
import json
import os
import shutil
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
os.environ.setdefault("MCPGATE_TEST_TIMEOUT", "600")

import mcptest  # noqa: E402
import npmci  # noqa: E402
from mcptest import Stack, Tap, free_port  # noqa: E402
from run import check_no_secrets_logged, install_scripts, run_script  # noqa: E402
from test_idp import Provider  # noqa: E402

SCRIPTS = ("lib.mjs", "sdk_idp.mjs")
IDP = "hosting"
TOOL = "hosting_list_projects"
USERS = [{"login": "a-1001", "username": "alice@" + IDP, "projects": ["alice-blog", "alice-shop"]},
         {"login": "b-2002", "username": "bob@" + IDP, "projects": ["bob-wiki"]}]
PROJECTS = {u["login"]: u["projects"] for u in USERS}


class Api(http.server.BaseHTTPRequestHandler):
    """The provider's API: GET /projects takes the Bearer token only when the provider's
    userinfo endpoint accepts it, and lists the projects of the subject it names; every
    accepted token is kept in seen (token, subject)."""
    issuer = ""
    operator_key = ""
    seen = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        sub = None
        if self.path == "/projects" and token:
            r = mcptest.request("GET", self.issuer + "/me", None, {"Authorization": auth})
            sub = (r.json or {}).get("sub") if r.status == 200 else None
        if sub:
            Api.seen.append((token, sub))
            op = self.headers.get("X-Operator-Key", "")
            body = {"sub": sub, "projects": PROJECTS.get(sub, []),
                    "operator_key": "ok" if op == self.operator_key and token != op else
                    "missing or wrong"}
            status = 200
        else:
            body, status = {"error": "invalid_token"}, 401
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def write_backend(d, api_port):
    """The backend: the operator's key from a file, the user's token from the provider."""
    key_file = os.path.join(d, "operator.key")
    with open(key_file, "w") as f:
        f.write(Api.operator_key + "\n")
    doc = {"mcpgate_backend": 1, "name": "hosting",
           "base_url": "http://127.0.0.1:%d" % api_port, "allow_private": True,
           "timeout_ms": 10000 * mcptest.SLOW,
           "credentials": {"op": {"type": "header", "name": "X-Operator-Key", "file": key_file},
                           "me": {"type": "bearer", "from_idp": IDP}},
           "auth": ["op", "me"],
           "tools": [{"name": "list_projects", "method": "GET", "path": "/projects"}]}
    with open(os.path.join(d, "hosting.json"), "w") as f:
        json.dump(doc, f)
    # the responders run as the web server's user (test secrets, nothing else is here)
    for p in (d, key_file, os.path.join(d, "hosting.json")):
        os.chmod(p, 0o755 if p == d else 0o644)


def check_backend_tokens(t, fe, seen, secrets):
    """What the backend got in this front end's run: the provider tokens of both users,
    none of them mcpgate's, a code or the operator's key."""
    subs = sorted({sub for _, sub in seen})
    t.ok(subs == sorted(PROJECTS) and len({tok for tok, _ in seen}) >= len(PROJECTS),
         "%s: the backend got %d calls, each with a provider token the provider accepted, "
         "one token per user (%s)" % (fe, len(seen), ", ".join(subs)))
    wrong = [tok[:4] for tok, _ in seen if tok in secrets or tok == Api.operator_key]
    t.check("%s: no token the backend got is mcpgate's token or code, or the operator's key"
            % fe, ["%s... is one of them" % w for w in wrong])


def main():
    t = Tap()
    if not t.ok(shutil.which("node") is not None, "node is installed"):
        return t.done()
    chromium = os.environ.get("MCPGATE_CHROMIUM", "/usr/bin/chromium")
    if not t.ok(os.access(chromium, os.X_OK), "Chromium is installed (%s)" % chromium,
                "apt-get install chromium"):
        return t.done()
    pkgdir = npmci.ensure(t, "oauth")
    idp_dir = npmci.idp(t)
    if pkgdir is None or idp_dir is None:
        return t.done()
    artifacts = install_scripts(pkgdir, SCRIPTS)
    work = tempfile.mkdtemp(prefix="mcpgate-sdk-idp-")
    port = free_port()
    Api.issuer = "http://127.0.0.1:%d" % port
    Api.operator_key = "operator-" + os.urandom(16).hex()
    api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api.daemon_threads = True
    threading.Thread(target=api.serve_forever, daemon=True).start()
    write_backend(work, api.server_address[1])
    config = "\n".join([
        "idp = %s issuer=%s client_id=mcpgate-sdk" % (IDP, Api.issuer),
        "idp_allow_private = yes", "local_users = no", "register_per_hour = 1000",
        "backends_dir = %s" % work, "credential_key = k1:" + os.urandom(32).hex()])
    secrets = {Api.operator_key}  # and every token and code the script saw
    provider_tokens = set()
    pv = None
    try:
        with Stack(t, servers="lighttpd fcgid proxy", config_extra=config, auth="oauth",
                   code_check_servers="lighttpd") as st:
            fes = st.front_ends()
            pv = Provider(t, idp_dir, port, [{
                "client_id": "mcpgate-sdk", "token_endpoint_auth_method": "none",
                "redirect_uris": [base + "/login/callback" for _, base in fes],
                "grant_types": ["authorization_code", "refresh_token"]}])
            for fe, base in fes:
                Api.seen = []
                cfg = {"base": base, "issuer": Api.issuer, "tool": TOOL,
                       "artifacts": artifacts, "prefix": "sdk-idp-" + fe, "users": USERS}
                run_script(t, pkgdir, fe, ["sdk_idp.mjs", json.dumps(cfg)], secrets)
                check_backend_tokens(t, fe, list(Api.seen), secrets)
                provider_tokens |= {tok for tok, _ in Api.seen}
            _, rows = st.psql("SELECT string_agg(username || ':' || idp || ':' || subject, ' ' "
                              "ORDER BY username) FROM users")
            t.ok(rows == "alice@hosting:hosting:a-1001 bob@hosting:hosting:b-2002",
                 "the two users were provisioned once each, keyed by provider and subject",
                 rows)
            check_no_secrets_logged(t, st, secrets | provider_tokens)
            mcptest.check_logs(t, st)
    finally:
        api.shutdown()
        shutil.rmtree(work, ignore_errors=True)
        if pv:
            pv.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
