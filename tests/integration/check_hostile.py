# SPDX-License-Identifier: MIT
# Checks what ftprof wrote about a hostile target. Exit 0 when it holds;
# otherwise prints every problem.
#
#   check_hostile.py raw FILE --pid PID
#       a raw profile of tests/targets/churn.py: every line well formed, every
#       frame `function (file:line)` of a file that exists or a <pseudo-file>
#   check_hostile.py names KIND FILE --names JSON
#       KIND (text, json, folded, raw, speedscope) output of
#       tests/targets/hostile_names.py: no control character reaches it raw,
#       and the names JSON (what the target printed) show up escaped as ftprof
#       documents, or exactly (after JSON decoding)
import argparse
import json
import os
import re
import sys
import unicodedata

problems = []
FRAME = re.compile(r"^(.*) \((.*?)(?::(\d+))?\)$")
STATES = {"unknown", "running", "native", "lock", "wait", "gil", "io", "sleep", "stw", "gc", "runnable"}
WAITS = {"-", "Lock", "RLock", "Semaphore", "Condition", "Event", "join", "queue", "Future",
         "critical section", "PyMutex", "GIL", "stop-the-world", "futex"}


def check(cond, msg):
    if not cond and len(problems) < 50:
        problems.append(msg)
    return cond


def controls(allowed):
    """A pattern for control characters (Unicode's Cc: C0, DEL, C1) and the
    line separators, except those in allowed."""
    chars = [chr(c) for c in list(range(0x20)) + list(range(0x7F, 0xA0)) + [0x2028, 0x2029]]
    assert all(unicodedata.category(ch) == "Cc" for ch in chars[:-2])
    return re.compile("[%s]" % "".join(re.escape(ch) for ch in chars if ch not in allowed))


def decoded(path, allowed):
    """The file as text; problems for invalid UTF-8 and raw control characters."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        check(False, "%s: not UTF-8 at byte %d: %r" % (path, e.start, data[max(0, e.start - 20):e.start + 20]))
        text = data.decode("utf-8", "replace")
    bad = controls(allowed).search(text)
    check(not bad, "%s: a raw control character %r at %d: %r" %
          (path, bad.group() if bad else "", bad.start() if bad else 0,
           text[max(0, bad.start() - 30):bad.start() + 10] if bad else ""))
    return text


def unescape(s):
    """Inverse of ftprof's escaping (ui_put_escaped / ui_put_folded)."""
    out, i = [], 0
    while i < len(s):
        if s.startswith("\\\\", i):
            out.append("\\")
            i += 2
        elif s.startswith("\\x", i) and re.match(r"[0-9a-f]{2}", s[i + 2:i + 4]):
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
        elif s.startswith("\\u{", i) and "}" in s[i:]:
            j = s.index("}", i)
            out.append(chr(int(s[i + 3:j], 16)))
            i = j + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def escape(s, also=""):
    """What ftprof prints for s: ui_put_escaped, or ui_put_folded with also=';'."""
    out = []
    for ch in s:
        c = ord(ch)
        if 0xD800 <= c <= 0xDFFF:
            ch, c = "\ufffd", 0xFFFD  # ftprof reads a lone surrogate as U+FFFD
        if c < 0x20 or c == 0x7F or 0x80 <= c < 0xA0 or c in (0x2028, 0x2029):
            out.append("\\x%02x" % c if c < 0x80 else "\\u{%x}" % c)
        elif ch == "\\":
            out.append("\\\\")
        elif ch in also:
            out.append("\\x%02x" % c)
        else:
            out.append(ch)
    return "".join(out)


def readable(s):
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in s)


def parse_frame(label, where):
    if re.match(r"^0x[0-9a-f]+( \(.*\))?$", label):
        return None  # a native frame without a symbol
    m = FRAME.match(label)
    if not check(m, "%s: frame %r is not 'function (file:line)'" % (where, label)):
        return None
    func, path, line = unescape(m.group(1)), unescape(m.group(2)), m.group(3)
    check(func, "%s: frame %r has no function name" % (where, label))
    # line 0: a module's code at its RESUME, as CPython 3.11+ numbers it
    check(line is None or int(line) >= 0, "%s: frame %r has line %s" % (where, label, line))
    return func, path, line


def raw(args):
    text = decoded(args.file, "\n\t")
    lines = text.split("\n")
    check(lines and lines[-1] == "", "the file does not end with a newline")
    lines = lines[:-1]
    check(lines and lines[0].startswith("# ftprof raw 4: pid %d," % args.pid) and lines[0].endswith(" ns"),
          "header %r" % lines[:1])
    files = {}
    labels = {}  # parsed once: a label recurs in most samples
    samples = frames = 0
    tids = set()
    for n, line in enumerate(lines, 1):
        if line.startswith("#"):
            check(n <= 4, "line %d: a comment after the header" % n)
            continue
        if line.startswith("@\t"):  # a tick (decoded() checked its characters with the rest)
            cols = line.split("\t")
            check(len(cols) == 12, "line %d: a tick of %d columns: %r" % (n, len(cols), line[:200]))
            continue
        if line.startswith("%\t"):
            continue
        cols = line.split("\t")
        if not check(len(cols) == 14, "line %d: %d columns: %r" % (n, len(cols), line[:200])):
            continue
        rnd, t, tid, state, oncpu, cpu, gil, wait, addr, wtype, holder, how, name, stack = cols
        check(cpu == "-" or cpu.isdigit(), "line %d: cpu %r" % (n, cpu))
        # tid 0: not known yet, which raw writes only for a thread without
        # Python frames (starting or ending: raw keeps every sample)
        check(rnd.isdigit() and t.isdigit() and tid.isdigit() and (int(tid) > 0 or not stack),
              "line %d: round %r, time %r, tid %r" % (n, rnd, t, tid))
        check(state in STATES, "line %d: state %r" % (n, state))
        check(oncpu in ("-", "0", "1") and gil in ("-", "0", "1"), "line %d: oncpu %r, gil %r" % (n, oncpu, gil))
        check(wait in WAITS and (addr == "-" or addr.startswith("0x")) and (holder == "-" or holder.isdigit())
              and how in ("-", "owner", "with", "reference"), "line %d: wait columns %r" % (n, cols[7:12]))
        tids.add(tid)
        samples += 1
        if not stack:  # raw keeps torn samples and threads without Python frames, without a stack
            continue
        for label in stack.split(";"):
            frames += 1
            if label not in labels:
                labels[label] = parse_frame(label, "line %d" % n)
            f = labels[label]
            if f:
                files[f[1]] = files.get(f[1], 0) + 1
    for path, count in sorted(files.items()):
        check(os.path.exists(path) or (path.startswith("<") and path.endswith(">")),
              "%d frames in %r, neither a file nor a <pseudo-file>" % (count, path))
    check(samples > 0, "no sample")
    print(json.dumps({"samples": samples, "frames": frames, "distinct_frames": len(labels), "threads": len(tids),
                      "files": len(files)}))


def names(args):
    with open(args.names, encoding="utf-8", errors="surrogatepass") as f:
        want = json.loads(f.read())
    func, qual, path, thread = want["function"], want["qualname"], want["file"], want["thread"]
    kind = args.kind
    allowed = "\n\t" if kind == "raw" else "\n"
    text = decoded(args.file, allowed)
    if kind == "text":
        check("\\x1b" in text, "no escaped ESC (\\x1b) in the dump")
        check('"%s"' % escape(thread) in text, "thread name not shown as %r" % escape(thread))
        check("    %s (%s:" % (escape(qual), escape(path)) in text,
              "frame not shown as %r" % ("%s (%s:" % (escape(qual), escape(path))))
    elif kind == "json":
        check("\\u001b" in text, "no \\u001b in the JSON")
        doc = json.loads(text)
        match = [t for t in doc["threads"] if t["name"] == readable(thread)]
        if check(len(match) == 1, "no thread named %r in %r" % (readable(thread), [t["name"] for t in doc["threads"]])):
            fr = [f for f in match[0]["frames"] if f["function"] == func]
            if check(fr, "no frame with function %r in %r" % (func, match[0]["frames"])):
                check(fr[0]["qualname"] == qual, "qualname %r, expected %r" % (fr[0]["qualname"], qual))
                check(fr[0]["file"] == readable(path), "file %r, expected %r" % (fr[0]["file"], readable(path)))
    elif kind == "folded":
        frame = "%s (%s:" % (escape(qual, ";"), escape(path, ";"))
        thread_frame = 'thread "%s" (' % escape(thread, ";")
        hits = [l for l in text.splitlines() if frame in l]
        check(hits, "no stack with the frame %r" % frame)
        check(all(l.startswith(thread_frame) for l in hits), "stacks with the frame do not start with %r" % thread_frame)
        for l in text.splitlines():
            m = re.match(r"^(.+) (\d+)$", l)
            if check(m, "not a folded line: %r" % l):
                for label in m.group(1).split(";")[1:]:
                    parse_frame(label, "folded")
    elif kind == "raw":
        frame = "%s (%s:" % (escape(qual, ";"), escape(path, ";"))
        hits = [l.split("\t") for l in text.splitlines() if not l.startswith(("#", "@\t", "%\t")) and frame in l]
        check(hits, "no sample with the frame %r" % frame)
        for cols in hits:
            if check(len(cols) == 14, "%d columns in %r" % (len(cols), cols)):
                check(cols[12] == escape(thread, ";"),
                      "thread column %r, expected %r" % (cols[12], escape(thread, ";")))
    elif kind == "speedscope":
        doc = json.loads(text)
        label = "%s (%s:" % (qual, readable(path))
        check(any(f["name"].startswith(label) for f in doc["shared"]["frames"]),
              "no frame named %r" % label)
        check(any(readable(thread) in p["name"] for p in doc["profiles"]),
              "no profile of thread %r in %r" % (readable(thread), [p["name"] for p in doc["profiles"]]))
    print("%s: checked %d characters" % (kind, len(text)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("raw")
    r.add_argument("file")
    r.add_argument("--pid", type=int, required=True)
    n = sub.add_parser("names")
    n.add_argument("kind", choices=["text", "json", "folded", "raw", "speedscope"])
    n.add_argument("file")
    n.add_argument("--names", required=True)
    args = ap.parse_args()
    {"raw": raw, "names": names}[args.what](args)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
