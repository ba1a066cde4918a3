#!/usr/bin/env python3
"""test_features.py - the catalog methods through lighttpd and Apache mod_fcgid, on the test
responder (its conformance fixtures): initialize's capabilities, tools/list,
resources/list and prompts/list paged with signed cursors (page_size = 2), resources/read
of fixed and templated resources, resources/subscribe and /unsubscribe (rows in
mcp_subscriptions), prompts/get, completion/complete.

Bad input, each with its specific error and nothing written (row counts of
mcp_sessions, mcp_subscriptions and mcpgate_secrets unchanged): a tampered, truncated,
foreign (signed with another key), other-list and non-string cursor (-32602); an unknown
resource (-32002 for read and subscribe); unknown prompts and bad prompt arguments
(-32602); unknown completion references and arguments (-32602).

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_features.py   (TAP on stdout)
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import (Mcp, Stack, Tap, check_logs, expect_result,  # noqa: E402
                     expect_rpc_error, test_responder)

PAGE_SIZE = 2
CURSOR_LEN = 51
RESOURCE_NOT_FOUND = -32002
INVALID_PARAMS = -32602
TABLES = ("mcp_sessions", "mcp_subscriptions", "mcpgate_secrets")


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Case:
    def __init__(self, t, st, fe, url):
        self.t, self.st, self.fe = t, st, fe
        self.c = Mcp(url, name="features-" + fe)

    def counts(self):
        out = {}
        for table in TABLES:
            ok, text = self.st.psql("SELECT count(*) FROM %s" % table)
            out[table] = int(text) if ok and text.isdigit() else "psql failed: %s" % text
        return out

    def call(self, method, params=None):
        id = Mcp.next_id()
        return id, self.c.call(method, params, id=id)

    def ok(self, desc, method, params=None):
        """A request that must succeed; returns its result (or None)."""
        id, r = self.call(method, params)
        p, res = expect_result(r, id)
        self.t.check("%s: %s" % (self.fe, desc), p, r)
        return res

    def bad(self, desc, method, params, code):
        """A rejected request: its JSON-RPC error code, and no table changed."""
        before = self.counts()
        id, r = self.call(method, params)
        p = expect_rpc_error(r, id, code)
        after = self.counts()
        if before != after:
            p.append("rows changed: %r -> %r" % (before, after))
        self.t.check("%s: %s -> %d, nothing written" % (self.fe, desc, code), p, r)
        return r

    def walk(self, method, member, params=None):
        """Pages through a list; returns (items, cursors) or (None, cursors) on a failure."""
        items, cursors, cursor = [], [], None
        for _ in range(50):
            p = dict(params or {})
            if cursor is not None:
                p["cursor"] = cursor
            id, r = self.call(method, p)
            probs, res = expect_result(r, id)
            if probs or not isinstance(res, dict) or not isinstance(res.get(member), list):
                self.t.check("%s: %s page %d" % (self.fe, method, len(cursors) + 1),
                             probs or ["no %s array" % member], r)
                return None, cursors
            items += res[member]
            if len(res[member]) > PAGE_SIZE:
                self.t.check("%s: %s page size" % (self.fe, method),
                             ["%d items in a page of %d" % (len(res[member]), PAGE_SIZE)], r)
                return None, cursors
            cursor = res.get("nextCursor")
            if cursor is None:
                return items, cursors
            cursors.append(cursor)
        return None, cursors


def test_initialize(case):
    t, fe = case.t, case.fe
    r = case.c.initialize()
    res = (r.json or {}).get("result") or {}
    caps = res.get("capabilities") or {}
    p = [] if case.c.sid else ["no session"]
    if (caps.get("resources") or {}).get("subscribe") is not True:
        p.append("capabilities.resources.subscribe is not true: %r" % caps.get("resources"))
    for k in ("prompts", "completions", "logging", "tools"):
        if not isinstance(caps.get(k), dict):
            p.append("capabilities.%s missing" % k)
    t.check("%s: initialize declares resources (subscribe), prompts, completions, logging"
            % fe, p, r)
    return bool(case.c.sid)


def test_paging(case):
    t, fe = case.t, case.fe
    lists = (("tools/list", "tools", "name"), ("resources/list", "resources", "uri"),
             ("resources/templates/list", "resourceTemplates", "uriTemplate"),
             ("prompts/list", "prompts", "name"))
    first_cursor = {}
    for method, member, key in lists:
        items, cursors = case.walk(method, member)
        if items is None:
            continue
        keys = [i.get(key) for i in items]
        p = []
        if len(set(keys)) != len(keys):
            p.append("an item came twice: %r" % keys)
        bad = [c for c in cursors if not isinstance(c, str) or len(c) != CURSOR_LEN]
        if bad:
            p.append("cursors not %d-character strings: %r" % (CURSOR_LEN, bad))
        if len(cursors) != (len(items) - 1) // PAGE_SIZE:
            p.append("%d cursors for %d items" % (len(cursors), len(items)))
        t.check("%s: %s pages through %d items in %d pages of at most %d"
                % (fe, method, len(items), len(cursors) + 1, PAGE_SIZE), p)
        if cursors:
            first_cursor[method] = cursors[0]
    tools = [x.get("name") for x in (case.walk("tools/list", "tools")[0] or [])]
    want = {"echo", "test_simple_text", "test_sampling", "json_schema_2020_12_tool"}
    t.check("%s: the paged tools/list holds the builtin and fixture tools" % fe,
            ["missing: %s" % sorted(want - set(tools))] if not want <= set(tools) else [])
    return first_cursor


def test_bad_cursors(case, cursors):
    good = cursors.get("tools/list")
    if not good:
        case.t.ok(False, "%s: a tools/list cursor to tamper with" % case.fe)
        return
    raw = bytearray(unb64url(good))
    tampered = bytearray(raw)
    tampered[5] ^= 1  # the offset, MAC unchanged
    mac_flip = bytearray(raw)
    mac_flip[-1] ^= 0x80
    body = bytes(raw[:6])
    foreign = body + hmac.new(secrets.token_bytes(32), body, hashlib.sha256).digest()
    cases = [
        ("tampered offset", b64url(bytes(tampered))),
        ("tampered MAC", b64url(bytes(mac_flip))),
        ("truncated", good[:-4]),
        ("one character more", good + "A"),
        ("signed with another key", b64url(foreign)),
        ("not base64url", good[:-1] + "!"),
        ("empty", ""),
    ]
    for desc, cur in cases:
        case.bad("tools/list with a %s cursor" % desc, "tools/list", {"cursor": cur},
                 INVALID_PARAMS)
    if cursors.get("resources/list"):
        case.bad("tools/list with a resources/list cursor", "tools/list",
                 {"cursor": cursors["resources/list"]}, INVALID_PARAMS)
    case.bad("prompts/list with a tools/list cursor", "prompts/list", {"cursor": good},
             INVALID_PARAMS)
    case.bad("tools/list with a numeric cursor", "tools/list", {"cursor": 2}, INVALID_PARAMS)


def test_resources(case):
    t, fe = case.t, case.fe
    res = case.ok("resources/read test://static-text", "resources/read",
                  {"uri": "test://static-text"})
    c = ((res or {}).get("contents") or [{}])[0]
    t.check("%s: static text has uri, mimeType text/plain and the text" % fe,
            [] if c.get("uri") == "test://static-text" and c.get("mimeType") == "text/plain"
            and c.get("text") else ["content %r" % c])
    res = case.ok("resources/read test://static-binary", "resources/read",
                  {"uri": "test://static-binary"})
    c = ((res or {}).get("contents") or [{}])[0]
    p = []
    try:
        if not base64.b64decode(c.get("blob", "")).startswith(b"\x89PNG"):
            p.append("blob is not a PNG")
    except ValueError:
        p.append("blob is not base64: %r" % c)
    t.check("%s: static binary is a base64 PNG blob" % fe, p)
    res = case.ok("resources/read of the template test://template/{id}/data", "resources/read",
                  {"uri": "test://template/4711/data"})
    c = ((res or {}).get("contents") or [{}])[0]
    t.check("%s: the template's id is substituted" % fe,
            [] if c.get("uri") == "test://template/4711/data" and '"id":"4711"'
            in (c.get("text") or "").replace(" ", "") else ["content %r" % c])

    for uri in ("test://nope", "test://template//data", "test://template/1/2/data",
                "test://static-text/", "x" * 3000):
        code = INVALID_PARAMS if len(uri) > 2048 else RESOURCE_NOT_FOUND
        case.bad("resources/read %s" % uri[:40], "resources/read", {"uri": uri}, code)
    case.bad("resources/read without uri", "resources/read", {}, INVALID_PARAMS)
    case.bad("resources/read with a numeric uri", "resources/read", {"uri": 5}, INVALID_PARAMS)


def test_subscriptions(case):
    t, fe, st = case.t, case.fe, case.st

    def rows():
        ok, text = st.psql("SELECT count(*) FROM mcp_subscriptions WHERE uri = "
                           "'test://watched-resource'")
        return int(text) if ok and text.isdigit() else None

    before = rows()
    res = case.ok("resources/subscribe test://watched-resource", "resources/subscribe",
                  {"uri": "test://watched-resource"})
    t.check("%s: subscribe answers {} and stores one row" % fe,
            [] if res == {} and before is not None and rows() == before + 1
            else ["result %r, rows %r -> %r" % (res, before, rows())])
    case.ok("resources/subscribe again", "resources/subscribe",
            {"uri": "test://watched-resource"})
    t.check("%s: subscribing twice keeps one row" % fe,
            [] if rows() == before + 1 else ["rows %r" % rows()])
    case.ok("resources/subscribe to a templated resource", "resources/subscribe",
            {"uri": "test://template/7/data"})
    case.bad("resources/subscribe to an unknown resource", "resources/subscribe",
             {"uri": "test://unknown"}, RESOURCE_NOT_FOUND)
    case.bad("resources/subscribe without uri", "resources/subscribe", {}, INVALID_PARAMS)
    res = case.ok("resources/unsubscribe", "resources/unsubscribe",
                  {"uri": "test://watched-resource"})
    t.check("%s: unsubscribe answers {} and deletes the row" % fe,
            [] if res == {} and rows() == before else ["result %r, rows %r" % (res, rows())])
    res = case.ok("resources/unsubscribe of what is not subscribed", "resources/unsubscribe",
                  {"uri": "test://watched-resource"})
    t.check("%s: unsubscribing again answers {}" % fe, [] if res == {} else ["%r" % res])


class SseReader:
    """GET URL/mcp as an SSE stream on a raw socket (the events must arrive while the
    response is still open, so http.client's read-to-end does not fit)."""

    def __init__(self, client):
        u = urllib.parse.urlsplit(client.url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=10)
        h = client.headers({"Accept": "text/event-stream"})
        h.pop("Content-Type", None)
        req = "GET %s HTTP/1.1\r\nHost: %s\r\n" % (u.path, u.netloc)
        req += "".join("%s: %s\r\n" % (k, v) for k, v in h.items() if v is not None)
        self.sock.sendall((req + "\r\n").encode())
        self.buf = b""
        self.head = None

    def events(self, timeout_s):
        """The JSON messages of the data: lines that arrive within timeout_s."""
        out, deadline = [], time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self.buf += chunk
            if self.head is None and b"\r\n\r\n" in self.buf:
                self.head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            for line in self.buf.decode("utf-8", "replace").splitlines():
                if line.startswith("data:") and line[5:].strip():
                    try:
                        out.append(json.loads(line[5:].strip()))
                    except ValueError:
                        pass
            if out:
                return out
        return out

    def close(self):
        self.sock.close()


def test_updated(case, url):
    """notifications/resources/updated reaches a subscriber's GET stream, and only it."""
    t, fe = case.t, case.fe
    uri = "test://watched-resource"
    other = Mcp(url, name="features-other-" + fe)
    other.initialize()
    case.ok("resources/subscribe before an update", "resources/subscribe", {"uri": uri})
    sub, bystander = SseReader(case.c), SseReader(other)
    try:
        time.sleep(0.3)  # both streams are open before the update
        id = Mcp.next_id()
        r = other.tool("test_update_resource", {"uri": uri}, id=id)
        p, res = expect_result(r, id)
        if res and res.get("isError"):
            p.append("the tool failed: %r" % res)
        t.check("%s: a tool call in another session updates the resource" % fe, p, r)
        got = [m for m in sub.events(10) if m.get("method") == "notifications/resources/updated"]
        t.check("%s: the subscriber's GET stream gets notifications/resources/updated" % fe,
                [] if got and got[0].get("params") == {"uri": uri}
                else ["events %r, head %r" % (got, sub.head)])
        extra = [m for m in bystander.events(1.0)
                 if m.get("method") == "notifications/resources/updated"]
        t.check("%s: a session that did not subscribe gets nothing" % fe,
                ["got %r" % extra] if extra else [])
    finally:
        sub.close()
        bystander.close()
    case.ok("resources/unsubscribe after the update", "resources/unsubscribe", {"uri": uri})
    other.delete()


def test_prompts(case):
    t, fe = case.t, case.fe
    res = case.ok("prompts/get test_prompt_with_arguments", "prompts/get",
                  {"name": "test_prompt_with_arguments",
                   "arguments": {"arg1": "alpha", "arg2": "beta"}})
    text = str((res or {}).get("messages"))
    t.check("%s: prompt arguments are substituted" % fe,
            [] if "alpha" in text and "beta" in text else ["messages %s" % text[:300]])
    res = case.ok("prompts/get test_simple_prompt without arguments", "prompts/get",
                  {"name": "test_simple_prompt"})
    t.check("%s: simple prompt has a user message" % fe,
            [] if ((res or {}).get("messages") or [{}])[0].get("role") == "user"
            else ["%r" % res])
    for desc, params in (
            ("an unknown prompt", {"name": "no_such_prompt"}),
            ("no name", {}),
            ("a missing required argument", {"name": "test_prompt_with_arguments",
                                             "arguments": {"arg1": "x"}}),
            ("no arguments for a prompt that needs them",
             {"name": "test_prompt_with_arguments"}),
            ("an undeclared argument", {"name": "test_simple_prompt",
                                        "arguments": {"evil": "x"}}),
            ("a non-string argument", {"name": "test_prompt_with_arguments",
                                       "arguments": {"arg1": 1, "arg2": "y"}}),
            ("arguments that are not an object", {"name": "test_prompt_with_arguments",
                                                  "arguments": ["x", "y"]})):
        case.bad("prompts/get with %s" % desc, "prompts/get", params, INVALID_PARAMS)


def test_completion(case):
    t, fe = case.t, case.fe
    res = case.ok("completion/complete of a prompt argument", "completion/complete",
                  {"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                   "argument": {"name": "arg1", "value": "te"}})
    comp = (res or {}).get("completion") or {}
    vals = comp.get("values")
    t.check("%s: prompt argument completions start with the value" % fe,
            [] if vals and all(v.lower().startswith("te") for v in vals)
            and comp.get("total") == len(vals) and comp.get("hasMore") is False
            else ["completion %r" % comp])
    res = case.ok("completion/complete of a template variable", "completion/complete",
                  {"ref": {"type": "ref/resource", "uri": "test://template/{id}/data"},
                   "argument": {"name": "id", "value": "4"}})
    vals = ((res or {}).get("completion") or {}).get("values")
    t.check("%s: template variable completions" % fe,
            [] if vals == ["42", "456"] else ["values %r" % (vals,)])
    for desc, params in (
            ("an unknown prompt", {"ref": {"type": "ref/prompt", "name": "nope"},
                                   "argument": {"name": "arg1", "value": ""}}),
            ("an argument the prompt lacks",
             {"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
              "argument": {"name": "arg9", "value": ""}}),
            ("an unknown resource template",
             {"ref": {"type": "ref/resource", "uri": "test://none/{x}"},
              "argument": {"name": "x", "value": ""}}),
            ("a variable the template lacks",
             {"ref": {"type": "ref/resource", "uri": "test://template/{id}/data"},
              "argument": {"name": "name", "value": ""}}),
            ("an unknown reference type", {"ref": {"type": "ref/tool", "name": "echo"},
                                           "argument": {"name": "a", "value": ""}}),
            ("no ref", {"argument": {"name": "arg1", "value": ""}}),
            ("no argument", {"ref": {"type": "ref/prompt",
                                     "name": "test_prompt_with_arguments"}})):
        case.bad("completion/complete with %s" % desc, "completion/complete", params,
                 INVALID_PARAMS)


def main():
    t = Tap()
    # under valgrind and ASan through lighttpd only (the default build runs both): the
    # catalog methods are the responder's code, the same behind each front end
    with Stack(t, servers="lighttpd fcgid", responder=test_responder(),
               config_extra="page_size = %d\nauth = none" % PAGE_SIZE,
               code_check_servers="lighttpd") as st:
        for fe, url in st.front_ends():
            case = Case(t, st, fe, url)
            if not test_initialize(case):
                continue
            cursors = test_paging(case)
            test_bad_cursors(case, cursors)
            test_resources(case)
            test_subscriptions(case)
            test_updated(case, url)
            test_prompts(case)
            test_completion(case)
            r = case.c.delete()
            t.check("%s: DELETE ends the session" % fe, [] if r.status == 204 else
                    ["status %s" % r.status], r)
        check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
