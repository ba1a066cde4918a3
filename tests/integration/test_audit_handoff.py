#!/usr/bin/env python3
"""test_audit_handoff.py - a tool call's answer waits for its audit row, its worker does not.

Behind lighttpd, threads = 2 per responder process: a call's worker hands its answer to the
process's audit writer, which sends it right after the row's COMMIT, and goes on serving.
With audit_log locked (LOCK TABLE ... IN SHARE MODE from a psql session, so every INSERT
waits):

- more calls than the front end has worker threads in all, at once: none is answered while
  the lock is held, and a ping on another session is answered meanwhile (the workers are
  free; before the hand-off each of them slept until its row was committed);
- the lock released: every call is answered with its result and has its audit row (its
  X-Request-Id);
- then again, and the writer's INSERT made to fail while it waits for the lock (its
  backend terminated): a call answered with a result has its row; one whose row is
  missing was answered 503 with Retry-After, never with its result;
- each call has one access-log line, with the status its client got (the line is written
  when the answer is sent, not when it is handed off).

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_audit_handoff.py   (TAP)
"""

import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import HeldTransaction, Mcp, Stack, Tap, admin  # noqa: E402

USER, PASSWORD = "handoff", "a long enough password"
THREADS = 2
CALLS = 6  # more than the workers of lighttpd's responder processes (2 x THREADS)
WAIT_S = 20  # generous: a bound on waiting, never a figure


def Locked(st):
    """audit_log locked against INSERT (SHARE MODE) until commit()."""
    return HeldTransaction(st, "LOCK TABLE audit_log IN SHARE MODE", WAIT_S)


def start_calls(clients, tag):
    """Starts one tools/call echo per client, each in its thread. Returns (threads,
    results: index -> Response)."""
    results = {}

    def one(i, c):
        results[i] = c.tool("echo", {"message": "%s %d" % (tag, i)}, timeout=120)

    threads = [threading.Thread(target=one, args=(i, c)) for i, c in enumerate(clients)]
    for th in threads:
        th.start()
    return threads, results


def waiting_inserts(st):
    ok, out = st.psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                      " AND query LIKE 'INSERT INTO audit_log%'")
    return int(out) if ok and out.isdigit() else 0


def until(cond, timeout_s=WAIT_S):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def rows_of(st, rids):
    quoted = ",".join("'%s'" % r for r in rids if r and r.isalnum()) or "''"
    ok, out = st.psql("SELECT request_id FROM audit_log WHERE request_id IN (%s)" % quoted)
    return set(out.split()) if ok and out else set()


def end_waiting_inserts(st):
    """Terminates the backends whose audit INSERT waits for the lock; returns how many."""
    ok, out = st.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                      " WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO audit_log%'")
    return int(out) if ok and out.isdigit() else 0


def access_statuses(st, rids):
    """{rid: [status of each access-log line of that request]} from the responders' logs."""
    want, out = set(r for r in rids if r), {}
    for path in st.log_paths().values():
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for m in re.finditer(r"rid=(\S+) [^\n]*? msg=request [^\n]*?status=(\d+)", text):
            if m.group(1) in want:
                out.setdefault(m.group(1), []).append(int(m.group(2)))
    return out


def main():
    t = Tap()
    extra = "threads = %d\nrate_limit_user_per_min = 0\nrate_limit_client_per_min = 0" % THREADS
    with Stack(t, servers="lighttpd", config_extra=extra, auth="oauth") as st:
        url = st.front_ends()[0][1]
        r = admin(st, "user", "add", USER, stdin=PASSWORD + "\n")
        t.ok(r.returncode == 0, "mcpgate user add", r.stdout, r.stderr)
        r = admin(st, "key", "create", USER, "--name", "handoff test")
        key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
        t.ok(r.returncode == 0 and key, "mcpgate key create", r.stderr)
        clients = [Mcp(url, name="handoff", bearer=key) for _ in range(CALLS + 1)]
        for c in clients:
            c.initialize()
        probe, callers = clients[0], clients[1:]
        r = callers[0].tool("echo", {"message": "warm"})
        t.ok(r.status == 200, "a call before the lock", r.describe())

        # 1. the calls wait for their rows; the workers serve meanwhile
        lock = Locked(st)
        t.ok(lock.ok, "audit_log locked against INSERT")
        threads, results = start_calls(callers, "held")
        try:
            t.ok(until(lambda: waiting_inserts(st) >= 1), "the audit INSERT waits for the lock")
            time.sleep(0.5)  # the calls have had time to get to their workers
            early = sorted(i for i in results)
            ping = probe.call("ping", timeout=WAIT_S)
            t.ok(ping.status == 200 and isinstance(ping.json, dict) and "result" in ping.json,
                 "a ping is answered while %d calls wait for their audit rows" % CALLS,
                 ping.describe())
            early += sorted(i for i in results if i not in early)
            t.ok(not early, "no call is answered before its audit row is committed",
                 "answered: %r" % early)
        finally:
            lock.commit()
        for th in threads:
            th.join(120)
        got = [results.get(i) for i in range(CALLS)]
        p = ["call %d: %s" % (i, r.describe() if r else "no answer")
             for i, r in enumerate(got)
             if not r or r.status != 200 or "result" not in (r.json or {})]
        t.check("the lock released: every call answered with its result", p)
        rids = [r.header("X-Request-Id") if r else None for r in got]
        have = rows_of(st, rids)
        t.ok(all(r in have for r in rids), "every answered call has its audit row",
             "missing: %r" % [r for r in rids if r not in have])

        # 2. the writer's INSERT fails while it waits: no result without its row
        lock = Locked(st)
        t.ok(lock.ok, "audit_log locked again")
        threads, results = start_calls(callers, "failing")
        try:
            t.ok(until(lambda: waiting_inserts(st) >= 1), "the audit INSERT waits again")
            t.ok(end_waiting_inserts(st) >= 1, "the waiting INSERT's backend ended")
            # a retry on a new connection would wait for the lock again: end those too
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and len(results) < CALLS:
                end_waiting_inserts(st)
                time.sleep(0.1)
        finally:
            lock.commit()
        for th in threads:
            th.join(120)
        got = [results.get(i) for i in range(CALLS)]
        rids = [r.header("X-Request-Id") if r else None for r in got]
        have = rows_of(st, rids)
        p, refused = [], 0
        for i, r in enumerate(got):
            if not r:
                p.append("call %d: no answer" % i)
            elif r.status == 200 and "result" in (r.json or {}):
                if rids[i] not in have:
                    p.append("call %d answered with its result, no audit row" % i)
            elif r.status == 503 and r.header("Retry-After"):
                refused += 1
                if rids[i] in have:
                    p.append("call %d answered 503 though its row was written" % i)
            else:
                p.append("call %d: %s" % (i, r.describe()))
        t.check("a failed audit INSERT: results only with their rows, 503 otherwise "
                "(%d of %d refused)" % (refused, CALLS), p)
        t.ok(refused >= 1, "at least one call lost its row and was answered 503")
        logged = access_statuses(st, rids)
        p = ["call %d: answered %d, logged %r" % (i, r.status, logged.get(rids[i]))
             for i, r in enumerate(got) if r and logged.get(rids[i]) != [r.status]]
        t.check("each call's one access-log line has the status its client got", p)
        r = probe.tool("echo", {"message": "after"})
        t.ok(r.status == 200, "calls are answered again afterwards", r.describe())
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
