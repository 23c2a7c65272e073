# SPDX-License-Identifier: MIT
# THREADS threads counting in a Python loop, for slowdown measurements.
#   python counters.py THREADS SECONDS
# Prints "ready PID", waits for a line on stdin, lets them count for
# SECONDS, then prints "iters N cpu S wall S": the iterations counted in
# that time, the process's CPU time and the wall time, and exits.
import os
import sys
import threading
import time

THREADS = int(sys.argv[1])
SECONDS = float(sys.argv[2])
counts = [0] * THREADS
stop = False


def count(i):
    n = 0
    while not stop:
        n += 1
        if not n & 1023:
            counts[i] = n
    counts[i] = n


def main():
    global stop
    threads = [threading.Thread(target=count, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    print("ready %d" % os.getpid(), flush=True)
    sys.stdin.readline()
    c0, p0, w0 = sum(counts), time.process_time(), time.monotonic()
    time.sleep(SECONDS)
    c1, p1, w1 = sum(counts), time.process_time(), time.monotonic()
    stop = True
    for t in threads:
        t.join()
    print("iters %d cpu %.3f wall %.3f" % (c1 - c0, p1 - p0, w1 - w0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
