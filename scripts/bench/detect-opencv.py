#!/usr/bin/python3
"""OpenCV's half of the fer-detect benchmark (scripts/bench/detect.sh drives it).

  images --out DIR [--sizes 0.3,1,3,6,12]
      Build one JPEG (quality 90) per size in megapixels from testdata/photos: a 4:3
      canvas cut into an n x n grid, each cell a centre crop of a test photo, so that
      every size holds faces of many sizes. Prints the paths, one per line.
  time --cascade XML [--reps 3] FILE...
      Per file, the best of --reps runs of OpenCV's usual recipe with one thread:
      imread (IMREAD_COLOR), BGR2GRAY, equalizeHist, detectMultiScale2(scaleFactor 1.1,
      minNeighbors 3). Prints NDJSON: {"path","width","height","megapixels",
      "opencv_ms" (gray + equalizeHist + detect), "opencv_imread_ms" (the same plus
      imread, timed in the same run), "faces":[{"x","y","w","h","neighbors"}]}.
  report --opencv CV.ndjson [--fermata FM.ndjson --fermata-times FM.tsv] [--title T]
      Print the table: megapixels, OpenCV ms without and with imread, fermata ms (a whole
      `fer-detect --jobs 1` process: decode, cascade load and detection), the ratios, and
      whether the boxes match. FM.tsv has lines "path<TAB>ms"; FM.ndjson is fer-detect's
      output. Boxes match when, pairing boxes at IoU >= 0.5, at least 98% of OpenCV's
      boxes are found and at least 98% of fermata's boxes are OpenCV's.

Run it with Debian's Python (/usr/bin/python3), which has cv2 and numpy.
"""
import argparse
import json
import math
import os
import sys
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHOTOS = os.path.join(ROOT, "testdata", "photos")
# Photos with faces first, so that the small sizes (few cells) still hold faces.
TILE_ORDER = ["vlfeat-team.jpg", "grace-hopper.jpg", "astronaut.png", "vlfeat-dome.jpg",
              "rocket.jpg", "cameraman.png", "chelsea.png", "hubble-deep-field.jpg"]
MATCH_IOU = 0.5
MATCH_SHARE = 0.98


def cmd_images(a):
    os.makedirs(a.out, exist_ok=True)
    names = [n for n in TILE_ORDER if os.path.exists(os.path.join(PHOTOS, n))]
    photos = [cv2.imread(os.path.join(PHOTOS, n), cv2.IMREAD_COLOR) for n in names]
    if not photos:
        sys.exit("bench-detect-opencv: no photos in %s" % PHOTOS)
    for mp in [float(s) for s in a.sizes.split(",")]:
        w = int(round(math.sqrt(mp * 1e6 * 4 / 3)))
        h = int(round(w * 3 / 4))
        n = max(1, int(math.ceil(math.sqrt(mp / 0.8))))
        canvas = np.zeros((h, w, 3), np.uint8)
        k = 0
        for r in range(n):
            for c in range(n):
                x0, x1 = c * w // n, (c + 1) * w // n
                y0, y1 = r * h // n, (r + 1) * h // n
                canvas[y0:y1, x0:x1] = cover(photos[k % len(photos)], x1 - x0, y1 - y0)
                k += 1
        path = os.path.join(a.out, "bench-%gmp.jpg" % mp)
        cv2.imwrite(path, canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
        print(path)
    return 0


def cover(img, w, h):
    """Scale img to cover w x h, then cut the centre."""
    ih, iw = img.shape[:2]
    s = max(w / float(iw), h / float(ih))
    sw, sh = max(w, int(math.ceil(iw * s))), max(h, int(math.ceil(ih * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    big = cv2.resize(img, (sw, sh), interpolation=interp)
    x, y = (sw - w) // 2, (sh - h) // 2
    return big[y:y + h, x:x + w]


def cmd_time(a):
    cv2.setNumThreads(1)
    cascade = cv2.CascadeClassifier(a.cascade)
    if cascade.empty():
        sys.exit("bench-detect-opencv: %s: cannot load cascade" % a.cascade)
    for path in a.files:
        best_det = best_all = float("inf")
        for _ in range(a.reps):
            t0 = time.perf_counter()
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                sys.exit("bench-detect-opencv: %s: cannot read image" % path)
            t1 = time.perf_counter()
            gray = cv2.equalizeHist(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
            boxes, neighbors = cascade.detectMultiScale2(gray, scaleFactor=1.1, minNeighbors=3)
            t2 = time.perf_counter()
            best_det = min(best_det, (t2 - t1) * 1000.0)
            best_all = min(best_all, (t2 - t0) * 1000.0)
        faces = [{"x": int(b[0]), "y": int(b[1]), "w": int(b[2]), "h": int(b[3]),
                  "neighbors": int(n)} for b, n in zip(boxes, neighbors)]
        rec = {"path": path, "width": int(img.shape[1]), "height": int(img.shape[0]),
               "megapixels": round(img.shape[0] * img.shape[1] / 1e6, 2),
               "opencv_ms": round(best_det, 1), "opencv_imread_ms": round(best_all, 1),
               "faces": faces}
        print(json.dumps(rec, separators=(",", ":")), flush=True)
    return 0


def iou(a, b):
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / float(union) if union else 0.0


def n_matched(ours, theirs):
    pairs = sorted(((iou(o, t), i, j) for i, o in enumerate(ours) for j, t in enumerate(theirs)),
                   reverse=True)
    used_o, used_t = set(), set()
    for v, i, j in pairs:
        if v < MATCH_IOU:
            break
        if i not in used_o and j not in used_t:
            used_o.add(i)
            used_t.add(j)
    return len(used_o)


def read_ndjson(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rec = json.loads(line)
                if "path" in rec:
                    out[rec["path"]] = rec
    return out


def boxes_of(rec):
    return [[f["x"], f["y"], f["w"], f["h"]] for f in rec.get("faces", [])]


def cmd_report(a):
    cv = read_ndjson(a.opencv)
    fm, fm_ms = {}, {}
    if a.fermata and os.path.exists(a.fermata):
        fm = read_ndjson(a.fermata)
    if a.fermata_times and os.path.exists(a.fermata_times):
        with open(a.fermata_times) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 2:
                    fm_ms[parts[0]] = parts[1]
    if a.title:
        print(a.title)
    head = ("MP", "size", "opencv ms", "+imread ms", "fermata ms", "fm/cv", "fm/(cv+imread)",
            "boxes (cv, fm, matched)")
    fmt = "%6s %11s %10s %11s %11s %7s %15s  %s"
    print(fmt % head)
    all_ok = True
    for path, c in sorted(cv.items(), key=lambda kv: kv[1]["megapixels"]):
        size = "%dx%d" % (c["width"], c["height"])
        ms = fm_ms.get(path)
        f = fm.get(path)
        if ms is None or ms == "error" or f is None or "error" in (f or {}):
            why = "not run" if ms is None else "error"
            if f is not None and "error" in f:
                why = "error: " + str(f["error"])
            all_ok = all_ok and ms is None
            print(fmt % ("%.2f" % c["megapixels"], size, "%.1f" % c["opencv_ms"],
                         "%.1f" % c["opencv_imread_ms"], "-", "-", "-",
                         "fermata %s; opencv %d boxes" % (why, len(c["faces"]))))
            continue
        msf = float(ms)
        theirs, ours = boxes_of(c), boxes_of(f)
        m = n_matched(ours, theirs)
        ok = m >= MATCH_SHARE * len(theirs) and m >= MATCH_SHARE * len(ours)
        all_ok = all_ok and ok
        print(fmt % ("%.2f" % c["megapixels"], size, "%.1f" % c["opencv_ms"],
                     "%.1f" % c["opencv_imread_ms"], "%.1f" % msf,
                     "%.2f" % (msf / c["opencv_ms"]), "%.2f" % (msf / c["opencv_imread_ms"]),
                     "%s (%d, %d, %d)" % ("match" if ok else "DIFFER", len(theirs), len(ours), m)))
    return 0 if all_ok else 1


def main():
    ap = argparse.ArgumentParser(description="OpenCV side of scripts/bench/detect.sh")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("images", help="build the benchmark images")
    p.add_argument("--out", required=True)
    p.add_argument("--sizes", default="0.3,1,3,6,12", help="megapixels, comma-separated")
    p = sub.add_parser("time", help="time OpenCV on each file")
    p.add_argument("--cascade", required=True)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("files", nargs="+")
    p = sub.add_parser("report", help="print the comparison table")
    p.add_argument("--opencv", required=True)
    p.add_argument("--fermata")
    p.add_argument("--fermata-times")
    p.add_argument("--title")
    a = ap.parse_args()
    return {"images": cmd_images, "time": cmd_time, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
