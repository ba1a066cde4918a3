#!/usr/bin/env python3
"""test_shared_host.py - a shared host, as a customer meets it, with mcpgate installed by
following docs/deploy-apache-fcgid.md word for word.

The host: a private Apache (Debian's apache2 binary, event MPM) with mod_fcgid at its
defaults (only FcgidIPCDir and FcgidProcessTableFile point into the test's directory),
Debian's "AddHandler fcgid-script .fcgi", suexec from apache2-suexec-custom
(SuexecUserGroup), the customer's web space with `AllowOverride FileInfo AuthConfig
Options` and the customer's own error log; a private PostgreSQL with, per site, a role
that is no superuser, owns one database and may open 10 connections (password over TCP).
The customer is a fresh Unix user; the Apache children run as a fresh web user whose
suexec configuration (/etc/apache2/suexec/USER) the test writes. Both users and that file
are removed at the end, even on failure (finally, atexit and the signal handlers).

The install: the guide's blocks marked `<!-- shared-host: ... -->` (shell run as the
customer in their home, with the binaries uploaded there, and the .htaccess files),
changing only the host name, the database string and (the prefix site) the prefix.

Sites (one virtual host each, same Apache):
  main       suexec, FileInfo AuthConfig Options, at the root: discovery, 401, the
             ChatGPT-style OAuth flow with refresh, API keys, a tool call with progress,
             a notification on a GET /mcp stream, the legacy /sse transport, a resume,
             bodies at and over 128 KiB, nothing secret over HTTP, the customer's log,
             6 GET streams held at once with one PostgreSQL connection per process under
             the role's limit, event latency and padding cost (printed as figures),
             `mcpgate doctor` run by the customer
  nosuexec   no SuexecUserGroup: the responder runs as the web user; then the customer
             drops sse_pad_bytes and max_body_bytes and doctor says what to do
  noauthcfg  AllowOverride FileInfo Options: tokens still work, the rest of the web
             space still serves
  prefix     installed under /mcpgate with the guide's prefix rules
  fileinfo   AllowOverride FileInfo only: mcpgate's directory fails, the rest serves

Needs root (users, suexec, Apache binding as root); skips otherwise.

Run: top_srcdir=. top_builddir=build python3 tests/integration/test_shared_host.py  (TAP)
"""

import atexit
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

os.environ.setdefault("MCPGATE_TEST_TIMEOUT", "300")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
import oauthlib  # noqa: E402
from mcptest import (SLOW, TOP_SRCDIR, Mcp, Tap, free_port, json_bytes, request,  # noqa: E402
                     test_responder)
from test_streams import SSE, is_response, parse  # noqa: E402

GUIDE = os.path.join(TOP_SRCDIR, "docs", "deploy-apache-fcgid.md")
MODULES = "/usr/lib/apache2/modules"
SUEXEC = "/usr/lib/apache2/suexec"
SUEXEC_DIR = "/etc/apache2/suexec"
ROLE_CONN_LIMIT = 10
GUIDE_HOST = "https://example.org"
GUIDE_DB = "postgresql://alice:secret@localhost/alice_mcpgate"
PASSWORD = "correct horse battery staple"
ACCEPT = "application/json, text/event-stream"
LATEST = "2025-11-25"
MARK = re.compile(r"^<!-- shared-host: (.+) -->$")


def sh(args, timeout=60, **kw):
    if kw.get("input") is None:
        kw.pop("input", None)
        kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout * SLOW, **kw)


def guide_blocks():
    """{name: text} of the guide's blocks marked <!-- shared-host: NAME -->."""
    with open(GUIDE, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out = {}
    i = 0
    while i < len(lines):
        m = MARK.match(lines[i])
        i += 1
        if not m:
            continue
        fm = re.match(r"^(```+|~~~+)", lines[i] if i < len(lines) else "")
        if not fm:
            raise ValueError("%s: marker %r is not followed by a fenced block"
                             % (GUIDE, m.group(1)))
        end = i + 1
        while end < len(lines) and not lines[end].startswith(fm.group(1)):
            end += 1
        out[m.group(1)] = "\n".join(lines[i + 1:end]) + "\n"
        i = end + 1
    return out


class Host:
    """The host: users, suexec configuration, PostgreSQL, Apache. stop() undoes all of it
    and may run more than once (finally, atexit, signal handlers)."""

    def __init__(self, tap):
        self.t = tap
        tag = secrets.token_hex(3)
        self.cust = "mgcust" + tag
        self.web = "mgweb" + tag
        self.root = tempfile.mkdtemp(prefix="mcpgate-host.")
        os.chmod(self.root, 0o711)
        self.users = []
        self.suexec_conf = None
        self.pg_data = None
        self.apache = None
        self.stopped = False
        self.sites = {}

    # -- undo -------------------------------------------------------------------------
    def stop(self):
        if self.stopped:
            return
        self.stopped = True
        if self.apache and self.apache.poll() is None:
            try:
                os.kill(self.apache.pid, signal.SIGTERM)
                self.apache.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.apache.pid, signal.SIGKILL)
                except OSError:
                    pass
        for user in self.users:
            self._kill_user_processes(user)
        if self.pg_data:
            sh(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
                self.pgbin + "/pg_ctl", "-D", self.pg_data, "stop", "-m", "immediate", "-w"],
               cwd="/")
        if self.suexec_conf:
            try:
                os.unlink(self.suexec_conf)
            except FileNotFoundError:
                pass
        for user in reversed(self.users):
            self._kill_user_processes(user)
            sh(["userdel", user])
            sh(["groupdel", user])  # the user's own group, if userdel left it
        self.users = []
        if os.environ.get("MCPGATE_KEEP_HOST") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def _kill_user_processes(self, user):
        """SIGKILL every process of a user this test created (so no other's)."""
        try:
            uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            return
        for _ in range(50):
            pids = []
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        if os.stat("/proc/" + d).st_uid == uid:
                            pids.append(int(d))
                    except OSError:
                        pass
            if not pids:
                return
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)

    # -- users ------------------------------------------------------------------------
    def add_users(self):
        homes = os.path.join(self.root, "home")
        os.makedirs(homes, mode=0o711)
        os.chmod(homes, 0o711)
        for user, home in ((self.web, "/nonexistent"),
                           (self.cust, os.path.join(homes, self.cust))):
            r = sh(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                    home, "--shell", "/bin/sh", user])
            if r.returncode != 0:
                raise RuntimeError("useradd %s: %s" % (user, r.stderr))
            self.users.append(user)
        pw = pwd.getpwnam(self.cust)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.homes = homes
        # Apache's children run as the web user in group www-data: suexec (mode 4754
        # root:www-data) is executable by that group only.
        self.suexec_conf = os.path.join(SUEXEC_DIR, self.web)
        with open(self.suexec_conf, "x") as f:
            f.write("%s\npublic_html\n" % homes)

    def new_home(self, name):
        """A home directory of the customer for one site (suexec checks only the docroot,
        not the passwd entry; each site is a separate install)."""
        home = os.path.join(self.homes, self.cust, name)
        os.makedirs(home, exist_ok=True)
        for d in (os.path.join(self.homes, self.cust), home):
            os.chown(d, self.uid, self.gid)
            os.chmod(d, 0o711)
        for sub, mode in (("public_html", 0o755), ("logs", 0o750)):
            p = os.path.join(home, sub)
            os.makedirs(p, exist_ok=True)
            os.chown(p, self.uid, self.gid)
            os.chmod(p, mode)
        return home

    def as_customer(self, args, home, **kw):
        env = {"HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "USER": self.cust, "LOGNAME": self.cust, "SHELL": "/bin/sh"}
        return sh(["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid,
                   "--init-groups"] + args, env=env, cwd=home, **kw)

    # -- PostgreSQL -------------------------------------------------------------------
    def start_pg(self):
        bins = sorted(d for d in os.listdir("/usr/lib/postgresql"))
        self.pgbin = "/usr/lib/postgresql/%s/bin" % bins[-1]
        pgdir = os.path.join(self.root, "pg")
        os.makedirs(pgdir, mode=0o700)
        shutil.chown(pgdir, "postgres", "postgres")
        self.pg_data = os.path.join(pgdir, "data")
        self.pg_sock = pgdir
        self.pg_port = free_port()
        self.pg_log = os.path.join(pgdir, "log")
        as_pg = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        r = sh(as_pg + [self.pgbin + "/initdb", "-D", self.pg_data, "-U", "postgres",
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8"],
               cwd="/", timeout=120)
        if r.returncode != 0:
            raise RuntimeError("initdb: " + r.stderr)
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c max_connections=100" % (self.pg_port, pgdir))
        r = sh(as_pg + [self.pgbin + "/pg_ctl", "-D", self.pg_data, "-l", self.pg_log, "-o",
                        opts, "-w", "start"], cwd="/", timeout=60)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start: %s %s" % (r.stdout, r.stderr))

    def psql(self, sql, db="postgres"):
        r = sh(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", self.pg_sock,
                "-p", str(self.pg_port), "-U", "postgres", "-d", db, "-c", sql])
        if r.returncode != 0:
            raise RuntimeError("psql %r: %s" % (sql, r.stderr))
        return r.stdout.strip()

    def add_role(self, name):
        """A role as a host gives it: no superuser, its own database, 10 connections."""
        pw = secrets.token_urlsafe(18)
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOCREATEDB NOCREATEROLE "
                  "CONNECTION LIMIT %d" % (name, pw, ROLE_CONN_LIMIT))
        self.psql("CREATE DATABASE %s OWNER %s" % (name, name))
        self.psql("REVOKE ALL ON DATABASE %s FROM PUBLIC" % name)
        return pw, "postgresql://%s:%s@127.0.0.1:%d/%s" % (name, pw, self.pg_port, name)

    def connections(self, role):
        return int(self.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = '%s'"
                             % role))

    # -- Apache -----------------------------------------------------------------------
    def write_apache(self, sites):
        ad = os.path.join(self.root, "apache")
        os.makedirs(os.path.join(ad, "fcgid"), mode=0o755)
        shutil.chown(os.path.join(ad, "fcgid"), self.web, "www-data")
        self.apache_dir = ad
        self.host_log = os.path.join(ad, "error.log")
        mods = ["mpm_event", "authn_core", "authz_core", "authz_host", "authz_user",
                "auth_basic", "authn_file", "access_compat", "alias", "dir", "mime", "env",
                "setenvif", "rewrite", "filter", "deflate", "reqtimeout", "status",
                "autoindex", "negotiation", "suexec", "fcgid"]
        lines = ["ServerRoot %s" % ad, "PidFile %s/httpd.pid" % ad,
                 "Mutex file:%s default" % ad, "DefaultRuntimeDir %s" % ad,
                 "ServerName 127.0.0.1", "User %s" % self.web, "Group www-data",
                 "ErrorLog %s" % self.host_log, "LogLevel warn",
                 "TypesConfig /etc/mime.types", "Timeout 300", "KeepAlive On",
                 "AccessFileName .htaccess", "HostnameLookups Off"]
        lines += ["LoadModule %s_module %s/mod_%s.so" % (m, MODULES, m) for m in mods]
        # Debian's apache2.conf and mods-available/fcgid.conf, mod_fcgid otherwise at its
        # defaults (the IPC paths only, which Debian keeps under /var/lib/apache2).
        lines += ['<Directory />', '    Options FollowSymLinks', '    AllowOverride None',
                  '    Require all denied', '</Directory>',
                  '<FilesMatch "^\\.ht">', '    Require all denied', '</FilesMatch>',
                  "DirectoryIndex index.html",
                  "FcgidIPCDir %s/fcgid" % ad, "FcgidProcessTableFile %s/fcgid.shm" % ad,
                  "FcgidConnectTimeout 20", "AddHandler fcgid-script .fcgi"]
        for name, s in sites.items():
            lines.append("Listen 127.0.0.1:%d" % s["port"])
        for name, s in sites.items():
            lines += ["<VirtualHost 127.0.0.1:%d>" % s["port"],
                      "    ServerName 127.0.0.1",
                      "    DocumentRoot %s/public_html" % s["home"],
                      "    ErrorLog %s/logs/error.log" % s["home"]]
            if s["suexec"]:
                lines.append("    SuexecUserGroup %s %s" % (self.cust, self.cust))
            lines += ['    <Directory "%s/public_html">' % s["home"],
                      "        Options SymLinksIfOwnerMatch",
                      "        AllowOverride %s" % s["override"],
                      "        Require all granted", "    </Directory>", "</VirtualHost>"]
        self.apache_conf = os.path.join(ad, "apache2.conf")
        with open(self.apache_conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start_apache(self):
        out = open(os.path.join(self.apache_dir, "stdout.log"), "w")
        self.apache = subprocess.Popen(["apache2", "-f", self.apache_conf, "-DFOREGROUND"],
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                       start_new_session=True, cwd="/")
        for s in self.sites.values():
            deadline = time.monotonic() + 20 * SLOW
            while time.monotonic() < deadline:
                if self.apache.poll() is not None:
                    raise RuntimeError("Apache exited: " + open(out.name).read()[-2000:] +
                                       tail(self.host_log))
                try:
                    socket.create_connection(("127.0.0.1", s["port"]), 1).close()
                    break
                except OSError:
                    time.sleep(0.1)


def tail(path, n=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError as e:
        return str(e)


# ---------------------------------------------------------------------------
# The install, from the guide


def install(host, t, site, blocks):
    """Installs mcpgate into site's home the way the guide says. Returns problems."""
    home = site["home"]
    base = site["base"]
    p = []
    upload = os.path.join(home, "upload")
    os.makedirs(upload, exist_ok=True)
    os.chown(upload, host.uid, host.gid)
    for binary in (test_responder(), os.path.join(mcptest.TOP_BUILDDIR, "src", "mcpgate")):
        dst = os.path.join(upload, os.path.basename(binary).replace("mcpgate-test.fcgi",
                                                                   "mcpgate.fcgi"))
        shutil.copyfile(binary, dst)
        os.chown(dst, host.uid, host.gid)
        os.chmod(dst, 0o755)

    def subst(text):
        return text.replace(GUIDE_HOST + "/mcpgate" if site["prefix"] else GUIDE_HOST,
                            base).replace(GUIDE_DB, site["db"]).replace(GUIDE_HOST, base)

    script = subst(blocks["install"])
    if site["prefix"]:
        # the guide: "set base_url = https://example.org/mcpgate"
        script = script.replace("base_url = " + base.rsplit("/mcpgate", 1)[0] + "\n",
                                "base_url = " + base + "\n")
    if not site["suexec"]:
        script += blocks["no-suexec"]
    r = host.as_customer(["sh", "-e", "-c", script], home, timeout=120)
    if r.returncode != 0 or "not found" in r.stdout:
        p.append("the install block failed (rc %d):\n%s\n%s" % (r.returncode, r.stdout,
                                                               r.stderr))
    r = host.as_customer(["sh", "-e", "-c", blocks["admin"]], home,
                         input=PASSWORD + "\n", timeout=60)
    if r.returncode != 0:
        p.append("user add failed: %s %s" % (r.stdout, r.stderr))
    for name, text in blocks.items():
        m = re.match(r"^(prefix )?file (~/\S+)$", name)
        if not m:
            continue
        # the prefix install takes a "prefix file" where the guide gives one
        if bool(m.group(1)) != site["prefix"] and \
                (not site["prefix"] or "prefix file " + m.group(2) in blocks):
            continue
        dst = os.path.join(home, m.group(2)[2:])
        r = host.as_customer(["sh", "-c", 'cat > "$1"', "sh", dst], home, input=text)
        if r.returncode != 0:
            p.append("writing %s: %s" % (m.group(2), r.stderr))
    return p


def admin(host, site, *args, stdin=None):
    home = site["home"]
    return host.as_customer([home + "/mcpgate/bin/mcpgate", "--config",
                             home + "/mcpgate/mcpgate.conf"] + list(args), home,
                            input=stdin)


# ---------------------------------------------------------------------------
# Checks


def bearer(token):
    return {"Authorization": "Bearer " + token}


def session(url, token, name="shared-host"):
    c = Mcp(url, version=LATEST, name=name)
    orig = c.headers

    def headers(extra=None, session=True):
        h = orig(extra, session)
        h.update(bearer(token))
        return h
    c.headers = headers
    r = c.initialize()
    return c, r


def check_basics(t, site, name):
    """Discovery, the 401 and an API key's tool call; returns the key or None."""
    base = site["base"]
    u = urllib.parse.urlsplit(base)
    origin = "%s://%s" % (u.scheme, u.netloc)
    prefix = u.path
    r = request("GET", origin + "/.well-known/oauth-protected-resource" + prefix + "/mcp")
    t.ok(r.status == 200 and r.json and r.json.get("resource") == base + "/mcp",
         "%s: protected resource metadata at /.well-known/oauth-protected-resource%s/mcp"
         % (name, prefix), r.describe())
    r = request("GET", origin + "/.well-known/oauth-authorization-server" + prefix)
    t.ok(r.status == 200 and r.json and r.json.get("issuer") == base,
         "%s: authorization server metadata names issuer %s" % (name, base), r.describe())
    r = request("POST", base + "/mcp", json_bytes({"jsonrpc": "2.0", "id": 1,
                                                   "method": "ping"}),
                {"Content-Type": "application/json", "Accept": ACCEPT})
    www = r.header("WWW-Authenticate") or ""
    t.ok(r.status == 401 and "resource_metadata=" in www,
         "%s: /mcp without a token -> 401 naming the resource metadata" % name, r.describe(),
         "the site's error log: " + tail(site["home"] + "/logs/error.log", 1500))
    r = admin(site["host"], site, "key", "create", "alice", "--name", "laptop")
    key = (r.stdout.strip().split() or [""])[-1]
    m = re.search(r"(mgk_[A-Za-z0-9_\-]+)", r.stdout)
    key = m.group(1) if m else None
    if not t.ok(r.returncode == 0 and key, "%s: `mcpgate --config ... key create` as the "
                "customer" % name, r.stdout, r.stderr):
        return None
    c, r = session(base, key)
    t.ok(r.status == 200 and c.sid, "%s: an API key opens an MCP session (the "
         "Authorization header reaches the responder)" % name, r.describe())
    r = c.tool("echo", {"message": "hello from %s" % name})
    t.ok(r.status == 200 and "hello from" in (mcptest.tool_text(r) or ""),
         "%s: tools/call with the API key" % name,
         r.describe())
    r = request("GET", origin + "/index.html")
    t.ok(r.status == 200 and b"customer page" in r.body,
         "%s: the rest of the web space is served as before" % name, r.describe())
    return key


def check_oauth(t, site):
    base = site["base"]
    oa = oauthlib.OAuth(base)
    br = oauthlib.Browser()
    client, tok, p = oa.full_flow(br, "alice", PASSWORD)
    t.check("main: ChatGPT-style flow: dynamic registration, sign-in, consent, PKCE code "
            "exchange", p)
    if not tok:
        return None
    c, r = session(base, tok["access_token"], "chatgpt")
    t.ok(r.status == 200, "main: the OAuth access token opens a session", r.describe())
    r = oa.refresh(client["client_id"], tok.get("refresh_token", ""))
    t.ok(r.status == 200 and r.json and r.json.get("access_token"),
         "main: the refresh token gives a new access token", r.describe())
    new = r.json.get("access_token") if r.json else None
    if new:
        c2, r = session(base, new, "chatgpt-refreshed")
        t.ok(r.status == 200, "main: the refreshed token works", r.describe())
    return tok


class Timed:
    """Reads an SSE response, stamping each event with its arrival time and the bytes
    received before it."""

    def __init__(self, method, url, body, headers, timeout):
        self.t0 = time.monotonic()
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        self.conn.request(method, u.path + ("?" + u.query if u.query else ""),
                          body=json_bytes(body) if body is not None else None,
                          headers={k: v for k, v in headers.items() if v is not None})
        self.nbytes = 0
        self.comment_bytes = 0
        self.pads = 0  # padding lines (sse_pad_bytes)
        self.pings = 0  # heartbeats
        try:
            self.resp = self.conn.getresponse()
            self.status = self.resp.status
        except (OSError, http.client.HTTPException):
            # nothing, not even the status line, within the timeout: held back
            self.resp = None
            self.status = None
        self.t_head = time.monotonic() - self.t0

    def next(self):
        ev = {"id": None, "event": None, "data": None}
        seen = False
        while self.resp is not None:
            try:
                line = self.resp.readline()
            except (OSError, http.client.HTTPException):
                line = b""
            if not line:
                return (dict(ev, at=time.monotonic() - self.t0, bytes=self.nbytes)
                        if seen else None)
            self.nbytes += len(line)
            s = line.decode("utf-8", "replace").rstrip("\r\n")
            if s == "":
                if seen:
                    return dict(ev, at=time.monotonic() - self.t0, bytes=self.nbytes)
                continue
            if s.startswith(":"):
                self.comment_bytes += len(line)
                if len(line) >= 64:
                    self.pads += 1
                else:
                    self.pings += 1
                continue
            field, _, value = s.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                ev["data"] = value if ev["data"] is None else ev["data"] + "\n" + value
                seen = True
            elif field in ("id", "event"):
                ev[field] = value
                seen = True
        return None

    def close(self):
        self.conn.close()


def check_streams(t, site, key, figures):
    base = site["base"]
    c, r = session(base, key, "streams")
    hdr = c.headers({"Accept": ACCEPT})
    # a tool call with progress: 3 notifications 1 s apart, each must arrive before the
    # next is sent (not all at the end)
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "test_stream", "arguments": {"count": 3, "interval_ms": 1500},
                       "_meta": {"progressToken": "p"}}}
    s = Timed("POST", base + "/mcp", body, hdr, 30 * SLOW)
    evs = []
    while True:
        ev = s.next()
        if ev is None:
            break
        evs.append(ev)
    s.close()
    prog = [e for e in evs if (parse(e) or {}).get("method") == "notifications/progress"]
    final = [e for e in evs if is_response(e, 7)]
    p = []
    if s.status != 200 or len(prog) != 3 or not final:
        p.append("status %s, %d progress events, response %s" % (s.status, len(prog),
                                                                 bool(final)))
    elif not prog[0]["at"] < final[0]["at"] - 2.0:
        p.append("the first progress event arrived at %.2fs, the response at %.2fs: held "
                 "back by the output buffer" % (prog[0]["at"], final[0]["at"]))
    t.check("main: tools/call with progress: each event arrives as it is sent (%s)"
            % ", ".join("%.2fs" % e["at"] for e in prog + final), p)
    if prog and final:
        figures["progress_first_s"] = prog[0]["at"]
        data_events = [e for e in evs if e["data"]]
        figures["post_stream_events"] = len(evs)
        figures["post_stream_bytes"] = s.nbytes
        figures["post_stream_payload_bytes"] = sum(len(e["data"] or "") for e in data_events)
        figures["post_stream_pads"] = s.pads
        figures["pad_bytes_per_push"] = (s.comment_bytes / s.pads) if s.pads else 0
        figures["heartbeats_seen"] = s.pings

    # a notification on a GET /mcp stream: subscribe, open the stream, change the
    # resource from another session; the notification must arrive within seconds
    uri = "test://watched-resource"
    r = c.call("resources/subscribe", {"uri": uri})
    t.ok(r.status == 200, "main: resources/subscribe", r.describe())
    g = Timed("GET", base + "/mcp", None, c.headers({"Accept": "text/event-stream",
                                                     "Content-Type": None}), 15 * SLOW)
    head_at = g.t_head
    other, _ = session(base, key, "updater")
    got = {}

    def update():
        time.sleep(1.0)
        got["sent"] = time.monotonic() - g.t0
        other.tool("test_update_resource", {"uri": uri})

    th = threading.Thread(target=update)
    th.start()
    ev = None
    while True:
        ev = g.next()
        if ev is None or "resources/updated" in (ev.get("data") or ""):
            break
    th.join()
    g.close()
    p = []
    if g.status != 200:
        p.append("status %s" % g.status)
    if ev is None:
        p.append("the stream ended without the notification")
    lat = ev["at"] - got.get("sent", 0) if ev else None
    t.check("main: GET /mcp: the stream starts at once (%.2fs) and a notification arrives "
            "while it is open (%s after it was sent)"
            % (head_at, "%.2fs" % lat if lat is not None else "never"), p)
    if lat is not None:
        figures["notification_latency_s"] = lat
        figures["get_stream_head_s"] = head_at

    # a resume: drop a stream mid-call, resume with Last-Event-ID
    body = {"jsonrpc": "2.0", "id": 11, "method": "tools/call",
            "params": {"name": "test_stream", "arguments": {"count": 4, "interval_ms": 700},
                       "_meta": {"progressToken": 1}}}
    s = Timed("POST", base + "/mcp", body, hdr, 30 * SLOW)
    first = []
    while len([e for e in first if e["data"]]) < 2:
        ev = s.next()
        if ev is None:
            break
        first.append(ev)
    s.close()
    last = first[-1]["id"] if first else ""
    g = Timed("GET", base + "/mcp", None,
              c.headers({"Accept": "text/event-stream", "Content-Type": None,
                         "Last-Event-ID": last}), 30 * SLOW)
    rest = []
    while True:
        ev = g.next()
        if ev is None:
            break
        rest.append(ev)
        if is_response(ev, 11):
            break
    g.close()
    seqs = [int(e["id"].rsplit(".", 1)[1]) for e in first + rest if e["id"]]
    t.ok(g.status == 200 and rest and is_response(rest[-1], 11) and
         seqs == list(range(seqs[0], seqs[0] + len(seqs))),
         "main: a stream dropped mid-call resumes with Last-Event-ID, nothing lost or "
         "repeated (%d + %d events, the rest in %.2fs)"
         % (len(first), len(rest), rest[-1]["at"] if rest else -1),
         repr([e["id"] for e in first]), repr([(e["id"], e["at"]) for e in rest]))

    # the legacy HTTP+SSE transport: the endpoint event must come at once
    g = Timed("GET", base + "/sse", None, dict(bearer(key), Accept="text/event-stream"),
              30 * SLOW)
    ep = g.next()
    ok = g.status == 200 and ep and ep["event"] == "endpoint" and \
        (ep["data"] or "").startswith(urllib.parse.urlsplit(base).path + "/messages?")
    t.ok(ok, "main: GET /sse: the endpoint event arrives at once (%.2fs)"
         % (ep["at"] if ep else -1), repr(ep))
    if ok:
        figures["sse_endpoint_s"] = ep["at"]
        origin = "%s://%s" % (urllib.parse.urlsplit(base).scheme,
                              urllib.parse.urlsplit(base).netloc)
        post = origin + ep["data"]
        h = dict(bearer(key), **{"Content-Type": "application/json"})
        r = request("POST", post, json_bytes({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2024-11-05", "capabilities": {},
                       "clientInfo": {"name": "legacy", "version": "1"}}}), h)
        ev = g.next()
        while ev is not None and not is_response(ev, 1):
            ev = g.next()
        t.ok(r.status == 202 and ev is not None and
             (parse(ev) or {}).get("result", {}).get("protocolVersion") == "2024-11-05",
             "main: legacy client: initialize over /messages, the result on the /sse "
             "stream (%.2fs)" % (ev["at"] if ev else -1), r.describe(), repr(ev))
    g.close()


HELD_STREAMS = 6


def fresh_keys(t, site, n):
    """n API keys of a user of their own, so that the held-stream caps (streams_per_user 6,
    streams_per_token 4) count only this check's streams, not those the earlier checks
    dropped and whose leases the responders give back at their next heartbeat."""
    r = admin(site["host"], site, "user", "add", "carol", stdin=PASSWORD + "\n")
    t.diag("user add carol: rc %d %s" % (r.returncode, r.stderr.strip()))
    keys = []
    for i in range(n):
        r = admin(site["host"], site, "key", "create", "carol", "--name", "held%d" % i)
        m = re.search(r"(mgk_[A-Za-z0-9_\-]+)", r.stdout)
        if m:
            keys.append(m.group(1))
    return keys


def check_connections(t, host, site, key, figures):
    """Streams held open by several processes at once: each process holds at most one
    PostgreSQL connection, within the role's limit."""
    base = site["base"]
    keys = fresh_keys(t, site, 2) or [key]
    sessions = [session(base, keys[i % len(keys)], "held%d" % i)[0]
                for i in range(HELD_STREAMS)]
    release = threading.Event()
    opened = []
    lock = threading.Lock()

    def hold(c):
        g = Timed("GET", base + "/mcp", None, c.headers({"Accept": "text/event-stream",
                                                         "Content-Type": None}), 20 * SLOW)
        with lock:
            opened.append(g.status)
        release.wait(30 * SLOW)
        g.close()

    ths = [threading.Thread(target=hold, args=(c,)) for c in sessions]
    for th in ths:
        th.start()
    deadline = time.monotonic() + 25 * SLOW
    while time.monotonic() < deadline and len(opened) < HELD_STREAMS:
        time.sleep(0.1)
    time.sleep(0.5)  # every stream waits now
    n = host.connections(site["role"])
    nproc = len([d for d in os.listdir("/proc") if d.isdigit() and
                 _is_responder(d, site["home"])])
    release.set()
    for th in ths:
        th.join()
    t.ok(opened.count(200) == HELD_STREAMS and n <= nproc and n <= ROLE_CONN_LIMIT,
         "main: %d GET streams held at once: %d responder processes hold %d PostgreSQL "
         "connection(s), at most one each, within the role's limit of %d"
         % (HELD_STREAMS, nproc, n, ROLE_CONN_LIMIT), repr(opened))
    figures["held_streams_processes"] = nproc
    figures["held_streams_connections"] = n


def doctor(host, site):
    r = admin(host, site, "doctor", "--url", site["base"] + "/mcp", "--json")
    try:
        out = json.loads(r.stdout)
    except ValueError:
        return r, {}
    return r, {c["name"]: c for c in out.get("checks", [])}


def check_doctor(t, host, site):
    """mcpgate doctor, run by the customer, sees the host's defaults and that the guide's
    settings meet them."""
    r, checks = doctor(host, site)
    want = ("sse-streaming", "authorization", "request-length", "stream-timeouts",
            "wellknown-resource", "wellknown-as", "base-url", "schema")
    bad = ["%s: %s %s" % (n, checks.get(n, {}).get("status"), checks.get(n, {}).get("seen"))
           for n in want if checks.get(n, {}).get("status") != "PASS"]
    t.ok(r.returncode == 0 and not bad, "main: mcpgate doctor as the customer: every check "
         "passes under the host's defaults with the guide's settings", *bad, r.stderr[-500:])
    seen = checks.get("sse-streaming", {}).get("seen", "")
    t.ok("buffers" in seen and "sse_pad_bytes = 65537" in seen,
         "main: doctor sees the host's output buffer and that sse_pad_bytes pushes through it",
         seen)


def check_doctor_fixes(t, host, site):
    """A customer whose mcpgate.conf lacks the guide's sse_pad_bytes and max_body_bytes:
    doctor says what they can set themselves and what to ask the host for."""
    conf = os.path.join(site["home"], "mcpgate", "mcpgate.conf")
    with open(conf) as f:
        text = f.read()
    text = re.sub(r"(?m)^(sse_pad_bytes|max_body_bytes) = .*\n", "", text)
    r = host.as_customer(["sh", "-c", 'cat > "$1"', "sh", conf], site["home"], input=text)
    for d in os.listdir("/proc"):  # the site's responders read the file again
        if d.isdigit() and _is_responder(d, site["home"]):
            try:
                os.kill(int(d), signal.SIGTERM)
            except OSError:
                pass
    time.sleep(1)
    r, checks = doctor(host, site)
    sse = checks.get("sse-streaming", {})
    size = checks.get("request-length", {})
    t.ok(r.returncode == 1 and sse.get("status") == "FAIL" and
         "sse_pad_bytes = 65537" in sse.get("fix", {}).get("shared_host_customer", "") and
         "FcgidOutputBufferSize 0" in sse.get("fix", {}).get("shared_host_ask", ""),
         "nosuexec, without sse_pad_bytes: doctor finds the stream buffered and says to set "
         "sse_pad_bytes or ask the host for FcgidOutputBufferSize 0", json.dumps(sse))
    t.ok(size.get("status") == "FAIL" and
         "max_body_bytes = 131072" in size.get("fix", {}).get("shared_host_customer", "") and
         "FcgidMaxRequestLen" in size.get("fix", {}).get("shared_host_ask", ""),
         "nosuexec, max_body_bytes at its default 1 MiB: doctor finds bodies stopped by the "
         "web server and says to set max_body_bytes = 131072 or ask for FcgidMaxRequestLen",
         json.dumps(size))


def check_fileinfo_only(t, site):
    """A host that allows only FileInfo: the wrapper's `Options +ExecCGI` is refused, which
    breaks mcpgate's own directory only, never the rest of the web space."""
    r = request("GET", site["base"] + "/index.html")
    t.ok(r.status == 200 and b"customer page" in r.body,
         "fileinfo: with AllowOverride FileInfo only, the rest of the web space is still "
         "served", r.describe())
    r = request("POST", site["base"] + "/mcp", json_bytes({"jsonrpc": "2.0", "id": 1,
                                                           "method": "ping"}),
                {"Content-Type": "application/json", "Accept": ACCEPT})
    t.ok(r.status == 500 and r.json is None,
         "fileinfo: and mcpgate's paths get Apache's 500 (Options not allowed in its "
         "directory), as the guide says", r.describe(300))


def check_bodies(t, site, key):
    base = site["base"]
    c, r = session(base, key, "bodies")
    msg = "x" * (100 * 1024)
    r = c.tool("echo", {"message": msg})
    t.ok(r.status == 200 and msg in (mcptest.tool_text(r) or ""),
         "main: a 100 KiB body reaches mcpgate",
         r.describe(300))
    big = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
           "params": {"name": "echo", "arguments": {"message": "y" * (130 * 1024)}}}
    r = request("POST", base + "/mcp", json_bytes(big), c.headers())
    t.ok(r.status == 500 and r.json is None,
         "main: a body over 128 KiB (FcgidMaxRequestLen's default) gets Apache's 500 before "
         "mcpgate sees it, as the guide says", r.describe(300))
    r = c.tool("echo", {"message": "still here"})
    t.ok(r.status == 200 and "still here" in (mcptest.tool_text(r) or ""),
         "main: and the next request is served",
         r.describe())


def check_secrets(t, host, site, pw):
    base = site["base"]
    home = site["home"]
    conf = open(os.path.join(home, "mcpgate", "mcpgate.conf")).read()
    leaks = []
    paths = ["/mcpgate.conf", "/mcpgate/mcpgate.conf", "/.htaccess", "/mcpgate/.htaccess",
             "/mcpgate/", "/mcpgate/mcpgate.fcgi", "/../mcpgate/mcpgate.conf",
             "/%2e%2e/mcpgate/mcpgate.conf", "/~%s/mcpgate/mcpgate.conf" % host.cust,
             "/mcpgate/log/mcpgate.log", "/logs/error.log", "/mcp/../../mcpgate/mcpgate.conf"]
    for path in paths:
        r = request("GET", base + path)
        body = r.body or b""
        if pw.encode() in body or b"database" in body or (r.status == 200 and
                                                          b"HTTP_AUTHORIZATION" in body):
            leaks.append("%s -> %d %r" % (path, r.status, body[:200]))
    st = os.stat(os.path.join(home, "mcpgate", "mcpgate.conf"))
    t.ok(not leaks and pw in conf and st.st_mode & 0o077 == 0,
         "main: nothing secret over HTTP (%d paths tried), the configuration is mode %o"
         % (len(paths), st.st_mode & 0o777), *leaks)


def check_log(t, host, site, secrets_):
    path = os.path.join(site["home"], "mcpgate", "log", "mcpgate.log")
    r = host.as_customer(["cat", path], site["home"])
    text = r.stdout
    st = os.stat(path) if os.path.exists(path) else None
    t.ok(r.returncode == 0 and "responder started" in text and st and st.st_uid == host.uid,
         "main: the customer reads mcpgate's log in log_file (%d lines)" % text.count("\n"),
         r.stderr, tail(host.host_log, 800))
    found = [s[:6] + "..." for s in secrets_ if s and mcptest.secret_in(text, s)]
    t.ok(not found, "main: no secret in the customer's log", *found)
    logs = [text, tail(host.host_log, 10 ** 6)]
    for s in host.sites.values():
        logs += [tail(os.path.join(s["home"], "mcpgate", "log", "mcpgate.log"), 10 ** 6),
                 tail(os.path.join(s["home"], "logs", "error.log"), 10 ** 6)]
    bad = [ln for ln in "\n".join(logs).splitlines()
           if "AddressSanitizer" in ln or "runtime error:" in ln or "LeakSanitizer" in ln]
    t.ok(not bad, "no sanitizer report in the logs of any site or the host", *bad[:20])


def main():
    t = Tap()
    if os.geteuid() != 0:
        t.skip("a shared host", "needs root: it creates the customer's Unix user, suexec's "
               "configuration and an Apache that binds as root")
        return t.done()
    missing = [p for p in (SUEXEC, MODULES + "/mod_fcgid.so", MODULES + "/mod_suexec.so")
               if not os.path.exists(p)]
    r = sh([SUEXEC, "-V"]) if not missing else None
    if missing or "SUEXEC_CONFIG_DIR" not in (r.stderr + r.stdout):
        t.ok(False, "apache2, libapache2-mod-fcgid and apache2-suexec-custom are installed "
             "(scripts/deps.sh test)", repr(missing))
        return t.done()
    blocks = guide_blocks()
    need = ["install", "no-suexec", "admin", "file ~/public_html/.htaccess",
            "file ~/public_html/mcpgate/.htaccess", "prefix file ~/public_html/.htaccess"]
    if not t.ok(all(b in blocks for b in need), "the guide has the shared-hosting blocks",
                repr(sorted(blocks))):
        return t.done()
    mcptest._install_handlers()
    host = Host(t)
    mcptest._STACKS.append(host)  # its signal handlers and atexit stop it too
    atexit.register(host.stop)
    try:
        run(t, host, blocks)
    except Exception:  # noqa: BLE001 - a broken host is a failed check, then cleanup
        import traceback
        t.ok(False, "the shared host runs", traceback.format_exc(),
             "host's error log: " + tail(getattr(host, "host_log", "/dev/null")))
    finally:
        host.stop()
        for u in (host.cust, host.web):
            try:
                pwd.getpwnam(u)
                t.ok(False, "user %s removed" % u)
            except KeyError:
                pass
        t.ok(not os.path.exists(os.path.join(SUEXEC_DIR, host.web)),
             "the test's users and suexec configuration are removed again")
    return t.done()


def run(t, host, blocks):
    host.add_users()
    host.start_pg()
    variants = [("main", True, "FileInfo AuthConfig Options", False),
                ("nosuexec", False, "FileInfo AuthConfig Options", False),
                ("noauthcfg", True, "FileInfo Options", False),
                ("prefix", True, "FileInfo AuthConfig Options", True),
                ("fileinfo", True, "FileInfo", False)]
    for name, suexec, override, prefix in variants:
        home = host.new_home(name)
        port = free_port()
        role = "%s_%s" % (host.cust, name)
        pw, db = host.add_role(role)
        base = "http://127.0.0.1:%d%s" % (port, "/mcpgate" if prefix else "")
        host.sites[name] = {"home": home, "port": port, "suexec": suexec,
                            "override": override, "prefix": prefix, "base": base,
                            "db": db, "pw": pw, "role": role, "host": host}
        with open(os.path.join(home, "public_html", "index.html"), "w") as f:
            f.write("<p>customer page</p>\n")
    host.write_apache(host.sites)
    for name, site in host.sites.items():
        p = install(host, t, site, blocks)
        t.check("%s: installed by the guide's commands, as the customer" % name, p)
    host.start_apache()
    figures = {}
    main_site = host.sites["main"]
    key = check_basics(t, main_site, "main")
    tok = check_oauth(t, main_site)
    if key:
        check_streams(t, main_site, key, figures)
        check_connections(t, host, main_site, key, figures)
        check_bodies(t, main_site, key)
    check_secrets(t, host, main_site, main_site["pw"])
    n = host.connections(main_site["role"])
    nproc = len([d for d in os.listdir("/proc") if d.isdigit() and
                 _is_responder(d, main_site["home"])])
    t.ok(n <= ROLE_CONN_LIMIT and n <= max(1, nproc),
         "main: %d PostgreSQL connection(s) for %d responder process(es), within the role's "
         "limit of %d" % (n, nproc, ROLE_CONN_LIMIT))
    figures["connections"] = n
    figures["processes"] = nproc
    check_doctor(t, host, main_site)
    for name in ("nosuexec", "noauthcfg", "prefix"):
        check_basics(t, host.sites[name], name)
    check_doctor_fixes(t, host, host.sites["nosuexec"])
    check_fileinfo_only(t, host.sites["fileinfo"])
    check_log(t, host, main_site, [main_site["pw"], key or "",
                                   (tok or {}).get("access_token", "")])
    if figures:
        t.diag("figures under the host's defaults: " + json.dumps(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))


def _is_responder(pid, home):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return (home + "/mcpgate/bin/mcpgate.fcgi").encode() in f.read()
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
