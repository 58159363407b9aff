#!/bin/sh
# Score a photo folder end to end (issue 6): `find | fer-detect | fer-classify` over a
# folder of N images (default 10000), each tool at its default --jobs (the number of
# cores), with --progress on stderr; prints images per second.
#
#   scripts/bench/batch.sh [-n images] [-s WxH]
#
# The folder is made in a temporary directory under $TMPDIR and removed at the end: the
# bundled photos resized to WxH (default 320x240, a thumbnail folder's size) as JPEG by
# OpenCV, linked N times over under distinct names, so that every file is opened, decoded,
# searched and classified as a photo of its own would be.
# Exit status: 0 when every image came out classified, 1 otherwise, 2 on a usage error.
set -eu

cd "$(dirname "$0")/../.."
BIN=${FM_BIN:-build/bin}
n=10000
size=320x240
while getopts n:s: opt; do
	case $opt in
	n) n=$OPTARG ;;
	s) size=$OPTARG ;;
	*) echo "usage: scripts/bench/batch.sh [-n images] [-s WxH]" >&2; exit 2 ;;
	esac
done
case $n in '' | *[!0-9]* | 0) echo "bench-batch: -n wants a count" >&2; exit 2 ;; esac
for t in fer-detect fer-classify; do
	[ -x "$BIN/$t" ] || { echo "bench-batch: $BIN/$t is not built" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fermata-batch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/photos"
/usr/bin/python3 - "$tmp" "$size" <<'PY'
import cv2, glob, os, sys
tmp, size = sys.argv[1], sys.argv[2]
w, h = (int(v) for v in size.split("x"))
for i, p in enumerate(sorted(glob.glob("testdata/photos/*.jpg") + glob.glob("testdata/photos/*.png"))):
    img = cv2.resize(cv2.imread(p, cv2.IMREAD_COLOR), (w, h), interpolation=cv2.INTER_AREA)
    cv2.imwrite(os.path.join(tmp, "src%d.jpg" % i), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
PY
set -- "$tmp"/src*.jpg
k=$#
i=0
while [ $i -lt "$n" ]; do
	eval "src=\${$((i % k + 1))}"
	ln -s "$src" "$tmp/photos/$(printf '%05d' $i).jpg"
	i=$((i + 1))
done

echo "$(nproc) CPUs, load average $(cut -d ' ' -f 1-3 /proc/loadavg); $n JPEGs of $size"
t0=$(date +%s%N)
find "$tmp/photos" -name '*.jpg' | "$BIN/fer-detect" --progress |
	"$BIN/fer-classify" --progress >"$tmp/out"
t1=$(date +%s%N)
got=$(grep -c '"faces"' "$tmp/out" || true)
failed=$(grep -c '"error"' "$tmp/out" || true)
faces=$(grep -o '"emotion"' "$tmp/out" | wc -l)
awk -v n="$n" -v ns=$((t1 - t0)) -v faces="$faces" 'BEGIN {
	printf "%d images, %d faces classified in %.1f s: %.1f images/s\n", n, faces, ns / 1e9,
		n / (ns / 1e9)
}'
[ "$got" -eq "$n" ] && [ "$failed" -eq 0 ]
