# SPDX-License-Identifier: MIT
# Ground truth, one thread per state, each named after the state it must be
# in, every sample, until killed (truthlib.py says how the truth is handed on):
#   sleep     time.sleep                                       sleep
#   holder    sleeps inside `with lock:`, forever              sleep
#   io        a blocking read of a pipe nobody writes          io
#   running   a pure-Python loop                               running
#   native    hashlib.sha256 of a 256 MiB buffer, in a loop     native
#             (the thread state detached, or the GIL released)
#   lock      lock.acquire() of the lock `holder` holds         lock: Lock at id(lock), held by holder
#   queue     queue.get() on an empty queue                    wait: queue
#   event     Event.wait() of an event never set               wait: Event
#   c-mutex   pthread_mutex_lock (ctypes) of a mutex in the    lock: futex at the mutex
#             heap the main thread holds; the word before it
#             points at `lock`'s PyMutex, as a parking-lot
#             wait entry's parked address would (a probe that
#             takes any futex for one names `lock` here)
#   MainThread  Thread.join() of `sleep`, which never ends     wait: join
# `running` and `native` may also be `runnable`: they want a CPU, and on a
# loaded machine one may be waiting for it. Prints "ready PID states
# lock=0x..." and the truth.
import ctypes
import hashlib
import os
import queue
import sys
import threading
import time

from truthlib import Truth, address, rule, start

lock = threading.Lock()
held = threading.Event()


def holder():
    with lock:  # truth: holder-with
        held.set()
        while True:
            time.sleep(3600)  # truth: holder-sleep


def sleeper():
    while True:
        time.sleep(3600)  # truth: sleep


def reader(fd):
    while True:
        os.read(fd, 1)  # truth: io


def spinner():
    n = 0
    while True:
        n += 1  # truth: running


def hasher(buf):
    while True:
        hashlib.sha256(buf).digest()  # truth: native


def lock_waiter():
    held.wait()
    lock.acquire()  # truth: lock


def queue_waiter(q):
    q.get()  # truth: queue


def event_waiter(event):
    event.wait()  # truth: event


def c_mutex_waiter(libc, mutex):
    libc.pthread_mutex_lock(mutex)  # truth: c-mutex


def c_mutex():
    """A locked pthread mutex in the heap, after a word that points at
    lock's PyMutex (its first field, 3.13+). Returns (buffer, mutex address)."""
    buf = ctypes.create_string_buffer(64)
    base = (ctypes.addressof(buf) + 7) & ~7
    ctypes.c_uint64.from_address(base).value = id(lock) + object.__basicsize__
    return buf, base + 8


def main():
    truth = Truth("states", __file__)
    if not truth.ft:
        # the hasher takes the GIL back after each hash: a short switch
        # interval keeps that wait (a true `gil`) under 1% of its time
        sys.setswitchinterval(0.0005)
    read_end, _write_end = os.pipe()
    buf = bytes(256 << 20)
    t = {
        "holder": start("holder", holder),
        "sleep": start("sleep", sleeper),
        "io": start("io", reader, read_end),
        "running": start("running", spinner),
        "native": start("native", hasher, buf),
        "queue": start("queue", queue_waiter, queue.Queue()),
        "event": start("event", event_waiter, threading.Event()),
    }
    libc = ctypes.CDLL(None)
    mutex_buf, mutex = c_mutex()
    libc.pthread_mutex_lock(ctypes.c_void_p(mutex))
    t["c-mutex"] = start("c-mutex", c_mutex_waiter, libc, ctypes.c_void_p(mutex))
    held.wait()
    t["lock"] = start("lock", lock_waiter)
    time.sleep(0.3)  # every thread where it stays: the lock waiter parked
    cpu = ["runnable"]
    truth.thread("sleep", t["sleep"].native_id, rule(["sleep"]))
    truth.thread("holder", t["holder"].native_id, rule(["sleep"]))
    truth.thread("io", t["io"].native_id, rule(["io"]))
    # runnable is true of a thread that wants a CPU the machine has not
    # given it; most of the time it has one
    truth.thread("running", t["running"].native_id, rule(["running"] + cpu, at_least={"running": 0.5}))
    truth.thread("native", t["native"].native_id, rule(["native"] + cpu, at_least={"native": 0.5}))
    truth.thread("lock", t["lock"].native_id,
                 rule(["lock"], waits={"lock": {"kind": "Lock", "address": address(lock),
                                                "holder": t["holder"].native_id,
                                                "lines": truth.lines("lock")}}))
    truth.thread("c-mutex", t["c-mutex"].native_id,
                 rule(["lock"], waits={"lock": {"kind": "futex", "address": "0x%x" % mutex,
                                                "lines": truth.lines("c-mutex")}}))
    truth.thread("queue", t["queue"].native_id, rule(["wait"], waits={"wait": {"kind": "queue"}}))
    truth.thread("event", t["event"].native_id, rule(["wait"], waits={"wait": {"kind": "Event"}}))
    truth.thread("MainThread", threading.get_native_id(),
                 rule(["wait"], waits={"wait": {"kind": "join", "lines": truth.lines("join")}}))
    truth.ready("lock=%s holder=%d" % (address(lock), t["holder"].native_id))
    t["sleep"].join()  # truth: join
    del mutex_buf
    return 0


if __name__ == "__main__":
    sys.exit(main())
