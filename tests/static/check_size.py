#!/usr/bin/env python3
"""check_size.py - keeps the sources readable (TAP output): no .c file of src/ over
MAX_FILE lines and no function over MAX_FUNC lines (from the line of its name to its
closing brace). Functions are found by the layout clang-format gives them: a definition
starts at column 0 and its body opens and closes with a brace at column 0.
"""
import os
import re
import sys

MAX_FILE = 800
MAX_FUNC = 120

# Files and functions still over the limits: each entry is a debt, to be paid and
# removed; the list only shrinks (an entry that is no longer over fails too).
ALLOW = {
}

top = os.environ.get("top_srcdir", ".")
src = os.path.join(top, "src")


def functions(path):
    """(name, first line, length) of every function definition in path: a body
    opens with "{" alone at column 0 and ends at the next "}" at column 0; the
    definition starts at the nearest line above that starts at column 0."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.rstrip() != "{":
            continue
        start = i - 1
        while start > 0 and (not lines[start] or lines[start][0].isspace()):
            start -= 1
        end = i + 1
        while end < len(lines) and not lines[end].startswith("}"):
            end += 1
        m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\(", " ".join(lines[start:i]))
        out.append((m.group(1) if m else "?", start + 1, end - start + 1))
    return out


n = 0
fail = 0


def check(desc, bad):
    global n, fail
    n += 1
    if not bad:
        print(f"ok {n} - {desc}")
    else:
        print(f"not ok {n} - {desc}")
        for b in bad:
            print(f"# {b}")
        fail = 1


files = sorted(
    os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".c")
)
long_files, long_funcs, allowed_seen = [], [], set()
for path in files:
    rel = os.path.relpath(path, src)
    count = open(path, encoding="utf-8").read().count("\n")
    if count > MAX_FILE:
        if rel in ALLOW:
            allowed_seen.add(rel)
        else:
            long_files.append(f"src/{rel}: {count} lines (at most {MAX_FILE})")
    for name, first, length in functions(path):
        if length > MAX_FUNC:
            key = f"{rel}:{name}"
            if key in ALLOW:
                allowed_seen.add(key)
            else:
                long_funcs.append(f"src/{rel}:{first}: {name}() is {length} lines (at most {MAX_FUNC})")
check(f"no .c file of src/ is over {MAX_FILE} lines", long_files)
check(f"no function of src/ is over {MAX_FUNC} lines", long_funcs)
check(
    "every entry of the allow-list is still over its limit (remove paid debts)",
    [f"{k} is within the limits now: remove it from ALLOW" for k in sorted(set(ALLOW) - allowed_seen)],
)
print(f"1..{n}")
sys.exit(fail)
