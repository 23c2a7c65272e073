#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# What `record --native` costs without stopping the target, against
# `--native --blocking` and a plain record (docs/native.md).
#   bench/native_cost.py cost [RATE] [PYTHON]   ftprof's CPU per round on
#       threads.py 8 20 spin: its CPU time (/proc) over 10 s after an 8 s
#       start, the rounds in that window (from the raw file)
#   bench/native_cost.py slowdown [PYTHON]      counters.py 8: iterations per
#       wall and per CPU second, unprofiled and under each mode, median of 3
# ftprof runs at nice -10, so that it keeps its rate on a busy machine.
# Needs ftprof built (build/ui/ftprof or $FTPROF) and root.
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FTPROF = os.environ.get("FTPROF", os.path.join(HERE, "..", "build", "ui", "ftprof"))
PY13T = os.path.expanduser("~/.cache/ftprof/py3.13t/bin/python3.13t")
MODES = (("--native", ["--native"]), ("--native --blocking", ["--native", "--blocking"]), ("plain", []))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def record(rate, extra, pid, raw, secs=None):
    argv = ["nice", "-n", "-10", FTPROF, "record", "-q", "-r", str(rate), "-f", "raw", "-o", raw] + extra
    if secs:
        argv += ["-d", str(secs)]
    return subprocess.Popen(argv + [str(pid)], stderr=subprocess.DEVNULL)


def cost(rate, python, tmp):
    print("%-22s %9s %10s %12s %s" % ("mode", "rounds/s", "CPU", "us/round", "samples with native frames"))
    for name, extra in MODES if rate == 100 else (MODES[0], MODES[2]):
        t = subprocess.Popen([python, os.path.join(HERE, "targets", "threads.py"), "8", "20", "spin"],
                             stdout=subprocess.PIPE, text=True)
        t.stdout.readline()
        raw = os.path.join(tmp, "cost.raw")
        r = record(rate, extra, t.pid, raw, 20)
        time.sleep(8)
        t0, c0 = time.monotonic_ns(), cpu_seconds(r.pid)
        time.sleep(10)
        t1, c1 = time.monotonic_ns(), cpu_seconds(r.pid)
        r.wait()
        t.kill()
        t.wait()
        rounds, native, total = set(), 0, 0
        with open(raw) as f:
            for line in f:
                c = line.split("\t")
                if line[0].isdigit() and t0 <= int(c[1]) <= t1:
                    rounds.add(c[0])
                    total += 1
                    native += "(libpython" in line
        w = (t1 - t0) / 1e9
        print("%-22s %9.1f %9.1f%% %12.0f %d of %d" % (name, len(rounds) / w, 100 * (c1 - c0) / w,
                                                     1e6 * (c1 - c0) / max(len(rounds), 1), native, total))


def slowdown(python, tmp):
    res = {}
    for _ in range(3):
        for name, extra in (("unprofiled", None),) + MODES[:2]:
            w = subprocess.Popen([python, os.path.join(HERE, "targets", "counters.py"), "8", "6"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            pid = int(w.stdout.readline().split()[1])
            r = record(100, extra, pid, os.path.join(tmp, "slow.raw")) if extra is not None else None
            time.sleep(6)  # past ftprof's start
            w.stdin.write("go\n")
            w.stdin.flush()
            it, cpu, wall = (float(x) for x in w.stdout.readline().split()[1::2])
            w.wait()
            if r:
                r.wait()
            res.setdefault(name, []).append((it / wall, it / cpu))
    for name, v in res.items():
        print("%-22s iterations/wall s: median %.3g (%s); per CPU s: median %.3g" %
              (name, statistics.median(x[0] for x in v), ", ".join("%.3g" % x[0] for x in v),
               statistics.median(x[1] for x in v)))


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "cost"
    with tempfile.TemporaryDirectory() as tmp:
        if what == "cost":
            cost(int(sys.argv[2]) if len(sys.argv) > 2 else 100, sys.argv[3] if len(sys.argv) > 3 else PY13T, tmp)
        else:
            slowdown(sys.argv[2] if len(sys.argv) > 2 else PY13T, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
