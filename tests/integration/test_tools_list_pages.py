#!/usr/bin/env python3
"""test_tools_list_pages.py - tools/list of a large catalog, page by page, through every web
front end (lighttpd, Apache mod_fcgid, Apache mod_proxy_fcgi).

A page of a REST backend's tools is written from each tool's descriptor text, made once when
the process starts, and goes to the web server in large FastCGI records (up to 64 KB, four to
a system call). With 230 tools whose descriptions are long and page_size = 150 (the first
page is over 300 KB, five records), each front end must give:
  - every page whole (its Content-Length, when the front end sends one, and the JSON agree),
    with a nextCursor up to the last;
  - exactly the backend file's tools, in its order, each with its own descriptor: name,
    title, description, inputSchema and the annotations of its access class;
  - after `mcpgate policy deny --user dora` of pages_pg_tool_1* and pages_pg_tool_*5 (113
    tools; rules the responders read on every request), exactly the others, each still with
    its own descriptor, and the pages still full but the last; after the rules are revoked,
    the whole list again;
  - the same result from each front end for the same page.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_tools_list_pages.py (TAP)
"""

import fnmatch
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import Mcp, Stack, Tap, admin  # noqa: E402

TOOLS = 230
PAGE_SIZE = 150  # a first page of over 300 KB: more than one writev() of four records
ACCESS = ("read", "write", "destructive")
BACKEND = "pages"  # its tools are called pages_<name>


def backend_tools():
    """The backend file's tools: each description long and different, one tool in three of
    each access class, a title on every other one."""
    tools = []
    for i in range(TOOLS):
        t = {
            "name": "pg_tool_%03d" % i,
            "description": ("Tool %d of the paging test: " % i) + ("word%d " % i) * 360,
            "method": "GET",
            "path": "/items/%d" % i,
            "input_schema": {"type": "object",
                             "properties": {"n%d" % i: {"type": "integer", "minimum": i}},
                             "additionalProperties": False},
            "access": ACCESS[i % 3],
        }
        if i % 2 == 0:
            t["title"] = "Paging tool %d" % i
        tools.append(t)
    return tools


def expected(t):
    """What tools/list must say of the backend tool t (the members this test checks)."""
    access = t["access"]
    out = {"name": BACKEND + "_" + t["name"], "description": t["description"],
           "inputSchema": t["input_schema"],
           "annotations": {"readOnlyHint": access == "read",
                           "destructiveHint": access == "destructive",
                           "idempotentHint": access == "read"}}
    if "title" in t:
        out["title"] = t["title"]
        out["annotations"]["title"] = t["title"]
    return out


def seen(d):
    """The members of a listed descriptor that expected() names."""
    out = {k: d.get(k) for k in ("name", "description", "inputSchema") if k in d}
    if "title" in d:
        out["title"] = d["title"]
    ann = d.get("annotations") or {}
    out["annotations"] = {k: ann.get(k) for k in ("readOnlyHint", "destructiveHint",
                                                  "idempotentHint")}
    if "title" in ann:
        out["annotations"]["title"] = ann["title"]
    return out


def pages(c):
    """Every page of tools/list: a list of (raw body, result), or None and the reason."""
    out, cursor = [], None
    for _ in range(20):
        r = c.call("tools/list", {"cursor": cursor} if cursor else {})
        length = r.header("Content-Length")  # none when the front end sends chunks
        if r.status != 200 or (length is not None and int(length) != len(r.body)):
            return None, "page %d: %s (Content-Length %s)" % (len(out) + 1, r.describe(300),
                                                              length)
        j = r.json if isinstance(r.json, dict) else {}
        res = j.get("result")
        if not isinstance(res, dict) or not isinstance(res.get("tools"), list):
            return None, "page %d: %s" % (len(out) + 1, r.describe(300))
        out.append((r.body, res))
        cursor = res.get("nextCursor")
        if not cursor:
            return out, ""
    return None, "more than 20 pages"


def ours(listed):
    """The paging test's tools among the listed ones (the test responder adds its own)."""
    return [d for d in listed if str(d.get("name", "")).startswith(BACKEND + "_pg_tool_")]


def check_list(t, fe, label, got, want):
    """got: pages() of a front end; want: the backend tools it must list, in order."""
    if not t.ok(got is not None, "%s %s: every page answered whole" % (fe, label)):
        return
    listed = [d for _, res in got for d in res["tools"]]
    mine = ours(listed)
    t.ok([d.get("name") for d in mine] == [expected(w)["name"] for w in want],
         "%s %s: the %d tools of the backend, in its order, once each" % (fe, label, len(want)),
         repr([d.get("name") for d in mine][:20]))
    wrong = [d.get("name") for d, w in zip(mine, want) if seen(d) != expected(w)]
    t.ok(len(mine) == len(want) and not wrong,
         "%s %s: each with its own descriptor" % (fe, label), repr(wrong[:10]))
    sizes = [len(res["tools"]) for _, res in got]
    t.ok(all(n == PAGE_SIZE for n in sizes[:-1]) and 0 < sizes[-1] <= PAGE_SIZE,
         "%s %s: pages of %d tools but the last (%s)" % (fe, label, PAGE_SIZE, sizes), "")


def main():
    t = Tap()
    bdir = tempfile.mkdtemp(prefix="mcpgate-pages-")
    tools = backend_tools()
    try:
        os.chmod(bdir, 0o755)  # the stack's responders run as www-data
        path = os.path.join(bdir, "pages.json")
        with open(path, "w") as f:
            json.dump({"mcpgate_backend": 1, "name": BACKEND, "base_url": "http://127.0.0.1:1",
                       "allow_private": True, "tools": tools}, f)
        os.chmod(path, 0o644)
        run(t, bdir, tools)
    finally:
        shutil.rmtree(bdir, True)
    return t.done()


def run(t, bdir, tools):
    with Stack(t, servers="lighttpd fcgid proxy", responder=mcptest.test_responder(),
               config_extra="discovery_threshold = 0\npage_size = %d\nbackends_dir = %s"
               % (PAGE_SIZE, bdir),
               auth="oauth", code_check_servers="lighttpd") as st:
        admin(st, "user", "add", "dora", stdin="dora's password\n")
        r = admin(st, "key", "create", "dora", "--name", "pages")
        key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
        t.ok(bool(key), "user dora with an API key", r.stderr)
        clients = []
        for fe, url in st.front_ends():
            c = Mcp(url, name="pages-" + fe, bearer=key)
            c.initialize()
            clients.append((fe, c))

        first = {}
        for fe, c in clients:
            got, why = pages(c)
            if why:
                t.diag(why)
            check_list(t, fe, "with no rules", got, tools)
            if got:
                first[fe] = json.dumps(got[0][1], sort_keys=True)
                t.ok(len(got[0][0]) > 4 * 65528,
                     "%s: the first page is over four FastCGI records (%d bytes)"
                     % (fe, len(got[0][0])))
        t.ok(len(first) == len(clients) and len(set(first.values())) == 1,
             "each front end gives the same first page")

        # a block of tools and one in ten denied: the visible set and the pages change at once
        patterns = (BACKEND + "_pg_tool_1*", BACKEND + "_pg_tool_*5")
        for p in patterns:
            r = admin(st, "policy", "deny", "--user", "dora", p)
            t.ok(r.returncode == 0, "policy deny --user dora %s" % p, r.stdout, r.stderr)
        r = admin(st, "policy", "show", "--json")
        rules = json.loads(r.stdout) if r.returncode == 0 else []
        rule_ids = [x["id"] for x in rules if x.get("pattern") in patterns]
        t.ok(len(rule_ids) == len(patterns), "policy show lists the two rules", r.stdout)
        kept = [w for w in tools
                if not any(fnmatch.fnmatchcase(expected(w)["name"], p) for p in patterns)]
        for fe, c in clients:
            got, why = pages(c)
            if why:
                t.diag(why)
            check_list(t, fe, "with %d tools denied" % (len(tools) - len(kept)), got, kept)

        for rid in rule_ids:
            r = admin(st, "policy", "revoke", str(rid))
            if r.returncode != 0:
                t.ok(False, "policy revoke %s" % rid, r.stdout, r.stderr)
                break
        for fe, c in clients:
            got, why = pages(c)
            if why:
                t.diag(why)
            check_list(t, fe, "after the rules are revoked", got, tools)


if __name__ == "__main__":
    sys.exit(main())
