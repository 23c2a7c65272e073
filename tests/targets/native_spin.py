# SPDX-License-Identifier: MIT
# A thread ("hasher") that spends nearly all its time in C: hashlib.sha256
# over 32 MiB, which releases the GIL and runs OpenSSL's SHA256_Update in
# libcrypto, called from the Python function work(). Another ("napper")
# hashes 4 MiB, then sleeps 30 ms in nap(), over and over: asleep, it is off
# CPU right after C code ran. The main thread waits (off CPU). Prints "ready
# PID hasher TID" once the hasher runs. With an argument DEPTH, work()
# recurses DEPTH times first: before 3.11 every Python call takes C stack,
# and 300 of them take more than the 16 KiB a sample copies.
import hashlib
import os
import sys
import threading
import time

buf = b"\x5a" * (32 << 20)
started = threading.Event()
tid = [0]


def work(depth):
    if depth:
        return work(depth - 1)
    tid[0] = threading.get_native_id()
    started.set()
    while True:
        hashlib.sha256(buf).digest()  # truth: hash


def nap():
    time.sleep(0.03)  # truth: nap


def napper():
    small = buf[:4 << 20]
    while True:
        hashlib.sha256(small).digest()
        nap()


def main():
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    threading.Thread(target=work, args=(depth,), name="hasher", daemon=True).start()
    threading.Thread(target=napper, name="napper", daemon=True).start()
    started.wait()
    print("ready %d hasher %d" % (os.getpid(), tid[0]), flush=True)
    threading.Event().wait()  # truth: main
    return 0


if __name__ == "__main__":
    sys.exit(main())
