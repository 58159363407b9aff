#!/bin/sh
# make demo: the main job on the bundled defaults. For now (issue 2) that is finding the
# faces in the bundled photos; classification and recommendation join the pipeline as
# their tools land.
set -eu
bin=${FM_BIN:-build/bin}
photos=${1:-testdata/photos}

echo "fer-detect over $photos (default cascade, scale 1.1, min-neighbors 3):"
echo
find "$photos" -type f \( -name '*.jpg' -o -name '*.png' \) | sort |
	"$bin/fer-detect" |
	jq -r '"\(.path | split("/") | last)\t\(.width)x\(.height)\t\(.faces | length) face(s)" +
		(if (.faces | length) > 0 then "\t" + ([.faces[] | "\(.w)x\(.h)@\(.x),\(.y)"] | join(" ")) else "" end)' |
	awk -F '\t' '{ printf "  %-24s %-10s %-10s %s\n", $1, $2, $3, $4 }'
