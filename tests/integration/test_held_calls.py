#!/usr/bin/env python3
"""test_held_calls.py - a tools/call waiting for the client's answer costs no worker thread
(mcp/call_hold.h), through lighttpd and Apache mod_proxy_fcgi, with 2 worker threads per
process:

- more calls of a tool that asks the client (test_ask: elicitation/create) than the front
  end's processes have worker threads all get their request on their POST stream, and wait
  with their heartbeats;
- while they wait, another session's ping is answered, and not one call has ended by then;
- each answer reaches its own call: every call ends with the name it was given, on the
  stream that carried its request (the same stored stream: its event ids go on), and the
  audit trail has exactly one row per call;
- a call whose client never answers ends at request_timeout_s with the tool's error "the
  client did not answer in time", and one audit row;
- a tool that asks twice with a notification before and between (test_ask_twice) runs
  again at each answer, and its stream carries each notification and request once, then
  its result; one audit row;
- a client that left its held call's stream answers and resumes it with Last-Event-ID: the
  result is there; a held call cancelled with notifications/cancelled ends its stream
  without a response, audited as cancelled;
- SIGTERM while calls are held: each ends with the tool's answer to the missing input, and
  the processes exit;
- without a holder (mod_fcgid, threads = 1 and db_connections = 1: the shared mode) a call
  asking twice still waits in its worker and ends with both answers.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_held_calls.py  (TAP)
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import SLOW, Stack, Tap, test_responder  # noqa: E402
from test_streams import (ACCEPT, SSE, answer, call_body, parse, post_stream,  # noqa: E402
                          seq_of, session)

THREADS = 2
PROCESSES = 2  # lighttpd spawns 2 responders (scripts/stack.sh), mod_proxy_fcgi's has 1
N_CALLS = THREADS * PROCESSES + 3
TIMEOUT_S = 10 * SLOW  # request_timeout_s: how long a call waits for its answer
CONFIG = ("threads = %d\nrequest_timeout_s = %d\nsse_max_s = %d\nsse_heartbeat_s = 1"
          % (THREADS, TIMEOUT_S, 3 * TIMEOUT_S))


class Call:
    """A tools/call of test_ask on its own session, read by a thread."""

    def __init__(self, url, i):
        self.url, self.id = url, "held-%d" % i
        self.c = session(url, caps={"elicitation": {}}, name="held-call-%d" % i)
        self.events, self.request, self.final = [], None, None
        self.got_request, self.done = threading.Event(), threading.Event()
        self.error = None
        self.s = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            self.s = post_stream(self.c, self.url, call_body(self.id, "test_ask",
                                                               {"kind": "elicitation"}))
            while True:
                ev = self.s.next()
                if ev is None:
                    break
                self.events.append(ev)
                m = parse(ev)
                if not isinstance(m, dict):
                    continue
                if m.get("method") == "elicitation/create" and "id" in m:
                    self.request = (ev, m)
                    self.got_request.set()
                elif m.get("id") == self.id and ("result" in m or "error" in m):
                    self.final = (ev, m)
                    break
        except Exception as e:  # the check that needed it fails, naming this
            self.error = repr(e)
        self.got_request.set()
        self.done.set()

    def text(self):
        m = self.final[1] if self.final else {}
        content = (m.get("result") or {}).get("content") or [{}]
        return content[0].get("text", ""), (m.get("result") or {}).get("isError")

    def close(self):
        if self.s:
            self.s.close()


def audit_rows(st, tool="test_ask"):
    ok, out = st.psql("SELECT outcome FROM audit_log WHERE tool = '%s' ORDER BY id" % tool)
    return out.split() if ok else None


def new_rows(st, before, tool="test_ask"):
    after = audit_rows(st, tool)
    return after[len(before):] if before is not None and after is not None else None


def read_until(s, pred):
    """(event, message) pairs of s up to the first message pred accepts (or the end)."""
    out = []
    while True:
        ev = s.next()
        if ev is None:
            return out
        m = parse(ev)
        out.append((ev, m))
        if isinstance(m, dict) and pred(m):
            return out


def is_request(m):
    return m.get("method") == "elicitation/create" and "id" in m


def kind(m):
    if not isinstance(m, dict):
        return None
    if m.get("method") == "notifications/message":
        return "message:%s" % (m.get("params") or {}).get("data")
    return m.get("method") or ("result" if "result" in m else "error" if "error" in m else None)


ASKED_TWICE = ["message:before", "elicitation/create", "message:between", "elicitation/create",
               "result"]


def ask_twice(url, id):
    """Calls test_ask_twice on a new session and answers it; returns what its stream
    carried (kinds), the result's text and the event sequence numbers."""
    c = session(url, caps={"elicitation": {}}, name=id)
    s = post_stream(c, url, call_body(id, "test_ask_twice"))
    got = read_until(s, is_request)
    if got and isinstance(got[-1][1], dict) and is_request(got[-1][1]):
        answer(c, url, got[-1][1]["id"], {"action": "accept", "content": {"name": "Ada"}})
        got += read_until(s, is_request)
    if got and isinstance(got[-1][1], dict) and is_request(got[-1][1]):
        answer(c, url, got[-1][1]["id"], {"action": "accept", "content": {"colour": "green"}})
        got += read_until(s, lambda m: m.get("id") == id)
    s.close()
    kinds = [kind(m) for _, m in got if kind(m)]
    final = got[-1][1] if got else None
    text = ((final or {}).get("result") or {}).get("content", [{}])[0].get("text", "")
    return kinds, text, [seq_of(ev) for ev, _ in got if ev.get("id")]


def check_turns(t, st, fe, url):
    """Several turns of one call, a client that left and came back, a cancellation."""
    before = audit_rows(st, "test_ask_twice")
    kinds, text, seqs = ask_twice(url, "twice")
    t.ok(kinds == ASKED_TWICE and text == "Ada likes green" and seqs == sorted(set(seqs)),
         "%s: a call asking twice runs again at each answer: each notification and request "
         "once, then its result" % fe, "kinds: %r" % kinds, "text: %r" % text,
         "seqs: %r" % seqs)
    rows = new_rows(st, before, "test_ask_twice")
    t.ok(rows == ["ok"], "%s: one audit row for the call of several turns" % fe,
         "new rows: %r" % rows)

    c = session(url, caps={"elicitation": {}}, name="left")
    s = post_stream(c, url, call_body("left", "test_ask", {"kind": "elicitation"}))
    got = read_until(s, is_request)
    s.close()  # the client leaves while the call is held
    ev, req = got[-1] if got else ({}, {})
    r = answer(c, url, req.get("id"), {"action": "accept", "content": {"name": "Grace"}})
    s = SSE("GET", url + "/mcp", None,
            c.headers({"Accept": "text/event-stream", "Content-Type": None,
                       "Last-Event-ID": ev.get("id")}), timeout=10 * SLOW)
    rest = read_until(s, lambda m: m.get("id") == "left")
    s.close()
    final = rest[-1][1] if rest else None
    t.ok(r.status == 202 and isinstance(final, dict) and "Grace" in json.dumps(final),
         "%s: a client that left its held call answers and resumes it: the result is there"
         % fe, r.describe(), "resumed: %r" % [m for _, m in rest])

    before = audit_rows(st)
    c = session(url, caps={"elicitation": {}}, name="cancel")
    s = post_stream(c, url, call_body("cancel-held", "test_ask", {"kind": "elicitation"}))
    got = read_until(s, is_request)
    r = c.post({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": "cancel-held", "reason": "test"}},
               {"Accept": ACCEPT})
    rest = read_until(s, lambda m: m.get("id") == "cancel-held")
    s.close()
    answered = [m for _, m in rest if isinstance(m, dict) and m.get("id") == "cancel-held"]
    rows = new_rows(st, before)
    t.ok(r.status == 202 and got and s.closed and not answered and rows == ["cancelled"],
         "%s: a held call cancelled ends its stream without a response, audited as cancelled"
         % fe, r.describe(), "after: %r" % answered, "new rows: %r" % rows)


def check(t, st, fe, url):
    before = audit_rows(st)
    calls = [Call(url, i) for i in range(N_CALLS)]
    silent = Call(url, N_CALLS)  # its client never answers
    waiting = calls + [silent]
    for c in waiting:
        c.got_request.wait(20 * SLOW)
    asked = [c for c in waiting if c.request]
    ended = [c.id for c in waiting if c.final]
    t.ok(len(asked) == len(waiting) and not ended,
         "%s: %d calls waiting for an elicitation answer with %d worker threads per process "
         "all got their request, none ended" % (fe, len(waiting), THREADS),
         "without it: %r" % [(c.id, c.error) for c in waiting if not c.request][:5],
         "ended: %r" % ended)
    other = session(url, name="other")
    r = other.call("ping", timeout=3 * TIMEOUT_S)
    ended = [c.id for c in waiting if c.final]
    t.ok(r.status == 200 and (r.json or {}).get("result") == {} and not ended,
         "%s: another session's ping is answered while all %d calls wait (none ended)"
         % (fe, len(waiting)), r.describe(), "ended first: %r" % ended)
    end = time.monotonic() + 5 * SLOW
    while time.monotonic() < end and not all(c.s and c.s.comments for c in asked):
        time.sleep(0.1)
    t.ok(asked and all(c.s.comments for c in asked),
         "%s: the waiting calls' streams get heartbeats" % fe,
         "comments: %r" % [c.s.comments if c.s else None for c in asked])
    statuses = []
    for i, c in enumerate(calls):
        if c.request:
            res = answer(c.c, url, c.request[1]["id"],
                         {"action": "accept", "content": {"name": "user-%d" % i}})
            statuses.append(res.status)
    t.ok(statuses == [202] * len(calls), "%s: each answer POSTed -> 202" % fe,
         "statuses: %r" % statuses)
    for c in calls:
        c.done.wait(20 * SLOW)
    texts = [c.text() for c in calls]
    right = [('"user-%d"' % i) in text and not is_error for i, (text, is_error) in enumerate(texts)]
    t.ok(all(right), "%s: every call ends with the answer its own client gave" % fe,
         "texts: %r" % texts[:4], "errors: %r" % [c.error for c in calls if c.error][:3])
    same = [c.final and c.request and c.final[0]["id"] and
            c.final[0]["id"].rsplit(".", 1)[0] == c.request[0]["id"].rsplit(".", 1)[0] and
            int(c.final[0]["id"].rsplit(".", 1)[1]) > int(c.request[0]["id"].rsplit(".", 1)[1])
            for c in calls]
    t.ok(all(same), "%s: each result is the next event of the stream that carried its request"
         % fe, "ids: %r" % [(c.request and c.request[0]["id"], c.final and c.final[0]["id"])
                            for c in calls][:3])
    silent.done.wait(TIMEOUT_S + 20 * SLOW)
    text, is_error = silent.text()
    t.ok(is_error is True and "did not answer in time" in text,
         "%s: a call whose client never answers ends at request_timeout_s with the tool's "
         "timeout error" % fe, "final: %r" % (silent.final and silent.final[1]),
         "error: %r" % silent.error)
    new = new_rows(st, before)
    t.ok(new is not None and sorted(new) == sorted(["ok"] * N_CALLS + ["error"]),
         "%s: one audit row per call (%d ok, 1 error)" % (fe, N_CALLS), "new rows: %r" % new)
    for c in waiting:
        c.close()
    r = other.call("ping", timeout=10 * SLOW)
    t.ok(r.status == 200, "%s: the workers serve after the calls ended" % fe, r.describe())


def check_stop(t, st, fe, url):
    """SIGTERM while calls are held: each ends with its result, the processes exit."""
    calls = [Call(url, 100 + i) for i in range(THREADS * PROCESSES + 1)]
    for c in calls:
        c.got_request.wait(20 * SLOW)
    asked = all(c.request for c in calls)
    time.sleep(0.5)  # past the request: the calls wait, held
    pids, alive = st.stop_responders(fe, 20 * SLOW)
    for c in calls:
        c.done.wait(20 * SLOW)
    texts = [c.text() for c in calls]
    t.ok(asked and pids and not alive and
         all(is_error and "did not answer" in text for text, is_error in texts),
         "%s: SIGTERM with %d calls held: each ends with the tool's answer, the responders "
         "exit" % (fe, len(calls)), "pids %r, still alive %r" % (sorted(pids), sorted(alive)),
         "texts %r" % texts[:3])
    for c in calls:
        c.close()


def main():
    t = Tap()
    with Stack(t, servers="lighttpd proxy", responder=test_responder(), config_extra=CONFIG,
               code_check_servers="proxy") as st:
        fes = st.front_ends()
        for fe, url in fes:
            try:
                check(t, st, fe, url)
                check_turns(t, st, fe, url)
            except Exception as e:  # a check that could not run fails
                t.ok(False, "%s: the checks ran to their end" % fe, repr(e))
        fe, url = fes[0]
        check_stop(t, st, fe, url)
    with Stack(t, servers="fcgid", responder=test_responder(),
               config_extra="db_connections = 1\nrequest_timeout_s = %d" % TIMEOUT_S) as st:
        fe, url = st.front_ends()[0]
        kinds, text, seqs = ask_twice(url, "shared")
        t.ok(kinds == ASKED_TWICE and text == "Ada likes green",
             "%s, shared mode (no holder): a call asking twice waits in its worker and ends "
             "with both answers" % fe, "kinds: %r" % kinds, "text: %r" % text)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
