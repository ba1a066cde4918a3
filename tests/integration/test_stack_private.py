#!/usr/bin/env python3
"""test_stack_private.py - the local stack (scripts/stack.sh) is private: an unprivileged
local user can neither log in to its PostgreSQL nor read its configs and logs, while the
users it runs as (root, postgres, www-data) keep working.

Run as root (the stack then runs PostgreSQL as postgres and the responders as www-data);
as another user the checks that need other Unix users are skipped. `nobody` stands for any
other local user; with the group www-data added it can enter the socket directory, which
shows that PostgreSQL authenticates (peer), not only that the directory is closed.

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_stack_private.py
"""

import glob
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import Mcp, Stack, Tap, check_logs, ping_ok  # noqa: E402

OTHER = "nobody"


def as_user(argv, groups=None):
    """Runs argv as OTHER (with the supplementary groups given); returns (rc, output)."""
    cmd = ["setpriv", "--reuid=" + OTHER, "--regid=nogroup"]
    cmd += ["--groups=" + groups] if groups else ["--clear-groups"]
    r = subprocess.run(cmd + ["--"] + argv, capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL, cwd="/")
    return r.returncode, (r.stdout + r.stderr).strip()


def psql_as_other(st, groups=None):
    return as_user(["psql", "-XAtq", "-h", st.env["PGHOST"], "-p", st.env["PGPORT"], "-U",
                    "postgres", "-d", "mcpgate", "-c", "SELECT 1"], groups)


def main():
    t = Tap()
    root = os.geteuid() == 0
    with Stack(t) as st:
        ok, out = st.psql("SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'")
        t.ok(ok and out == "0", "pg_hba.conf trusts no connection", "got: %r %r" % (ok, out))
        ok, out = st.psql("SELECT 1")
        t.ok(ok and out == "1", "the invoking user (root) still reaches PostgreSQL", out)
        for fe, url in st.front_ends():
            c = Mcp(url, name="private-" + fe)
            r = c.initialize()
            if t.check("%s: the responders reach PostgreSQL: initialize" % fe,
                       [] if c.sid else ["no session"], r):
                p, r = ping_ok(c)
                t.check("%s: ping in the new session" % fe, p, r)
        if not root:
            for what in ("PostgreSQL refuses another local user",
                         "PostgreSQL authenticates (peer), not only by directory mode",
                         "configs and logs are unreadable by another local user"):
                t.skip(what, "not run as root: no other Unix user to try")
            return t.done()

        rc, out = psql_as_other(st)
        t.ok(rc != 0, "%s cannot connect to the stack's PostgreSQL" % OTHER, out)
        rc, out = psql_as_other(st, groups="www-data")
        t.ok(rc != 0 and "authentication failed" in out,
             "%s, even with the socket directory open to it, fails peer authentication"
             % OTHER, out)
        mode = stat.S_IMODE(os.stat(st.env["PGHOST"]).st_mode)
        t.ok(mode & 0o007 == 0, "the socket directory is closed to other users (mode %o)" % mode)

        # as scripts/run.sh's .stack: the stack's directory open to everyone
        os.chmod(st.env["STACK_DIR"], 0o755)
        files = [st.env[k] for k in sorted(st.env) if k.startswith("CONFIG_")]
        t.ok(len(files) == 3, "the env file names three configs", "%r" % files)
        logdir = os.path.join(st.env["STACK_DIR"], "log")
        logs = sorted(glob.glob(os.path.join(logdir, "*.log")))
        t.ok(len(logs) >= 4, "the stack wrote its logs (%d)" % len(logs), "%r" % logs)
        for path in files + logs:
            rc, out = as_user(["cat", path])
            t.ok(rc != 0 and not out.startswith(("#", "base_url")),
                 "%s cannot read %s" % (OTHER, os.path.relpath(path, st.env["STACK_DIR"])
                                        if path.startswith(st.env["STACK_DIR"]) else path),
                 out[:200])
        rc, out = as_user(["ls", logdir])
        t.ok(rc != 0, "%s cannot list the log directory" % OTHER, out[:200])
        for path in files:
            rc, out = subprocess.run(
                ["setpriv", "--reuid=www-data", "--regid=www-data", "--init-groups", "head",
                 "-c", "1", path], capture_output=True, text=True, cwd="/").returncode, ""
            t.ok(rc == 0, "www-data (the responders) can read %s" % os.path.basename(
                os.path.dirname(path)) + "/mcpgate.conf")
        check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
