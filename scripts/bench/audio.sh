#!/bin/sh
# Time song-featurize against aubio (Debian's aubio-tools) and compare their tempo accuracy.
#
#   scripts/bench/audio.sh [-r reps] [-v]
#
# The sounds are synthesised at run time by scripts/bench/audio.py (numpy, fixed seeds) in a
# temporary directory under $TMPDIR, removed at the end: four 45-second pieces (drums, bass,
# chords, melody; 44.1 kHz stereo WAV, and FLAC copies made with sox) for the speed table,
# and 48 clips of 15 seconds at known tempi between 60 and 180 BPM in six styles for the
# accuracy table. Speed is seconds of audio per CPU second (user + system) of one process
# per file, decode included, best of -r runs (3): song-featurize --jobs 1 computing every
# descriptor, against aubiotrack (beats) and aubiomfcc (MFCC), aubio's C programs, and
# `aubio tempo` and `aubio mfcc`, its Python command line. Accuracy: within 4% of the true
# tempo, and (acc2) also of twice or half of it; -v lists every clip.
#
# SONG_FEATURIZE names the binary (build/bin/song-featurize).
# Exit status: 0 when song-featurize is faster than aubiotrack and aubiomfcc on every format
# and at least as accurate as aubio on tempo, 1 otherwise, 2 on a usage error or a missing
# dependency.
set -eu

cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
FM=${SONG_FEATURIZE:-build/bin/song-featurize}
reps=3
verbose=

usage() {
	echo "usage: scripts/bench/audio.sh [-r reps] [-v]" >&2
	exit 2
}
while getopts r:v opt; do
	case $opt in
	r) reps=$OPTARG ;;
	v) verbose=--verbose ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
case $reps in '' | *[!0-9]* | 0) usage ;; esac

for tool in aubiotrack aubiomfcc; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "bench-audio: $tool is missing (scripts/deps.sh bench installs aubio-tools)" >&2
		exit 2
	fi
done
if ! $PY -c 'import numpy' 2>/dev/null; then
	echo "bench-audio: $PY lacks numpy (scripts/deps.sh bench installs it)" >&2
	exit 2
fi
if [ ! -x "$FM" ]; then
	echo "bench-audio: $FM is not built (make)" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fermata-bench-audio.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

$PY scripts/bench/audio.py make --out "$tmp"
if command -v sox >/dev/null 2>&1; then
	for f in "$tmp"/pieces/*.wav; do
		sox "$f" "${f%.wav}.flac"
	done
fi
echo "song-featurize benchmark: $(nproc) CPUs, aubio-tools $(dpkg-query -W -f='${Version}' aubio-tools 2>/dev/null || echo '(version unknown)')"
# shellcheck disable=SC2086
$PY scripts/bench/audio.py run --dir "$tmp" --fermata "$FM" --reps "$reps" $verbose
