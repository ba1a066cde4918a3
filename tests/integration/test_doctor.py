#!/usr/bin/env python3
"""test_doctor.py - `mcpgate doctor --url` against real front ends: a healthy
lighttpd, mod_fcgid and mod_proxy_fcgi deployment passes; then the generated web
server configs are broken on purpose (Authorization stripped, output buffered)
and doctor must name exactly that fault and print the directive that fixes it;
a URL other than base_url is named too.

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_doctor.py   (TAP on stdout)
"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import TOP_BUILDDIR, Stack, Tap  # noqa: E402

ADMIN = os.environ.get("MCPGATE_ADMIN") or os.path.join(TOP_BUILDDIR, "src", "mcpgate")


def doctor(*args):
    env = dict(os.environ)
    env.pop("MCPGATE_CONFIG", None)
    return subprocess.run([ADMIN, "doctor"] + list(args), capture_output=True, text=True,
                          timeout=90, env=env)


def failing(t, url, desc):
    """Runs doctor --json; returns (exit status, {name: check} of FAIL checks, all checks)."""
    r = doctor("--url", url, "--json")
    try:
        out = json.loads(r.stdout)
    except ValueError:
        t.ok(False, "%s: doctor prints JSON" % desc, r.stdout[-2000:], r.stderr[-2000:])
        return r.returncode, {}, []
    checks = out.get("checks", [])
    return r.returncode, {c["name"]: c for c in checks if c["status"] == "FAIL"}, checks


def expect(t, url, desc, faults, directive=None, fe_key=None):
    rc, bad, checks = failing(t, url, desc)
    detail = ["%s %s %s" % (c["name"], c["status"], c["seen"]) for c in checks]
    t.ok(set(bad) == set(faults), "%s: doctor names exactly %s" % (desc, sorted(faults) or "nothing"),
         "failing: %s" % sorted(bad), *detail)
    t.ok(rc == (1 if faults else 0), "%s: exit status %d" % (desc, 1 if faults else 0),
         "exit %s" % rc)
    if directive:
        fix = bad.get(faults[0], {}).get("fix", {}).get(fe_key, "")
        t.ok(directive in fix, "%s: the fix says %s" % (desc, directive), "fix: %r" % fix)


def edit(path, pattern, repl):
    with open(path) as f:
        text = f.read()
    new, n = re.subn(pattern, repl, text, flags=re.M)
    if n == 0:
        raise RuntimeError("%s: %r not found" % (path, pattern))
    with open(path, "w") as f:
        f.write(new)


def main():
    t = Tap()
    r = doctor("--help")
    t.ok(r.returncode == 0 and "--url" in r.stdout and "sse-streaming" in r.stdout,
         "doctor --help: exit 0, lists the options and checks", r.stdout[-500:])
    r = doctor()
    t.ok(r.returncode == 2, "doctor without --url: usage, exit 2", "exit %s" % r.returncode)

    with Stack(t, auth="oauth") as st:
        urls = {fe: st.env["URL_" + fe.upper()] + "/mcp" for fe in ("lighttpd", "fcgid", "proxy")}
        for fe, url in urls.items():
            expect(t, url, "healthy %s" % fe, [])
        r = doctor("--url", urls["lighttpd"])
        t.ok(r.returncode == 0 and "sse-streaming" in r.stdout and "PASS" in r.stdout,
             "table output lists the checks", r.stdout)

        # the URL used is not base_url (same server, another name)
        other = urls["lighttpd"].replace("127.0.0.1", "localhost")
        rc, bad, _ = failing(t, other, "another host name")
        t.ok("base-url" in bad and "localhost" in json.dumps(bad["base-url"]),
             "URL other than base_url: base-url is named, with the base_url to set",
             json.dumps(bad, indent=1)[:2000])

        rt = st.env["STACK_RUNTIME"]
        fcgid = os.path.join(rt, "apache", "mcpgate-fcgid.conf")
        proxy = os.path.join(rt, "apache", "mcpgate-proxy-fcgi.conf")
        lighttpd = os.path.join(rt, "lighttpd", "mcpgate.conf")

        # round 1: fcgid strips Authorization, proxy and lighttpd buffer
        edit(fcgid, r"^(\s*)CGIPassAuth On", r"\1CGIPassAuth Off")
        edit(proxy, r" flushpackets=on", "")
        edit(lighttpd, r"^server\.stream-response-body = 2", "server.stream-response-body = 0")
        r = st.cmd("web-restart")
        t.ok(r.returncode == 0, "stack.sh web-restart (round 1)", r.stderr[-2000:])
        expect(t, urls["fcgid"], "fcgid without CGIPassAuth", ["authorization"], "CGIPassAuth On",
               "apache_fcgid")
        expect(t, urls["proxy"], "proxy_fcgi without flushpackets", ["sse-streaming"],
               "flushpackets=on", "apache_proxy_fcgi")
        expect(t, urls["lighttpd"], "lighttpd with stream-response-body = 0", ["sse-streaming"],
               "server.stream-response-body = 2", "lighttpd")

        # round 2: fcgid buffers, proxy strips Authorization
        edit(fcgid, r"^(\s*)CGIPassAuth Off", r"\1CGIPassAuth On")
        edit(fcgid, r"^FcgidOutputBufferSize 0", "FcgidOutputBufferSize 65536")
        edit(proxy, r"^(ProxyPassMatch .*\") timeout=", r"\1 flushpackets=on timeout=")
        edit(proxy, r"^(\s*)CGIPassAuth On", r"\1CGIPassAuth Off")
        r = st.cmd("web-restart")
        t.ok(r.returncode == 0, "stack.sh web-restart (round 2)", r.stderr[-2000:])
        expect(t, urls["fcgid"], "fcgid with FcgidOutputBufferSize 65536", ["sse-streaming"],
               "FcgidOutputBufferSize 0", "apache_fcgid")
        expect(t, urls["proxy"], "proxy_fcgi without CGIPassAuth", ["authorization"],
               "CGIPassAuth On", "apache_proxy_fcgi")
    t.done()


if __name__ == "__main__":
    main()
