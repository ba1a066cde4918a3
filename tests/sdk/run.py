#!/usr/bin/env python3
"""run.py - mcpgate as the MCP TypeScript SDK (package.json beside this file, installed with
`npm ci` into the build tree) sees it, through lighttpd and through Apache mod_fcgid.

Starts a stack with the test responder and page_size = 2 (so tools/list takes several
pages), then runs client.mjs once per front end with the machine's Node.js; each case it
reports becomes one TAP line (see client.mjs for the cases).

Run: top_srcdir=. top_builddir=build python3 tests/sdk/run.py   (TAP on stdout)
"""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("MCPGATE_TEST_TIMEOUT", "600")

import npmci  # noqa: E402
from mcptest import Stack, Tap, check_logs, test_responder  # noqa: E402

PAGE_SIZE = 2
# auth = none: the SDK client has no credentials here. Short heartbeats: a closed
# client's GET stream holds a worker until a heartbeat cannot be written.
CONFIG_EXTRA = "page_size = %d\nauth = none\nsse_heartbeat_s = 2" % PAGE_SIZE
CLIENT_TIMEOUT_S = 240


def run_client(t, pkgdir, fe, url):
    script = os.path.join(pkgdir, "client.mjs")
    if os.path.realpath(script) != os.path.realpath(os.path.join(HERE, "client.mjs")):
        shutil.copyfile(os.path.join(HERE, "client.mjs"), script)
    try:
        r = subprocess.run(["node", script, url, str(PAGE_SIZE)], cwd=pkgdir,
                           capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S,
                           stdin=subprocess.DEVNULL)
        rc, out, err = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = None, e.stdout or "", "timed out after %ss" % CLIENT_TIMEOUT_S
        out = out.decode() if isinstance(out, bytes) else out
    n = 0
    for line in out.splitlines():
        try:
            case = json.loads(line)
        except ValueError:
            t.diag("%s: client output: %s" % (fe, line[:300]))
            continue
        n += 1
        t.ok(case.get("ok"), "%s: %s" % (fe, case.get("desc")),
             *["problem: %s" % d for d in case.get("diag", [])])
    t.ok(rc == 0 and n > 0, "%s: client.mjs ran all its cases (exit %s, %d cases)" % (fe, rc, n),
         *(err or "").splitlines()[-20:])


def main():
    t = Tap()
    pkgdir = npmci.ensure(t, "sdk")
    if pkgdir is None:
        return t.done()
    if not t.ok(shutil.which("node") is not None, "node is installed"):
        return t.done()
    # under valgrind and ASan through lighttpd only (the default build runs both): the SDK
    # client meets the responder's code, the same behind each front end
    with Stack(t, servers="lighttpd fcgid", code_check_servers="lighttpd",
               responder=test_responder(), config_extra=CONFIG_EXTRA) as st:
        for fe, url in st.front_ends():
            run_client(t, pkgdir, fe, url)
        check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
