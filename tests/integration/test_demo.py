#!/usr/bin/env python3
"""test_demo.py - the README's run command (bash scripts/run.sh) gives a working connector URL:
OAuth on with the printed demo user, an upstream MCP backend and a REST backend served by
Prism, both callable; `run.sh stop` leaves nothing running.

It runs the command in the source tree (its state lives in .stack/), so it is skipped when the
tree is read-only (make distcheck) or when a developer's demo stack is running there.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_demo.py   (TAP)
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import TOP_SRCDIR, Mcp, Tap, parse_env_file, pgrep  # noqa: E402


def run(*args, timeout=900):
    return subprocess.run(["bash", os.path.join(TOP_SRCDIR, "scripts", "run.sh")] + list(args),
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=TOP_SRCDIR)


def main():
    t = Tap()
    state = os.path.join(TOP_SRCDIR, ".stack")
    if not os.access(TOP_SRCDIR, os.W_OK):
        t.skip("the demo", "the source tree is read-only (make distcheck)")
        return t.done()
    if os.path.exists(os.path.join(state, "env")) and run("status", timeout=60).returncode == 0:
        t.skip("the demo", "a demo stack is running in this tree; not touching it")
        return t.done()
    paths = []
    try:
        r = run()
        try:
            env0 = parse_env_file(os.path.join(state, "env"))
            paths.append(env0.get("STACK_RUNTIME") or state)
            with open(os.path.join(TOP_SRCDIR, ".demo-dir")) as f:
                paths.append(f.read().strip())
        except OSError:
            pass
        out = r.stdout
        t.ok(r.returncode == 0, "bash scripts/run.sh starts the demo", out[-2000:],
             r.stderr[-2000:])
        url = re.search(r"MCP endpoint \(lighttpd\):\s+(\S+)", out)
        password = re.search(r"password:\s+(\S+)", out)
        t.ok(url and password and "user name: demo" in out,
             "it prints the MCP URL and the demo user with its password")
        backends = re.search(r"Backends: ([^\n(]*)", out)
        t.ok(backends and "everything" in backends.group(1) and "petstore" in backends.group(1),
             "it reports both demo backends", backends.group(0) if backends else out[-800:])
        t.ok(all(w in out for w in ("ChatGPT", "Claude", "Cursor", "VS Code", "mcp-remote")),
             "it says how to connect ChatGPT, Claude, Cursor, VS Code and mcp-remote")
        if not (r.returncode == 0 and url):
            return t.done()
        env = parse_env_file(os.path.join(state, "env"))
        admin = os.path.join(TOP_SRCDIR, "build", "src", "mcpgate")
        k = subprocess.run([admin, "--config", env["CONFIG_LIGHTTPD"], "key", "create", "demo",
                            "--name", "demo test"], capture_output=True, text=True, timeout=30)
        key = next((w for w in k.stdout.split() if w.startswith("mgk_")), "")
        t.ok(bool(key), "an API key for the demo user", k.stderr)
        base = url.group(1).rsplit("/mcp", 1)[0]
        c = Mcp(base, name="demo")
        h = c.headers
        c.headers = lambda extra=None, session=True: dict(h(extra, session),
                                                          Authorization="Bearer " + key)
        r0 = Mcp(base, name="anon").initialize()
        t.ok(r0.status == 401, "without a token: 401 (OAuth is on)", r0.describe())
        c.initialize()
        res = (c.call("tools/list").json or {}).get("result") or {}
        names = [x["name"] for x in res.get("tools", [])]
        t.ok(any(n.startswith("petstore_") for n in names) and
             any(n.startswith("everything_") for n in names),
             "tools/list offers the Petstore and the upstream's tools (%d)" % len(names),
             repr(names))
        for tool, args in (("petstore_list_pets", {"limit": 2}),
                           ("everything_echo", {"message": "hello demo"})):
            rr = c.tool(tool, args, timeout=30)
            res = (rr.json or {}).get("result") if isinstance(rr.json, dict) else None
            t.ok(res and res.get("isError") is False, "%s works" % tool, rr.describe())
    finally:
        s = run("stop", timeout=120)
        t.ok(s.returncode == 0, "bash scripts/run.sh stop", s.stderr[-1000:])
        left = set()
        for path in paths:
            if path:
                left |= pgrep(path)
        t.ok(not left, "nothing of the demo is left running", repr(sorted(left)))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
