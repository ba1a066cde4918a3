#!/usr/bin/env python3
"""run.py - the official MCP conformance suites against mcpgate, through lighttpd and through
Apache mod_fcgid.

Starts a stack with the test responder (its fixtures are the suites', tests/fixtures/
conformance.c and conformance_modern.c), installs the pinned suites and the Node 22 they
need (package.json and package-lock.json beside this file: 0.1.16, and the newest release
as the alias conformance-next; `npm ci` into the build tree), and runs, once per front end,

    conformance@0.1.16 server --url URL/mcp --suite all -o DIR
    conformance-next   server --url URL/mcp --requirements 2025-11-25 -o DIR
    conformance-next   server --url URL/mcp --requirements 2026-07-28 -o DIR
    conformance-next   server --url URL/mcp --suite all -o DIR   (extensions, pending too)

One TAP line per scenario, run and front end: ok when none of the scenario's checks is a
FAILURE (WARNING and INFO do not fail, as in the suite itself); otherwise the failing checks
as diagnostics. A --requirements run scores the scenarios its revision requires (the
`server:` list of the suite's requirements/<revision>.yaml); the scenarios it also runs
but does not score (extensions, pending) are reported as diagnostics, and scored by the
--suite all run, which must pass every scenario `conformance list --server` names. The suite's summary
lines are quoted, and its exit status must agree with the scored scenarios' results. There
is no expected-failures file: every scored scenario must pass.

Run: top_srcdir=. top_builddir=build python3 tests/conformance/run.py   (TAP on stdout)
Environment: MCPGATE_CONFORMANCE_SCENARIO=NAME runs one scenario of the 0.1.16 suite only;
MCPGATE_CONFORMANCE_RUNS=LABEL[,LABEL] runs only those runs (labels below).
"""

import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
# the suite takes a minute or two per front end: widen the harness's watchdog
os.environ.setdefault("MCPGATE_TEST_TIMEOUT", "900")

import npmci  # noqa: E402
from mcptest import Stack, Tap, check_logs, test_responder  # noqa: E402

SUITE_VERSION = "0.1.16"
NEXT_VERSION = "0.2.0-alpha.12"
NEXT_PKG = "conformance-next"  # the npm alias of @modelcontextprotocol/conformance@NEXT_VERSION
RESULT_DIR_RE = re.compile(r"^server-(.+)-\d{4}-\d\d-\d\dT[0-9-]+Z$")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
SUITE_TIMEOUT_S = 360
# how often held streams write a heartbeat: under mod_fcgid a stream the client left is
# noticed only when a heartbeat cannot be passed on, so this bounds how long it holds a process
HEARTBEAT_S = 1
# the server scenarios of 0.1.16 (`conformance list --server`): 30 active + 2 pending
SCENARIOS = (
    "server-initialize", "logging-set-level", "ping", "completion-complete", "tools-list",
    "tools-call-simple-text", "tools-call-image", "tools-call-audio",
    "tools-call-embedded-resource", "tools-call-mixed-content", "tools-call-with-logging",
    "tools-call-error", "tools-call-with-progress", "tools-call-sampling",
    "tools-call-elicitation", "json-schema-2020-12", "elicitation-sep1034-defaults",
    "server-sse-polling", "server-sse-multiple-streams", "elicitation-sep1330-enums",
    "resources-list", "resources-read-text", "resources-read-binary",
    "resources-templates-read", "resources-subscribe", "resources-unsubscribe",
    "prompts-list", "prompts-get-simple", "prompts-get-with-args",
    "prompts-get-embedded-resource", "prompts-get-with-image", "dns-rebinding-protection",
)


def suite_env(pkgdir):
    env = dict(os.environ)
    bins = [os.path.join(pkgdir, "node_modules", "node", "bin"),
            os.path.join(pkgdir, "node_modules", ".bin")]
    env["PATH"] = os.pathsep.join(bins + [env.get("PATH", "")])
    env.pop("NODE_OPTIONS", None)
    return env


def suite_argv(pkgdir, pkg):
    """How to start the suite installed as node_modules/PKG (both versions call their
    command `conformance`, so each is started by its own path)."""
    return [os.path.join(pkgdir, "node_modules", "node", "bin", "node"),
            os.path.join(pkgdir, "node_modules", pkg, "dist", "index.js")]


def required_scenarios(pkgdir, revision):
    """The `server:` list of the suite's requirements/REVISION.yaml (a YAML list of names
    under a top-level key, read without a YAML library)."""
    path = os.path.join(pkgdir, "node_modules", NEXT_PKG, "requirements", revision + ".yaml")
    out, on = [], False
    with open(path) as f:
        for line in f:
            if re.match(r"^[A-Za-z_]+:", line):
                on = line.startswith("server:")
                continue
            m = re.match(r"^  - ([a-z0-9-]+)\s*(#.*)?$", line)
            if on and m:
                out.append(m.group(1))
    return out


def listed_scenarios(pkgdir):
    """Every server scenario the newest suite has (`conformance list --server`): its
    --suite all runs them all, extensions and pending ones included."""
    r = subprocess.run(suite_argv(pkgdir, NEXT_PKG) + ["list", "--server"],
                       env=suite_env(pkgdir), capture_output=True, text=True, timeout=60)
    return [m.group(1) for m in re.finditer(r"^\s*- ([a-z0-9-]+)", r.stdout, re.M)]


class Run:
    """One suite invocation: label, the package, its arguments and the scenarios it scores."""

    def __init__(self, label, pkg, args, scenarios):
        self.label, self.pkg, self.args, self.scenarios = label, pkg, args, scenarios


def runs(pkgdir):
    one = os.environ.get("MCPGATE_CONFORMANCE_SCENARIO")
    out = [Run("0.1.16", os.path.join("@modelcontextprotocol", "conformance"),
               ["--scenario", one] if one else ["--suite", "all"], [one] if one else SCENARIOS)]
    if not one:
        for rev in ("2025-11-25", "2026-07-28"):
            out.append(Run(rev, NEXT_PKG, ["--requirements", rev],
                           required_scenarios(pkgdir, rev)))
        out.append(Run("all", NEXT_PKG, ["--suite", "all"], listed_scenarios(pkgdir)))
    only = os.environ.get("MCPGATE_CONFORMANCE_RUNS")
    if only:
        out = [r for r in out if r.label in only.split(",")]
    return out


def warm_up(url, n=12):
    """Has the front end start n responders before a run: n stateless requests at once,
    each held for a second by test_stream. mod_fcgid starts a process per request it cannot
    place and keeps it idle afterwards; under valgrind a start takes seconds, longer than
    the suite waits for the first frame of some streams (800 ms for subscriptions/listen).
    Without valgrind this costs a second and changes nothing."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "test_stream", "_meta": meta,
                                  "arguments": {"count": 2, "interval_ms": 500}}}).encode()
    headers = {"Content-Type": "application/json",
               "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call",
               "Mcp-Name": "test_stream"}

    def one():
        try:
            req = urllib.request.Request(url + "/mcp", data=body, headers=headers)
            with urllib.request.urlopen(req, timeout=120) as r:
                r.read()
        except OSError:
            pass  # the runs that follow report what does not work
    threads = [threading.Thread(target=one) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def run_suite(t, pkgdir, run, fe, url, outdir):
    """Runs the suite; returns (exit status or None, stdout text)."""
    argv = suite_argv(pkgdir, run.pkg) + ["server", "--url", url + "/mcp", "-o", outdir]
    argv += run.args
    log = os.path.join(outdir, "stdout.txt")
    t0 = time.monotonic()
    with open(log, "wb") as out:
        p = subprocess.Popen(argv, cwd=outdir, env=suite_env(pkgdir), stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = p.wait(SUITE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            rc = None
    with open(log, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    t.diag("%s %s: conformance ran %.1fs, exit %s" % (fe, run.label, time.monotonic() - t0, rc))
    return rc, text


def scenario_results(outdir):
    """{scenario: [checks]} from DIR/server-<scenario>-<ISO timestamp>/checks.json."""
    res = {}
    for path in glob.glob(os.path.join(outdir, "*", "checks.json")):
        m = RESULT_DIR_RE.match(os.path.basename(os.path.dirname(path)))
        if not m:
            continue
        try:
            with open(path) as f:
                res[m.group(1)] = json.load(f)
        except (OSError, ValueError) as e:
            res[m.group(1)] = [{"id": m.group(1), "status": "FAILURE",
                                "errorMessage": "unreadable checks.json: %s" % e}]
    return res


def rerun_args(run, scenario):
    """The suite's arguments that run one scenario of RUN by itself."""
    if "--requirements" in run.args:
        rev = run.args[run.args.index("--requirements") + 1]
        return ["--scenario", scenario, "--spec-version", rev]
    return ["--scenario", scenario]


def failures(checks):
    return [c for c in checks if c.get("status") == "FAILURE"]


def report(t, fe, run, rc, text, results, rerun=None):
    """One TAP line per scored scenario. A scenario that failed in the full run is run
    once more by itself (RERUN(scenario) gives its checks, or None): the suite gives some
    streams a fixed 0.8-1.5 s for their first frame, and under mod_fcgid every stream an
    earlier scenario abandoned holds a whole process until two heartbeats fail, so on a
    loaded machine a stream can wait for a free process longer than that. The scenario
    passes only if its isolated run has no failure; both runs' failures are reported."""
    failed = 0
    name = "%s %s" % (fe, run.label)
    for s in run.scenarios:
        checks = results.get(s)
        if checks is None:
            t.ok(False, "%s: %s ran" % (name, s), "no checks.json for this scenario")
            failed += 1
            continue
        bad = failures(checks)
        warn = [c for c in checks if c.get("status") == "WARNING"]
        diag = ["FAILURE %s: %s" % (c.get("id"), (c.get("errorMessage") or "")[:500])
                for c in bad]
        label = "%s: %s (%d checks%s)" % (name, s, len(checks),
                                          ", %d warnings" % len(warn) if warn else "")
        if bad and rerun is not None:
            again = rerun(s)
            if again is None:
                diag.append("the isolated rerun gave no checks.json")
            else:
                diag += ["isolated rerun: FAILURE %s: %s"
                         % (c.get("id"), (c.get("errorMessage") or "")[:500])
                         for c in failures(again)]
                if not failures(again):
                    t.diag("%s: failed in the full run, passed when run by itself:" % label,
                           *diag)
                    label += ", passed on its isolated rerun"
                    diag = []
        t.ok(not diag, label, *diag)
        failed += bool(bad)
        for c in warn:
            t.diag("%s: %s: WARNING %s: %s" % (name, s, c.get("id"),
                                                (c.get("errorMessage") or "")[:300]))
    for s in sorted(set(results) - set(run.scenarios)):
        bad = [c for c in results[s] if c.get("status") == "FAILURE"]
        t.diag("%s: %s (not scored for this revision): %d checks, %d failed" %
               (name, s, len(results[s]), len(bad)))
    summary = []
    on = False
    for line in ANSI_RE.sub("", text).splitlines():
        if "=== SUMMARY ===" in line:
            on = True
        if on or line.startswith("Total:") or line.startswith("Passed:"):
            summary.append(line)
    t.diag("%s: the suite's summary:" % name, *(summary[-80:] or ["(none printed)"]))
    t.ok(rc is not None and (rc == 0) == (failed == 0),
         "%s: the suite's exit status (%s) agrees with %d failed scenarios" % (name, rc, failed),
         *ANSI_RE.sub("", text).splitlines()[-30:])
    return failed


def main():
    t = Tap()
    pkgdir = npmci.ensure(t, "conformance")
    if pkgdir is None:
        return t.done()
    for pkg, want in ((os.path.join("@modelcontextprotocol", "conformance"), SUITE_VERSION),
                      (NEXT_PKG, NEXT_VERSION)):
        r = subprocess.run(suite_argv(pkgdir, pkg) + ["--version"], env=suite_env(pkgdir),
                           capture_output=True, text=True, timeout=60)
        if not t.ok(r.stdout.strip() == want, "the pinned suite %s runs and is version %s"
                    % (pkg, want), "stdout: %r" % r.stdout, "stderr: %r" % r.stderr[-2000:]):
            return t.done()
    totals = {}
    # The suite sends no credentials (it has no option for them): auth = none.
    # Each scenario's client leaves a GET stream open when it closes, and a worker
    # notices that only when a heartbeat cannot be written: short heartbeats give the
    # workers back before the next scenarios queue behind them.
    # Under valgrind and ASan+UBSan only lighttpd: what memcheck and the sanitizers look
    # at is the responder's code, the same behind both; the default build runs both.
    with Stack(t, servers="lighttpd fcgid", code_check_servers="lighttpd",
               responder=test_responder(),
               config_extra="auth = none\nsse_heartbeat_s = %d" % HEARTBEAT_S) as st:
        for fe, url in st.front_ends():
            for run in runs(pkgdir):
                warm_up(url)
                outdir = tempfile.mkdtemp(prefix="mcpgate-conformance-%s-" % fe)
                rc, text = run_suite(t, pkgdir, run, fe, url, outdir)

                def rerun(scenario, run=run, fe=fe, url=url, outdir=outdir):
                    # let the full run's abandoned streams end (two heartbeats) first
                    time.sleep(2 * HEARTBEAT_S + 1)
                    one = Run(run.label + " rerun " + scenario, run.pkg,
                              rerun_args(run, scenario), [scenario])
                    sub = tempfile.mkdtemp(prefix="rerun-", dir=outdir)
                    run_suite(t, pkgdir, one, fe, url, sub)
                    return scenario_results(sub).get(scenario)
                totals[(fe, run.label)] = (report(t, fe, run, rc, text,
                                                  scenario_results(outdir), rerun),
                                           len(run.scenarios))
                if os.environ.get("MCPGATE_KEEP_STACK_DIR") == "1":
                    t.diag("conformance output kept: %s" % outdir)
                else:
                    subprocess.run(["rm", "-rf", "--", outdir], check=False)
        check_logs(t, st)
    for (fe, label), (n, n_all) in totals.items():
        t.diag("%s %s: %d of %d scored scenarios passed" % (fe, label, n_all - n, n_all))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
