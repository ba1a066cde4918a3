#!/usr/bin/env python3
"""test_connectors.py - connectors: named tool sets, each at its own MCP endpoint, through
lighttpd, Apache mod_fcgid and Apache mod_proxy_fcgi on a private PostgreSQL.

The REST backend is the DigitalOcean OpenAPI document's Projects and Databases operations,
imported with `mcpgate backend import-openapi`; its base URL is a small HTTP server of this
test that answers GET /v2/projects, so a call that reaches the API is told from a refusal.
Two connectors with disjoint tool sets:
    projects   backends=do tags=Projects                        (listed directly)
    databases  backends=do tags=Databases access=read           (over discovery_threshold)
Checked at each front end:
  - protected resource metadata per connector (RFC 9728): resource base_url/mcp/NAME and the
    connector's title; an unknown connector is 404, endpoint and metadata alike;
  - the 401 at /mcp/NAME points to that connector's metadata;
  - the OAuth flow (DCR, PKCE, resource=base_url/mcp/projects): the consent page names the
    connector, the token works at /mcp/projects and is refused with 401 at /mcp/databases and
    at /mcp; a databases token the other way round; the consent is remembered for
    /mcp/projects only, the same client is asked again for another connector or /mcp;
  - tools/list shows exactly the connector's tools (computed here from the backend file),
    minus what the user's policy denies; a tool of the other connector, or a denied one, is
    refused as unknown or not permitted; a projects tool reaches the API;
  - at /mcp/databases (discovery mode) search_tools and call_read_tool see only its tools;
  - a refresh keeps the token bound to its connector;
  - main_tokens=yes (connector everything): /mcp's tokens work there, a connector's do not.
Once: `mcpgate doctor --tools` reports each endpoint's tool count against the threshold, and a
bad connector line stops the configuration with a message naming it.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_connectors.py   (TAP)
"""

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import Mcp, Stack, Tap, admin  # noqa: E402
from oauthlib import OAuth, Browser, hidden_fields, pkce  # noqa: E402

DOC = os.path.join(os.environ.get("MCPGATE_OPENAPI_DIR", "/work/shared/testdata/openapi"),
                   "digitalocean-v2.json")
USER, PASSWORD = "carol", "carol's password"
THRESHOLD = 20
MARKER = "project-from-the-api-7f3a"
DENIED = "do_projects_get_default"  # the user's policy denies it


class Api(http.server.BaseHTTPRequestHandler):
    """The REST API the backend calls: GET /v2/projects answers with MARKER."""

    def do_GET(self):
        if urllib.parse.urlsplit(self.path).path == "/v2/projects":
            body = json.dumps({"projects": [{"name": MARKER}]}).encode()
            self.send_response(200)
        else:
            body = b'{"id":"not_found","message":"no such resource"}'
            self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def connector_config(bdir):
    return "\n".join([
        "discovery_threshold = %d" % THRESHOLD,
        "backends_dir = %s" % bdir,
        'connector = projects backends=do tags=Projects title="DO Projects"',
        'connector = databases backends=do tags=Databases access=read title="Databases (read)"',
        'connector = everything main_tokens=yes',
    ])


def expected_sets(backend):
    """The tool names of each connector, from the backend file (tags and method)."""
    proj, dbs = set(), set()
    for t in backend["tools"]:
        name = "do_" + t["name"]
        tags = t.get("tags") or []
        read = t.get("access", "read" if t["method"] in ("GET", "HEAD") else "write") == "read"
        if "Projects" in tags:
            proj.add(name)
        if "Databases" in tags and read:
            dbs.add(name)
    return proj, dbs


def rpc(r):
    j = r.json if isinstance(r.json, dict) else {}
    return j.get("result") or {}, j.get("error") or {}


def list_all(m):
    names, cursor = [], None
    for _ in range(50):
        res, _ = rpc(m.call("tools/list", {"cursor": cursor} if cursor else {}))
        names += [x["name"] for x in res.get("tools", [])]
        cursor = res.get("nextCursor")
        if not cursor:
            break
    return names


def client(base, token, name):
    m = Mcp(base, bearer=token)
    m.url = base + "/mcp/" + name
    return m


def flow(o, fe, name, tap):
    """DCR + PKCE + consent for resource base/mcp/NAME (base/mcp for None). Returns (consent
    page, token json)."""
    o.resource = o.base + "/mcp" + ("/" + name if name else "")
    b = Browser()
    reg = o.register_public(name="connector test")
    if not reg:
        return None, None
    verifier, challenge = pkce()
    params = o.auth_params(reg["client_id"], challenge)
    r = b.get(o.authorize_url(params))
    if r.status == 303 and "/login" in (r.header("Location") or ""):
        back = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location")).query)
        r = o.login(b, USER, PASSWORD, back["return_to"][0])
        r = b.get(o.base + r.header("Location"))
    page = r
    if r.status != 200 or b"Allow access" not in r.body:
        return page, None
    r = o.consent(b, r)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location") or "").query)
    if "code" not in q:
        return page, None
    t = o.code_grant(reg["client_id"], q["code"][0], verifier)
    tok = t.json if t.status == 200 else None
    if tok:
        tok["client_id"] = reg["client_id"]
        tok["browser"] = b
    return page, tok


def again(o, tok, name):
    """The same client and browser authorize again for resource base/mcp/NAME (or /mcp for
    None): the Response (303 with a code when the consent is remembered, else the page)."""
    o.resource = o.base + "/mcp" + ("/" + name if name else "")
    verifier, challenge = pkce()
    return tok["browser"].get(o.authorize_url(o.auth_params(tok["client_id"], challenge)))


def run_front_end(t, st, fe, base, proj, dbs):
    # metadata per connector, and 404 for a connector that does not exist
    for name, title in (("projects", "DO Projects"), ("databases", "Databases (read)")):
        r = mcptest.request("GET", base + "/.well-known/oauth-protected-resource/mcp/" + name)
        j = r.json if isinstance(r.json, dict) else {}
        t.ok(r.status == 200 and j.get("resource") == base + "/mcp/" + name and
             j.get("resource_name") == title and j.get("authorization_servers") == [base],
             "%s: /.well-known/oauth-protected-resource/mcp/%s names resource /mcp/%s and the "
             "title" % (fe, name, name), r.describe(600))
    r = mcptest.request("GET", base + "/.well-known/oauth-protected-resource/mcp/nosuch")
    r2 = Mcp(base, bearer="x")
    r2.url = base + "/mcp/nosuch"
    r2 = r2.post({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    t.ok(r.status == 404 and r2.status == 404,
         "%s: an unknown connector is 404 (metadata %s, endpoint %s)" % (fe, r.status, r2.status))

    # the challenge at a connector points to its metadata
    m = client(base, "", "projects")
    r = mcptest.request("POST", m.url, mcptest.json_bytes({"jsonrpc": "2.0", "id": 1,
                                                            "method": "ping"}),
                        {"Content-Type": "application/json",
                         "Accept": "application/json, text/event-stream"})
    www = r.header("WWW-Authenticate") or ""
    t.ok(r.status == 401 and
         'resource_metadata="%s/.well-known/oauth-protected-resource/mcp/projects"' % base in www,
         "%s: 401 at /mcp/projects points to its own metadata" % fe, www)

    o = OAuth(base)
    page, ptok = flow(o, fe, "projects", t)
    body = page.body.decode("utf-8", "replace") if page else ""
    t.ok('id="connector">DO Projects<' in body and "/mcp/projects" in body,
         "%s: the consent page names the connector DO Projects" % fe, body[:800])
    t.ok(bool(ptok), "%s: resource=%s/mcp/projects: a token" % (fe, base),
         page.describe(400) if page else "")
    page, dtok = flow(o, fe, "databases", t)
    body = page.body.decode("utf-8", "replace") if page else ""
    t.ok(bool(dtok) and 'id="connector">Databases (read)<' in body,
         "%s: resource=%s/mcp/databases: its consent page names it, a token" % (fe, base))
    if not ptok or not dtok:
        return
    pt, dt = ptok["access_token"], dtok["access_token"]

    # main_tokens=yes: /mcp's tokens work at that connector too, a connector's do not
    page, mtok = flow(o, fe, None, t)
    ok = False
    if mtok:
        ok = True
        for tok, where, want in ((mtok["access_token"], "/mcp", 200),
                                 (mtok["access_token"], "/mcp/everything", 200),
                                 (mtok["access_token"], "/mcp/projects", 401),
                                 (pt, "/mcp/everything", 401)):
            m = Mcp(base, bearer=tok)
            m.url = base + where
            ok = ok and m.post(m.initialize_body()).status == want
    t.ok(ok, "%s: main_tokens=yes: a /mcp token works at /mcp/everything (not at "
         "/mcp/projects), a projects token does not" % fe)

    # consent is remembered per resource: not for another connector, nor for /mcp
    r = again(o, ptok, "projects")
    t.ok(r.status == 303 and "code=" in (r.header("Location") or ""),
         "%s: the same client for /mcp/projects again: consent remembered, a code" % fe,
         r.describe(300))
    r = again(o, ptok, "databases")
    t.ok(r.status == 200 and b'id="connector">Databases (read)<' in r.body,
         "%s: the same client for /mcp/databases: asked again, naming Databases" % fe,
         r.describe(300))
    r = again(o, ptok, None)
    t.ok(r.status == 200 and b"mcpgate's tools" in r.body and b'id="connector"' not in r.body,
         "%s: the same client for /mcp: asked again, for every tool" % fe, r.describe(300))

    # bound to one endpoint: 401 elsewhere, either way round
    for tok, where, what in ((pt, "/mcp/databases", "projects"), (pt, "/mcp", "projects"),
                             (dt, "/mcp/projects", "databases"), (dt, "/mcp", "databases")):
        m = Mcp(base, bearer=tok)
        m.url = base + where
        r = m.post(m.initialize_body())
        www = r.header("WWW-Authenticate") or ""
        t.ok(r.status == 401 and 'error="invalid_token"' in www,
             "%s: the %s token is refused with 401 at %s" % (fe, what, where), r.describe(300))

    # tools/list: exactly the connector's tools, minus what policy denies
    m = client(base, pt, "projects")
    r = m.initialize()
    info = ((r.json or {}).get("result") or {}).get("serverInfo") or {}
    t.ok(r.status == 200 and info.get("title") == "DO Projects",
         "%s: initialize at /mcp/projects with its token: serverInfo.title is the connector's"
         % fe, r.describe(300))
    names = list_all(m)
    t.ok(set(names) == proj - {DENIED} and len(names) == len(proj) - 1,
         "%s: tools/list at /mcp/projects: its %d tools but the one policy denies" %
         (fe, len(proj)), "got %r" % sorted(names), "want %r" % sorted(proj - {DENIED}))
    r = m.tool("do_projects_list", {})
    text = mcptest.tool_text(r) or ""
    t.ok(MARKER in text, "%s: do_projects_list reaches the API through /mcp/projects" % fe,
         r.describe(400))
    other = sorted(dbs)[0]
    r = m.tool(other, {})
    _, err = rpc(r)
    t.ok(err.get("code") == -32602 and "Unknown tool" in err.get("message", ""),
         "%s: %s (a databases tool) at /mcp/projects is an unknown tool" % (fe, other), repr(err))
    r = m.tool(DENIED, {})
    _, err = rpc(r)
    t.ok(err.get("code") == -32602 and "not permitted" in err.get("message", ""),
         "%s: %s at /mcp/projects: not permitted by the user's policy" % (fe, DENIED), repr(err))

    # databases: over the threshold, discovery mode over its own tools only
    m = client(base, dt, "databases")
    m.initialize()
    names = list_all(m)
    t.ok(names == ["search_tools", "call_read_tool"],
         "%s: /mcp/databases (%d read tools > %d): search_tools and call_read_tool only" %
         (fe, len(dbs), THRESHOLD), repr(names))
    res, _ = rpc(m.tool("search_tools", {"query": "list projects", "limit": 50}))
    try:
        found = [x["name"] for x in json.loads(res["content"][0]["text"]).get("tools") or []]
    except (KeyError, IndexError, TypeError, ValueError):
        found = None
    t.ok(found is not None and found and set(found) <= dbs,
         "%s: search_tools 'list projects' at /mcp/databases finds only databases tools" % fe,
         repr(found), repr(res)[:300])
    res, err = rpc(m.tool("call_read_tool", {"name": "do_projects_list", "arguments": {}}))
    msg = err.get("message", "") + json.dumps(res)
    t.ok("Unknown tool" in msg and MARKER not in msg,
         "%s: call_read_tool do_projects_list at /mcp/databases: unknown tool" % fe, msg[:300])

    # a refresh keeps the connector's audience
    r = o.refresh(ptok["client_id"], ptok["refresh_token"],
                  resource=base + "/mcp/projects")
    nt = (r.json or {}).get("access_token") if r.status == 200 else None
    ok = False
    if nt:
        a = Mcp(base, bearer=nt)
        a.url = base + "/mcp/projects"
        b = Mcp(base, bearer=nt)
        ok = a.post(a.initialize_body()).status == 200 and \
            b.post(b.initialize_body()).status == 401
    t.ok(ok, "%s: the refreshed token works at /mcp/projects, not at /mcp" % fe, r.describe(300))
    r = o.refresh(ptok["client_id"], "x", resource=base + "/mcp/nosuch")
    t.ok(r.status == 400 and (r.json or {}).get("error") == "invalid_target",
         "%s: a resource naming no connector: invalid_target" % fe, r.describe(300))


def check_doctor(t, st, proj, dbs):
    r = admin(st, "doctor", "--tools", "--json")
    try:
        checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    except (ValueError, KeyError, TypeError):
        checks = {}
    p, d = checks.get("connector-projects", {}), checks.get("connector-databases", {})
    t.ok(p.get("status") == "PASS" and ("%d tools" % len(proj)) in p.get("seen", ""),
         "doctor --tools: connector-projects pass with %d tools" % len(proj), repr(p), r.stderr)
    t.ok(d.get("status") == "WARN" and ("%d tools" % len(dbs)) in d.get("seen", "") and
         "discovery_threshold %d" % THRESHOLD in d.get("seen", ""),
         "doctor --tools: connector-databases warns, %d tools over discovery_threshold %d" %
         (len(dbs), THRESHOLD), repr(d))


def check_bad_lines(t, st):
    conf = st.env["CONFIG_LIGHTTPD"]
    with open(conf) as f:
        text = f.read()
    for line, says in (("connector = doctor", "not \"doctor\""),
                       ("connector = x colour=blue", "unknown parameter \"colour\""),
                       ("connector = projects", "projects is configured twice"),
                       ('connector = y title="open', "quote is not closed"),
                       ("connector = z access=delete", "access must list")):
        fd, path = tempfile.mkstemp(suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n" + line + "\n")
        r = admin(st, "doctor", "--tools", conf=path)
        os.unlink(path)
        t.ok(r.returncode != 0 and says in r.stderr,
             "a bad connector line stops the configuration: %s" % line, r.stderr[-300:])


def main():
    t = Tap()
    if not os.path.isfile(DOC):
        t.bail("no DigitalOcean document at %s" % DOC)
    api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    bdir = tempfile.mkdtemp(prefix="mcpgate-connectors-")
    try:
        os.chmod(bdir, 0o755)  # the stack's responders run as www-data
        env_file = os.path.join(bdir, "do.env")
        with open(env_file, "w") as f:
            f.write("DO_BEARER_AUTH=do-test-secret\n")
        os.chmod(env_file, 0o644)
        out = os.path.join(bdir, "do.json")
        conf = os.path.join(bdir, "import.conf")  # what the import reads: backends_dir
        with open(conf, "w") as f:
            f.write("base_url = http://127.0.0.1\ndatabase = dbname=none\nbackends_dir = %s\n"
                    % bdir)
        r = subprocess.run([mcptest.admin_exe(), "--config", conf, "backend", "import-openapi",
                            DOC, "--name", "do",
                            "--tag", "Projects", "--tag", "Databases", "--allow-private",
                            "--base-url", "http://127.0.0.1:%d" % api.server_port,
                            "--env-file", env_file, "--output", out],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            t.bail("import-openapi failed", r.stderr[-2000:])
        os.chmod(out, 0o644)
        with open(out) as f:
            proj, dbs = expected_sets(json.load(f))
        t.ok(proj and dbs and not (proj & dbs) and len(proj) <= THRESHOLD < len(dbs),
             "the imported backend: %d Projects tools, %d read Databases tools, disjoint" %
             (len(proj), len(dbs)))
        # under valgrind and ASan through lighttpd only (the default build runs every
        # front end): what these check is the responder's code, the same behind each
        with Stack(t, servers="lighttpd fcgid proxy", config_extra=connector_config(bdir),
                   auth="oauth", code_check_servers="lighttpd") as st:
            fes = st.front_ends()
            r = admin(st, "user", "add", USER, stdin=PASSWORD + "\n")
            r2 = admin(st, "policy", "deny", "--user", USER, DENIED)
            t.ok(r.returncode == 0 and r2.returncode == 0,
                 "user %s, whose policy denies %s" % (USER, DENIED), r.stderr, r2.stderr)
            for fe, base in fes:
                run_front_end(t, st, fe, base, proj, dbs)
            check_doctor(t, st, proj, dbs)
            check_bad_lines(t, st)
            mcptest.check_logs(t, st)
    finally:
        api.shutdown()
        shutil.rmtree(bdir, True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
