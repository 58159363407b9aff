#!/bin/sh
# How much bigger than fer-detect's box is a FER2013 face crop? Upscales every 12th
# validation face 4x, runs fer-detect on it, and prints the median box side as a fraction
# of the crop and the margin per side that grows the box back to the crop; fer-train
# stores that margin in the model so that fer-classify crops faces as FER2013 did.
#   scripts/refdata/crop-margin.sh [fer2013/val]
set -eu
val=${1:-../shared/fer2013/val}
bin=${FM_BIN:-build/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$val" "$tmp" <<'PY'
import cv2, glob, sys
files = sorted(glob.glob(sys.argv[1] + '/*/*.jpg'))[::12]
for i, f in enumerate(files):
    face = cv2.imread(f, cv2.IMREAD_GRAYSCALE)
    cv2.imwrite('%s/%05d.png' % (sys.argv[2], i), cv2.resize(face, (192, 192)))
PY
ls "$tmp"/*.png | "$bin/fer-detect" --min-size 60 | /usr/bin/python3 -c '
import json, statistics, sys
sides = []
n = 0
for line in sys.stdin:
    r = json.loads(line)
    n += 1
    if r.get("faces"):
        sides.append(max(f["w"] for f in r["faces"]) / 192)
m = statistics.median(sides)
print("faces found in %d of %d crops; median box side %.3f of the crop; margin per side %.3f"
      % (len(sides), n, m, (1 / m - 1) / 2))
'
