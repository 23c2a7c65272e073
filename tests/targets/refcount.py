# SPDX-License-Identifier: MIT
# Reference-count contention: THREADS threads ("reader-1", ...) read an
# attribute of an object in a loop. With "shared" every thread reads the same
# object, made by the main thread: on a free-threaded build each read updates
# its shared count (ob_ref_shared) atomically and the cores fight over its
# cache line. With "private" each thread reads an object it made itself,
# whose count it owns (ob_ref_local): no contention. The object's type is
# Payload. The modes "str" and "closure" share an object with a short name
# instead, which each thread takes a reference to in a loop: a str made at
# run time ('shared-key-PID') or a nested function (make.<locals>.inner; a
# module-level function or class would not do: 3.13t makes those immortal
# once a second thread starts, and nobody counts them); "ready" then ends with
# "type=TYPE name=NAME", the object's type and the short name ftprof should
# give it. Prints "ready PID refcount MODE ..." once every reader runs, then
# runs until killed (or SECONDS when given: "rate N" is then the loop's total
# iterations per second).
#   python refcount.py shared|private|str|closure [THREADS] [SECONDS]
import os
import sys
import threading
import time


class Payload:
    def __init__(self):
        self.value = 1


def reader(obj_of, counts, i, stop):
    obj = obj_of()
    n = 0
    started[i].set()
    while not stop.is_set():
        for _ in range(1000):
            obj.value  # truth: read
        n += 1000
    counts[i] = n


def holder(obj_of, counts, i, stop):
    obj = obj_of()
    held = None
    n = 0
    started[i].set()
    while not stop.is_set():
        for _ in range(1000):
            held = obj  # truth: hold
        n += 1000
    counts[i] = n + (held is None)


def make():
    def inner():
        return None
    return inner


# mode: (the object, its type's name, the short name ftprof gives it)
NAMED = {
    "str": lambda: (lambda s: (s, "str", "'%s'" % s))("-".join(["shared", "key", str(os.getpid())])),
    "closure": lambda: (make(), "function", "make.<locals>.inner"),
}


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "shared"
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0
    said = ""
    loop = reader
    if mode in NAMED:
        shared, type_name, name = NAMED[mode]()
        said = " type=%s name=%s" % (type_name, name)
        loop = holder
    else:
        shared = Payload()
    obj_of = Payload if mode == "private" else (lambda: shared)
    global started
    started = [threading.Event() for _ in range(threads)]
    counts = [0] * threads
    stop = threading.Event()
    ts = [threading.Thread(target=loop, args=(obj_of, counts, i, stop), name="reader-%d" % (i + 1),
                           daemon=True) for i in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for e in started:
        e.wait()
    print("ready %d refcount %s%s" % (os.getpid(), mode, said), flush=True)
    if seconds:
        time.sleep(seconds)
        stop.set()
        for t in ts:
            t.join()
        print("rate %.0f" % (sum(counts) / (time.monotonic() - t0)), flush=True)
        return 0
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
