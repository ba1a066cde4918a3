#!/usr/bin/env python3
"""test_credentials.py - backend credentials kept in PostgreSQL (docs/backends.md,
"Credentials"), through lighttpd with auth = oauth, against an upstream on 127.0.0.1 (a
Python http.server in this script that records the headers it receives):

  - a per_user slot: user A links a token on the account page (CSRF, 303, password field,
    never shown again); A's calls carry it, B's calls do not reach the upstream and answer
    isError telling B to link one at base_url/account; unlinking works;
  - a backend's own value set with `mcpgate backend credential NAME SLOT` (stdin) is
    injected; --delete removes it;
  - no value appears in responses, tool listings, audit rows, the database (only sealed
    "v1:<key id>:..." text: pg_dump holds no secret) or the web server logs;
  - `mcpgate backend credential rotate` with a new key first re-seals every value, and calls
    keep working; a tampered ciphertext gives a clean isError and the responder keeps serving.

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_credentials.py   (TAP)
"""

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import Stack, Tap, admin, check_logs, result_of, write_backend_files  # noqa: E402
from oauthlib import OAuth, Browser, hidden_fields, mcp_with  # noqa: E402

SECRET_A = "alice-token-" + os.urandom(12).hex()
SECRET_A2 = "alice-token2-" + os.urandom(12).hex()
SHARED = "shared-key-" + os.urandom(12).hex()
KEY1 = "k1:" + os.urandom(32).hex()
KEY2 = "k2:" + os.urandom(32).hex()
ALICE, ALICE_PW = "alice", "alice password here"
BOB, BOB_PW = "bob", "bob password here"


class Upstream(http.server.BaseHTTPRequestHandler):
    seen = []  # (path, headers dict)
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def do_GET(self):
        with Upstream.lock:
            Upstream.seen.append((self.path, dict(self.headers)))
        body = json.dumps({"ok": True, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def write_backend(d, port):
    doc = {
        "mcpgate_backend": 1, "name": "svc", "base_url": "http://127.0.0.1:%d" % port,
        "allow_private": True, "timeout_ms": 3000,
        "credentials": {
            "token": {"type": "bearer", "per_user": True,
                      "description": "Your svc API token <b>(personal)</b>"},
            "shared": {"type": "header", "name": "X-Shared-Key"},
        },
        "auth": ["token"],
        "tools": [
            {"name": "whoami", "method": "GET", "path": "/whoami"},
            {"name": "shared", "method": "GET", "path": "/shared", "auth": ["shared"]},
        ],
    }
    write_backend_files(d, {"svc": doc})


def text_of(res):
    try:
        return res["content"][0]["text"]
    except (KeyError, IndexError, TypeError):
        return ""


def api_key(t, st, user):
    r = admin(st, "key", "create", user, "--name", "cred test")
    key = ""
    for word in r.stdout.replace("\n", " ").split():
        if word.startswith("mgk_"):
            key = word.rstrip(".,;)")
    t.ok(r.returncode == 0 and key, "mcpgate key create %s" % user, r.stdout, r.stderr)
    return key


def client(t, base, key, who):
    m = mcp_with(base, key)
    r = m.initialize()
    t.ok(r.status == 200, "%s: initialize with an API key" % who, r.describe())
    return m


def no_secret(t, what, text):
    found = [n for n, s in (("SECRET_A", SECRET_A), ("SECRET_A2", SECRET_A2),
                            ("SHARED", SHARED), ("KEY1", KEY1[3:]), ("KEY2", KEY2[3:]))
             if s in text]
    t.check("%s holds no secret" % what, found)


def account_page(t, b, o, who):
    page = b.get(o.url("/account"))
    body = page.body.decode("utf-8", "replace")
    t.ok(page.status == 200 and 'id="creds"' in body, "%s: account page has Linked credentials"
         % who, page.describe())
    return page, body


def row_of(body, ident):
    part = body.split('data-id="%s"' % ident, 1)
    return part[1].split("</tr>", 1)[0] if len(part) == 2 else ""


def operator_value_not_used(t, st, d, alice, bob):
    """A per_user slot takes the calling user's own value only: a backend-wide value for it
    (refused by the admin command now, stored by an older version or through a backend file
    where the slot was not per_user) is never sent in its place."""
    r = admin(st, "backend", "credential", "svc", "token", stdin=SHARED + "\n")
    t.ok(r.returncode == 1 and "per_user" in r.stderr and SHARED not in r.stdout + r.stderr,
         "mcpgate backend credential refuses a per_user slot", r.stdout, r.stderr)
    ok, n = st.psql("SELECT count(*) FROM backend_credentials WHERE slot = 'token' AND "
                    "user_id IS NULL")
    t.ok(ok and n == "0", "...and stores nothing", n)
    # the same backend where token is not per_user stores a backend-wide value for it
    alt = os.path.join(d, "alt")
    os.makedirs(alt, exist_ok=True)
    with open(os.path.join(d, "svc.json")) as f:
        doc = json.load(f)
    doc["credentials"]["token"].pop("per_user")
    with open(os.path.join(alt, "svc.json"), "w") as f:
        json.dump(doc, f)
    conf = os.path.join(d, "alt.conf")
    with open(st.env["CONFIG_LIGHTTPD"]) as f:
        lines = [x for x in f.read().splitlines() if not x.startswith("backends_dir")]
    with open(conf, "w") as f:
        f.write("\n".join(lines + ["backends_dir = %s" % alt]) + "\n")
    r = admin(st, "backend", "credential", "svc", "token", stdin=SHARED + "\n", conf=conf)
    ok, n = st.psql("SELECT count(*) FROM backend_credentials WHERE slot = 'token' AND "
                    "user_id IS NULL")
    t.ok(r.returncode == 0 and ok and n == "1",
         "a backend-wide value for svc/token is stored (the slot not per_user there)",
         r.stdout, r.stderr, n)
    Upstream.seen.clear()
    r = bob.tool("svc_whoami", {})
    res = result_of(r)
    t.ok(res.get("isError") is True and "link" in text_of(res) and not Upstream.seen,
         "B, nothing linked, with a backend-wide value present: still the link message, the "
         "operator's value is not sent", r.describe(), repr(Upstream.seen))
    no_secret(t, "B's answer", r.body.decode("utf-8", "replace"))
    Upstream.seen.clear()
    r = alice.tool("svc_whoami", {})
    seen = Upstream.seen[-1][1] if Upstream.seen else {}
    t.ok(seen.get("Authorization") == "Bearer " + SECRET_A,
         "A's call still carries A's own token", r.describe())
    r = admin(st, "backend", "credential", "svc", "token", "--delete")
    ok, n = st.psql("SELECT count(*) FROM backend_credentials WHERE slot = 'token' AND "
                    "user_id IS NULL")
    t.ok(r.returncode == 0 and ok and n == "0",
         "backend credential --delete still removes such a value of a per_user slot",
         r.stdout, r.stderr)
    # a backend file may not give a per_user slot a value of its own
    doc["credentials"]["token"].update({"per_user": True, "file": os.path.join(d, "svc.json")})
    with open(os.path.join(alt, "svc.json"), "w") as f:
        json.dump(doc, f)
    r = admin(st, "backend", "list", conf=conf)
    t.ok("credentials.token: a per_user slot" in r.stderr and "svc_whoami" not in r.stdout,
         "a backend file that gives a per_user slot a file is refused", r.stdout, r.stderr)


def main():
    t = Tap()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    d = tempfile.mkdtemp(prefix="mcpgate-creds-")
    os.chmod(d, 0o755)  # the stack's responders run as www-data
    try:
        write_backend(d, server.server_address[1])
        extra = "\n".join(["backends_dir = %s" % d, "credential_key = %s" % KEY1,
                           "credential_key = %s" % KEY2])
        with Stack(t, servers="lighttpd", config_extra=extra, auth="oauth") as st:
            base = dict(st.front_ends()).get("lighttpd")
            if not base:
                return t.done()
            run(t, st, base, d)
            st.stop(remove=False)
            check_logs(t, st)
            leaks = []
            for key, path in st.log_paths().items():
                try:
                    with open(path, errors="replace") as f:
                        text = f.read()
                except OSError:
                    continue
                for n, s in (("SECRET_A", SECRET_A), ("SECRET_A2", SECRET_A2),
                             ("SHARED", SHARED), ("KEY1", KEY1[3:]), ("KEY2", KEY2[3:])):
                    if s in text:
                        leaks.append("%s holds %s" % (key, n))
            t.check("no secret or key in any web server log", leaks)
    finally:
        server.shutdown()
        shutil.rmtree(d, ignore_errors=True)
    return t.done()


def run(t, st, base, d):
    for user, pw in ((ALICE, ALICE_PW), (BOB, BOB_PW)):
        r = admin(st, "user", "add", user, stdin=pw + "\n")
        t.ok(r.returncode == 0, "user add %s" % user, r.stderr)
    alice = client(t, base, api_key(t, st, ALICE), ALICE)
    bob = client(t, base, api_key(t, st, BOB), BOB)

    r = alice.call("tools/list", {})
    names = [x.get("name") for x in result_of(r).get("tools") or []]
    t.ok("svc_whoami" in names and "svc_shared" in names, "tools/list has the svc tools",
         r.describe())

    # B, nothing linked: a clean error naming the account page, nothing sent
    Upstream.seen.clear()
    r = bob.tool("svc_whoami", {})
    res = result_of(r)
    t.ok(res.get("isError") is True and base + "/account" in text_of(res) and
         "link" in text_of(res) and not Upstream.seen,
         "B without a linked token: isError telling to link it at base_url/account, "
         "nothing sent", r.describe())

    # A links a token on the account page
    o = OAuth(base)
    b = Browser()
    r = o.login(b, ALICE, ALICE_PW)
    t.ok(r.status == 303, "alice signs in", r.describe())
    page, body = account_page(t, b, o, ALICE)
    row = row_of(body, "svc/token")
    t.ok("not linked" in row and 'type="password"' in row and 'name="csrf"' in row,
         "svc/token: not linked, a password field and a CSRF token", row[:600])
    t.ok("&lt;b&gt;(personal)&lt;/b&gt;" in body and "<b>(personal)" not in body,
         "the slot's description is escaped")
    t.ok("svc/shared" not in body, "slots that are not per_user are not listed")
    fields = hidden_fields(row.encode())
    r = b.post(o.url("/account/credentials"), {"backend": "svc", "slot": "token",
                                                "value": SECRET_A})
    t.ok(r.status == 403, "linking without the CSRF token: 403", r.describe())
    r = b.post(o.url("/account/credentials"), dict(fields, value=SECRET_A))
    t.ok(r.status == 303 and (r.header("Location") or "").endswith("/account"),
         "linking: 303 back to the account page", r.describe())
    no_secret(t, "the 303 answer", r.body.decode("utf-8", "replace") +
              (r.header("Location") or "") + " ".join(r.header_all("Set-Cookie")))
    page, body = account_page(t, b, o, ALICE)
    t.ok("linked " in row_of(body, "svc/token") and "not linked" not in row_of(body, "svc/token"),
         "svc/token now shows linked (and when)", row_of(body, "svc/token")[:400])
    no_secret(t, "the account page", body)
    r = b.post(o.url("/account/credentials"), dict(fields, slot="shared", value="x"))
    t.ok(r.status == 400, "a slot that is not per_user cannot be linked: 400", r.describe())
    r = b.post(o.url("/account/credentials"), dict(fields, value="two\nlines"))
    t.ok(r.status == 400, "a value of two lines is refused: 400", r.describe())

    # A's call carries A's token; B's still does not
    Upstream.seen.clear()
    r = alice.tool("svc_whoami", {})
    res = result_of(r)
    seen = Upstream.seen[-1][1] if Upstream.seen else {}
    t.ok(res.get("isError") is False and seen.get("Authorization") == "Bearer " + SECRET_A,
         "A's call carries A's linked token", r.describe(), repr(list(seen)))
    t.ok("mgk_" not in json.dumps(seen), "the client's own API key is not forwarded upstream")
    no_secret(t, "A's tool result", r.body.decode("utf-8", "replace"))
    Upstream.seen.clear()
    r = bob.tool("svc_whoami", {})
    t.ok(result_of(r).get("isError") is True and not Upstream.seen,
         "B's call still gets the link message, nothing sent", r.describe())
    r = alice.call("tools/list", {})
    no_secret(t, "tools/list", r.body.decode("utf-8", "replace"))
    operator_value_not_used(t, st, d, alice, bob)

    # the backend's own value, from the admin command (stdin)
    r = alice.tool("svc_shared", {})
    t.ok(result_of(r).get("isError") is True and "mcpgate backend credential" in
         text_of(result_of(r)), "a slot without any value: isError saying how to set it",
         r.describe())
    r = admin(st, "backend", "credential", "svc", "shared", stdin=SHARED + "\n")
    t.ok(r.returncode == 0 and SHARED not in r.stdout + r.stderr,
         "mcpgate backend credential svc shared (stdin)", r.stdout, r.stderr)
    r = admin(st, "backend", "credential", "svc", "nope", stdin=SHARED)
    t.ok(r.returncode == 1 and "nope" in r.stderr, "an unknown slot is refused", r.stderr)
    Upstream.seen.clear()
    r = bob.tool("svc_shared", {})
    seen = Upstream.seen[-1][1] if Upstream.seen else {}
    t.ok(result_of(r).get("isError") is False and seen.get("X-Shared-Key") == SHARED,
         "the stored backend value is injected", r.describe())
    no_secret(t, "the shared tool's result", r.body.decode("utf-8", "replace"))

    # the database holds only sealed values
    ok, out = st.psql("SELECT backend || '/' || slot || '/' || coalesce(user_id, 0) || ' ' || "
                      "key_id || ' ' || sealed FROM backend_credentials ORDER BY 1")
    lines = out.splitlines() if ok else []
    t.ok(len(lines) == 2 and all(" k1 v1:k1:" in x for x in lines),
         "two rows, sealed under k1 (the first key)", out)
    dump = subprocess.run(["pg_dump", "--data-only"], env=st._pg_env(), capture_output=True,
                          text=True, timeout=60)
    t.ok(dump.returncode == 0 and "v1:k1:" in dump.stdout, "pg_dump of the whole database",
         dump.stderr[-500:])
    no_secret(t, "the database (pg_dump --data-only: every table, audit rows included)",
              dump.stdout)
    ok, audit = st.psql("SELECT count(*) FROM audit_log")
    t.ok(ok and int(audit or 0) >= 4, "audit rows were written (%s)" % audit, audit)

    # rotation: k2 first for the admin command, re-seal, calls keep working
    conf = os.path.join(d, "rotate.conf")
    with open(st.env["CONFIG_LIGHTTPD"]) as f:
        lines_conf = [x for x in f.read().splitlines() if not x.startswith("credential_key")]
    with open(conf, "w") as f:
        f.write("\n".join(lines_conf + ["credential_key = %s" % KEY2,
                                        "credential_key = %s" % KEY1]) + "\n")
    r = admin(st, "backend", "credential", "rotate", conf=conf)
    t.ok(r.returncode == 0 and "2 re-sealed under key k2" in r.stdout, "rotate: 2 values re-sealed",
         r.stdout, r.stderr)
    no_secret(t, "rotate's output", r.stdout + r.stderr)
    ok, out = st.psql("SELECT count(*) FILTER (WHERE key_id = 'k2' AND sealed LIKE 'v1:k2:%'), "
                      "count(*) FROM backend_credentials")
    t.ok(ok and out == "2|2", "every row is now sealed under k2", out)
    r = admin(st, "backend", "credential", "rotate", conf=conf)
    t.ok(r.returncode == 0 and "2 already under it" in r.stdout, "rotate again: nothing to do",
         r.stdout)
    Upstream.seen.clear()
    r1 = alice.tool("svc_whoami", {})
    r2 = bob.tool("svc_shared", {})
    got = [s[1].get("Authorization") or s[1].get("X-Shared-Key") for s in Upstream.seen]
    t.ok(result_of(r1).get("isError") is False and result_of(r2).get("isError") is False and
         got == ["Bearer " + SECRET_A, SHARED], "calls keep working after the rotation",
         r1.describe(), r2.describe())

    # a tampered ciphertext: a clean error
    ok, sealed = st.psql("SELECT sealed FROM backend_credentials WHERE user_id IS NOT NULL")
    bad = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    ok, _ = st.psql("UPDATE backend_credentials SET sealed = '%s' WHERE user_id IS NOT NULL"
                    % bad)
    Upstream.seen.clear()
    r = alice.tool("svc_whoami", {})
    res = result_of(r)
    t.ok(ok and res.get("isError") is True and "could not be used" in text_of(res) and
         "/account" in text_of(res) and not Upstream.seen,
         "a tampered ciphertext: isError asking to link again, nothing sent", r.describe())
    # moving A's sealed value to B's row does not work either
    ok, uid = st.psql("SELECT id FROM users WHERE username = 'bob'")
    good = admin(st, "backend", "credential", "svc", "shared", "--delete")
    t.ok(good.returncode == 0, "backend credential --delete", good.stdout, good.stderr)
    r = bob.tool("svc_shared", {})
    t.ok(result_of(r).get("isError") is True, "after --delete the shared slot has no value",
         r.describe())

    # A links again (replace), then unlinks
    page, body = account_page(t, b, o, ALICE)
    fields = hidden_fields(row_of(body, "svc/token").encode())
    r = b.post(o.url("/account/credentials"), dict(fields, value=SECRET_A2))
    Upstream.seen.clear()
    r2 = alice.tool("svc_whoami", {})
    seen = Upstream.seen[-1][1] if Upstream.seen else {}
    t.ok(r.status == 303 and seen.get("Authorization") == "Bearer " + SECRET_A2,
         "replacing the linked token: the new one is used", r.describe(), r2.describe())
    ok, _ = st.psql("INSERT INTO backend_credentials (backend, slot, user_id, sealed, key_id) "
                    "SELECT backend, slot, %s, sealed, key_id FROM backend_credentials "
                    "WHERE user_id IS NOT NULL" % uid)
    Upstream.seen.clear()
    r = bob.tool("svc_whoami", {})
    t.ok(ok and result_of(r).get("isError") is True and not Upstream.seen,
         "A's sealed value copied to B's row does not open (bound to its owner)", r.describe())
    page, body = account_page(t, b, o, ALICE)
    unlink = row_of(body, "svc/token").split("/account/credentials/unlink", 1)
    fields = hidden_fields(unlink[1].encode()) if len(unlink) == 2 else {}
    r = b.post(o.url("/account/credentials/unlink"), fields)
    Upstream.seen.clear()
    r2 = alice.tool("svc_whoami", {})
    t.ok(r.status == 303 and result_of(r2).get("isError") is True and not Upstream.seen,
         "unlinking: 303, and A's calls need a token again", r.describe(), r2.describe())
    r = alice.call("ping")
    t.ok(r.status == 200, "the responder still serves", r.describe())


if __name__ == "__main__":
    sys.exit(main())
