#!/usr/bin/env python3
"""run.py - mcpgate's OAuth authorization server as real clients see it, through lighttpd,
Apache mod_fcgid and Apache mod_proxy_fcgi:

  sdk_flow.mjs  the official MCP TypeScript SDK client's OAuth support: the 401, discovery,
                dynamic registration, PKCE, the pages, the token, tool calls, a refresh the
                SDK does by itself, and a read-only grant;
  browser.mjs   the sign-in, consent and account pages in headless Chromium (Debian's
                /usr/bin/chromium through playwright-core), with a screenshot of every page
                in $top_builddir/tests/artifacts/.

Both are pinned in package.json / package-lock.json beside this file and installed with
`npm ci` into the build tree (tests/integration/npmci.py). Starts its own stack with
auth = oauth and the test responder (for a write tool), adds a user with `mcpgate user add`,
runs both scripts once per front end, turns their JSON lines into TAP, and checks that no
token, code or password the scripts handled reached a log (the scripts
print each as a {"secret": ...} line). Every process it starts is
stopped, with time limits on each.

Run: top_srcdir=. top_builddir=build python3 tests/oauth/run.py   (TAP on stdout)
Environment: MCPGATE_OAUTH_FRONT_ENDS (default "lighttpd fcgid proxy"; lighttpd only
under valgrind and ASan, mcptest.FEWER_FRONT_ENDS),
MCPGATE_CHROMIUM (default /usr/bin/chromium).
"""

import json
import os
import shutil
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("MCPGATE_TEST_TIMEOUT", "600")

import mcptest  # noqa: E402
import npmci  # noqa: E402
from mcptest import Stack, Tap, check_logs, test_responder  # noqa: E402

USER, PASSWORD = "carol", "oauth test password 1"
SCRIPTS = ("lib.mjs", "sdk_flow.mjs", "browser.mjs")
SCRIPT_TIMEOUT_S = 180 * mcptest.SLOW
CONFIG = "\n".join(["register_per_hour = 1000", "refresh_grace_s = 2"])


def run_script(t, pkgdir, fe, argv, secrets):
    """Runs `node argv...` in pkgdir (own process group, killed on timeout) and reports
    each JSON case line as one TAP line; {"secret": s} lines are added to secrets.
    Returns the number of cases."""
    name = argv[0]
    env = dict(os.environ)
    env.pop("NODE_OPTIONS", None)
    p = subprocess.Popen(["node"] + argv, cwd=pkgdir, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=SCRIPT_TIMEOUT_S)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        out, err = p.communicate()
        rc, err = None, (err or "") + "\ntimed out after %ss" % SCRIPT_TIMEOUT_S
    n = 0
    for line in (out or "").splitlines():
        try:
            case = json.loads(line)
        except ValueError:
            t.diag("%s %s: %s" % (fe, name, line[:300]))
            continue
        if "secret" in case:
            secrets.add(str(case["secret"]))
            continue
        n += 1
        t.ok(case.get("ok"), "%s: %s" % (fe, case.get("desc")),
             *["problem: %s" % d for d in case.get("diag", [])])
    t.ok(rc == 0 and n > 0, "%s: %s ran all its cases (exit %s, %d cases)" % (fe, name, rc, n),
         *(err or "").splitlines()[-20:])
    return n


def install_scripts(pkgdir, scripts):
    """Copies scripts (from this directory) beside pkgdir's node_modules. Returns the
    screenshot directory, $top_builddir/tests/artifacts (made)."""
    for s in scripts:
        shutil.copyfile(os.path.join(HERE, s), os.path.join(pkgdir, s))
    artifacts = os.path.join(mcptest.TOP_BUILDDIR, "tests", "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    return artifacts


def add_user(t, st, fe):
    conf = st.env["CONFIG_" + fe.upper()]
    admin = os.environ.get("MCPGATE_ADMIN") or os.path.join(mcptest.TOP_BUILDDIR, "src",
                                                            "mcpgate")
    try:
        r = subprocess.run([admin, "--config", conf, "user", "add", USER], input=PASSWORD + "\n",
                           capture_output=True, text=True, timeout=60)
        ok, diag = r.returncode == 0, [r.stdout, r.stderr]
    except (OSError, subprocess.TimeoutExpired) as e:
        ok, diag = False, [str(e)]
    return t.ok(ok, "mcpgate user add %s (password on stdin)" % USER, *diag)


def check_no_secrets_logged(t, st, secrets):
    """No password, token or code the scripts handled is in a log, not even in part."""
    texts = []
    for path in st.log_paths().values():
        try:
            with open(path, "rb") as f:
                texts.append(f.read().decode("utf-8", "replace"))
        except OSError:
            pass
    text = "\n".join(texts)
    leaks = []
    for s in sorted(secrets | {PASSWORD}):
        if any(s[i:i + 16] in text for i in range(0, max(1, len(s) - 16 + 1), 4)):
            leaks.append("a 16-character part of a secret (%s...) is in a log" % s[:4])
    t.check("no password, token or code (of %d) is in a log" % (len(secrets) + 1), leaks)


def main():
    t = Tap()
    if not t.ok(shutil.which("node") is not None, "node is installed"):
        return t.done()
    chromium = os.environ.get("MCPGATE_CHROMIUM", "/usr/bin/chromium")
    have_chromium = os.access(chromium, os.X_OK)
    pkgdir = npmci.ensure(t, "oauth")
    if pkgdir is None:
        return t.done()
    artifacts = install_scripts(pkgdir, SCRIPTS)
    secrets = set()
    servers = os.environ.get("MCPGATE_OAUTH_FRONT_ENDS", "lighttpd fcgid proxy")
    # under valgrind and ASan lighttpd only, unless MCPGATE_OAUTH_FRONT_ENDS is set: the
    # pages and the SDK's flow are the responder's code whatever front end it is behind
    check_servers = None if "MCPGATE_OAUTH_FRONT_ENDS" in os.environ else "lighttpd"
    with Stack(t, servers=servers, responder=test_responder(), auth="oauth",
               config_extra=CONFIG, code_check_servers=check_servers) as st:
        fes = st.front_ends()
        if fes and add_user(t, st, fes[0][0]):
            for fe, url in fes:
                run_script(t, pkgdir, fe, ["sdk_flow.mjs", url, USER, PASSWORD], secrets)
                if have_chromium:
                    run_script(t, pkgdir, fe, ["browser.mjs", url, USER, PASSWORD, artifacts,
                                               "oauth-" + fe], secrets)
                else:
                    t.skip("%s: pages in Chromium" % fe, "%s not found (apt-get install "
                           "chromium)" % chromium)
            shots = sorted(f for f in os.listdir(artifacts) if f.endswith(".png"))
            t.diag("screenshots in %s: %s" % (artifacts, ", ".join(shots)))
        check_no_secrets_logged(t, st, secrets)
        check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
