#!/bin/sh
# Rebuild the music-emotion set that scripts/bench/moodset.sh measures the mood profiles on:
# the 4Q audio emotion dataset, 900 clips of about 30 s (MP3, from the AllMusic API), each
# labelled with one quadrant of Russell's circumplex (Q1 positive and aroused, Q2 negative and
# aroused, Q3 negative and calm, Q4 positive and calm), 225 a quadrant, in folders Q1..Q4:
#
#   Panda, R., Malheiro, R., and Paiva, R. P. (2018). Novel audio features for music emotion
#   recognition. IEEE Transactions on Affective Computing 11(4). http://mir.dei.uc.pt
#
# Licence: distributed by its authors for research use, to be cited as above; the clips are
# AllMusic's samples and their rights stay with their owners. Never commit them: the set lives
# outside the repository. It is taken from a copy of the dataset that a public git repository
# carries (github.com/Famelgas/MULT_TP2, folder MER_audio_taffc_dataset, the authors' own
# layout, readme.txt and metadata files included), given as a git directory:
#
#   scripts/refdata/moodset.sh GIT_DIR [DIR]   (default DIR /work/data/moodset, or $FM_MOODSET)
#
# DIR gets Q1..Q4/*.mp3, the two metadata files, readme.txt, and labels.tsv (file, quadrant),
# taken from the folders; the script checks that they agree with the annotations file.
set -eu

[ $# -ge 1 ] || { echo "usage: moodset.sh GIT_DIR [DIR]" >&2; exit 2; }
git=$1
dir=${2:-${FM_MOODSET:-/work/data/moodset}}
src=MER_audio_taffc_dataset
mkdir -p "$dir"
for f in readme.txt panda_dataset_taffc_annotations.csv panda_dataset_taffc_metadata.csv; do
	git --git-dir="$git" show "HEAD:$src/$f" >"$dir/$f"
done
: >"$dir/labels.tsv.new"
for q in Q1 Q2 Q3 Q4; do
	mkdir -p "$dir/$q"
	git --git-dir="$git" ls-tree --name-only HEAD "$src/$q/" | while read -r p; do
		f=${p##*/}
		case $f in *.mp3) ;; *) continue ;; esac
		[ -s "$dir/$q/$f" ] || git --git-dir="$git" cat-file blob "HEAD:$p" >"$dir/$q/$f"
		printf '%s\t%s\n' "$f" "$q" >>"$dir/labels.tsv.new"
	done
done
mv "$dir/labels.tsv.new" "$dir/labels.tsv"
# The folders must say what the annotations say.
tr -d '\r' <"$dir/panda_dataset_taffc_annotations.csv" | tail -n +2 |
	awk -F, '{ print $1 ".mp3\t" $2 }' | sort >"$dir/annotations.tsv.new"
if ! sort "$dir/labels.tsv" | cmp -s - "$dir/annotations.tsv.new"; then
	echo "moodset: the folders and panda_dataset_taffc_annotations.csv disagree" >&2
	exit 1
fi
rm -f "$dir/annotations.tsv.new"
echo "moodset: $(wc -l <"$dir/labels.tsv") clips in $dir"
