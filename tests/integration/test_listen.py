#!/usr/bin/env python3
"""test_listen.py - subscriptions/listen (2026-07-28) through real web servers:

- the stream's first message is notifications/subscriptions/acknowledged with the filter
  agreed, and every notification carries the subscription id;
- a tool list change made at another front end (another process) reaches a stream that
  asked for toolsListChanged, and not one that asked only for a resource;
- a resource update made at another front end reaches the stream subscribed to its URI;
- at the end of its bounded life the stream ends with the request's result;
- a malformed filter is refused with -32602 before anything streams.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_listen.py  (TAP)
"""

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import Stack, Tap, expect_error, json_bytes, request, test_responder  # noqa: E402

MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {}}
SUB = "io.modelcontextprotocol/subscriptionId"
LIFE_S = 15  # the streams must outlive the calls that change things, even under valgrind
CONFIG = "sse_max_s = %d\nsse_heartbeat_s = 1" % LIFE_S


def headers(method, name=None):
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
         "MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if name:
        h["Mcp-Name"] = name
    return h


class Listen:
    """A subscriptions/listen stream read by a thread into self.msgs."""

    def __init__(self, url, id, notifications):
        u = urllib.parse.urlsplit(url + "/mcp")
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=LIFE_S + 10)
        body = {"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
                "params": {"_meta": META, "notifications": notifications}}
        self.conn.request("POST", u.path, body=json_bytes(body),
                          headers=headers("subscriptions/listen"))
        self.resp = self.conn.getresponse()
        self.ctype = (self.resp.getheader("Content-Type") or "").split(";")[0]
        self.msgs = []
        self.ended = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for line in self.resp:
                line = line.decode("utf-8", "replace").strip()
                if line.startswith("data:") and line[5:].strip():
                    self.msgs.append(json.loads(line[5:].strip()))
        except (OSError, ValueError):
            pass
        self.ended = True

    def wait(self, pred, timeout_s):
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if pred(self.msgs):
                return True
            time.sleep(0.05)
        return pred(self.msgs)

    def close(self):
        self.conn.close()


def call_tool(url, id, name, arguments):
    body = {"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": name, "arguments": arguments, "_meta": META}}
    return request("POST", url + "/mcp", json_bytes(body), headers("tools/call", name))


def methods(msgs):
    return [m.get("method") for m in msgs]


def main():
    t = Tap()
    with Stack(t, servers="lighttpd fcgid", responder=test_responder(),
               config_extra=CONFIG) as st:
        (fe_a, a), (fe_b, b) = st.front_ends()
        tools = Listen(a, "sub-tools", {"toolsListChanged": True})
        res = Listen(b, 77, {"resourceSubscriptions": ["test://watched-resource"]})
        acked = tools.wait(lambda m: len(m) >= 1, 5) and res.wait(lambda m: len(m) >= 1, 5)
        first_t = tools.msgs[0] if tools.msgs else {}
        first_r = res.msgs[0] if res.msgs else {}
        t.ok(acked and tools.ctype == "text/event-stream" and
             first_t.get("method") == "notifications/subscriptions/acknowledged" and
             first_t["params"]["notifications"] == {"toolsListChanged": True} and
             first_t["params"]["_meta"][SUB] == "sub-tools" and
             first_r.get("method") == "notifications/subscriptions/acknowledged" and
             first_r["params"]["notifications"] ==
             {"resourceSubscriptions": ["test://watched-resource"]} and
             first_r["params"]["_meta"][SUB] == 77,
             "%s, %s: each stream begins with its acknowledgement" % (fe_a, fe_b),
             repr(tools.msgs), repr(res.msgs))
        r = call_tool(b, 2, "test_trigger_tool_change", {})
        got = tools.wait(lambda m: "notifications/tools/list_changed" in methods(m), 5)
        change = [m for m in tools.msgs if m.get("method") == "notifications/tools/list_changed"]
        t.ok(r.status == 200 and got and change[0]["params"]["_meta"][SUB] == "sub-tools",
             "a tool list change at %s reaches the listen stream at %s, tagged" % (fe_b, fe_a),
             r.describe(), repr(tools.msgs))
        r = call_tool(a, 3, "test_update_resource", {"uri": "test://watched-resource"})
        got = res.wait(lambda m: "notifications/resources/updated" in methods(m), 5)
        upd = [m for m in res.msgs if m.get("method") == "notifications/resources/updated"]
        t.ok(r.status == 200 and got and upd[0]["params"]["uri"] == "test://watched-resource"
             and upd[0]["params"]["_meta"][SUB] == 77,
             "a resource update at %s reaches the stream subscribed to it at %s" % (fe_a, fe_b),
             r.describe(), repr(res.msgs))
        t.ok("notifications/tools/list_changed" not in methods(res.msgs) and
             "notifications/resources/updated" not in methods(tools.msgs),
             "neither stream got what its filter did not ask for",
             repr(tools.msgs), repr(res.msgs))
        ended = tools.wait(lambda m: bool(m) and m[-1].get("id") == "sub-tools", LIFE_S + 10)
        last = tools.msgs[-1] if tools.msgs else {}
        t.ok(ended and last.get("result", {}).get("resultType") == "complete" and
             last["result"]["_meta"][SUB] == "sub-tools",
             "%s: at the end of its life the stream ends with the request's result" % fe_a,
             repr(tools.msgs[-3:]))
        tools.close()
        res.close()
        for desc, f in [("no filter", None), ("a string flag", {"toolsListChanged": "yes"}),
                        ("a URI that is not a string", {"resourceSubscriptions": [1]}),
                        ("101 URIs", {"resourceSubscriptions": ["test://x"] * 101})]:
            params = {"_meta": META}
            if f is not None:
                params["notifications"] = f
            r = request("POST", a + "/mcp", json_bytes(
                {"jsonrpc": "2.0", "id": 9, "method": "subscriptions/listen", "params": params}),
                headers("subscriptions/listen"))
            t.check("%s: subscriptions/listen with %s -> -32602" % (fe_a, desc),
                    expect_error(r, 200, -32602, 9), r)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
