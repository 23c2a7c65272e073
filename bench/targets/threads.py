# SPDX-License-Identifier: MIT
# A target of THREADS Python threads (the main thread included), each with a
# Python stack of DEPTH frames, parked in the innermost frame: blocked on a lock
# ("park", the default) or running a pure-Python loop that calls one more
# function ("spin"), so the top of the stack keeps changing.
#   python threads.py [THREADS [DEPTH [park|spin]]]
# or BENCH_THREADS, BENCH_DEPTH, BENCH_MODE. Prints
# "ready PID THREADS MIN_DEPTH MAX_DEPTH" once every thread is in place, then
# stays until killed.
import os
import sys
import threading


def setting(index, name, default):
    if len(sys.argv) > index:
        return sys.argv[index]
    return os.environ.get(name, default)


THREADS = int(setting(1, "BENCH_THREADS", "8"))
DEPTH = int(setting(2, "BENCH_DEPTH", "10"))
MODE = setting(3, "BENCH_MODE", "park")

gate = threading.Lock()
gate.acquire()
arrived = []
arrived_lock = threading.Lock()
everyone_in = threading.Event()


def stack_depth(frame):
    n = 0
    while frame is not None:
        n += 1
        frame = frame.f_back
    return n


def step(x):
    return x + 1


def innermost():
    with arrived_lock:
        arrived.append(stack_depth(sys._getframe()))
        if len(arrived) == THREADS:
            print("ready %d %d %d %d" % (os.getpid(), THREADS, min(arrived), max(arrived)),
                  flush=True)
            everyone_in.set()
    if MODE == "spin":
        # Spinning threads would starve the start of the others of the GIL.
        everyone_in.wait()
        x = 0
        while True:
            x = step(x)
    gate.acquire()


def descend(n):
    if n <= 0:
        innermost()
        return
    descend(n - 1)


# Worker frames: Thread._bootstrap, _bootstrap_inner, run, descend..., innermost.
def worker():
    descend(DEPTH - 6)


def main():
    sys.setrecursionlimit(max(1000, DEPTH + 200))
    for i in range(THREADS - 1):
        threading.Thread(target=worker, name="bench-%d" % i, daemon=True).start()
    # Main thread frames: <module>, main, descend..., innermost.
    descend(DEPTH - 4)


if __name__ == "__main__":
    main()
