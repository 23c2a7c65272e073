# SPDX-License-Identifier: MIT
# A small threaded service for trying ftprof: CPU-bound workers, a consumer
# waiting on a queue, and a thread sleeping between reports.
import hashlib
import os
import queue
import threading
import time

jobs = queue.Queue()


def checksum(data, rounds):
    h = hashlib.sha256()
    for _ in range(rounds):
        h.update(data)
    return h.hexdigest()


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def cpu_worker():
    while True:
        fib(22)
        checksum(b"x" * 4096, 50)


def consumer():
    while True:
        item = jobs.get()
        checksum(item, 10)


def reporter():
    while True:
        time.sleep(0.5)
        jobs.put(os.urandom(1024))


def main():
    threads = [threading.Thread(target=cpu_worker, name="cpu-%d" % i, daemon=True) for i in range(3)]
    threads.append(threading.Thread(target=consumer, name="consumer", daemon=True))
    threads.append(threading.Thread(target=reporter, name="reporter", daemon=True))
    for t in threads:
        t.start()
    print("ready", os.getpid(), flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
