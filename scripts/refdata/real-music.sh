#!/bin/sh
# Rebuild the set of real, compressed music that scripts/bench/formats.sh measures on (and
# that tests may use when present): the Ogg Vorbis tracks of Debian's hyperrogue-music
# package, copied, and some of them transcoded with ffmpeg to Opus, AAC (M4A) and MP3, with
# title, artist and album tags. The set lives outside the repository:
#
#   scripts/refdata/real-music.sh [DIR]      (default /work/data/formats, or $FM_REAL_MUSIC)
#
# Sources and licences (from /usr/share/doc/hyperrogue-music/copyright):
#   hr3-*.ogg            Shawn Parrotte (http://www.shawnparrotte.com), CC-BY-SA-3.0
#   hr-domina-*.ogg      Lincoln Domina, CC-BY-SA-3.0
#   hr-savino-*.ogg      Will Savino (http://www.willsavino.net), CC-BY-SA-3.0
# The transcodes are derivative works under the same licence; DIR/SOURCES says so again.
# Needs root for apt-get when the package is missing, and ffmpeg.
set -eu

dir=${1:-${FM_REAL_MUSIC:-/work/data/formats}}
src=/usr/share/hyperrogue/music
if [ ! -d "$src" ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		hyperrogue-music >&2
fi
command -v ffmpeg >/dev/null 2>&1 || { echo "real-music: ffmpeg is missing" >&2; exit 2; }
mkdir -p "$dir/ogg" "$dir/opus" "$dir/m4a" "$dir/mp3"
cp "$src"/*.ogg "$dir/ogg/"

artist_of() {
	case $1 in
	hr3-*) echo "Shawn Parrotte" ;;
	hr-domina-*) echo "Lincoln Domina" ;;
	hr-savino-*) echo "Will Savino" ;;
	esac
}

# Four tracks each way, single-threaded encoders so that the files are the same every run.
# (Not hr-savino-caribbean, -ivory or -ocean: FFmpeg 5.1 refuses their Vorbis headers, which
# libsndfile reads; song-featurize falls back to it, ffmpeg cannot transcode them.)
for f in hr3-crossroads hr3-desert hr3-hell hr-domina-hunting; do
	a=$(artist_of "$f")
	ffmpeg -nostdin -loglevel error -y -threads 1 -i "$dir/ogg/$f.ogg" -map_metadata -1 \
		-metadata "title=$f" -metadata "artist=$a" -metadata album=HyperRogue \
		-c:a libopus -b:a 128k "$dir/opus/$f.opus"
	ffmpeg -nostdin -loglevel error -y -threads 1 -i "$dir/ogg/$f.ogg" -map_metadata -1 \
		-metadata "title=$f" -metadata "artist=$a" -metadata album=HyperRogue \
		-c:a aac -b:a 160k "$dir/m4a/$f.m4a"
	ffmpeg -nostdin -loglevel error -y -threads 1 -i "$dir/ogg/$f.ogg" -map_metadata -1 \
		-metadata "title=$f" -metadata "artist=$a" -metadata album=HyperRogue \
		-c:a libmp3lame -b:a 192k "$dir/mp3/$f.mp3"
done
cat >"$dir/SOURCES" <<SRC
Made by scripts/refdata/real-music.sh from Debian's hyperrogue-music package
($(dpkg-query -W -f='${Version}' hyperrogue-music 2>/dev/null)), /usr/share/hyperrogue/music.
hr3-*: Shawn Parrotte (http://www.shawnparrotte.com), CC-BY-SA-3.0
hr-domina-*: Lincoln Domina, CC-BY-SA-3.0
hr-savino-*: Will Savino (http://www.willsavino.net), CC-BY-SA-3.0
opus/, m4a/, mp3/: transcodes of ogg/ with ffmpeg, same authors and licence.
SRC
echo "real-music: $(find "$dir" -type f | wc -l) files in $dir" >&2
