#!/usr/bin/env python3
"""test_fcgi_park.py - a connection whose web server sends nothing yet waits without a worker.

A web server connects and then sends its request's records; on a loaded machine, or when
a client holds connections open on purpose, they may come late. The responder (fcgi/park.h)
parks a connection that sent nothing within its short grace instead of holding a worker
on it or closing it. Checked on the standalone responder (the proxy front end's,
`threads = 2`), speaking FastCGI to its socket directly:

- many more silent connections than workers are opened at once; meanwhile a request
  through Apache (mod_proxy_fcgi) is answered: no worker waits on them;
- each of them then sends its request, late: every one is answered (before the park,
  all but the one a worker waited on were closed unanswered, and the web server answered
  its client 503);
- a connection that never sends is closed by the responder once body_timeout_s passed;
- the responder serves on.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_fcgi_park.py   (TAP)
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import SLOW, Stack, Tap, request  # noqa: E402
from test_fcgi_close import answer, request_bytes, status_of  # noqa: E402

THREADS = 2
SILENT = 12  # connections that send late: six times the workers
BODY_TIMEOUT_S = 3
LATE_S = 1.0  # well past the grace (50 ms), well within body_timeout_s


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def closed_by_peer(sock, bound_s):
    """True when the responder closes sock (EOF or reset) within bound_s."""
    sock.settimeout(bound_s)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def main():
    t = Tap()
    cfg = "threads = %d\nbody_timeout_s = %d" % (THREADS, BODY_TIMEOUT_S)
    with Stack(t, servers="proxy", config_extra=cfg) as st:
        path = os.path.join(st.env["STACK_RUNTIME"], "run", "mcpgate.sock")
        url = st.env["URL_PROXY"].rstrip("/")
        req = request_bytes(8080)
        late = []
        try:
            late = [connect(path) for _ in range(SILENT)]
            time.sleep(LATE_S / 2)
            r = request("GET", url + "/health/live")
            t.ok(r.status == 200, "a request through Apache is answered while %d silent "
                 "connections are open" % SILENT, r.describe())
            time.sleep(LATE_S / 2)
            got = []
            for s in late:
                try:
                    s.sendall(req)
                except OSError as e:
                    got.append("send failed: %s" % e)
                    continue
                out, end = answer(s)
                got.append(status_of(out) if end else "no answer")
            t.ok(got == [200] * SILENT, "each of the %d connections that sent its request "
                 "%.1f s late is answered" % (SILENT, LATE_S), got)
        finally:
            for s in late:
                s.close()
        mute = connect(path)
        try:
            t.ok(closed_by_peer(mute, BODY_TIMEOUT_S + 15 * SLOW),
                 "a connection that never sends is closed by the responder after "
                 "body_timeout_s (%d s)" % BODY_TIMEOUT_S)
        finally:
            mute.close()
        s = connect(path)
        s.sendall(req)
        out, end = answer(s)
        s.close()
        t.ok(end and status_of(out) == 200, "the responder serves on", out[:300])
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
