#!/usr/bin/env bats
# tests/cli/fer-react.bats: fer-react as a user runs it: options and usage errors, songs
# judged on synthetic frame streams whose faces are known (tests/cli/react-frames.py), the
# record's fields and pass-through, the baseline and its fallback, songs without a face,
# wall-clock play logs with --origin, every kind of bad input, a full disk, its output read
# by recommend --feedback, and the EXAMPLES of man/fer-react.1.

setup() {
	load helpers
	FM_BIN=$(cd "$FM_BIN" && pwd)
	F=$FM_BIN/fer-react
	L=$FM_TESTDATA/rank/library.ndjson
	unset FERMATA_PROFILES FERMATA_MODEL
	cd "$BATS_TEST_TMPDIR" || return 1
}

# frames FPS SEGMENT ...: a synthetic stream on stdout (see react-frames.py).
frames() {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/react-frames.py" "$@"
}

# session: 60 s at 10 fps; neutral, then smiles through a song at 20..40, neutral again,
# then lowered brows through a song at 45..58.
session() {
	frames 10 0:20:sad=0.05 20:40.1:happy=0.45 40.1:45:sad=0.05 45:58.1:sad=0.3,angry=0.15 \
		58.1:62:sad=0.05
}

# usage_error: run has exited 2 with nothing on stdout and the usage line last on stderr.
usage_error() {
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$(count_matching '^usage: fer-react ')" -eq 1 ]
	[[ ${stderr_lines[-1]} == "usage: fer-react "* ]]
}

@test "--help and --version" {
	run --separate-stderr "$F" --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: fer-react [-hV] "* ]]
	[[ $output == *"--plays file"* ]]
	# The method and the valence weights are in the help.
	[[ $output == *"happy 0.8, surprise 0.2, neutral 0, angry -0.6, fear -0.6,"* ]]
	[[ $output == *"rating = 3 + 2 * reaction"* ]]
	run --separate-stderr "$F" --version
	[ "$status" -eq 0 ]
	[[ $output == "fer-react (fermata) "* ]]
}

@test "usage errors exit 2 with the usage line" {
	run --separate-stderr "$F" </dev/null
	usage_error
	[[ ${stderr_lines[0]} == "fer-react: no play log: give --plays file" ]]
	for bad in "--baseline 0" "--baseline 3601" "--baseline x" "--origin yesterday" \
		"--plays ''" "--frobnicate"; do
		eval "run --separate-stderr \"\$F\" --plays p.ndjson $bad" </dev/null
		usage_error
	done
	run --separate-stderr "$F" --plays - </dev/null
	usage_error
	[[ ${stderr_lines[0]} == "fer-react: --plays -: the standard input holds the frames" ]]
}

@test "a song smiled through is liked, one frowned through disliked" {
	printf '%s\n' '{"path":"sunrise.wav","start":20,"end":40,"user":"ada"}' \
		'{"path":"elegy.wav","start":45,"end":58}' >plays.ndjson
	session >frames.ndjson
	run --separate-stderr "$F" --plays plays.ndjson frames.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ]
	# Exact by construction: valence before -0.04, during 0.36, (0.36 + 0.04) / 0.8 = 0.5.
	same_json "${lines[0]}" '{"path":"sunrise.wav","start":20,"end":40,"user":"ada",
		"emotion":"neutral","rating":4,"reaction":0.5,"frames":201,"frames_before":100,
		"baseline":"before","valence_before":-0.04,"valence_during":0.36,"brief":[]}'
	# The play log line's fields come first, in their places.
	[ "$(printf '%s\n' "${lines[0]}" | jq -c 'keys_unsorted[:4]')" = '["path","start","end","user"]' ]
	# The baseline is the pause between the songs, 49 frames, not the window's 100:
	# (-0.3 * 0.8 - 0.15 * 0.6 + 0.04) / 0.8 = -0.3625: rating 2.
	printf '%s\n' "${lines[1]}" | jq -e '.reaction >= -0.363 and .reaction <= -0.362 and
		.rating == 2 and .frames_before == 49 and .valence_before == -0.04 and
		.emotion == "neutral" and .baseline == "before" and (has("time") | not)'
}

@test "the output is feedback that recommend reads unchanged" {
	printf '%s\n' '{"path":"sunrise.wav","start":20,"end":40}' \
		'{"path":"elegy.wav","start":45,"end":58}' >plays.ndjson
	session | "$F" --plays plays.ndjson >feedback.ndjson
	run --separate-stderr "$FM_BIN/recommend" --library "$L" --emotion neutral -n 11 \
		--feedback feedback.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 11 ]
	# The liked song rises, the disliked one falls.
	score() { # SONG: its score in $output, then in the ranking without feedback
		printf '%s\n' "$output" | jq -r --arg p "$1" 'select(.path == $p) | .score'
		"$FM_BIN/recommend" --library "$L" --emotion neutral -n 11 |
			jq -r --arg p "$1" 'select(.path == $p) | .score'
	}
	score sunrise.wav | { read -r after; read -r before; awk -v a="$after" -v b="$before" 'BEGIN { exit !(a > b) }'; }
	score elegy.wav | { read -r after; read -r before; awk -v a="$after" -v b="$before" 'BEGIN { exit !(a < b) }'; }
}

@test "a play without a judgement is read by recommend silently, as no judgement" {
	printf '%s\n' '{"path":"sunrise.wav","start":20,"end":30}' \
		'{"path":"elegy.wav","start":52,"end":52.1}' >plays.ndjson
	frames 10 0:20:sad=0.05 20:30.1:none 55:60:sad=0.05 | "$F" --plays plays.ndjson >feedback.ndjson
	jq -e -s 'length == 2 and all(.rating == null and .reaction == null and .note != null) and
		.[1].emotion == null' feedback.ndjson
	run --separate-stderr "$FM_BIN/recommend" --library "$L" --emotion neutral -n 11 \
		--feedback feedback.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "$("$FM_BIN/recommend" --library "$L" --emotion neutral -n 11)" ]
}

@test "the baseline: the seconds before the song, else its opening" {
	# The first song starts with the stream: its opening is the baseline.
	echo '{"path":"a.wav","start":0,"end":30}' >plays.ndjson
	run --separate-stderr "$F" --plays plays.ndjson < <(frames 10 0:10:sad=0.05 10:30.1:happy=0.45)
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.baseline == "opening" and .frames_before == 0 and
		.reaction == 0.5 and .rating == 4'
	# --baseline 2 looks at 2 seconds only: the smile 5 s before is not in it.
	echo '{"path":"a.wav","start":20,"end":30}' >plays.ndjson
	run --separate-stderr "$F" --plays plays.ndjson --baseline 2 \
		< <(frames 10 0:15:happy=0.45 15:30.1:sad=0.05)
	printf '%s\n' "$output" | jq -e '.frames_before == 20 and .reaction == 0 and .rating == 3'
	run --separate-stderr "$F" --plays plays.ndjson \
		< <(frames 10 0:15:happy=0.45 15:30.1:sad=0.05)
	printf '%s\n' "$output" | jq -e '.frames_before == 100 and .reaction < 0'
}

@test "a song without a face has no rating, and a note, not a guess" {
	printf '%s\n' '{"path":"a.wav","start":20,"end":30}' '{"path":"b.wav","start":40,"end":50}' \
		'{"path":"c.wav","start":52,"end":52.1}' >plays.ndjson
	run --separate-stderr "$F" --plays plays.ndjson \
		< <(frames 10 0:20:sad=0.05 20:30.1:none 30.1:40:happy=0.2 55:60:sad=0.05)
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "${lines[0]}" | jq -e '.rating == null and .reaction == null and
		.emotion == "neutral" and .frames == 0 and
		(.note | startswith("no face was seen in the 101 frames"))'
	printf '%s\n' "${lines[1]}" | jq -e '.rating == null and .reaction == null and
		.note == "no frame came during the song"'
	printf '%s\n' "${lines[2]}" | jq -e '.rating == null and .emotion == null and
		.note == "no frame came during the song"'
}

@test "--origin: a player's clock times, and the start as \"time\"" {
	# The frames' t = 0 is 2024-05-01T18:30:00Z, 1714588200 in Unix seconds.
	printf '%s\n' '{"path":"sunrise.wav","start":"2024-05-01T18:30:20Z","end":1714588240}' \
		'{"path":"elegy.wav","start":"2024-05-01 20:30:45+02:00","end":"2024-05-01T18:30:58Z"}' \
		>plays.ndjson
	run --separate-stderr "$F" --origin 2024-05-01T18:30:00Z --plays plays.ndjson < <(session)
	[ "$status" -eq 0 ]
	printf '%s\n' "${lines[0]}" | jq -e '.start == 20 and .end == 40 and .time == 1714588220 and
		.reaction == 0.5'
	printf '%s\n' "${lines[1]}" | jq -e '.start == 45 and .end == 58 and .time == 1714588245'
	# The same origin as Unix seconds.
	run --separate-stderr "$F" --origin 1714588200 --plays plays.ndjson < <(session)
	printf '%s\n' "${lines[0]}" | jq -e '.time == 1714588220'
}

@test "bad play log lines: the message names the line, an error record in its place" {
	printf '%s\n' '{"path":"a.wav","start":20,"end":40}' \
		'{"path":"b.wav","start":30,"end":44}' \
		'{"path":"c.wav","start":"2024-05-01T18:30:00Z","end":44}' \
		'{"path":"d.wav","start":41}' \
		'{"path":"e.wav","start":44,"end":42}' \
		'{"start":41,"end":42}' \
		'not json' \
		'{"path":"f.wav","start":45,"end":58}' \
		'{"path":"g.wav","start":100,"end":120}' \
		'{"path":"h.wav","start":130,"end":150,"error":"upstream"}' >plays.ndjson
	run --separate-stderr "$F" --plays plays.ndjson < <(session)
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 10 ]
	[ "$(printf '%s\n' "$output" | jq -r '.path // .line' | tr '\n' ' ')" = \
		"a.wav b.wav c.wav d.wav e.wav null 7 f.wav g.wav h.wav " ]
	printf '%s\n' "${lines[0]}" | jq -e '.rating == 4 and (has("error") | not)'
	printf '%s\n' "${lines[7]}" | jq -e '.rating == 2 and (has("error") | not)'
	printf '%s\n' "${lines[9]}" | jq -e '.error == "upstream"'
	want=(
		'fer-react: plays.ndjson: line 2: the play overlaps the one before it (line 1, which ends at 40 s on the frames'"'"' clock)'
		'fer-react: plays.ndjson: line 3: "start" is a date and time: give --origin, the wall-clock time of the frames'"'"' t = 0'
		'fer-react: plays.ndjson: line 4: no "end": a play log line is {"path", "start", "end"}'
		'fer-react: plays.ndjson: line 5: the play ends (42) before it starts (44)'
		'fer-react: plays.ndjson: line 6: record has no "path"'
		'fer-react: plays.ndjson: line 7: not valid JSON near byte 1'
		'fer-react: plays.ndjson: line 9: the play (100 .. 120 s) is outside the frames'"'"' time span (0 .. 61.9 s)'
	)
	[ "${#stderr_lines[@]}" -eq "${#want[@]}" ]
	for k in "${!want[@]}"; do
		[[ ${stderr_lines[$k]} == "${want[$k]}"* ]]
		# The same sentence is the record's "error".
		why=${want[$k]#fer-react: plays.ndjson: line *: }
		[ "$(printf '%s\n' "$output" |
			jq --arg w "$why" 'select(.error and (.error | startswith($w)))' | wc -l)" -gt 0 ]
	done
}

@test "bad frames are said with their line and skipped; the plays are still judged" {
	echo '{"path":"a.wav","start":20,"end":40}' >plays.ndjson
	{
		session | head -n 300
		echo '{"frame":300,"faces":[]}'
		echo '{"frame":301,"t":12,"faces":[]}'
		echo '{"frame":302,"t":"31","faces":[]}'
		echo '{"frame":303,"t":31,"faces":[{"scores":{"bored":1}}]}'
		echo '{"frame":304,"t":31,"error":"upstream"}'
		echo '{"event":"brief","emotion":"happy","baseline":"neutral","start":30,"duration":0.2}'
		echo 'not json'
		session | tail -n +301
	} >frames.ndjson
	run --separate-stderr "$F" --plays plays.ndjson frames.ndjson
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	printf '%s\n' "${lines[0]}" | jq -e '.rating == 4 and .frames == 201'
	[ "${#stderr_lines[@]}" -eq 5 ]
	[[ ${stderr_lines[0]} == 'fer-react: frames.ndjson: line 301: a frame without "t": '* ]]
	[ "${stderr_lines[1]}" = 'fer-react: frames.ndjson: line 302: frames out of order: "t" 12 comes after 29.9' ]
	[ "${stderr_lines[2]}" = 'fer-react: frames.ndjson: line 303: "t" is not a number of seconds' ]
	[[ ${stderr_lines[3]} == 'fer-react: frames.ndjson: line 304: face 1: '* ]]
	[[ ${stderr_lines[4]} == 'fer-react: frames.ndjson: line 307: not valid JSON'* ]]
	# On the standard input the messages say "stdin".
	run --separate-stderr "$F" --plays plays.ndjson <frames.ndjson
	[ "$status" -eq 1 ]
	[[ ${stderr_lines[0]} == 'fer-react: stdin: line 301: '* ]]
}

@test "files that cannot be read, and a full disk" {
	echo '{"path":"a.wav","start":20,"end":40}' >plays.ndjson
	run --separate-stderr "$F" --plays nonexistent.ndjson </dev/null
	[ "$status" -eq 2 ]
	[ "$stderr" = "fer-react: nonexistent.ndjson: no such file or directory" ]
	session >frames.ndjson
	run --separate-stderr "$F" --plays plays.ndjson nonexistent.ndjson frames.ndjson
	[ "$status" -eq 1 ]
	[ "$stderr" = "fer-react: nonexistent.ndjson: no such file or directory" ]
	printf '%s\n' "$output" | jq -e '.rating == 4'
	run --separate-stderr bash -c '"$0" --plays plays.ndjson frames.ndjson >/dev/full' "$F"
	[ "$status" -eq 2 ]
	[[ $stderr == "fer-react: stdout: "* ]]
	# The play log on the standard input, the frames from a file.
	run --separate-stderr "$F" --plays - frames.ndjson <plays.ndjson
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.rating == 4'
}

@test "a play is written once the frames have gone past its end" {
	printf '%s\n' '{"path":"a.wav","start":20,"end":40}' '{"path":"b.wav","start":45,"end":58}' \
		>plays.ndjson
	# A stream that stops at 43 s and never ends: the first song is out all the same.
	mkfifo in
	session | head -n 430 >part.ndjson
	{
		cat part.ndjson
		exec sleep 600
	} >in &
	writer=$!
	run --separate-stderr bash -c 'head -n 1 < <("$0" --plays plays.ndjson in)' "$F"
	kill "$writer"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.path == "a.wav" and .rating == 4'
}

@test "EXAMPLES: a webcam's stream through fer-detect and fer-classify, and the songs liked" {
	p=$FM_TESTDATA/photos
	# Six frames a second of the same face for 10 s; a song from 4 s to 8 s.
	for i in $(seq 60); do cat "$p/grace-hopper.jpg"; done >stream.jpg
	echo '{"path":"sunrise.wav","start":4,"end":8}' >plays.ndjson
	"$FM_BIN/fer-detect" --stream --fps 6 <stream.jpg |
		"$FM_BIN/fer-classify" --smooth 1 |
		"$F" --plays plays.ndjson >>feedback.ndjson
	jq -e '.path == "sunrise.wav" and .frames == 25 and .frames_before == 24 and
		.reaction == 0 and .rating == 3 and .brief == []' feedback.ndjson
	run --separate-stderr "$FM_BIN/recommend" --library "$L" --feedback feedback.ndjson \
		--emotion neutral -n 3
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	run --separate-stderr bash -c '"$0" --plays plays.ndjson frames.ndjson |
		jq -r '\''select(.reaction != null) | "\(.reaction)\t\(.path)"'\'' | sort -rn' "$F"
	[ "$status" -eq 0 ]
}

@test "EXAMPLES: a recorded video and a player's log with clock times" {
	command -v ffmpeg >/dev/null || skip "ffmpeg is not installed"
	ffmpeg -loglevel error -loop 1 -i "$FM_TESTDATA/photos/grace-hopper.jpg" -t 6 -r 10 \
		-vf scale=256:-2 -c:v mjpeg session.mkv
	echo '{"path":"sunrise.wav","start":"2024-05-01T18:30:03Z","end":"2024-05-01T18:30:05Z"}' \
		>player.ndjson
	run --separate-stderr bash -c 'ffmpeg -loglevel error -i session.mkv -f image2pipe -vcodec ppm - |
		"$0"/fer-detect --stream --fps 10 | "$0"/fer-classify --fast |
		"$0"/fer-react --origin 2024-05-01T18:30:00Z --plays player.ndjson' "$FM_BIN"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.start == 3 and .end == 5 and .time == 1714588203 and
		.rating == 3'
}
