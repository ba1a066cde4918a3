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
  client did not answer in time", and one audit row.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_held_calls.py  (TAP)
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import SLOW, Stack, Tap, test_responder  # noqa: E402
from test_streams import SSE, answer, call_body, parse, post_stream, session  # noqa: E402

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


def audit_rows(st):
    ok, out = st.psql("SELECT outcome FROM audit_log WHERE tool = 'test_ask' ORDER BY id")
    return out.split() if ok else None


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
    after = audit_rows(st)
    new = after[len(before):] if before is not None and after is not None else None
    t.ok(new is not None and sorted(new) == sorted(["ok"] * N_CALLS + ["error"]),
         "%s: one audit row per call (%d ok, 1 error)" % (fe, N_CALLS), "new rows: %r" % new)
    for c in waiting:
        c.close()
    r = other.call("ping", timeout=10 * SLOW)
    t.ok(r.status == 200, "%s: the workers serve after the calls ended" % fe, r.describe())


def main():
    t = Tap()
    with Stack(t, servers="lighttpd proxy", responder=test_responder(), config_extra=CONFIG,
               code_check_servers="proxy") as st:
        for fe, url in st.front_ends():
            try:
                check(t, st, fe, url)
            except Exception as e:  # a check that could not run fails
                t.ok(False, "%s: the checks ran to their end" % fe, repr(e))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
