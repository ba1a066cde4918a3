#!/usr/bin/env python3
"""import.py - `mcpgate backend import-openapi` makes a backend file that needs no hand editing,
checked on the DigitalOcean document (and a small generated one for the edge cases), with the
calls made against Stoplight Prism and the credentials stored in PostgreSQL:

  - a selection that matches nothing (--tag project; the tag is Projects) is an error listing
    the document's tags;
  - every tool name after the backend prefix matches ^[a-zA-Z0-9_-]{1,64}$, in snake_case
    (IPs -> ips); a longer name is shortened with a short stable hash, the same on every import;
    duplicates are numbered; every rename is in the import report;
  - access follows the method, raised to destructive when the operationId or summary says
    cancel, reset, restore, ...; POSTs that only seem to read are listed in the report, not
    downgraded; --access NAME=CLASS overrides one operation (an unknown NAME is an error);
  - credential slots only for the security schemes the selected operations use, each with a
    display name (the scheme's, or --credential-name's);
  - a required JSON body whose fields are all optional is sent as {} (Prism refuses a request
    without it);
  - `mcpgate backend test` uses the credential stored with `mcpgate backend credential` (Prism
    refuses a request without it) and takes the tool name with or without the prefix.

Run: top_srcdir=. top_builddir=build python3 tests/openapi/import.py   (TAP on stdout)
"""

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("MCPGATE_TEST_TIMEOUT", "600")
import npmci  # noqa: E402
import run as oa  # noqa: E402  (Prism, free_port, ADMIN, DOC_DIR)
from mcptest import Stack, Tap  # noqa: E402

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
KEY = "k1:" + os.urandom(32).hex()
TOKEN = "do-import-token-" + os.urandom(8).hex()
LONG_ID = "retrieveTheCompleteListOfEveryAvailableWidgetConfigurationForTheSelectedRegionAndZone"
SMALL = {
    "openapi": "3.0.3", "info": {"title": "Widgets", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:1"}],
    "components": {"securitySchemes": {
        "key": {"type": "apiKey", "in": "header", "name": "X-Key",
                "description": "Widgets API key\nfrom the console"},
        "unused": {"type": "http", "scheme": "bearer"}}},
    "security": [{"key": []}],
    "paths": {
        "/widgets": {"get": {"operationId": LONG_ID, "summary": "List widgets"},
                     "post": {"operationId": "widgets.create", "summary": "Create a widget"}},
        "/widgets/{id}": {"get": {"operationId": "getWidget",
                                  "parameters": [{"name": "id", "in": "path", "required": True,
                                                  "schema": {"type": "string"}}]},
                          "put": {"operationId": "getWidget", "summary": "Replace a widget",
                                  "parameters": [{"name": "id", "in": "path", "required": True,
                                                  "schema": {"type": "string"}}]}},
    },
}


def main():
    t = Tap()
    if not os.path.isdir(oa.DOC_DIR):
        t.skip("OpenAPI documents", "%s not found" % oa.DOC_DIR)
        return t.done()
    npm_dir = npmci.ensure(t, "openapi")
    if not npm_dir:
        return t.done()
    prism_bin = os.path.join(npm_dir, "node_modules", ".bin", "prism")
    work = tempfile.mkdtemp(prefix="mcpgate-import-")
    if os.environ.get("MCPGATE_KEEP_STACK_DIR") != "1":
        atexit.register(shutil.rmtree, work, True)
    os.chmod(work, 0o755)
    bdir = os.path.join(work, "backends.d")
    os.mkdir(bdir)
    os.chmod(bdir, 0o755)
    do_doc = os.path.join(oa.DOC_DIR, "digitalocean-v2.json")
    port = oa.free_port()
    extra = "backends_dir = %s\ncredential_key = %s" % (bdir, KEY)
    with Stack(t, servers="lighttpd", config_extra=extra) as st:
        conf = st.env["CONFIG_LIGHTTPD"]

        def admin(*args, stdin=None):
            return subprocess.run([oa.ADMIN, "--config", conf] + list(args), capture_output=True,
                                  text=True, timeout=120,
                                  input=stdin if stdin is not None else "")

        def load(path):
            with open(path) as f:
                return json.load(f)

        # a selection that matches nothing
        r = admin("backend", "import-openapi", do_doc, "--name", "digitalocean",
                  "--tag", "project", "--output", os.path.join(work, "none.json"))
        t.ok(r.returncode == 1 and "no operation matches" in r.stderr and
             '"Projects"' in r.stderr and '"Droplets"' in r.stderr and
             not os.path.exists(os.path.join(work, "none.json")),
             "--tag project (the tag is Projects): an error listing the document's tags",
             r.stderr[-600:])

        # the whole document: names, access, report
        out = os.path.join(work, "do.json")
        r = admin("backend", "import-openapi", do_doc, "--name", "digitalocean",
                  "--output", out)
        doc = load(out) if r.returncode == 0 else {"tools": []}
        tools = {x["name"]: x for x in doc["tools"]}
        bad = [n for n in tools if not NAME_RE.match(n) or n != n.lower()]
        t.ok(r.returncode == 0 and len(tools) > 600 and not bad,
             "digitalocean: all %d names match ^[a-zA-Z0-9_-]{1,64}$ in snake_case" % len(tools),
             repr(bad[:5]), r.stderr[-300:])
        t.ok("reserved_ips_list" in tools and "reserved_ipv6_list" in tools and
             not any("_i_p" in n for n in tools),
             "acronyms keep together: reservedIPs -> reserved_ips, IPv6 -> ipv6")
        t.ok("monitoring_get_app_restart_count_metrics_yml" in tools and
             re.search(r"renamed: GET \S+ \(operationId monitoring_get_appRestartCountMetrics"
                       r"\.yml\) is digitalocean_monitoring_get_app_restart_count_metrics_yml",
                       r.stderr),
             "an operationId with a '.' is renamed, and the report says so")
        classes = {n: tools.get(n, {}).get("access") for n in (
            "apps_cancel_deployment", "databases_reset_auth", "droplets_list", "droplets_create",
            "droplets_destroy", "registries_validate_name")}
        t.ok(classes == {"apps_cancel_deployment": "destructive",
                         "databases_reset_auth": "destructive", "droplets_list": "read",
                         "droplets_create": "write", "droplets_destroy": "destructive",
                         "registries_validate_name": "write"},
             "access from the method, raised to destructive by cancel/reset", repr(classes))
        t.ok("destructive: digitalocean_apps_cancel_deployment" in r.stderr and
             "may only read: digitalocean_registries_validate_name" in r.stderr and
             "may only read: digitalocean_uptime_create_check" not in r.stderr,
             "the report lists raised classes and POSTs that may only read")
        r = admin("backend", "import-openapi", do_doc, "--name", "digitalocean", "--output", out,
                  "--force", "--access", "registries_validate_name=read",
                  "--access", "apps_get=destructive")
        tools = {x["name"]: x for x in load(out)["tools"]} if r.returncode == 0 else {}
        t.ok(tools.get("registries_validate_name", {}).get("access") == "read" and
             tools.get("apps_get", {}).get("access") == "destructive",
             "--access NAME=CLASS overrides one operation's class", r.stderr[-300:])
        r = admin("backend", "import-openapi", do_doc, "--name", "digitalocean", "--output", out,
                  "--force", "--access", "no_such_operation=read")
        t.ok(r.returncode == 1 and "no_such_operation" in r.stderr,
             "--access naming no operation is an error", r.stderr[-300:])

        # credential slots only for the schemes used, with display names
        r = admin("backend", "import-openapi", do_doc, "--name", "digitalocean",
                  "--tag", "Droplets", "--output", out, "--force")
        creds = load(out).get("credentials", {}) if r.returncode == 0 else {}
        t.ok(list(creds) == ["bearer_auth"] and creds["bearer_auth"].get("description") and
             "credential slot inference_bearer_auth left out" in r.stderr,
             "--tag Droplets: one credential slot (bearer_auth), with a display name",
             repr(creds), r.stderr[-400:])

        r = admin("backend", "import-openapi", do_doc, "--name", "digitalocean",
                  "--tag", "Droplets", "--output", out, "--force",
                  "--credential-name", "bearer_auth=DigitalOcean personal access token")
        creds = load(out).get("credentials", {}) if r.returncode == 0 else {}
        t.ok(creds.get("bearer_auth", {}).get("description") ==
             "DigitalOcean personal access token",
             "--credential-name sets a slot's display name", repr(creds), r.stderr[-300:])
        r = admin("backend", "import-openapi", do_doc, "--name", "digitalocean",
                  "--output", out, "--force", "--credential-name", "nope=Nope")
        t.ok(r.returncode == 1 and "--credential-name nope" in r.stderr,
             "--credential-name of a scheme the document lacks is an error", r.stderr[-300:])

        # the small document: long, dotted and duplicate names; slot names
        small = os.path.join(work, "small.json")
        with open(small, "w") as f:
            json.dump(SMALL, f)
        outs = []
        for i in range(2):
            o = os.path.join(work, "small-%d.json" % i)
            r = admin("backend", "import-openapi", small, "--name", "w", "--output", o)
            outs.append(load(o) if r.returncode == 0 else {})
        names = [x["name"] for x in outs[0].get("tools", [])]
        long_name = names[0] if names else ""
        t.ok(len(long_name) == 64 and re.match(r"^retrieve_the_complete_list_of_every_available_"
                                               r"[a-z_]*_[0-9a-f]{6}$", long_name) and
             "too long: shortened" in r.stderr,
             "a name over 64 characters is cut and ends in a 6-digit hash; reported",
             long_name)
        t.ok(outs[0] == outs[1], "the same document gives the same names on every import")
        t.ok(names[1:] == ["widgets_create", "get_widget", "get_widget_2"] and
             "another operation has the same name" in r.stderr,
             "dots replaced, duplicates numbered, both reported", repr(names))
        creds = outs[0].get("credentials", {})
        t.ok(list(creds) == ["key"] and creds["key"].get("description") == "Widgets API key",
             "only the scheme in use becomes a slot, named by the scheme's description",
             repr(creds))

        # against Prism: {} for a required body, backend test with the stored credential
        r = admin("backend", "import-openapi", do_doc, "--name", "digitalocean", "--base-url",
                  "http://127.0.0.1:%d" % port, "--allow-private", "--tag", "Projects",
                  "--tag", "Project Resources", "--tag", "Droplets")
        path = os.path.join(bdir, "digitalocean.json")
        if r.returncode == 0:
            os.chmod(path, 0o644)
        tool = {x["name"]: x for x in load(path)["tools"]}.get(
            "projects_assign_resources_default", {}) if r.returncode == 0 else {}
        t.ok(tool.get("body_required") is True and not tool["input_schema"].get("required"),
             "a required body with only optional fields is marked body_required")
        prism = oa.Prism(t, prism_bin, do_doc, port, os.path.join(work, "prism.log"))
        try:
            if t.ok(prism.wait_ready(), "Prism serves the DigitalOcean document"):
                r = admin("backend", "test", "digitalocean", "droplets_list", "{}")
                t.ok(r.returncode == 1 and "has no value" in r.stdout,
                     "backend test without a stored credential: not set up",
                     r.stdout[-300:])
                r = admin("backend", "credential", "digitalocean", "bearer_auth",
                          stdin=TOKEN + "\n")
                t.ok(r.returncode == 0, "mcpgate backend credential stores the token",
                     r.stderr)
                r = admin("backend", "test", "digitalocean", "droplets_list", "{}")
                t.ok(r.returncode == 0 and '"isError":false' in r.stdout.replace(" ", "") and
                     TOKEN not in r.stdout + r.stderr,
                     "backend test uses the stored credential (tool name without the prefix)",
                     r.stdout[-400:], r.stderr[-300:])
                r = admin("backend", "test", "digitalocean", "digitalocean_droplets_list", "{}")
                t.ok(r.returncode == 0, "and with the prefix", r.stdout[-300:])
                r = admin("backend", "test", "digitalocean", "projects_assign_resources_default",
                          "{}")
                t.ok(r.returncode == 0 and '"isError":false' in r.stdout.replace(" ", ""),
                     "the required body goes out as {}: Prism accepts it", r.stdout[-400:])
        finally:
            prism.stop()

        # mcpgate doctor --tools: the tool surface of this configuration
        def doctor():
            r = admin("doctor", "--tools", "--json")
            try:
                checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
            except (ValueError, KeyError, TypeError):
                checks = {}
            return r, checks

        r, checks = doctor()
        st_of = {n: c["status"] for n, c in checks.items()}
        t.ok(r.returncode == 0 and "FAIL" not in st_of.values() and
             st_of.get("tool-access") == "PASS" and st_of.get("tool-deprecated") == "PASS" and
             st_of.get("tool-descriptions") == "PASS" and st_of.get("tool-count") == "PASS",
             "doctor --tools on the imported backend: no failure", repr(st_of), r.stderr[-300:])
        bad = {"mcpgate_backend": 1, "name": "bad", "base_url": "http://127.0.0.1:1",
               "tools": [{"name": "send.mail", "method": "POST", "path": "/mail",
                          "access": "read", "description": "Sends a mail"},
                         {"name": "old_list", "method": "GET", "path": "/old",
                          "deprecated": True}]}
        with open(os.path.join(bdir, "bad.json"), "w") as f:
            json.dump(bad, f)
        r, checks = doctor()
        st_of = {n: c["status"] for n, c in checks.items()}
        t.ok(r.returncode == 1 and st_of.get("tool-access") == "FAIL" and
             "bad_send.mail" in checks["tool-access"]["seen"] and
             st_of.get("tool-names") == "FAIL" and st_of.get("tool-descriptions") == "WARN" and
             "bad_old_list" in checks["tool-descriptions"]["seen"] and
             st_of.get("tool-deprecated") == "WARN" and checks["tool-access"]["fix"].get("any"),
             "doctor --tools: a POST marked read and a bad name FAIL, a tool without a "
             "description and a deprecated one WARN, each with its fix", repr(st_of))
        with open(conf) as f:
            lines = [x for x in f.read().splitlines() if not x.startswith("discovery_threshold")]
        conf0 = os.path.join(work, "no-discovery.conf")
        with open(conf0, "w") as f:
            f.write("\n".join(lines + ["discovery_threshold = 0"]) + "\n")
        admin("backend", "import-openapi", do_doc, "--name", "dofull", "--output",
              os.path.join(bdir, "dofull.json"))
        r = subprocess.run([oa.ADMIN, "--config", conf0, "doctor", "--tools", "--json"],
                           capture_output=True, text=True, timeout=60)
        try:
            count = {c["name"]: c for c in json.loads(r.stdout)["checks"]}["tool-count"]
        except (ValueError, KeyError, TypeError):
            count = {}
        t.ok(count.get("status") == "WARN" and "listed at once" in count.get("seen", ""),
             "doctor --tools: more than 40 tools listed at once (no discovery mode) WARN",
             repr(count))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
