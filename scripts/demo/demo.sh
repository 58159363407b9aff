#!/bin/sh
# make demo: the main job on the bundled defaults, end to end: find the faces in the bundled
# photos and read their expressions (fer-detect | fer-classify), make a small music library
# and describe it (scripts/demo/library.sh: sox, then song-featurize), and recommend from it
# for the whole photo set, for each photo, and for a sad face under match and uplift.
#
#   scripts/demo/demo.sh [PHOTOS]        (default testdata/photos)
#
# Intermediate records stay in build/demo (faces.ndjson, songs.ndjson, music/).
set -eu
bin=${FM_BIN:-build/bin}
photos=${1:-testdata/photos}
demo=build/demo
mkdir -p "$demo"

echo "fer-detect | fer-classify over $photos (default cascade and model):"
echo
find "$photos" -type f \( -name '*.jpg' -o -name '*.png' \) | sort |
	"$bin/fer-detect" | "$bin/fer-classify" >"$demo/faces.ndjson"
jq -r '"\(.path | split("/") | last)\t\(.width)x\(.height)\t\(.faces | length) face(s)" +
	(if (.faces | length) > 0 then "\t" +
		([.faces[] | "\(.emotion) \(.scores[.emotion] * 100 | round)% (\(.w)px)"] | join(", "))
	else "" end)' "$demo/faces.ndjson" |
	awk -F '\t' '{ printf "  %-24s %-10s %-10s %s\n", $1, $2, $3, $4 }'

scripts/demo/library.sh "$demo"
echo
echo "The demo library, rendered with sox and described by song-featurize ($demo/songs.ndjson):"
echo
jq -r '[.title, (if .tempo then "\(.tempo | round) BPM" else "no pulse" end),
	"\(.key // "-") \(.mode // "")", "\(.loudness * 10 | round / 10) dB",
	"\(.onset_rate * 10 | round / 10) onsets/s"] | @tsv' "$demo/songs.ndjson" |
	awk -F '\t' '{ printf "  %-14s %-9s %-9s %-9s %s\n", $1, $2, $3, $4, $5 }'

# ranking: print recommend's records as numbered lines.
ranking() {
	jq -r '[.rank, .title, .artist, (.score * 100 | round / 100), .why] | @tsv' |
		awk -F '\t' '{ printf "  %2d. %-14s %-13s %5.2f  %s\n", $1, $2, $3, $4, $5 }'
}

echo
echo "recommend --library $demo/songs.ndjson -n 5, all the photos as one mood:"
echo
"$bin/recommend" --library "$demo/songs.ndjson" -n 5 <"$demo/faces.ndjson" >"$demo/all.ndjson"
jq -r 'select(.rank == 1) | "  mood: \(.emotion)"' "$demo/all.ndjson"
ranking <"$demo/all.ndjson"

echo
echo "recommend --each -n 3, one ranking per photo with faces:"
echo
"$bin/recommend" --library "$demo/songs.ndjson" --each -n 3 <"$demo/faces.ndjson" |
	jq -r '[(.query.path | split("/") | last), .emotion, .rank, .title] | @tsv' |
	awk -F '\t' '
		$1 != last { if (last != "") print line; line = sprintf("  %-22s %-8s", $1, $2); last = $1 }
		{ line = line sprintf("  %d. %s", $3, $4) }
		END { if (last != "") print line }'

for strategy in match uplift; do
	echo
	echo "recommend --emotion sad --strategy $strategy -n 5:"
	echo
	"$bin/recommend" --library "$demo/songs.ndjson" --emotion sad --strategy "$strategy" -n 5 |
		ranking
done
