#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""record --native names a static C function from the separate debug file
its library's .gnu_debuglink names (beside the library, as the build leaves
it), and, with DEBUGINFOD_URLS unset, never loads the debuginfod client
(libdebuginfod, with its HTTP and TLS libraries) into ftprof.

usage: check_debuglink.py FTPROF PYTHON LIB"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ftprof, python, lib = sys.argv[1:4]
    problems = []
    if not os.path.exists(lib + ".debug"):
        sys.exit("no %s.debug: the build did not split the library's debug file" % lib)
    target = subprocess.Popen([python, os.path.join(HERE, "..", "targets", "debuglink.py"), lib],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = target.stdout.readline()
        if not line.startswith("ready"):
            sys.exit("debuglink.py did not start: %r" % line)
        env = {k: v for k, v in os.environ.items() if k != "DEBUGINFOD_URLS"}
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "linked.folded")
            rec = subprocess.Popen([ftprof, "record", "--native", "--threads", "-d", "3", "-o", out,
                                    str(target.pid)], stderr=subprocess.PIPE, text=True, env=env)
            time.sleep(2)
            try:
                with open("/proc/%d/maps" % rec.pid) as f:
                    loaded = sorted({ln.split()[-1] for ln in f if "debuginfod" in ln or "libcurl" in ln})
            except OSError as e:
                loaded = None
                problems.append("could not read ftprof's maps: %s" % e)
            err = rec.communicate(timeout=60)[1]
            if rec.returncode != 0:
                problems.append("record exited %d: %s" % (rec.returncode, err))
            if loaded:
                problems.append("ftprof loaded the debuginfod client with DEBUGINFOD_URLS unset: %s" %
                                ", ".join(loaded))
            linked = named = 0
            with open(out) as f:
                for row in f:
                    stack, count = row.rstrip("\n").rsplit(" ", 1)
                    frames = stack.split(";")
                    if not frames[0].startswith('thread "linked"'):
                        continue
                    linked += int(count)
                    if any(fr.startswith("hidden_spin") for fr in frames):
                        named += int(count)
    finally:
        target.kill()
        target.wait()
    if linked < 50:
        problems.append("only %d samples of the linked thread" % linked)
    elif named < 0.8 * linked:
        problems.append("hidden_spin named in %d of %d samples of the linked thread, expected 80%%" %
                        (named, linked))
    print("debuglink: hidden_spin in %d of %d samples of the linked thread; debuginfod client loaded: %s" %
          (named, linked, "yes" if loaded else "no"))
    for p in problems:
        print("check_debuglink: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
