#!/usr/bin/env python3
"""search.py - discovery mode over a provider's whole API, as ChatGPT uses it: the DigitalOcean
and Ory Kratos documents imported with `mcpgate backend import-openapi`, served through lighttpd
and PostgreSQL, DigitalOcean's calls answered by Stoplight Prism.

  - the import leaves deprecated operations out (and says so); --include-deprecated keeps them,
    marked "deprecated": true;
  - above discovery_threshold, tools/list offers search_tools and one runner per access class
    with the annotations of its class; a read-only API key sees search_tools and call_read_tool
    only, and its searches find no tool that changes anything;
  - the query set (tests/openapi/queries.json: natural requests, each with the tools that
    answer it) through search_tools: the top-1 and top-3 hit rates are printed, the top-3 rate
    must reach TOP3_MIN; results are compact (SEARCH_DEFAULT tools unless more are asked for,
    each schema once);
  - a read runs through call_read_tool and a delete through call_destructive_tool against
    Prism, and a runner of the wrong class refuses (isError, audited as refused);
  - a deprecated tool ranks after every tool that is not.
Everything is bounded (Prism start 90 s, each call 30 s) and stopped at the end.

Run: top_srcdir=. top_builddir=build python3 tests/openapi/search.py   (TAP on stdout)
"""

import atexit
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("MCPGATE_TEST_TIMEOUT", "600")
import npmci  # noqa: E402
import run as oa  # noqa: E402  (Prism, admin, free_port)
from mcptest import Mcp, Stack, Tap  # noqa: E402

QUERIES = os.path.join(HERE, "queries.json")
TOP3_MIN = 0.90
SEARCH_DEFAULT = 5
SECRET = "do-search-secret-" + os.urandom(8).hex()
# DigitalOcean: 659 operations, 20 deprecated, 1 upload (neither JSON nor a form)
DO_TOOLS, DO_DEPRECATED = 638, 20
# a backend where the deprecated tool says more about the query than its replacement
LEGACY = {
    "mcpgate_backend": 1, "name": "legacy", "base_url": "http://127.0.0.1:1",
    "allow_private": True,
    "tools": [
        {"name": "list_widgets_v1", "title": "List widgets (old)", "deprecated": True,
         "description": "List widgets. Lists every widget: widgets, widgets, widgets.",
         "method": "GET", "path": "/v1/widgets", "tags": ["Widgets"]},
        {"name": "widgets_list", "description": "The widgets.",
         "method": "GET", "path": "/v2/items"},
    ],
}


def key_client(url, key, name):
    c = Mcp(url, name=name)
    base = c.headers
    c.headers = lambda extra=None, session=True: dict(base(extra, session),
                                                      Authorization="Bearer " + key)
    c.initialize()
    return c


def search(c, query, limit=None):
    """(tool objects, total_matches, raw result)."""
    args = {"query": query}
    if limit:
        args["limit"] = limit
    r = c.tool("search_tools", args)
    res = (r.json or {}).get("result") or {} if isinstance(r.json, dict) else {}
    try:
        body = json.loads(res["content"][0]["text"])
        return body.get("tools") or [], body.get("total_matches"), res
    except (KeyError, IndexError, TypeError, ValueError):
        return [], None, res


def result_of(r):
    return ((r.json or {}).get("result") or {}) if isinstance(r.json, dict) else {}


def main():
    t = Tap()
    if not os.path.isdir(oa.DOC_DIR):
        t.skip("OpenAPI documents", "%s not found" % oa.DOC_DIR)
        return t.done()
    npm_dir = npmci.ensure(t, "openapi")
    if not npm_dir:
        return t.done()
    prism_bin = os.path.join(npm_dir, "node_modules", ".bin", "prism")
    work = tempfile.mkdtemp(prefix="mcpgate-search-")
    if os.environ.get("MCPGATE_KEEP_STACK_DIR") != "1":
        atexit.register(shutil.rmtree, work, True)
    os.chmod(work, 0o755)  # the responders run as www-data
    bdir = os.path.join(work, "backends.d")
    os.mkdir(bdir)
    os.chmod(bdir, 0o755)
    env_file = os.path.join(work, "secrets.env")
    with open(env_file, "w") as f:
        f.write("DIGITALOCEAN_BEARER_AUTH=%s\nDIGITALOCEAN_INFERENCE_BEARER_AUTH=%s\n"
                "ORY_ORYACCESSTOKEN=%s\n" % (SECRET, SECRET, SECRET))
    os.chmod(env_file, 0o644)  # test only
    conf = os.path.join(work, "admin.conf")
    with open(conf, "w") as f:
        f.write("base_url = http://127.0.0.1:1\ndatabase = dbname=unused\nbackends_dir = %s\n"
                % bdir)
    port = oa.free_port()
    do_doc = os.path.join(oa.DOC_DIR, "digitalocean-v2.json")
    r = oa.admin(conf, "backend", "import-openapi", do_doc, "--name", "digitalocean",
                 "--base-url", "http://127.0.0.1:%d" % port, "--allow-private",
                 "--env-file", env_file)
    tools = []
    if r.returncode == 0:
        with open(os.path.join(bdir, "digitalocean.json")) as f:
            tools = json.load(f)["tools"]
    t.ok(len(tools) == DO_TOOLS and not any(x.get("deprecated") for x in tools) and
         ("%d deprecated left out" % DO_DEPRECATED) in r.stderr,
         "digitalocean: the import leaves the %d deprecated operations out and says so (%d "
         "tools)" % (DO_DEPRECATED, len(tools)), r.stderr[-800:])
    t.ok(all(x.get("tags") for x in tools),
         "every tool keeps its operation's tags (search finds tools by them)")
    r = oa.admin(conf, "backend", "import-openapi", do_doc, "--name", "digitalocean",
                 "--include-deprecated", "--output", os.path.join(work, "with-deprecated.json"))
    with_dep = []
    if r.returncode == 0:
        with open(os.path.join(work, "with-deprecated.json")) as f:
            with_dep = json.load(f)["tools"]
    t.ok(len(with_dep) == DO_TOOLS + DO_DEPRECATED and
         sum(1 for x in with_dep if x.get("deprecated") is True) == DO_DEPRECATED,
         "--include-deprecated imports them too, marked \"deprecated\": true", r.stderr[-500:])
    r = oa.admin(conf, "backend", "import-openapi", os.path.join(oa.DOC_DIR, "ory-kratos.json"),
                 "--name", "ory", "--base-url", "http://127.0.0.1:1", "--allow-private",
                 "--env-file", env_file)
    t.ok(r.returncode == 0, "ory-kratos: imported", r.stderr[-500:])
    with open(os.path.join(bdir, "legacy.json"), "w") as f:
        json.dump(LEGACY, f)
    for name in os.listdir(bdir):
        os.chmod(os.path.join(bdir, name), 0o644)

    with open(QUERIES) as f:
        queries = json.load(f)["queries"]
    extra = "backends_dir = %s\ndiscovery_threshold = 40" % bdir
    with Stack(t, servers="lighttpd", config_extra=extra, auth="oauth") as st:
        url = dict(st.front_ends()).get("lighttpd")

        def admin(*args):
            return oa.admin(st.env["CONFIG_LIGHTTPD"], *args, timeout=60)

        r = oa.subprocess.run([oa.ADMIN, "--config", st.env["CONFIG_LIGHTTPD"], "user", "add",
                               "dora"], input="dora's password, long enough\n", text=True,
                              capture_output=True, timeout=60)
        keys = {}
        for label, extra_args in (("full", []), ("read-only", ["--read-only"])):
            r = admin("key", "create", "dora", "--name", label, *extra_args)
            keys[label] = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
        t.ok(all(keys.values()), "user dora with a full and a read-only API key")
        c = key_client(url, keys["full"], "search")
        ro = key_client(url, keys["read-only"], "search-ro")

        res = result_of(c.call("tools/list"))
        listed = {x["name"]: x.get("annotations", {}) for x in res.get("tools", [])}
        t.ok(list(listed) == ["search_tools", "call_read_tool", "call_tool",
                              "call_destructive_tool"] and
             listed["call_read_tool"].get("readOnlyHint") is True and
             listed["call_tool"].get("readOnlyHint") is False and
             listed["call_tool"].get("destructiveHint") is False and
             listed["call_destructive_tool"].get("destructiveHint") is True,
             "tools/list: search_tools and a runner per access class, each annotated as its "
             "class", repr(listed)[:600])
        res = result_of(ro.call("tools/list"))
        names = [x["name"] for x in res.get("tools", [])]
        t.ok(names == ["search_tools", "call_read_tool"],
             "a read-only key sees the read path only", repr(names))
        found, _, _ = search(ro, "delete a droplet", limit=50)
        t.ok(found and all(x["annotations"]["readOnlyHint"] is True and
                           x["call_with"] == "call_read_tool" for x in found),
             "a read-only key's search finds only read tools (%d)" % len(found))

        # the query set
        top1 = top3 = 0
        misses = []
        worst_ms = 0.0
        for q in queries:
            want = ["%s_%s" % (q["backend"], e) for e in q["expect"]]
            t0 = time.monotonic()
            found, _, _ = search(c, q["q"], limit=10)
            worst_ms = max(worst_ms, (time.monotonic() - t0) * 1000)
            got = [x["name"] for x in found]
            rank = next((i for i, n in enumerate(got) if n in want), None)
            top1 += rank == 0
            top3 += rank is not None and rank < 3
            if rank is None or rank >= 3:
                misses.append("%r: %s (top 3: %s)" % (q["q"], "rank %d" % (rank + 1)
                                                       if rank is not None else "not in top 10",
                                                       ", ".join(got[:3])))
        n = len(queries)
        t.diag("query set: %d requests; top-1 %d (%.1f%%), top-3 %d (%.1f%%); slowest search "
               "round trip %.1f ms" % (n, top1, 100.0 * top1 / n, top3, 100.0 * top3 / n,
                                       worst_ms))
        for m in misses:
            t.diag("  miss " + m)
        t.ok(n >= 60, "the query set has at least 60 requests (%d)" % n)
        t.ok(top3 >= TOP3_MIN * n, "top-3 hit rate %.1f%% >= %d%% (top-1 %.1f%%)"
             % (100.0 * top3 / n, TOP3_MIN * 100, 100.0 * top1 / n))

        found, total, res = search(c, "list droplets")
        t.ok(len(found) == SEARCH_DEFAULT and total > SEARCH_DEFAULT and
             "structuredContent" not in res and
             all(len(x.get("description", "")) <= 603 for x in found),
             "results are compact: %d tools by default (of %s matches), descriptions cut, "
             "each schema once" % (len(found), total))

        # the right runner, against Prism
        prism = oa.Prism(t, prism_bin, do_doc, port, os.path.join(work, "prism.log"))
        try:
            if t.ok(prism.wait_ready(), "Prism serves the DigitalOcean document"):
                found, _, _ = search(c, "list my droplets")
                first = found[0] if found else {}
                r = c.tool(first.get("call_with", "?"), {"name": first.get("name", "?"),
                                                         "arguments": {"per_page": 5}})
                res = result_of(r)
                t.ok(first.get("name") == "digitalocean_droplets_list" and
                     first.get("call_with") == "call_read_tool" and res.get("isError") is False,
                     "'list my droplets': droplets_list, run through call_read_tool (no "
                     "confirmation) against Prism", repr(res)[:400])
                found, _, _ = search(c, "delete a droplet")
                first = found[0] if found else {}
                t.ok(first.get("name") == "digitalocean_droplets_destroy" and
                     first.get("call_with") == "call_destructive_tool",
                     "'delete a droplet': droplets_destroy, to run with call_destructive_tool",
                     repr([x.get("name") for x in found]))
                res = result_of(c.tool("call_tool", {"name": "digitalocean_droplets_destroy",
                                                     "arguments": {"droplet_id": 3164444}}))
                ok, last = st.psql("SELECT tool || '|' || outcome FROM audit_log "
                                   "ORDER BY id DESC LIMIT 1")
                t.ok(res.get("isError") is True and "call_destructive_tool" in
                     res["content"][0]["text"] and last == "digitalocean_droplets_destroy|refused",
                     "call_tool refuses it (another class), audited as refused", repr(res)[:300])
                res = result_of(c.tool("call_destructive_tool",
                                       {"name": "digitalocean_droplets_destroy",
                                        "arguments": {"droplet_id": 3164444}}))
                t.ok(res.get("isError") is False,
                     "call_destructive_tool runs it against Prism", repr(res)[:300])
                res = result_of(ro.tool("call_read_tool", {"name": "digitalocean_account_get"}))
                t.ok(res.get("isError") is False,
                     "a read-only key reads its account through call_read_tool", repr(res)[:300])
        finally:
            prism.stop()

        found, _, _ = search(c, "widgets")
        got = [x["name"] for x in found]
        t.ok(got == ["legacy_widgets_list", "legacy_list_widgets_v1"],
             "a deprecated tool ranks after every tool that is not, though it says more about "
             "the query", repr(got))
        body = json.dumps(found)
        t.ok(SECRET not in body, "no result holds a backend secret")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
