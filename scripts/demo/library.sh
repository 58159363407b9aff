#!/bin/sh
# A small music library for `make demo`: twelve short pieces rendered with sox, each built to
# sit at one corner of the moods recommend knows (fast and major, slow and minor, loud and
# distorted, quiet and sparse, an uneven level), then described by song-featurize.
#
#   scripts/demo/library.sh [DIR]        (default build/demo)
#
# Writes DIR/music/*.wav (8 to 10 s each, 44.1 kHz mono) and DIR/songs.ndjson, the
# song-featurize records with a "title", "artist" and "album" added. Everything is
# deterministic (sox -R seeds its noise), and nothing is done when songs.ndjson is newer
# than this script and song-featurize. Exit status: 0 on success, 1 when sox or
# song-featurize fails, 2 when one of them is missing.
set -eu

cd "$(dirname "$0")/../.."
BIN=${FM_BIN:-build/bin}
out=${1:-build/demo}
music=$out/music
songs=$out/songs.ndjson

command -v sox >/dev/null || { echo "demo-library: sox is missing (scripts/deps.sh installs it)" >&2; exit 2; }
command -v jq >/dev/null || { echo "demo-library: jq is missing (scripts/deps.sh installs it)" >&2; exit 2; }
[ -x "$BIN/song-featurize" ] || { echo "demo-library: $BIN/song-featurize is not built" >&2; exit 2; }
if [ -s "$songs" ] && [ "$songs" -nt "$0" ] && [ "$songs" -nt "$BIN/song-featurize" ]; then
	exit 0
fi

# -R: the same bytes on every run (sox seeds its noise); -D: no dither, whose noise would
# fill the quiet pieces' pauses and read as spectral flatness; -V1: errors only, since
# the effects' clipping warnings are expected (every piece is normalised at the end).
SOX="-R -D -V1"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fermata-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$music"

# hz MIDI: the equal-tempered frequency of a MIDI note (69 is A 440 Hz).
hz() {
	awk -v m="$1" 'BEGIN { printf "%.3f", 440 * 2 ^ ((m - 69) / 12) }'
}

# piece NAME BPM STEP STYLE WAVE LEVEL_DB GAINS FX CHORD...
#   Each CHORD ("57,60,64": MIDI notes) lasts a bar of four beats, played as events of STEP
#   beats: STYLE "block" sounds the whole chord each event, "arp" one note after another.
#   The chords repeat (and may stop part way through) until the piece lasts 8 s or more.
#   WAVE is sox's synth type (pluck, sine, triangle, square, sawtooth). GAINS is a list of
#   dB cycled over the events ("0" for an even level; "0 -20" for a level that swings). FX
#   are sox effects on the whole piece; LEVEL_DB its peak level.
piece() {
	name=$1 bpm=$2 step=$3 style=$4 wave=$5 level=$6 gains=$7 fx=$8
	shift 8
	dur=$(awk -v s="$step" -v b="$bpm" 'BEGIN { printf "%.4f", s * 60 / b }')
	per_bar=$(awk -v s="$step" 'BEGIN { printf "%d", 4 / s }')
	bars=$(awk -v b="$bpm" -v n="$#" 'BEGIN { bar = 240 / b; k = int(8 / bar + 0.999); printf "%d", k }')
	dir=$tmp/$name
	mkdir -p "$dir"
	chords=$*
	i=0 bar=0
	while [ "$bar" -lt "$bars" ]; do
		chord=$(echo "$chords" | tr ' ' '\n' | sed -n "$((bar % $# + 1))p")
		notes=$(echo "$chord" | tr ',' ' ')
		n_notes=$(echo "$notes" | wc -w)
		e=0
		while [ "$e" -lt "$per_bar" ]; do
			g=$(echo "$gains" | tr ' ' '\n' | sed -n "$((i % $(echo "$gains" | wc -w) + 1))p")
			if [ "$style" = block ]; then
				synth=
				for m in $notes; do synth="$synth $wave $(hz "$m")"; done
				channels=$n_notes
			else
				m=$(echo "$notes" | tr ' ' '\n' | sed -n "$((e % n_notes + 1))p")
				synth="$wave $(hz "$m")"
				channels=1
			fi
			# The same event recurs with every repeat of the chords: made once, linked after.
			key=$(echo "$channels $synth $g" | tr ' .' '__')
			if [ ! -f "$dir/ev$key.wav" ]; then
				# shellcheck disable=SC2086
				sox $SOX -r 44100 -c "$channels" -n -b 16 "$dir/ev$key.wav" \
					synth "$dur" $synth remix - \
					fade 0.004 "$dur" "$(awk -v d="$dur" 'BEGIN { print d / 3 }')" gain -n "$g"
			fi
			ln "$dir/ev$key.wav" "$dir/$(printf '%05d' "$i").wav"
			i=$((i + 1)) e=$((e + 1))
		done
		bar=$((bar + 1))
	done
	# shellcheck disable=SC2086
	sox $SOX "$dir"/[0-9]*.wav -b 16 "$tmp/$name.wav" $fx gain -n "$level"
}

# drums NAME BPM LEVEL_DB: a noise burst on every beat and a low thump on beats 1 and 3,
# mixed under the piece NAME already rendered.
drums() {
	name=$1 bpm=$2 level=$3
	beat=$(awk -v b="$bpm" 'BEGIN { printf "%.4f", 60 / b }')
	sox $SOX -r 44100 -n -b 16 "$tmp/kick.wav" synth "$beat" sine 60 fade 0 "$beat" "$(awk -v b="$beat" 'BEGIN { print b * 0.9 }')"
	sox $SOX -r 44100 -n -b 16 "$tmp/hat.wav" synth 0.05 whitenoise fade 0 0.05 0.045 pad 0 "$(awk -v b="$beat" 'BEGIN { print b - 0.05 }')"
	sox $SOX -m "$tmp/kick.wav" "$tmp/hat.wav" "$tmp/beat1.wav"
	sox $SOX "$tmp/beat1.wav" "$tmp/hat.wav" "$tmp/bar2.wav"
	len=$(soxi -D "$tmp/$name.wav")
	reps=$(awk -v l="$len" -v b="$beat" 'BEGIN { printf "%d", l / (2 * b) }')
	sox $SOX "$tmp/bar2.wav" "$tmp/drums.wav" repeat "$reps" gain -n "$level"
	sox $SOX -m "$tmp/$name.wav" "$tmp/drums.wav" "$tmp/$name-d.wav" gain -n -1
	mv "$tmp/$name-d.wav" "$tmp/$name.wav"
}

echo "demo-library: rendering 12 pieces with sox into $music" >&2
#     name          BPM step style  wave      level gains           effects                      chords
piece sunrise-run   150 0.5  arp    pluck     -1    "0"             ""                           60,64,67 55,59,62 57,60,64 53,57,60
piece festival      132 1    block  square    -1    "0 -4"          "lowpass 5000"               55,59,62 60,64,67 62,66,69 55,59,62
drums festival      132 -6
piece bright-march  116 1    block  triangle  -3    "0 -3 -3 -3"    ""                           62,66,69 67,71,74 69,73,76 62,66,69
piece stroll        96  1    arp    pluck     -8    "0"             ""                           57,61,64 62,66,69 64,68,71 57,61,64
piece lullaby       60  2    block  sine      -18   "0"             "tremolo 3 20"               53,57,60 58,62,65 60,64,67 53,57,60
piece drift         54  4    block  sine      -24   "0"             ""                           48,60,64,67 53,60,65,69 48,60,64,67 55,62,67,71
piece elegy         52  2    block  sine      -20   "0"             "lowpass 900"                57,60,64 50,53,57 52,55,59 57,60,64
piece rain-on-glass 66  1    arp    pluck     -22   "0 -6"          "reverb 50 lowpass 2500"     52,55,59 48,52,55 50,54,57 47,50,54
piece grey-morning  84  1    block  triangle  -12   "0"             ""                           50,53,57 46,50,53 48,52,55 45,49,52
piece overdrive     160 0.5  block  sawtooth  -1    "0"             "overdrive 40 gain -6"       52,59,64 55,62,67 50,57,62 52,59,64
drums overdrive     160 -3
piece storm         144 0.5  arp    sawtooth  -1    "0 -2"          "overdrive 20 highpass 150"  48,51,55 44,48,51 46,50,53 43,47,50
drums storm         144 -4
piece alarm         120 0.5  block  square    -6    "0 -24 -24 -6 -30 0 -24 -12" "lowpass 3000" 57,60,63 58,61,64 57,60,63 56,59,62
for f in "$tmp"/*.wav; do
	case $f in */kick.wav | */hat.wav | */beat1.wav | */bar2.wav | */drums.wav) continue ;; esac
	mv "$f" "$music/"
done

echo "demo-library: describing them with song-featurize into $songs" >&2
"$BIN/song-featurize" --no-progress "$music"/*.wav >"$tmp/raw.ndjson"
jq -c '
	{
		"sunrise-run":   ["Sunrise Run", "The Daybreaks", "Morning"],
		"festival":      ["Festival", "The Daybreaks", "Morning"],
		"bright-march":  ["Bright March", "Brass Street", "Parades"],
		"stroll":        ["Stroll", "Brass Street", "Walks"],
		"lullaby":       ["Lullaby", "Nina Lind", "Cradle"],
		"drift":         ["Drift", "Nina Lind", "Cradle"],
		"elegy":         ["Elegy", "Ana Gris", "Winter"],
		"rain-on-glass": ["Rain on Glass", "Ana Gris", "Winter"],
		"grey-morning":  ["Grey Morning", "Ana Gris", "Walks"],
		"overdrive":     ["Overdrive", "Dee Volt", "Noise"],
		"storm":         ["Storm", "Dee Volt", "Noise"],
		"alarm":         ["Alarm", "Eli Jump", "Sirens"]
	} as $meta
	| (.path | split("/") | last | rtrimstr(".wav")) as $k
	| . + {title: $meta[$k][0], artist: $meta[$k][1], album: $meta[$k][2]}' \
	"$tmp/raw.ndjson" >"$tmp/songs.ndjson"
if grep -q '"error"' "$tmp/songs.ndjson"; then
	echo "demo-library: song-featurize could not read some pieces:" >&2
	jq -r 'select(.error) | "  \(.path): \(.error)"' "$tmp/songs.ndjson" >&2
	exit 1
fi
mv "$tmp/songs.ndjson" "$songs"
