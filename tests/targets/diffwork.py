# SPDX-License-Identifier: MIT
# A workload for `ftprof diff`: the main thread calls alpha(), beta() and
# gamma() in turn, each doing the same fixed amount of arithmetic, so each
# holds a third of the samples. With FTPROF_SLOW=NAME the function NAME does
# its work twice (it is made twice as slow): it then holds half the samples
# and each of the others a quarter. Prints "ready PID" once it runs; runs for
# FTPROF_SECONDS (default: until killed).
import os
import sys
import time

WORK = 20000
SLOW = os.environ.get("FTPROF_SLOW", "")


def crunch(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003  # diffwork: hot line
    return x


def alpha():
    return crunch(WORK * (2 if SLOW == "alpha" else 1))


def beta():
    return crunch(WORK * (2 if SLOW == "beta" else 1))


def gamma():
    return crunch(WORK * (2 if SLOW == "gamma" else 1))


def main():
    seconds = float(os.environ.get("FTPROF_SECONDS", "0"))
    end = time.monotonic() + seconds if seconds else None
    print("ready", os.getpid(), flush=True)
    while end is None or time.monotonic() < end:
        alpha()
        beta()
        gamma()
    return 0


if __name__ == "__main__":
    sys.exit(main())
