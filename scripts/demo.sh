#!/bin/sh
# make demo: the main job on the bundled defaults. For now that is finding the faces in the
# bundled photos and reading their expressions; the music recommendation joins the
# pipeline when its tools land (issues 4 and 5).
set -eu
bin=${FM_BIN:-build/bin}
photos=${1:-testdata/photos}

echo "fer-detect | fer-classify over $photos (default cascade and model):"
echo
find "$photos" -type f \( -name '*.jpg' -o -name '*.png' \) | sort |
	"$bin/fer-detect" | "$bin/fer-classify" |
	jq -r '"\(.path | split("/") | last)\t\(.width)x\(.height)\t\(.faces | length) face(s)" +
		(if (.faces | length) > 0 then "\t" +
			([.faces[] | "\(.emotion) \(.scores[.emotion] * 100 | round)% (\(.w)px)"] | join(", "))
		else "" end)' |
	awk -F '\t' '{ printf "  %-24s %-10s %-10s %s\n", $1, $2, $3, $4 }'
