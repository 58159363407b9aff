#!/bin/sh
# Does recommend --feedback learn a listener's taste (issue 13)? On real music: the
# soundtracks of four of Debian's games, which scripts/bench/taste-music.sh fetches and
# featurises outside the repository. A simulated listener likes 10 songs of one kind and
# skips 10 of another, all while neutral; among the songs not judged, the pairwise AUC of
# the liked kind over the disliked kind in recommend's ranking (--emotion neutral, and
# --emotion happy, another mood), before and after the feedback, against the plain linear
# learner of the issue (centroid difference over the standardised descriptors with the MFCC
# means) on the same draws. scripts/bench/taste.py says how; half of the draws tune, the
# other half is reported.
#
#   scripts/bench/taste.sh [-d draws] [-t]      -t: tune the feedback numbers first
#
# The music: $FERMATA_TASTE_MUSIC, else ~/.cache/fermata/taste-music; when it is absent the
# benchmark is skipped with a message (exit 0). RECOMMEND names the binary
# (build/bin/recommend).
# Exit status: 0 when the held-out AUC after feedback is at least 0.70 in both moods (or the
# music is absent), 1 otherwise, 2 on a usage error.
set -eu

cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
R=${RECOMMEND:-build/bin/recommend}
dir=${FERMATA_TASTE_MUSIC:-$HOME/.cache/fermata/taste-music}
draws=6
tune=

usage() {
	echo "usage: scripts/bench/taste.sh [-d draws] [-t]" >&2
	exit 2
}
while getopts d:t opt; do
	case $opt in
	d) draws=$OPTARG ;;
	t) tune=--tune ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
case $draws in '' | *[!0-9]* | 0) usage ;; esac
[ -x "$R" ] || { echo "bench-taste: $R is not built" >&2; exit 2; }
if [ ! -s "$dir/songs.ndjson" ]; then
	echo "bench-taste: skipped: no music at $dir (scripts/bench/taste-music.sh builds it," \
		"about 1.2 GB to download)"
	exit 0
fi
# shellcheck disable=SC2086
exec "$PY" scripts/bench/taste.py --music "$dir" --recommend "$R" --draws "$draws" $tune
