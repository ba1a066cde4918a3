#!/usr/bin/env python3
"""test_mrtr.py - input-required results (2026-07-28, SEP-2322) through real web servers:

- a stateless tools/call that needs the client's input ends with resultType
  "input_required", its inputRequests and a requestState, and the audit trail says so;
- the client's retries carry the answers and the state, and each round may go to another
  front end (another process): round 1 at one, round 2 at the next, round 3 at the last;
- a state that was altered, issued for another tool, or for other arguments is refused
  with -32602 and runs nothing; malformed inputResponses too;
- a tool written for server-to-client requests (test_sampling) works statelessly: its
  request becomes an input request, and the retry's answer completes it.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_mrtr.py  (TAP)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import Stack, Tap, expect_error, json_bytes, request, test_responder  # noqa: E402

MODERN = "2026-07-28"
CAPS = {"sampling": {}, "elicitation": {}, "roots": {}}


def call(url, id, name, arguments=None, extra=None):
    params = {"name": name, "arguments": arguments or {},
              "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                        "io.modelcontextprotocol/clientCapabilities": CAPS}}
    params.update(extra or {})
    body = {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}
    return request("POST", url + "/mcp", json_bytes(body),
                   {"Content-Type": "application/json",
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call",
                    "Mcp-Name": name})


def result(r):
    j = r.json if isinstance(r.json, dict) else {}
    return j.get("result") or {}


def input_required(r, key):
    """Problems with r as an input-required result asking for key."""
    res = result(r)
    p = [] if r.status == 200 else ["HTTP %s" % r.status]
    if res.get("resultType") != "input_required":
        p.append("resultType %r" % res.get("resultType"))
    if key not in (res.get("inputRequests") or {}):
        p.append("no input request %r" % key)
    if not isinstance(res.get("requestState"), str) or not res.get("requestState"):
        p.append("no requestState")
    return p


def accept(**content):
    return {"action": "accept", "content": content}


def main():
    t = Tap()
    with Stack(t, responder=test_responder()) as st:
        fes = st.front_ends()
        urls = [u for _, u in fes]
        names = "/".join(fe for fe, _ in fes)
        tool = "test_input_required_result_multi_round"
        r1 = call(urls[0], 1, tool)
        t.check("%s: round 1 asks for step1 with a request state" % fes[0][0],
                input_required(r1, "step1"), r1)
        s1 = result(r1).get("requestState", "")
        rows = st.psql("SELECT count(*) FROM audit_log WHERE tool = '%s' "
                       "AND outcome = 'input_required'" % tool)[1]
        t.ok(rows.strip() == "1", "the round is audited as input_required", "rows: %r" % rows)
        r2 = call(urls[1 % len(urls)], 2, tool, extra={
            "inputResponses": {"step1": accept(name="Alice")}, "requestState": s1})
        s2 = result(r2).get("requestState", "")
        t.check("%s: round 2 (another process) asks for step2 with a new state"
                % fes[1 % len(fes)][0],
                input_required(r2, "step2") + ([] if s2 != s1 else ["the state did not change"]),
                r2)
        r3 = call(urls[2 % len(urls)], 3, tool, extra={
            "inputResponses": {"step2": accept(color="blue")}, "requestState": s2})
        res = result(r3)
        text = ((res.get("content") or [{}])[0]).get("text")
        t.ok(r3.status == 200 and res.get("resultType") == "complete" and
             text == "Alice likes blue",
             "%s: round 3 completes with both rounds' answers (%s)" % (names, text),
             r3.describe())

        mid = len(s1) // 2
        flipped = s1[:mid] + ("A" if s1[mid] != "A" else "B") + s1[mid + 1:]
        for desc, name, args, state, responses in [
            ("an altered state", tool, None, flipped, {"step1": accept(name="Mallory")}),
            ("a state appended to", tool, None, s1 + "-TAMPERED",
             {"step1": accept(name="Mallory")}),
            ("another tool's state", "test_input_required_result_elicitation", None, s1,
             {"user_name": accept(name="Mallory")}),
            ("a state for other arguments", tool, {"x": 1}, s1, {"step1": accept(name="M")}),
        ]:
            r = call(urls[0], 4, name, args, {"inputResponses": responses, "requestState": state})
            t.check("%s: retry with %s -> -32602" % (fes[0][0], desc),
                    expect_error(r, 200, -32602, 4), r)
        for desc, responses in [("null inputResponses", None),
                                ("a number as an answer", {"step1": 12345})]:
            r = call(urls[0], 5, tool, extra={"inputResponses": responses})
            t.check("%s: %s -> -32602" % (fes[0][0], desc), expect_error(r, 200, -32602, 5), r)

        r = call(urls[0], 6, "test_sampling", {"prompt": "Capital of France?"})
        t.check("%s: test_sampling, statelessly: its request becomes input-1" % fes[0][0],
                input_required(r, "input-1"), r)
        req = (result(r).get("inputRequests") or {}).get("input-1") or {}
        t.ok(req.get("method") == "sampling/createMessage", "the input request is sampling",
             repr(req))
        answer = {"role": "assistant", "content": {"type": "text", "text": "Paris"},
                  "model": "m", "stopReason": "endTurn"}
        state = result(r).get("requestState")
        r = call(urls[-1], 7, "test_sampling", {"prompt": "Other question?"},
                 {"inputResponses": {"input-1": answer}, "requestState": state})
        t.check("%s: the state does not carry over to other arguments" % fes[-1][0],
                expect_error(r, 200, -32602, 7), r)
        r = call(urls[-1], 8, "test_sampling", {"prompt": "Capital of France?"},
                 {"inputResponses": {"input-1": answer}, "requestState": state})
        text = ((result(r).get("content") or [{}])[0]).get("text")
        t.ok(result(r).get("resultType") == "complete" and text == "LLM response: Paris",
             "%s: the retry with the answer completes it (%s)" % (fes[-1][0], text),
             r.describe())
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
