# SPDX-License-Identifier: MIT
# A target whose threads wait, over and over, in one kind of wait each, so a
# sampler sees each thread block at the same call site again and again:
#   lock     acquires with a 5-ms timeout a lock nobody releases   (lock)
#   sleep    sleeps 4 ms                                           (sleep)
#   pipe     waits in select() 4 ms for a pipe nobody writes       (io)
#   spin-N   FTPROF_SPINNERS threads (default 2) spin in Python: on a GIL
#            build they wait for the GIL in turn (gil), else they run
# The main thread waits on an event that is never set. Prints "ready PID".
import os
import select
import sys
import threading
import time

SPINNERS = int(os.environ.get("FTPROF_SPINNERS", "2"))
never = threading.Lock()
never.acquire()


def lock_waiter():
    while True:
        never.acquire(timeout=0.005)


def sleeper():
    while True:
        time.sleep(0.004)


def pipe_waiter():
    r, _w = os.pipe()
    while True:
        select.select([r], [], [], 0.004)


def spinner():
    n = 0
    while True:
        n += 1


def main():
    threads = [
        threading.Thread(target=lock_waiter, name="lock", daemon=True),
        threading.Thread(target=sleeper, name="sleep", daemon=True),
        threading.Thread(target=pipe_waiter, name="pipe", daemon=True),
    ]
    threads += [threading.Thread(target=spinner, name="spin-%d" % i, daemon=True) for i in range(SPINNERS)]
    for t in threads:
        t.start()
    print("ready", os.getpid(), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
