#!/usr/bin/env python3
"""test_session_expiry.py - an expired session is refused with 404 -32001 on every front end
(behaviour.md rule 9). Runs its own stack with STACK_CONFIG_EXTRA="session_ttl_s = 2".

Run: top_srcdir=. top_builddir=. python3 tests/integration/test_session_expiry.py   (TAP on stdout)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import ANY_ID, Mcp, Stack, Tap, check_logs, expect_error, ping_ok  # noqa: E402

TTL_S = 2


def main():
    t = Tap()
    # under valgrind and ASan through lighttpd only (the default build runs all three):
    # expiry is the responder's and PostgreSQL's, the same behind each front end
    with Stack(t, config_extra="session_ttl_s = %d" % TTL_S, code_check_servers="lighttpd") as st:
        clients = []
        for fe, url in st.front_ends():
            c = Mcp(url, name="ttl-" + fe)
            r = c.initialize()
            if t.check("%s: initialize" % fe, [] if c.sid else ["no session"], r):
                p, r = ping_ok(c)
                t.check("%s: ping right away" % fe, p, r)
                clients.append((fe, c, time.monotonic()))
        if clients:
            wait = clients[-1][2] + TTL_S + 1.5 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        for fe, c, _ in clients:
            r = c.call("ping", id=3)
            t.check("%s: ping with an expired session -> 404 -32001" % fe,
                    expect_error(r, 404, -32001, (None, 3)), r)
            r = c.notify("notifications/initialized")
            t.check("%s: notification with an expired session -> 404 -32001" % fe,
                    expect_error(r, 404, -32001, ANY_ID), r)
            n = Mcp(c.base_url)
            r = n.initialize()
            p, pr = ping_ok(n) if n.sid else (["no new session"], r)
            t.check("%s: a new initialize works after the expiry" % fe, p, pr)
        check_logs(t, st)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
