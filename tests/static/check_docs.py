#!/usr/bin/env python3
"""check_docs.py - the manual pages cover the code (TAP).

- every key config_set() accepts (src/util/config.c, the rs_* keys in
  src/util/config_rs.c) is described in
  docs/man/mcpgate.conf.5 and appears in conf/mcpgate.conf (set or commented out);
- every command of the table in src/cli/main.c has a section in docs/man/mcpgate.8;
- both pages render with groff -man -ww without a warning (when groff is
  installed).
"""
import os
import re
import shutil
import subprocess
import sys

top = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(__file__), "..", "..")
results = []


def ok(cond, name, diag=""):
    results.append((bool(cond), name, diag))


def read(rel):
    with open(os.path.join(top, rel), encoding="utf-8") as f:
        return f.read()


def config_keys():
    src = read("src/util/config.c")
    body = src[src.index("int config_set(") :]
    body = body[: body.index("\nstatic char *trim(")]
    body += read("src/util/config_rs.c")
    keys = re.findall(r'strcmp\(key, "([a-z_]+)"\)', body)
    # the tables of whole numbers in a range (OAuth settings, limits)
    keys += re.findall(r'\{"([a-z_]+)", offsetof', src)
    return sorted(set(keys))


def commands():
    src = read("src/cli/main.c")
    start = src.index("static const struct cli_command commands[]")
    table = src[start : src.index("\n};", start)]
    return re.findall(r'^    \{"([a-z-]+)",', table, re.M)


keys = config_keys()
cmds = commands()
ok(len(keys) >= 25, "config_set() keys found (%d)" % len(keys))
ok(len(cmds) >= 8, "command table entries found (%d)" % len(cmds))

man5 = read("docs/man/mcpgate.conf.5")
conf = read("conf/mcpgate.conf")
# a key is described by a tagged paragraph whose tag is the key in bold
man5_tags = set(re.findall(r"^\.TP\n\.B ([a-z_]+)$", man5, re.M))
conf_keys = set(re.findall(r"^#?([a-z_]+) =", conf, re.M))
for k in keys:
    ok(k in man5_tags, "mcpgate.conf(5) describes %s" % k)
    ok(k in conf_keys, "conf/mcpgate.conf has %s" % k)
for k in sorted(man5_tags - set(keys)):
    ok(False, "mcpgate.conf(5) describes no unknown key", "%s is not accepted by config_set()" % k)

man8 = read("docs/man/mcpgate.8")
sections = set(re.findall(r"^\.SS ([a-z-]+)$", man8, re.M))
for c in cmds:
    ok(c in sections, "mcpgate(8) has a section for mcpgate %s" % c)

groff = shutil.which("groff")
for page in ("docs/man/mcpgate.8", "docs/man/mcpgate.conf.5"):
    if not groff:
        results.append((True, "%s renders # SKIP groff not installed" % page, ""))
        continue
    p = subprocess.run(
        [groff, "-man", "-Tutf8", "-ww", "-z", os.path.join(top, page)],
        capture_output=True,
        text=True,
    )
    ok(p.returncode == 0 and not p.stderr.strip(), "%s renders without warnings" % page, p.stderr)

print("1..%d" % len(results))
failed = 0
for i, (good, name, diag) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if good else "not ok", i, name))
    if not good:
        failed += 1
        for line in (diag or "").splitlines():
            print("# " + line)
sys.exit(1 if failed else 0)
