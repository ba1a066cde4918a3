#!/usr/bin/env python3
"""check_snippets.py - the guides quote conf/ exactly (TAP).

A guide in docs/ marks a quoted file with a line

    <!-- snippet: conf/FILE -->            the whole file
    <!-- snippet: conf/FILE lines A-B -->  lines A to B (from 1, inclusive)

right before a fenced code block (``` or ~~~). The block's text must equal
the file (or those lines) byte for byte. Also: every web server snippet in
conf/ is quoted by at least one guide, and every deploy guide quotes one.
"""
import glob
import os
import re
import sys

top = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(__file__), "..", "..")
MARK = re.compile(r"^<!-- snippet: (\S+)(?: lines (\d+)-(\d+))? -->$")
results = []


def ok(cond, name, diag=""):
    results.append((bool(cond), name, diag))


quoted = set()
for guide in sorted(glob.glob(os.path.join(top, "docs", "*.md"))):
    rel_guide = os.path.relpath(guide, top)
    with open(guide, encoding="utf-8") as f:
        lines = f.read().split("\n")
    marks = 0
    i = 0
    while i < len(lines):
        m = MARK.match(lines[i])
        i += 1
        if not m:
            continue
        marks += 1
        path, a, b = m.group(1), m.group(2), m.group(3)
        where = "%s:%d %s%s" % (rel_guide, i, path, " lines %s-%s" % (a, b) if a else "")
        fence = lines[i] if i < len(lines) else ""
        fm = re.match(r"^(```+|~~~+)", fence)
        if not fm:
            ok(False, where, "the marker is not followed by a fenced block")
            continue
        end = i + 1
        while end < len(lines) and not lines[end].startswith(fm.group(1)):
            end += 1
        if end == len(lines):
            ok(False, where, "the fenced block is not closed")
            break
        block = "\n".join(lines[i + 1 : end]) + "\n"
        i = end + 1
        try:
            with open(os.path.join(top, path), encoding="utf-8", newline="") as f:
                text = f.read()
        except OSError as e:
            ok(False, where, str(e))
            continue
        if a:
            flines = text.splitlines(keepends=True)
            text = "".join(flines[int(a) - 1 : int(b)])
        quoted.add(path)
        diag = ""
        if block != text:
            bl, tl = block.splitlines(), text.splitlines()
            for n in range(max(len(bl), len(tl))):
                x = bl[n] if n < len(bl) else "<end>"
                y = tl[n] if n < len(tl) else "<end>"
                if x != y:
                    diag = "first difference at line %d of the block:\n guide: %r\n file:  %r" % (
                        n + 1,
                        x,
                        y,
                    )
                    break
        ok(block == text, "%s is what %s says" % (where, path), diag)
    if os.path.basename(guide).startswith("deploy-"):
        ok(marks > 0, "%s quotes a snippet from conf/" % rel_guide)

for conf in sorted(glob.glob(os.path.join(top, "conf", "*-mcpgate*.conf"))):
    rel = os.path.relpath(conf, top)
    ok(rel in quoted, "a guide quotes %s" % rel)

print("1..%d" % len(results))
failed = 0
for n, (good, name, diag) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if good else "not ok", n, name))
    if not good:
        failed += 1
        for line in (diag or "").splitlines():
            print("# " + line)
sys.exit(1 if failed else 0)
