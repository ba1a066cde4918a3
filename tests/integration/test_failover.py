#!/usr/bin/env python3
"""test_failover.py - PostgreSQL fails over to a streaming standby under load, and nothing
that was acknowledged is lost (issue 9, point 2).

Each part runs its own stack (scripts/stack.sh with STACK_PG_STANDBY=1): a primary and a
standby made with pg_basebackup, replication synchronous, the responders' database a
multi-host URI with target_session_attrs=read-write; lighttpd (2 processes) and Apache
mod_fcgid, auth = oauth. Threads on both front ends call a tool (each call writes an audit
row), rotate refresh tokens, and get authorization codes and exchange them, while:

  a. the issue's order: the standby is promoted, the old primary keeps running for a second
     (a commit there cannot be acknowledged: it waits for the standby that left), then it is
     stopped; the responders recover by themselves within 5 s of the stop;
  b. the other order: the primary is fenced first (default_transaction_read_only; it keeps
     running), then the standby promoted; the responders leave the fenced server (pooled
     connections, and the LISTEN connection, so a revocation reaches every process) and
     recover within 5 s of the promotion; then the old primary is stopped.

While the database cannot take writes every answer is a clean 503 with Retry-After (JSON-RPC
-32603 or OAuth temporarily_unavailable), never anything else. Afterwards, on the new
primary, row by row: every access and refresh token a /token answer handed out exists (by
SHA-256), every authorization code a redirect handed out exists (and is used if its exchange
succeeded), every tools/call answered with a result has its audit row (by request id); the
last tokens of every chain still work. One answer a failover can lose: a refresh whose
rotation committed but whose answer was a 503 (the commit outcome is unknown to the
responder when its connection fails at the failover); its retry is then refused within refresh_grace_s ("just rotated", nothing revoked).
As in test_faults ("refresh_lost"), that client keeps its access token and stops refreshing;
the chain is reported, its access token still checked.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_failover.py   (TAP)
"""

import hashlib
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import SLOW, Mcp, Stack, Tap, admin, expect_result, tool_text  # noqa: E402
from oauthlib import FORM, Browser, OAuth, form_body, mcp_with, pkce  # noqa: E402

USER, PASSWORD = "failover", "a long enough password"
CONFIG = "rate_limit_user_per_min = 0\nrate_limit_client_per_min = 0\nregister_per_hour = 100"
RECOVER_S = 5.0       # the bound
WARMUP_S = 1.5        # load before the failover
SPLIT_S = 1.0         # a: the old primary runs this long after the promotion; b: fenced
                      # this long before the promotion
SETTLE_S = 2.0        # load goes on until every kind succeeded this long after the last failure
LOAD_CAP_S = 15.0     # ... but stops this long after the failover at the latest
PAUSE_S = 0.02        # between two requests of one worker
RETRY_S = 0.05        # after a 503 (a real client would honour Retry-After; we measure)
LISTEN_MOVE_S = 3.0   # b: every LISTEN connection leaves the fenced server within this
REVOKE_S = mcptest.CHANGE_CHECK_S  # b: a revocation reaches every process by notification
FENCE_SETTLE_S = 0.2  # b: the fence reaches every backend within this (SIGHUP)
SECRET = re.compile(r"((?:access_token|refresh_token|code|code_verifier|Bearer)[\"=: ]+)"
                    r"([A-Za-z0-9._~+/-]{6})[A-Za-z0-9._~+/=%-]*")
REQUEST_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
KINDS = {"tools/call", "refresh", "authorize", "code grant"}


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


def psql_at(st, which, sql):
    """(ok, output) of sql (given on stdin) on one cluster: "primary" or "standby"."""
    host, port = ((st.env["PGHOST"], st.env["PGPORT"]) if which == "primary" else
                  (st.env["PGHOST_STANDBY"], st.env["PGPORT_STANDBY"]))
    try:
        r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port,
                            "-U", "postgres", "-d", "mcpgate", "-f", "-"], input=sql,
                           capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return r.returncode == 0, (r.stdout if r.returncode == 0 else r.stderr).strip()


def missing(st, values, query):
    """The values (hex or request ids, checked by the caller) for which query, with %s the
    value as a literal, finds no row on the promoted standby; None if psql failed."""
    if not values:
        return []
    sql = ("SELECT v FROM unnest(ARRAY[%s]::text[]) v WHERE NOT EXISTS (%s)"
           % (",".join("'%s'" % v for v in sorted(values)), query % "v"))
    ok, out = psql_at(st, "standby", sql)
    return out.split() if ok else None


# ---------------------------------------------------------------------------
# answers


def unavailable_problems(r):
    """[] when r is a clean "retry later": 503, Retry-After in seconds, a JSON object that is
    a JSON-RPC -32603 error or an OAuth temporarily_unavailable error."""
    if r.status is None:
        return ["no HTTP response: %s" % r.error]
    p = []
    if r.status != 503:
        p.append("HTTP status %s" % r.status)
    if not (r.header("Retry-After") or "").isdigit():
        p.append("Retry-After %r" % r.header("Retry-After"))
    if r.content_type != "application/json":
        p.append("Content-Type %r" % r.header("Content-Type"))
    j = r.json if isinstance(r.json, dict) else {}
    rpc = j.get("jsonrpc") == "2.0" and (j.get("error") or {}).get("code") == -32603
    if not rpc and j.get("error") != "temporarily_unavailable":
        p.append("body is neither a JSON-RPC -32603 error nor temporarily_unavailable")
    return p


def shown(r, limit=600):
    """A Response for a diagnostic, with every token, code and verifier cut to a prefix."""
    lines = ["request: %s %s" % (r.method, r.url.split("?")[0])]
    if r.status is None:
        lines.append("no response: %s (after %.2fs)" % (r.error, r.elapsed))
    else:
        lines.append("response: %s %s (%.2fs)" % (r.status, r.reason, r.elapsed))
        lines += ["  %s: %s" % (k, v if k.lower() != "set-cookie" else v[:v.find("=") + 7] + "...")
                  for k, v in r.headers]
        lines.append("  body: %s" % r.body[:limit].decode("utf-8", "replace"))
    return SECRET.sub(r"\1\2...", "\n".join(lines))


def redirect_code(r, state):
    """The code of an authorization redirect for state, or None."""
    if r.status not in (302, 303):
        return None
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location") or "").query)
    if q.get("state", [""])[0] != state:
        return None
    code = q.get("code", [""])[0]
    return code or None


class Load:
    """What the workers did: answers (kind, worker, t0, t1, outcome), and what they were
    handed out: tokens, codes, request ids of successful tool calls."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.answers = []      # (kind, worker, t0, t1, outcome)
        self.bad = []          # (kind, worker, problems, Response)
        self.tokens = []       # (worker, access, refresh) of each 200 from /token
        self.codes = {}        # code -> exchanged (True once its grant got 200)
        self.audited = []      # X-Request-Id of each tools/call answered with a result
        self.last = {}         # worker -> (front end, client id, access, refresh)
        self.lost = {}         # worker -> the refusal that ended its refresh chain
        self.threads = []

    def note(self, kind, who, t0, outcome, r=None, problems=None):
        with self.lock:
            self.answers.append((kind, who, t0, time.monotonic(), outcome))
            if outcome == "bad":
                self.bad.append((kind, who, problems or [], r))

    def classify(self, kind, who, t0, r, success, problems):
        """Notes r as "ok" when success, else "unavailable" when it is a clean 503, else
        "bad". Returns the outcome."""
        if success:
            outcome, why = "ok", None
        else:
            why = unavailable_problems(r)
            outcome = "unavailable" if not why else "bad"
        self.note(kind, who, t0, outcome, r, problems + (why or []))
        time.sleep(PAUSE_S if outcome == "ok" else RETRY_S)
        return outcome

    def issued(self, who, fe, client_id, j):
        with self.lock:
            self.tokens.append((who, j["access_token"], j["refresh_token"]))
            self.last[who] = (fe, client_id, j["access_token"], j["refresh_token"])

    def start(self, target, *args):
        th = threading.Thread(target=target, args=(self,) + args, daemon=True)
        self.threads.append(th)
        th.start()

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join(mcptest.HTTP_TIMEOUT_S * 3)
        return [th for th in self.threads if th.is_alive()]


def caller(load, who, client):
    n = 0
    while not load.stop.is_set():
        n += 1
        id = Mcp.next_id()
        msg = "failover %s %d" % (who, n)
        t0 = time.monotonic()
        r = client.tool("echo", {"message": msg}, id=id)
        p, res = expect_result(r, id)
        if not p and tool_text(r) != msg:
            p.append("echo text %r" % tool_text(r))
        if not p and (not isinstance(res, dict) or res.get("isError") is not False):
            p.append("isError %r" % (res or {}).get("isError"))
        rid = r.header("X-Request-Id") or ""
        if not p and not REQUEST_ID.match(rid):
            p.append("X-Request-Id %r" % rid)
        if load.classify("tools/call", who, t0, r, not p, p) == "ok":
            with load.lock:
                load.audited.append(rid)


def token_answer(r):
    """Problems with a 200 answer of /token (empty: it has both tokens)."""
    j = r.json if isinstance(r.json, dict) else {}
    if r.status != 200:
        return ["HTTP status %s" % r.status]
    if not j.get("access_token") or not j.get("refresh_token"):
        return ["no access_token or refresh_token"]
    return []


def just_rotated(r):
    """A refresh refused because its token was rotated within refresh_grace_s (nothing
    revoked)."""
    j = r.json if isinstance(r.json, dict) else {}
    return (r.status == 400 and j.get("error") == "invalid_grant" and
            "just rotated" in (j.get("error_description") or ""))


def refresher(load, who, fe, o, client_id, refresh):
    """Refreshes in a loop. A 503 whose rotation had committed (a commit whose answer the
    failover lost) shows as the retry refused within the grace: as test_faults' refresh_lost,
    the client keeps its access token and stops refreshing; it is reported, not an error."""
    after_503 = False
    while not load.stop.is_set():
        t0 = time.monotonic()
        r = o.refresh(client_id, refresh)
        p = token_answer(r)
        if p and after_503 and just_rotated(r):
            with load.lock:
                load.lost[who] = r
            return
        outcome = load.classify("refresh", who, t0, r, not p, p)
        after_503 = outcome == "unavailable"
        if outcome == "ok":
            load.issued(who, fe, client_id, r.json)
            refresh = r.json["refresh_token"]


def coder(load, who, fe, o, browser, client_id):
    while not load.stop.is_set():
        verifier, challenge = pkce()
        state = "s%d" % Mcp.next_id()
        t0 = time.monotonic()
        r = browser.get(o.authorize_url(o.auth_params(client_id, challenge, state=state)))
        code = redirect_code(r, state)
        if load.classify("authorize", who, t0, r, bool(code),
                         [] if code else ["no code for our state in the redirect"]) != "ok":
            continue
        with load.lock:
            load.codes[code] = False
        while not load.stop.is_set():
            t0 = time.monotonic()
            r = o.code_grant(client_id, code, verifier)
            p = token_answer(r)
            outcome = load.classify("code grant", who, t0, r, not p, p)
            if outcome == "ok":
                load.issued(who, fe, client_id, r.json)
                with load.lock:
                    load.codes[code] = True
            if outcome != "unavailable":
                break


# ---------------------------------------------------------------------------
# one failover


def setup(t, st, fes):
    """Starts the workers; returns the Load, or None if the setup failed."""
    r = admin(st, "user", "add", USER, stdin=PASSWORD + "\n")
    if not t.ok(r.returncode == 0, "mcpgate user add", r.stdout, r.stderr):
        return None
    ok, out = psql_at(st, "primary", "SELECT sync_state FROM pg_stat_replication")
    t.ok(ok and out == "sync", "the standby streams and is synchronous (pg_stat_replication)",
         out)
    conf = st.config(fes[0][0]).get("database", "")
    t.ok("target_session_attrs=read-write" in conf and
         urllib.parse.quote(st.env["PGHOST_STANDBY"], safe="") in conf,
         "the responders' database names both clusters, target_session_attrs=read-write",
         conf)
    load = Load()
    workers = []
    for fe, url in fes:
        o = OAuth(url)
        browser = Browser()
        client, tok, problems = o.full_flow(browser, USER, PASSWORD)
        if not t.check("%s: OAuth sign-in, consent and code exchange" % fe, problems):
            return None
        load.issued("refresh-" + fe, fe, client["client_id"], tok)
        callers = []
        for i in range(2):
            c = mcp_with(url, tok["access_token"])
            r = c.initialize()
            if not t.check("%s: MCP session %d" % (fe, i + 1), [] if c.sid else ["none"], r):
                return None
            callers.append(c)
        workers += [(caller, "call-%s-%d" % (fe, i + 1), c) for i, c in enumerate(callers)]
        workers.append((refresher, "refresh-" + fe, fe, o, client["client_id"],
                        tok["refresh_token"]))
        workers.append((coder, "code-" + fe, fe, o, browser, client["client_id"]))
    for w in workers:
        load.start(*w)
    # at least WARMUP_S of load, and until every kind of request has succeeded once
    # (slow under valgrind on a loaded machine); the check below says which did not
    time.sleep(WARMUP_S)
    deadline = time.monotonic() + 60 * SLOW
    while True:
        with load.lock:
            kinds = {k for k, _, _, _, outcome in load.answers if outcome == "ok"}
            codes = list(load.codes)
        if kinds >= KINDS or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    t.ok(kinds == KINDS,
         "load runs on %d threads; every kind of request succeeds before the failover (%s)"
         % (len(workers), ", ".join(sorted(kinds))))
    # the hashes the checks look for are the ones mcpgate stores
    ok, out = psql_at(st, "primary", "SELECT count(*) FROM oauth_codes WHERE code_hash = '%s'"
                      % sha256(codes[0])) if codes else (False, "no code yet")
    t.ok(ok and out == "1", "a code handed out is stored as its SHA-256 (%s...)"
         % (sha256(codes[0])[:8] if codes else "-"), out)
    return load


def wait_settled(load, since):
    """Waits until every kind of request has succeeded SETTLE_S past the last failure
    answered after since (LOAD_CAP_S past since at the latest)."""
    while time.monotonic() - since < LOAD_CAP_S:
        time.sleep(0.2)
        with load.lock:
            answers = list(load.answers)
        fails = [a[3] for a in answers if a[3] >= since and a[4] != "ok"]
        last_fail = max(fails) if fails else since
        kinds_after = {a[0] for a in answers if a[2] > last_fail and a[4] == "ok"}
        if time.monotonic() - last_fail >= SETTLE_S and kinds_after == KINDS:
            return


def recovery(load, since):
    """(first, sustained, failures): seconds from since until the first success of a request
    sent after it, and until the end of the last failed answer (after which every answer
    succeeded); failures = answers after since that were not successes."""
    after = [a for a in load.answers if a[3] >= since]
    firsts = [a[3] for a in after if a[2] >= since and a[4] == "ok"]
    fails = [a[3] for a in after if a[4] != "ok"]
    first = min(firsts) - since if firsts else None
    sustained = max(fails) - since if fails else 0.0
    return first, sustained, len(fails)


def report_recovery(t, part, what, load, since):
    first, sustained, fails = recovery(load, since)
    t.ok(first is not None and first <= RECOVER_S and sustained <= RECOVER_S,
         "%s: recovered after %s: first success %s, sustained success after %.2fs, %d answers "
         "in between were 503 (limit %.0f s)"
         % (part, what, "never" if first is None else "%.2fs" % first, sustained, fails,
            RECOVER_S))
    return first, sustained


def check_answers(t, part, load):
    """Counts, and every answer a success or a clean 503."""
    counts = {}
    for kind, _, _, _, outcome in load.answers:
        counts.setdefault(kind, {"ok": 0, "unavailable": 0, "bad": 0})[outcome] += 1
    t.diag("%s: answers per kind (ok/503/bad): %s" % (part, "; ".join(
        "%s %d/%d/%d" % (k, c["ok"], c["unavailable"], c["bad"])
        for k, c in sorted(counts.items()))))
    diag = []
    for kind, who, problems, r in load.bad[:4]:
        diag.append("%s (%s): %s" % (kind, who, "; ".join(problems)))
        if r is not None:
            diag.append(shown(r))
    total = len(load.answers)
    t.ok(not load.bad, "%s: all %d answers were successes or clean 503s with Retry-After "
         "(%d malformed)" % (part, total, len(load.bad)), *diag)
    if load.lost:
        t.diag("%s: refresh chains ended by a lost answer (a 503 whose rotation had "
               "committed, then its retry refused within the grace): %s"
               % (part, ", ".join(sorted(load.lost))))


def check_rows(t, part, st, load):
    """Row by row on the new primary."""
    with load.lock:
        tokens = list(load.tokens)
        codes = dict(load.codes)
        audited = list(load.audited)
    hashes = {sha256(x) for _, a, rf in tokens for x in (a, rf)}
    gone = missing(st, hashes, "SELECT 1 FROM oauth_tokens WHERE token_hash = %s")
    t.ok(gone == [], "%s: all %d tokens from %d /token answers are on the new primary "
         "(by SHA-256)" % (part, len(hashes), len(tokens)),
         "missing: %s" % ("psql failed" if gone is None else
                          ", ".join(h[:8] + "..." for h in gone[:10])))
    gone = missing(st, {sha256(c) for c in codes},
                   "SELECT 1 FROM oauth_codes WHERE code_hash = %s")
    t.ok(gone == [], "%s: all %d authorization codes handed out are on the new primary"
         % (part, len(codes)), "missing: %r" % (gone if gone is None else
                                                [h[:8] for h in gone[:10]]))
    used = {sha256(c) for c, ok in codes.items() if ok}
    gone = missing(st, used, "SELECT 1 FROM oauth_codes WHERE code_hash = %s"
                   " AND used_at IS NOT NULL")
    t.ok(gone == [], "%s: the %d codes exchanged for tokens are marked used there"
         % (part, len(used)), "not used: %r" % (gone if gone is None else
                                                [h[:8] for h in gone[:10]]))
    gone = missing(st, set(audited), "SELECT 1 FROM audit_log WHERE request_id = %s"
                   " AND tool = 'echo' AND outcome = 'ok'")
    t.ok(gone == [], "%s: all %d tools/call answered with a result have their audit row "
         "there (by request id)" % (part, len(audited)),
         "missing: %r" % (gone if gone is None else gone[:10]))
    return len(hashes), len(codes), len(audited)


def check_chains(t, part, load, fes):
    """The last tokens of every chain still work: a tool call, and one more refresh."""
    urls = dict(fes)
    p = []
    for who, (fe, client_id, access, refresh) in sorted(load.last.items()):
        c = mcp_with(urls[fe], access)
        r = c.initialize()
        id = Mcp.next_id()
        r = c.tool("echo", {"message": "after"}, id=id) if c.sid else r
        if expect_result(r, id)[0]:
            p.append("%s: the last access token: %s" % (who, r.status))
        if who in load.lost:
            continue  # its refresh token was rotated by the answer it lost
        r = OAuth(urls[fe]).refresh(client_id, refresh)
        if token_answer(r):
            p.append("%s: the last refresh token: %s" % (who, shown(r, 200)))
    t.ok(not p, "%s: the last access and refresh token of each of the %d chains work (of %d "
         "ended by a lost answer: the access token)" % (part, len(load.last), len(load.lost)),
         *p)


def check_secrets_not_logged(t, part, st, load):
    secrets = [x for _, a, rf in load.tokens for x in (a, rf)] + list(load.codes)
    found = 0
    for path in list(st.log_paths().values()) + [st.env.get("LOG_PG", ""),
                                                  st.env.get("LOG_PG_STANDBY", "")]:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        found += sum(1 for s in secrets if s in text)
    t.ok(found == 0, "%s: none of the %d tokens and codes appears in a log" % (part,
                                                                              len(secrets)))


def stack_cmd(t, st, sub):
    t0 = time.monotonic()
    r = st.cmd(sub)
    t1 = time.monotonic()
    t.ok(r.returncode == 0, "stack.sh %s exits 0 (%.2fs)" % (sub, t1 - t0),
         r.stdout[-2000:], r.stderr[-2000:])
    return t0, t1


def new_stack(t):
    st = Stack(t, servers="lighttpd fcgid", auth="oauth", config_extra=CONFIG)
    st.proc_env["STACK_PG_STANDBY"] = "1"
    return st


def run_part(t, part, failover):
    """One stack, the load, failover(t, part, st, fes, load) -> (since, what): it fails
    over and lets the load settle; recovery is measured from since. Then the load stops and
    everything is checked. Returns (first, sustained, (tokens, codes, audit rows)), or None
    when the setup failed."""
    with new_stack(t) as st:
        fes = st.front_ends()
        load = setup(t, st, fes)
        if load is None:
            return None
        since, what = failover(t, part, st, fes, load)
        left = load.finish()
        t.ok(not left, "%s: every load thread finished" % part, "%d still running" % len(left))
        first, sustained = report_recovery(t, part, what, load, since)
        check_answers(t, part, load)
        figures = check_rows(t, part, st, load)
        check_chains(t, part, load, fes)
        check_secrets_not_logged(t, part, st, load)
        mcptest.check_logs(t, st)
    return first, sustained, figures


def promote_then_stop(t, part, st, fes, load):
    _, promoted = stack_cmd(t, st, "pg-promote")
    time.sleep(SPLIT_S)
    stop0, stop1 = stack_cmd(t, st, "pg-stop-primary")
    wait_settled(load, stop0)
    # Sent after the promotion, answered before the old primary stopped: such a success
    # would be a commit only the old primary has. Synchronous replication holds them.
    with load.lock:
        answers = list(load.answers)
    early = [a for a in answers if a[2] >= promoted and a[3] < stop0 and a[4] == "ok"]
    held = [a for a in answers if a[2] < stop0 and a[3] >= stop0]
    t.ok(not early, "%s: no request sent in the %.1f s between the promotion and the stop "
         "was answered with success by the old primary (%d held until the stop, then "
         "completed)" % (part, stop0 - promoted, len(held)),
         *["%s %s" % (a[0], a[1]) for a in early[:5]])
    return stop0, "the primary stop (pg_ctl stop took %.2fs)" % (stop1 - stop0)


def listeners_on(st, which):
    ok, out = psql_at(st, which, "SELECT count(*) FROM pg_stat_activity"
                      " WHERE application_name = 'mcpgate-listen'")
    return int(out) if ok and out.isdigit() else None


def revoke_reaches_every_process(t, part, fes):
    """On each front end, a token revoked there is refused by every process of it by
    notification (REVOKE_S, well under the caches' expiry; the time is printed against the
    1 s the caches promise), while the fenced old primary still runs: each LISTEN
    connection is on the new primary. (A token is bound to its front end's resource.)"""
    for fe, url in fes:
        client, tok, problems = OAuth(url).full_flow(Browser(), USER, PASSWORD)
        if not t.check("%s: %s: a new sign-in on the new primary" % (part, fe), problems):
            continue
        users = [mcp_with(url, tok["access_token"]) for _ in range(4)]
        for c in users:
            c.initialize()
        box = []
        lock = threading.Lock()

        def call(c):
            s = c.tool("echo", {"message": "warm"}).status
            with lock:
                box.append(s)

        threads = [threading.Thread(target=call, args=(c,), daemon=True) for c in users * 4]
        for th in threads:
            th.start()
        for th in threads:
            th.join(20)
        r = mcptest.request("POST", url + "/revoke", form_body(
            {"token": tok["access_token"], "client_id": client["client_id"]}), dict(FORM))
        t0 = time.monotonic()
        statuses = []
        while time.monotonic() - t0 < REVOKE_S:
            statuses = [c.tool("echo", {"message": "revoked?"}).status for c in users * 2]
            if all(s == 401 for s in statuses):
                break
        took = time.monotonic() - t0
        t.ok(all(s == 200 for s in box) and r.status == 200 and
             all(s == 401 for s in statuses) and took <= REVOKE_S,
             "%s: %s: a token revoked after the failover is refused by every process (%.0f ms; "
             "the promise is %.0f ms)" % (part, fe, took * 1000,
                                          mcptest.CHANGE_REACHES_ALL_S * 1000),
             "warm-up statuses %r, revoke %s, last round %r" % (box, r.status, statuses))


def fence_then_promote(t, part, st, fes, load):
    before = listeners_on(st, "primary")
    fence0 = time.monotonic()
    ok, out = psql_at(st, "primary", "ALTER SYSTEM SET default_transaction_read_only = on;\n"
                      "SELECT pg_reload_conf();")
    t.ok(ok, "%s: the primary is fenced: default_transaction_read_only = on, reloaded"
         % part, out)
    fenced = time.monotonic()
    time.sleep(SPLIT_S)
    promote0, promoted = stack_cmd(t, st, "pg-promote")
    wait_settled(load, promoted)
    # Sent once every backend had the reload (a signal away), answered before the
    # promotion: no server took writes, and every request of the load writes.
    with load.lock:
        gap = [a for a in load.answers
               if a[2] >= fenced + FENCE_SETTLE_S and a[3] < promote0]
    other = [a for a in gap if a[4] != "unavailable"]
    t.ok(gap and not other, "%s: while no server took writes (%.2fs) no request succeeded: "
         "%d answers, all clean 503s" % (part, promote0 - fenced, len(gap)),
         *["%s %s: %s" % (a[0], a[1], a[4]) for a in other[:5]])
    t0 = time.monotonic()
    while listeners_on(st, "primary") != 0 and time.monotonic() - t0 < LISTEN_MOVE_S:
        time.sleep(0.1)
    stay, moved = listeners_on(st, "primary"), listeners_on(st, "standby")
    t.ok(before and stay == 0 and moved,
         "%s: the %s LISTEN connections left the fenced server within %.0f s (%s on the new "
         "primary)" % (part, before, LISTEN_MOVE_S, moved), "still there: %s" % stay)
    revoke_reaches_every_process(t, part, fes)
    stop0, _ = stack_cmd(t, st, "pg-stop-primary")
    wait_settled(load, stop0)
    with load.lock:
        late = [a for a in load.answers if a[3] >= stop0 and a[4] != "ok"]
    t.ok(not late, "%s: stopping the fenced old primary later costs no request (%d failed)"
         % (part, len(late)))
    return promoted, "the promotion (%.2fs after the fence)" % (promoted - fence0)


def main():
    t = Tap()
    t0 = time.monotonic()
    results = {"a": run_part(t, "a (promote, then stop the primary)", promote_then_stop),
               "b": run_part(t, "b (fence the primary, then promote)", fence_then_promote)}
    for k, res in sorted(results.items()):
        if res:
            first, sustained, (tokens, codes, audited) = res
            t.diag("part %s: recovery %.2fs to the first success, %.2fs to sustained success; "
                   "checked %d tokens, %d codes, %d audit rows"
                   % (k, first if first is not None else -1, sustained, tokens, codes, audited))
    t.diag("whole test: %.1fs" % (time.monotonic() - t0))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
