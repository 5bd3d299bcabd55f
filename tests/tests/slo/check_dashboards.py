"""Checks generated Grafana dashboards with independent tools (run by tests/tests/slo.rs):

- a round trip through the Grafana foundation SDK (`Dashboard.from_json`, then back to
  JSON) is idempotent and keeps every panel, query and variable;
- every panel expression and variable selector parses with promql-parser once Grafana's
  variables are substituted; every range selector is `$__rate_interval`;
- every variable a query names is defined by the dashboard.

Usage: python3 check_dashboards.py FILE.json...   Prints one line per dashboard; exits 1
with the problems on stderr.
"""

import json
import re
import sys
from datetime import timedelta

import promql_parser
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

register_default_plugins()

RATE_INTERVAL = "4711s"
GLOBALS = {"__rate_interval": RATE_INTERVAL, "__range": "4712s", "__interval": "4713s"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
# Keys the SDK's model does not keep; nothing else may be lost.
MAY_DROP = {"definition"}


def round_trip(d):
    return json.loads(json.dumps(Dashboard.from_json(d), cls=JSONEncoder))


def panels(d):
    for p in d.get("panels", []):
        yield p
        yield from p.get("panels", [])


def variable_query(v):
    q = v.get("query")
    return q.get("query", "") if isinstance(q, dict) else (q or "")


def substitute(expr, defined):
    """Grafana's globals become durations, variables inside strings stay (they are text
    to PromQL), any other variable becomes a number."""

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return GLOBALS.get(name, "1")

    out, in_string = [], False
    for piece in re.split(r'("(?:[^"\\]|\\.)*")', expr):
        if piece.startswith('"') and len(piece) > 1:
            out.append(piece)
        else:
            out.append(VARIABLE.sub(repl, piece))
    return "".join(out)


def names_used(text):
    return {a or b or c for a, b, c in VARIABLE.findall(text)}


def check(path):
    problems = []
    d = json.load(open(path))
    once = round_trip(d)
    twice = round_trip(once)
    if once != twice:
        problems.append("the SDK round trip is not idempotent")
    lost = set(d) - set(once)
    if lost:
        problems.append(f"top-level keys lost in the round trip: {sorted(lost)}")
    before, after = list(panels(d)), list(panels(once))
    if len(before) != len(after):
        problems.append(f"{len(before)} panels became {len(after)}")
    for p, q in zip(before, after):
        for key in ("type", "title", "gridPos"):
            if p.get(key) != q.get(key):
                problems.append(f"panel {p.get('title')!r}: {key} changed in the round trip")
        exprs = [t.get("expr") for t in p.get("targets", [])]
        if exprs != [t.get("expr") for t in q.get("targets", [])]:
            problems.append(f"panel {p.get('title')!r}: queries changed in the round trip")
    vars_before = d.get("templating", {}).get("list", [])
    vars_after = once.get("templating", {}).get("list", [])
    for v, w in zip(vars_before, vars_after):
        for key in ("name", "type"):
            if v.get(key) != w.get(key):
                problems.append(f"variable {v.get('name')}: {key} changed")
        if variable_query(v) != variable_query(w):
            problems.append(f"variable {v.get('name')}: query changed")
        extra = set(v) - set(w) - MAY_DROP
        if extra:
            problems.append(f"variable {v.get('name')}: keys lost {sorted(extra)}")

    defined = {v["name"] for v in vars_before}
    rate = promql_parser.parse_duration(RATE_INTERVAL)
    queries = 0
    for p in before:
        for t in p.get("targets", []):
            expr = t.get("expr", "")
            queries += 1
            unknown = {n for n in names_used(expr) if not n.startswith("__")} - defined
            if unknown:
                problems.append(f"panel {p.get('title')!r}: undefined variables {sorted(unknown)}")
            try:
                ast = promql_parser.parse(substitute(expr, defined))
            except ValueError as e:
                problems.append(f"panel {p.get('title')!r}: does not parse: {e}: {expr}")
                continue
            ranges = []
            promql_parser.walk(ast, lambda n: ranges.append(n.range) if isinstance(n, promql_parser.MatrixSelector) else None)
            for r in ranges:
                if r != rate:
                    problems.append(
                        f"panel {p.get('title')!r}: range [{promql_parser.display_duration(r)}] is not $__rate_interval: {expr}"
                    )
    for v in vars_before:
        q = variable_query(v)
        unknown = {n for n in names_used(q) if not n.startswith("__")} - defined
        if unknown:
            problems.append(f"variable {v['name']}: undefined variables {sorted(unknown)}")
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q, re.S)
        if v.get("type") == "query":
            if not m:
                problems.append(f"variable {v['name']}: not label_values(selector, label): {q}")
                continue
            try:
                promql_parser.parse(substitute(m.group(1), defined))
            except ValueError as e:
                problems.append(f"variable {v['name']}: selector does not parse: {e}")
    print(f"{path}: {len(before)} panels, {queries} queries, {len(vars_before)} variables, "
          f"{len(problems)} problems")
    return problems


def main():
    failed = False
    for path in sys.argv[1:]:
        for problem in check(path):
            failed = True
            print(f"{path}: {problem}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
