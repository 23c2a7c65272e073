# SPDX-License-Identifier: MIT
# A workload with a known split: the "worker" thread spends three quarters of
# its wall time in three_quarters() and one quarter in one_quarter(), the main
# thread sleeps. Runs for FTPROF_SECONDS (default: until killed), prints
# "ready PID" once the threads run. With FTPROF_SPLIT=park the worker waits on
# an event instead of spinning: off its CPU, waking every few milliseconds to
# move to the other function.
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


def work(stop):
    while not stop.is_set():
        three_quarters(time.perf_counter())
        one_quarter(time.perf_counter())


def main():
    seconds = float(os.environ.get("FTPROF_SECONDS", "0"))
    stop = threading.Event()
    worker = threading.Thread(target=work, args=(stop,), name="worker")
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
    worker.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
