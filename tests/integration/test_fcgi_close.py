#!/usr/bin/env python3
"""test_fcgi_close.py - a worker thread is free again as soon as its answer is sent.

libfcgi's own close after an answer shuts the connection down and then waits, in the
worker, until the web server closes its end (or 2 s pass): a web server slow to close
would hold every worker. The responder hands such connections to its linger thread
instead. Checked on the standalone responder (the proxy front end's, `threads = 2`),
speaking FastCGI to its socket directly:

- as many connections as there are workers each get their answer, and are held open
  (not closed by us);
- one more request is answered while the responder still holds every one of them (a
  byte we send on each is taken): no worker was waiting for them to close (with
  libfcgi's close the next worker is free only after one of them was closed by the
  responder, and a send on that one fails with EPIPE);
- the held connections end when we close them, and the responder serves on.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_fcgi_close.py   (TAP)
"""

import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcptest import Stack, Tap  # noqa: E402

THREADS = 2
BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
RESPONDER = 1


def record(rtype, content, rid=1):
    return struct.pack("!BBHHBx", 1, rtype, rid, len(content), 0) + content


def pair(name, value):
    out = b""
    for s in (name, value):
        n = len(s)
        out += struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)
    return out + name + value


def request_bytes(port):
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/health/live", "SCRIPT_NAME": "",
              "PATH_INFO": "/health/live", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
              "SERVER_PORT": str(port), "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST":
              "127.0.0.1:%d" % port, "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": "0"}
    body = b"".join(pair(k.encode(), v.encode()) for k, v in params.items())
    return (record(BEGIN, struct.pack("!HB5x", RESPONDER, 0)) + record(PARAMS, body) +
            record(PARAMS, b"") + record(STDIN, b""))


def answer(sock):
    """(stdout bytes, saw END_REQUEST) read from sock, a 30 s bound per read."""
    sock.settimeout(30)
    buf, out = b"", b""
    while True:
        while len(buf) >= 8:
            _, rtype, _, clen, plen = struct.unpack("!BBHHBx", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            content = buf[8:8 + clen]
            buf = buf[8 + clen + plen:]
            if rtype == STDOUT:
                out += content
            elif rtype == END:
                return out, True
        try:
            data = sock.recv(65536)
        except OSError:
            return out, False
        if not data:
            return out, False
        buf += data


def is_open(sock):
    """True when the responder still holds its end of sock: a byte sent to it is taken.
    (Its answer ended with a shutdown of its sending side, so our reads see EOF either
    way; a send to a socket whose peer closed it fails with EPIPE.)"""
    sock.setblocking(False)
    try:
        return sock.send(b"\0", socket.MSG_NOSIGNAL) == 1
    except OSError:
        return False


def status_of(out):
    head = out.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n"):
        if line.lower().startswith("status:"):
            return int(line.split()[1])
    return 200 if out else None


def main():
    t = Tap()
    with Stack(t, servers="proxy", config_extra="threads = %d" % THREADS) as st:
        path = os.path.join(st.env["STACK_RUNTIME"], "run", "mcpgate.sock")
        t.ok(os.path.exists(path), "the standalone responder listens on %s" % path)
        req = request_bytes(8080)
        held = []
        try:
            for i in range(THREADS):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                s.sendall(req)
                out, end = answer(s)
                held.append(s)
                t.ok(end and status_of(out) == 200,
                     "request %d answered (END_REQUEST, status 200); its connection held open"
                     % (i + 1), out[:300])
            extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            extra.connect(path)
            extra.sendall(req)
            out, end = answer(extra)
            still = [is_open(s) for s in held]
            t.ok(end and status_of(out) == 200,
                 "one more request answered while %d answered connections are held" % THREADS,
                 out[:300])
            t.ok(all(still), "no worker waited for a held connection to close: all %d still "
                 "open when the next answer came (open: %s)" % (THREADS, still))
            extra.close()
        finally:
            for s in held:
                s.close()
        # the linger thread closes its side once ours is closed; the workers serve on
        again = []
        for _ in range(THREADS + 1):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.sendall(req)
            out, end = answer(s)
            again.append(end and status_of(out) == 200)
            s.close()
        t.ok(all(again), "after the held connections are closed, %d more requests answered "
             "(%s)" % (THREADS + 1, again))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
