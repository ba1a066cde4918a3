#!/usr/bin/env python3
"""test_purge.py - the sweeps of long-expired tokens (token endpoint) and sessions
(initialize) delete what expired and nothing else, through the expires_at indexes, on
tables PostgreSQL has not analyzed yet (a deployment that grew fast, or whose autovacuum
lags): before, such a table got a sequential scan, read in full on every sweep even with
nothing to delete, one token request or initialize in 64.

First the tables hold EXPIRED rows alone (past the sweep's margin), and requests run
until a sweep deleted them: the responders' connections have run the sweep on a small
table (a prepared statement kept that plan, sequential scans). Then LIVE rows that are
still valid and EXPIRED rows more are added, autovacuum off so that the tables stay
unanalyzed, and requests run until every expired row is gone: no sequential scan may
have read the grown table meanwhile, and every live row must still be there.

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_purge.py   (TAP on stdout)
"""

import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import Mcp, Stack, Tap, check_logs  # noqa: E402
from oauthlib import OAuth  # noqa: E402

LIVE = 20000
EXPIRED = 40
MAX_REQUESTS = 2000  # a sweep runs on 1 request in 64: all gone long before this
STATS_WAIT_S = 20  # backends report their counters within about 10 s of going idle


def counters(st, table, index):
    """[rows read by sequential scans of table, scans of index]"""
    ok, out = st.psql("SELECT s.seq_tup_read || ' ' || i.idx_scan FROM pg_stat_user_tables s,"
                      " pg_stat_user_indexes i WHERE s.relname = '%s'"
                      " AND i.indexrelname = '%s'" % (table, index))
    if not ok or len(out.split()) != 2:
        return None
    return [int(x) for x in out.split()]


def count(st, sql):
    """sql's count, read through an index: the test's own reads scan no table."""
    ok, out = st.psql("SET enable_seqscan = off; " + sql)
    return int(out) if ok and out.isdigit() else -1


def sweep(t, what, expired_sql, st, request):
    """Sends request() until expired_sql counts 0 (False when a request failed)."""
    n = 0
    left = count(st, expired_sql)
    while left != 0 and n < MAX_REQUESTS:
        problem = request()
        n += 1
        if problem:
            t.ok(False, "%s: request %d answered" % (what, n), problem)
            return
        if n % 16 == 0:
            left = count(st, expired_sql)
    return t.ok(left == 0, "%s: the %d expired rows were swept (%d requests)"
                % (what, EXPIRED, n), "left: %d" % left)


def swept(t, st, what, table, index, grow_sql, request):
    """Sweeps a small table, grows it with grow_sql, sweeps again: checks the counters and
    that the live rows are kept."""
    expired_sql = "SELECT count(*) FROM %s WHERE expires_at < now()" % table
    # now: a later ALTER TABLE would make the connections plan their statements anew
    ok, out = st.psql("ALTER TABLE %s SET (autovacuum_enabled = off)" % table)
    if not t.ok(ok, "%s: autovacuum off for %s" % (what, table), out):
        return
    if not sweep(t, what + " (small table)", expired_sql, st, request):
        return
    ok, out = st.psql(grow_sql)
    if not t.ok(ok, "%s: %d live and %d expired rows more" % (what, LIVE, EXPIRED), out):
        return
    before = counters(st, table, index)
    if not t.ok(before is not None, "%s: counters of %s readable" % (what, table)):
        return
    if not sweep(t, what + " (grown table)", expired_sql, st, request):
        return
    # wait until the sweep's index scan shows in the counters: the backend that did it
    # has reported, and with it any sequential scan it made
    deadline = time.monotonic() + STATS_WAIT_S
    after = counters(st, table, index)
    while after and after[1] <= before[1] and time.monotonic() < deadline:
        time.sleep(0.5)
        after = counters(st, table, index)
    t.ok(after is not None and after[1] > before[1],
         "%s: the sweep read the %s index" % (what, index), "before %s after %s" % (before, after))
    # the small table's sweeps may report late: they read a few rows each, a sequential
    # scan of the grown table reads them all
    t.ok(after is not None and after[0] - before[0] < LIVE,
         "%s: no sequential scan of the grown %s" % (what, table),
         "rows read by sequential scans, scans of the index: before %s after %s"
         % (before, after))
    live = count(st, "SELECT count(*) FROM %s WHERE expires_at > now()" % table)
    t.ok(live >= LIVE, "%s: all %d live rows kept" % (what, LIVE), "live: %d" % live)


def rows(first, last):
    """generate_series over rows first..last, the first EXPIRED of them expired."""
    return (" FROM generate_series(%d, %d) g" % (first, last),
            "CASE WHEN g < %d THEN %%s ELSE now() + interval '1 day' END" % (first + EXPIRED))


def tokens(t):
    with Stack(t, servers="lighttpd", auth="oauth") as st:
        url = st.env["URL_LIGHTTPD"]
        o = OAuth(url)
        cl = o.register_public(name="purge test")
        if not t.ok(cl and cl.get("client_id"), "tokens: client registered", cl):
            return
        client_id = cl["client_id"]

        def insert(first, last):
            series, expiry = rows(first, last)
            return ("INSERT INTO oauth_tokens (token_hash, kind, family_id, scope, audience,"
                    " created_at, expires_at) SELECT encode(sha256(('purge' || g)::bytea), 'hex'),"
                    " CASE WHEN g % 2 = 0 THEN 'access' ELSE 'refresh' END, f.id, 'mcp',"
                    " f.resource, now() - interval '3 days', " + expiry % "now() - interval '2 days'"
                    + series + ", oauth_families f WHERE f.client_id = '%s'" % client_id)

        ok, out = st.psql(
            "INSERT INTO users (username, password_hash) VALUES ('purge', 'x');"
            " INSERT INTO oauth_families (user_id, client_id, scope, resource)"
            " SELECT id, '%s', 'mcp', '%s' FROM users WHERE username = 'purge'; %s"
            % (client_id, o.resource, insert(1, EXPIRED)))
        if not t.ok(ok, "tokens: %d expired tokens stored" % EXPIRED, out):
            return

        def request():
            r = o.refresh(client_id, secrets.token_urlsafe(32))
            return None if r.status == 400 else r.describe()

        swept(t, st, "tokens", "oauth_tokens", "oauth_tokens_expires_at",
              insert(EXPIRED + 1, 2 * EXPIRED + LIVE), request)
        check_logs(t, st)


def sessions(t):
    with Stack(t, servers="lighttpd") as st:
        url = st.env["URL_LIGHTTPD"]

        def insert(first, last):
            series, expiry = rows(first, last)
            return ("INSERT INTO mcp_sessions (id_hash, protocol_version, created_at, expires_at)"
                    " SELECT encode(sha256(('purge' || g)::bytea), 'hex'), '2025-06-18',"
                    " now() - interval '1 day', " + expiry % "now() - interval '2 hours'" + series)

        ok, out = st.psql(insert(1, EXPIRED))
        if not t.ok(ok, "sessions: %d expired sessions stored" % EXPIRED, out):
            return

        def request():
            c = Mcp(url, name="purge")
            r = c.initialize(notify=False)
            return None if c.sid else r.describe()

        swept(t, st, "sessions", "mcp_sessions", "mcp_sessions_expires_at",
              insert(EXPIRED + 1, 2 * EXPIRED + LIVE), request)
        check_logs(t, st)


def main():
    t = Tap()
    tokens(t)
    sessions(t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
