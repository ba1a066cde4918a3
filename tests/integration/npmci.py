"""npmci.py - the npm packages a test script needs, installed exactly as pinned.

ensure(tap, name) makes $top_builddir/tests/NAME/node_modules match
$top_srcdir/tests/NAME/package.json and package-lock.json: it copies both there and runs
`npm ci` (the lockfile's versions, nothing resolved at run time) unless a stamp left by
the last install shows the same two files. The source tree stays clean; each build
directory (build/, build-san/, distcheck's) has its own copy, from npm's cache after
the first. Test scripts sharing one directory (tests/openapi/) run at once under
make -j: the check and the install are done under a lock on DIR.npm-lock, so one
installs and the others wait for it and find its stamp.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess

from mcptest import TOP_BUILDDIR, TOP_SRCDIR

NPM_TIMEOUT_S = 600
# tests/idp/'s files, the same for every test that uses them (test_idp.py,
# test_resource_server.py): another set would make each test's install undo the other's
IDP_FILES = ("package.json", "package-lock.json", "provider.mjs", "resource_server.mjs")
STAMP = ".mcpgate-npm-ci"


def _digest(src, files=("package.json", "package-lock.json")):
    h = hashlib.sha256()
    for f in files:
        with open(os.path.join(src, f), "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def ensure(tap, name):
    """Returns the directory whose node_modules holds tests/NAME's packages, or None after
    reporting why not (a failed TAP line)."""
    return install(tap, name, os.path.join(TOP_SRCDIR, "tests", name),
                   os.path.join(TOP_BUILDDIR, "tests", name))


def idp(tap):
    """Returns the directory of tests/idp/'s packages and scripts (oidc-provider), installed
    with IDP_FILES, or None after reporting why not."""
    return install(tap, "idp", os.path.join(TOP_SRCDIR, "tests", "idp"),
                   os.path.join(TOP_BUILDDIR, "tests", "idp"), IDP_FILES)


def install(tap, name, src, dst, files=("package.json", "package-lock.json")):
    """Copies files from src to dst and runs `npm ci` there, unless a stamp shows it was done
    for the same files. Returns dst, or None after reporting why not (a failed TAP line).
    One install at a time per dst, across processes."""
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    with open(os.path.abspath(dst) + ".npm-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install_locked(tap, name, src, dst, files)


def _install_locked(tap, name, src, dst, files):
    want = _digest(src, files)
    stamp = os.path.join(dst, "node_modules", STAMP)
    try:
        with open(stamp) as f:
            if f.read().strip() == want:
                return dst
    except OSError:
        pass
    npm = shutil.which("npm")
    if not tap.ok(npm is not None, "%s: npm is installed (to install the pinned packages)"
                  % name, "PATH=%s" % os.environ.get("PATH")):
        return None
    os.makedirs(dst, exist_ok=True)
    if os.path.realpath(src) != os.path.realpath(dst):
        for f in files:
            shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    try:
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=dst,
                           capture_output=True, text=True, timeout=NPM_TIMEOUT_S,
                           stdin=subprocess.DEVNULL)
        rc, out = r.returncode, (r.stdout + r.stderr)[-3000:]
    except (OSError, subprocess.TimeoutExpired) as e:
        rc, out = -1, str(e)
    if not tap.ok(rc == 0, "%s: npm ci installs the pinned packages" % name,
                  "npm ci in %s exited %s:" % (dst, rc), out):
        return None
    with open(stamp, "w") as f:
        f.write(want + "\n")
    return dst
