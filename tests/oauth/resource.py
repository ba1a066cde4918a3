#!/usr/bin/env python3
"""resource.py - auth = resource as a real MCP client meets it: the official MCP TypeScript
SDK client, which has never seen mcpgate's own authorization server, through lighttpd,
Apache mod_fcgid and Apache mod_proxy_fcgi (rs_flow.mjs, headless Chromium at the
issuer's pages).

The external authorization server is the npm package oidc-provider
(tests/idp/resource_server.mjs); the SDK and playwright-core are tests/oauth/'s. Twice,
each with its own stack and provider:

  jwt            rs_validation = jwt; the provider issues JWT access tokens (RFC 9068)
                 and is never asked to introspect one;
  introspection  rs_validation = introspection; the provider issues opaque access tokens,
                 which mcpgate checks at its introspection endpoint (RFC 7662).

Per front end rs_flow.mjs goes from mcpgate's 401 to the protected resource metadata, to
the issuer they name, registers there, signs in as alice in Chromium, gets a token for
base_url/mcp and calls tools through mcpgate. Then: alice is one user keyed by (rs_name,
sub) with the groups of her token, the audit rows of her calls name her and each front
end's client (registered at the issuer), no token or code the script handled is in a
log, and no session id or Authorization value is in an error log. Screenshots of the
issuer's pages in $top_builddir/tests/artifacts/rs-*.png.

Run: top_srcdir=. top_builddir=build python3 tests/oauth/resource.py   (TAP on stdout)
Environment: MCPGATE_OAUTH_FRONT_ENDS (default "lighttpd fcgid proxy"; lighttpd only under
valgrind and ASan, mcptest.FEWER_FRONT_ENDS), MCPGATE_CHROMIUM (default /usr/bin/chromium).
"""

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
os.environ.setdefault("MCPGATE_TEST_TIMEOUT", "600")

import mcptest  # noqa: E402
import npmci  # noqa: E402
from mcptest import Stack, Tap, check_logs, free_port, test_responder  # noqa: E402
from run import check_no_secrets_logged, install_scripts, run_script  # noqa: E402
from test_resource_server import CLIENTS, Provider, introspection_secret_file  # noqa: E402

LOGIN = "a-1001"  # alice at resource_server.mjs
SCRIPTS = ("lib.mjs", "rs_flow.mjs")
MODES = (("jwt", "jwt", ["rs_validation = jwt"]),
         ("introspection", "opaque", ["rs_validation = introspection",
                                      "rs_introspection_client_id = mcpgate",
                                      "rs_introspection_client_secret_file = %s"]))


def check_person(t, st, mode, n_front_ends):
    _, rows = st.psql("SELECT u.username || ':' || u.idp || ':' || u.subject || ':' || "
                      "coalesce((SELECT string_agg(g.name, ',') FROM group_members m JOIN "
                      "user_groups g ON g.id = m.group_id WHERE m.user_id = u.id), '') "
                      "FROM users u")
    t.ok(rows.split() == ["alice@corp:corp:%s:staff" % LOGIN],
         "%s: the only user is alice, keyed by (rs_name, sub), with her token's groups" % mode,
         rows)
    _, rows = st.psql("SELECT u.username || ' ' || count(DISTINCT a.client_id) FROM audit_log a "
                      "JOIN users u ON u.id = a.user_id WHERE a.tool = 'echo' AND "
                      "a.client_id <> '' GROUP BY u.username")
    t.ok(rows.split() == ["alice@corp", str(n_front_ends)],
         "%s: the audit rows of the echo calls name alice and %d clients registered at the "
         "issuer (one per front end)" % (mode, n_front_ends), rows)


def run_mode(t, idp, pkgdir, artifacts, secret_file, mode, fmt, settings, secrets):
    port = free_port()
    issuer = "http://127.0.0.1:%d" % port
    config = "\n".join(["rs_issuer = " + issuer, "rs_name = corp", "idp_allow_private = yes",
                        "rs_scopes_read = mcp.read", "rs_scopes_write = mcp.write"] +
                       [x.replace("%s", secret_file) for x in settings])
    servers = os.environ.get("MCPGATE_OAUTH_FRONT_ENDS", "lighttpd fcgid proxy")
    check_servers = None if "MCPGATE_OAUTH_FRONT_ENDS" in os.environ else "lighttpd"
    pv = None
    try:
        with Stack(t, servers=servers, responder=test_responder(), auth="resource",
                   config_extra=config, code_check_servers=check_servers) as st:
            # started after the stack: a stack that fails to start bails out at once
            pv = Provider(t, idp, port, "k1", CLIENTS, opaque=(fmt == "opaque"))
            fes = st.front_ends()
            before = pv.introspections()
            for fe, url in fes:
                run_script(t, pkgdir, "%s (%s)" % (fe, mode),
                           ["rs_flow.mjs", url, issuer, LOGIN, fmt, artifacts,
                            "rs-%s-%s" % (mode, fe)], secrets)
            n = pv.introspections() - before
            if fmt == "jwt":
                t.ok(n == 0, "jwt: the tokens were checked locally (%d introspection requests)"
                     % n)
            else:
                t.ok(n >= len(fes), "introspection: the issuer answered %d introspection "
                     "requests (at least one per front end)" % n)
            check_person(t, st, mode, len(fes))
            check_no_secrets_logged(t, st, secrets)
            check_logs(t, st)
    finally:
        if pv:
            pv.stop()


def main():
    t = Tap()
    if not t.ok(shutil.which("node") is not None, "node is installed"):
        return t.done()
    chromium = os.environ.get("MCPGATE_CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        t.skip("the SDK client with the sign-in in Chromium",
               "%s not found (apt-get install chromium)" % chromium)
        return t.done()
    pkgdir = npmci.ensure(t, "oauth")
    idp = npmci.idp(t)
    if pkgdir is None or idp is None:
        return t.done()
    artifacts = install_scripts(pkgdir, SCRIPTS)
    work, secret_file = introspection_secret_file()
    try:
        secrets = set()
        for mode, fmt, settings in MODES:
            run_mode(t, idp, pkgdir, artifacts, secret_file, mode, fmt, settings, secrets)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
