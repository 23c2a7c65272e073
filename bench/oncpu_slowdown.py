#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# What the on-CPU engine costs the target: counters.py THREADS (threads
# counting in a Python loop) for SECONDS, unprofiled and under `ftprof record`
# with and without --no-oncpu at 100 Hz and 1 kHz; iterations per CPU second
# of the target (what the profiler's interrupts and reads take from it) and
# per wall second (which also counts the CPU ftprof itself takes on a
# machine with fewer cores than threads), median of RUNS.
#   bench/oncpu_slowdown.py [PYTHON [THREADS [SECONDS [RUNS]]]]
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
MODES = (("unprofiled", None), ("100 Hz --no-oncpu", ["-r", "100", "--no-oncpu"]), ("100 Hz on-CPU", ["-r", "100"]),
         ("1 kHz --no-oncpu", ["-r", "1000", "--no-oncpu"]), ("1 kHz on-CPU", ["-r", "1000"]))


def run(python, threads, seconds, extra, tmp):
    w = subprocess.Popen([python, os.path.join(HERE, "targets", "counters.py"), str(threads), str(seconds)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = int(w.stdout.readline().split()[1])
    r = None
    if extra is not None:
        r = subprocess.Popen([FTPROF, "record", "-q", "-f", "raw", "-d", str(seconds + 3), "-o",
                              os.path.join(tmp, "s.raw")] + extra + [str(pid)])
        time.sleep(2)  # past its start: reading symbols, opening the events
    w.stdin.write("go\n")
    w.stdin.flush()
    it, cpu, wall = (float(x) for x in w.stdout.readline().split()[1::2])
    w.wait()
    if r:
        r.wait()
    return it / cpu, it / wall


def main():
    python = sys.argv[1] if len(sys.argv) > 1 else PY13T
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 4
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    res = {name: [] for name, _ in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):  # interleaved: a drift of the machine hits every mode alike
            for name, extra in MODES:
                res[name].append(run(python, threads, seconds, extra, tmp))
    base_cpu = statistics.median(x[0] for x in res["unprofiled"])
    base_wall = statistics.median(x[1] for x in res["unprofiled"])
    print("%-20s %16s %9s %16s %9s" % ("mode", "iter/CPU s", "vs none", "iter/wall s", "vs none"))
    for name, _ in MODES:
        c = statistics.median(x[0] for x in res[name])
        w = statistics.median(x[1] for x in res[name])
        print("%-20s %16.4g %8.1f%% %16.4g %8.1f%%" % (name, c, 100 * (c / base_cpu - 1), w,
                                                     100 * (w / base_wall - 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
