# SPDX-License-Identifier: MIT
# Checks `ftprof dump` output of tests/targets/parked.py against the places
# the target's source marks with "# park:" comments, and with --native-json
# a `dump --native` of the same target against the plain dump. Exit 0 when it
# matches; otherwise prints every mismatch.
import argparse
import copy
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
    check(doc.get("format") == 2, "format is %r, not 2" % doc.get("format"))
    check(doc.get("pid") == args.pid, "pid %r, expected %d" % (doc.get("pid"), args.pid))
    py = doc.get("python", {})
    check(py.get("version") == args.version, "python.version %r, interpreter says %r" %
          (py.get("version"), args.version))
    check(py.get("free_threaded") == args.free_threaded, "python.free_threaded %r, expected %r" %
          (py.get("free_threaded"), args.free_threaded))
    check(os.path.realpath(py.get("executable", "")) == os.path.realpath(args.executable),
          "python.executable %r, expected %r" % (py.get("executable"), args.executable))
    threads = doc.get("threads", [])
    expected = args.workers + 3 + (1 if args.via_c else 0)
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

    if args.via_c:
        t = by_name.get("via-c")
        if check(t is not None, "no thread named via-c"):
            got = [(f["function"], f["line"]) for f in t["frames"][:3]]
            want = [("blocked_in_callback", marks["callback"][0]),
                    ("via_c", marks["callback-caller"][0]), ("run", got[2][1] if len(got) > 2 else None)]
            check(got == want, "via-c frames %r, expected %r" % (got, want))

    t = by_name.get("spinner")
    if check(t is not None, "no thread named spinner"):
        fr = t["frames"]
        check(fr and fr[0]["function"] == "spinner" and fr[0]["line"] in marks["spinner"],
              "spinner innermost frame %r, expected a line of %r" % (fr[:1], marks["spinner"]))
        check(t["state"] in ("running", "native"), "spinner state %r" % t["state"])


# What the lock-blocked threads wait in: these call into libc's futex wait
# (PyThread_acquire_lock_timed up to 3.12 and in 3.13's GIL build, the parking
# lot's semaphore in 3.13t and 3.14+); both are exported, so even stripped
# builds name them.
LOCK_WAITERS = ("PyThread_acquire_lock_timed", "_PySemaphore_Wait")
EVAL = re.compile(r"^_PyEval_EvalFrameDefault(\.cold)?$")


def base_name(path):
    return path.rsplit("/", 1)[-1] if path else None


def python_key(f, spinner):
    # The spinner moves between two lines from one dump to the next.
    return (f["function"], f["qualname"], f["file"]) + (() if spinner else (f["line"],))


def native_text(f):
    if f["symbol"] is not None:
        return "    %s+0x%x (%s)" % (f["symbol"], f["offset"], base_name(f["object"]) or "?")
    return "    0x%x (%s)" % (f["ip"], base_name(f["object"]) or "?")


def python_text(f):
    if f["line"] is None:
        return "    %s (%s)" % (f["qualname"], f["file"])
    return "    %s (%s:%d)" % (f["qualname"], f["file"], f["line"])


def check_native_frame(f, where):
    if f["kind"] != "native":
        return check(f["kind"] == "python", "%s: frame kind %r" % (where, f["kind"]))
    ok = check(isinstance(f["ip"], int) and f["ip"] > 0, "%s: native ip %r" % (where, f["ip"]))
    ok &= check(f["object"] is None or isinstance(f["object"], str), "%s: object %r" % (where, f["object"]))
    if f["symbol"] is None:
        ok &= check(f["offset"] is None, "%s: offset %r without a symbol" % (where, f["offset"]))
    else:
        ok &= check(isinstance(f["symbol"], str) and f["symbol"] and isinstance(f["offset"], int) and
                    0 <= f["offset"] < (1 << 24), "%s: symbol %r offset %r" % (where, f["symbol"], f["offset"]))
    return ok


def check_native(ndoc, doc, args, marks):
    # Its Python frames pass every check of a plain dump...
    view = copy.deepcopy(ndoc)
    for t in view.get("threads", []):
        t["frames"] = [f for f in t["frames"] if f.get("kind") == "python"]
    before = len(problems)
    check_json(view, args, marks)
    for i in range(before, len(problems)):
        problems[i] = "--native: " + problems[i]
    # ...and are the plain dump's, in the same order.
    plain = {t["tid"]: t for t in doc.get("threads", [])}
    for t in ndoc.get("threads", []):
        where = "--native thread %r" % t["name"]
        fr = t["frames"]
        if not all(check_native_frame(f, where) for f in fr):
            continue
        check(t.get("native") == "unwound", "%s: native %r, expected unwound" % (where, t.get("native")))
        spinner = t["name"] == "spinner"
        py = [python_key(f, spinner) for f in fr if f["kind"] == "python"]
        p = plain.get(t["tid"])
        if check(p is not None, "%s: tid %r not in the plain dump" % (where, t["tid"])):
            want = [python_key(f, spinner) for f in p["frames"]]
            check(py == want, "%s: Python frames %r, plain dump has %r" % (where, py[:8], want[:8]))
        nat = [f for f in fr if f["kind"] == "native"]
        check(len(nat) >= 2, "%s: %d native frames" % (where, len(nat)))
        # Every eval call's C frame gave way to its Python frames, and every
        # group of Python frames found its eval call.
        left = [f["symbol"] for f in nat if EVAL.match(f["symbol"] or "")]
        check(not left, "%s: eval frames left in place of Python frames: %r" % (where, left))
        if not check(fr and fr[-1]["kind"] == "native", "%s: outermost frame is Python, not the thread's "
                     "native start: %r" % (where, fr[-1:])):
            continue
        outer = fr[-1]["symbol"]
        if t["main"]:
            check(outer in (None, "_start"), "%s: outermost frame %r, expected _start" % (where, outer))
        else:
            check(outer is None or "clone" in outer, "%s: outermost frame %r, expected clone" % (where, outer))
        if spinner:
            continue
        # Blocked on a lock: native frames down to libc's futex wait.
        first_py = next(i for i, f in enumerate(fr) if f["kind"] == "python")
        inner = fr[0]
        check(first_py >= 2, "%s: %d native frames inside the innermost Python frame" % (where, first_py))
        check((base_name(inner.get("object")) or "").startswith("libc.so"),
              "%s: innermost frame %r is not in libc" % (where, inner))
        if inner.get("symbol"):
            check(re.search(r"futex|sem_|wait|lock|syscall", inner["symbol"]),
                  "%s: innermost frame %r is not a wait" % (where, inner["symbol"]))
        waits = [f.get("symbol") for f in fr[:first_py]]
        check(any(w in LOCK_WAITERS for w in waits), "%s: none of %r inside the innermost Python frame: %r" %
              (where, LOCK_WAITERS, waits))

    by_name = {t["name"]: t for t in ndoc.get("threads", [])}
    t = by_name.get("deep-ünïcode")
    if t:
        fr = t["frames"]
        idx = [i for i, f in enumerate(fr) if f.get("function") == "récursion_profonde"]
        gaps = [b - a for a, b in zip(idx, idx[1:])]
        if args.minor < 11:
            # One C call of the evaluator per Python call.
            check(gaps and min(gaps) > 1, "--native: the recursion's Python frames are not interleaved "
                  "with native frames: gaps %r" % sorted(set(gaps)))
        else:
            # Python-to-Python calls stay inside one evaluator call.
            check(gaps and set(gaps) == {1}, "--native: native frames inside the recursion: gaps %r" %
                  sorted(set(gaps)))
    t = by_name.get("via-c")
    if args.via_c and check(t is not None, "--native: no thread named via-c"):
        fr = t["frames"]
        names = [f.get("function") for f in fr]
        if check("blocked_in_callback" in names and "via_c" in names, "--native: via-c frames %r" % names):
            i, j = names.index("blocked_in_callback"), names.index("via_c")
            between = fr[i + 1:j]
            check(between and all(f["kind"] == "native" for f in between),
                  "--native: no native frames between map()'s callback and its caller: %r" % between)
            # A build with static symbols (lock_PyThread_acquire_lock is
            # static) names the C function that calls back.
            if any(f.get("symbol") == "lock_PyThread_acquire_lock" for f in fr):
                check(any((f.get("symbol") or "").startswith("map_next") for f in between),
                      "--native: map_next not between the callback and its caller: %r" %
                      [f.get("symbol") for f in between])


def check_native_text(text, ndoc):
    blocks = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"Thread (\d+) \(", line)
        if m:
            cur = blocks.setdefault(int(m.group(1)), [])
        elif cur is not None and line.startswith("    "):
            cur.append(line)
        elif not line:
            cur = None
    for t in ndoc.get("threads", []):
        if t["name"] == "spinner":
            continue
        want = [native_text(f) if f["kind"] == "native" else python_text(f) for f in t["frames"]]
        got = blocks.get(t["tid"], [])
        if not check(got == want, "--native text of thread %r differs from its JSON" % t["name"]):
            diff = [(g, w) for g, w in zip(got, want) if g != w][:3]
            problems.append("  first differences (text, json): %r; %d vs %d lines" % (diff, len(got), len(want)))


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
    ap.add_argument("--via-c", type=int, default=0, help="the target runs with FTPROF_VIA_C=1")
    ap.add_argument("--native-json", help="a dump --json --native of the same target")
    ap.add_argument("--native-text", help="a dump --native of the same target")
    args = ap.parse_args()
    args.free_threaded = bool(args.free_threaded)
    args.minor = int(args.version.split(".")[1])
    args.qualnames = args.minor >= 11
    marks = markers(args.source)
    with open(args.json, encoding="utf-8") as f:
        doc = json.load(f)
    check_json(doc, args, marks)
    if args.text:
        with open(args.text, encoding="utf-8") as f:
            check_text(f.read(), doc, args, marks)
    if args.native_json:
        with open(args.native_json, encoding="utf-8") as f:
            ndoc = json.load(f)
        check_native(ndoc, doc, args, marks)
        if args.native_text:
            with open(args.native_text, encoding="utf-8") as f:
                check_native_text(f.read(), ndoc)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
