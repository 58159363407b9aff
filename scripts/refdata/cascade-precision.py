#!/usr/bin/python3
"""Which frontal-face cascade should fer-detect load by default?

Runs every frontal-face cascade that Debian's opencv-data ships through OpenCV's
detectMultiScale2 on testdata/photos (imread IMREAD_COLOR, BGR2GRAY, equalizeHist, one
thread, scaleFactor 1.1, minNeighbors 3, no size limits: fer-detect's defaults) and scores
the boxes against the hand-drawn faces of testdata/photos/faces.ndjson.

Matching rule. Hand boxes run from cheek to cheek and from the hairline to the chin, so
they are taller than OpenCV's square boxes, and LBP boxes are tighter still (brows to
mouth). A detection therefore matches a hand box when
  - their IoU is at least 0.4 (--iou), or
  - the detection's centre lies inside the hand box and the detection's side is between
    0.5 and 2 times the hand box's width.
Pairs are made greedily, best IoU first, and each hand box and each detection is used at
most once: a second box on the same face is a false positive.

  /usr/bin/python3 scripts/refdata/cascade-precision.py [--iou 0.4] [--min-neighbors 3] [-v]
"""
import argparse
import json
import os
import sys
import time

import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHOTOS = os.path.join(ROOT, "testdata", "photos")
CASCADES = [
    "haarcascades/haarcascade_frontalface_default.xml",
    "haarcascades/haarcascade_frontalface_alt.xml",
    "haarcascades/haarcascade_frontalface_alt2.xml",
    "haarcascades/haarcascade_frontalface_alt_tree.xml",
    "lbpcascades/lbpcascade_frontalface.xml",
    "lbpcascades/lbpcascade_frontalface_improved.xml",
]
DATA = "/usr/share/opencv4"


def iou(a, b):
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


def centre_inside(det, face):
    cx = det[0] + det[2] / 2.0
    cy = det[1] + det[3] / 2.0
    inside = face[0] <= cx <= face[0] + face[2] and face[1] <= cy <= face[1] + face[3]
    return inside and 0.5 * face[2] <= det[2] <= 2.0 * face[2]


def match(dets, faces, min_iou):
    """Return (true positives, false positives, missed faces)."""
    pairs = []
    for i, d in enumerate(dets):
        for j, f in enumerate(faces):
            o = iou(d, f)
            if o >= min_iou or centre_inside(d, f):
                pairs.append((o, i, j))
    pairs.sort(reverse=True)
    used_d, used_f = set(), set()
    for _, i, j in pairs:
        if i not in used_d and j not in used_f:
            used_d.add(i)
            used_f.add(j)
    tp = len(used_d)
    return tp, len(dets) - tp, len(faces) - tp


def main():
    ap = argparse.ArgumentParser(description="precision and recall of OpenCV's face cascades")
    ap.add_argument("--iou", type=float, default=0.4, help="IoU that makes a match (0.4)")
    ap.add_argument("--scale", type=float, default=1.1, help="scaleFactor (1.1)")
    ap.add_argument("--min-neighbors", type=int, default=3, help="minNeighbors (3)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each photo's counts")
    a = ap.parse_args()

    cv2.setNumThreads(1)
    truth = []
    with open(os.path.join(PHOTOS, "faces.ndjson")) as f:
        for line in f:
            rec = json.loads(line)
            truth.append((rec["photo"], rec["faces"]))
    grays = {}
    for photo, _ in truth:
        img = cv2.imread(os.path.join(PHOTOS, photo), cv2.IMREAD_COLOR)
        if img is None:
            sys.exit("cascade-precision: %s: cannot read image" % photo)
        grays[photo] = cv2.equalizeHist(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    n_faces = sum(len(faces) for _, faces in truth)

    print("%d photos, %d hand-marked faces; scaleFactor %g, minNeighbors %d, equalizeHist, "
          "match: IoU >= %g or centre inside with side 0.5-2x" %
          (len(truth), n_faces, a.scale, a.min_neighbors, a.iou))
    print()
    print("| cascade | TP | FP | missed | precision | recall | ms (all photos) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for rel in CASCADES:
        cascade = cv2.CascadeClassifier(os.path.join(DATA, rel))
        if cascade.empty():
            sys.exit("cascade-precision: %s: cannot load cascade" % rel)
        tp = fp = fn = 0
        ms = 0.0
        for photo, faces in truth:
            t0 = time.perf_counter()
            boxes, _ = cascade.detectMultiScale2(grays[photo], scaleFactor=a.scale,
                                                 minNeighbors=a.min_neighbors)
            ms += (time.perf_counter() - t0) * 1000.0
            dets = [[int(v) for v in b] for b in boxes]
            t, f_, m = match(dets, faces, a.iou)
            tp, fp, fn = tp + t, fp + f_, fn + m
            if a.verbose:
                print("  %-22s %-40s TP %d FP %d missed %d" %
                      (photo, os.path.basename(rel), t, f_, m), file=sys.stderr)
        prec = tp / float(tp + fp) if tp + fp else 1.0
        rec = tp / float(tp + fn) if tp + fn else 1.0
        print("| %s | %d | %d | %d | %.2f | %.2f | %.0f |" %
              (os.path.basename(rel), tp, fp, fn, prec, rec, ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
