# SPDX-License-Identifier: MIT
# Measures ftprof's thread states against a ground-truth target's own truth.
#
#   check_states.py TRUTH INPUT [--text-dump FILE] [--min-share 0.95] [--build NAME]
#   check_states.py TRUTH --applies
#
# TRUTH: the JSON document a target of tests/targets/ wrote (truthlib.py).
# INPUT: one recording (`ftprof record -f raw`, raw format 3) or one
# `ftprof dump --json` (format 2) of that target; the first byte tells which.
# For every truth thread (found by its native tid), each sample is matched to
# the first of the thread's rules that covers it (by the innermost frame in
# the target's file, and by where another thread is in the same round), and
# is right when its state is one the rule allows, its wait (kind, address,
# type, holder, line) is what the rule says for that state, and its on-CPU
# flag, where given, agrees with the state. Each rule needs a share of right
# samples of at least --min-share (0.95), and at least --min-samples covered
# samples (20 for a recording, none for a dump). Round rules count states
# across threads in each round. A dump's deadlocks must list the truth's
# cycles; --text-dump checks a text dump of the same target prints each cycle
# first and every known holder on its waiter's line; --report-json checks
# `ftprof report --json` of the recording lists each lock of the truth,
# waited on at the truth's lines and held at the holder's lines.
#
# Prints one table row per rule and round rule, then
#   accuracy WORKLOAD BUILD SHARE
# (the smallest share of right samples over the rules). Exit 0 when every
# check holds; 1 with every mismatch listed (grouped, with counts); 77 when
# the workload does not apply to the build (the reason printed); 2 when the
# input cannot be read.
import argparse
import collections
import json
import os
import re
import sys

STATES = ("unknown", "running", "native", "lock", "wait", "gil", "io", "sleep", "stw", "gc", "runnable")
ON_CPU = {"running": True, "native": True, "runnable": False, "sleep": False, "io": False,
          "wait": False, "stw": False}
RAW_COLUMNS = 14
FRAME = re.compile(r"^(.*) \((.*?)(?::(\d+))?\)$")

problems = []


def problem(msg):
    problems.append(msg)


class Sample:
    __slots__ = ("round", "tid", "name", "state", "oncpu", "gil", "kind", "address", "type", "holder",
                 "how", "line", "nframes")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


def unescape(s):
    """ui/escape.c's folded escapes: \\xNN, \\u{NNNN}, \\\\."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "\\":
                out += b"\\"
                i += 2
                continue
            m = re.match(r"x([0-9a-fA-F]{2})", s[i + 1:])
            if m:
                out.append(int(m.group(1), 16))
                i += 4
                continue
            m = re.match(r"u\{([0-9a-fA-F]+)\}", s[i + 1:])
            if m:
                out += chr(int(m.group(1), 16)).encode("utf-8")
                i += 1 + len(m.group(0))
                continue
        out += c.encode("utf-8")
        i += 1
    return out.decode("utf-8", "replace")


def same_file(path, truth_file):
    return path == truth_file or os.path.basename(path) == os.path.basename(truth_file)


def parse_int(text, base=10):
    if text in ("-", "", None):
        return None
    return int(text, base)


def read_raw(text, truth):
    """Samples of a raw 3 or 4 recording (their sample lines are the same),
    and its header facts."""
    lines = text.split("\n")
    m = re.match(r"# ftprof raw (\d+): pid (\d+), Python (\S+)( free-threaded)?, ([\d.]+) Hz asked"
                 r"(?:, (\d+) cores)?", lines[0])
    if not m:
        raise ValueError("not an ftprof raw recording: first line %r" % lines[0][:120])
    if m.group(1) not in ("3", "4"):
        raise ValueError("raw format %s, expected 3 or 4: %r" % (m.group(1), lines[0]))
    if int(m.group(2)) != truth["pid"]:
        problem("raw header pid %s, the target is %d" % (m.group(2), truth["pid"]))
    if bool(m.group(4)) != truth["free_threaded"]:
        problem("raw header says free-threaded=%s, the target says %s" % (bool(m.group(4)),
                                                                           truth["free_threaded"]))
    header = {"cores": int(m.group(6)) if m.group(6) else None}
    samples = []
    for n, line in enumerate(lines[1:], 2):
        if not line or line.startswith(("#", "@\t", "%\t")):  # ticks, CPU times: check_oncpu's
            continue
        cols = line.split("\t")
        if len(cols) != RAW_COLUMNS:
            raise ValueError("line %d: %d columns, expected %d: %r" % (n, len(cols), RAW_COLUMNS, line[:200]))
        (rnd, _time, tid, state, oncpu, _cpu, gil, kind, addr, wtype, holder, how, name, stack) = cols
        if state not in STATES:
            problem("line %d: state %r is not one of the states" % (n, state))
        target_line = None
        labels = stack.split(";") if stack else []
        for label in reversed(labels):
            fm = FRAME.match(label)
            if fm and same_file(unescape(fm.group(2)), truth["file"]):
                target_line = int(fm.group(3)) if fm.group(3) else None
                break
        samples.append(Sample(round=int(rnd), tid=int(tid), name=unescape(name), state=state,
                              oncpu={"1": True, "0": False}.get(oncpu), gil={"1": True, "0": False}.get(gil),
                              kind=None if kind == "-" else kind, address=parse_int(addr, 16),
                              type=None if wtype == "-" else unescape(wtype), holder=parse_int(holder),
                              how=None if how == "-" else how, line=target_line, nframes=len(labels)))
    return samples, header


def read_dump(text, truth):
    doc = json.loads(text)
    if doc.get("format") != 2:
        raise ValueError("dump --json format %r, expected 2 (the waits contract)" % doc.get("format"))
    if doc.get("pid") != truth["pid"]:
        problem("dump pid %r, the target is %d" % (doc.get("pid"), truth["pid"]))
    samples = []
    for t in doc.get("threads", []):
        line = None
        for fr in t.get("frames", []):  # innermost first
            if fr.get("kind", "python") == "python" and same_file(fr.get("file") or "", truth["file"]):
                line = fr.get("line")
                break
        w = t.get("waits_on") or {}
        addr = w.get("address")
        samples.append(Sample(round=0, tid=t.get("tid"), name=t.get("name"), state=t.get("state"),
                              oncpu=t.get("on_cpu"), gil=t.get("holds_gil"), kind=w.get("kind"),
                              address=int(addr, 16) if isinstance(addr, str) else None, type=w.get("type"),
                              holder=w.get("holder"), how=w.get("holder_how"), line=line,
                              nframes=len(t.get("frames", []))))
    return samples, doc


def describe(rule, truth):
    """A rule in words, for the table and the mismatches."""
    text = "/".join(rule["states"])
    if "lines" in rule:
        text += " at line %s" % ",".join(map(str, rule["lines"]))
    if "when" in rule:
        text += " while %s at %s" % (rule["when"]["thread"], ",".join(map(str, rule["when"]["lines"])))
    for state, w in sorted(rule.get("waits", {}).items()):
        parts = [w.get("kind", "?")]
        if "type" in w:
            parts.append("(%s)" % w["type"])
        if "address" in w:
            parts.append(w["address"])
        holder = w.get("holder")
        if isinstance(holder, dict):
            parts.append("held by the thread at line %s" % ",".join(map(str, holder["at"])))
        elif holder is not None:
            parts.append("held by %d" % holder)
        if "lines" in w:
            parts.append("at line %s" % ",".join(map(str, w["lines"])))
        text += "; %s on %s" % (state, " ".join(parts))
    return text


def describe_got(s, state_waits):
    text = s.state
    if state_waits and not (s.kind or s.address or s.holder):
        text += " (waiting on nothing known)"
    if s.kind or s.address or s.holder:
        text += " on %s %s" % (s.kind or "?", hex(s.address) if s.address else "?")
        if s.type:
            text += " (%s)" % s.type
        if state_waits and "holder" in state_waits:
            text += " held by %s" % (s.holder if s.holder else "?")
    if state_waits and "lines" in state_waits:
        text += " at line %s" % s.line
    if s.oncpu is not None and ON_CPU.get(s.state) is not None and s.oncpu != ON_CPU[s.state]:
        text += " (on_cpu %s)" % s.oncpu
    return text


class Check:
    def __init__(self, truth, samples, min_samples, min_share):
        self.truth = truth
        self.min_samples = min_samples
        self.min_share = min_share
        self.rounds = collections.defaultdict(dict)
        for s in samples:
            self.rounds[s.round][s.tid] = s
        self.by_tid = collections.defaultdict(list)
        for s in samples:
            self.by_tid[s.tid].append(s)
        self.tid_of = {t["name"]: t["tid"] for t in truth["threads"]}
        self.rows = []
        self.shares = []

    def at_lines(self, rnd, lines, exclude):
        """tid of the thread whose sample of round rnd is at one of lines."""
        found = [tid for tid, s in self.rounds[rnd].items() if s.line in lines and tid != exclude]
        return found[0] if len(found) == 1 else None

    def covers(self, rule, s):
        if "lines" in rule and s.line not in rule["lines"]:
            return False
        if "when" in rule:
            other = self.rounds[s.round].get(self.tid_of.get(rule["when"]["thread"]))
            if other is None or other.line not in rule["when"]["lines"]:
                return False
        return True

    def right(self, rule, s):
        """None when right, else why not (for grouping)."""
        if s.state not in rule["states"]:
            return "state"
        want = rule.get("waits", {}).get(s.state)
        if want:
            if "kind" in want and s.kind != want["kind"]:
                return "kind"
            if "address" in want and s.address != int(want["address"], 16):
                return "address"
            if "type" in want and s.type != want["type"]:
                return "type"
            if "lines" in want and s.line not in want["lines"]:
                return "line"
            if "holder" in want:
                holder = want["holder"]
                if isinstance(holder, dict):
                    holder = self.at_lines(s.round, holder["at"], s.tid)
                if holder is not None and s.holder != holder:
                    return "holder"
        if s.oncpu is not None and ON_CPU.get(s.state) is not None and s.oncpu != ON_CPU[s.state]:
            return "on_cpu"
        if rule.get("on_cpu", {}).get(s.state) is not None and s.oncpu != rule["on_cpu"][s.state]:
            return "on_cpu"
        return None

    def thread(self, t):
        name, tid = t["name"], t["tid"]
        samples = self.by_tid.get(tid, [])
        if not samples:
            problem("%s (tid %d): no samples" % (name, tid))
            self.row(name, "any sample", 0, 0, False)
            return
        names = collections.Counter(s.name for s in samples)
        if names.get(name, 0) < self.min_share * len(samples):
            problem("%s (tid %d): named %s" % (name, tid, dict(names)))
        unclassified = 0
        for i, rule in enumerate(t["rules"]):
            covered = [s for s in samples if self.covers(rule, s) and
                       not any(self.covers(r, s) for r in t["rules"][:i])]
            wrong = collections.Counter()
            for s in covered:
                why = self.right(rule, s)
                if why:
                    wrong[describe_got(s, rule.get("waits", {}).get(s.state))] += 1
            n, ok = len(covered), len(covered) - sum(wrong.values())
            share = ok / n if n else 0.0
            passed = n >= self.min_samples and (n == 0 or share >= self.min_share)
            if n < self.min_samples:
                if rule.get("optional"):
                    passed = True
                else:
                    problem("%s: %d samples %s, fewer than %d" % (name, n, describe(rule, self.truth),
                                                                  self.min_samples))
            elif share < self.min_share:
                problem("%s: %d of %d samples (%.1f%%) %s; got %s" % (
                    name, ok, n, 100 * share, describe(rule, self.truth),
                    ", ".join("%s x%d" % kv for kv in wrong.most_common())))
            for state, least in sorted(rule.get("at_least", {}).items()):
                got = sum(1 for s in covered if s.state == state)
                if n and n >= self.min_samples and got < least * n:
                    passed = False
                    problem("%s: %d of %d samples (%.1f%%) %s, expected at least %.0f%%" % (
                        name, got, n, 100 * got / n, state, 100 * least))
            if n and n >= self.min_samples:
                self.shares.append(share)
            seen = collections.Counter(s.state for s in covered)
            self.row(name, describe(rule, self.truth), ok, n, passed, seen)
        for s in samples:
            if not any(self.covers(r, s) for r in t["rules"]):
                unclassified += 1
        if unclassified * 2 > len(samples):
            problem("%s: %d of %d samples not at any line the truth knows (lines: %s)" % (
                name, unclassified, len(samples),
                dict(collections.Counter(s.line for s in samples).most_common(5))))

    def round_rule(self, rr):
        tids = [self.tid_of[n] for n in rr["threads"]]
        n = ok = 0
        counts = collections.Counter()
        for rnd, by in self.rounds.items():
            if not all(tid in by for tid in tids):
                continue
            c = sum(1 for tid in tids if by[tid].state in rr["states"])
            n += 1
            counts[c] += 1
            ok += rr["min"] <= c <= rr["max"]
        share = ok / n if n else 0.0
        what = "rounds: %s (%d..%d %s)" % (rr["what"], rr["min"], rr["max"], "/".join(rr["states"]))
        least = rr.get("min_share", self.min_share)
        if least != self.min_share:
            what += " in %d%% of rounds" % round(100 * least)
        passed = n >= max(1, self.min_samples) and share >= least
        if not passed:
            problem("%d of %d rounds (%.1f%%): %s; counts per round %s" % (
                ok, n, 100 * share, what, dict(sorted(counts.items()))))
        if n and least == self.min_share:
            self.shares.append(share)
        self.row("(all)", what, ok, n, passed)

    def row(self, name, what, ok, n, passed, seen=None):
        """seen: a Counter of the states of the rule's samples, printed after
        the rule so that a share near the bar shows what the rest was."""
        self.rows.append((name, what, ok, n, passed, seen))


def check_deadlocks(truth, doc):
    found = doc.get("deadlocks")
    if not isinstance(found, list):
        problem("dump has no deadlocks list")
        return
    for want in truth.get("deadlocks", []):
        pairs = {tid: int(addr, 16) for tid, addr in zip(want["threads"], want["locks"])}
        match = False
        for d in found:
            threads = d.get("threads", [])
            locks = [int(x["address"], 16) if x.get("address") else None for x in d.get("locks", [])]
            if (len(threads) == len(locks) == len(pairs) and
                    dict(zip(threads, locks)) == pairs and
                    all(x.get("kind") == "Lock" for x in d.get("locks", []))):
                match = True
        if not match:
            problem("deadlock of threads %s waiting for %s not listed; dump lists %s" % (
                want["threads"], want["locks"], json.dumps(found)))


def check_text(truth, text):
    """A text dump: deadlocks first, in words; a known holder on each waiter's line."""
    m = re.search(r"^Thread \d+", text, re.M)
    head = text[:m.start()] if m else text
    for want in truth.get("deadlocks", []):
        check_words(head, want, truth)
    for t in truth["threads"]:
        for rule in t["rules"]:
            w = rule.get("waits", {}).get("lock")
            if not w or not isinstance(w.get("holder"), int) or "address" not in w:
                continue
            block = re.search(r"^Thread %d\b.*?(?=^\s*$|\Z)" % t["tid"], text, re.M | re.S)
            if not block:
                problem("text dump: no block for thread %d %s" % (t["tid"], t["name"]))
                continue
            wm = re.search(r"waiting for (\w[\w ]*?) (0x[0-9a-fA-F]+) held by thread (\d+)", block.group(0))
            if not (wm and wm.group(1) == w["kind"] and int(wm.group(2), 16) == int(w["address"], 16)
                    and int(wm.group(3)) == w["holder"]):
                problem("text dump: thread %d %s does not say 'waiting for %s %s held by thread %d': %r" % (
                    t["tid"], t["name"], w["kind"], w["address"], w["holder"], block.group(0)[:300]))


def check_words(head, want, truth):
    """The words before the first thread name every thread, lock and line of want."""
    addrs = set(int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", head))
    if not re.search(r"deadlock", head, re.I):
        problem("text dump: no deadlock before the first thread: %r" % head[:400])
        return
    for tid in want["threads"]:
        if not re.search(r"(?<!\d)%d(?!\d)" % tid, head):
            problem("text dump: deadlock paragraph lacks thread %d" % tid)
    for addr in want["locks"]:
        if int(addr, 16) not in addrs:
            problem("text dump: deadlock paragraph lacks lock %s" % addr)
    lines = set()
    for t in truth["threads"]:
        if t["tid"] in want["threads"]:
            for rule in t["rules"]:
                lines.update(rule.get("waits", {}).get("lock", {}).get("lines", []))
    for line in sorted(lines):
        if not re.search(r"(?<![\d.x])%d(?!\d)" % line, head):
            problem("text dump: deadlock paragraph lacks the line %d where a thread waits" % line)


def check_report(truth, doc, min_share):
    """`ftprof report --json` of the same recording: each lock the truth
    names, waited on at its lines, held at the holder's lines."""
    locks = doc.get("locks") or []
    seen = set()
    for t in truth["threads"]:
        for rule in t["rules"]:
            w = rule.get("waits", {}).get("lock")
            if not w or "address" not in w or (w["address"], tuple(rule.get("lines", []))) in seen:
                continue
            seen.add((w["address"], tuple(rule.get("lines", []))))
            lock = [x for x in locks if x.get("address") and int(x["address"], 16) == int(w["address"], 16)]
            if not lock:
                problem("report: no lock at %s among %s" % (w["address"], [x.get("address") for x in locks]))
                continue
            lock = lock[0]
            if lock.get("kind") != w.get("kind"):
                problem("report: lock %s is a %r, expected %r" % (w["address"], lock.get("kind"), w.get("kind")))
            where = rule.get("lines") or w.get("lines")
            for side, lines in (("waiters", where), ("holders", (w.get("holder") or {}).get("at")
                                                     if isinstance(w.get("holder"), dict) else None)):
                if not lines:
                    continue
                entries = lock.get(side) or []
                total = sum(e.get("samples", 0) for e in entries)
                at = sum(e.get("samples", 0) for e in entries
                         if same_file(e.get("file") or "", truth["file"]) and e.get("line") in lines)
                if not total or at < min_share * total:
                    problem("report: lock %s: %d of %d %s samples at line %s: %s" % (
                        w["address"], at, total, side, ",".join(map(str, lines)), json.dumps(entries)[:400]))


def build_name(truth):
    return truth["python"] + ("t" if truth["free_threaded"] else "")


def main():
    ap = argparse.ArgumentParser(description="Measures ftprof's thread states against a target's truth.")
    ap.add_argument("truth")
    ap.add_argument("input", nargs="?")
    ap.add_argument("--applies", action="store_true", help="only say whether the workload applies")
    ap.add_argument("--text-dump", help="a text `ftprof dump` of the same target")
    ap.add_argument("--report-json", help="`ftprof report --json` of the same recording")
    ap.add_argument("--min-share", type=float, default=0.95)
    ap.add_argument("--min-samples", type=int, help="default: 20 for a recording, 0 for a dump")
    ap.add_argument("--build", help="the build's name in the table (default: from the truth)")
    args = ap.parse_args()
    with open(args.truth, encoding="utf-8") as f:
        truth = json.load(f)
    build = args.build or build_name(truth)
    if truth.get("applies") is not True:
        print("skipped: %s does not apply to %s: %s" % (truth["workload"], build, truth.get("applies")))
        return 77
    if args.applies:
        print("%s applies to %s" % (truth["workload"], build))
        return 0
    if not args.input:
        ap.error("INPUT is needed")
    with open(args.input, encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        if text.lstrip().startswith("{"):
            samples, doc = read_dump(text, truth)
            min_samples = 0
        else:
            samples, doc = read_raw(text, truth)
            min_samples = 20
    except ValueError as e:
        print("check_states: %s: %s" % (args.input, e))
        return 2
    if args.min_samples is not None:
        min_samples = args.min_samples
    check = Check(truth, samples, min_samples, args.min_share)
    for t in truth["threads"]:
        check.thread(t)
    for rr in truth.get("rounds", []):
        check.round_rule(rr)
    if "threads" in doc and truth.get("deadlocks"):
        check_deadlocks(truth, doc)
    if args.text_dump:
        with open(args.text_dump, encoding="utf-8", errors="replace") as f:
            check_text(truth, f.read())
    if args.report_json:
        with open(args.report_json, encoding="utf-8") as f:
            try:
                report = json.load(f)
            except ValueError as e:
                report = {}
                problem("report: %s is not JSON: %s" % (args.report_json, e))
        check_report(truth, report, args.min_share)

    width = max([len(r[0]) for r in check.rows] + [6])
    for name, what, ok, n, passed, seen in check.rows:
        share = "%5.1f%%" % (100 * ok / n) if n else "   -  "
        if seen:
            what += "  [%s]" % " ".join("%s %d" % kv for kv in seen.most_common())
        print("%-12s %-6s %-*s %5d/%-5d %s  %-4s %s" % (truth["workload"], build, width, name, ok, n, share,
                                                        "ok" if passed else "FAIL", what))
    accuracy = min(check.shares) if check.shares else 0.0
    print("accuracy %s %s %.1f%%" % (truth["workload"], build, 100 * accuracy))
    if problems:
        print("%d mismatches:" % len(problems))
        for p in problems:
            print("  " + p)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
