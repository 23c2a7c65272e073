# SPDX-License-Identifier: MIT
# Checks a pprof file `ftprof record -f pprof` wrote of tests/targets/split.py
# with two readers that are not ftprof's: `go tool pprof -top` (Debian's
# golang-go) must list three_quarters first with 75% (+-5 points) of the wall
# time once spin_until, which both halves call, is hidden; the npm
# `pprof-format` decoder (tests/integration/pprof_read.cjs) must find the same
# share (+-1 point), the sample types and the thread and state labels.
# Exit 0 when it matches, 77 when go or node cannot be had (the reason
# printed), 1 with every mismatch printed.
#
#   check_pprof.py FILE --pprof-format DIR
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
    return cond


def go_top(path):
    """(function, flat share) rows of `go tool pprof -top`, hottest first."""
    out = subprocess.run(["go", "tool", "pprof", "-top", "-hide=^spin_until$", path], capture_output=True,
                         text=True, timeout=300)
    check(out.returncode == 0, "go tool pprof exited %d: %s" % (out.returncode, out.stderr))
    rows = []
    header = False
    for line in out.stdout.splitlines():
        if re.match(r"^\s+flat\s+flat%", line):
            header = True
            continue
        m = re.match(r"^\s*\S+\s+([\d.]+)%\s+[\d.]+%\s+\S+\s+[\d.]+%\s+(.+)$", line)
        if header and m:
            rows.append((m.group(2).strip(), float(m.group(1)) / 100))
    check(rows, "go tool pprof -top listed nothing:\n%s%s" % (out.stdout, out.stderr))
    print("go tool pprof -top: %s" % ", ".join("%s %.1f%%" % (n, 100 * s) for n, s in rows[:4]))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--pprof-format", required=True, help="the npm package's directory (scripts/pprof-format)")
    args = ap.parse_args()
    for tool in ("go", "node"):
        if not shutil.which(tool):
            print("%s is not installed (scripts/deps installs golang-go; node comes with npm)" % tool)
            return 77
    rows = go_top(args.file)
    if rows:
        name, share = rows[0]
        check(name == "three_quarters", "go tool pprof lists %s first, not three_quarters" % name)
        check(abs(share - 0.75) <= 0.05, "three_quarters has %.1f%% in go tool pprof, expected 75%%" % (100 * share))
    reader = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pprof_read.cjs")
    out = subprocess.run(["node", reader, args.pprof_format, args.file, "^spin_until$"], capture_output=True,
                         text=True, timeout=120)
    if check(out.returncode == 0, "pprof-format could not read it: %s" % out.stderr):
        doc = json.loads(out.stdout)
        check(doc["types"][:2] == ["samples/count", "wall/nanoseconds"], "sample types %r" % doc["types"])
        check("cpu/nanoseconds" in doc["types"], "no cpu/nanoseconds of a spinning worker: %r" % doc["types"])
        check(doc["default"] == "wall/nanoseconds", "default sample type %r" % doc["default"])
        share = doc["share"].get("three_quarters", 0)
        if rows:
            check(abs(share - rows[0][1]) <= 0.01, "pprof-format finds three_quarters %.1f%%, go tool pprof %.1f%%" %
                  (100 * share, 100 * rows[0][1]))
        print("pprof-format: three_quarters %.1f%%, one_quarter %.1f%%" %
              (100 * share, 100 * doc["share"].get("one_quarter", 0)))
        labels = doc["labels"]
        check("worker" in labels.get("thread_name", {}), "no thread_name label worker: %r" % labels.get("thread_name"))
        check(labels.get("thread_id"), "no thread_id label")
        check("running" in labels.get("state", {}), "no state label running: %r" % labels.get("state"))
        check(any(f.endswith("split.py") for f in doc["files"]), "no function in split.py: %r" % doc["files"])
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
