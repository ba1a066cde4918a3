#!/usr/bin/env python3
"""test_frontends.py - one deployment served by two independent web front ends on one
PostgreSQL: lighttpd on one port and Apache mod_fcgid on another, each with its own
responder processes, both configured with the same base_url (as behind a load balancer).

  a. a session begun on A continues on B (another process), and ends on B for both;
  b. a client holding a GET SSE stream on A receives the resources/updated notification
     that a request on B causes;
  c. a call's stream dropped on A resumes on B with Last-Event-ID, no event lost or
     repeated;
  d. 100 concurrent refreshes of one refresh token, half through each front end: exactly
     one rotation succeeds, every other answer is the documented grace refusal
     (400 invalid_grant within refresh_grace_s), and nothing that should live is revoked:
     the family, the old and the new access token, the new refresh token.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_frontends.py  (TAP)
"""

import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import (Mcp, Stack, Tap, admin, expect_error, expect_result,  # noqa: E402
                     test_responder)
from oauthlib import Browser, OAuth, mcp_with  # noqa: E402
from test_streams import SSE, call_body, is_response, parse, seq_of  # noqa: E402

USER, PASSWORD = "frontends", "a long enough password"
GRACE_S = 60        # refresh_grace_s (its maximum): every concurrent refresh lands within it
REFRESHES = 100
NOTIFY_WITHIN_S = 2.0
CONFIG = ("sse_max_s = 20\nsse_heartbeat_s = 1\nrefresh_grace_s = %d\n"
          "rate_limit_user_per_min = 0\nrate_limit_client_per_min = 0" % GRACE_S)
ACCEPT_SSE = {"Accept": "text/event-stream", "Content-Type": None}


def one_deployment(t, st, url_a, url_b):
    """Gives B's responders A's base_url (B's Host allowed) and restarts the web servers."""
    host_b = url_b.split("//", 1)[1].split("/", 1)[0]
    path = st.env["CONFIG_FCGID"]
    with open(path) as f:
        text = f.read()
    text = re.sub(r"(?m)^base_url = .*$", "base_url = " + url_a, text)
    text = re.sub(r"(?m)^allowed_hosts =.*$", "allowed_hosts = " + host_b, text)
    with open(path, "w") as f:
        f.write(text)
    r = st.cmd("web-restart")
    t.ok(r.returncode == 0, "both front ends serve base_url %s" % url_a, r.stderr[-2000:])


def whoami(c):
    id = Mcp.next_id()
    r = c.tool("test_whoami", {}, id=id)
    p, _ = expect_result(r, id)
    text = mcptest.tool_text(r)
    return p, int(text) if isinstance(text, str) and text.strip().isdigit() else None


def test_session(t, names, url_a, url_b, token):
    a = mcp_with(url_a, token)
    a.initialize()
    b = mcp_with(url_b, token)
    b.sid, b.version = a.sid, a.version
    pa, pid_a = whoami(a)
    pb, pid_b = whoami(b)
    p = pa + pb
    if pid_a is None or pid_a == pid_b:
        p.append("pids %r and %r: not two processes" % (pid_a, pid_b))
    t.check("session begun on %s (pid %s) continues on %s (pid %s)"
            % (names[0], pid_a, names[1], pid_b), p)
    id = Mcp.next_id()
    r = b.call("tools/list", id=id)
    p, res = expect_result(r, id)
    if not p and not any(x.get("name") == "echo" for x in res.get("tools", [])):
        p.append("no echo tool listed")
    t.check("%s: tools/list in the session begun on %s" % (names[1], names[0]), p, r)
    r = b.delete()
    t.ok(r.status in (200, 204), "%s: DELETE ends the session" % names[1], r.describe())
    r, took = mcptest.until_status(lambda: a.call("ping"), 404)
    t.check("%s: the session ended on %s is gone (404) within %.1f s (%s)"
            % (names[0], names[1], mcptest.CHANGE_REACHES_ALL_S,
               "%.0f ms" % (took * 1000) if took is not None else "not gone"),
            expect_error(r, 404, -32001, mcptest.ANY_ID), r)


def test_notification(t, names, url_a, url_b, token):
    uri = "test://watched-resource"
    a = mcp_with(url_a, token)
    a.initialize()
    id = Mcp.next_id()
    r = a.call("resources/subscribe", {"uri": uri}, id=id)
    t.check("%s: resources/subscribe" % names[0], expect_result(r, id)[0], r)
    g = SSE("GET", url_a + "/mcp", None, a.headers(ACCEPT_SSE), timeout=15)
    got, sent = [], {}

    def listen():
        try:
            for ev in g.messages(lambda e: "resources/updated" in (e.get("data") or "")):
                got.append((time.monotonic(), ev))
        except (OSError, AttributeError, ValueError):
            pass  # the stream was closed under the reader after the wait

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    time.sleep(0.5)  # the stream is listening before the update happens
    b = mcp_with(url_b, token)
    b.initialize()
    sent["t"] = time.monotonic()
    id = Mcp.next_id()
    r = b.tool("test_update_resource", {"uri": uri}, id=id)
    t.check("%s: a request updates the resource" % names[1], expect_result(r, id)[0], r)
    th.join(10)
    g.close()
    hits = [(ts, parse(ev)) for ts, ev in got if parse(ev)]
    hits = [(ts, m) for ts, m in hits if m.get("method") == "notifications/resources/updated"
            and m.get("params", {}).get("uri") == uri]
    took = hits[0][0] - sent["t"] if hits else None
    t.ok(g.status == 200 and took is not None and took <= NOTIFY_WITHIN_S,
         "stream held on %s receives the update caused on %s (%s)"
         % (names[0], names[1], "never" if took is None else "%.0f ms" % (took * 1000)),
         "status %s events %r" % (g.status, got))


def test_resume(t, names, url_a, url_b, token):
    c = mcp_with(url_a, token)
    c.initialize()
    s = SSE("POST", url_a + "/mcp",
            call_body(21, "test_stream", {"count": 6, "interval_ms": 200}, "resume"),
            c.headers({"Accept": "application/json, text/event-stream"}))
    first = []
    while len([e for e in first if e["data"]]) < 3:
        ev = s.next()
        if ev is None:
            break
        first.append(ev)
    s.close()  # dropped mid-call; the call goes on
    last = first[-1]["id"] if first else ""
    b = mcp_with(url_b, token)
    b.sid, b.version = c.sid, c.version
    g = SSE("GET", url_b + "/mcp", None, b.headers(dict(ACCEPT_SSE, **{"Last-Event-ID": last})),
            timeout=15)
    rest = g.messages(lambda e: is_response(e, 21))
    g.close()
    seqs = [seq_of(e) for e in first + rest]
    p = [] if g.status == 200 else ["resume status %s" % g.status]
    if not seqs or seqs != list(range(seqs[0], seqs[0] + len(seqs))):
        p.append("event seqs %r have gaps or repeats" % seqs)
    progress = [parse(e)["params"]["progress"] for e in first + rest
                if e["data"] and parse(e).get("method") == "notifications/progress"]
    if progress != [1, 2, 3, 4, 5, 6]:
        p.append("progress %r" % progress)
    if not rest or not is_response(rest[-1], 21):
        p.append("the resumed stream does not end with the response")
    t.check("stream dropped on %s resumes on %s with Last-Event-ID: %d + %d events"
            % (names[0], names[1], len(first), len(rest)), p)


def test_refresh_race(t, st, names, urls, client_id, tok):
    oauths = [OAuth(urls[0]), OAuth(urls[0])]
    # both front ends answer for base_url A: the token endpoint of B is B's URL
    oauths[1].base = urls[1]
    barrier = threading.Barrier(REFRESHES)
    answers = [None] * REFRESHES

    def one(i):
        try:
            barrier.wait(20)
        except threading.BrokenBarrierError:
            pass
        answers[i] = oauths[i % 2].refresh(client_id, tok["refresh_token"])

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(REFRESHES)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    took = time.monotonic() - t0
    ok = [(i, r) for i, r in enumerate(answers) if r is not None and r.status == 200]
    grace = [r for r in answers if r is not None and r.status == 400 and
             isinstance(r.json, dict) and r.json.get("error") == "invalid_grant" and
             "just rotated" in (r.json.get("error_description") or "")]
    other = [r for r in answers if r is not None and r not in grace and
             not (r.status == 200)]
    by_fe = [sum(1 for i, r in enumerate(answers) if r is not None and i % 2 == k)
             for k in (0, 1)]
    t.check("%d concurrent refreshes of one token (%d via %s, %d via %s) in %.1fs: "
            "%d rotation, %d grace refusals"
            % (REFRESHES, by_fe[0], names[0], by_fe[1], names[1], took, len(ok), len(grace)),
            ([] if len(ok) == 1 else ["%d successful rotations" % len(ok)]) +
            ([] if len(grace) == REFRESHES - 1 else ["%d other answers" % len(other)]) +
            (["%d requests got no answer" % answers.count(None)] if None in answers else []),
            *[r for r in other[:3]])
    if len(ok) != 1:
        return
    new = ok[0][1].json
    fam = st.psql("SELECT count(*) FROM oauth_families WHERE client_id = '%s' "
                  "AND revoked_at IS NULL" % client_id.replace("'", "''"))
    t.ok(fam == (True, "1"), "the token family is not revoked", repr(fam))
    for label, access in (("the old access token", tok["access_token"]),
                          ("the rotated access token", new["access_token"])):
        for url, fe in zip(urls, names):
            c = mcp_with(url, access)
            id = Mcp.next_id()
            r = c.initialize()
            r = c.call("ping", id=id)
            t.check("%s: %s still works" % (fe, label), expect_result(r, id)[0], r)
    r = oauths[1].refresh(client_id, new["refresh_token"])
    t.ok(r.status == 200 and "access_token" in (r.json or {}),
         "%s: the rotated refresh token rotates again" % names[1], r.describe())


def main():
    t = Tap()
    with Stack(t, servers="lighttpd fcgid", responder=test_responder(), config_extra=CONFIG,
               auth="oauth") as st:
        fes = st.front_ends()
        if len(fes) != 2:
            return t.done()
        names = [fes[0][0], fes[1][0]]
        urls = [fes[0][1], fes[1][1]]
        one_deployment(t, st, urls[0], urls[1])
        r = admin(st, "user", "add", USER, stdin=PASSWORD + "\n")
        t.ok(r.returncode == 0, "mcpgate user add", r.stderr)
        client, tok, problems = OAuth(urls[0]).full_flow(Browser(), USER, PASSWORD)
        t.check("%s: OAuth sign-in for the deployment's resource" % names[0], problems)
        if problems:
            return t.done()
        token = tok["access_token"]
        for pair in ((0, 1), (1, 0)):
            n = [names[i] for i in pair]
            u = [urls[i] for i in pair]
            test_session(t, n, u[0], u[1], token)
            test_notification(t, n, u[0], u[1], token)
            test_resume(t, n, u[0], u[1], token)
        test_refresh_race(t, st, names, urls, client["client_id"], tok)
        mcptest.check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
