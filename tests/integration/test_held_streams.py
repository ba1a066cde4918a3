#!/usr/bin/env python3
"""test_held_streams.py - held streams cost no worker thread (mcp/hold.h), through real web
servers, with 2 worker threads per process:

- 50 streams held at once at each front end (GET /mcp streams of sessions, /sse streams and
  subscriptions/listen streams) all open, and get their heartbeats;
- while they are held, a ping is still answered;
- a resource update reaches every GET stream subscribed to it, a tool list change every
  listen stream, a reply posted to /messages its /sse stream: the events still reach
  every held stream, and only its own;
- at the end of their bounded life every held stream ends (the listen streams with their
  request's result) and the streams' workers are free again;
- SIGTERM to the responders while streams are held: each ends with its request's result
  and the processes exit.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_held_streams.py  (TAP)
"""

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import (SLOW, Mcp, Stack, Tap, json_bytes, request,  # noqa: E402
                     test_responder)
from test_listen import META, headers as modern_headers  # noqa: E402

THREADS = 2
N_GET, N_SSE, N_LISTEN = 20, 10, 20  # 50 held streams per front end
LIFE_S = 20 * SLOW  # the streams outlive the checks, even under valgrind
CONFIG = "threads = %d\nsse_max_s = %d\nsse_heartbeat_s = 1" % (THREADS, LIFE_S)
URI = "test://watched-resource"


class Stream:
    """A held SSE response read by a thread: its data messages and comment count."""

    def __init__(self, url, method, path, headers, body=None):
        u = urllib.parse.urlsplit(url + path)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=LIFE_S + 20)
        path = u.path
        headers = {k: v for k, v in headers.items() if v is not None}
        self.msgs, self.events, self.comments = [], [], 0
        self.status, self.ended, self.error = None, False, None
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(method, path, headers, body),
                                       daemon=True)
        self.thread.start()

    def _run(self, method, path, headers, body):
        try:
            self.conn.request(method, path, body=json_bytes(body) if body else None,
                              headers=headers)
            resp = self.conn.getresponse()
            self.status = resp.status
            self.opened.set()
            event = None
            for line in resp:
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith(":"):
                    self.comments += 1
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and line[5:].strip():
                    data = line[5:].strip()
                    self.events.append((event, data))
                    try:
                        self.msgs.append(json.loads(data))
                    except ValueError:
                        pass
                elif not line:
                    event = None
        except (OSError, http.client.HTTPException) as e:
            self.error = repr(e)
        self.ended = True
        self.opened.set()

    def methods(self):
        return [m.get("method") for m in self.msgs if isinstance(m, dict)]

    def close(self):
        try:
            self.conn.sock and self.conn.sock.shutdown(2)
        except OSError:
            pass
        self.conn.close()


def wait_all(streams, pred, timeout_s):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if all(pred(s) for s in streams):
            return True
        time.sleep(0.1)
    return all(pred(s) for s in streams)


def open_streams(url):
    """Opens the front end's held streams; returns (gets, sses, listens, sessions)."""
    sessions = []
    for i in range(N_GET):
        c = Mcp(url, name="held-%d" % i)
        c.initialize()
        c.call("resources/subscribe", {"uri": URI})
        sessions.append(c)
    gets = [Stream(url, "GET", "/mcp",
                   c.headers({"Accept": "text/event-stream", "Content-Type": None}))
            for c in sessions]
    sses = [Stream(url, "GET", "/sse", {"Accept": "text/event-stream"}) for _ in range(N_SSE)]
    body = {"jsonrpc": "2.0", "method": "subscriptions/listen",
            "params": {"_meta": META, "notifications": {"toolsListChanged": True}}}
    listens = [Stream(url, "POST", "/mcp", modern_headers("subscriptions/listen"),
                      dict(body, id="sub-%d" % i)) for i in range(N_LISTEN)]
    return gets, sses, listens, sessions


def post_messages(url, sse, id):
    """POSTs a ping to an /sse stream's /messages endpoint; returns the status."""
    endpoint = next((d for e, d in sse.events if e == "endpoint"), None)
    if not endpoint:
        return None
    body = {"jsonrpc": "2.0", "id": id, "method": "ping"}
    r = request("POST", url + endpoint, json_bytes(body), {"Content-Type": "application/json"})
    return r.status


def check_front_end(t, fe, url):
    gets, sses, listens, sessions = open_streams(url)
    streams = gets + sses + listens
    opened = wait_all(streams, lambda s: s.opened.is_set(), 20 * SLOW)
    bad = [(s.status, s.error) for s in streams if s.status != 200]
    t.ok(opened and not bad,
         "%s: %d streams held at once with %d worker threads per process all open"
         % (fe, len(streams), THREADS), "not 200: %r" % bad[:5])
    beats = wait_all(streams, lambda s: s.comments >= 2 and not s.ended, 10 * SLOW)
    t.ok(beats, "%s: every held stream gets its heartbeats and stays open" % fe,
         "comments: %r" % sorted(s.comments for s in streams)[:10],
         "ended: %d" % sum(s.ended for s in streams))
    r = sessions[0].call("ping", timeout=10 * SLOW)
    t.ok(r.status == 200 and (r.json or {}).get("result") == {},
         "%s: a ping is answered while %d streams are held" % (fe, len(streams)), r.describe())
    probe = Mcp(url, name="probe")
    r = probe.initialize()
    t.ok(r.status == 200, "%s: a new session is made while they are held" % fe, r.describe())
    r = probe.tool("test_update_resource", {"uri": URI})
    got = wait_all(gets, lambda s: "notifications/resources/updated" in s.methods(),
                   10 * SLOW)
    t.ok(r.status == 200 and got,
         "%s: a resource update reaches all %d held GET streams subscribed to it"
         % (fe, len(gets)), r.describe(),
         "without it: %d" % sum("notifications/resources/updated" not in s.methods()
                                for s in gets))
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "test_trigger_tool_change", "arguments": {}, "_meta": META}}
    r = request("POST", url + "/mcp", json_bytes(body),
                modern_headers("tools/call", "test_trigger_tool_change"))
    got = wait_all(listens, lambda s: "notifications/tools/list_changed" in s.methods(),
                   10 * SLOW)
    t.ok(r.status == 200 and got,
         "%s: a tool list change reaches all %d held listen streams" % (fe, len(listens)),
         r.describe())
    statuses = [post_messages(url, s, 1000 + i) for i, s in enumerate(sses)]
    got = wait_all(sses, lambda s: any(isinstance(m, dict) and m.get("id", 0) >= 1000
                                       for m in s.msgs), 10 * SLOW)
    own = all([m.get("id") for m in s.msgs if isinstance(m, dict) and "id" in m] == [1000 + i]
              for i, s in enumerate(sses))
    t.ok(statuses == [202] * len(sses) and got and own,
         "%s: each held /sse stream gets the reply to its own /messages POST, and only it"
         % fe, "statuses: %r" % statuses, "msgs: %r" % [s.msgs for s in sses][:3])
    # the tool list change is every session's too
    expected = ("notifications/resources/updated", "notifications/tools/list_changed")
    others = [m for s in gets for m in s.methods() if m not in expected]
    t.ok(not others, "%s: the GET streams got nothing but their notifications" % fe,
         repr(others[:5]))
    ended = wait_all(streams, lambda s: s.ended, LIFE_S + 15 * SLOW)
    results = all(s.msgs and s.msgs[-1].get("id") == "sub-%d" % i and
                  s.msgs[-1].get("result", {}).get("resultType") == "complete"
                  for i, s in enumerate(listens))
    t.ok(ended and results,
         "%s: at the end of their life the held streams end (listen streams with their result)"
         % fe, "still open: %d" % sum(not s.ended for s in streams))
    for s in streams:
        s.close()
    r = sessions[1].call("ping", timeout=10 * SLOW)
    t.ok(r.status == 200, "%s: the workers serve after the streams ended" % fe, r.describe())


class LockedTap:
    """The checks of the front ends, run at once, reported one at a time."""

    def __init__(self, tap):
        self.tap, self.lock = tap, threading.Lock()

    def ok(self, *args):
        with self.lock:
            return self.tap.ok(*args)


def check_stop(t, st, fe, url):
    """SIGTERM while streams are held: they end with their result, the processes exit."""
    body = {"jsonrpc": "2.0", "method": "subscriptions/listen",
            "params": {"_meta": META, "notifications": {"toolsListChanged": True}}}
    listens = [Stream(url, "POST", "/mcp", modern_headers("subscriptions/listen"),
                      dict(body, id="stop-%d" % i)) for i in range(10)]
    acked = wait_all(listens, lambda s: len(s.msgs) >= 1, 20 * SLOW)
    time.sleep(1)  # past the acknowledgement: the streams wait, held
    pids, alive = st.stop_responders(fe, 20 * SLOW)
    ended = wait_all(listens, lambda s: s.ended, 20 * SLOW)
    results = [bool(s.msgs) and s.msgs[-1].get("id") == "stop-%d" % i and
               s.msgs[-1].get("result", {}).get("resultType") == "complete"
               for i, s in enumerate(listens)]
    t.ok(acked and pids and not alive and ended and all(results),
         "%s: SIGTERM with %d streams held: each ends with its result, the responders exit"
         % (fe, len(listens)), "pids %r, still alive %r" % (sorted(pids), sorted(alive)),
         "results %r" % results)
    for s in listens:
        s.close()


def run_front_end(t, fe, url):
    try:
        check_front_end(t, fe, url)
    except Exception as e:  # a check that could not run fails
        t.ok(False, "%s: the checks ran to their end" % fe, repr(e))


def main():
    t = Tap()
    # under valgrind and the sanitizers one front end: the holder is the responder's
    with Stack(t, servers="lighttpd proxy", responder=test_responder(), config_extra=CONFIG,
               code_check_servers="proxy") as st:
        fes = st.front_ends()
        lt = LockedTap(t)
        runs = [threading.Thread(target=run_front_end, args=(lt, fe, url)) for fe, url in fes]
        for th in runs:
            th.start()
        for th in runs:
            th.join()
        fe, url = fes[0]
        check_stop(t, st, fe, url)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
