#!/usr/bin/env python3
"""test_migrate.py - `mcpgate migrate` against the stack's real PostgreSQL:
idempotent, reports the schema version, refuses a schema newer than it knows,
and the responder refuses to serve (503) until the schema is current.

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_migrate.py   (TAP on stdout)
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import TOP_BUILDDIR, Mcp, Stack, Tap, admin, expect_error, ping_ok  # noqa: E402

ADMIN = os.environ.get("MCPGATE_ADMIN") or os.path.join(TOP_BUILDDIR, "src", "mcpgate")


def sql(t, st, statement):
    ok, out = st.psql(statement)
    t.ok(ok, "SQL: %s" % statement, out)
    return out


def main():
    t = Tap()
    with Stack(t, servers="lighttpd") as st:
        r = admin(st, "migrate")
        t.ok(r.returncode == 0 and "schema is current" in r.stdout,
             "migrate again: nothing to do, exit 0", r.stdout, r.stderr)
        r = admin(st, "migrate", "--status")
        t.ok(r.returncode == 0 and "current" in r.stdout, "migrate --status: current", r.stdout)
        known = sql(t, st, "SELECT max(version) FROM mcpgate_schema")
        t.ok(known.isdigit() and int(known) >= 1, "schema version recorded (%s)" % known)

        c = Mcp(st.env["URL_LIGHTTPD"], name="migrate")
        c.initialize()
        p, resp = ping_ok(c)
        t.check("serving before the schema changes", p, resp)

        # a schema newer than this mcpgate knows: migrate refuses and changes nothing
        rows_before = sql(t, st, "SELECT count(*) FROM mcpgate_schema")
        sql(t, st, "INSERT INTO mcpgate_schema (version, name) VALUES (999, '999_future')")
        r = admin(st, "migrate")
        t.ok(r.returncode == 1 and "newer" in r.stderr and "upgrade mcpgate" in r.stderr,
             "migrate refuses a newer schema with advice", r.stdout, r.stderr)
        r = admin(st, "migrate", "--status")
        t.ok(r.returncode == 1 and "upgrade mcpgate" in r.stdout,
             "migrate --status says the database is newer", r.stdout)
        n = sql(t, st, "SELECT count(*) FROM mcpgate_schema")
        t.ok(n.isdigit() and rows_before.isdigit() and int(n) == int(rows_before) + 1,
             "nothing was applied or removed (%s rows)" % n)
        sql(t, st, "DELETE FROM mcpgate_schema WHERE version = 999")

        # an unreachable database: exit 3 and a message naming what to check
        r = subprocess.run([ADMIN, "--database", "host=/nonexistent dbname=x", "migrate"],
                           capture_output=True, text=True, timeout=30)
        t.ok(r.returncode == 3 and "could not reach the database" in r.stderr,
             "unreachable database: exit 3 with advice", r.stderr)
        r = subprocess.run([ADMIN, "frobnicate"], capture_output=True, text=True, timeout=30)
        t.ok(r.returncode == 2 and "unknown command" in r.stderr, "unknown command: exit 2",
             r.stderr)

        # a database that is behind: the responder answers 503 until migrated
        sql(t, st, "SET client_min_messages = warning; DROP SCHEMA public CASCADE")
        sql(t, st, "CREATE SCHEMA public")
        r = c.initialize()
        p = expect_error(r, 503, -32603)
        t.check("an unmigrated database gives 503", p, r)
        r = admin(st, "migrate")
        t.ok(r.returncode == 0 and "applied" in r.stdout and "applying" in r.stdout,
             "migrate applies the schema, showing progress", r.stdout, r.stderr)
        c2 = Mcp(st.env["URL_LIGHTTPD"], name="migrate2")
        c2.initialize()
        p, resp = ping_ok(c2)
        t.check("serving again after migrate, without a restart", p, resp)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
