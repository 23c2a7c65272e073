# SPDX-License-Identifier: MIT
# tests/integration/check_states.py against handwritten input: the raw 3
# recording golden/truth-mini.raw passes its truth golden/truth-mini.json,
# and each sabotage of it (two states swapped, a wrong lock, holder, type or
# on-CPU flag, a missing thread, a raw 1 file) fails; a dump --json 2 with a
# deadlock and a text dump are checked the same way. Exit 0 when every case
# gives the exit status expected; so does a report --json of it.
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "..", "integration", "check_states.py")
TRUTH = os.path.join(HERE, "golden", "truth-mini.json")
RAW = os.path.join(HERE, "golden", "truth-mini.raw")

failures = []


def run(truth, text, want, what, extra=(), suffix=".raw"):
    with tempfile.TemporaryDirectory() as d:
        tpath = os.path.join(d, "truth.json")
        with open(tpath, "w") as f:
            json.dump(truth, f)
        args = [sys.executable, CHECKER, tpath]
        if text is not None:
            ipath = os.path.join(d, "input" + suffix)
            with open(ipath, "w") as f:
                f.write(text)
            args.append(ipath)
        for e in extra:
            if isinstance(e, tuple):  # (option, file text)
                p = os.path.join(d, "extra.txt")
                with open(p, "w") as f:
                    f.write(e[1])
                args += [e[0], p]
            else:
                args.append(e)
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    ok = r.returncode == want
    print("%-4s %s (exit %d, expected %d)" % ("ok" if ok else "FAIL", what, r.returncode, want))
    if not ok:
        failures.append(what)
        print("    " + r.stdout.replace("\n", "\n    "))
    return r.stdout


def edit(raw, tid, rnd, **cols):
    """raw with the sample of tid in round rnd given new column values."""
    names = ["round", "time_ns", "tid", "state", "oncpu", "cpu", "gil", "wait", "wait_addr", "wait_type", "holder",
             "holder_how", "thread", "stack"]
    out = []
    for line in raw.split("\n"):
        c = line.split("\t")
        if not line.startswith("#") and len(c) == 14 and c[0] == str(rnd) and c[2] == str(tid):
            for k, v in cols.items():
                c[names.index(k)] = v
            line = "\t".join(c)
        out.append(line)
    return "\n".join(out)


def raw_cases(truth, raw):
    one = ["--min-samples", "1"]
    out = run(truth, raw, 0, "the handwritten raw 3 recording passes", one)
    if "accuracy mini 3.13t 100.0%" not in out:
        failures.append("accuracy line")
        print("FAIL no 'accuracy mini 3.13t 100.0%%' line:\n" + out)
    bad = raw
    for rnd in (1, 2, 3, 4):
        bad = edit(bad, 4243, rnd, state="io")
    run(truth, bad, 1, "sleep reported as io (a state swap)", one)
    # the sabotage "lock and running swapped": every fighter sample
    bad = raw
    for rnd, tid, state in ((1, 4244, "running"), (1, 4245, "lock"), (2, 4244, "lock"), (2, 4245, "running"),
                            (3, 4244, "lock"), (3, 4245, "running"), (4, 4244, "lock"), (4, 4245, "running")):
        bad = edit(bad, tid, rnd, state=state)
    run(truth, bad, 1, "lock and running swapped", one)
    run(truth, edit(raw, 4244, 1, wait_addr="0x7f0018"), 1, "a waiter on another lock", one)
    run(truth, edit(raw, 4244, 1, holder="4243"), 1, "a wrong holder", one)
    run(truth, edit(raw, 4244, 1, holder="-"), 1, "no holder where one is known", one)
    run(truth, edit(raw, 4244, 1, wait="futex"), 1, "a wrong wait kind", one)
    run(truth, edit(raw, 4246, 1, wait_type="dict"), 1, "a critical section of the wrong type", one)
    run(truth, edit(raw, 4246, 1, stack="<module> (/src/mini.py:30);append (/src/mini.py:22)"), 1,
        "a critical section wait at the wrong line", one)
    run(truth, edit(raw, 4245, 1, oncpu="0"), 1, "running but off its CPU", one)
    run(truth, edit(raw, 4246, 1, state="running", wait="-", wait_addr="-", wait_type="-", holder="-",
                    holder_how="-"), 1, "the list's wait never seen (at_least)", one)
    run(truth, "\n".join(l for l in raw.split("\n") if "\t4243\t" not in l), 1, "a thread missing", one)
    run(truth, raw, 1, "too few samples for the default minimum")
    run(truth, raw.replace("# ftprof raw 3:", "# ftprof raw 2:", 1), 2, "a raw 2 file is refused", one)
    run(truth, raw.replace("\tcritical section\t", "\tcritical section\tx\t"), 2, "a line with 15 columns", one)
    wrong_pid = dict(truth, pid=4241)
    run(wrong_pid, raw, 1, "a recording of another process", one)
    report = {"format": 1, "threads": [], "locks": [
        {"kind": "Lock", "address": "0x7f0010", "type": None, "wait_seconds": 0.04, "samples": 4,
         "waiters": [{"function": "fight", "file": "/src/mini.py", "line": 10, "samples": 4}],
         "holders": [{"function": "fight", "file": "/src/mini.py", "line": 11, "samples": 4}]},
        {"kind": "critical section", "address": "0x7f0020", "type": "list", "wait_seconds": 0.01, "samples": 1,
         "waiters": [{"function": "append", "file": "/src/mini.py", "line": 20, "samples": 1}], "holders": []}]}
    run(truth, raw, 0, "report --json with the lock's waiters and holders at their lines",
        one + [("--report-json", json.dumps(report))])
    bad = json.loads(json.dumps(report))
    bad["locks"][0]["waiters"][0]["line"] = 12
    run(truth, raw, 1, "report --json with the waiters at another line", one + [("--report-json", json.dumps(bad))])
    bad = json.loads(json.dumps(report))
    bad["locks"][0]["holders"] = []
    run(truth, raw, 1, "report --json without the holders", one + [("--report-json", json.dumps(bad))])
    bad = json.loads(json.dumps(report))
    del bad["locks"][1]
    run(truth, raw, 1, "report --json without the list's critical section", one + [("--report-json", json.dumps(bad))])
    run(dict(truth, applies="no GIL in a free-threaded build"), None, 77, "a workload that does not apply")
    run(truth, None, 0, "--applies", ["--applies"])


def dump_cases():
    """A deadlock, as dump --json 2 and as text."""
    truth = {"truth": 1, "workload": "deadlock-with", "pid": 4242, "file": "/src/deadlock.py", "python": "3.12",
             "free_threaded": False, "cores": 2, "applies": True, "rounds": [],
             "threads": [
                 {"name": "deadlock-a", "tid": 4243, "rules": [{"states": ["lock"], "waits": {"lock": {
                     "kind": "Lock", "address": "0x7f00b0", "holder": 4244, "lines": [25]}}}]},
                 {"name": "deadlock-b", "tid": 4244, "rules": [{"states": ["lock"], "waits": {"lock": {
                     "kind": "Lock", "address": "0x7f00a0", "holder": 4243, "lines": [25]}}}]},
                 {"name": "MainThread", "tid": 4242, "rules": [{"states": ["wait"], "waits": {"wait": {
                     "kind": "join", "lines": [60]}}}]}],
             "deadlocks": [{"threads": [4243, 4244], "locks": ["0x7f00b0", "0x7f00a0"]}]}

    def thread(tid, name, state, waits, line, main=False):
        return {"tid": tid, "thread_id": tid * 10, "name": name, "main": main, "state": state, "on_cpu": False,
                "holds_gil": False, "waits_on": waits, "os_state": "S", "torn": False, "truncated": False,
                "frames": [{"kind": "python", "function": "f", "qualname": "f", "file": "/src/deadlock.py",
                            "line": line}]}

    doc = {"format": 2, "pid": 4242, "python": {"version": "3.12.1", "free_threaded": False},
           "threads": [
               thread(4244, "deadlock-b", "lock", {"kind": "Lock", "address": "0x7f00a0", "type": None,
                                                   "holder": 4243, "holder_how": "with"}, 25),
               thread(4243, "deadlock-a", "lock", {"kind": "Lock", "address": "0x7f00b0", "type": None,
                                                   "holder": 4244, "holder_how": "with"}, 25),
               thread(4242, "MainThread", "wait", {"kind": "join", "address": None, "type": None,
                                                   "holder": None, "holder_how": None}, 60, True)],
           "deadlocks": [{"threads": [4244, 4243], "locks": [{"kind": "Lock", "address": "0x7f00a0"},
                                                             {"kind": "Lock", "address": "0x7f00b0"}]}],
           "errors": []}
    run(truth, json.dumps(doc), 0, "a dump --json 2 with the deadlock (rotated)", suffix=".json")
    bad = dict(doc, deadlocks=[])
    run(truth, json.dumps(bad), 1, "a dump --json without the deadlock", suffix=".json")
    bad = dict(doc, deadlocks=[{"threads": [4243, 4244], "locks": doc["deadlocks"][0]["locks"]}])
    run(truth, json.dumps(bad), 1, "a dump --json pairing threads with the wrong locks", suffix=".json")
    run(truth, json.dumps(dict(doc, format=1)), 2, "a dump --json of format 1 is refused", suffix=".json")
    text = ("Process 4242: python3.12 deadlock.py\nPython v3.12.1 (/usr/bin/python3.12)\n\n"
            "Deadlock: thread 4243 \"deadlock-a\" waits for Lock 0x7f00b0 at deadlock.py:25, held by thread 4244;\n"
            "  thread 4244 \"deadlock-b\" waits for Lock 0x7f00a0 at deadlock.py:25, held by thread 4243\n\n"
            "Thread 4244 (lock): \"deadlock-b\" waiting for Lock 0x7f00a0 held by thread 4243 \"deadlock-a\"\n"
            "    f (/src/deadlock.py:25)\n\n"
            "Thread 4243 (lock): \"deadlock-a\" waiting for Lock 0x7f00b0 held by thread 4244 \"deadlock-b\"\n"
            "    f (/src/deadlock.py:25)\n\n"
            "Thread 4242 (wait): \"MainThread\" [main]\n    f (/src/deadlock.py:60)\n")
    run(truth, json.dumps(doc), 0, "a text dump with the deadlock first", [("--text-dump", text)], ".json")
    late = text.replace("Deadlock: thread", "Thread 1 (sleep)\n\nDeadlock: thread")
    run(truth, json.dumps(doc), 1, "a text dump with the deadlock after a thread", [("--text-dump", late)],
        ".json")
    nohold = text.replace("held by thread 4243 \"deadlock-a\"", "held by an unknown thread")
    run(truth, json.dumps(doc), 1, "a text dump without a known holder", [("--text-dump", nohold)], ".json")


def main():
    with open(TRUTH) as f:
        truth = json.load(f)
    with open(RAW) as f:
        raw = f.read()
    raw_cases(truth, raw)
    dump_cases()
    if failures:
        print("%d cases failed: %s" % (len(failures), "; ".join(failures)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
