#!/bin/sh
# make demo: the main job on the bundled defaults, end to end, shown as the tools themselves
# print it: find the faces in the bundled photos, read their expressions and draw them on the
# photos (fer-detect | fer-classify | fer-annotate), say what the faces come to
# (fer-summary), make a small music library and describe it (scripts/demo/library.sh: sox,
# then song-featurize), and recommend from it (recommend --format text) for the whole photo
# set, for each photo, and for a sad face under match and uplift; then write the photo set's
# playlist (recommend --format m3u).
#
#   scripts/demo/demo.sh [PHOTOS]        (default testdata/photos)
#
# Everything it writes goes in build/demo: faces.ndjson, annotated/ (the photos with their
# faces drawn) and faces.png (a contact sheet of the faces), songs.ndjson and music/ (the
# library), playlist.m3u; it says where at the end. Without fer-annotate (not built) the
# pictures are left out and the rest runs.
set -eu
bin=${FM_BIN:-build/bin}
photos=${1:-testdata/photos}
demo=build/demo
mkdir -p "$demo"

# annotate: fer-annotate's pictures (issue 17's picture tool) when it is built, else the
# records as they come.
annotate() {
	if [ -x "$bin/fer-annotate" ]; then
		"$bin/fer-annotate" -o "$demo/annotated" --sheet "$demo/faces.png"
	else
		cat
	fi
}

say() {
	printf '%s\n\n' "$*"
}

if [ -x "$bin/fer-annotate" ]; then
	say "fer-detect | fer-classify | fer-annotate -o $demo/annotated --sheet $demo/faces.png, over $photos:"
else
	say "fer-detect | fer-classify, over $photos:"
fi
find "$photos" -type f \( -name '*.jpg' -o -name '*.png' \) | sort |
	"$bin/fer-detect" | "$bin/fer-classify" | annotate >"$demo/faces.ndjson"
jq -r '"  \(.path | split("/") | last): \(.faces | length) face(s)" +
	(if (.faces | length) > 0 then ", " + ([.faces[].emotion] | join(", ")) else "" end)' \
	"$demo/faces.ndjson"
echo
say "fer-summary --format text $demo/faces.ndjson:"
"$bin/fer-summary" --format text "$demo/faces.ndjson"

scripts/demo/library.sh "$demo"
echo
say "The demo library, rendered with sox and described by song-featurize ($demo/songs.ndjson):"
jq -c '{title, tempo, key, mode, loudness}' "$demo/songs.ndjson"

echo
say "recommend --library $demo/songs.ndjson -n 5 --format text, all the photos as one mood:"
"$bin/recommend" --library "$demo/songs.ndjson" -n 5 --format text <"$demo/faces.ndjson"

echo
say "recommend --each -n 3 --format text, one ranking per photo with faces:"
"$bin/recommend" --library "$demo/songs.ndjson" --each -n 3 --format text <"$demo/faces.ndjson"

for strategy in match uplift; do
	echo
	say "recommend --emotion sad --strategy $strategy -n 5 --format text:"
	"$bin/recommend" --library "$demo/songs.ndjson" --emotion sad --strategy "$strategy" \
		-n 5 --format text
done

echo
say "recommend -n 12 --format m3u --output $demo/playlist.m3u, the photos' playlist:"
"$bin/recommend" --library "$demo/songs.ndjson" -n 12 --format m3u \
	--output "$demo/playlist.m3u" <"$demo/faces.ndjson"
head -n 5 "$demo/playlist.m3u"
echo "..."

echo
echo "Written in $(cd "$demo" && pwd)/:"
if [ -x "$bin/fer-annotate" ]; then
	n=$(find "$demo/annotated" -type f | wc -l)
	echo "  annotated/      the photos with each face's box and expression ($n pictures)"
	echo "  faces.png       every face found, with its expression (a contact sheet)"
fi
echo "  playlist.m3u    the photos' playlist, for any player"
echo "  faces.ndjson    fer-classify's records of the photos"
echo "  music/          the library's pieces, and songs.ndjson, song-featurize's records of them"
