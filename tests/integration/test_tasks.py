#!/usr/bin/env python3
"""test_tasks.py - the tasks extension (io.modelcontextprotocol/tasks, SEP-2663) through real
web servers and PostgreSQL:

- a tools/call of a task-supporting tool from a client that declared the extension answers
  with a CreateTaskResult at once; tasks/get at another front end (another process) finds it
  immediately, working, and later completed with the result inlined;
- tasks/cancel at another front end stops the running tool: the task ends cancelled and the
  audit trail records the cancelled call;
- a task that needs input parks as input_required with its inputRequests; tasks/update at
  another front end resumes it to completed with the answer;
- a required-task tool from a client without the extension: 400 -32021 naming it; tasks/get
  without the extension: -32021; an unknown taskId: -32602; Mcp-Name that differs from the
  taskId: 400 -32020;
- a task whose process is stopped (the mod_proxy_fcgi responder restarted) ends failed,
  saying so, instead of staying working for good.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_tasks.py  (TAP)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import Stack, Tap, expect_error, json_bytes, request, test_responder  # noqa: E402

MODERN = "2026-07-28"
EXT = "io.modelcontextprotocol/tasks"
WITH = {"elicitation": {}, "extensions": {EXT: {}}}
WITHOUT = {"elicitation": {}}


def rpc(url, id, method, params, caps=WITH, name=None, bearer=None):
    params = dict(params)
    params["_meta"] = {"io.modelcontextprotocol/protocolVersion": MODERN,
                       "io.modelcontextprotocol/clientCapabilities": caps}
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
         "MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    n = name if name is not None else params.get("name") or params.get("taskId")
    if n:
        h["Mcp-Name"] = n
    if bearer:
        h["Authorization"] = "Bearer " + bearer
    return request("POST", url + "/mcp", json_bytes({"jsonrpc": "2.0", "id": id,
                                                     "method": method, "params": params}), h)


def result(r):
    j = r.json if isinstance(r.json, dict) else {}
    return j.get("result") or {}


def poll(url, task_id, want, timeout_s=15, bearer=None):
    """tasks/get until the status is one of want; returns the last result."""
    end = time.monotonic() + timeout_s
    res = {}
    while time.monotonic() < end:
        res = result(rpc(url, 90, "tasks/get", {"taskId": task_id}, bearer=bearer))
        if res.get("status") in want:
            break
        time.sleep(0.2)
    return res


def text_of(res):
    return ((res.get("result") or {}).get("content") or [{}])[0].get("text")


def main():
    t = Tap()
    with Stack(t, responder=test_responder()) as st:
        fes = st.front_ends()
        (fa, a), (fb, b), (fc, c) = fes
        r = rpc(a, 1, "tools/call", {"name": "slow_compute",
                                     "arguments": {"seconds": 1, "label": "x"}})
        res = result(r)
        tid = res.get("taskId")
        t.ok(r.status == 200 and res.get("resultType") == "task" and tid and
             res.get("status") == "working" and res.get("ttlMs", 0) > 0 and
             "result" not in res and "task" not in res,
             "%s: a task-supporting tool answers with a flat CreateTaskResult" % fa, r.describe())
        g = result(rpc(b, 2, "tasks/get", {"taskId": tid or "none"}))
        t.ok(g.get("taskId") == tid and g.get("status") in ("working", "completed") and
             g.get("resultType") == "complete",
             "%s: tasks/get right after finds the task (%s)" % (fb, g.get("status")), repr(g))
        done = poll(c, tid or "none", ("completed", "failed", "cancelled"))
        t.ok(done.get("status") == "completed" and text_of(done) == "Computed x after 1000 ms",
             "%s: the task completes with the result inlined" % fc, repr(done))

        r = rpc(b, 3, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 60}})
        tid2 = result(r).get("taskId") or "none"
        time.sleep(0.5)
        r = rpc(a, 4, "tasks/cancel", {"taskId": tid2})
        ack = result(r)
        t.ok(r.status == 200 and ack.get("resultType") == "complete" and "status" not in ack,
             "%s: tasks/cancel answers an empty ack" % fa, r.describe())
        end = poll(c, tid2, ("completed", "failed", "cancelled"), 5)
        t.ok(end.get("status") == "cancelled", "%s: the task is cancelled" % fc, repr(end))
        rows = ""
        for _ in range(50):  # the runner sees the cancellation within its 100 ms steps
            rows = st.psql("SELECT count(*) FROM audit_log WHERE tool = 'slow_compute' "
                           "AND outcome = 'cancelled'")[1].strip()
            if rows == "1":
                break
            time.sleep(0.1)
        t.ok(rows == "1", "the runner at %s stopped the tool and audited it cancelled" % fb,
             "rows: %r" % rows)

        r = rpc(c, 5, "tools/call", {"name": "confirm_delete", "arguments": {"filename": "f"}})
        tid3 = result(r).get("taskId") or "none"
        parked = poll(a, tid3, ("input_required", "completed", "failed", "cancelled"))
        req = (parked.get("inputRequests") or {}).get("confirm") or {}
        t.ok(parked.get("status") == "input_required" and
             req.get("method") == "elicitation/create",
             "%s: a task needing input parks as input_required with its request" % fa,
             repr(parked))
        r = rpc(b, 6, "tasks/update", {"taskId": tid3, "inputResponses": {
            "confirm": {"action": "accept", "content": {"confirm": True}}}})
        t.ok(r.status == 200 and result(r).get("resultType") == "complete",
             "%s: tasks/update answers an empty ack" % fb, r.describe())
        done = poll(a, tid3, ("completed", "failed", "cancelled"))
        t.ok(done.get("status") == "completed" and text_of(done) == "Deleted f",
             "%s: the answer resumes the task to completed" % fa, repr(done))

        r = rpc(a, 7, "tools/call", {"name": "failing_job", "arguments": {}}, caps=WITHOUT)
        data = ((r.json or {}).get("error") or {}).get("data") if isinstance(r.json, dict) else {}
        t.check("%s: a required-task tool without the extension -> 400 -32021" % fa,
                expect_error(r, 400, -32021, 7) +
                ([] if (data or {}).get("requiredCapabilities") == {"extensions": {EXT: {}}}
                 else ["data %r" % data]), r)
        r = rpc(a, 8, "tasks/get", {"taskId": tid}, caps=WITHOUT)
        t.check("%s: tasks/get without the extension -> 400 -32021" % fa,
                expect_error(r, 400, -32021, 8), r)
        r = rpc(a, 9, "tasks/get", {"taskId": "no-such-task-0123456789"})
        t.check("%s: tasks/get of an unknown task -> -32602" % fa,
                expect_error(r, 200, -32602, 9), r)
        r = rpc(a, 10, "tasks/get", {"taskId": tid}, name="another-task-id")
        t.check("%s: Mcp-Name that is not the taskId -> 400 -32020" % fa,
                expect_error(r, 400, -32020, 10), r)

        r = rpc(c, 11, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 60}})
        tid4 = result(r).get("taskId") or "none"
        time.sleep(0.5)
        rr = st.cmd("responder-restart")
        end = poll(a, tid4, ("completed", "failed", "cancelled"), 20)
        msg = (end.get("error") or {}).get("message", "")
        t.ok(rr.returncode == 0 and end.get("status") == "failed" and "stopped" in msg,
             "%s: a task whose process stops ends failed, saying so (%s)" % (fc, msg),
             repr(end), rr.stdout[-500:], rr.stderr[-500:])
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
