#!/bin/sh
# docs/pictures/make.sh: the pictures README.md shows, made by this tree's tools (make all
# first) from the bundled photos: two photos annotated by fer-annotate -o, a contact sheet
# of every face they and two more hold, and the timeline of a made-up "video" whose frames
# are bundled photos in turn, with three songs judged by fer-react as bands.
#   docs/pictures/make.sh
set -eu
cd "$(dirname "$0")/../.."
bin=build/bin
out=docs/pictures
p=testdata/photos
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin/fer-detect" "$p/vlfeat-team.jpg" "$p/grace-hopper.jpg" "$p/astronaut.png" \
	"$p/vlfeat-dome.jpg" | "$bin/fer-classify" >"$tmp/photos.ndjson"
# The pictures as JPEG, to keep the repository small.
head -n 2 "$tmp/photos.ndjson" |
	"$bin/fer-annotate" -o "$out" --format jpeg --quality 70 >/dev/null
"$bin/fer-annotate" --sheet "$out/sheet.png" --columns 7 --cell 96 <"$tmp/photos.ndjson" >/dev/null

# 18 seconds at 10 frames a second: a stern face, a half-second smile (a brief
# expression change), no face, a smiling one, another calmer one.
repeat() { i=0; while [ $i -lt "$1" ]; do cat "$2"; i=$((i + 1)); done; }
{
	repeat 30 "$p/grace-hopper.jpg"
	repeat 5 "$p/astronaut.png"
	repeat 40 "$p/grace-hopper.jpg"
	repeat 15 "$p/rocket.jpg"
	repeat 50 "$p/astronaut.png"
	repeat 40 "$p/vlfeat-dome.jpg"
} | "$bin/fer-detect" --stream --fps 10 | "$bin/fer-classify" --smooth 1 >"$tmp/frames.ndjson"
printf '%s\n' '{"path":"music/Satie - Gymnopedie 1.flac","start":0,"end":7.5}' \
	'{"path":"music/upbeat.ogg","start":7.5,"end":14}' \
	'{"path":"music/third.mp3","start":14,"end":18}' >"$tmp/plays.ndjson"
"$bin/fer-react" --plays "$tmp/plays.ndjson" "$tmp/frames.ndjson" >"$tmp/reactions.ndjson"
"$bin/fer-annotate" --timeline "$out/timeline.svg" --timeline "$out/timeline.png" \
	--plays "$tmp/reactions.ndjson" <"$tmp/frames.ndjson" >/dev/null
ls -l "$out"
