# SPDX-License-Identifier: MIT
# Checks an SVG flame graph ftprof wrote: it parses as XML, every box has its
# title, rectangle and label, widths are in proportion to the samples each
# box says it has, children fit in their parents; then what the workload
# says it should show. Exit 0 when it matches; otherwise prints every
# mismatch.
#
#   check_svg.py split FILE --truth SHARE [--reverse]
#       tests/targets/split.py: three_quarters' share of the width of
#       three_quarters and one_quarter within 5 points of SHARE, the split
#       the target measured itself; the title names the command and rate
#   check_svg.py diff FILE --grew FUNCTION
#       a differential flame graph: FUNCTION's boxes grew the most, red
#   check_svg.py difftext FILE --grew FUNCTION
#       diff's text: FUNCTION's row grew the most
import argparse
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
    return cond


def frames(root):
    """Every box: label, title's details, x, width, samples, start, depth, fill."""
    out = []
    group = root.find(".//%sg[@id='frames']" % NS)
    if not check(group is not None, "no <g id='frames'>"):
        return out
    for g in group.findall("%sg" % NS):
        title, rect, text = g.find(NS + "title"), g.find(NS + "rect"), g.find(NS + "text")
        if not check(title is not None and rect is not None and text is not None,
                     "a box without title, rect or text"):
            continue
        label, _, details = title.text.partition("\n")
        out.append({"label": label, "details": details, "x": float(rect.get("x")),
                    "width": float(rect.get("width")), "n": int(g.get("data-n")),
                    "s": int(g.get("data-s")), "d": int(g.get("data-d")), "fill": rect.get("fill"),
                    "y": float(rect.get("y"))})
    return out


def structure(root, boxes, reverse=False):
    width = float(root.get("width"))
    check(root.tag == NS + "svg", "root is %s, not svg" % root.tag)
    check(root.find(NS + "script") is not None, "no script")
    check(not root.findall(".//*[@href]") and not root.findall(".//*[@{http://www.w3.org/1999/xlink}href]"),
          "refers to something outside the file")
    if not check(boxes and boxes[0]["d"] == 0 and boxes[0]["label"] == "all", "no root box first"):
        return 0
    total = boxes[0]["n"]
    full = boxes[0]["width"]
    check(abs(boxes[0]["x"] + full / 2 - width / 2) < 1, "the root box is not centred")
    by_depth = {}
    for b in boxes:
        # widths in proportion to samples, places to where samples start
        check(abs(b["width"] - full * b["n"] / total) < 0.02, "%s: width %.2f for %d of %d samples" %
              (b["label"], b["width"], b["n"], total))
        check(abs(b["x"] - (boxes[0]["x"] + full * b["s"] / total)) < 0.02, "%s: misplaced" % b["label"])
        m = re.match(r"^(\d+) samples?, ([\d.]+)%", b["details"])
        if check(m, "%s: details %r" % (b["label"], b["details"])):
            check(int(m.group(1)) == b["n"], "%s: title says %s samples, data-n %d" %
                  (b["label"], m.group(1), b["n"]))
        by_depth.setdefault(b["d"], []).append(b)
    depths = sorted(by_depth)
    check(depths == list(range(len(depths))), "depths skip: %r" % depths)
    # children fit under one parent: no box of depth d+1 outside the boxes of depth d
    for d in depths[1:]:
        for b in by_depth[d]:
            check(any(p["s"] <= b["s"] and b["s"] + b["n"] <= p["s"] + p["n"] for p in by_depth[d - 1]),
                  "%s at depth %d has no parent under it" % (b["label"], d))
        ys = {b["y"] for b in by_depth[d]}
        check(len(ys) == 1, "depth %d at several heights" % d)
    # a flame graph grows up, an icicle down
    if len(depths) > 1:
        y0, y1 = by_depth[0][0]["y"], by_depth[1][0]["y"]
        check(y1 > y0 if reverse else y1 < y0, "drawn %s" % ("upwards" if y1 < y0 else "downwards"))
    return total


def function_of(label):
    return re.sub(r" \(.*\)$", "", label)


def split(args, root, boxes):
    total = structure(root, boxes, args.reverse)
    title = root.find(".//%stext[@id='title']" % NS).text or ""
    subtitle = root.find(".//%stext[@id='subtitle']" % NS).text or ""
    check("split.py" in title, "the title does not name the command: %r" % title)
    check(re.search(r"\b%d samples" % total, subtitle) and " Hz" in subtitle,
          "the subtitle does not give the rate and %d samples: %r" % (total, subtitle))
    three = sum(b["width"] for b in boxes if function_of(b["label"]) == "three_quarters")
    one = sum(b["width"] for b in boxes if function_of(b["label"]) == "one_quarter")
    if check(three + one > 0, "no box of three_quarters or one_quarter"):
        share = three / (three + one)
        check(abs(share - args.truth) <= 0.05, "three_quarters has %.1f%% of the width, the target "
              "measured %.1f%%" % (100 * share, 100 * args.truth))
        print("svg split: three_quarters %.1f%% of the width (%.1f px : %.1f px), measured %.1f%%" %
              (100 * share, three, one, 100 * args.truth))


def diff(args, root, boxes):
    structure(root, boxes, args.reverse)
    deltas = []
    for b in boxes:
        m = re.search(r"before ([\d.]+)%, ([+-][\d.]+) points", b["details"])
        if check(m, "%s: no change in %r" % (b["label"], b["details"])):
            deltas.append((float(m.group(2)), b))
    deltas.sort(key=lambda t: -t[0])
    if not check(deltas, "no boxes"):
        return
    # what beta calls grows with it by as much: the outermost box of the
    # largest growth (within a point: its own lines shrink) is where it
    # comes from
    top = deltas[0][0]
    b = min((t[1] for t in deltas if t[0] >= top - 1.0), key=lambda b: b["d"])
    check(function_of(b["label"]) == args.grew, "the box that grew most is %r (%+.2f), not %s" %
          (b["label"], top, args.grew))
    check(top > 0, "%s did not grow" % args.grew)
    rgb = re.match(r"rgb\((\d+),(\d+),(\d+)\)", b["fill"])
    check(rgb and int(rgb.group(1)) == 255 and int(rgb.group(2)) == int(rgb.group(3)) < 200,
          "%s is not red: %s" % (args.grew, b["fill"]))
    shrank = [t for t in deltas if t[0] < 0]
    if shrank:
        rgb = re.match(r"rgb\((\d+),(\d+),(\d+)\)", shrank[-1][1]["fill"])
        check(rgb and int(rgb.group(3)) == 255 and int(rgb.group(1)) < 255, "%s shrank and is not blue: %s" %
              (shrank[-1][1]["label"], shrank[-1][1]["fill"]))
    print("svg diff: %s grew most, %+.2f points" % (args.grew, top))


def difftext(args):
    with open(args.file, encoding="utf-8") as f:
        text = f.read()
    rows = re.findall(r"^\s*([+-][\d.]+)%\s+([\d.]+)%\s+([\d.]+)%\s+[\d.]+%\s+[\d.]+%\s+(.+)$", text, re.M)
    if not check(rows, "no rows in:\n" + text):
        return
    # rows are ordered by the size of the change: the first that grew
    change, before, after, function = max(rows, key=lambda r: float(r[0]))
    check(function_of(function) == args.grew, "the row that grew most is %r, not %s:\n%s" %
          (function, args.grew, text))
    check(float(change) > 0, "%s did not grow: %s%%" % (args.grew, change))
    check(abs(float(after) - float(before) - float(change)) < 0.02, "change is not after - before")
    print("text diff: %s first, %s points (%s%% -> %s%%)" % (function, change, before, after))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["split", "diff", "difftext"])
    ap.add_argument("file")
    ap.add_argument("--truth", type=float)
    ap.add_argument("--grew")
    ap.add_argument("--reverse", action="store_true")
    args = ap.parse_args()
    if args.kind == "difftext":
        difftext(args)
    else:
        try:
            root = ET.parse(args.file).getroot()
        except ET.ParseError as e:
            print("not XML: %s" % e)
            return 1
        boxes = frames(root)
        (split if args.kind == "split" else diff)(args, root, boxes)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
