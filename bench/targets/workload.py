# SPDX-License-Identifier: MIT
# A fixed CPU-bound workload for slowdown measurements: one thread, a Python
# stack of DEPTH frames at the innermost call, a loop of ITERATIONS calls.
#   python workload.py ITERATIONS [DEPTH]
# Prints "ready PID", waits for a line on stdin, runs the loop, prints
# "elapsed SECONDS" (the loop's wall time) and exits.
import os
import sys
import time

ITERATIONS = int(sys.argv[1])
DEPTH = int(sys.argv[2]) if len(sys.argv) > 2 else 20


def leaf(i):
    return (i * 7 + 3) % 11


def loop(n):
    total = 0
    for i in range(n):
        total += leaf(i)
    return total


def descend(n):
    if n <= 0:
        start = time.perf_counter()
        loop(ITERATIONS)
        return time.perf_counter() - start
    return descend(n - 1)


def main():
    print("ready %d" % os.getpid(), flush=True)
    sys.stdin.readline()
    elapsed = descend(DEPTH - 5)
    print("elapsed %.6f" % elapsed, flush=True)


if __name__ == "__main__":
    main()
