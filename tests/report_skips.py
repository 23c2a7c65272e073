# SPDX-License-Identifier: MIT
# Reads the JUnit files ctest wrote (ctest --output-junit) and lists what did
# not run, and why: ctest's skipped tests (an interpreter that is not
# provisioned, with `scripts/interpreters install`'s reason when its output is
# given), and the Criterion tests skipped inside a test that ran ("needs
# root"). Exit 1 when a test of a required interpreter did not run: the
# free-threaded build carries the product's core.
#
#   report_skips.py [--install-log FILE] [--require 3.13t] JUNIT...
import argparse
import re
import sys
import xml.etree.ElementTree as ET

# A Criterion skip that only routes a test to the ctest test of its
# interpreter (tests/common/interp.c): not a test left out.
ROUTED = re.compile(r": (belongs with Python \S+|needs no interpreter|needs an interpreter): runs in ctest's")
SKIP_LINE = re.compile(r"^\[SKIP\] (\S+): (.*)$")


def install_reasons(path):
    reasons = {}
    if not path:
        return reasons
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[1] == "unavailable":
                reasons[parts[0]] = parts[2].strip()
    return reasons


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--install-log", help="what `scripts/interpreters install` printed")
    ap.add_argument("--require", action="append", default=[], help="an interpreter whose tests must run")
    ap.add_argument("junit", nargs="+")
    a = ap.parse_args()
    reasons = install_reasons(a.install_log)
    skipped, inner, ran = [], [], set()
    for path in a.junit:
        for case in ET.parse(path).getroot().iter("testcase"):
            name = case.get("name", "")
            out = case.findtext("system-out") or ""
            if case.get("status") == "notrun" or case.find("skipped") is not None:
                why = " ".join(l.strip() for l in out.splitlines() if l.strip()) or "no reason printed"
                interp = name.partition("::")[2]
                if interp in reasons:
                    why += " [scripts/interpreters: %s]" % reasons[interp]
                skipped.append((path, name, why))
                continue
            ran.add(name)
            for line in out.splitlines():
                m = SKIP_LINE.match(line.strip())
                if m and not ROUTED.search(line):
                    inner.append((path, name, m.group(1), m.group(2)))
    if skipped:
        print("== tests that did not run (skipped)")
        for path, name, why in skipped:
            print("  %s (%s): %s" % (name, path, why))
    if inner:
        print("== tests skipped inside tests that ran")
        for path, name, test, why in inner:
            print("  %s in %s (%s): %s" % (test, name, path, why))
    if not skipped and not inner:
        print("== no test was skipped")
    missing = []
    for interp in a.require:
        mine = [n for n in ran if n.endswith("::" + interp)]
        not_run = [n for _, n, _ in skipped if n.endswith("::" + interp)]
        if not mine or not_run:
            missing.append("%s (%s)" % (interp, ", ".join(not_run) or "no test names it"))
    if missing:
        print("report_skips: FAILED: the tests of %s did not run; they are required" % "; ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
