#!/usr/bin/env bats
# tests/cli/song-formats.bats: song-featurize on every common format of a music library. One
# 6-second piece (clicks at 120 BPM over an A minor chord, 44.1 kHz stereo) is made with sox
# and encoded with ffmpeg, with tags, as MP3, AAC in M4A, Ogg Opus, Ogg Vorbis, FLAC, AIFF,
# WMA and WAV; each must describe the same music as the WAV, within what a lossy codec
# changes. Then the tags, and a cut and a damaged copy of each compressed file: an error
# record with the decoder's reason, and the stream goes on.

setup_file() {
	load helpers
	command -v sox >/dev/null || skip "sox is not installed (scripts/deps.sh check installs it)"
	command -v ffmpeg >/dev/null || skip "ffmpeg is not installed (scripts/deps.sh check)"
	cd "$BATS_FILE_TMPDIR" || return 1
	sox -n -r 44100 -c 2 -b 16 clicks.wav synth 0.02 sine 1000 fade 0 0.02 0.015 \
		pad 0 0.48 repeat 11
	sox -n -r 44100 -c 2 -b 16 chord.wav synth 6 sine 220 sine 261.63 sine 329.63 \
		remix 1-3 1-3 gain -6
	sox -m clicks.wav chord.wav piece.wav
	tags=(-metadata title='Clicks in A' -metadata artist='Ann Example' -metadata album=Tests
		-metadata track=3 -metadata date=2021-04-01 -metadata genre=Test)
	while read -r ext codec; do
		# shellcheck disable=SC2086
		ffmpeg -nostdin -v error -y -threads 1 -i piece.wav "${tags[@]}" $codec "piece.$ext"
	done <<-EOF
		mp3 -c:a libmp3lame -b:a 192k
		m4a -c:a aac -b:a 192k
		opus -c:a libopus -b:a 128k
		ogg -c:a libvorbis -q:a 6
		flac -c:a flac
		aiff -c:a pcm_s16be
		wma -c:a wmav2 -b:a 192k
		tagged.wav -c:a pcm_s16le
	EOF
	# A cut copy (the first half) and a damaged one (bytes flipped in the middle third).
	for ext in mp3 m4a opus ogg wma; do
		size=$(stat -c %s "piece.$ext")
		head -c $((size / 2)) "piece.$ext" >"cut.$ext"
		cp "piece.$ext" "bad.$ext"
		printf '\x5a%.0s' $(seq 600) |
			dd of="bad.$ext" bs=1 seek=$((size / 3)) conv=notrunc status=none
	done
}

setup() {
	load helpers
	SF=$FM_BIN/song-featurize
	cd "$BATS_FILE_TMPDIR" || return 1
}

# same_music FILE: FILE's record describes the WAV's music: same tempo, key and mode, the
# same length within 50 ms (encoder delay and padding), loudness within 0.5 dB and spectral
# centroid within 5% (what 128 to 192 kbit/s codecs change at the 22050 Hz analysis rate:
# measured 0.26 dB and 2.3% at most, for MP3 and WMA).
same_music() {
	"$SF" piece.wav "$1" >pair.ndjson
	jq -s -e '.[0] as $w | .[1] as $x |
		($x.error == null) and ($x.tempo != null) and
		(($x.tempo - $w.tempo) | fabs) <= 0.02 * $w.tempo and
		$x.key == $w.key and $x.mode == $w.mode and
		(($x.duration - $w.duration) | fabs) <= 0.05 and
		(($x.loudness - $w.loudness) | fabs) <= 0.5 and
		(($x.centroid_mean - $w.centroid_mean) | fabs) <= 0.05 * $w.centroid_mean' pair.ndjson
}

@test "MP3, AAC in M4A, Ogg Opus, Ogg Vorbis and WMA describe the same music as the WAV" {
	for ext in mp3 m4a opus ogg wma; do
		echo "# $ext"
		same_music "piece.$ext"
	done
}

@test "an Ogg Opus file written by ffmpeg is read (libsndfile 1.2.0 calls it malformed)" {
	run --separate-stderr "$SF" piece.opus
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -c '[.sample_rate, .channels, .key, .mode]' <<<"$output")" = '[48000,2,"A","minor"]' ]
}

@test "lossless FLAC and AIFF give exactly the WAV's features" {
	"$SF" piece.wav piece.flac piece.aiff |
		jq -c 'del(.path, .size, .mtime, .title, .artist, .album, .track, .year, .genre)' >three.ndjson
	[ "$(sort -u three.ndjson | wc -l)" -eq 1 ]
}

@test "tags: title, artist, album, track, year and genre, as strings after the path" {
	run --separate-stderr "$SF" piece.mp3 piece.m4a piece.opus piece.ogg piece.flac piece.wma
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.title, .artist, .album, .track, .year, .genre]' <<<"$output" | sort -u)" = \
		'["Clicks in A","Ann Example","Tests","3","2021","Test"]' ]
	[ "$(jq -c 'keys_unsorted[0:7]' <<<"${lines[0]}")" = \
		'["path","title","artist","album","track","year","genre"]' ]
	# A file without tags has none of the fields.
	run "$SF" piece.wav
	[ "$(jq -c '[has("title"), has("artist"), has("album")]' <<<"$output")" = \
		'[false,false,false]' ]
}

@test "a field the input record carries is kept over the file's tag" {
	run "$SF" <<<'{"path":"piece.mp3","artist":"Mine"}'
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.artist, .title]' <<<"$output")" = '["Mine","Clicks in A"]' ]
}

@test "cut and damaged compressed files: an error record each with the decoder's reason" {
	run --separate-stderr "$SF" cut.mp3 cut.m4a cut.wma bad.mp3 bad.m4a bad.opus bad.ogg \
		bad.wma piece.mp3
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 9 ]
	jq -r '.error // "ok"' <<<"$output" >errors
	cat errors
	run cat errors
	[[ ${lines[0]} == "truncated audio data ("*" of 6.034 s)" ]]
	[ "${lines[1]}" = "not an audio file that libsndfile or FFmpeg can read: moov atom not found" ]
	[[ ${lines[2]} == "cannot decode the audio: "* || ${lines[2]} == "truncated audio data ("* ]]
	for i in 3 4 5 6 7; do
		[[ ${lines[$i]} == "cannot decode the audio: "* ||
			${lines[$i]} == "truncated audio data ("* ]]
	done
	[ "${lines[8]}" = ok ]
	[ "${#stderr_lines[@]}" -eq 8 ]
}

@test "a cut Ogg file is described up to where it ends, as with libsndfile" {
	run --separate-stderr "$SF" cut.ogg cut.opus
	[ "$status" -eq 0 ]
	[ "$(jq -c '.duration < 4' <<<"$output" | sort -u)" = true ]
}

@test "a WAV with tags has them read by libsndfile" {
	run "$SF" piece.tagged.wav
	[ "$status" -eq 0 ]
	[ "$(jq -r .title <<<"$output")" = "Clicks in A" ]
}

@test "real music (scripts/refdata/real-music.sh): each track the same in Ogg, Opus, AAC and MP3" {
	dir=${FM_REAL_MUSIC:-/work/data/formats}
	[ -d "$dir/m4a" ] || skip "no real music in $dir (scripts/refdata/real-music.sh makes it)"
	for f in "$dir"/m4a/*.m4a; do
		t=$(basename "$f" .m4a)
		"$SF" --jobs 2 "$dir/ogg/$t.ogg" "$dir/opus/$t.opus" "$f" "$dir/mp3/$t.mp3" >four.ndjson
		echo "# $t"
		# Loudness within 0.5 dB: measured 0.26 dB at most between these codecs.
		jq -s -e '.[0] as $o | length == 4 and all(.[];
			.error == null and .key == $o.key and .mode == $o.mode and
			((.tempo - $o.tempo) | fabs) <= 0.01 * $o.tempo and
			((.loudness - $o.loudness) | fabs) <= 0.5)' four.ndjson
		[ "$(jq -r .artist four.ndjson | sed -n 2,4p | sort -u | wc -l)" -eq 1 ]
	done
}
