#!/bin/sh
# Tempo accuracy on real music of known tempo that the tempo estimator was not tuned on.
#
#   scripts/bench/tempo.sh [-s held|tune|all] [-v]
#
# The set is 258 MIDI pieces rendered by fluidsynth (scripts/bench/tempo-set.py: fourteen
# styles at 56 to 200 BPM, and Planet Blupi's MIDI music, with the sources and licences),
# kept outside the repository in $FM_TEMPO_DATA (default /work/data/tempo) and built there
# when missing. Its names split it once and for all into a tuning half (184 pieces) and a
# held-out half (74, -s held, the default): song-featurize's constants were chosen on the
# tuning half only.
# Prints the share within 4% of the stated tempo (acc1) and within 4% of it, twice it or
# half it (acc2) for song-featurize, `aubio tempo`, aubiotrack and, when python3 has it,
# librosa; -v lists every clip.
#
# SONG_FEATURIZE names the binary (build/bin/song-featurize).
# Exit status: 0 when song-featurize is at least as accurate as aubio's tracker in acc1,
# 1 otherwise, 2 on a usage error or a missing dependency.
set -eu

cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
FM=${SONG_FEATURIZE:-build/bin/song-featurize}
DATA=${FM_TEMPO_DATA:-/work/data/tempo}
split=held
verbose=

usage() {
	echo "usage: scripts/bench/tempo.sh [-s held|tune|all] [-v]" >&2
	exit 2
}
while getopts s:v opt; do
	case $opt in
	s) split=$OPTARG ;;
	v) verbose=-v ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
case $split in held | tune | all) ;; *) usage ;; esac

for tool in aubio aubiotrack; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "bench-tempo: $tool is missing (scripts/deps.sh bench installs aubio-tools)" >&2
		exit 2
	fi
done
if [ ! -x "$FM" ]; then
	echo "bench-tempo: $FM is not built (make)" >&2
	exit 2
fi
if [ ! -s "$DATA/manifest.tsv" ]; then
	echo "bench-tempo: building the tempo set in $DATA (some minutes)" >&2
	$PY scripts/bench/tempo-set.py --out "$DATA" --jobs "$(nproc)" || exit 2
fi
out=$($PY scripts/bench/tempo.py --data "$DATA" --split "$split" --fermata "$FM" $verbose)
printf '%s\n' "$out"
printf '%s\n' "$out" | awk '$1 == "song-featurize" && $2 ~ /%$/ { ours = $2 + 0 }
	$1 == "aubiotrack" { theirs = $2 + 0 }
	END { exit !(ours >= theirs) }'
