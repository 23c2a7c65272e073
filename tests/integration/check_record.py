# SPDX-License-Identifier: MIT
# Checks a profile `ftprof record` wrote of tests/targets/split.py: the split
# between three_quarters() and one_quarter(), the lines the target's source
# marks with "# split:" comments, and the format's own rules. Exit 0 when it
# matches; otherwise prints every mismatch.
#
#   check_record.py folded FILE --source split.py [--threads] [--idle]
#   check_record.py speedscope FILE --source split.py --schema SCHEMA
#   check_record.py raw FILE --source split.py --pid PID
import argparse
import json
import re
import sys

problems = []
FRAME = re.compile(r"^(.*) \((.*?)(?::(\d+))?\)$")


def check(cond, msg):
    if not cond:
        problems.append(msg)
    return cond


def matches(source, pattern):
    """(line number, match) for every line of source that pattern matches."""
    with open(source, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.search(pattern, line)
            if m:
                yield n, m


def markers(source):
    found = {}
    for n, m in matches(source, r"# split: (.+)$"):
        found.setdefault(m.group(1).strip(), set()).add(n)
    return found


def def_lines(source):
    """Line of each top-level `def NAME(` in source."""
    return {m.group(1): n for n, m in matches(source, r"^def (\w+)\(")}


def parse_frame(label):
    m = FRAME.match(label)
    if not check(m, "frame %r is not 'function (file:line)'" % label):
        return None, None, None
    return m.group(1), m.group(2), int(m.group(3)) if m.group(3) else None


def check_split(stacks, marks, source, parked=False, function=False):
    """stacks: list of (frame labels outermost first, count). parked: the
    target ran with FTPROF_SPLIT=park. function: recorded with --function,
    so Python frames carry no line."""
    three = one = 0
    hot = set(marks["hot line"])
    defs = def_lines(source)
    callers = set(marks["calls spin_until"])
    innermost_hot = 0
    for frames, count in stacks:
        funcs = [parse_frame(f) for f in frames]
        names = [f[0] for f in funcs]
        if "three_quarters" in names:
            three += count
        if "one_quarter" in names:
            one += count
        for i, (fn, path, line) in enumerate(funcs):
            if function:
                check(line is None, "--function: %s has a line (%r)" % (fn, line))
            elif fn in ("three_quarters", "one_quarter") and path == source:
                # just entered, before its first instruction ran: its def line
                ok = callers | ({defs[fn]} if i == len(funcs) - 1 else set())
                check(line in ok, "%s at line %r (frame %d of %d), the source says %r" %
                      (fn, line, i + 1, len(funcs), sorted(ok)))
        if parked:
            # waiting in threading.py, called from the parked line
            if any(fn == "park_until" and path == source and line in marks["parked line"]
                   for fn, path, line in funcs):
                innermost_hot += count
            continue
        fn, path, line = funcs[-1]
        if fn == "spin_until" and path == source and (function or line in hot | {min(hot) - 1}):
            innermost_hot += count
    total = three + one
    check(total >= 200, "only %d samples in three_quarters/one_quarter" % total)
    if total:
        share = three / total
        check(0.62 <= share <= 0.88, "three_quarters has %.1f%% of %d samples, expected ~75%%" %
              (100 * share, total))
        check(innermost_hot >= 0.9 * total, "only %d of %d samples end in %s" %
              (innermost_hot, total, "park_until's wait" if parked else "spin_until's loop"))
    print("split: three_quarters %d, one_quarter %d" % (round(three), round(one)))


def check_truth(by_thread, truth):
    """by_thread: thread name -> list of (frames, count); truth: name -> the
    share of its time the thread itself measured in three_quarters."""
    for name, want in sorted(truth.items()):
        three = sum(c for s, c in by_thread.get(name, []) if any(parse_frame(f)[0] == "three_quarters" for f in s))
        one = sum(c for s, c in by_thread.get(name, []) if any(parse_frame(f)[0] == "one_quarter" for f in s))
        total = three + one
        if not check(total >= 100, "%s: only %d samples in three_quarters/one_quarter" % (name, total)):
            continue
        share = three / total
        check(abs(share - want) <= 0.1, "%s: three_quarters has %.1f%% of %d samples, the thread measured %.1f%%" %
              (name, 100 * share, total, 100 * want))
        print("truth: %s three_quarters %.1f%% of %d samples, measured %.1f%%" % (name, 100 * share, total, 100 * want))


def allowed_wakeups(args, total):
    """--blocking interrupts sleeping threads each sample; on a loaded machine
    one may still be runnable, restarting its sleep, at the next sample."""
    return total // 10 if args.blocking else 0


def is_native(label):
    """A native frame is `symbol (object)`: no line, not a Python file."""
    fn, path, line = FRAME.match(label).groups() if FRAME.match(label) else (label, "", None)
    return line is None and not path.endswith(".py") and not path.startswith("<")


def folded(args, marks):
    stacks = []
    full = []
    by_thread = {}
    natives = 0
    with open(args.file, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^(.+) (\d+)$", line)
            if not check(m, "not a folded line: %r" % line):
                continue
            frames = m.group(1).split(";")
            if args.threads:
                check(re.match(r'^thread "[^"]*" \(\d+\)$', frames[0]),
                      "--threads: first frame %r is not a thread frame" % frames[0])
                thread, frames = frames[0], frames[1:]
                name = re.match(r'^thread "([^"]*)"', thread)
                if name:
                    by_thread.setdefault(name.group(1), []).append((frames, int(m.group(2))))
            full.append(m.group(1))
            if args.native:
                native = [f for f in frames if is_native(f)]
                natives += int(m.group(2)) if native else 0
                frames = [f for f in frames if not is_native(f)]
            stacks.append((frames, int(m.group(2))))
    check(len(full) == len(set(full)), "a stack appears on two lines")
    if args.truth:
        check_truth(by_thread, dict((k, float(v)) for k, v in (t.split("=") for t in args.truth.split(","))))
        return
    if args.native:
        total = sum(c for _, c in stacks)
        check(natives >= 0.9 * total, "--native: only %d of %d samples have native frames" % (natives, total))
    check_split(stacks, marks, args.source, args.parked, args.function)
    sleeps = set(marks["main sleeps"])
    sleeping = sum(c for s, c in stacks if parse_frame(s[-1])[0] == "main" and
                   (args.function or parse_frame(s[-1])[2] in sleeps))
    total = sum(c for _, c in stacks)
    if args.idle:
        check(sleeping > 0, "--idle: no sample of the sleeping main thread")
    else:
        check(sleeping <= allowed_wakeups(args, total),
              "without --idle, %d samples of the sleeping main thread" % sleeping)


def speedscope(args, marks):
    import jsonschema
    with open(args.file, encoding="utf-8") as f:
        doc = json.load(f)
    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    try:
        jsonschema.validate(doc, {"$ref": "#/definitions/FileFormat.File", **schema})
    except jsonschema.ValidationError as e:
        check(False, "schema: %s" % e.message)
        return
    frames = doc["shared"]["frames"]
    stacks = []
    worker = [p for p in doc["profiles"] if '"worker"' in p["name"]]
    check(len(worker) == 1, "no single profile for the worker thread: %r" %
          [p["name"] for p in doc["profiles"]])
    for p in doc["profiles"]:
        check(p["type"] == "sampled" and len(p["samples"]) == len(p["weights"]),
              "profile %r: samples and weights differ" % p["name"])
        total = sum(p["weights"])
        check(abs(total - p["endValue"]) < 1e-3, "profile %r: weights add up to %g, endValue %g" %
              (p["name"], total, p["endValue"]))
        for s in p["samples"]:
            check(all(0 <= i < len(frames) for i in s), "sample refers to a missing frame")
    for p in worker:
        # weights are seconds: in samples at the rate asked
        for s, w in zip(p["samples"], p["weights"]):
            stacks.append(([frames[i]["name"] for i in s], w * args.rate))
        check(p["endValue"] > 1.0, "worker profile covers %g s" % p["endValue"])
    check_split(stacks, marks, args.source)


def raw(args, marks):
    stacks = []
    with open(args.file, encoding="utf-8") as f:
        lines = f.read().splitlines()
    header = [l for l in lines if l.startswith("#")]
    check(header and ("pid %d" % args.pid) in header[0], "raw header %r lacks the pid" % header[:1])
    last = {}
    tids = set()
    timeline = []  # the worker's samples: (time, in three_quarters)
    lines = [l for l in lines if not l.startswith(("@\t", "%\t"))]  # ticks, CPU times: check_oncpu's
    for line in lines:
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if not check(len(cols) == 14, "raw line with %d columns: %r" % (len(cols), line)):
            continue
        t, tid, state, oncpu, cpu, gil, stack = cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[13]
        check(cpu == "-" or cpu.isdigit(), "cpu column %r" % cpu)
        # raw keeps every sample, whatever its state: --idle is for flame graphs
        check(oncpu in ("-", "0", "1"), "oncpu column %r" % oncpu)
        check(gil in ("-", "0", "1"), "gil column %r" % gil)
        check(int(t) >= last.get(tid, 0), "time goes back for thread %s" % tid)
        last[tid] = int(t)
        tids.add(int(tid))
        if int(tid) != args.pid and stack:
            stacks.append((stack.split(";"), 1))
            timeline.append((int(t), "three_quarters" in stack))
    main = sum(1 for l in lines if l.split("\t")[2:3] == [str(args.pid)])
    check(main > 0, "raw: no sample of the sleeping main thread (raw keeps every state)")
    check(len(tids - {args.pid}) == 1, "samples of %d threads, expected the main thread and the worker" %
          len(tids))
    check_split(stacks, marks, args.source, args.parked)
    if args.parked and len(timeline) > 1:
        # The worker moves twice every 4 quarters (16 ms): a profiler that
        # kept reporting a stack after the thread moved would see few moves.
        span = (timeline[-1][0] - timeline[0][0]) / 1e9
        moves = sum(1 for a, b in zip(timeline, timeline[1:]) if a[1] != b[1])
        expected = 2 * span / (4 * 0.004)
        check(moves >= expected / 3, "the worker moved %d times in %.1f s, expected about %d" %
              (moves, span, expected))
        print("moves: %d in %.1f s (about %d expected)" % (moves, span, expected))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("format", choices=["folded", "speedscope", "raw"])
    ap.add_argument("file")
    ap.add_argument("--source", required=True)
    ap.add_argument("--schema")
    ap.add_argument("--rate", type=float, default=250)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--threads", action="store_true")
    ap.add_argument("--idle", action="store_true")
    ap.add_argument("--blocking", action="store_true")
    ap.add_argument("--native", action="store_true")
    ap.add_argument("--parked", action="store_true")
    ap.add_argument("--function", action="store_true")
    ap.add_argument("--truth", help="NAME=SHARE,...: each thread's own measure of its time in three_quarters")
    args = ap.parse_args()
    marks = markers(args.source)
    {"folded": folded, "speedscope": speedscope, "raw": raw}[args.format](args, marks)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
