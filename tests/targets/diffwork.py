# SPDX-License-Identifier: MIT
# A workload for `ftprof diff`: three threads each call alpha(), beta() and
# gamma() in turn, each doing the same amount of arithmetic on average, so
# each holds a third of the samples. Each call's amount is drawn at random
# (1 to 2 * WORK - 1 steps), so that the round of three calls keeps no fixed
# period a sampler's could lock onto, and three threads give three times
# the samples of one, each thread preempted at its own moments. With FTPROF_SLOW=NAME the function NAME does
# its work twice (it is made twice as slow): it then holds half the samples
# and each of the others a quarter. Prints "ready PID" once it runs; runs for
# FTPROF_SECONDS (default: until killed).
import os
import random
import sys
import threading
import time

WORK = 3000
SLOW = os.environ.get("FTPROF_SLOW", "")


def crunch(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003  # diffwork: hot line
    return x


def alpha(draw):
    return crunch(draw(1, 2 * WORK) * (2 if SLOW == "alpha" else 1))


def beta(draw):
    return crunch(draw(1, 2 * WORK) * (2 if SLOW == "beta" else 1))


def gamma(draw):
    return crunch(draw(1, 2 * WORK) * (2 if SLOW == "gamma" else 1))


def work(seed, end):
    draw = random.Random(seed).randrange
    while end is None or time.monotonic() < end:
        alpha(draw)
        beta(draw)
        gamma(draw)


def main():
    seconds = float(os.environ.get("FTPROF_SECONDS", "0"))
    end = time.monotonic() + seconds if seconds else None
    threads = [threading.Thread(target=work, args=(i, end), name="work-%d" % i, daemon=True)
               for i in range(3)]
    for t in threads:
        t.start()
    print("ready", os.getpid(), flush=True)
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
