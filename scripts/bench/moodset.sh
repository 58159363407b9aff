#!/bin/sh
# Do the mood profiles find music of the right quadrant on a public music-emotion set
# (issue 16)? The set: the 4Q audio emotion dataset of Panda, Malheiro and Paiva (2018), 900
# clips of 30 s labelled by Russell quadrant, which scripts/refdata/moodset.sh brings to
# $FM_MOODSET (default /work/data/moodset). The clips are featurised as a user would
# (song-featurize --update, one job, kept in the set's folder as songs.ndjson), then
# scripts/bench/moodset.py has recommend rank each half of the set for each expression
# and counts its top 10 and top 50 in the expression's quadrant, with the ranking's AUC
# for that quadrant. The halves are split by the SHA-1 of the file name: the profiles'
# numbers were chosen on the tuning half; the held-out half is the figure to quote.
#
#   scripts/bench/moodset.sh [profiles.json ...]     (default: the shipped profiles)
#
# When the set is absent the benchmark is skipped with a message (exit 0). RECOMMEND and
# SONG_FEATURIZE name the binaries.
set -eu

cd "$(dirname "$0")/../.."
R=${RECOMMEND:-build/bin/recommend}
F=${SONG_FEATURIZE:-build/bin/song-featurize}
dir=${FM_MOODSET:-/work/data/moodset}
if [ ! -s "$dir/labels.tsv" ]; then
	echo "moodset: no $dir/labels.tsv (scripts/refdata/moodset.sh makes the set): skipped"
	exit 0
fi
# Featurise what is new; a second run reads every record back unchanged.
cut -f 2,1 "$dir/labels.tsv" | while IFS="$(printf '\t')" read -r f q; do
	printf '%s/%s/%s\n' "$dir" "$q" "$f"
done | "$F" --jobs 1 --no-progress --update "$dir/songs.ndjson"
[ $# -gt 0 ] || set -- ""
for p in "$@"; do
	echo "profiles: ${p:-the shipped ones}"
	if [ -n "$p" ]; then
		/usr/bin/python3 scripts/bench/moodset.py --recommend "$R" --profiles "$p" \
			"$dir/songs.ndjson" "$dir/labels.tsv"
	else
		/usr/bin/python3 scripts/bench/moodset.py --recommend "$R" \
			"$dir/songs.ndjson" "$dir/labels.tsv"
	fi
done
