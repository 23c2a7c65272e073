# SPDX-License-Identifier: MIT
# Ground truth: more CPU-bound threads than this process has CPUs (cores + 3,
# "busy-1"...). Each wants a CPU all the time: it is on one (`running` in a
# Python loop on a free-threaded build; `native` on a GIL build, where each
# hashes a buffer with hashlib, the GIL released, so that the GIL does not
# decide who waits) or waits for one (`runnable`). In each round at most
# `cores` of them are on a CPU, and every one is on a CPU or runnable.
# Prints "ready PID oversub threads=N cores=C" and the truth.
import hashlib
import sys
import threading

from truthlib import Truth, rule, start

go = threading.Event()


def spin():
    go.wait()
    n = 0
    while True:
        n += 1  # truth: spin


def hash_loop(buf):
    go.wait()
    while True:
        hashlib.sha256(buf).digest()  # truth: hash


def main():
    truth = Truth("oversub", __file__)
    cores = truth.doc["cores"]
    count = cores + 3
    if truth.ft:
        threads = [start("busy-%d" % (i + 1), spin) for i in range(count)]
        oncpu = "running"
    else:
        sys.setswitchinterval(0.0005)  # a thread taking the GIL back between hashes waits little
        buf = bytes(32 << 20)
        threads = [start("busy-%d" % (i + 1), hash_loop, buf) for i in range(count)]
        oncpu = "native"
    names = [t.name for t in threads]
    for t in threads:
        truth.thread(t.name, t.native_id, rule([oncpu, "runnable"]))
    truth.round_rule(names, [oncpu], 0, cores, "at most one thread per CPU is on a CPU")
    # other processes share the CPUs, so not every round: most
    truth.round_rule(names, [oncpu], 1, cores, "some thread is on a CPU", share=0.5)
    truth.round_rule(names, [oncpu, "runnable"], count, count, "every thread is on a CPU or runnable")
    truth.thread("MainThread", threading.get_native_id(),
                 rule(["wait"], waits={"wait": {"kind": "join", "lines": truth.lines("join")}}))
    truth.ready_once_joined(go, "threads=%d cores=%d" % (count, cores))
    threads[0].join()  # truth: join
    return 0


if __name__ == "__main__":
    sys.exit(main())
