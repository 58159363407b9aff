#!/bin/sh
# Time fer-detect against OpenCV's detectMultiScale on 0.3 to 12 megapixel images.
#
#   scripts/bench/detect.sh [-c "alt2 default lbp"] [-r reps] [-s 0.3,1,3,6,12]
#
# The images are built at run time from testdata/photos (a grid of test photos, JPEG
# quality 90) in a temporary directory under $TMPDIR, and removed at the end. For each
# cascade it prints one table: megapixels, OpenCV's time without and with imread, the
# time of a whole `fer-detect --jobs 1 --cascade X FILE` process (decode, cascade load,
# detection, output), the ratios, and whether the boxes match (IoU >= 0.5 pairs cover
# >= 98% of OpenCV's boxes and >= 98% of ours). Both sides run single-threaded, both
# include gray conversion and equalizeHist, and each time is the best of -r runs (3).
# The fair comparison is fermata against OpenCV with imread, since fer-detect decodes too;
# the startup line (fer-detect on no input) says how much of fermata's time is the cascade
# load and process start that OpenCV's column does not pay.
#
# OpenCV runs with scaleFactor 1.1 and minNeighbors 3, which must be fer-detect's defaults,
# on every image at its full size, so fer-detect runs with --work-size 0 (by default it
# searches an image over 1600 pixels on a shrunk copy); FER_DETECT_ARGS adds options to
# every fer-detect run, after that one: FER_DETECT_ARGS='--work-size 1600' times the
# default, whose boxes then differ from OpenCV's on the images over 1600 pixels.
# FER_DETECT names the binary (build/bin/fer-detect). Without a built fer-detect only
# OpenCV's half runs.
# Exit status: 0 when every table matched (or fermata was not built), 1 when boxes
# differed or fer-detect failed, 2 on a usage error or a missing dependency.
set -eu

cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
FER=${FER_DETECT:-build/bin/fer-detect}
cascades="alt2 default lbp"
reps=3
sizes=0.3,1,3,6,12

usage() {
	echo "usage: scripts/bench/detect.sh [-c cascades] [-r reps] [-s megapixels,...]" >&2
	exit 2
}
while getopts c:r:s: opt; do
	case $opt in
	c) cascades=$OPTARG ;;
	r) reps=$OPTARG ;;
	s) sizes=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
case $reps in '' | *[!0-9]* | 0) usage ;; esac

if ! $PY -c 'import cv2, numpy' 2>/dev/null; then
	echo "bench-detect: $PY lacks cv2 or numpy (scripts/deps.sh bench installs them)" >&2
	exit 2
fi

cascade_path() {
	case $1 in
	alt2) echo /usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml ;;
	default) echo /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml ;;
	lbp) echo /usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml ;;
	*.xml) echo "$1" ;;
	*) echo "bench-detect: unknown cascade $1 (alt2, default, lbp or a path to .xml)" >&2
	   exit 2 ;;
	esac
}

now_ns() { date +%s%N; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fermata-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

$PY scripts/bench/detect-opencv.py images --out "$tmp/img" --sizes "$sizes" >"$tmp/files"
# shellcheck disable=SC2046
set -- $(cat "$tmp/files")

have_fer=0
if [ -x "$FER" ]; then
	have_fer=1
else
	echo "bench-detect: $FER is not built; timing OpenCV only" >&2
fi

status=0
echo "fer-detect benchmark: best of $reps, one thread; OpenCV $($PY -c 'import cv2; print(cv2.__version__)'); $(nproc) CPUs"
for c in $cascades; do
	xml=$(cascade_path "$c")
	[ -r "$xml" ] || { echo "bench-detect: $xml: no such cascade" >&2; exit 2; }
	name=$(basename "$xml")
	$PY scripts/bench/detect-opencv.py time --cascade "$xml" --reps "$reps" "$@" >"$tmp/cv.ndjson"
	: >"$tmp/fm.ndjson"
	: >"$tmp/fm.tsv"
	startup=
	if [ "$have_fer" = 1 ]; then
		best=
		i=0
		while [ $i -lt "$reps" ]; do
			t0=$(now_ns)
			# shellcheck disable=SC2086
			"$FER" --jobs 1 --cascade "$xml" --work-size 0 ${FER_DETECT_ARGS:-} </dev/null >/dev/null 2>&1 || true
			t=$(( ($(now_ns) - t0) / 1000 ))
			if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
			i=$((i + 1))
		done
		startup=$(awk -v us="$best" 'BEGIN { printf "%.1f", us / 1000 }')
		for f in "$@"; do
			best=
			i=0
			while [ $i -lt "$reps" ]; do
				t0=$(now_ns)
				# shellcheck disable=SC2086
				if "$FER" --jobs 1 --cascade "$xml" --work-size 0 ${FER_DETECT_ARGS:-} "$f" \
					>"$tmp/out" 2>"$tmp/err"; then
					t=$(( ($(now_ns) - t0) / 1000 ))
					if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
				else
					echo "bench-detect: $FER failed on $f: $(head -n 1 "$tmp/err")" >&2
					best=error
					break
				fi
				i=$((i + 1))
			done
			cat "$tmp/out" >>"$tmp/fm.ndjson"
			if [ "$best" = error ]; then
				printf '%s\terror\n' "$f" >>"$tmp/fm.tsv"
			else
				awk -v p="$f" -v us="$best" 'BEGIN { printf "%s\t%.1f\n", p, us / 1000 }' >>"$tmp/fm.tsv"
			fi
		done
	fi
	echo
	title="== $name"
	[ -n "$startup" ] && title="$title (fer-detect startup and cascade load, no image: $startup ms)"
	$PY scripts/bench/detect-opencv.py report --title "$title" --opencv "$tmp/cv.ndjson" \
		--fermata "$tmp/fm.ndjson" --fermata-times "$tmp/fm.tsv" || status=1
done
exit $status
