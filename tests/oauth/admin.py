#!/usr/bin/env python3
"""admin.py - the admin console in headless Chromium through lighttpd, Apache mod_fcgid and
Apache mod_proxy_fcgi (tests/oauth/admin.mjs, playwright-core from tests/oauth/'s pinned
packages, Debian's /usr/bin/chromium; screenshots in $top_builddir/tests/artifacts/).

Starts a stack with auth = oauth, adds an admin (`mcpgate user admin`), a user without the
role and a user the console changes, makes tool calls with an API key so the charts have
data, waits until the deployment's counters hold them, then runs admin.mjs once per front
end (with an API key, an OAuth client and, through the OAuth flow, an application connected
by the changed user per front end, for the console to revoke).
Afterwards: the audit trail holds exactly the admin actions the script made (nine per
front end, none for the refused attempts), the revoked keys and the disconnected app's
token get 401, the revoked clients
are revoked, the rules are gone, the changed user ends enabled in no group, and no
password or key reached a log.

Run: top_srcdir=. top_builddir=build python3 tests/oauth/admin.py   (TAP on stdout)
Environment: MCPGATE_CHROMIUM (default /usr/bin/chromium).
"""

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("MCPGATE_TEST_TIMEOUT", "600")

import mcptest  # noqa: E402
import npmci  # noqa: E402
import oauthlib  # noqa: E402
from mcptest import Mcp, Stack, Tap, admin, check_logs  # noqa: E402
from run import check_no_secrets_logged, run_script  # noqa: E402

ADMIN, ADMIN_PW = "root-admin", "admin console password 1"
PLAIN, PLAIN_PW = "plain-user", "plain user password 1"
TARGET, TARGET_PW = "target-user", "target password 123"
SCRIPTS = ("lib.mjs", "admin.mjs")


def add_user(t, st, name, password, role=False):
    r = admin(st, "user", "add", name, stdin=password + "\n", timeout=120)  # scrypt, valgrind
    ok = t.ok(r.returncode == 0, "mcpgate user add %s" % name, r.stdout, r.stderr)
    if role:
        r = admin(st, "user", "admin", name)
        ok = t.ok(r.returncode == 0, "mcpgate user admin %s" % name, r.stdout, r.stderr) and ok
    return ok


def main():
    t = Tap()
    chromium = os.environ.get("MCPGATE_CHROMIUM", "/usr/bin/chromium")
    if not t.ok(shutil.which("node") is not None, "node is installed"):
        return t.done()
    if not os.access(chromium, os.X_OK):
        t.skip("the admin console in Chromium", "%s not found (apt-get install chromium)"
               % chromium)
        return t.done()
    pkgdir = npmci.ensure(t, "oauth")
    if pkgdir is None:
        return t.done()
    for s in SCRIPTS:
        shutil.copyfile(os.path.join(HERE, s), os.path.join(pkgdir, s))
    artifacts = os.path.join(mcptest.TOP_BUILDDIR, "tests", "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    # under valgrind and ASan through lighttpd only (the default build runs all three):
    # the console's pages are the responder's code, the same behind each front end
    with Stack(t, servers="lighttpd fcgid proxy", code_check_servers="lighttpd",
               auth="oauth") as st:
        fes = st.front_ends()
        ok = add_user(t, st, ADMIN, ADMIN_PW, role=True) and add_user(t, st, PLAIN, PLAIN_PW) \
            and add_user(t, st, TARGET, TARGET_PW)
        r = admin(st, "key", "create", PLAIN, "--name", "console data")
        key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
        if ok and t.ok(key, "an API key for the calls the charts show", r.stderr):
            c = Mcp(fes[0][1], name="admin-data", bearer=key)
            c.initialize()
            for i in range(5):
                c.tool("echo", {"message": "chart %d" % i})
            c.tool("echo", {})

            def flushed():
                ok_, n = st.psql("SELECT count(*) FROM metrics WHERE name ="
                                 " 'mcpgate_tool_call_duration_seconds_count'")
                return ok_ and n not in ("", "0"), n
            t.ok(mcptest.retry_until(flushed, 30, 0.5)[0],
                 "the calls reached the deployment's counters")
            secrets = set()
            console_keys = {}
            for fe, url in fes:
                r = admin(st, "key", "create", TARGET, "--name", "console-key-admin-" + fe)
                console_keys[fe] = next((w for w in r.stdout.split() if w.startswith("mgk_")),
                                        "")
                secrets.add(console_keys[fe])
                r = mcptest.post_json(url + "/register", {
                    "redirect_uris": ["http://127.0.0.1:9/cb"],
                    "client_name": "console-client-admin-" + fe,
                    "token_endpoint_auth_method": "none"})
                t.ok(console_keys[fe] and r.status == 201,
                     "%s: a key and a client for the console to revoke" % fe, r.describe())
            app_tokens = {}
            for fe, url in fes:
                client, tok, problems = oauthlib.OAuth(url).full_flow(
                    oauthlib.Browser(), TARGET, TARGET_PW)
                app_tokens[fe] = (tok or {}).get("access_token", "")
                secrets.add(app_tokens[fe])
                t.ok(app_tokens[fe] and not problems,
                     "%s: %s connects an application (OAuth flow)" % (fe, TARGET), *problems)
            for fe, url in fes:
                run_script(t, pkgdir, fe, ["admin.mjs", url, ADMIN, ADMIN_PW, PLAIN, PLAIN_PW,
                                           TARGET, artifacts, "admin-" + fe], secrets)
            ok_, out = st.psql("SELECT tool, count(*) FROM audit_log WHERE tool LIKE 'admin/%'"
                               " GROUP BY tool ORDER BY tool")
            want = "\n".join("%s|%d" % (a, len(fes)) for a in (
                "admin/app_revoke", "admin/client_revoke", "admin/group_add", "admin/group_remove",
                "admin/key_revoke", "admin/policy_add", "admin/policy_remove",
                "admin/user_disable", "admin/user_enable"))
            t.ok(ok_ and out == want, "the audit trail holds each confirmed admin action once "
                 "per front end, and nothing for the refused ones", out, "want:\n" + want)
            for fe, url in fes:
                c = Mcp(url, name="revoked", bearer=console_keys[fe])
                r = c.post(c.initialize_body(), session=False)
                t.ok(r.status == 401, "%s: the key revoked in the console gets 401" % fe,
                     r.describe())
            for fe, url in fes:
                r = oauthlib.mcp_with(url, app_tokens[fe]).post(
                    Mcp(url).initialize_body(), session=False)
                t.ok(r.status == 401, "%s: the app disconnected in the console gets 401" % fe,
                     r.describe())
            ok_, out = st.psql("SELECT count(*) FROM oauth_clients WHERE name LIKE"
                               " 'console-client-%' AND revoked_at IS NULL")
            t.ok(ok_ and out == "0", "the clients revoked in the console are revoked", out)
            ok_, out = st.psql("SELECT count(*) FROM tool_policies")
            t.ok(ok_ and out == "0", "the rules added in the console are removed again", out)
            ok_, out = st.psql("SELECT u.disabled, count(m.group_id) FROM users u LEFT JOIN"
                               " group_members m ON m.user_id = u.id WHERE u.username = '%s'"
                               " GROUP BY u.id" % TARGET)
            t.ok(ok_ and out == "f|0", "the changed user ends enabled and in no group", out)
            shots = sorted(f for f in os.listdir(artifacts) if f.startswith("admin-"))
            t.diag("screenshots in %s: %s" % (artifacts, ", ".join(shots)))
            check_no_secrets_logged(t, st, secrets | {ADMIN_PW, PLAIN_PW})
        check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
