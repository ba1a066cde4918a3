#!/usr/bin/env python3
"""test_discovery.py - discovery mode for large catalogs, through the web servers.

Above discovery_threshold visible tools, tools/list offers search_tools and one runner per
access class instead of the full list: call_read_tool (readOnlyHint), call_tool (changes
things) and call_destructive_tool (destructiveHint), each listed only when the caller has tools
of its class. search_tools finds the user's tools by words (with schemas, annotations and the
runner to use); a runner runs one with the same policy, checks and audit as a direct call and
refuses a tool of another class, so clients confirm exactly the calls they would confirm with
the tools listed. A read-only API key sees only the read path.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_discovery.py   (TAP)
"""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import Mcp, Stack, Tap, admin  # noqa: E402


def result(r):
    j = r.json if isinstance(r.json, dict) else {}
    return j.get("result") or {}, j.get("error") or {}


def found_tools(res):
    """The tools of a search_tools result (its text content is the JSON)."""
    try:
        return json.loads(res["content"][0]["text"]).get("tools") or []
    except (KeyError, IndexError, TypeError, ValueError):
        return []


# A REST backend with one tool of each access class; the upstream does not exist, so a call
# that gets through fails with isError (connection refused), which tells it from a refusal.
BACKEND = {
    "mcpgate_backend": 1, "name": "inv", "base_url": "http://127.0.0.1:1",
    "allow_private": True,
    "tools": [
        {"name": "list_items", "description": "List the items of the inventory",
         "method": "GET", "path": "/items", "input_schema": {"type": "object"}},
        {"name": "create_item", "description": "Create an inventory item",
         "method": "POST", "path": "/items", "input_schema": {"type": "object"}},
        {"name": "delete_item", "description": "Delete an inventory item",
         "method": "DELETE", "path": "/items/1", "input_schema": {"type": "object"}},
    ],
}
RUNNERS = ["call_read_tool", "call_tool", "call_destructive_tool"]


def client_with_key(url, key, name):
    c = Mcp(url, name=name)
    base = c.headers
    c.headers = lambda extra=None, session=True: dict(base(extra, session),
                                                      Authorization="Bearer " + key)
    c.initialize()
    return c


def last_audit(st):
    return st.psql("SELECT tool || '|' || outcome FROM audit_log ORDER BY id DESC LIMIT 1")[1]


def main():
    t = Tap()
    bdir = tempfile.mkdtemp(prefix="mcpgate-discovery-")
    try:
        os.chmod(bdir, 0o755)  # the stack's responders run as www-data
        with open(os.path.join(bdir, "inv.json"), "w") as f:
            json.dump(BACKEND, f)
        os.chmod(os.path.join(bdir, "inv.json"), 0o644)
        return run(t, bdir)
    finally:
        shutil.rmtree(bdir, True)


def run(t, bdir):
    with Stack(t, servers="lighttpd fcgid", responder=mcptest.test_responder(),
               config_extra="discovery_threshold = 5\nbackends_dir = %s" % bdir,
               auth="oauth") as st:
        (fe_a, url_a), (fe_b, url_b) = st.front_ends()
        admin(st, "user", "add", "carol", stdin="carol's password\n")
        r = admin(st, "key", "create", "carol", "--name", "discovery")
        key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
        t.ok(bool(key), "user carol with an API key", r.stderr)
        r = admin(st, "key", "create", "carol", "--name", "reader", "--read-only")
        ro_key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
        t.ok(bool(ro_key), "and a read-only API key", r.stderr)
        c = client_with_key(url_a, key, "discovery")

        res, _ = result(c.call("tools/list"))
        names = [x["name"] for x in res.get("tools", [])]
        ann = {x["name"]: x.get("annotations", {}) for x in res.get("tools", [])}
        t.ok(names == ["search_tools"] + RUNNERS,
             "%s: above the threshold tools/list offers search_tools and a runner per access "
             "class" % fe_a, repr(names))
        hints = [(ann.get(n, {}).get("readOnlyHint"), ann.get(n, {}).get("destructiveHint"))
                 for n in ["search_tools"] + RUNNERS]
        t.ok(hints == [(True, False), (True, False), (False, False), (False, True)],
             "search_tools and call_read_tool are read-only, call_tool changes things, "
             "call_destructive_tool is destructive", repr(hints))

        res, _ = result(c.tool("search_tools", {"query": "sleep milliseconds"}))
        found = found_tools(res)
        t.ok(not res.get("isError") and found and found[0]["name"] == "test_slow" and
             "inputSchema" in found[0] and "annotations" in found[0] and
             found[0].get("call_with") == "call_read_tool",
             "search_tools 'sleep milliseconds' finds test_slow first, with its schema and "
             "call_with call_read_tool", repr(res)[:600])
        t.ok("structuredContent" not in res and len(res.get("content", [])) == 1,
             "each schema is in the result once (one text content, no structuredContent copy)")
        res, _ = result(c.tool("search_tools", {"query": "delete inventory item"}))
        found = found_tools(res)
        t.ok(found and found[0]["name"] == "inv_delete_item" and
             found[0].get("call_with") == "call_destructive_tool",
             "a destructive tool is found with call_with call_destructive_tool",
             repr(found)[:400])
        res, _ = result(c.tool("search_tools", {"query": "xyzzy plugh to no"}))
        t.ok(found_tools(res) == [] and not res.get("isError"),
             "a search without matches returns no tools")
        res, _ = result(c.tool("search_tools", {}))
        t.ok(res.get("isError") is True, "search_tools without a query: isError with advice")

        before = st.psql("SELECT count(*) FROM audit_log")[1]
        res, _ = result(c.tool("call_read_tool", {"name": "echo",
                                                  "arguments": {"message": "via"}}))
        t.ok(res.get("content", [{}])[0].get("text") == "via",
             "call_read_tool runs echo by name", repr(res))
        last = last_audit(st)
        t.ok(last == "echo|ok", "the call is audited as echo, like a direct call", last)

        # a tool only through the runner of its own class
        for runner, tool, args in (("call_tool", "echo", {"message": "x"}),
                                   ("call_destructive_tool", "echo", {"message": "x"}),
                                   ("call_read_tool", "inv_create_item", {}),
                                   ("call_read_tool", "inv_delete_item", {}),
                                   ("call_tool", "inv_delete_item", {}),
                                   ("call_destructive_tool", "inv_create_item", {})):
            res, err = result(c.tool(runner, {"name": tool, "arguments": args}))
            text = (res.get("content") or [{}])[0].get("text", "")
            t.ok(res.get("isError") is True and "run it with" in text and
                 last_audit(st) == tool + "|refused",
                 "%s refuses %s (another access class), audited as refused" % (runner, tool),
                 repr(res or err)[:300])
        for runner, tool in (("call_tool", "inv_create_item"),
                             ("call_destructive_tool", "inv_delete_item")):
            res, err = result(c.tool(runner, {"name": tool, "arguments": {}}))
            text = (res.get("content") or [{}])[0].get("text", "")
            t.ok(res.get("isError") is True and "run it with" not in text and
                 last_audit(st) == tool + "|error",
                 "%s runs %s (its class): the call reaches the backend" % (runner, tool),
                 repr(res or err)[:300])

        # a read-only key: the read path only
        ro = client_with_key(url_a, ro_key, "reader")
        res, _ = result(ro.call("tools/list"))
        names = [x["name"] for x in res.get("tools", [])]
        t.ok(names == ["search_tools", "call_read_tool"],
             "a read-only key sees search_tools and call_read_tool only", repr(names))
        res, _ = result(ro.tool("search_tools", {"query": "inventory item"}))
        found = [x["name"] for x in found_tools(res)]
        t.ok(found == ["inv_list_items"], "its search finds only the read tools", repr(found))
        r = ro.tool("call_tool", {"name": "inv_create_item", "arguments": {}})
        t.ok(r.status == 403 and last_audit(st) == "inv_create_item|refused",
             "a read-only key cannot run a write tool through call_tool: 403", r.describe())
        res, _ = result(ro.tool("call_read_tool", {"name": "echo",
                                                   "arguments": {"message": "ro"}}))
        t.ok(res.get("content", [{}])[0].get("text") == "ro",
             "a read-only key runs echo through call_read_tool", repr(res))

        r = admin(st, "policy", "deny", "--user", "carol", "echo")
        t.ok(r.returncode == 0, "policy deny --user carol echo", r.stderr)
        _, err = result(c.tool("call_read_tool", {"name": "echo", "arguments": {"message": "x"}}))
        t.ok(err.get("code") == -32602 and "not permitted" in err.get("message", ""),
             "call_read_tool obeys the policy like a direct call", repr(err))
        _, err = result(c.tool("call_tool", {"name": "echo", "arguments": {"message": "x"}}))
        t.ok(err.get("code") == -32602 and "not permitted" in err.get("message", ""),
             "a tool outside the policy gets the policy's refusal from any runner", repr(err))
        res, _ = result(c.tool("search_tools", {"query": "echo message"}))
        found = [x["name"] for x in found_tools(res)]
        t.ok("echo" not in found, "search_tools does not show tools outside the policy",
             repr(found))
        res, _ = result(c.tool("call_tool", {"name": "call_tool"}))
        t.ok(res.get("isError") is True, "call_tool does not call itself")
        res, _ = result(c.tool("call_read_tool", {"name": "search_tools"}))
        t.ok(res.get("isError") is True, "call_read_tool does not call search_tools")
        after = st.psql("SELECT count(*) FROM audit_log")[1]
        t.ok(int(after) > int(before), "every discovery call left audit rows (%s -> %s)"
             % (before, after))

        r = Mcp(url_b, name="plain").initialize()
        t.ok(r.status == 401, "%s: without a token discovery changes nothing: 401" % fe_b)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
