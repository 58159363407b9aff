#!/bin/sh
# Do the mood profiles find music of the right quadrant on real music (issue 16)? A weak,
# offline check: no music set labelled by emotion can be had from Debian, so the labels here
# are the quadrants of Russell's circumplex that the composers' own titles name, for the game
# soundtracks scripts/bench/taste-music.sh fetches and featurises (battle and suspense are
# tense, Q2; defeat and sad are Q3; victory and party are Q1; sanctuary and garden are Q4).
# The labels were written from the titles alone, before any ranking was looked at; a title
# says what the scene is, not what a listener hears, so the figures are indicative only.
# For each expression, recommend ranks the labelled songs alone, and the script counts its
# top five by quadrant.
#
#   scripts/bench/moods.sh [profiles.json ...]     (default: models/profiles.json)
#
# The music: $FERMATA_TASTE_MUSIC, else ~/.cache/fermata/taste-music; when it is absent the
# benchmark is skipped with a message (exit 0). RECOMMEND names the binary.
set -eu

cd "$(dirname "$0")/../.."
R=${RECOMMEND:-build/bin/recommend}
dir=${FERMATA_TASTE_MUSIC:-$HOME/.cache/fermata/taste-music}
if [ ! -s "$dir/songs.ndjson" ]; then
	echo "moods: no $dir/songs.ndjson (scripts/bench/taste-music.sh makes it): skipped"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# file name (without .ogg) and quadrant
cat >"$tmp/labels" <<'LABELS'
battle-epic 2
battle 2
AmbientBattle 2
Hyperbattle 2
TechBattle 2
frantic 2
frantic-old 2
suspense 2
Suspicion 2
the_dangerous_symphony 2
siege_of_laurelmor 2
casualties_of_war 2
hellforce 2
vengeful 2
sad 3
defeat 3
defeat2 3
lose_theme 3
the_king_is_dead 3
nunc_dimittis 3
the_city_falls 3
victory 1
victory2 1
win_theme 1
race_win_theme 1
Penguin_Party 1
theGreatFair 1
klabauter_dance 1
Olympics 1
love_theme 4
silvan_sanctuary 4
elf-land 4
garden 4
Nature 4
valley 4
knolls 4
LABELS

# The labelled songs' records, each with its quadrant as "q".
while read -r name q; do
	jq -c --arg n "$name" --argjson q "$q" \
		'select(.path | test("/" + $n + "\\.ogg$")) | .q = $q' "$dir/songs.ndjson" | head -n 1
done <"$tmp/labels" >"$tmp/lib.ndjson"
n=$(wc -l <"$tmp/lib.ndjson")
echo "$n labelled songs: $(jq -s -r 'group_by(.q) | map("Q\(.[0].q) \(length)") | join(", ")' "$tmp/lib.ndjson")"
[ $# -gt 0 ] || set -- models/profiles.json
for p in "$@"; do
	echo "$p: top 5 by quadrant (Q1 happy, Q2 tense, Q3 sad, Q4 calm)"
	for e in happy angry fear sad surprise disgust neutral; do
		"$R" --library "$tmp/lib.ndjson" --profiles "$p" --emotion "$e" -n 5 |
			jq -s -r --arg e "$e" '. as $top | "  \($e | . + "        " | .[0:9]) " +
				([1,2,3,4] | map(. as $k | "Q\($k) \($top | map(select(.q == $k)) | length)") | join(", "))'
	done
done
