#!/usr/bin/env python3
"""test_deb.py - the Debian package: dpkg-buildpackage -us -uc -b builds a .deb that installs the
binaries, man pages, examples, SQL and a default configuration; installed, its responder serves
behind Apache (mod_fcgid) and lighttpd and its `mcpgate doctor` finds nothing wrong.

Installing a package changes the machine, so this runs only when MCPGATE_DEB_CHECK=1
(scripts/test.sh sets it for the default build); it purges the package again unless mcpgate
was installed before.

Run: MCPGATE_DEB_CHECK=1 top_srcdir=. top_builddir=build python3 tests/integration/test_deb.py
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import TOP_SRCDIR, Stack, Tap  # noqa: E402

WANT = ["/usr/bin/mcpgate", "/usr/lib/mcpgate/mcpgate.fcgi", "/etc/mcpgate/mcpgate.conf",
        "/usr/share/man/man8/mcpgate.8.gz", "/usr/share/man/man5/mcpgate.conf.5.gz",
        "/usr/share/mcpgate/sql/001_sessions.sql",
        "/usr/share/doc/mcpgate/examples/apache-mcpgate-fcgid.conf"]


def sh(args, timeout=600, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def installed():
    r = sh(["dpkg-query", "-W", "-f=${Status}", "mcpgate"])
    return r.returncode == 0 and "install ok installed" in r.stdout


def main():
    t = Tap()
    if os.environ.get("MCPGATE_DEB_CHECK") != "1":
        t.skip("the Debian package", "set MCPGATE_DEB_CHECK=1 (scripts/test.sh does) to build "
               "and install it")
        return t.done()
    if os.geteuid() != 0 or not shutil.which("dpkg-buildpackage"):
        t.skip("the Debian package", "needs root and dpkg-buildpackage")
        return t.done()
    work = tempfile.mkdtemp(prefix="mcpgate-deb-")
    had_it = installed()
    try:
        src = os.path.join(work, "mcpgate")
        files = sh(["git", "-C", TOP_SRCDIR, "ls-files", "-z"]).stdout.split("\0")
        for f in filter(None, files):
            dst = os.path.join(src, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(TOP_SRCDIR, f), dst)
        r = sh(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, timeout=900)
        debs = glob.glob(os.path.join(work, "mcpgate_*.deb"))
        if not t.ok(r.returncode == 0 and len(debs) == 1, "dpkg-buildpackage -us -uc -b builds "
                    "the .deb", r.stdout[-2000:], r.stderr[-2000:]):
            return t.done()
        r = sh(["dpkg", "-i", debs[0]])
        t.ok(r.returncode == 0 and installed(), "dpkg -i installs it", r.stdout, r.stderr)
        missing = [p for p in WANT if not os.path.exists(p)]
        t.ok(not missing, "it installs the binaries, man pages, SQL, examples and config",
             repr(missing))
        st_conf = os.stat("/etc/mcpgate/mcpgate.conf")
        t.ok(st_conf.st_mode & 0o777 == 0o640, "the default configuration is not world-readable "
             "(%o)" % (st_conf.st_mode & 0o777))
        r = sh(["/usr/bin/mcpgate", "--version"])
        t.ok(r.returncode == 0 and r.stdout.startswith("mcpgate "), "mcpgate --version",
             r.stdout)
        os.environ["MCPGATE_ADMIN"] = "/usr/bin/mcpgate"
        with Stack(t, servers="lighttpd fcgid", responder="/usr/lib/mcpgate/mcpgate.fcgi",
                   auth="oauth") as st:
            for fe, url in st.front_ends():
                r = sh(["/usr/bin/mcpgate", "doctor", "--url", url + "/mcp"], timeout=120)
                t.ok(r.returncode == 0, "%s: mcpgate doctor against the installed responder "
                     "finds nothing wrong" % fe, r.stdout[-3000:], r.stderr[-1000:])
    finally:
        if not had_it and installed():
            r = sh(["dpkg", "-P", "mcpgate"])
            t.ok(r.returncode == 0 and not installed() and
                 not os.path.exists("/usr/lib/mcpgate/mcpgate.fcgi"),
                 "dpkg -P removes it again", r.stderr)
        shutil.rmtree(work, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
