# SPDX-License-Identifier: MIT
# A target whose interpreter state keeps changing under a profiler: threads
# started and finished by the hundred per second, recursion grown to a random
# depth and unwound, functions compiled with exec and dropped, threads renamed,
# dicts (threading._active, Thread.__dict__) growing and shrinking. Runs for
# FTPROF_SECONDS (default 30), prints "ready PID" once everything churns, and
# keeps its counts, as JSON, in the file FTPROF_COUNTS if set.
import json
import os
import random
import sys
import threading
import time

SECONDS = float(os.environ.get("FTPROF_SECONDS", "30"))
MAX_DEPTH = int(os.environ.get("FTPROF_DEPTH", "800"))
SPAWN_BATCH = 8

stop = threading.Event()
counts = {"threads": 0, "codes": 0, "renames": 0, "dives": 0}


def make_function(i):
    # A new code object each time: a new name, sometimes the same text again,
    # in one of a few pseudo-files.
    name = "gen_%d" % i if i % 3 else "gen_same"
    src = "def %s(n):\n    s = 0\n    for k in range(n):\n        s += k * k\n    return s\n" % name
    scope = {}
    exec(compile(src, "<churn-%d>" % (i % 4), "exec"), scope)
    counts["codes"] += 1
    return scope[name]


def dive(n, rng):
    if n <= 0:
        f = make_function(rng.randrange(1 << 30))
        return f(rng.randrange(50, 400))
    return dive(n - 1, rng) + 1


def climb(n):
    if n <= 0:
        return 0
    return climb(n - 1) + 1


def diver(seed):
    rng = random.Random(seed)
    while not stop.is_set():
        dive(rng.randrange(1, MAX_DEPTH), rng)
        counts["dives"] += 1


def short_lived(i, rng):
    t = threading.current_thread()
    t.name = "short-%d-%s" % (i, "x" * rng.randrange(0, 40))
    for k in range(rng.randrange(0, 6)):
        setattr(t, "attr_%d" % k, k)
    climb(rng.randrange(1, 60))
    for k in range(rng.randrange(0, 6)):
        t.__dict__.pop("attr_%d" % k, None)
    t.name = "short-%d-done" % i


def spawner(seed):
    rng = random.Random(seed)
    i = 0
    while not stop.is_set():
        batch = []
        for _ in range(SPAWN_BATCH):
            t = threading.Thread(target=short_lived, args=(i, rng), name="new-%d" % i, daemon=True)
            t.start()
            batch.append(t)
            i += 1
        for t in batch:
            t.join()
        counts["threads"] += len(batch)


def renamer(seed, threads):
    rng = random.Random(seed)
    i = 0
    while not stop.is_set():
        t = rng.choice(threads)
        t.name = "renamed-%d-%s" % (i, "y" * rng.randrange(0, 200))
        d = {}
        for k in range(rng.randrange(1, 300)):
            d["k%d" % k] = k
        while d:
            d.popitem()
        i += 1
        counts["renames"] += 1
        if i % 64 == 0:
            time.sleep(0.001)


def main():
    sys.setrecursionlimit(MAX_DEPTH + 400)
    sys.setswitchinterval(0.0002)  # GIL builds: thread starts wait for the GIL less
    workers = [threading.Thread(target=diver, args=(k,), name="diver-%d" % k, daemon=True) for k in range(2)]
    workers += [threading.Thread(target=spawner, args=(10 + k,), name="spawner-%d" % k, daemon=True)
                for k in range(2)]
    workers.append(threading.Thread(target=renamer, args=(20, workers[:]), name="renamer", daemon=True))
    for t in workers:
        t.start()
    print("ready", os.getpid(), flush=True)
    start = time.monotonic()
    while time.monotonic() < start + SECONDS:
        time.sleep(0.25)
        if os.environ.get("FTPROF_COUNTS"):
            with open(os.environ["FTPROF_COUNTS"] + ".new", "w") as f:
                json.dump(dict(counts, seconds=round(time.monotonic() - start, 2)), f)
            os.replace(os.environ["FTPROF_COUNTS"] + ".new", os.environ["FTPROF_COUNTS"])
    stop.set()
    for t in workers:
        t.join()
    print("churned", counts, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
