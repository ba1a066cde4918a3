#!/usr/bin/env python3
"""test_held_revoke.py - a tools/call held between its turns (mcp/call_hold.h) stops when
the credential it was made with is revoked, through lighttpd and Apache mod_proxy_fcgi
with auth = oauth on a private PostgreSQL:

- a call of test_ask (elicitation/create) made with an OAuth access token waits for its
  answer; the client revokes that token at /revoke (RFC 7009), refreshes, and answers with
  the new token: the call's stream ends with the JSON-RPC error for a credential that no
  longer holds (-32000, naming revocation), not the tool's result, and its one audit row
  is "refused" with the detail "credential revoked or expired" (the tool did not run
  again: a run would have ended it "ok" with the answer's name);
- the same with a personal API key revoked by `mcpgate key revoke ID`, the answer sent
  with another key of the same user;
- a call made with an API key of another user, who is disabled (`mcpgate user disable`)
  while it waits and so cannot answer: at request_timeout_s the call ends with that error,
  audited refused, instead of running the tool again with "the client did not answer in
  time";
- a control call made with a key nobody revokes, answered the same way, ends with the
  tool's result and an "ok" row;
- a task (2026-07-28 tasks extension) of confirm_delete made with an API key parks for its
  input; the key is revoked and the input comes by tasks/update with another key of the
  user: the task ends failed with that -32000 error instead of running the tool again,
  audited "refused" with the same detail; with a key that stays valid it completes.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_held_revoke.py  (TAP)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oauthlib  # noqa: E402
from mcptest import SLOW, Mcp, Stack, Tap, admin, request, test_responder  # noqa: E402
from test_held_calls import is_request, read_until  # noqa: E402
from test_streams import answer, call_body, post_stream  # noqa: E402
from test_tasks import poll, result, rpc, text_of  # noqa: E402

USER, PASSWORD = "held-revoke", "a long enough password for the held calls"
TIMEOUT_S = 6 * SLOW  # request_timeout_s: the answers come well before it
CONFIG = ("threads = 2\nrequest_timeout_s = %d\nsse_max_s = %d\nsse_heartbeat_s = 1"
          % (TIMEOUT_S, 3 * TIMEOUT_S))
DETAIL = "credential revoked or expired"


def new_key(st, name, user=USER):
    """(key, id) of a new API key of user."""
    r = admin(st, "key", "create", user, "--name", name)
    key = next((w for w in r.stdout.split() if w.startswith("mgk_")), "")
    r = admin(st, "key", "list", user, "--json")
    try:
        rows = json.loads(r.stdout)
    except ValueError:
        rows = []
    kid = next((str(k.get("id")) for k in rows if k.get("name") == name), "")
    return key, kid


def audit(st, after):
    """(outcome, detail) of test_ask's audit rows after the row numbered after."""
    ok, out = st.psql("SELECT outcome, coalesce(detail, '') FROM audit_log"
                      " WHERE tool = 'test_ask' AND id > %d ORDER BY id" % after)
    return [tuple(line.split("|")) for line in out.splitlines()] if ok and out else []


def last_audit_id(st):
    ok, out = st.psql("SELECT coalesce(max(id), 0) FROM audit_log")
    return int(out.strip()) if ok and out.strip() else 0


def held_call(url, bearer, id):
    """Starts a call of test_ask on a new session made with bearer; returns (client,
    stream, the elicitation request) once its request came (request None if it did not)."""
    c = Mcp(url, version="2025-11-25", name=id, bearer=bearer)
    c.initialize(params={"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
                         "clientInfo": {"name": id, "version": "1"}})
    s = post_stream(c, url, call_body(id, "test_ask", {"kind": "elicitation"}))
    got = read_until(s, is_request)
    req = got[-1][1] if got and isinstance(got[-1][1], dict) and is_request(got[-1][1]) \
        else None
    return c, s, req


def finish(c, s, url, req, id, name):
    """Answers req with name (c's bearer) and reads s to the call's response; returns
    (answer status, the response or None)."""
    status = None
    if req:
        status = answer(c, url, req["id"], {"action": "accept",
                                            "content": {"name": name}}).status
    rest = read_until(s, lambda m: m.get("id") == id)
    s.close()
    final = rest[-1][1] if rest and isinstance(rest[-1][1], dict) and \
        rest[-1][1].get("id") == id else None
    return status, final


def refused_ok(t, st, fe, what, status, final, before, name):
    err = (final or {}).get("error") or {}
    rows = audit(st, before)
    t.ok(status == 202 and err.get("code") == -32000 and "revoked" in err.get("message", "")
         and "result" not in (final or {}),
         "%s: %s revoked while its call waits: the answer is taken (202) and the call's "
         "stream ends with the -32000 error naming revocation, not the tool's result"
         % (fe, what), "answer status %r" % status, "final: %r" % final)
    t.ok(rows == [("refused", DETAIL)] and name not in json.dumps(final),
         "%s: %s revoked: one audit row, refused (%s), and the tool did not run again"
         % (fe, what, DETAIL), "rows: %r" % rows)


def check(t, st, fe, url, browser):
    o = oauthlib.OAuth(url)
    client, tok, problems = o.full_flow(browser, USER, PASSWORD)
    t.ok(not problems and tok and tok.get("refresh_token"),
         "%s: an access and refresh token by the authorization code flow" % fe, *problems)
    if problems or not tok:
        return

    # an OAuth access token revoked at /revoke, the answer sent with the refreshed token
    before = last_audit_id(st)
    c, s, req = held_call(url, tok["access_token"], "tok-call")
    r = request("POST", o.url("/revoke"), oauthlib.form_body(
        {"token": tok["access_token"], "token_type_hint": "access_token",
         "client_id": client["client_id"]}), dict(oauthlib.FORM))
    fresh = o.refresh(client["client_id"], tok["refresh_token"])
    t.ok(req is not None and r.status == 200 and fresh.status == 200,
         "%s: the call with the access token waits for its answer; /revoke -> 200, the "
         "refresh -> 200" % fe, r.describe(), fresh.describe())
    c.bearer = (fresh.json or {}).get("access_token", "")
    status, final = finish(c, s, url, req, "tok-call", "Turing")
    refused_ok(t, st, fe, "the access token", status, final, before, "Turing")

    # an API key revoked by the admin command, the answer sent with another key of the user
    key, kid = new_key(st, "held-%s-revoked" % fe)
    other, _ = new_key(st, "held-%s-other" % fe)
    before = last_audit_id(st)
    c, s, req = held_call(url, key, "key-call")
    r = admin(st, "key", "revoke", kid)
    t.ok(key and other and req is not None and r.returncode == 0,
         "%s: the call with an API key waits for its answer; mcpgate key revoke %s -> 0"
         % (fe, kid or "?"), r.stdout, r.stderr)
    c.bearer = other
    status, final = finish(c, s, url, req, "key-call", "Lovelace")
    refused_ok(t, st, fe, "the API key", status, final, before, "Lovelace")

    # a user disabled while the call waits: nobody can answer, the timeout's turn refuses
    gone = "held-gone-%s" % fe
    r = admin(st, "user", "add", gone, stdin=PASSWORD + "\n")
    gone_key, _ = new_key(st, "held-%s-gone" % fe, gone)
    before = last_audit_id(st)
    c, s, req = held_call(url, gone_key, "gone-call")
    r = admin(st, "user", "disable", gone)
    t.ok(gone_key and req is not None and r.returncode == 0,
         "%s: the call of another user waits for its answer; mcpgate user disable -> 0" % fe,
         r.stdout, r.stderr)
    status, final = finish(c, s, url, None, "gone-call", "")
    err = (final or {}).get("error") or {}
    rows = audit(st, before)
    t.ok(err.get("code") == -32000 and "revoked" in err.get("message", "") and
         rows == [("refused", DETAIL)],
         "%s: its user disabled while it waits: at request_timeout_s the call ends with the "
         "-32000 error, audited refused (%s), the tool not run again" % (fe, DETAIL),
         "final: %r" % final, "rows: %r" % rows)

    # the control: a call whose key stays valid runs again with its answer
    before = last_audit_id(st)
    c, s, req = held_call(url, other, "kept-call")
    status, final = finish(c, s, url, req, "kept-call", "Hopper")
    rows = audit(st, before)
    t.ok(status == 202 and "Hopper" in json.dumps((final or {}).get("result")) and
         rows == [("ok", "")],
         "%s: a call whose credential stays valid ends with the tool's result, audited ok"
         % fe, "final: %r" % final, "rows: %r" % rows)


def task_rows(st, after):
    ok, out = st.psql("SELECT outcome, coalesce(detail, '') FROM audit_log"
                      " WHERE tool = 'confirm_delete' AND id > %d ORDER BY id" % after)
    return [tuple(line.split("|")) for line in out.splitlines()] if ok and out else []


def task_with(url, key, id):
    """Starts confirm_delete (on file id) as a task made with key; returns (task id, its
    status once it parked for its input or ended)."""
    res = result(rpc(url, id, "tools/call", {"name": "confirm_delete",
                                             "arguments": {"filename": id}}, bearer=key))
    tid = res.get("taskId") or "none"
    parked = poll(url, tid, ("input_required", "completed", "failed", "cancelled"),
                  bearer=key)
    return tid, parked.get("status")


def check_task(t, st, fe, url):
    key, kid = new_key(st, "task-%s-revoked" % fe)
    other, _ = new_key(st, "task-%s-other" % fe)
    answered = {"confirm": {"action": "accept", "content": {"confirm": True}}}
    before = last_audit_id(st)
    tid, parked = task_with(url, key, "gone-%s" % fe)
    r = admin(st, "key", "revoke", kid)
    u = rpc(url, 2, "tasks/update", {"taskId": tid, "inputResponses": answered}, bearer=other)
    end = poll(url, tid, ("completed", "failed", "cancelled"), 15 * SLOW, bearer=other)
    err = end.get("error") or {}
    rows = task_rows(st, before)
    t.ok(parked == "input_required" and r.returncode == 0 and u.status == 200 and
         end.get("status") == "failed" and err.get("code") == -32000 and
         "revoked" in err.get("message", "") and rows == [("input_required", ""),
                                                           ("refused", DETAIL)],
         "%s: a task whose API key is revoked while it waits for input ends failed with the "
         "-32000 error at its next round, audited refused (%s), the tool not run again"
         % (fe, DETAIL), "parked %r, revoke rc %r" % (parked, r.returncode), u.describe(),
         "end: %r" % end, "rows: %r" % rows)
    before = last_audit_id(st)
    tid, parked = task_with(url, other, "kept-%s" % fe)
    rpc(url, 3, "tasks/update", {"taskId": tid, "inputResponses": answered}, bearer=other)
    end = poll(url, tid, ("completed", "failed", "cancelled"), 15 * SLOW, bearer=other)
    rows = task_rows(st, before)
    t.ok(end.get("status") == "completed" and text_of(end) == "Deleted kept-%s" % fe and
         rows == [("input_required", ""), ("ok", "")],
         "%s: a task whose key stays valid completes with the answer, audited ok" % fe,
         "end: %r" % end, "rows: %r" % rows)


def main():
    t = Tap()
    with Stack(t, servers="lighttpd proxy", responder=test_responder(), config_extra=CONFIG,
               auth="oauth", code_check_servers="proxy") as st:
        r = admin(st, "user", "add", USER, stdin=PASSWORD + "\n")
        t.ok(r.returncode == 0, "mcpgate user add", r.stdout, r.stderr)
        browser = oauthlib.Browser()
        for fe, url in st.front_ends():
            try:
                check(t, st, fe, url, browser)
                check_task(t, st, fe, url)
            except Exception as e:  # a check that could not run fails
                t.ok(False, "%s: the checks ran to their end" % fe, repr(e))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
