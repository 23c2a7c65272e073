# SPDX-License-Identifier: MIT
# ftprof's SVG flame graph in a real browser: records tests/targets/split.py
# into an SVG, opens it in headless Chromium (driven over the DevTools
# protocol on a pipe, so nothing but the standard library is needed), and
# checks, through real mouse events and the page's own prompt, that its
# script runs: hovering shows a frame's details, Search (answered in the
# prompt) highlights the hot function and says its share, a click zooms
# into a frame and Reset zoom undoes it. Exits 77 (skipped) when Chromium or
# an interpreter cannot be had.
#
#   check_svg_browser.py FTPROF [--svg FILE] [--shots DIR]
#       --svg: check FILE instead of recording one; --shots: save PNGs there
import argparse
import base64
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
NS = "{http://www.w3.org/2000/svg}"
HIGHLIGHT = "rgb(230,0,230)"
problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
    return cond


def skip(why):
    print("skipped: " + why)
    sys.exit(77)


class Browser:
    """Chromium over --remote-debugging-pipe: it reads commands on its fd 3
    and writes answers and events on its fd 4, each a JSON text ending in NUL."""

    def __init__(self, exe, profile_dir):
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()

        def fds():
            # copies first: either end may already sit on 3 or 4, and a
            # dup2 onto itself would keep its close-on-exec flag
            r, w = os.dup(to_r), os.dup(from_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--user-data-dir=" + profile_dir,
             "--window-size=1200,900", "--hide-scrollbars", "about:blank"],
            preexec_fn=fds, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def send(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read(self, timeout):
        """One message, or None after timeout seconds."""
        end = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.from_r], [], [], left)[0]:
                return None
            chunk = os.read(self.from_r, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def wait(self, want, timeout=20):
        """The answer to command id `want` (an int) or the first event named
        `want` (a str); other messages are kept as events."""
        for i, e in enumerate(self.events):
            if e.get("method") == want:
                return self.events.pop(i)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            msg = self.read(end - time.monotonic())
            if msg is None:
                break
            if isinstance(want, int) and msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError("%s" % msg["error"])
                return msg.get("result", {})
            if msg.get("method") == want:
                return msg
            if "method" in msg:
                self.events.append(msg)
        raise RuntimeError("no %r from chromium in %d s" % (want, timeout))

    def call(self, method, params=None, session=True):
        return self.wait(self.send(method, params, session))

    def eval(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("%s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def click(self, x, y):
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def shot(self, path):
        if path:
            data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
            with open(path, "wb") as f:
                f.write(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", session=False)
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def interpreter():
    try:
        out = subprocess.run([os.path.join(TOP, "scripts/interpreters"), "list"], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    found = dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)
    for name in ("3.13t", "3.12", "3.15", "3.11"):
        if name in found and os.access(found[name].strip(), os.X_OK):
            return found[name].strip()
    skip("no interpreter provisioned (scripts/interpreters install)")


def record(ftprof, out):
    env = dict(os.environ, FTPROF_SECONDS="4")
    r = subprocess.run([ftprof, "record", "-q", "-r", "250", "-d", "3", "-o", out, "--", interpreter(),
                        os.path.join(TOP, "tests/targets/split.py")], env=env, capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        print("record exited %d: %s" % (r.returncode, r.stderr))
        sys.exit(1)


def expected_share(svg, pattern):
    """The share of samples under frames matching pattern, outermost ones only."""
    root = ET.parse(svg).getroot()
    spans = []
    total = None
    for g in root.find(".//%sg[@id='frames']" % NS).findall(NS + "g"):
        label = g.find(NS + "title").text.split("\n")[0]
        s, n, d = int(g.get("data-s")), int(g.get("data-n")), int(g.get("data-d"))
        if d == 0:
            total = n
        elif re.search(pattern, label):
            spans.append((s, s + n))
    covered, end = 0, -1
    for a, b in sorted(spans):
        if b > end:
            covered += b - max(a, end)
            end = b
    return covered / total


FRAME_JS = """(function (re) {
  var out = [];
  var gs = document.getElementById('frames').getElementsByTagName('g');
  for (var i = 0; i < gs.length; i++) {
    var g = gs[i], r = g.querySelector('rect'), b = r.getBoundingClientRect();
    var label = g.querySelector('title').textContent.split('\\n')[0];
    if (new RegExp(re).test(label))
      out.push({label: label, fill: r.getAttribute('fill'), width: +r.getAttribute('width'),
                shown: g.style.display !== 'none', cls: g.getAttribute('class'),
                cx: b.left + b.width / 2, cy: b.top + b.height / 2});
  }
  return out;
})(%s)"""


def frames_like(br, pattern):
    return br.eval(FRAME_JS % json.dumps(pattern))


def center(br, element_id):
    b = br.eval("(function () { var b = document.getElementById(%s).getBoundingClientRect();"
                " return [b.left + b.width / 2, b.top + b.height / 2]; })()" % json.dumps(element_id))
    return b[0], b[1]


def run(br, svg, shots):
    def shot(name):
        br.shot(os.path.join(shots, name) if shots else None)

    target = next(t for t in br.call("Target.getTargets", session=False)["targetInfos"] if t["type"] == "page")
    br.session = br.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True},
                         session=False)["sessionId"]
    br.call("Page.enable")
    br.call("Runtime.enable")
    br.call("Page.navigate", {"url": "file://" + os.path.abspath(svg)})
    br.wait("Page.loadEventFired")
    check(br.eval("typeof frames !== 'undefined' && frames.length") > 3, "the script did not run (no frames)")
    full = br.eval("cfg.width - 2 * cfg.pad")
    shot("svg-1-loaded.png")

    # hover: the details line names the frame under the pointer
    hot = frames_like(br, "^three_quarters ")
    if not check(hot, "no three_quarters frame on the page"):
        return
    br.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": hot[0]["cx"], "y": hot[0]["cy"]})
    time.sleep(0.3)
    details = br.eval("document.getElementById('details').textContent")
    check(details.startswith("three_quarters (") and "samples" in details, "hovering shows %r" % details)
    shot("svg-2-hover.png")

    # Search: the button's prompt answered with the hot function's name
    x, y = center(br, "search")
    br.click(x, y)
    dialog = br.wait("Page.javascriptDialogOpening")
    check(dialog["params"]["type"] == "prompt", "Search opened a %s" % dialog["params"]["type"])
    br.call("Page.handleJavaScriptDialog", {"accept": True, "promptText": "three_quarters"})
    time.sleep(0.3)
    lit = frames_like(br, "three_quarters")
    others = frames_like(br, "^(?!.*three_quarters)")
    check(lit and all(f["fill"] == HIGHLIGHT for f in lit), "three_quarters not highlighted: %r" %
          [(f["label"], f["fill"]) for f in lit])
    check(not any(f["fill"] == HIGHLIGHT for f in others), "frames highlighted that do not match: %r" %
          [f["label"] for f in others if f["fill"] == HIGHLIGHT])
    matched = br.eval("document.getElementById('matched').textContent")
    want = expected_share(svg, "three_quarters")
    m = re.match(r"Matched: ([\d.]+)%", matched)
    if check(m, "the matched line says %r" % matched):
        check(abs(float(m.group(1)) - 100 * want) < 0.01, "matched %s, the file says %.2f%%" %
              (m.group(1), 100 * want))
    print("browser: search highlighted %d frames, %r (expected %.2f%%)" % (len(lit), matched, 100 * want))
    shot("svg-3-search.png")

    # click to zoom: one_quarter fills the width, three_quarters is hidden,
    # its callers are drawn full width and faded
    one = frames_like(br, "^one_quarter ")
    if not check(one, "no one_quarter frame"):
        return
    br.click(one[0]["cx"], one[0]["cy"])
    time.sleep(0.3)
    one = frames_like(br, "^one_quarter ")[0]
    check(abs(one["width"] - full) < 0.5, "after the click one_quarter is %.1f wide, not %g" %
          (one["width"], full))
    check(not any(f["shown"] for f in frames_like(br, "^three_quarters ")), "three_quarters still shown")
    # work() calls one_quarter from one line: that frame is its parent
    work = [f for f in frames_like(br, "^work ") if f["shown"]]
    check(len(work) == 1 and work[0]["cls"] == "f parent" and abs(work[0]["width"] - full) < 0.5,
          "the caller work() is not one full-width parent: %r" % work)
    print("browser: click zoomed one_quarter to %.1f px (full %g)" % (one["width"], full))
    shot("svg-4-zoom.png")

    x, y = center(br, "reset")
    br.click(x, y)
    time.sleep(0.3)
    one = frames_like(br, "^one_quarter ")[0]
    check(one["width"] < full * 0.5 and all(f["shown"] for f in frames_like(br, "^three_quarters ")),
          "Reset zoom did not restore the widths (one_quarter %.1f)" % one["width"])

    # colour by module: every frame of one file one colour
    x, y = center(br, "colour")
    br.click(x, y)
    time.sleep(0.3)
    fills = {f["fill"] for f in frames_like(br, r"\(.*split\.py:\d+\)$") if f["fill"] != HIGHLIGHT}
    check(len(fills) == 1, "colour by module gave split.py's frames %d colours: %r" % (len(fills), fills))
    shot("svg-5-module-colours.png")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ftprof")
    ap.add_argument("--svg")
    ap.add_argument("--shots")
    args = ap.parse_args()
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        skip("Chromium is not installed (Debian's chromium package; scripts/deps installs it)")
    work = tempfile.mkdtemp(prefix="ftprof-browser-")
    try:
        svg = args.svg or os.path.join(work, "split.svg")
        if not args.svg:
            record(args.ftprof, svg)
        if args.shots:
            os.makedirs(args.shots, exist_ok=True)
        br = Browser(exe, os.path.join(work, "profile"))
        try:
            run(br, svg, args.shots)
        except RuntimeError as e:
            check(False, "browser: %s" % e)
        finally:
            br.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
