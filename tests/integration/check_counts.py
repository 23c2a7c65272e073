# SPDX-License-Identifier: MIT
# Checks that a profile `ftprof record` wrote holds what its summary says was
# written: "N thread stacks read, W written" and "wrote U unique stacks to
# FILE" (or "wrote W samples to FILE (raw)"). Exit 0 when it does; otherwise
# prints every mismatch.
#
#   check_counts.py folded FILE --summary TEXT      counts sum to W, U lines
#   check_counts.py raw FILE --summary TEXT         W sample lines
#   check_counts.py speedscope FILE --summary TEXT  U distinct stacks; the
#       weights are seconds, not counts: they sum to W rounds' worth of the
#       recording's time (R rounds in T s), within 5%
import argparse
import json
import re
import sys

problems = []


def number(pattern, text, what):
    m = re.search(pattern, text)
    if not m:
        problems.append("the summary has no %s: %r" % (what, text))
        return None
    return m.group(1)


def check_folded(path, written, unique):
    total, lines = 0, 0
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                problems.append("%s:%d: not 'STACK COUNT': %r" % (path, n, line[:200]))
                continue
            total += int(count)
            lines += 1
    if written is not None and total != written:
        problems.append("folded counts sum to %d, the summary says %d written" % (total, written))
    if unique is not None and lines != unique:
        problems.append("%d folded lines, the summary says %d unique stacks" % (lines, unique))


def check_raw(path, written, wrote):
    lines = 0
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            if not line.startswith(("#", "@\t", "%\t")):  # ticks and CPU times are not samples
                lines += 1
    if written is not None and lines != written:
        problems.append("%d raw sample lines, the summary says %d written" % (lines, written))
    if wrote is not None and lines != wrote:
        problems.append("%d raw sample lines, the summary says it wrote %d" % (lines, wrote))


def check_speedscope(path, written, unique, rounds, seconds):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    stacks, weight = set(), 0.0
    for p in doc.get("profiles", []):
        if len(p["samples"]) != len(p["weights"]):
            problems.append("profile %r: %d samples, %d weights" % (p.get("name"), len(p["samples"]),
                                                                   len(p["weights"])))
        stacks.update(tuple(s) for s in p["samples"])
        for w in p["weights"]:
            if not w > 0:
                problems.append("profile %r: weight %r" % (p.get("name"), w))
            weight += w
    if unique is not None and len(stacks) != unique:
        problems.append("%d distinct speedscope stacks, the summary says %d unique" % (len(stacks), unique))
    if None in (written, rounds, seconds) or rounds == 0:
        return
    expected = written * seconds / rounds
    if abs(weight - expected) > 0.05 * expected:
        problems.append("speedscope weights sum to %.4f s; %d samples written of %d rounds in %.2f s "
                        "make %.4f s" % (weight, written, rounds, seconds, expected))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("format", choices=["folded", "raw", "speedscope"])
    ap.add_argument("file")
    ap.add_argument("--summary", required=True, help="ftprof record's standard error")
    a = ap.parse_args()
    s = a.summary
    written = number(r"thread stacks read, (\d+) written", s, "'N written'")
    written = int(written) if written is not None else None
    if a.format == "raw":
        wrote = number(r"wrote (\d+) samples to .* \(raw\)", s, "'wrote N samples'")
        check_raw(a.file, written, int(wrote) if wrote else None)
    else:
        unique = number(r"wrote (\d+) unique stacks to .* \(%s\)" % a.format, s, "'wrote N unique stacks'")
        unique = int(unique) if unique is not None else None
        if a.format == "folded":
            check_folded(a.file, written, unique)
        else:
            m = re.search(r"(\d+) samples of pid .* in ([0-9.]+) s", s)
            if not m:
                problems.append("the summary has no 'N samples of pid ... in T s': %r" % s)
            rounds, seconds = (int(m.group(1)), float(m.group(2))) if m else (None, None)
            check_speedscope(a.file, written, unique, rounds, seconds)
    for p in problems:
        print("check_counts: %s: %s" % (a.file, p))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
