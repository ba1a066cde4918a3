#!/usr/bin/env python3
"""test_metrics.py - /metrics: who may scrape, the text format, and counts that add up
across processes and front ends.

- no credential -> 401 with WWW-Authenticate: Bearer; a token that is no key -> 401; the
  API key of a user without the admin role -> 403; POST -> 405; the metrics_token_file
  token and an admin's API key (`mcpgate user admin NAME`) -> 200 text/plain 0.0.4;
- load from several clients at once on two front ends (lighttpd's responders and
  mod_fcgid's, several processes): calls that succeed, fail (isError), name no tool and
  pass a user's rate limit. Then mcpgate_tool_calls_total per tool and outcome equals the
  audit trail's rows (ok -> ok, error -> tool_error, refused "rate limited" ->
  rate_limited, refused unknown tool -> policy_refused with tool "(unknown)"), whichever
  front end answers the scrape, and the duration histogram counts every call that ran;
- the text parses: every family has # TYPE, histogram buckets ascend with le="+Inf"
  equal to _count; OAuth requests are counted by endpoint and outcome;
- a process's counts survive its stop: after the responders are restarted the totals are
  still there;
- a mod_fcgid process limited to one connection (threads = 1, db_connections = 1) counts
  the same way: its scrape and its stop flush what it counted.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_metrics.py   (TAP)
"""

import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import Mcp, Stack, Tap, admin  # noqa: E402

PASSWORD = "a long enough password"
SCRAPE_TOKEN = "scrape-" + os.urandom(16).hex()
CLIENTS_PER_FE = 3
ROUNDS = 8
LIMIT_PER_MIN = 40  # of the 2 first calls and the load's 84 a minute, the rest are refused by the rate limit
SETTLE_S = 30  # flushes every 2 s; generous for sanitizer and valgrind builds

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """Returns ({(name, frozenset(labels)): value}, {family: type}, problems)."""
    samples, types, problems = {}, {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            types[parts[2]] = parts[3]
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            problems.append("line does not parse: %r" % line)
            continue
        labels = frozenset(LABEL_RE.findall(m.group(2) or ""))
        try:
            samples[(m.group(1), labels)] = float(m.group(3))
        except ValueError:
            problems.append("value does not parse: %r" % line)
    return samples, types, problems


def scrape(url, token):
    return mcptest.request("GET", url + "/metrics",
                           headers={"Authorization": "Bearer " + token} if token else {})


def calls_by_tool_outcome(samples):
    out = Counter()
    for (name, labels), v in samples.items():
        if name == "mcpgate_tool_calls_total":
            d = dict(labels)
            out[(d.get("tool"), d.get("outcome"))] += int(v)
    return out


def audit_counts(st):
    ok, out = st.psql("SELECT tool, outcome, coalesce(detail, ''), count(*) FROM audit_log"
                      " GROUP BY 1, 2, 3")
    want = Counter()
    for line in (out.splitlines() if ok and out else []):
        tool, outcome, detail, n = line.split("|")
        if outcome == "refused":
            key = ("(unknown)", "rate_limited") if detail == "rate limited" else \
                ("(unknown)", "policy_refused") if detail == "unknown tool" else \
                (tool, "policy_refused")
        else:
            key = (tool, {"error": "tool_error"}.get(outcome, outcome))
        want[key] += int(n)
    return want


def histogram_problems(samples, types):
    p = []
    for fam, typ in types.items():
        if typ != "histogram":
            continue
        groups = {}
        for (name, labels), v in samples.items():
            if name == fam + "_bucket":
                d = dict(labels)
                le = d.pop("le")
                groups.setdefault(frozenset(d.items()), []).append(
                    (float("inf") if le == "+Inf" else float(le), v))
        for rest, buckets in groups.items():
            buckets.sort()
            vals = [v for _, v in buckets]
            if vals != sorted(vals):
                p.append("%s%s: buckets not cumulative %r" % (fam, dict(rest), buckets))
            count = samples.get((fam + "_count", rest))
            if buckets[-1][0] != float("inf") or count != buckets[-1][1]:
                p.append("%s%s: +Inf %r vs _count %r" % (fam, dict(rest), buckets[-1], count))
    return p


def responder_pids(st):
    """{log key: distinct pids that logged a tool call there} (log lines carry pid=)."""
    out = {}
    for key, path in st.log_paths().items():
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        for line in text.splitlines():
            if 'msg="tool called"' in line:
                m = re.search(r"\bpid=(\d+)", line)
                if m:
                    out.setdefault(key, set()).add(m.group(1))
    return out


def load(url, key, errors):
    try:
        c = Mcp(url, name="metrics", bearer=key)
        c.initialize()
        for i in range(ROUNDS):
            c.tool("echo", {"message": "m%d" % i})
            if i % 2 == 0:
                c.tool("echo", {})
            if i % 4 == 0:
                c.tool("no_such_tool_%d" % i, {})
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        errors.append("%s: %r" % (url, e))


def main():
    t = Tap()
    token_dir = tempfile.mkdtemp(prefix="mcpgate-metrics-")
    token_file = os.path.join(token_dir, "scrape-token")
    with open(token_file, "w") as f:
        f.write(SCRAPE_TOKEN + "\n")
    os.chmod(token_dir, 0o755)  # the responders may run as another user
    os.chmod(token_file, 0o644)
    extra = ("metrics_token_file = %s\nrate_limit_user_per_min = %d\n"
             "rate_limit_client_per_min = 0\n" % (token_file, LIMIT_PER_MIN))
    try:
        with Stack(t, servers="lighttpd fcgid", config_extra=extra, auth="oauth") as st:
            run(t, st)
        with Stack(t, servers="fcgid", auth="none",
                   config_extra="db_connections = 1\nmetrics_token_file = %s\n" % token_file) as st:
            shared_mode(t, st)
    finally:
        os.unlink(token_file)
        os.rmdir(token_dir)
    return t.done()


def table_vs_audit(st):
    ok, sums = st.psql("SELECT coalesce((SELECT sum(value)::bigint FROM metrics"
                       " WHERE name = 'mcpgate_tool_calls_total'), 0),"
                       " (SELECT count(*) FROM audit_log)")
    return ok and len(set(sums.split("|"))) == 1, sums


def shared_mode(t, st):
    """threads = 1, db_connections = 1 (a shared host): no connection of its own for the
    flush; the worker flushes after its requests, a scrape flushes the answering process,
    and a stop flushes what is left."""
    fe, url = st.front_ends()[0]
    c = Mcp(url, name="shared")
    c.initialize()
    for i in range(3):
        c.tool("echo", {"message": "s%d" % i})
    r = scrape(url, SCRAPE_TOKEN)
    samples, _, _ = parse((r.body or b"").decode("utf-8", "replace"))
    got = sum(calls_by_tool_outcome(samples).values())
    ok, n = st.psql("SELECT count(*) FROM audit_log")
    t.ok(r.status == 200 and ok and str(got) == n,
         "%s, shared mode: the scrape counts every call (%s = %s)" % (fe, got, n), r.describe())
    c.tool("echo", {"message": "last"})
    r = st.cmd("web-restart")
    t.ok(r.returncode == 0, "%s, shared mode: web server restarted" % fe, r.stderr[-1500:])
    ok, sums = table_vs_audit(st)
    t.ok(ok, "%s, shared mode: after the stop, calls counted = audit rows (%s)" % (fe, sums))


def make_key(t, st, user, admin_role=False):
    r = admin(st, "user", "add", user, stdin=PASSWORD + "\n", timeout=120)  # scrypt, valgrind
    t.ok(r.returncode == 0, "mcpgate user add %s" % user, r.stdout, r.stderr)
    if admin_role:
        r = admin(st, "user", "admin", user)
        t.ok(r.returncode == 0 and "admin" in r.stdout, "mcpgate user admin %s" % user,
             r.stdout, r.stderr)
    r = admin(st, "key", "create", user, "--name", "metrics test")
    key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
    t.ok(r.returncode == 0 and key, "mcpgate key create %s" % user, r.stderr)
    return key


def run(t, st):
    fes = st.front_ends()
    if len(fes) < 2:
        t.bail("two front ends needed")
    admin_key = make_key(t, st, "metrics-admin", admin_role=True)
    user_key = make_key(t, st, "metrics-user")

    # -- who may scrape
    for fe, url in fes:
        r = scrape(url, None)
        t.ok(r.status == 401 and (r.header("WWW-Authenticate") or "").startswith("Bearer"),
             "%s: /metrics without a credential -> 401 with WWW-Authenticate: Bearer" % fe,
             r.describe())
        r = scrape(url, "mgk_" + "0" * 40)
        t.ok(r.status == 401, "%s: a token that is no key -> 401" % fe, r.describe())
        r = scrape(url, user_key)
        t.ok(r.status == 403 and "admin" in (r.body or b"").decode("utf-8", "replace"),
             "%s: a key of a user without the admin role -> 403" % fe, r.describe())
        r = mcptest.request("POST", url + "/metrics", body=b"",
                            headers={"Authorization": "Bearer " + SCRAPE_TOKEN})
        t.ok(r.status == 405 and r.header("Allow") == "GET, HEAD", "%s: POST -> 405" % fe,
             r.describe())
        for what, tok in (("the metrics_token_file token", SCRAPE_TOKEN),
                          ("an admin's API key", admin_key)):
            r = scrape(url, tok)
            t.ok(r.status == 200 and (r.header("Content-Type") or "").startswith(
                "text/plain; version=0.0.4"), "%s: %s -> 200 text/plain 0.0.4" % (fe, what),
                r.describe())

    # -- one call on each front end before the load: the user's rate limit is shared by
    # both, and a front end whose first responder is slow to start (valgrind) would
    # otherwise find the minute's budget spent by the other and run no call at all
    for fe, url in fes:
        c = Mcp(url, name="metrics-first", bearer=user_key)
        c.initialize()
        r = c.tool("echo", {"message": "first"})
        res = (r.json or {}).get("result") or {}
        t.ok(r.status == 200 and res.get("content") and not res.get("isError"),
             "%s: a first call runs before the load" % fe, r.describe())

    # -- load on both front ends at once
    errors = []
    threads = [threading.Thread(target=load, args=(url, user_key, errors))
               for _, url in fes for _ in range(CLIENTS_PER_FE)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    t.check("load clients ran without exceptions", errors)

    # -- OAuth endpoints: three bad token requests, one registration
    for _ in range(3):
        mcptest.request("POST", fes[0][1] + "/token", body=b"grant_type=nonsense",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = mcptest.post_json(fes[1][1] + "/register",
                          {"redirect_uris": ["http://127.0.0.1:9/cb"], "client_name": "m",
                           "token_endpoint_auth_method": "none"})
    t.ok(r.status == 201, "a client registers", r.describe())

    pids = responder_pids(st)
    n = sum(len(v) for v in pids.values())
    t.ok(len(pids) == 2 and n >= 2,
         "the calls were served by %d processes behind both front ends" % n,
         {k: sorted(v) for k, v in pids.items()})

    # -- the totals equal the audit trail, on both front ends
    for fe, url in fes:
        last = {}

        def settled():
            want = audit_counts(st)
            r = scrape(url, SCRAPE_TOKEN)
            samples, types, problems = parse((r.body or b"").decode("utf-8", "replace"))
            got = calls_by_tool_outcome(samples)
            last.update(want=want, got=got, samples=samples, types=types, problems=problems)
            return r.status == 200 and bool(want) and got == want, None

        done = mcptest.retry_until(settled, SETTLE_S, 0.5)[0]
        t.ok(done, "%s: mcpgate_tool_calls_total by tool and outcome = the audit trail's rows"
             % fe, "metrics %r" % sorted(last.get("got", {}).items()),
             "audit   %r" % sorted(last.get("want", {}).items()))
        samples, types = last.get("samples", {}), last.get("types", {})
        outcomes = {out for (_, out) in last.get("want", {})}
        t.ok(outcomes >= {"ok", "tool_error", "policy_refused", "rate_limited"},
             "%s: the load produced every outcome it aims at" % fe, outcomes)
        t.check("%s: every line parses" % fe, last.get("problems", []))
        t.check("%s: histograms: buckets ascend and +Inf = _count" % fe,
                histogram_problems(samples, types))
        ran = sum(v for (tool, out), v in last.get("want", {}).items()
                  if out in ("ok", "tool_error"))
        hist = samples.get(("mcpgate_tool_call_duration_seconds_count",
                            frozenset({("backend", "mcpgate")})))
        t.ok(hist == ran, "%s: duration histogram counts each call that ran (%s = %s)"
             % (fe, hist, ran))
        clients = {dict(lb).get("client") for (n, lb) in samples
                   if n == "mcpgate_tool_calls_total"}
        t.ok(clients == {"api_key"}, "%s: client label of API key calls" % fe, clients)
        oauth = {dict(lb)["endpoint"] + "/" + dict(lb)["outcome"]: v
                 for (n, lb), v in samples.items() if n == "mcpgate_oauth_requests_total"}
        t.ok(oauth.get("token/failed") == 3 and oauth.get("register/ok") == 1,
             "%s: OAuth requests by endpoint and outcome" % fe, oauth)
        want_types = {"mcpgate_tool_calls_total": "counter",
                      "mcpgate_tool_call_duration_seconds": "histogram",
                      "mcpgate_oauth_requests_total": "counter"}
        t.ok(all(types.get(k) == v for k, v in want_types.items()),
             "%s: TYPE lines name each family's type" % fe, types)
        t.diag("%s: calls by tool and outcome: %r" % (fe, sorted(last.get("got", {}).items())))

    # -- what a process counted last is flushed when it stops: calls, then at once a
    # restart of both web servers (their responders get SIGTERM); the table, read
    # with no responder left to flush, holds every call of the audit trail
    for _, url in fes:
        c = Mcp(url, name="metrics-last", bearer=admin_key)
        c.initialize()
        c.tool("echo", {"message": "last"})
    r = st.cmd("web-restart")
    t.ok(r.returncode == 0, "web servers restarted", r.stderr[-1500:])
    ok, sums = table_vs_audit(st)
    t.ok(ok, "after the responders stopped: calls counted = audit rows (%s)" % sums)
    ok, hosts = st.psql("SELECT count(DISTINCT host), count(*) FROM metrics")
    t.diag("metrics rows (hosts, rows): %s" % hosts)
    mcptest.check_logs(t, st)


if __name__ == "__main__":
    sys.exit(main())
