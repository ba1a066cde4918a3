#!/usr/bin/env python3
"""run.py - the OpenAPI import against the real public documents, each generated tool called
through lighttpd and the responder against Stoplight Prism serving the same document.

For each document of /work/shared/testdata/openapi (or $MCPGATE_OPENAPI_DIR): petstore-3.0,
ory-kratos and digitalocean-v2:
  - `mcpgate backend import-openapi` writes the backend file (tool count checked, the file
    loads with `mcpgate backend test`);
  - Prism (tests/openapi/package-lock.json, installed with npm ci) serves the document on a
    free 127.0.0.1 port; every generated tool is called once via tools/call with arguments
    made from its inputSchema (required arguments only). Prism validates every request
    (parameters, body, credentials): a tool that builds a wrong request gets a 4xx and
    fails. The number of tools called successfully is reported per document and must reach
    the document's floor (MIN_OK);
  - the credentials (from an env file) reach Prism but appear in no response and no log;
  - the connector projects (the DigitalOcean Projects tag) at /mcp/projects lists those
    tools alone, calls one against Prism and refuses another backend tool as unknown.
Everything is bounded (Prism start 90 s, each call 30 s, the whole script
MCPGATE_TEST_TIMEOUT) and stopped at the end.

Run: top_srcdir=. top_builddir=. python3 tests/openapi/run.py   (TAP on stdout)
"""

import atexit
import shutil
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("MCPGATE_TEST_TIMEOUT", "900")
import npmci  # noqa: E402
from mcptest import TOP_BUILDDIR, Mcp, Stack, Tap  # noqa: E402

DOC_DIR = os.environ.get("MCPGATE_OPENAPI_DIR", "/work/shared/testdata/openapi")
# document, backend name, tools expected, tools that must succeed against Prism
DOCS = [
    ("petstore-3.0.json", "petstore", 3, 3),
    ("ory-kratos.json", "ory", 60, 50),
    ("digitalocean-v2.json", "digitalocean", 638, 560),  # 20 deprecated left out
]
SECRETS = {
    "ORY_ORYACCESSTOKEN": "ory-secret-" + os.urandom(8).hex(),
    "DIGITALOCEAN_BEARER_AUTH": "do-secret-" + os.urandom(8).hex(),
    "DIGITALOCEAN_INFERENCE_BEARER_AUTH": "do-inference-secret-" + os.urandom(8).hex(),
}
PRISM_START_S = 90
CALL_TIMEOUT_S = 30
WORKERS = 4
ADMIN = os.environ.get("MCPGATE_ADMIN") or os.path.join(TOP_BUILDDIR, "src", "mcpgate")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- arguments from a schema -------------------------------------------------------------

FORMATS = {
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "date-time": "2026-01-02T03:04:05Z",
    "date": "2026-01-02",
    "time": "03:04:05Z",
    "email": "user@example.com",
    "uri": "https://example.com/x",
    "url": "https://example.com/x",
    "uri-reference": "https://example.com/x",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "aGVsbG8=",
    "cidr": "10.0.0.0/24",
}


def merge_all_of(s):
    out = {k: v for k, v in s.items() if k != "allOf"}
    props = dict(out.get("properties", {}))
    req = list(out.get("required", []))
    for sub in s["allOf"]:
        if "allOf" in sub:
            sub = merge_all_of(sub)
        for k, v in sub.items():
            if k == "properties":
                props.update(v)
            elif k == "required":
                req += v
            elif k not in out:
                out[k] = v
    if props:
        out["properties"] = props
    if req:
        out["required"] = req
    return out


def sample(s, depth=0):
    """A value valid against schema s (best effort: enum, examples, formats, bounds)."""
    if not isinstance(s, dict) or depth > 12:
        return "x"
    if "allOf" in s:
        return sample(merge_all_of(s), depth + 1)
    if "enum" in s:
        vals = [v for v in s["enum"] if v is not None]
        return vals[0] if vals else None
    if "const" in s:
        return s["const"]
    for key in ("oneOf", "anyOf"):
        if s.get(key):
            return sample(s[key][0], depth + 1)
    t = s.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t is None:
        t = "object" if "properties" in s else "array" if "items" in s else "string"
    ex = s.get("examples")
    if ex and t not in ("object", "array"):
        return ex[0]
    if "default" in s and t not in ("object", "array"):
        return s["default"]
    if t == "string":
        if s.get("format") in FORMATS:
            return FORMATS[s["format"]]
        n = max(int(s.get("minLength", 1)), 1)
        n = min(n, int(s.get("maxLength", n)))
        return "a" * n
    if t in ("integer", "number"):
        lo = s.get("minimum", s.get("exclusiveMinimum", 0))
        v = lo + 1 if "exclusiveMinimum" in s else max(lo, 1)
        hi = s.get("maximum")
        if hi is not None and v > hi:
            v = hi
        return int(v) if t == "integer" else v
    if t == "boolean":
        return True
    if t == "array":
        n = max(int(s.get("minItems", 1)), 1)
        return [sample(s.get("items", {}), depth + 1) for _ in range(n)]
    if t == "object":
        props = s.get("properties", {})
        out = {}
        for k in s.get("required", []):
            out[k] = sample(props.get(k, {}), depth + 1)
        return out
    return None


def arguments(schema):
    props = schema.get("properties", {})
    return {k: sample(props.get(k, {})) for k in schema.get("required", [])}


# --- Prism --------------------------------------------------------------------------------


class Prism:
    def __init__(self, tap, bin_path, doc, port, log_path):
        self.tap, self.port = tap, port
        self.log = open(log_path, "wb")
        env = dict(os.environ, SCARF_ANALYTICS="false", NO_COLOR="1")
        self.p = subprocess.Popen([bin_path, "mock", "-h", "127.0.0.1", "-p", str(port), doc],
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=env, start_new_session=True)

    def wait_ready(self):
        deadline = time.monotonic() + PRISM_START_S
        while time.monotonic() < deadline and self.p.poll() is None:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/" % self.port, timeout=2)
                return True
            except urllib.error.HTTPError:
                return True  # any HTTP answer: it listens
            except OSError:
                time.sleep(0.3)
        return False

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
                self.p.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.p.wait()
        self.log.close()


def admin(config, *args, timeout=120):
    return subprocess.run([ADMIN, "--config", config] + list(args), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def list_tools(client):
    tools, cursor = [], None
    for _ in range(100):
        r = client.call("tools/list", {"cursor": cursor} if cursor else {})
        res = (r.json or {}).get("result") or {}
        tools += res.get("tools", [])
        cursor = res.get("nextCursor")
        if not cursor:
            break
    return tools


def call_all(client, tools):
    """Calls every tool once; returns (ok names, {name: problem}, names whose response
    held a secret)."""
    ok, failed, leaks = [], {}, []
    lock = threading.Lock()
    queue = list(tools)

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                t = queue.pop()
            args = arguments(t["inputSchema"])
            r = client.tool(t["name"], args, timeout=CALL_TIMEOUT_S)
            res = (r.json or {}).get("result") if isinstance(r.json, dict) else None
            body = r.body.decode("utf-8", "replace")
            with lock:
                for v in SECRETS.values():
                    if v in body:
                        leaks.append(t["name"])
                if isinstance(res, dict) and res.get("isError") is False:
                    ok.append(t["name"])
                else:
                    text = ""
                    try:
                        text = res["content"][0]["text"]
                    except (TypeError, KeyError, IndexError):
                        text = "HTTP %s %r" % (r.status, r.body[:200])
                    failed[t["name"]] = "%s args=%s" % (text[:300], json.dumps(args)[:200])

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return ok, failed, leaks


def connector_checks(t, url, backend_file):
    """The connector projects (DigitalOcean's Projects tag) at /mcp/projects, against Prism:
    its tools alone are listed, one runs, another backend tool is unknown there."""
    with open(backend_file) as f:
        want = sorted("digitalocean_" + x["name"] for x in json.load(f)["tools"]
                      if "Projects" in (x.get("tags") or []))
    c = Mcp(url, name="connector")
    c.url = url + "/mcp/projects"
    r = c.initialize()
    names = sorted(x["name"] for x in list_tools(c)) if r.status == 200 else []
    t.ok(want and names == want, "digitalocean: /mcp/projects lists the %d Projects tools alone"
         % len(want), "got %r" % names, "want %r" % want)
    r = c.tool("digitalocean_projects_list", {}, timeout=CALL_TIMEOUT_S)
    res = (r.json or {}).get("result") if isinstance(r.json, dict) else None
    t.ok(isinstance(res, dict) and res.get("isError") is False and "projects" in
         json.dumps(res), "digitalocean: digitalocean_projects_list through /mcp/projects "
         "reaches Prism", r.describe(400))
    r = c.tool("digitalocean_droplets_list", {}, timeout=CALL_TIMEOUT_S)
    err = (r.json or {}).get("error") if isinstance(r.json, dict) else None
    t.ok(isinstance(err, dict) and "Unknown tool" in err.get("message", ""),
         "digitalocean: digitalocean_droplets_list at /mcp/projects is an unknown tool",
         r.describe(300))


def main():
    t = Tap()
    if not os.path.isdir(DOC_DIR):
        t.skip("OpenAPI documents", "%s not found" % DOC_DIR)
        return t.done()
    npm_dir = npmci.ensure(t, "openapi")
    if not npm_dir:
        return t.done()
    prism_bin = os.path.join(npm_dir, "node_modules", ".bin", "prism")
    work = tempfile.mkdtemp(prefix="mcpgate-openapi-")
    if os.environ.get("MCPGATE_KEEP_STACK_DIR") != "1":
        atexit.register(shutil.rmtree, work, True)  # backend files, Prism logs
    os.chmod(work, 0o755)  # the responders run as www-data
    bdir = os.path.join(work, "backends.d")
    os.mkdir(bdir)
    os.chmod(bdir, 0o755)
    env_file = os.path.join(work, "secrets.env")
    with open(env_file, "w") as f:
        for k, v in SECRETS.items():
            f.write("%s=%s\n" % (k, v))
    os.chmod(env_file, 0o644)  # test only: real ones are readable by the web server user only
    conf = os.path.join(work, "admin.conf")
    with open(conf, "w") as f:
        f.write("base_url = http://127.0.0.1:1\ndatabase = dbname=unused\nbackends_dir = %s\n"
                % bdir)
    ports = {}
    for doc, name, want, _ in DOCS:
        ports[name] = free_port()
        path = os.path.join(DOC_DIR, doc)
        t0 = time.monotonic()
        r = admin(conf, "backend", "import-openapi", path, "--name", name, "--base-url",
                  "http://127.0.0.1:%d" % ports[name], "--allow-private", "--env-file",
                  env_file)
        out_file = os.path.join(bdir, name + ".json")
        count = None
        if r.returncode == 0:
            with open(out_file) as f:
                count = len(json.load(f)["tools"])
            os.chmod(out_file, 0o644)
        t.ok(r.returncode == 0 and count == want,
             "%s: import-openapi writes %s tools (%.1fs)" % (doc, count, time.monotonic() - t0),
             r.stdout[-1500:], r.stderr[-1500:])
        t.diag("%s: %s" % (doc, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""))
        r = admin(conf, "backend", "test", name)
        t.ok(r.returncode == 0, "%s: mcpgate backend test loads it" % doc, r.stdout, r.stderr)
    results = {}
    # every tool is listed and called, so discovery mode stays off here; the connector
    # serves the DigitalOcean Projects tools alone at /mcp/projects
    extra = ("backends_dir = %s\ndiscovery_threshold = 0\n"
             'connector = projects backends=digitalocean tags=Projects title="Projects"' % bdir)
    with Stack(t, servers="lighttpd", config_extra=extra) as st:
        url = dict(st.front_ends()).get("lighttpd")
        client = Mcp(url, name="openapi")
        r = client.initialize()
        if not t.ok(r.status == 200 and client.sid, "initialize through lighttpd", r.describe()):
            return t.done()
        tools = list_tools(client)
        for doc, name, want, floor in DOCS:
            mine = [x for x in tools if x["name"].startswith(name + "_")]
            t.ok(len(mine) == want, "%s: tools/list shows %d tools of backend %s"
                 % (doc, len(mine), name))
            prism = Prism(t, prism_bin, os.path.join(DOC_DIR, doc), ports[name],
                          os.path.join(work, "prism-%s.log" % name))
            try:
                ready = t.ok(prism.wait_ready(), "%s: Prism listens on 127.0.0.1:%d"
                             % (doc, ports[name]))
                if not ready:
                    continue
                t0 = time.monotonic()
                ok, failed, leaks = call_all(client, mine)
                t.check("%s: no response holds a backend secret" % doc,
                        ["%s leaks" % n for n in leaks[:10]])
                results[doc] = (len(mine), len(ok))
                t.diag("%s: %d of %d tools called successfully against Prism (%.1fs)"
                       % (doc, len(ok), len(mine), time.monotonic() - t0))
                for n in sorted(failed)[:40]:
                    t.diag("  failed %s: %s" % (n, failed[n]))
                t.ok(len(ok) >= floor, "%s: at least %d of %d tools succeed against Prism (%d)"
                     % (doc, floor, len(mine), len(ok)))
                if name == "digitalocean":
                    connector_checks(t, url, os.path.join(bdir, name + ".json"))
            finally:
                prism.stop()
        st.stop(remove=False)
        leaked = []
        for key, path in st.log_paths().items():
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            for v in SECRETS.values():
                if v in text:
                    leaked.append("%s holds a backend secret" % key)
        t.check("no backend secret in the web server logs", leaked)
    for doc, (n, ok) in results.items():
        t.diag("summary %s: %d tools, %d called successfully" % (doc, n, ok))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
