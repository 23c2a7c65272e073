# SPDX-License-Identifier: MIT
# Checks a Firefox Profiler file `ftprof record -f gecko` wrote: against
# tests/gecko/processed-profile.schema.json (ftprof's schema of the
# profiler's processed format, from the profiler's type definitions), the
# references between its tables, and, given a workload, what it must show.
# Exit 0 when it matches; otherwise prints every mismatch.
#
#   check_gecko.py FILE                          the format alone
#   check_gecko.py FILE --split SOURCE           tests/targets/split.py: the
#       worker's samples split 3:1 between three_quarters and one_quarter
#   check_gecko.py FILE --truth TRUTH.json       tests/targets/states.py: each
#       thread's state markers, lock waits and CPU graph as its truth says
import argparse
import json
import os
import sys

problems = []
SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gecko",
                      "processed-profile.schema.json")
# docs/states.md's states, as ftprof's categories name them
CATEGORY = {"unknown": "Other", "running": "Python", "native": "Native", "lock": "Lock", "wait": "Wait",
            "gil": "GIL", "io": "IO", "sleep": "Idle", "stw": "Stop-the-world", "gc": "GC",
            "runnable": "Runnable"}


def check(cond, msg):
    if not cond:
        problems.append(msg)
    return cond


def validate(doc):
    import jsonschema
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    for e in errors[:10]:
        check(False, "schema: at %s: %s" % ("/".join(str(p) for p in e.path), e.message))
    return not errors


def integrity(doc):
    """Every index points into its table; every column has its table's length."""
    sh = doc["shared"]
    strings = sh["stringArray"]
    for name in ("stackTable", "frameTable", "funcTable", "resourceTable", "nativeSymbols", "sources",
                 "sourceLocationTable"):
        t = sh[name]
        for col, v in t.items():
            if col != "length":
                check(len(v) == t["length"], "%s.%s has %d rows, length %d" % (name, col, len(v), t["length"]))
    st, fr, fn = sh["stackTable"], sh["frameTable"], sh["funcTable"]
    for i, (f, off) in enumerate(zip(st["frame"], st["prefixOffset"])):
        check(0 <= f < fr["length"], "stack %d: frame %d" % (i, f))
        check(0 <= off <= i, "stack %d: prefixOffset %d points outside" % (i, off))
    ncat = len(doc["meta"]["categories"])
    for i, (f, c) in enumerate(zip(fr["func"], fr["category"])):
        check(0 <= f < fn["length"], "frame %d: func %d" % (i, f))
        check(c is None or 0 <= c < ncat, "frame %d: category %r" % (i, c))
    for i, (n, s) in enumerate(zip(fn["name"], fn["source"])):
        check(0 <= n < len(strings), "func %d: name %d" % (i, n))
        check(s is None or 0 <= s < sh["sources"]["length"], "func %d: source %r" % (i, s))
    for i, n in enumerate(sh["sources"]["filename"]):
        check(0 <= n < len(strings), "source %d: filename %d" % (i, n))
    check(doc["meta"]["sampleUnits"]["threadCPUDelta"] in ("µs", "ns"), "sampleUnits")
    names = [s["name"] for s in doc["meta"]["markerSchema"]]
    for t in doc["threads"]:
        s, m = t["samples"], t["markers"]
        for col in ("stack", "time", "threadCPUDelta"):
            check(len(s[col]) == s["length"], "thread %r: samples.%s" % (t["name"], col))
        check(all(x is None or 0 <= x < st["length"] for x in s["stack"]), "thread %r: a sample's stack" % t["name"])
        check(all(a <= b for a, b in zip(s["time"], s["time"][1:])), "thread %r: time goes back" % t["name"])
        for col in ("data", "name", "startTime", "endTime", "phase", "category"):
            check(len(m[col]) == m["length"], "thread %r: markers.%s" % (t["name"], col))
        for d, n, a, b, c in zip(m["data"], m["name"], m["startTime"], m["endTime"], m["category"]):
            check(d["type"] in names, "marker type %r without a schema" % d["type"])
            check(0 <= n < len(strings), "marker name %d" % n)
            check(a <= b, "marker ends (%g) before it starts (%g)" % (b, a))
            check(0 <= c < ncat, "marker category %d" % c)


def leaf_functions(doc, stack):
    """The function names of a stack, innermost first."""
    sh = doc["shared"]
    st, fr, fn, strings = sh["stackTable"], sh["frameTable"], sh["funcTable"], sh["stringArray"]
    out = []
    while stack is not None:
        out.append(strings[fn["name"][fr["func"][st["frame"][stack]]]])
        off = st["prefixOffset"][stack]
        stack = stack - off if off else None
    return out


def stack_category(doc, stack):
    sh = doc["shared"]
    return sh["frameTable"]["category"][sh["stackTable"]["frame"][stack]]


def split(doc):
    worker = [t for t in doc["threads"] if t["name"] == "worker"]
    if not check(len(worker) == 1, "no single thread track named worker: %r" % [t["name"] for t in doc["threads"]]):
        return
    three = one = 0
    for s in worker[0]["samples"]["stack"]:
        funcs = leaf_functions(doc, s) if s is not None else []
        three += "three_quarters" in funcs
        one += "one_quarter" in funcs
    total = three + one
    if check(total >= 200, "only %d worker samples in three_quarters/one_quarter" % total):
        check(0.62 <= three / total <= 0.88, "three_quarters has %.1f%% of %d samples, expected ~75%%" %
              (100 * three / total, total))
    main = [t for t in doc["threads"] if t["isMainThread"]]
    check(len(main) == 1 and main[0]["name"] == "MainThread", "no main thread track")
    print("gecko split: three_quarters %d, one_quarter %d" % (three, one))


def intervals(t, kind):
    """(start, end, data) of the thread's markers of one type."""
    m = t["markers"]
    return [(a, b, d) for a, b, d in zip(m["startTime"], m["endTime"], m["data"]) if d["type"] == kind]


def states(doc, truth):
    by_tid = {t["tid"]: t for t in doc["threads"]}
    cats = [c["name"] for c in doc["meta"]["categories"]]
    for th in truth["threads"]:
        t = by_tid.get(th["tid"])
        if not check(t, "no track for thread %s (%d)" % (th["name"], th["tid"])):
            continue
        check(t["name"] == th["name"], "thread %d is named %r, not %r" % (th["tid"], t["name"], th["name"]))
        rule = th["rules"][0]
        allowed = set(rule["states"])
        marks = intervals(t, "ThreadState")
        span = sum(b - a for a, b, _ in marks)
        right = sum(b - a for a, b, d in marks if d["state"] in allowed)
        if check(span > 500, "%s: state markers cover %.0f ms" % (th["name"], span)):
            check(right >= 0.9 * span, "%s: %.0f of %.0f ms in %s" % (th["name"], right, span, sorted(allowed)))
        # each sample's category is its state's
        stacks = [s for s in t["samples"]["stack"] if s is not None]
        in_cat = sum(1 for s in stacks if cats[stack_category(doc, s)] in {CATEGORY[a] for a in allowed})
        check(stacks and in_cat >= 0.9 * len(stacks), "%s: %d of %d samples in the categories of %s" %
              (th["name"], in_cat, len(stacks), sorted(allowed)))
        for state, want in rule.get("waits", {}).items():
            waits = [(a, b, d) for a, b, d in intervals(t, "LockWait") if d["state"] == state]
            wspan = sum(b - a for a, b, _ in waits)
            good = 0
            for a, b, d in waits:
                ok = d["kind"] == want["kind"]
                if "address" in want:
                    ok = ok and d.get("address") == want["address"]
                if isinstance(want.get("holder"), int):
                    ok = ok and d.get("holder") == want["holder"]
                    holder = by_tid.get(want["holder"])
                    ok = ok and holder is not None and d.get("holderName") == holder["name"]
                good += (b - a) if ok else 0
            if check(span and wspan >= 0.9 * span, "%s: wait markers cover %.0f of %.0f ms" % (th["name"], wspan, span)):
                check(good >= 0.9 * wspan, "%s: %.0f of %.0f ms of waits on %r" % (th["name"], good, wspan, want))
        # the CPU graph: microseconds on a CPU between samples
        cpu = sum(x or 0 for x in t["samples"]["threadCPUDelta"][1:])
        times = t["samples"]["time"]
        wall = (times[-1] - times[0]) * 1000 if len(times) > 1 else 0
        if allowed <= {"sleep", "io", "lock", "wait"}:
            check(cpu <= 0.05 * wall, "%s: %.0f µs on a CPU in %.0f µs of waiting" % (th["name"], cpu, wall))
        elif th["name"] in ("running", "native"):
            check(cpu >= 0.2 * wall, "%s: only %.0f µs on a CPU in %.0f µs" % (th["name"], cpu, wall))
        print("gecko %s: %.0f%% of %.0f ms in %s, CPU %.0f%%" % (th["name"], 100 * right / span if span else 0, span,
              "/".join(sorted(allowed)), 100 * cpu / wall if wall else 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--split", action="store_true")
    ap.add_argument("--truth")
    args = ap.parse_args()
    with open(args.file, encoding="utf-8") as f:
        doc = json.load(f)
    if validate(doc):
        integrity(doc)
    if not problems and args.split:
        split(doc)
    if not problems and args.truth:
        with open(args.truth, encoding="utf-8") as f:
            states(doc, json.load(f))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
