#!/usr/bin/env python3
"""test_token_exchange_mcp.py - auth = resource with an upstream MCP backend whose credential
slot is an exchange slot (RFC 8693), through lighttpd, Apache mod_fcgid and Apache
mod_proxy_fcgi.

The upstream MCP server (tests/idp/resource_server.mjs, "upstream") accepts only JWTs of the
issuer whose aud is its own, checked against the issuer's JWKS, binds each session to the
token's sub and refuses a session used with another sub. Per front end: tools/list shows the
upstream's tool (fetched with mcpgate's own client_credentials token, never a caller's);
tools/call reaches it as the caller (sub, aud the upstream, act mcpgate) with an exchanged
token; repeat calls reuse the cached exchanged token; the callers' own tokens never reach it;
two callers get different exchanged tokens and different upstream sessions, and no session is
ever used with another caller's token; an exchange the issuer refuses is a tool error saying
so; an exchanged token the upstream revokes is answered 401, exchanged once more and the call
succeeds. Behind mod_proxy_fcgi (one process): while the upstream holds a new caller's
initialize, another caller is still served. mcpgate backend test lists the upstream's tools with mcpgate's own token. An mcp
backend with two exchange slots is refused. No token appears in the logs. TAP
output."""

import json
import os
import shutil
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
import npmci  # noqa: E402
from mcptest import Stack, Tap, admin, free_port  # noqa: E402
from oauthlib import mcp_with  # noqa: E402
from test_resource_server import SECRET, Provider  # noqa: E402
from test_token_exchange import (CLIENT_SECRET, EXCHANGE, call, client,  # noqa: E402
                                 conf_with_backends, get, is_error, logs_hold_no_tokens,
                                 rs_config, sha, work_dir)

REPEATS = 4
CALLERS = ("agent", "agent2")
SLOW_CALLER = "agent3"  # its upstream initialize is held (held_initialize)


def write_backends(d, url, denied):
    """up: exchanged for the upstream's audience; updenied: for one the issuer does not
    exchange for (its tools/list still works: mcpgate's own token for it is granted)."""
    for name, aud in (("up", url), ("updenied", denied)):
        doc = {"mcpgate_backend": 1, "name": name, "kind": "mcp", "url": url,
               "allow_private": True, "timeout_ms": 5000,
               "credentials": {"tok": {"type": "bearer", "exchange": {
                   "audience": aud, "resource": aud, "scope": "mcp.read"}}},
               "auth": ["tok"]}
        path = os.path.join(d, name + ".json")
        with open(path, "w") as f:
            json.dump(doc, f)
        os.chmod(path, 0o644)


def two_slots(tap, st, work):
    """An mcp backend whose auth names two exchange slots is refused."""
    d = os.path.join(work, "bad")
    os.mkdir(d)
    slot = {"type": "header", "name": "X-T", "prefix": "Bearer ", "exchange": {"audience": "a"}}
    doc = {"mcpgate_backend": 1, "name": "two", "kind": "mcp", "url": "http://127.0.0.1:9/mcp",
           "allow_private": True, "credentials": {"a": dict(slot, name="X-A"), "b": slot},
           "auth": ["a", "b"]}
    with open(os.path.join(d, "two.json"), "w") as f:
        json.dump(doc, f)
    r = admin(st, "backend", "list", conf=conf_with_backends(st, work, d))
    tap.ok(r.returncode != 0 and "an mcp backend uses at most one exchange slot" in r.stderr,
           "an mcp backend with two exchange slots is refused", r.stderr[-800:])


class Upstream:
    def __init__(self, issuer, upstream):
        self.issuer, self.upstream = issuer, upstream

    def exchanges(self):
        return get(self.issuer + "/__test/exchanges").get("exchanges", -1)

    def state(self):
        return get(self.upstream + "/__test/upstream")


def tool_names(base, tok):
    m = mcp_with(base, tok)
    if m.initialize().status != 200:
        return []
    r = m.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    try:
        return [t["name"] for t in r.json["result"]["tools"]]
    except (TypeError, KeyError):
        return []


def front_end(tap, fe, base, pv, up, audience, tokens):
    toks = {}
    for who in CALLERS:
        toks[who], r = pv.token(who, base + "/mcp", "mcp.read mcp.write")
        if not tap.ok(bool(toks[who]), "%s: %s has an access token for base_url/mcp" % (fe, who),
                      r.describe()):
            return
        tokens.append(toks[who])
    r = mcptest.request("POST", up.upstream + "/mcp", b'{"jsonrpc":"2.0","id":1,"method":"ping"}',
                        {"Authorization": "Bearer " + toks["agent"]})
    tap.ok(r.status == 401, "%s: the upstream itself refuses the caller's own token" % fe,
           r.describe())
    names = tool_names(base, toks["agent"])
    tap.ok("up_whoami" in names and "updenied_whoami" in names,
           "%s: tools/list shows the upstream's tools" % fe, names)
    before, seen0 = up.exchanges(), len(up.state()["seen"])
    sessions = {}
    r, j = call(base, toks["agent"], "up_whoami")
    tap.ok(j is not None and j.get("sub") == "agent" and j.get("aud") == audience and
           (j.get("act") or {}).get("sub") == "mcpgate" and not is_error(r),
           "%s: tools/call reaches the upstream as the caller with an exchanged token "
           "(aud the upstream, act mcpgate)" % fe, r.describe())
    sessions.setdefault("agent", set()).add((j or {}).get("session"))
    good = 0
    for i in range(REPEATS):
        for who in CALLERS:
            r, j = call(base, toks[who], "up_whoami")
            good += j is not None and j.get("sub") == who and not is_error(r)
            sessions.setdefault(who, set()).add((j or {}).get("session"))
    after = up.exchanges()
    calls = 1 + REPEATS * len(CALLERS)
    tap.ok(good == REPEATS * len(CALLERS) and after - before < calls,
           "%s: %d calls of two callers succeed, each as its caller, and reuse the cached "
           "exchanged tokens (%d exchanges)" % (fe, calls, after - before), r.describe())
    st = up.state()
    owner = dict(st["sessions"])
    seen = st["seen"][seen0:]
    hashes = {who: {s["hash"] for s in seen if s["sub"] == who} for who in CALLERS}
    tap.ok(all(owner.get(s) == who for who in CALLERS for s in sessions[who]) and
           not (sessions["agent"] & sessions["agent2"]) and
           not (hashes["agent"] & hashes["agent2"]) and st["mismatches"] == 0,
           "%s: the two callers have their own upstream sessions and exchanged tokens, and no "
           "session met another caller's token" % fe,
           "sessions %s, owners %s, mismatches %d" % (sessions, owner, st["mismatches"]))
    own = {sha(t) for t in tokens}
    calls_seen = [s for s in seen if s["method"] == "tools/call"]
    tap.ok(not any(s["hash"] in own for s in seen) and
           sum(1 for s in st["seen"] if s["hash"] == sha(toks["agent"])) == 1 and
           len(calls_seen) == calls and all(s["sub"] in CALLERS for s in calls_seen),
           "%s: every tools/call carried an exchanged token for its caller; no caller's own "
           "token reached the upstream through mcpgate" % fe,
           "%d calls seen" % len(calls_seen))
    lists = [s for s in st["seen"] if s["method"] == "tools/list"]
    tap.ok(lists and all(s["sub"] and s["sub"] not in CALLERS for s in lists),
           "%s: the upstream's tools/list came with mcpgate's own token, no caller's" % fe,
           lists[-3:])
    r, _ = call(base, toks["agent"], "updenied_whoami")
    text = mcptest.tool_text(r) or ""
    tap.ok(is_error(r) and "the issuer refused to exchange your access token" in text and
           "invalid_target" in text and toks["agent"][-20:] not in text,
           "%s: an exchange the issuer refuses is a tool error saying so (invalid_target)" % fe,
           r.describe())
    refused0, before = len(up.state()["refused"]), up.exchanges()
    get(up.upstream + "/__test/revoke", "POST")
    good = 0
    for i in range(3):
        r, j = call(base, toks["agent"], "up_whoami")
        good += j is not None and j.get("sub") == "agent" and not is_error(r)
    refused = [s for s in up.state()["refused"][refused0:] if s["sub"] == "agent"]
    after = up.exchanges()
    tap.ok(good == 3 and refused and after - before == len(refused),
           "%s: an exchanged token the upstream revoked is answered 401, exchanged once more, "
           "and the calls succeed" % fe,
           "good %d of 3, refused %d, exchanges %d -> %d; %s"
           % (good, len(refused), before, after, r.describe()))


def held_initialize(tap, base, pv, up, tokens):
    """One process (mod_proxy_fcgi): the upstream holds the initialize of a caller's new
    session; another caller must still be served meanwhile (before, the backend's lock was
    held during initialize and every caller of the backend in that process waited)."""
    tok, r = pv.token(SLOW_CALLER, base + "/mcp", "mcp.read mcp.write")
    if not tap.ok(bool(tok), "proxy: %s has an access token" % SLOW_CALLER, r.describe()):
        return
    tokens.append(tok)
    agent, _ = pv.token("agent", base + "/mcp", "mcp.read mcp.write")
    get(up.upstream + "/__test/hold?sub=" + SLOW_CALLER, "POST")
    slow = {}
    th = threading.Thread(target=lambda: slow.update(r=call(base, tok, "up_whoami")),
                          daemon=True)
    th.start()
    ok, _, _, _ = mcptest.retry_until(lambda: (up.state().get("held", 0) > 0, None),
                                      20 * mcptest.SLOW, 0.05)
    tap.ok(ok, "proxy: the upstream holds the new caller's initialize")
    r, j = call(base, agent, "up_whoami")
    still_held = th.is_alive()
    tap.ok(j is not None and j.get("sub") == "agent" and not is_error(r) and still_held,
           "proxy: another caller is served while one caller's upstream initialize is held", "held call still running: %s; %s" % (still_held, r.describe()))
    get(up.upstream + "/__test/release", "POST")
    th.join(30 * mcptest.SLOW)
    r2, j2 = slow.get("r") or (None, None)
    tap.ok(not th.is_alive() and j2 is not None and j2.get("sub") == SLOW_CALLER,
           "proxy: once released, the held caller's call succeeds in its own session",
           r2.describe() if r2 else "no answer")


def main():
    tap = Tap()
    d = npmci.idp(tap)
    if not d:
        return tap.done()
    work, secret_file, backends = work_dir("mcpgate-txm-")
    port, uport = free_port(), free_port()
    issuer = "http://127.0.0.1:%d" % port
    upstream = "http://127.0.0.1:%d" % uport
    audience, denied = upstream + "/mcp", upstream + "/denied/mcp"
    write_backends(backends, audience, denied)
    # mcpgate exchanges callers' tokens, and lists the upstream's tools with a token of its
    # own (client_credentials)
    clients = [client(who, SECRET, ["client_credentials"], scope="mcp.read mcp.write")
               for who in CALLERS + (SLOW_CALLER,)]
    clients.append(client("mcpgate", CLIENT_SECRET, [EXCHANGE, "client_credentials"]))
    config = rs_config(issuer, secret_file, backends)
    pv = None
    tokens = []
    try:
        pv = Provider(tap, d, port, "k1", clients, extra={
            "exchange_audiences": [audience],
            "upstream": {"port": uport, "audiences": [audience, denied]}})
        with Stack(tap, servers="lighttpd fcgid proxy", responder=mcptest.test_responder(),
                   config_extra=config, auth="resource", code_check_servers="lighttpd") as st:
            up = Upstream(issuer, upstream)
            for fe, base in st.front_ends():
                front_end(tap, fe, base, pv, up, audience, tokens)
            for fe, base in st.front_ends():
                if fe == "proxy":
                    held_initialize(tap, base, pv, up, tokens)
            r = admin(st, "backend", "test", "up", timeout=60)
            tap.ok(r.returncode == 0 and "lists 1 tools" in r.stdout and "whoami" in r.stdout,
                   "mcpgate backend test lists the upstream's tools with mcpgate's own token",
                   r.stdout, r.stderr)
            two_slots(tap, st, work)
            logs_hold_no_tokens(tap, st, tokens)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if pv:
            pv.stop()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
