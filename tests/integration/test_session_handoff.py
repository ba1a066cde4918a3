#!/usr/bin/env python3
"""test_session_handoff.py - an initialize's answer waits for its session row, its worker
does not.

Behind lighttpd and mod_proxy_fcgi, threads = 2 per responder process: the new session's
row rides the process's audit writer (one transaction, one COMMIT, with the audit rows of
its batch); the worker hands the answer over and goes on serving, and the writer sends it
(with its Mcp-Session-Id) right after the COMMIT. With user A's users row locked FOR UPDATE
from a psql session (so inserting a session of A waits for the lock of its foreign key,
and nothing else does):

- more initializes of A than the front end has worker threads in all, at once: none is
  answered while the lock is held, and a ping on a session of user B is answered meanwhile
  (the workers are free; before the hand-off each of them waited for its INSERT);
- the lock released: every initialize is answered with a session id whose row exists, and
  that id works for the very next request;
- again, and the writer's INSERT made to fail while it waits (its backend terminated): an
  initialize answered with a session id has its row; one whose row is missing was
  answered 503 with Retry-After and no Mcp-Session-Id;
- last, user A deleted in a transaction that is then committed while A's initializes wait
  (the rows PostgreSQL refuses): none gets a session id (503; 401 for one that arrives
  after the deletion), and a tools/call of user B queued behind them on the same writer
  is still answered with its result.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_session_handoff.py   (TAP)
"""

import hashlib
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import HeldTransaction, Mcp, Stack, Tap, admin, retry_until  # noqa: E402

USER_A, USER_B, PASSWORD = "sessa", "sessb", "a long enough password"
THREADS = 2
CALLS = 6  # more than the workers behind either front end (lighttpd: 2 x THREADS)
WAIT_S = 20  # generous: a bound on waiting, never a figure
WAITING = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
           " AND query LIKE '%INSERT INTO mcp_sessions%'")


def Locked(st, user):
    """user's row locked FOR UPDATE until commit(): inserting a session of that user waits
    for it (the foreign key's FOR KEY SHARE)."""
    return HeldTransaction(st, "SELECT 1 FROM users WHERE username = '%s' FOR UPDATE" % user,
                           WAIT_S)


def start_initializes(clients, params=None):
    """Starts one initialize per client, each in its thread (params: index -> the
    initialize's params). Returns (threads, results: index -> Response)."""
    results = {}

    def one(i, c):
        body = (params or {}).get(i) or c.initialize_body()
        results[i] = c.post(body, session=False, timeout=120)

    threads = [threading.Thread(target=one, args=(i, c)) for i, c in enumerate(clients)]
    for th in threads:
        th.start()
    return threads, results


def count(st, sql):
    ok, out = st.psql(sql)
    return int(out) if ok and out.isdigit() else 0


def until(cond):
    return retry_until(lambda: (cond(), None), WAIT_S, 0.05)[0]


def session_exists(st, sid):
    h = hashlib.sha256(sid.encode()).hexdigest()
    return count(st, "SELECT count(*) FROM mcp_sessions WHERE id_hash = '%s'" % h) == 1


def joined(threads):
    for th in threads:
        th.join(120)


def follow_up(c, r):
    """Uses r's session at once (a ping); the ping's Response."""
    c.sid = r.header("Mcp-Session-Id")
    c.version = (r.json or {}).get("result", {}).get("protocolVersion", c.version)
    return c.call("ping", timeout=WAIT_S)


def held(t, st, fe, clients, probe):
    """Part 1: initializes wait for the lock, a ping on B's session is served."""
    lock = Locked(st, USER_A)
    t.ok(lock.ok, "%s: user %s's row locked" % (fe, USER_A))
    threads, results = start_initializes(clients)
    try:
        t.ok(until(lambda: count(st, WAITING) >= 1), "%s: a session INSERT waits" % fe)
        time.sleep(0.5)  # the initializes have had time to get to their workers
        early = sorted(results)
        ping = probe.call("ping", timeout=WAIT_S)
        t.ok(ping.status == 200 and isinstance(ping.json, dict) and "result" in ping.json,
             "%s: a ping on another session is answered while %d initializes wait"
             % (fe, CALLS), ping.describe())
        early += sorted(i for i in results if i not in early)
        t.ok(not early, "%s: no initialize is answered before its session row is committed"
             % fe, "answered: %r" % early)
    finally:
        lock.commit()
    joined(threads)
    p = []
    for i in range(CALLS):
        r = results.get(i)
        sid = r.header("Mcp-Session-Id") if r else None
        if not r or r.status != 200 or not sid:
            p.append("initialize %d: %s" % (i, r.describe() if r else "no answer"))
            continue
        ping = follow_up(clients[i], r)  # at once: the row must be there already
        if ping.status != 200 or "result" not in (ping.json or {}):
            p.append("initialize %d: its session's first ping: %s" % (i, ping.describe()))
        if not session_exists(st, sid):
            p.append("initialize %d: no session row" % i)
    t.check("%s: the lock released: every initialize answered with a session that works "
            "for the next request" % fe, p)


def deleted(t, st, fe, url, keys):
    """A session row PostgreSQL refuses (its user deleted while it waited: the foreign key)
    costs only that initialize: a tools/call of user B queued behind it on the same writer
    still gets its audit row and its result."""
    clients = [Mcp(url, name="gone", bearer=keys[USER_A]) for _ in range(CALLS)]
    caller = Mcp(url, name="caller", bearer=keys[USER_B])
    r = caller.initialize()
    t.ok(r.status == 200 and caller.sid, "%s: user %s's session for a call" % (fe, USER_B))
    gone = HeldTransaction(st, "DELETE FROM users WHERE username = '%s'" % USER_A, WAIT_S)
    t.ok(gone.ok, "%s: user %s deleted, not committed yet" % (fe, USER_A))
    threads, results = start_initializes(clients)
    call = {}
    th = threading.Thread(target=lambda: call.update(
        r=caller.tool("echo", {"message": "behind"}, timeout=120)))
    try:
        t.ok(until(lambda: count(st, WAITING) >= 1), "%s: a session INSERT waits" % fe)
        time.sleep(0.5)  # every initialize is queued behind it
        th.start()
        time.sleep(0.5)  # and the call too
    finally:
        gone.commit()
    joined(threads + [th])
    # one that reached its worker only after the COMMIT finds its key gone: 401
    bad = ["initialize %d: %s" % (i, results[i].describe() if i in results else "no answer")
           for i in range(CALLS)
           if i not in results or results[i].status not in (503, 401)
           or results[i].header("Mcp-Session-Id")]
    refused = sum(1 for r in results.values() if r.status == 503)
    t.check("%s: the user deleted: no initialize of that user answered with a session id, "
            "%d of %d answered 503" % (fe, refused, CALLS), bad)
    t.ok(refused >= 1, "%s: at least one initialize's row refused (503)" % fe)
    r = call.get("r")
    t.ok(r is not None and r.status == 200 and "result" in (r.json or {}),
         "%s: a call queued with the refused rows answered with its result" % fe,
         r.describe() if r else "no answer")


def failing(t, st, fe, clients):
    """Part 3: the writer's INSERT fails: no session id without its row."""
    lock = Locked(st, USER_A)
    t.ok(lock.ok, "%s: user %s's row locked once more" % (fe, USER_A))
    threads, results = start_initializes(clients)
    try:
        t.ok(until(lambda: count(st, WAITING) >= 1), "%s: the session INSERT waits" % fe)
        ended = count(st, "SELECT count(pg_terminate_backend(pid))"
                      + WAITING[len("SELECT count(*)"):])
        t.ok(ended >= 1, "%s: the waiting INSERT's backend ended" % fe)
        # a retry on a new connection would wait for the lock again: end those too
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(results) < CALLS:
            count(st, "SELECT count(pg_terminate_backend(pid))" + WAITING[len("SELECT count(*)"):])
            time.sleep(0.1)
    finally:
        lock.commit()
    joined(threads)
    p, refused = [], 0
    for i in range(CALLS):
        r = results.get(i)
        sid = r.header("Mcp-Session-Id") if r else None
        if not r:
            p.append("initialize %d: no answer" % i)
        elif r.status == 200 and sid:
            if not session_exists(st, sid):
                p.append("initialize %d answered with a session id that has no row" % i)
        elif r.status == 503 and r.header("Retry-After") and not sid:
            refused += 1
        else:
            p.append("initialize %d: %s" % (i, r.describe()))
    t.check("%s: a failed session INSERT: session ids only with their rows, 503 otherwise "
            "(%d of %d refused)" % (fe, refused, CALLS), p)
    t.ok(refused >= 1, "%s: at least one initialize lost its row and was answered 503" % fe)


def main():
    t = Tap()
    extra = "threads = %d\nrate_limit_user_per_min = 0\nrate_limit_client_per_min = 0" % THREADS
    with Stack(t, servers="lighttpd proxy", code_check_servers="lighttpd", config_extra=extra,
               auth="oauth") as st:
        keys = {}
        for user in (USER_A, USER_B):
            r = admin(st, "user", "add", user, stdin=PASSWORD + "\n")
            t.ok(r.returncode == 0, "mcpgate user add %s" % user, r.stdout, r.stderr)
            r = admin(st, "key", "create", user, "--name", "session handoff test")
            keys[user] = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
            t.ok(r.returncode == 0 and keys[user], "mcpgate key create %s" % user, r.stderr)
        for fe, url in st.front_ends():
            probe = Mcp(url, name="probe", bearer=keys[USER_B])
            r = probe.initialize()
            t.ok(r.status == 200 and probe.sid, "%s: user %s's session" % (fe, USER_B),
                 r.describe())
            clients = [Mcp(url, name="handoff", bearer=keys[USER_A]) for _ in range(CALLS)]
            r = clients[0].initialize()
            t.ok(r.status == 200 and clients[0].sid, "%s: an initialize before the lock" % fe,
                 r.describe())
            held(t, st, fe, clients, probe)
            failing(t, st, fe, clients)
            r = Mcp(url, name="after", bearer=keys[USER_A]).initialize()
            t.ok(r.status == 200 and r.header("Mcp-Session-Id"),
                 "%s: initialize is answered again afterwards" % fe, r.describe())
        # last: it deletes user A (the last front end: mod_proxy_fcgi's one process has one
        # writer, so the call shares a batch with refused rows)
        deleted(t, st, fe, url, keys)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
