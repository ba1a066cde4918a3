#!/usr/bin/env python3
"""test_soak.py - a soak (issue 8, point 4): SOAK_SECONDS (default 45; the issue's run is
SOAK_SECONDS=1800) of mixed traffic through lighttpd and Apache mod_fcgid, auth = oauth, on one
private PostgreSQL, with tests/mcpgate-test.fcgi, and the responders' memory watched.

SOAK_WORKERS client threads (half per front end, each with its own sign-in, MCP session and
keep-alive connection; the machinery of test_faults.py) loop over:
  echo       tools/call echo (audited)
  ping       a bearer check
  refresh    refresh token rotation
  stream     tools/call test_stream as SSE, dropped after two progress events and resumed with
             GET + Last-Event-ID until its response; every other time test_hangup (the server
             ends the stream early, the client resumes for the result); no event lost or repeated
  register   a dynamic client registration (register_per_hour raised for the soak)

Memory: every SAMPLE_S the VmRSS of every responder process of both front ends (from
/proc/PID/status; processes are tracked by pid, so one that mod_fcgid starts later is a curve
of its own). The curve is printed as TAP diagnostics (about 30 lines), then a table.
Warm-up: the first WARMUP_S = a quarter of the run, at least 15 s and at most 300 s: allocator
arenas, PostgreSQL connections, prepared statements and caches grow to their working size
there. After it, each process's RSS must stay within RSS_TOLERANCE (5%) of its first sample
after the warm-up (its own warm-up for a process started later; one that lived less than half
of the measured time is listed, not judged).

Checked as well: zero 5xx and every answer well-formed (the classes of test_faults.py: only
"ok" is accepted here), the count of each operation, every tools/call answered with a result
has its audit row, no token or session id in the logs, the stack stops cleanly.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_soak.py   (TAP on stdout)
     SOAK_SECONDS=1800 make -C build check TESTS=tests/integration/test_soak.py
"""

import collections
import http.client
import os
import sys
import threading
import time

SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS") or 45)
# mcptest's watchdog, read when the stack starts, must outlast the soak (before bench.py's
# default for it is imported)
os.environ["MCPGATE_TEST_TIMEOUT"] = str(max(int(os.environ.get("MCPGATE_TEST_TIMEOUT") or 110),
                                             SOAK_SECONDS + 180))

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "bench")]
import mcptest  # noqa: E402
import oauthlib  # noqa: E402
import test_faults as tf  # noqa: E402
from bench import vmrss_kb  # noqa: E402
from test_streams import SSE, is_response, parse, seq_of  # noqa: E402

WARMUP_S = min(300, max(15, SOAK_SECONDS // 4))
SAMPLE_S = 3
RSS_TOLERANCE = 0.05
SOAK_WORKERS = 4
THINK_S = 0.01
STREAM_EVERY, REGISTER_EVERY = 15, 40
# 30 minutes of debug lines would be gigabytes. Every worker signs in as one user, and a
# dropped stream keeps its held-stream lease until the responder's next heartbeat finds
# the client gone, so a worker that resumes at once would meet the per-user cap of 6
# (SECURITY.md, "Attacks on resources"): the soak measures memory and answers, not caps.
CONFIG_EXTRA = tf.CONFIG_EXTRA + "\nlog_level = warn\nstreams_per_user = 64\nstreams_per_token = 64"


class SoakWorker(tf.Worker):
    """test_faults.Worker with SSE streams and registrations in its mix."""

    think_s = THINK_S

    def next_op(self):
        if self.i % REGISTER_EVERY == 0:
            return self.op_register
        if self.i % STREAM_EVERY == 0:
            return self.op_stream
        if self.i % tf.REFRESH_EVERY == 0 and self.refreshing:
            return self.op_refresh
        if self.i % tf.PING_EVERY == 0:
            return self.op_ping
        return self.op_echo

    def op_register(self):
        body = mcptest.json_bytes({"redirect_uris": [oauthlib.REDIRECT], "client_name": "soak",
                                   "token_endpoint_auth_method": "none",
                                   "grant_types": ["authorization_code", "refresh_token"],
                                   "response_types": ["code"]})
        r = self.conn.exchange("POST", "/register", body, {"Content-Type": "application/json",
                                                           "Accept": "application/json"})
        j = r.json if r.error is None and isinstance(r.json, dict) else {}
        if r.status == 201 and isinstance(j.get("client_id"), str):
            cls, why = "ok", ""
        else:
            cls, why = tf.classify_failure(r, "/register")
        self.rec.add(r, self.fe, "register", cls, why)

    def op_stream(self):
        # the keep-alive connection would sit idle (and be closed by the server) meanwhile
        self.conn.close()
        hangup = (self.i // STREAM_EVERY) % 2 == 1
        id = mcptest.Mcp.next_id()
        if hangup:
            params, want = {"name": "test_hangup", "arguments": {}}, "done after hangup"
        else:
            params = {"name": "test_stream", "arguments": {"count": 4, "interval_ms": 100},
                      "_meta": {"progressToken": id}}
            want = "streamed 4"
        t0 = time.monotonic()
        rid, p = None, []
        try:
            rid, p = self.stream(id, params, want, hangup)
        except (OSError, http.client.HTTPException, ValueError) as e:
            p.append("%s: %s" % (type(e).__name__, e))
        cls = "ok" if not p else "malformed"
        op = "stream_hangup" if hangup else "stream"
        self.rec.note(tf.Rec(t0, time.monotonic(), self.fe, op, cls, "; ".join(p), rid,
                             "ok" if cls == "ok" else None, 200 if cls == "ok" else None),
                      "; ".join(p))

    def stream(self, id, params, want, hangup):
        """POST the call as SSE, drop it (or let the server end it), resume with GET and
        Last-Event-ID. Returns (request id of the POST, problems)."""
        h = tf.mcp_headers(self.s.access, self.s.sid, {"Accept": "application/json, "
                                                                 "text/event-stream"})
        s = SSE("POST", self.s.url + "/mcp", tf.rpc_body(id, "tools/call", params), h,
                timeout=tf.HTTP_TIMEOUT_S)
        rid = s.headers.get("x-request-id")
        p = [] if s.status == 200 and s.ctype == "text/event-stream" else [
            "POST answered %s %s" % (s.status, s.ctype)]
        first = []
        while not p:
            ev = s.next()
            if ev is None:
                break
            first.append(ev)
            if not hangup and sum(1 for e in first if e["data"]) >= 2:
                break  # the client goes away in the middle of the call
        s.close()
        ids = [e["id"] for e in first if e["id"]]
        if not ids:
            return rid, p + ["no event id to resume from: %r" % first]
        g = SSE("GET", self.s.url + "/mcp", None,
                tf.mcp_headers(self.s.access, self.s.sid, {"Accept": "text/event-stream",
                                                           "Content-Type": None,
                                                           "Last-Event-ID": ids[-1]}),
                timeout=tf.HTTP_TIMEOUT_S)
        rest = g.messages(lambda e: is_response(e, id)) if g.status == 200 else []
        g.close()
        if g.status != 200:
            return rid, p + ["resume answered %s" % g.status]
        seqs = [seq_of(e) for e in first + rest if e["id"]]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            p.append("event seqs %r have gaps or repeats" % seqs)
        final = parse(rest[-1]) if rest else None
        try:
            text = final["result"]["content"][0]["text"]
        except (TypeError, KeyError, IndexError):
            text = None
        if text != want:
            p.append("the resumed stream ends with %r, expected the result %r" % (final, want))
        return rid, p


class RssWatch(threading.Thread):
    """VmRSS (kB) of every responder process of the front ends, every SAMPLE_S, by pid."""

    def __init__(self, st, fes):
        super().__init__(daemon=True)
        self.paths = {fe: st.responder_path(fe) for fe, _ in fes}
        self.stop = threading.Event()
        self.samples = collections.defaultdict(list)  # pid -> [(t, kB)]
        self.fe_of = {}

    def sample(self):
        t = time.monotonic()
        for fe, path in self.paths.items():
            for pid in mcptest.pgrep(path):
                kb = vmrss_kb(pid)
                if kb is not None:
                    self.samples[pid].append((t, kb))
                    self.fe_of[pid] = fe

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(SAMPLE_S)

    def finish(self):
        self.stop.set()
        self.join(10)
        self.sample()


def at(samples, t):
    """The last sample (kB) at or before t, or None."""
    val = None
    for ts, kb in samples:
        if ts > t:
            break
        val = kb
    return val


def print_curve(t, watch, t0, t_end):
    """About 30 diagnostic lines of the curve, then one row per minute (per 10 s when short)."""
    pids = sorted(watch.samples, key=lambda p: (watch.fe_of[p], watch.samples[p][0][0], p))
    names = ["%s/%d" % (watch.fe_of[p], p) for p in pids]
    step = max(SAMPLE_S, (t_end - t0) / 30)
    lines, x = [], t0
    while x <= t_end + 0.01:
        vals = [at(watch.samples[p], x) for p in pids]
        lines.append("rss +%5.0fs  %s" % (x - t0, "  ".join(
            "%s %s" % (n, "%.1fM" % (v / 1024) if v else "-") for n, v in zip(names, vals))))
        x += step
    t.diag(*lines)
    row = 60 if t_end - t0 >= 600 else 10
    head = "%-8s" % ("minute" if row == 60 else "second") + "".join("%16s" % n for n in names)
    table = [head]
    for k in range(int((t_end - t0) // row) + 1):
        vals = [at(watch.samples[p], t0 + k * row) for p in pids]
        table.append("%-8d" % k if row == 60 else "%-8d" % (k * row))
        table[-1] += "".join("%16s" % ("%d kB" % v if v else "-") for v in vals)
    t.diag("RSS (VmRSS) per responder process:", *table)


def rss_meaningless(responder):
    """Why RSS says nothing about leaks with this responder, or None: AddressSanitizer's
    quarantine holds freed memory (LeakSanitizer judges leaks there, at exit), valgrind runs
    the responder on its own heap."""
    if os.environ.get("MCPGATE_VALGRIND") == "1":
        return "the responders run under valgrind"
    try:
        with open(responder, "rb") as f:
            if b"__asan_init" in f.read():
                return "AddressSanitizer build: its quarantine holds freed memory"
    except OSError:
        pass
    return None


def check_rss(t, watch, t0, t_end, responder):
    why = rss_meaningless(responder)
    if why:
        t.skip("RSS of the responder processes flat after the warm-up", why)
        return
    measured = t_end - (t0 + WARMUP_S)
    judged, problems, skipped = 0, [], []
    for pid, smp in sorted(watch.samples.items()):
        name = "%s/%d" % (watch.fe_of[pid], pid)
        start = max(t0, smp[0][0]) + WARMUP_S
        after = [kb for ts, kb in smp if ts >= start]
        if not after or smp[-1][0] - start < measured / 2:
            skipped.append("%s (lived %.0fs)" % (name, smp[-1][0] - smp[0][0]))
            continue
        judged += 1
        base, top, last = after[0], max(after), after[-1]
        growth = top / base - 1
        t.diag("%s: %d kB after warm-up, at most %d kB (%+.1f%%), %d kB at the end (%+.1f%%)"
               % (name, base, top, 100 * growth, last, 100 * (last / base - 1)))
        if growth > RSS_TOLERANCE:
            problems.append("%s grew from %d kB to %d kB (%+.1f%%)"
                            % (name, base, top, 100 * growth))
    if skipped:
        t.diag("not judged (too short-lived): " + ", ".join(skipped))
    t.check("RSS of %d responder processes flat within %d%% after a %ds warm-up, over %.0fs"
            % (judged, 100 * RSS_TOLERANCE, WARMUP_S, measured),
            problems + ([] if judged else ["no process lived long enough to be judged"]))


def main():
    t = mcptest.Tap()
    responder = os.environ.get("MCPGATE_TEST_RESPONDER") or mcptest.test_responder()
    if not os.access(responder, os.X_OK):
        t.bail("test responder %s not built (make check builds it)" % responder)
    with mcptest.Stack(t, servers=tf.SERVERS, responder=responder, config_extra=CONFIG_EXTRA,
                       auth="oauth") as st:
        run(t, st, responder)
    return t.done()


def run(t, st, responder):
    fes = st.front_ends()
    if len(fes) != 2:
        return
    tf.add_user(t, st)
    signins = tf.sign_in_all(t, fes, SOAK_WORKERS, "soak")
    rec = tf.Recorder()
    watch = RssWatch(st, fes)
    load = tf.Load(signins, rec, SoakWorker)
    t.diag("soak: %ds, %d workers, warm-up %ds, RSS sampled every %ds"
           % (SOAK_SECONDS, SOAK_WORKERS, WARMUP_S, SAMPLE_S))
    t0 = time.monotonic()
    watch.start()
    load.start()
    while time.monotonic() < t0 + SOAK_SECONDS:
        time.sleep(1)
    stuck = load.finish()
    t_end = time.monotonic()
    watch.finish()
    t.ok(not stuck, "every load thread stops by itself", "still running: %r" % stuck)
    print_curve(t, watch, t0, t_end)
    check_rss(t, watch, t0, t_end, responder)
    per_op = collections.Counter(r.op for r in rec.recs)
    t.diag("operations in %.0fs: %s (%.0f/s)" % (t_end - t0, ", ".join(
        "%s %d" % kv for kv in sorted(per_op.items())), len(rec.recs) / (t_end - t0)))
    need = ("echo", "ping", "refresh", "stream", "stream_hangup", "register")
    t.check("every kind of operation ran", ["no %s" % op for op in need if not per_op[op]])
    fivexx = [r for r in rec.recs if r.status is not None and r.status >= 500]
    t.check("zero 5xx in %d answers" % len(rec.recs),
            ["%s %s: %s %s" % (r.fe, r.op, r.status, r.why) for r in fivexx[:10]])
    tf.check_answers(t, rec, "soak")
    tf.check_audit(t, st, rec)
    tokens = [tok for _, _, tok in rec.tokens] + [s.refresh_token for s in signins]
    tf.check_no_secrets_in_logs(t, st, tokens + sorted(mcptest.SESSION_IDS))
    mcptest.check_logs(t, st)


if __name__ == "__main__":
    sys.exit(main())
