#!/usr/bin/env python3
"""test_discovery.py - discovery mode for large catalogs, through the web servers.

Above discovery_threshold visible tools, tools/list offers search_tools and call_tool instead
of the full list; search_tools finds the user's tools by words (with schemas and annotations);
call_tool runs one with the same policy, checks and audit as a direct call.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_discovery.py   (TAP)
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import Mcp, Stack, Tap  # noqa: E402


def admin(st, *args, stdin=""):
    exe = os.environ.get("MCPGATE_ADMIN") or os.path.join(mcptest.TOP_BUILDDIR, "src", "mcpgate")
    return subprocess.run([exe, "--config", st.env["CONFIG_LIGHTTPD"]] + list(args),
                          input=stdin, capture_output=True, text=True, timeout=30)


def result(r):
    j = r.json if isinstance(r.json, dict) else {}
    return j.get("result") or {}, j.get("error") or {}


def main():
    t = Tap()
    with Stack(t, servers="lighttpd fcgid", responder=mcptest.test_responder(),
               config_extra="discovery_threshold = 5", auth="oauth") as st:
        (fe_a, url_a), (fe_b, url_b) = st.front_ends()
        admin(st, "user", "add", "carol", stdin="carol's password\n")
        r = admin(st, "key", "create", "carol", "--name", "discovery")
        key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
        t.ok(bool(key), "user carol with an API key", r.stderr)
        c = Mcp(url_a, name="discovery")
        base = c.headers
        c.headers = lambda extra=None, session=True: dict(base(extra, session),
                                                          Authorization="Bearer " + key)
        c.initialize()

        res, _ = result(c.call("tools/list"))
        names = [x["name"] for x in res.get("tools", [])]
        ann = {x["name"]: x.get("annotations", {}) for x in res.get("tools", [])}
        t.ok(names == ["search_tools", "call_tool"],
             "%s: above the threshold tools/list offers search_tools and call_tool" % fe_a,
             repr(names))
        t.ok(ann.get("search_tools", {}).get("readOnlyHint") is True and
             ann.get("call_tool", {}).get("readOnlyHint") is False,
             "search_tools is read-only; call_tool is not (clients ask before it runs)")

        res, _ = result(c.tool("search_tools", {"query": "sleep milliseconds"}))
        found = (res.get("structuredContent") or {}).get("tools") or []
        t.ok(not res.get("isError") and found and found[0]["name"] == "test_slow" and
             "inputSchema" in found[0] and "annotations" in found[0],
             "search_tools 'sleep milliseconds' finds test_slow first, with its schema",
             repr(res)[:600])
        res, _ = result(c.tool("search_tools", {"query": "xyzzy plugh to no"}))
        t.ok((res.get("structuredContent") or {}).get("tools") == [],
             "a search without matches returns no tools")
        res, _ = result(c.tool("search_tools", {}))
        t.ok(res.get("isError") is True, "search_tools without a query: isError with advice")

        before = st.psql("SELECT count(*) FROM audit_log")[1]
        res, _ = result(c.tool("call_tool", {"name": "echo", "arguments": {"message": "via"}}))
        t.ok(res.get("content", [{}])[0].get("text") == "via",
             "call_tool runs echo by name", repr(res))
        ok, last = st.psql("SELECT tool || '|' || outcome FROM audit_log ORDER BY id DESC LIMIT 1")
        t.ok(last == "echo|ok", "the call is audited as echo, like a direct call", last)

        r = admin(st, "policy", "deny", "--user", "carol", "echo")
        t.ok(r.returncode == 0, "policy deny --user carol echo", r.stderr)
        _, err = result(c.tool("call_tool", {"name": "echo", "arguments": {"message": "x"}}))
        t.ok(err.get("code") == -32602 and "not permitted" in err.get("message", ""),
             "call_tool obeys the policy like a direct call", repr(err))
        res, _ = result(c.tool("search_tools", {"query": "echo message"}))
        found = [x["name"] for x in (res.get("structuredContent") or {}).get("tools") or []]
        t.ok("echo" not in found, "search_tools does not show tools outside the policy",
             repr(found))
        res, _ = result(c.tool("call_tool", {"name": "call_tool"}))
        t.ok(res.get("isError") is True, "call_tool does not call itself")
        after = st.psql("SELECT count(*) FROM audit_log")[1]
        t.ok(int(after) > int(before), "every discovery call left audit rows (%s -> %s)"
             % (before, after))

        r = Mcp(url_b, name="plain").initialize()
        t.ok(r.status == 401, "%s: without a token discovery changes nothing: 401" % fe_b)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
