#!/usr/bin/env python3
"""test_processes.py - sessions across processes, SIGTERM with a request in flight, and
PostgreSQL going away and coming back, through each front end of one stack that runs
tests/mcpgate-test.fcgi (the responder plus test_slow and test_whoami).

  a. a session outlives the process that created it (SIGTERM it, or responder-restart for
     the standalone mod_proxy_fcgi responder), and continues on another front end;
  b. SIGTERM to every responder of a front end while test_slow {"ms":1500} runs: the call
     completes, the processes exit, the front end serves the next request;
  c. pg-restart: the next request with the same session succeeds; pg-stop: 503 +
     Retry-After + -32603 within 5 s; pg-start: requests succeed, nothing restarted.

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_processes.py   (TAP on stdout)
"""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import (ANY_ID, Mcp, Stack, Tap, check_logs, expect_error, expect_result,  # noqa: E402
                     pgrep, pid_alive, ping_ok, retry_until, test_responder, tool_text,
                     wait_exit)

SLOW_MS = 1500
RESPAWN_WAIT_S = 10
PG_BACK_WITHIN_S = 5


def whoami(c):
    """(problems, pid or None, response) of a test_whoami call over c's session."""
    id = Mcp.next_id()
    r = c.tool("test_whoami", {}, id=id)
    p, res = expect_result(r, id)
    pid = None
    txt = tool_text(r)
    if isinstance(txt, str) and txt.strip().isdigit():
        pid = int(txt.strip())
    elif not p:
        p.append("test_whoami text %r is not a pid" % (txt,))
    if isinstance(res, dict) and res.get("isError") is not False:
        p.append("isError %r" % res.get("isError"))
    return p, pid, r


def session_on(c, url):
    """A client of another front end continuing c's session."""
    o = Mcp(url)
    o.sid, o.version = c.sid, c.version
    return o


def log_size(st):
    sizes = {}
    for k, path in st.log_paths().items():
        try:
            sizes[k] = os.path.getsize(path)
        except OSError:
            sizes[k] = 0
    return sizes


def log_since(st, sizes):
    """What the error logs gained since log_size()."""
    out = []
    for k, path in st.log_paths().items():
        try:
            with open(path, "rb") as f:
                f.seek(sizes.get(k, 0))
                out.append(f.read().decode("utf-8", "replace"))
        except OSError:
            pass
    return "".join(out)


# (front end, pid) of every responder this script sent SIGTERM to; check_clean_exits() looks
# for the web server's record of its exit status at the end.
TERMINATED = []


def terminate(fe, pid):
    try:
        os.kill(pid, signal.SIGTERM)
        TERMINATED.append((fe, pid))
    except ProcessLookupError:
        pass


def check_clean_exits(t, st):
    """Each SIGTERMed responder exited with status 0, as its web server recorded it:
    lighttpd logs "child exited: STATUS socket" (no pid: counted), mod_fcgid (LogLevel info)
    logs "PATH(PID) exit(...), terminated by calling exit(), return code: STATUS" at its next
    process scan (every few seconds). The standalone responder behind mod_proxy_fcgi has no
    supervisor that records its status: only the logs' absence of crash reports is checked."""
    lt = [pid for fe, pid in TERMINATED if fe == "lighttpd"]
    fc = [pid for fe, pid in TERMINATED if fe == "fcgid"]

    def read(key):
        try:
            with open(st.env.get(key, ""), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    if lt:
        text = read("LOG_LIGHTTPD")
        zero = text.count("child exited: 0 ")
        bad = [ln for ln in abnormal_exit_lines(text)]
        t.check("lighttpd: %d SIGTERMed responders exited with status 0 (lighttpd log)" % len(lt),
                bad + ([] if zero >= len(lt) else
                       ["only %d \"child exited: 0\" lines for %d terminated responders"
                        % (zero, len(lt))]))
    if fc:
        def records():
            text = read("LOG_APACHE")
            found = {}
            for pid in fc:
                for ln in text.splitlines():
                    if "(%d) exit(" % pid in ln:
                        found[pid] = ln
            return len(found) == len(fc), found

        ok, found, _, elapsed = retry_until(records, 8, 0.25)
        p = []
        for pid in fc:
            ln = found.get(pid)
            if ln is None:
                p.append("no mod_fcgid exit record for pid %d in LOG_APACHE (LogLevel fcgid:info?)"
                         % pid)
            elif "return code: 0" not in ln:
                p.append(ln)
        t.check("fcgid: %d SIGTERMed responders exited with status 0 (mod_fcgid log, %.1fs)"
                % (len(fc), elapsed), p)


ABNORMAL_EXIT = ("child signalled", "child died somehow", "get unexpected signal",
                 "segmentation fault", "core dumped", "AddressSanitizer", "runtime error:")


def abnormal_exit_lines(text):
    """Lines of lighttpd / mod_fcgid / sanitizer logs saying a responder did not exit cleanly."""
    bad = []
    for line in text.splitlines():
        low = line.lower()
        if any(m.lower() in low for m in ABNORMAL_EXIT):
            bad.append(line)
        elif "child exited: " in line:  # lighttpd: "child exited: STATUS socket"
            status = line.split("child exited: ", 1)[1].split()[0]
            if status != "0":
                bad.append(line)
        elif "return code: " in line:  # mod_fcgid (LogLevel info)
            status = line.split("return code: ", 1)[1].split()[0].strip(",.")
            if status != "0":
                bad.append(line)
    return bad


# ---------------------------------------------------------------------------
# a. a session across processes


def part_a(t, st, fes):
    for fe, url in fes:
        c = Mcp(url, name="a-" + fe)
        r = c.initialize()
        if not t.check("%s: initialize" % fe, [] if c.sid else ["no session"], r):
            continue
        p, pid1, r = whoami(c)
        if not t.check("%s: test_whoami answers a pid" % fe, p, r):
            continue
        mine = pgrep(st.responder_path(fe))
        t.ok(pid1 in mine, "%s: pid %d is one of the front end's responders (pgrep -f %s)"
             % (fe, pid1, st.responder_path(fe)), "pgrep found %r" % sorted(mine))
        sizes = log_size(st)
        if fe == "proxy":
            res = st.cmd("responder-restart")
            t.ok(res.returncode == 0, "proxy: stack.sh responder-restart exits 0",
                 res.stdout[-2000:], res.stderr[-2000:])
        else:
            terminate(fe, pid1)
        alive, el = wait_exit({pid1}, 10)
        t.ok(not alive, "%s: responder %d exits after SIGTERM (%.2fs)" % (fe, pid1, el))

        def again():
            p, pid, r = whoami(c)
            return (not p and pid is not None and pid != pid1), (p, pid, r)

        ok, (p, pid2, r), attempts, elapsed = retry_until(again, RESPAWN_WAIT_S)
        t.diag("%s: after the exit of %d, test_whoami answered from %s after %.2fs (%d attempts)"
               % (fe, pid1, pid2, elapsed, attempts))
        if pid2 == pid1:
            p = p + ["the same pid %d answered" % pid1]
        t.check("%s: the same session continues in another process (pid %s -> %s)"
                % (fe, pid1, pid2), p, r)
        t.check("%s: no abnormal exit reported in the logs" % fe,
                abnormal_exit_lines(log_since(st, sizes)))

    urls = dict(fes)
    if "lighttpd" not in urls or "fcgid" not in urls:
        return
    c = Mcp(urls["lighttpd"], name="cross")
    r = c.initialize()
    if not t.check("cross: initialize on lighttpd", [] if c.sid else ["no session"], r):
        return
    p1, pid_l, r1 = whoami(c)
    f = session_on(c, urls["fcgid"])
    p2, pid_f, r2 = whoami(f)
    t.check("cross: the lighttpd session continues on Apache mod_fcgid", p2, r2)
    t.ok(pid_l and pid_f and pid_l != pid_f,
         "cross: answered by different processes (%s, %s)" % (pid_l, pid_f))
    id = Mcp.next_id()
    r = f.tool("echo", {"message": "across"}, id=id)
    p, res = expect_result(r, id)
    if tool_text(r) != "across":
        p.append("echo text %r" % tool_text(r))
    t.check("cross: echo on mod_fcgid with the lighttpd session", p, r)
    if "proxy" in urls:
        x = session_on(c, urls["proxy"])
        r = x.delete()
        t.ok(r.status == 204, "cross: DELETE of the session through mod_proxy_fcgi -> 204",
             r.describe())
        r, took = mcptest.until_status(lambda: c.call("ping", id=9), 404)
        t.check("cross: then the session is gone on lighttpd -> 404 -32001 (%s)"
                % ("%.0f ms" % (took * 1000) if took is not None else "not gone"),
                expect_error(r, 404, -32001, (None, 9)), r)


# ---------------------------------------------------------------------------
# b. SIGTERM with a request in flight


def part_b(t, st, fes):
    for fe, url in fes:
        c = Mcp(url, name="b-" + fe)
        r = c.initialize()
        if not t.check("%s: initialize" % fe, [] if c.sid else ["no session"], r):
            continue
        path = st.responder_path(fe)
        sizes = log_size(st)
        id = Mcp.next_id()
        box = {}

        def slow():
            box["r"] = c.tool("test_slow", {"ms": SLOW_MS}, id=id, timeout=SLOW_MS / 1000 + 15)

        th = threading.Thread(target=slow, daemon=True)
        t0 = time.monotonic()
        th.start()
        time.sleep(0.3)
        pids = pgrep(path)
        for pid in pids:
            terminate(fe, pid)
        t_kill = time.monotonic() - t0
        t.ok(pids, "%s: SIGTERM sent to %d responder processes at %.2fs into test_slow"
             % (fe, len(pids), t_kill), "pgrep -f %s found nothing" % path)
        th.join(SLOW_MS / 1000 + 20)
        r = box.get("r")
        if r is None:
            t.ok(False, "%s: test_slow in flight completes" % fe, "the call did not return")
        else:
            p, res = expect_result(r, id)
            if tool_text(r) != "slept %d ms" % SLOW_MS:
                p.append("text %r, expected %r" % (tool_text(r), "slept %d ms" % SLOW_MS))
            if isinstance(res, dict) and res.get("isError") is not False:
                p.append("isError %r" % res.get("isError"))
            if r.elapsed < SLOW_MS / 1000:
                p.append("answered after %.2fs, before the sleep was over" % r.elapsed)
            t.check("%s: test_slow in flight during SIGTERM completes: 200 \"slept %d ms\""
                    % (fe, SLOW_MS), p, r)
        alive, el = wait_exit(pids, 10)
        t.ok(not alive, "%s: all %d responders exited (%.2fs after the call returned)"
             % (fe, len(pids), el), "still alive: %r" % sorted(alive))
        if fe == "proxy":
            res = st.cmd("responder-restart")
            t.ok(res.returncode == 0, "proxy: stack.sh responder-restart after SIGTERM exits 0",
                 res.stdout[-2000:], res.stderr[-2000:])

        statuses = []

        def served():
            p, r = ping_ok(c)
            statuses.append(r.status if r.status is not None else r.error)
            return not p, r

        ok, r, attempts, elapsed = retry_until(served, RESPAWN_WAIT_S)
        t.diag("%s: first request after the responders exited: %s after %.2fs, %d attempts, "
               "statuses %r" % (fe, "served" if ok else "NOT served", elapsed, attempts, statuses))
        t.check("%s: the front end serves requests again (%.2fs, %d attempts)"
                % (fe, elapsed, attempts), [] if ok else ["not served within %ds"
                                                          % RESPAWN_WAIT_S], r)
        t.check("%s: no abnormal exit reported in the logs" % fe,
                abnormal_exit_lines(log_since(st, sizes)))


# ---------------------------------------------------------------------------
# c. PostgreSQL restart and outage


def concurrent_pings(clients, n_each=8):
    """n_each concurrent pings per client; returns list of (fe, problems, response)."""
    out = []
    lock = threading.Lock()

    def one(fe, c):
        p, r = ping_ok(c)
        with lock:
            out.append((fe, p, r))

    threads = [threading.Thread(target=one, args=(fe, c), daemon=True)
               for fe, c in clients.items() for _ in range(n_each)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    return out


def responders_survived(t, st, fes, before, what):
    for fe, _ in fes:
        gone = {p for p in before[fe] if not pid_alive(p)}
        t.ok(not gone, "%s: no responder process exited during %s (%d watched)"
             % (fe, what, len(before[fe])), "exited: %r" % sorted(gone))


def part_c(t, st, fes):
    clients = {}
    for fe, url in fes:
        c = Mcp(url, name="c-" + fe)
        r = c.initialize()
        if t.check("%s: initialize before pg-restart" % fe, [] if c.sid else ["no session"], r):
            clients[fe] = c
    # open database connections in as many processes and threads as possible
    concurrent_pings(clients)
    before = {fe: pgrep(st.responder_path(fe)) for fe, _ in fes}

    res = st.cmd("pg-restart")
    if not t.ok(res.returncode == 0, "stack.sh pg-restart exits 0", res.stdout[-2000:],
                res.stderr[-2000:]):
        return
    for fe, c in clients.items():
        p, r = ping_ok(c)
        t.check("%s: first request after pg-restart with the same session -> 200" % fe, p, r)
    bad = [(fe, p, r) for fe, p, r in concurrent_pings(clients) if p]
    t.check("%s concurrent requests after pg-restart all succeed" % (8 * len(clients)),
            ["%s: %s" % (fe, "; ".join(p)) for fe, p, r in bad], *[r for _, _, r in bad[:3]])
    responders_survived(t, st, fes, before, "pg-restart")

    res = st.cmd("pg-stop")
    if not t.ok(res.returncode == 0, "stack.sh pg-stop exits 0", res.stdout[-2000:],
                res.stderr[-2000:]):
        st.cmd("pg-start")
        return
    try:
        for fe, c in clients.items():
            for what, send in [("ping", lambda: c.call("ping", id=81)),
                               ("ping again", lambda: c.call("ping", id=81)),
                               ("initialize", lambda: Mcp(c.base_url).initialize())]:
                r = send()
                p = expect_error(r, 503, -32603, ANY_ID)
                if r.status is not None and not r.header("Retry-After"):
                    p.append("no Retry-After header")
                if r.elapsed >= 5:
                    p.append("took %.2fs (limit 5 s)" % r.elapsed)
                t.check("%s: %s with PostgreSQL stopped -> 503, Retry-After, -32603 in %.2fs"
                        % (fe, what, r.elapsed), p, r)
    finally:
        res = st.cmd("pg-start")
    if not t.ok(res.returncode == 0, "stack.sh pg-start exits 0", res.stdout[-2000:],
                res.stderr[-2000:]):
        return
    # The responder may hold back reconnecting for a moment after a failed attempt (it said
    # Retry-After): requests must succeed again within a few seconds, nothing restarted.
    for fe, c in clients.items():
        statuses = []

        def served():
            p, r = ping_ok(c)
            statuses.append(r.status if r.status is not None else r.error)
            return not p, r

        ok, r, attempts, elapsed = retry_until(served, PG_BACK_WITHIN_S, 0.1)
        t.diag("%s: after pg-start: %s after %.2fs, %d attempts, statuses %r"
               % (fe, "served" if ok else "NOT served", elapsed, attempts, statuses))
        t.check("%s: after pg-start the same session is served again within %ds (%.2fs)"
                % (fe, PG_BACK_WITHIN_S, elapsed), [] if ok else ["still failing"], r)
    bad = [(fe, p, r) for fe, p, r in concurrent_pings(clients) if p]
    t.check("%s concurrent requests after pg-start all succeed" % (8 * len(clients)),
            ["%s: %s" % (fe, "; ".join(p)) for fe, p, r in bad], *[r for _, _, r in bad[:3]])
    responders_survived(t, st, fes, before, "pg-stop and pg-start")


def main():
    t = Tap()
    responder = os.environ.get("MCPGATE_TEST_RESPONDER") or test_responder()
    if not os.access(responder, os.X_OK):
        t.bail("test responder %s not built (make check builds it)" % responder)
    with Stack(t, responder=responder) as st:
        fes = st.front_ends()
        part_a(t, st, fes)
        part_b(t, st, fes)
        part_c(t, st, fes)
        check_clean_exits(t, st)
        check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
