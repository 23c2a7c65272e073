# SPDX-License-Identifier: MIT
# A thread ("hasher") that spends nearly all its time in C: hashlib.sha256
# over 32 MiB, which releases the GIL and runs OpenSSL's SHA256_Update in
# libcrypto, called from the Python function work(). The main thread waits
# (off CPU). Prints "ready PID hasher TID" once the hasher runs.
import hashlib
import os
import sys
import threading

buf = b"\x5a" * (32 << 20)
started = threading.Event()
tid = [0]


def work():
    tid[0] = threading.get_native_id()
    started.set()
    while True:
        hashlib.sha256(buf).digest()  # truth: hash


def main():
    threading.Thread(target=work, name="hasher", daemon=True).start()
    started.wait()
    print("ready %d hasher %d" % (os.getpid(), tid[0]), flush=True)
    threading.Event().wait()  # truth: main
    return 0


if __name__ == "__main__":
    sys.exit(main())
