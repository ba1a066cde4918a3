#!/usr/bin/env python3
"""check_metrics_docs.py - the metric names agree everywhere (TAP output):

- examples/grafana/mcpgate-dashboard.json parses as JSON, is a Grafana dashboard
  (title, panels with unique ids and grid positions) and every query names only metrics
  the responder exports (the families of src/route/metrics.c, a histogram with its
  _bucket, _sum and _count series);
- every exported family has a panel, a line in mcpgate(8) section METRICS and a row in
  docs/monitoring.md.
"""
import json
import os
import re
import sys

top = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(__file__), "..", "..")
results = []


def ok(cond, name, diag=""):
    results.append((bool(cond), name, diag))


def read(rel):
    with open(os.path.join(top, rel), encoding="utf-8") as f:
        return f.read()


src = read("src/route/metrics.c")
table = src[src.index("families[] = {"):src.index("};", src.index("families[] = {"))]
families = dict(re.findall(r'\{"(mcpgate_[a-z_]+)", "([a-z]+)"', table))
ok(len(families) >= 10, "families exported by src/route/metrics.c found (%d)" % len(families))
series = set()
for name, typ in families.items():
    series |= {name + s for s in ("_bucket", "_sum", "_count")} if typ == "histogram" else {name}

try:
    dash = json.loads(read("examples/grafana/mcpgate-dashboard.json"))
    parsed = True
except ValueError as e:
    dash, parsed = {}, False
    ok(False, "the dashboard parses as JSON", str(e))
if parsed:
    ok(True, "the dashboard parses as JSON")
    panels = dash.get("panels") or []
    ok(dash.get("title") and panels, "the dashboard has a title and panels")
    ids = [p.get("id") for p in panels]
    ok(len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids), "panel ids unique")
    ok(all({"x", "y", "w", "h"} <= set(p.get("gridPos", {})) for p in panels),
       "every panel has a grid position")
    used, unknown = set(), []
    for p in panels:
        exprs = [t.get("expr", "") for t in p.get("targets", [])]
        ok(exprs and all(exprs), "panel %r has queries" % p.get("title"))
        for e in exprs:
            for m in re.findall(r"\bmcpgate_[a-z_]+", e):
                if m in series:
                    used.add(m)
                else:
                    unknown.append("%s in %r" % (m, p.get("title")))
    ok(not unknown, "the dashboard queries only exported metrics", "; ".join(unknown))
    for name, typ in sorted(families.items()):
        names = {name + s for s in ("_bucket", "_sum", "_count")} if typ == "histogram" \
            else {name}
        ok(names & used, "the dashboard shows %s" % name)

man = read("docs/man/mcpgate.8")
section = man[man.index(".SH METRICS"):man.index(".SH", man.index(".SH METRICS") + 4)]
guide = read("docs/monitoring.md")
for name in sorted(families):
    ok(name in section, "mcpgate(8) METRICS names %s" % name)
    ok("| `%s` | %s |" % (name, families[name]) in guide,
       "docs/monitoring.md has a row for %s (%s)" % (name, families[name]))

for i, (cond, name, diag) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if cond else "not ok", i, name))
    if not cond and diag:
        print("# " + str(diag))
print("1..%d" % len(results))
sys.exit(0 if all(c for c, _, _ in results) else 1)
