# SPDX-License-Identifier: MIT
# A workload with a known split: the "worker" thread spends three quarters of
# its wall time in three_quarters() and one quarter in one_quarter(), the main
# thread sleeps. Runs for FTPROF_SECONDS (default: until killed), prints
# "ready PID" once the threads run. With FTPROF_SPLIT=park the worker waits on
# an event instead of spinning: off its CPU, waking every few milliseconds to
# move to the other function. With FTPROF_WORKERS=N, N workers ("worker-1"...)
# take turns on the GIL; each times its own calls, and once FTPROF_SECONDS are
# over prints "truth NAME SHARE", SHARE its wall time in three_quarters over
# its time in either.
import os
import sys
import threading
import time

SLICE = 0.004  # one quarter, in seconds
PARK = os.environ.get("FTPROF_SPLIT") == "park"
never = threading.Event()


def spin_until(deadline):
    n = 0
    while time.perf_counter() < deadline:
        n += 1  # split: hot line
    return n


def park_until(deadline):
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            return 0
        never.wait(left)  # split: parked line


def three_quarters(now):
    return (park_until if PARK else spin_until)(now + 3 * SLICE)  # split: calls spin_until


def one_quarter(now):
    return (park_until if PARK else spin_until)(now + SLICE)  # split: calls spin_until


def work(stop, spent):
    while not stop.is_set():
        start = time.perf_counter()
        three_quarters(start)
        middle = time.perf_counter()
        one_quarter(middle)
        spent[0] += middle - start
        spent[1] += time.perf_counter() - middle


def main():
    seconds = float(os.environ.get("FTPROF_SECONDS", "0"))
    count = int(os.environ.get("FTPROF_WORKERS", "1"))
    stop = threading.Event()
    names = ["worker"] if count == 1 else ["worker-%d" % (i + 1) for i in range(count)]
    spent = {name: [0.0, 0.0] for name in names}
    workers = [threading.Thread(target=work, args=(stop, spent[name]), name=name) for name in names]
    for worker in workers:
        worker.start()
    print("ready", os.getpid(), flush=True)
    try:
        if seconds:
            time.sleep(seconds)  # split: main sleeps
        else:
            while True:
                time.sleep(3600)  # split: main sleeps
    except KeyboardInterrupt:
        pass
    stop.set()
    for worker in workers:
        worker.join()
    for name in names:
        three, one = spent[name]
        print("truth %s %.4f" % (name, three / (three + one) if three + one else 0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
