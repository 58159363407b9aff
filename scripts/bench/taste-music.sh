#!/bin/sh
# Rebuild the music of bench-taste (scripts/bench/taste.sh) outside the repository: the
# soundtracks of four of Debian's games, four kinds of music a listener can tell apart, and
# song-featurize's records of them.
#
#   scripts/bench/taste-music.sh [dir]      (default: $FERMATA_TASTE_MUSIC, else
#                                            ~/.cache/fermata/taste-music)
#
# Source: Debian's packages, fetched with apt-get download and unpacked with dpkg-deb -x,
# nothing installed (about 1.2 GB of packages, removed once the music is out; 330 MB kept):
#
#   wesnoth-1.16-music  Battle for Wesnoth: orchestral fantasy scores        (41 tracks)
#   supertuxkart-data   SuperTuxKart: upbeat electronic and pop racing tunes (31)
#   hedgewars-data      Hedgewars: comic themes in many styles               (26)
#   freedroidrpg-data   FreedroidRPG: dark electronic ambience               (16)
#
# Licences: free, as Debian main requires; Wesnoth's music is GPL-2+, Hedgewars' and
# FreedroidRPG's data GPL-2 or GPL-2+ (with a few files under other free licences), most
# SuperTuxKart tracks CC-BY-SA 3.0 or 4.0. Each package's debian/copyright, which names the
# authors and terms of every file, is copied to DIR/copyright/, and DIR/SOURCES lists each
# package's version. SuperTuxKart's "fast" variants of a track (*_fast.ogg, farm_f.ogg) are
# left out: a near-copy of a judged song among the unjudged would flatter any learner.
#
# Writes DIR/music/<kind>/*.ogg and DIR/songs.ndjson (song-featurize --jobs 2, about two
# minutes). SONG_FEATURIZE names the binary (build/bin/song-featurize).
# Exit status: 0 when the set is built, 1 when a step fails, 2 on a usage error.
set -eu

cd "$(dirname "$0")/../.."
FM=${SONG_FEATURIZE:-$PWD/build/bin/song-featurize}
[ $# -le 1 ] || { echo "usage: scripts/bench/taste-music.sh [dir]" >&2; exit 2; }
dir=${1:-${FERMATA_TASTE_MUSIC:-$HOME/.cache/fermata/taste-music}}
[ -x "$FM" ] || { echo "taste-music: $FM is not built (make all)" >&2; exit 2; }
for t in apt-get dpkg-deb; do
	command -v $t >/dev/null || { echo "taste-music: $t is missing (a Debian system)" >&2; exit 2; }
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
work=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# kind package folder-of-its-music
set -- \
	wesnoth wesnoth-1.16-music usr/share/games/wesnoth/1.16/data/core/music \
	supertuxkart supertuxkart-data usr/share/games/supertuxkart/data/music \
	hedgewars hedgewars-data usr/share/games/hedgewars/Data/Music \
	freedroidrpg freedroidrpg-data usr/share/freedroidrpg/data/sound/music

rm -rf "$dir/music" "$dir/copyright"
mkdir -p "$dir/music" "$dir/copyright"
: >"$work/SOURCES"
while [ $# -ge 3 ]; do
	kind=$1 pkg=$2 from=$3
	shift 3
	echo "taste-music: $pkg" >&2
	(cd "$work" && apt-get download "$pkg" >/dev/null)
	deb=$(ls "$work"/"$pkg"_*.deb)
	dpkg-deb -x "$deb" "$work/x"
	mkdir -p "$dir/music/$kind"
	cp "$work/x/$from"/*.ogg "$dir/music/$kind/"
	cp "$work/x/usr/share/doc/$pkg/copyright" "$dir/copyright/$pkg"
	printf '%s %s %s\n' "$kind" "$pkg" "$(dpkg-deb -f "$deb" Version)" >>"$work/SOURCES"
	rm -rf "$work/x" "$deb"
done
rm -f "$dir"/music/supertuxkart/*_fast.ogg "$dir/music/supertuxkart/farm_f.ogg"
mv "$work/SOURCES" "$dir/SOURCES"

echo "taste-music: song-featurize over $(ls "$dir"/music/*/*.ogg | wc -l) tracks" >&2
(cd "$dir" && "$FM" --jobs 2 music/*/*.ogg >songs.ndjson.tmp && mv songs.ndjson.tmp songs.ndjson)
echo "taste-music: $dir/songs.ndjson: $(wc -l <"$dir/songs.ndjson") songs" >&2
