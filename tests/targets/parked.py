# SPDX-License-Identifier: MIT
# A target parked at known places, for dump tests: named threads blocked on a
# lock, a deep recursion with a non-ASCII name, a thread spinning in Python,
# and with FTPROF_VIA_C=1 a thread blocked in a function called back from C.
# Every place a thread parks is marked with a "# park:" comment; tests find
# the expected lines from those markers. Prints "ready" once the other threads
# stand at their places, just before the main thread parks: a test waits for
# the threads to block in the kernel (test_target_wait_parked) before dumping.
import os
import sys
import threading
import time

WORKERS = int(os.environ.get("FTPROF_WORKERS", "3"))
DEPTH = int(os.environ.get("FTPROF_DEPTH", "600"))
VIA_C = os.environ.get("FTPROF_VIA_C") == "1"

gate = threading.Lock()
gate.acquire()  # never released: parked threads stay parked
spinning = True


def blocked_on_lock(i):
    gate.acquire()  # park: worker


def récursion_profonde(n):
    if n == 0:
        gate.acquire()  # park: deep
        return
    récursion_profonde(n - 1)  # park: deep-caller


def blocked_in_callback(x):
    gate.acquire()  # park: callback


def via_c():
    # map() calls the function from C: a second eval call on every version.
    list(map(blocked_in_callback, [0]))  # park: callback-caller


def spinner():
    x = 0
    while spinning:  # park: spinner
        x += 1  # park: spinner


class Parker:
    def park_main(self):
        gate.acquire()  # park: main


def parked_line(code):
    # The line a thread blocked in gate.acquire() is at, as Python sees it.
    return code.co_firstlineno


def all_parked(threads):
    frames = sys._current_frames()
    for t in threads:
        f = frames.get(t.ident)
        if f is None:
            return False
        if t.name == "spinner":
            continue
        if f.f_code.co_name not in ("blocked_on_lock", "récursion_profonde", "blocked_in_callback"):
            return False
        if f.f_code.co_name == "récursion_profonde" and f.f_locals.get("n") != 0:
            return False
    return True


def main():
    sys.setrecursionlimit(DEPTH + 200)
    threads = [threading.Thread(target=blocked_on_lock, args=(i,), name="worker-%d" % i, daemon=True)
               for i in range(WORKERS)]
    threads.append(threading.Thread(target=récursion_profonde, args=(DEPTH,), name="deep-ünïcode",
                                    daemon=True))
    threads.append(threading.Thread(target=spinner, name="spinner", daemon=True))
    if VIA_C:
        threads.append(threading.Thread(target=via_c, name="via-c", daemon=True))
    if hasattr(threading, "stack_size") and DEPTH > 500:
        pass
    for t in threads:
        t.start()
    while not all_parked(threads):
        time.sleep(0.01)
    print("ready", os.getpid(), flush=True)
    Parker().park_main()  # park: main-caller


if __name__ == "__main__":
    main()  # park: module
