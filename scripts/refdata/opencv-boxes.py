#!/usr/bin/python3
"""Reference face boxes from OpenCV, for the tests of lib/cascade.

Runs OpenCV's CascadeClassifier.detectMultiScale2 on every photo in testdata/photos
with the usual recipe (imread IMREAD_COLOR, BGR2GRAY, equalizeHist, one thread) and
writes one NDJSON line per (photo, cascade, parameters) to testdata/ref/boxes.ndjson:

  {"photo":"astronaut.png","cascade":"haarcascade_frontalface_alt2.xml","scale":1.1,
   "min_neighbors":3,"min_size":0,"max_size":0,"equalize":true,"width":512,"height":512,
   "boxes":[[x,y,w,h,neighbors],...],"opencv":"4.6.0"}

Lines are sorted by (photo, cascade, scale, min_neighbors, min_size, max_size, equalize),
boxes by (x, y, w, h). min_size/max_size are the sides of OpenCV's square minSize/maxSize,
0 meaning unbounded. min_neighbors 0 gives OpenCV's raw windows, ungrouped, each with
neighbors 1: the C test can compare those exactly before grouping gets involved.

It also writes the equalized gray image of two small photos as binary PGM
(testdata/ref/<stem>.eq.pgm). Detection on such a PGM with equalize off must give the
boxes of the photo's equalize:true records, independently of JPEG/PNG decoding.

Run it with Debian's Python, which has cv2 (python3-opencv) and numpy:
  /usr/bin/python3 scripts/refdata/opencv-boxes.py            # rewrite testdata/ref
  /usr/bin/python3 scripts/refdata/opencv-boxes.py --check    # exit 1 if testdata/ref is stale
"""
import argparse
import glob
import json
import os
import sys

import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHOTOS = os.path.join(ROOT, "testdata", "photos")
REF = os.path.join(ROOT, "testdata", "ref")
HAAR = "/usr/share/opencv4/haarcascades"
LBP = "/usr/share/opencv4/lbpcascades"

ALT2 = "haarcascade_frontalface_alt2.xml"
DEFAULT = "haarcascade_frontalface_default.xml"
LBP_IMPROVED = "lbpcascade_frontalface_improved.xml"
# Tilted (45 degree) Haar features and depth-2 trees; it finds eyes on our portraits.
TILTED = "haarcascade_eye_tree_eyeglasses.xml"

BASE = dict(scale=1.1, min_neighbors=3, min_size=0, max_size=0, equalize=True)
# Photos that get the parameter variants, and photos whose equalized gray goes to a PGM.
VARIANT_PHOTOS = ["grace-hopper.jpg", "vlfeat-team.jpg"]
VARIANTS = [dict(scale=1.2), dict(scale=1.05), dict(min_size=40), dict(max_size=100),
            dict(max_size=200), dict(equalize=False)]
PGM_PHOTOS = ["astronaut.png", "vlfeat-dome.jpg"]
PGM_LIMIT_BYTES = 300 * 1024


def cascade_path(name):
    return os.path.join(LBP if name.startswith("lbp") else HAAR, name)


def jobs(photos):
    """Every (photo, cascade, params) to compute."""
    out = []
    for p in photos:
        for c in (ALT2, DEFAULT, LBP_IMPROVED, TILTED):
            out.append((p, c, dict(BASE)))
        out.append((p, DEFAULT, dict(BASE, min_neighbors=0)))
        if p in PGM_PHOTOS:
            for c in (ALT2, LBP_IMPROVED):
                out.append((p, c, dict(BASE, min_neighbors=0)))
        if p in VARIANT_PHOTOS:
            for c in (ALT2, DEFAULT, LBP_IMPROVED):
                for v in VARIANTS:
                    out.append((p, c, dict(BASE, **v)))
    return out


def gray_of(path, equalize):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        sys.exit("opencv-boxes: %s: cannot read image" % path)
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return cv2.equalizeHist(gray) if equalize else gray


def detect(cascade, gray, prm):
    kw = dict(scaleFactor=prm["scale"], minNeighbors=prm["min_neighbors"])
    if prm["min_size"]:
        kw["minSize"] = (prm["min_size"], prm["min_size"])
    if prm["max_size"]:
        kw["maxSize"] = (prm["max_size"], prm["max_size"])
    boxes, neighbors = cascade.detectMultiScale2(gray, **kw)
    rows = [[int(b[0]), int(b[1]), int(b[2]), int(b[3]), int(n)]
            for b, n in zip(boxes, neighbors)]
    return sorted(rows)


def sort_key(rec):
    return (rec["photo"], rec["cascade"], rec["scale"], rec["min_neighbors"], rec["min_size"],
            rec["max_size"], rec["equalize"])


def compute(photos):
    cascades = {}
    grays = {}
    recs = []
    for photo, cname, prm in jobs(photos):
        if cname not in cascades:
            cascades[cname] = cv2.CascadeClassifier(cascade_path(cname))
            if cascades[cname].empty():
                sys.exit("opencv-boxes: %s: cannot load cascade" % cascade_path(cname))
        key = (photo, prm["equalize"])
        if key not in grays:
            grays[key] = gray_of(os.path.join(PHOTOS, photo), prm["equalize"])
        gray = grays[key]
        rec = {"photo": photo, "cascade": cname}
        rec.update(prm)
        rec["width"] = int(gray.shape[1])
        rec["height"] = int(gray.shape[0])
        rec["boxes"] = detect(cascades[cname], gray, prm)
        rec["opencv"] = cv2.__version__
        recs.append(rec)
    recs.sort(key=sort_key)
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in recs)
    pgms = {}
    for photo in PGM_PHOTOS:
        if photo not in photos:
            continue
        g = grays[(photo, True)]
        data = b"P5\n%d %d\n255\n" % (g.shape[1], g.shape[0]) + g.tobytes()
        if len(data) < PGM_LIMIT_BYTES:
            pgms[os.path.splitext(photo)[0] + ".eq.pgm"] = data
    return text, pgms


def main():
    ap = argparse.ArgumentParser(description="OpenCV reference boxes for testdata/ref")
    ap.add_argument("--check", action="store_true",
                    help="compare with testdata/ref instead of writing; exit 1 on a difference")
    ap.add_argument("--ref-dir", default=REF, help="output directory (default testdata/ref)")
    a = ap.parse_args()

    cv2.setNumThreads(1)
    cv2.ocl.setUseOpenCL(False)
    photos = sorted(os.path.basename(p) for p in glob.glob(os.path.join(PHOTOS, "*"))
                    if p.endswith((".jpg", ".png")))
    if not photos:
        sys.exit("opencv-boxes: no photos in %s" % PHOTOS)
    text, pgms = compute(photos)
    files = {"boxes.ndjson": text.encode()}
    files.update(pgms)

    if a.check:
        stale = []
        for name, data in sorted(files.items()):
            path = os.path.join(a.ref_dir, name)
            try:
                with open(path, "rb") as f:
                    same = f.read() == data
            except OSError:
                same = False
            if not same:
                stale.append(name)
        for name in stale:
            print("opencv-boxes: %s differs from what OpenCV %s computes now"
                  % (os.path.join(a.ref_dir, name), cv2.__version__), file=sys.stderr)
        return 1 if stale else 0

    os.makedirs(a.ref_dir, exist_ok=True)
    for name, data in sorted(files.items()):
        with open(os.path.join(a.ref_dir, name), "wb") as f:
            f.write(data)
    print("opencv-boxes: wrote %d records and %d PGM files to %s"
          % (text.count("\n"), len(pgms), a.ref_dir), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
