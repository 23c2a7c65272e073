# SPDX-License-Identifier: MIT
# Checks `ftprof dump` output of tests/targets/parked.py against the places
# the target's source marks with "# park:" comments. Exit 0 when it matches;
# otherwise prints every mismatch.
import argparse
import json
import os
import re
import sys

problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
    return cond


def markers(source):
    found = {}
    with open(source, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.search(r"# park: ([\w-]+)", line)
            if m:
                found.setdefault(m.group(1), []).append(n)
    return found


def is_target_file(path):
    return path.endswith("parked.py")


def frame_name(fr, qualnames):
    return fr["qualname"] if qualnames else fr["function"]


def check_json(doc, args, marks):
    check(doc.get("format") == 1, "format is %r, not 1" % doc.get("format"))
    check(doc.get("pid") == args.pid, "pid %r, expected %d" % (doc.get("pid"), args.pid))
    py = doc.get("python", {})
    check(py.get("version") == args.version, "python.version %r, interpreter says %r" %
          (py.get("version"), args.version))
    check(py.get("free_threaded") == args.free_threaded, "python.free_threaded %r, expected %r" %
          (py.get("free_threaded"), args.free_threaded))
    check(os.path.realpath(py.get("executable", "")) == os.path.realpath(args.executable),
          "python.executable %r, expected %r" % (py.get("executable"), args.executable))
    threads = doc.get("threads", [])
    expected = args.workers + 3
    check(len(threads) == expected, "%d threads, expected %d" % (len(threads), expected))
    tasks = set(int(t) for t in os.listdir("/proc/%d/task" % args.pid))
    tids = [t["tid"] for t in threads]
    check(len(set(tids)) == len(tids), "duplicate tids %r" % tids)
    for t in threads:
        check(t["tid"] in tasks, "tid %r is not a task of %d" % (t["tid"], args.pid))
        check(not t["torn"] and not t["truncated"], "thread %r torn/truncated" % t["tid"])
        if args.free_threaded:
            check(t["holds_gil"] is None, "free-threaded thread %r: holds_gil %r, expected null" %
                  (t["tid"], t["holds_gil"]))

    by_name = {t["name"]: t for t in threads}
    mains = [t for t in threads if t["main"]]
    check(len(mains) == 1, "%d main threads" % len(mains))
    if mains:
        m = mains[0]
        check(m["tid"] == args.pid, "main thread tid %r, expected the pid %d" % (m["tid"], args.pid))
        check(m["name"] == "MainThread", "main thread name %r" % m["name"])
        check(m["state"] == "lock", "main thread state %r, expected lock" % m["state"])
        fr = m["frames"]
        want = [("Parker.park_main" if args.qualnames else "park_main", marks["main"][0]),
                ("main", marks["main-caller"][0]), ("<module>", marks["module"][0])]
        got = [(frame_name(f, args.qualnames), f["line"]) for f in fr]
        check(got == want, "main thread frames %r, expected %r" % (got, want))
        check(all(is_target_file(f["file"]) for f in fr), "main thread files %r" %
              [f["file"] for f in fr])

    for i in range(args.workers):
        t = by_name.get("worker-%d" % i)
        if not check(t is not None, "no thread named worker-%d" % i):
            continue
        fr = t["frames"]
        check(t["state"] == "lock", "worker-%d state %r, expected lock" % (i, t["state"]))
        check(t["holds_gil"] is not True, "worker-%d holds the GIL" % i)
        check(len(fr) >= 2 and fr[0]["function"] == "blocked_on_lock" and
              fr[0]["line"] == marks["worker"][0] and is_target_file(fr[0]["file"]),
              "worker-%d innermost frame %r, expected blocked_on_lock at line %d" %
              (i, fr[:1], marks["worker"][0]))
        check(len(fr) >= 2 and fr[1]["function"] == "run" and fr[1]["file"].endswith("threading.py"),
              "worker-%d second frame %r, expected threading's run" % (i, fr[1:2]))

    t = by_name.get("deep-ünïcode")
    if check(t is not None, "no thread named deep-ünïcode (names: %r)" % list(by_name)):
        fr = t["frames"]
        deep = [f for f in fr if f["function"] == "récursion_profonde"]
        check(len(deep) == args.depth + 1, "%d récursion_profonde frames, expected %d" %
              (len(deep), args.depth + 1))
        check(fr[0]["function"] == "récursion_profonde" and fr[0]["line"] == marks["deep"][0],
              "deep innermost frame %r, expected line %d" % (fr[0], marks["deep"][0]))
        callers = set(f["line"] for f in deep[1:])
        check(callers == {marks["deep-caller"][0]}, "deep caller lines %r" % callers)
        check(fr[len(deep)]["function"] == "run", "frame after the recursion: %r" % fr[len(deep)])

    t = by_name.get("spinner")
    if check(t is not None, "no thread named spinner"):
        fr = t["frames"]
        check(fr and fr[0]["function"] == "spinner" and fr[0]["line"] in marks["spinner"],
              "spinner innermost frame %r, expected a line of %r" % (fr[:1], marks["spinner"]))
        check(t["state"] in ("running", "native"), "spinner state %r" % t["state"])


def check_text(text, doc, args, marks):
    lines = text.splitlines()
    check(lines and lines[0].startswith("Process %d: " % args.pid), "text header %r" % lines[:1])
    check(len(lines) > 1 and lines[1].startswith("Python v%s" % args.version), "text version line %r" %
          lines[1:2])
    if args.free_threaded:
        check("free-threaded" in lines[1], "text version line does not say free-threaded: %r" % lines[1])
    for t in doc.get("threads", []):
        header = 'Thread %d (%s' % (t["tid"], t["state"])
        check(any(l.startswith(header) and ('"%s"' % t["name"]) in l for l in lines),
              "no text header for thread %d %r" % (t["tid"], t["name"]))
    want = "    %s (%s:%d)" % ("blocked_on_lock", "", marks["worker"][0])
    count = sum(1 for l in lines if l.startswith("    blocked_on_lock (") and
                l.endswith("parked.py:%d)" % marks["worker"][0]))
    check(count == args.workers, "%d text lines for workers, expected %d" % (count, args.workers))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--text")
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--free-threaded", type=int, required=True)
    ap.add_argument("--executable", required=True)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--depth", type=int, default=600)
    args = ap.parse_args()
    args.free_threaded = bool(args.free_threaded)
    args.qualnames = tuple(int(x) for x in args.version.split(".")[:2]) >= (3, 11)
    marks = markers(args.source)
    with open(args.json, encoding="utf-8") as f:
        doc = json.load(f)
    check_json(doc, args, marks)
    if args.text:
        with open(args.text, encoding="utf-8") as f:
            check_text(f.read(), doc, args, marks)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
