#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a folded --threads profile of tests/targets/calls.py: no frame of
calls.py that has a callee stands on its def line, the frame not started (a
frame just made, read under a callee left from an earlier call: a torn
stack, to be read again), but where the profile hook runs ("# calls: hook");
the traced thread's samples are mostly in that hook above entered() (such
a stack is believed, not dropped).

usage: check_callers.py FOLDED --source calls.py"""
import argparse
import re
import sys

FRAME = re.compile(r"^(.*) \((.*?):(\d+)\)$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folded")
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    with open(a.source) as f:
        lines = f.read().split("\n")
    defs = {n for n, line in enumerate(lines, 1) if re.match(r"^def \w+\(", line)}
    hook = {n for n, line in enumerate(lines, 1) if "# calls: hook" in line}
    errors = []
    bad = 0
    per = {}
    hooked = 0
    with open(a.folded) as f:
        for row in f:
            stack, count = row.rstrip("\n").rsplit(" ", 1)
            count = int(count)
            frames = stack.split(";")
            thread = re.match(r'^thread "(.*)" \(\d+\)$', frames[0])
            if not thread:
                errors.append("no thread frame: %r" % frames[0])
                continue
            name = thread.group(1)
            per[name] = per.get(name, 0) + count
            parsed = [FRAME.match(fr) for fr in frames[1:]]
            for m in parsed[:-1]:
                line = int(m.group(3)) if m else 0
                if m and m.group(2) == a.source and line in defs and line not in hook:
                    bad += count
                    if len(errors) < 10:
                        errors.append("%s: a caller on its def line %d, not started: %s x%d" %
                                      (name, line, stack, count))
                    break
            names = [m.group(1) if m else None for m in parsed]
            if name == "traced" and names[-2:] == ["entered", "hook"]:
                hooked += count
    for name in ("caller-1", "caller-2", "traced"):
        if per.get(name, 0) < 200:
            errors.append("%s: only %d samples" % (name, per.get(name, 0)))
    traced = per.get("traced", 0)
    if traced and hooked < 0.8 * traced:
        errors.append("traced: %d of %d samples in the hook above entered(), expected 80%%" %
                      (hooked, traced))
    print("callers: %s; %d samples with a caller not started; traced: %d of %d in the hook" %
          (", ".join("%s %d" % kv for kv in sorted(per.items())), bad, hooked, traced))
    for e in errors:
        print("FAIL " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
