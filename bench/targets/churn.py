# SPDX-License-Identifier: MIT
# A target for a long-running `ftprof attach`: everything a profiler keys
# its tables by keeps changing. WORKERS threads at a time, each started for a
# short while (about LIFE seconds) and then ended, with a new name each time
# ("churn-<n>-<random>"); each runs functions compiled from fresh source (a
# new code object, a new name and a new file name each time) that burn CPU
# and call one another. Runs until killed (or SECONDS when given) and prints
# "ready PID churn WORKERS" once the first workers run.
#   python churn.py [WORKERS [LIFE [SECONDS]]]
# or CHURN_WORKERS, CHURN_LIFE, CHURN_SECONDS.
import os
import random
import sys
import threading
import time


def setting(index, name, default, kind):
    if len(sys.argv) > index:
        return kind(sys.argv[index])
    return kind(os.environ.get(name, default))


WORKERS = setting(1, "CHURN_WORKERS", "4", int)
LIFE = setting(2, "CHURN_LIFE", "0.2", float)
SECONDS = setting(3, "CHURN_SECONDS", "0", float)

serial = 0
serial_lock = threading.Lock()


def next_serial():
    global serial
    with serial_lock:
        serial += 1
        return serial


def fresh_functions(n):
    """Two new functions, outer calling inner, compiled from new source under
    a file name of their own: new code objects with new names."""
    src = (
        "def inner_%d(k):\n"
        "    s = 0\n"
        "    for i in range(k):\n"
        "        s += i * i\n"
        "    return s\n"
        "\n"
        "def outer_%d(k):\n"
        "    return inner_%d(k) + inner_%d(k // 2)\n" % (n, n, n, n)
    )
    scope = {}
    exec(compile(src, "<churn-%d>" % n, "exec"), scope)
    return scope["outer_%d" % n]


def worker(deadline):
    while time.monotonic() < deadline:
        fn = fresh_functions(next_serial())
        for _ in range(20):
            fn(200)
        # a new name now and then, while it runs
        if random.random() < 0.1:
            threading.current_thread().name = "churn-%d-renamed" % next_serial()


def spawn():
    n = next_serial()
    life = LIFE * (0.5 + random.random())
    t = threading.Thread(
        target=worker,
        args=(time.monotonic() + life,),
        name="churn-%d-%x" % (n, random.getrandbits(24)),
        daemon=True,
    )
    t.start()
    return t


def main():
    end = time.monotonic() + SECONDS if SECONDS > 0 else None
    live = [spawn() for _ in range(WORKERS)]
    print("ready %d churn %d" % (os.getpid(), WORKERS), flush=True)
    while end is None or time.monotonic() < end:
        for i, t in enumerate(live):
            if not t.is_alive():
                t.join()
                live[i] = spawn()
        time.sleep(0.01)


if __name__ == "__main__":
    main()
