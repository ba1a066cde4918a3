#!/usr/bin/env python3
"""test_policy.py - per-user and per-group tool policy, through the web servers.

- `mcpgate policy grant|deny` decides which tools a user sees in tools/list and may call;
  deny beats grant; groups; everyone;
- a call outside policy is refused with a clear error and audited;
- a change reaches live sessions at once: notifications/tools/list_changed on their GET stream;
- with authentication on, a session belongs to its user: another user's requests with its
  id get 404, as if it did not exist.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_policy.py   (TAP)
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import Mcp, Stack, Tap, admin, expect_error  # noqa: E402
from test_streams import SSE  # noqa: E402


def user_with_key(t, st, name):
    admin(st, "user", "add", name, stdin="password of " + name + "\n")
    r = admin(st, "key", "create", name, "--name", "policy test")
    key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
    t.ok(bool(key), "user %s with an API key" % name, r.stderr)
    return key


def client(url, key, name):
    c = Mcp(url, name=name, bearer=key)
    c.initialize()
    return c


def tools(c):
    """Every tool c lists (paging through tools/list), or None on a failure."""
    out, cursor = [], None
    for _ in range(50):
        r = c.call("tools/list", {"cursor": cursor} if cursor else {})
        res = (r.json or {}).get("result") if isinstance(r.json, dict) else None
        if not res:
            return None
        out += res.get("tools", [])
        cursor = res.get("nextCursor")
        if not cursor:
            return out
    return None


def names(c):
    listed = tools(c)
    return None if listed is None else sorted(tool["name"] for tool in listed)


def main():
    t = Tap()
    with Stack(t, servers="lighttpd fcgid", responder=mcptest.test_responder(),
               auth="oauth") as st:
        (fe_a, url_a), (fe_b, url_b) = st.front_ends()
        ka, kb = user_with_key(t, st, "alice"), user_with_key(t, st, "bob")
        alice, bob = client(url_a, ka, "alice"), client(url_b, kb, "bob")
        everything = names(alice)
        every_tool = {tool["name"]: tool for tool in tools(bob) or []}
        t.ok(everything and "echo" in everything and "test_whoami" in everything,
             "with no rules (policy_default allow) alice sees every tool (%d)"
             % len(everything or []))

        # alice holds a GET stream while the policy changes
        got = {}

        def listen():
            g = SSE("GET", url_a + "/mcp", None, alice.headers({"Accept": "text/event-stream",
                                                                "Content-Type": None}),
                    timeout=15)
            got["events"] = g.messages(lambda e: "list_changed" in (e.get("data") or ""))
            g.close()

        th = threading.Thread(target=listen)
        th.start()
        time.sleep(0.5)
        r = admin(st, "policy", "deny", "--user", "alice", "test_*")
        t.ok(r.returncode == 0 and "rule" in r.stdout and "1 live session" in r.stdout,
             "policy deny --user alice test_*: one live session told", r.stdout, r.stderr)
        th.join(15)
        evs = got.get("events") or []
        t.ok(any(json.loads(e["data"]).get("method") == "notifications/tools/list_changed"
                 for e in evs if e.get("data")),
             "alice's GET stream receives notifications/tools/list_changed", repr(evs))

        seen = names(alice)
        t.ok(seen is not None and "echo" in seen and not any(n.startswith("test_") for n in seen),
             "alice no longer sees test_* tools", repr(seen))
        t.ok(names(bob) == everything, "bob still sees every tool")
        # the page is made of each tool's descriptor text made once: each one alice
        # still sees must be the very descriptor of that tool, in registry order
        hers = tools(alice) or []
        kept = [d for n, d in every_tool.items() if not n.startswith("test_")]
        t.ok(hers == kept and len(kept) < len(every_tool),
             "alice's tools/list holds the same descriptors as before, in the same order, "
             "less the denied ones", repr([d.get("name") for d in hers]))
        r = alice.tool("test_whoami", {})
        j = r.json if isinstance(r.json, dict) else {}
        err = j.get("error") or {}
        t.ok(err.get("code") == -32602 and "not permitted" in err.get("message", ""),
             "alice calling test_whoami: refused with a clear error", r.describe())
        ok, last = st.psql("SELECT tool || '|' || outcome || '|' || detail FROM audit_log"
                           " ORDER BY id DESC LIMIT 1")
        t.ok(ok and last == "test_whoami|refused|not permitted by policy",
             "the refused call is audited", last)

        # deny everyone everything, grant a group one tool
        r1 = admin(st, "policy", "deny", "--everyone", "*")
        r2 = admin(st, "policy", "group", "add", "ops", "bob")
        r3 = admin(st, "policy", "grant", "--group", "ops", "echo")
        t.ok(all(r.returncode == 0 for r in (r1, r2, r3)), "deny everyone *, grant group ops echo",
             r1.stderr, r2.stderr, r3.stderr)
        t.ok(names(bob) == [], "a deny beats a grant: bob (in ops) sees nothing either",
             repr(names(bob)))
        r = admin(st, "policy", "show", "--json")
        rules = json.loads(r.stdout) if r.returncode == 0 else []
        everyone = [x["id"] for x in rules if x["subject"] == "everyone"]
        r = admin(st, "policy", "revoke", str(everyone[0]) if everyone else "0")
        t.ok(r.returncode == 0, "policy revoke of the everyone rule", r.stdout, r.stderr)
        t.ok(names(bob) == everything, "bob sees every tool again")
        r = admin(st, "policy", "show", "--user", "bob")
        t.ok(r.returncode == 0 and "group:ops" in r.stdout and "echo" in r.stdout,
             "policy show --user bob lists the rules that apply to him", r.stdout)

        # bad input to the command
        for args, want in [(("policy", "grant", "echo"), 2),
                           (("policy", "grant", "--user", "nobody", "echo"), 1),
                           (("policy", "deny", "--everyone", "rm -rf"), 2),
                           (("policy", "revoke", "x"), 2),
                           (("policy", "show", "--user", "nobody"), 1)]:
            r = admin(st, *args)
            t.ok(r.returncode == want and r.stderr.strip(),
                 "mcpgate %s -> exit %d with advice" % (" ".join(args), want), r.stderr)

        # a policy that cannot be read is an outage (503, retry), not "not permitted" and not
        # an empty tools/list: a client must not take a store fault for a decision
        kc = user_with_key(t, st, "carol")
        carol = client(url_b, kc, "carol")
        ok, _ = st.psql("ALTER TABLE tool_policies RENAME TO tool_policies_away")
        t.ok(ok, "tool_policies renamed away: the policy query fails")
        try:
            for what, call in (("tools/call echo", lambda: carol.tool("echo", {"message": "x"})),
                               ("tools/list", lambda: carol.call("tools/list")),
                               ("stateless 2026-07-28 tools/call echo",
                                lambda: mcptest.stateless_tool(url_b, kc, "echo", {"message": "x"}))):
                r = call()
                j = r.json if isinstance(r.json, dict) else {}
                err = j.get("error") or {}
                t.ok(r.status == 503 and r.header("Retry-After") and err.get("code") == -32603
                     and "unavailable" in err.get("message", ""),
                     "%s while the policy cannot be read: 503 + Retry-After, -32603" % what,
                     r.describe())
        finally:
            ok, _ = st.psql("ALTER TABLE tool_policies_away RENAME TO tool_policies")
        t.ok(ok, "tool_policies back")
        ok, refused = st.psql("SELECT count(*) FROM audit_log WHERE outcome = 'refused'"
                              " AND detail = 'not permitted by policy' AND tool = 'echo'")
        t.ok(ok and refused == "0", "no call was audited as refused by policy", refused)
        r = carol.tool("echo", {"message": "back"})
        t.ok(mcptest.tool_text(r) == "back", "then carol's call succeeds", r.describe())
        t.ok(names(carol) == everything, "and carol sees every tool", repr(names(carol)))

        # sessions belong to their user
        stolen = Mcp(url_a, name="thief", bearer=kb)
        stolen.sid = alice.sid
        r = stolen.call("ping")
        t.check("bob using alice's session id -> 404 as if it did not exist",
                expect_error(r, 404, -32001), r)
        r = alice.call("ping")
        t.ok(r.status == 200, "alice's session still works", r.describe())
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
