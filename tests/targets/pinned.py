# SPDX-License-Identifier: MIT
# Two threads ("spin-0", "spin-1") spin in pure Python, each pinned to its
# own CPU (0 and 1) with os.sched_setaffinity: on a free-threaded build both
# cores are busy with this process at once (effective parallelism near 2);
# on a GIL build they take turns (near 1). Prints "ready PID pinned TID0
# TID1" once both spin. Needs two CPUs.
import os
import sys
import threading

running = [threading.Event(), threading.Event()]
tids = [0, 0]


def spin(cpu):
    os.sched_setaffinity(0, {cpu})  # 0: the calling thread
    tids[cpu] = threading.get_native_id()
    running[cpu].set()
    n = 0
    while True:
        n += 1  # truth: spin


def main():
    if len(os.sched_getaffinity(0)) < 2 or not {0, 1} <= os.sched_getaffinity(0):
        print("skip: needs CPUs 0 and 1", flush=True)
        return 77
    for cpu in (0, 1):
        threading.Thread(target=spin, args=(cpu,), name="spin-%d" % cpu, daemon=True).start()
    for e in running:
        e.wait()
    print("ready %d pinned %d %d" % (os.getpid(), tids[0], tids[1]), flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
