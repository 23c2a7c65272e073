# SPDX-License-Identifier: MIT
# What the ground-truth targets (states.py, fighters.py, shared_list.py,
# gil_cpu.py, deadlock.py, gc_stw.py, oversub.py) share: the build they run
# on, the lines their source marks with "# truth: NAME" comments, and the
# truth document they hand to tests/integration/check_states.py.
#
# A target knows what each of its threads is doing, so it writes the truth
# itself, as JSON, once every thread is where it must be:
#   - to the file named by FTPROF_TRUTH, when that is set (the tests);
#   - on stdout, as the line after "ready PID ...", after "truth ".
# The document (check_states.py documents how each field is checked):
#   {"truth": 1, "workload": NAME, "pid": PID, "file": SOURCE (absolute),
#    "python": "3.13", "free_threaded": BOOL, "cores": N,
#    "applies": true | "the reason it does not, on this build",
#    "threads": [{"name": ..., "tid": NATIVE_TID, "rules": [RULE, ...]}],
#    "rounds": [ROUND_RULE, ...], "deadlocks": [{"threads": [...], "locks": [...]}]}
# Only the standard library, and Python 3.8 to 3.15.
import json
import os
import re
import sys
import sysconfig
import threading
import time

TRUTH_FORMAT = 1


def free_threaded():
    """A build without a GIL in force (3.13t and later, not PYTHON_GIL=1)."""
    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        return False
    enabled = getattr(sys, "_is_gil_enabled", None)
    return not (enabled and enabled())


def cores():
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def marks(path):
    """{NAME: [line, ...]} of the "# truth: NAME" comments of path."""
    found = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.search(r"# truth: ([\w-]+)", line)
            if m:
                found.setdefault(m.group(1), []).append(n)
    return found


def rule(states, lines=None, when=None, waits=None, at_least=None, on_cpu=None, optional=False):
    """What a thread's samples must be. states: the states a sample may have.
    lines: the rule covers only samples whose innermost frame in the target's
    file is at one of these lines. when: {"thread": NAME, "lines": [...]}:
    only rounds in which that thread's sample is at one of those lines.
    waits: {STATE: {"kind", "address", "type", "holder", "lines"}}: what a
    sample in STATE must wait on (holder: a tid, or {"at": [lines]}: the
    thread whose sample of the same round is at one of those lines).
    at_least: {STATE: SHARE}: a state that must hold at least that share of
    the rule's samples. on_cpu: {STATE: true|false}. optional: a rule that
    may cover too few samples to judge (a short phase of a loop)."""
    r = {"states": list(states)}
    for key, value in (("lines", lines), ("when", when), ("waits", waits), ("at_least", at_least),
                       ("on_cpu", on_cpu), ("optional", optional or None)):
        if value is not None:
            r[key] = value
    return r


class Truth:
    """The truth document of one target, built as its threads start."""

    def __init__(self, workload, source):
        self.source = os.path.abspath(source)
        self.marks = marks(self.source)
        self.ft = free_threaded()
        self.doc = {
            "truth": TRUTH_FORMAT,
            "workload": workload,
            "pid": os.getpid(),
            "file": self.source,
            "python": "%d.%d" % sys.version_info[:2],
            "free_threaded": self.ft,
            "cores": cores(),
            "applies": True,
            "threads": [],
            "rounds": [],
            "deadlocks": [],
        }

    def lines(self, name):
        return list(self.marks[name])

    def line(self, name):
        return self.marks[name][0]

    def not_applicable(self, reason):
        self.doc["applies"] = reason

    def thread(self, name, tid, *rules):
        self.doc["threads"].append({"name": name, "tid": tid, "rules": list(rules)})

    def round_rule(self, threads, states, low, high, what, share=None):
        """In each round where every thread of threads (names) has a sample,
        the number of them in one of states is within [low, high]; in at
        least share of the rounds (default: check_states.py's --min-share)."""
        rr = {"threads": list(threads), "states": list(states), "min": low, "max": high, "what": what}
        if share is not None:
            rr["min_share"] = share
        self.doc["rounds"].append(rr)

    def deadlock(self, tids, locks):
        """tids[i] waits for locks[i] (addresses), held by tids[i+1 mod n]."""
        self.doc["deadlocks"].append({"threads": list(tids), "locks": list(locks)})

    def ready(self, shown=""):
        """Writes the truth (FTPROF_TRUTH) and prints the ready line and the
        truth line. Call it once every thread is where it must be."""
        text = json.dumps(self.doc, sort_keys=True)
        path = os.environ.get("FTPROF_TRUTH")
        if path:
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.write(text + "\n")
            os.replace(path + ".tmp", path)
        print("ready %d %s%s" % (os.getpid(), self.doc["workload"], " " + shown if shown else ""),
              flush=True)
        print("truth " + text, flush=True)

    def ready_once_joined(self, go, shown="", settle=0.2):
        """For a main thread whose truth is a join, called just before it
        joins for good: a helper thread waits until the main thread is
        blocked in that join, then sets go (the event every other thread
        waits on before it competes for the GIL and the CPUs), lets them run
        `settle` seconds, and prints the ready line. Printed before the
        join, with the workers already holding the GIL, the main thread's
        first samples would be its wait for the GIL on its way to the join
        (measured on 3.15: 30 of 500 in shared_list, 291 of 498 in gc_stw
        under ASan)."""
        main = threading.current_thread()
        tid = threading.get_native_id()

        def let_go():
            while not joined(main.ident, tid):
                time.sleep(0.05)
            go.set()
            time.sleep(settle)
            self.ready(shown)

        start("ready", let_go)


def joined(ident, tid):
    """Whether thread ident (native id tid) sleeps in a join. With no other
    thread after the GIL, a thread in join's Python code that sleeps is
    blocked in the join, not waiting for the GIL."""
    frame = sys._current_frames().get(ident)
    if frame is None or frame.f_code.co_name not in ("join", "_wait_for_tstate_lock"):
        return False
    try:
        with open("/proc/self/task/%d/stat" % tid, encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "S"
    except OSError:
        return False


def address(obj):
    return "0x%x" % id(obj)


def start(name, target, *args):
    """Starts a daemon thread and returns it once it runs (its native_id set)."""
    t = threading.Thread(target=target, args=args, name=name, daemon=True)
    t.start()
    return t


def forever():
    """For the main thread of a target once it is ready: never returns."""
    threading.Event().wait()
