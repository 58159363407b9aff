#!/usr/bin/env bats
# tests/cli/fer-summary.bats: fer-summary on records whose answer is known by construction:
# faces shared out in a folder, time shared out in a stream (frames holding until the next,
# a pause capped, a second recording, the smoothed expression first), brief changes a minute,
# the table and when it is chosen, bad input, a full disk, and the EXAMPLES of
# man/fer-summary.1.

setup() {
	load helpers
	FM_BIN=$(cd "$FM_BIN" && pwd)
	S=$FM_BIN/fer-summary
	cd "$BATS_TEST_TMPDIR" || return 1
}

# photo EMOTION...: a fer-classify record of a photo with one face per EMOTION.
photo() {
	local faces="" e
	for e in "$@"; do
		faces="$faces${faces:+,}{\"x\":0,\"y\":0,\"w\":40,\"h\":40,\"score\":0.9,\"emotion\":\"$e\"}"
	done
	printf '{"path":"p.jpg","width":100,"height":100,"faces":[%s]}\n' "$faces"
}

# frame T EMOTION [SMOOTHED]: a frame at T seconds with one face of EMOTION (- for none).
frame() {
	if [ "$2" = - ]; then
		printf '{"frame":0,"t":%s,"faces":[]}\n' "$1"
	elif [ -n "${3:-}" ]; then
		printf '{"t":%s,"faces":[{"x":0,"y":0,"w":40,"h":40,"emotion":"%s"}],"smoothed_emotion":"%s"}\n' "$1" "$2" "$3"
	else
		printf '{"t":%s,"faces":[{"x":0,"y":0,"w":40,"h":40,"emotion":"%s"}]}\n' "$1" "$2"
	fi
}

@test "--help and --version" {
	run --separate-stderr "$S" --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: fer-summary [-hV] "* ]]
	run --separate-stderr "$S" --version
	[ "$status" -eq 0 ]
	[[ $output == "fer-summary (fermata) "* ]]
}

@test "the usage line is the SYNOPSIS of man/fer-summary.1" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	synopsis=$(mandoc -T ascii "$FM_ROOT/man/fer-summary.1" | col -bx |
		sed -n '/^SYNOPSIS/,/^[A-Z]/{/^ /p}' | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	usage=$("$S" --help | head -n 1)
	[ "usage: $synopsis" = "$usage" ]
}

@test "a folder: the share of faces, the dominant one, uncertain faces apart" {
	{
		photo happy happy
		photo sad uncertain
		photo
		printf '{"path":"crop.png","scores":{"sad":0.2,"surprise":0.8}}\n'
		printf '{"path":"bad.jpg","error":"not a JPEG"}\n'
	} >faces.ndjson
	run --separate-stderr "$S" faces.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "$output" | jq -e -c '
		.summary == "faces" and .records == 4 and .faces == 4 and .uncertain == 1 and
		.counts == {"angry":0,"disgust":0,"fear":0,"happy":2,"sad":1,"surprise":1,"neutral":0} and
		.share.happy == 0.5 and .share.sad == 0.25 and .share.surprise == 0.25 and
		.dominant == "happy" and (has("seconds") | not) and (has("brief") | not)'
}

@test "a stream: each frame holds until the next, the last as long as the one before" {
	{
		frame 0 happy
		frame 1 happy
		frame 2 sad
		frame 3 -
		printf '{"event":"brief","emotion":"happy","baseline":"neutral","start":1,"duration":0.5}\n'
	} >frames.ndjson
	run --separate-stderr "$S" frames.ndjson
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e -c '
		.summary == "time" and .records == 4 and .frames == 4 and .seconds == 4 and
		.share.happy == 0.6667 and .share.sad == 0.3333 and .dominant == "happy" and
		.brief == 1 and .brief_per_minute == 15'
}

@test "a stream: the smoothed expression first, a pause capped at 10 s, a second recording" {
	{
		frame 0 happy neutral
		frame 1 happy neutral
		frame 2 sad
	} >smoothed.ndjson
	run --separate-stderr "$S" smoothed.ndjson
	printf '%s\n' "$output" | jq -e -c '.share.neutral == 0.6667 and .dominant == "neutral"'
	{
		frame 0 sad
		frame 3600 happy
	} >pause.ndjson
	run --separate-stderr "$S" pause.ndjson
	printf '%s\n' "$output" | jq -e -c '.seconds == 20 and .share.sad == 0.5 and .share.happy == 0.5'
	{
		frame 0 happy
		frame 2 happy
		frame 0 sad
		frame 2 sad
		frame 2 sad
	} >twice.ndjson
	run --separate-stderr "$S" twice.ndjson
	printf '%s\n' "$output" | jq -e -c '.seconds == 8 and .share.happy == 0.5 and .share.sad == 0.5'
	# one frame covers no time: frames count alike
	frame 5 fear | "$S" | jq -e -c '.seconds == 0 and .share.fear == 1 and (has("brief_per_minute") | not)'
}

@test "--format text: a table, most shared first; auto chooses it on a terminal" {
	{
		frame 0 happy
		frame 1 happy
		frame 2 sad
		frame 3 -
		printf '{"event":"brief","emotion":"happy","baseline":"neutral","start":1,"duration":0.5}\n'
	} >frames.ndjson
	run --separate-stderr "$S" --format text frames.ndjson
	[ "$status" -eq 0 ]
	[ "$output" = "4 frames, 4.0 s, 3 faces; share of the time with a face:
  happy     66.7%  ###########################
  sad       33.3%  #############
  none:    angry, disgust, fear, surprise, neutral
dominant: happy; brief expression changes: 1, 15.00 a minute" ]
	photo sad | "$S" --format text | grep -q '^1 record, 1 face; share of faces:$'
	run --separate-stderr "$S" --format ndjson frames.ndjson
	[[ $output == '{"summary":"time",'* ]]
	command -v script >/dev/null || skip "script(1) is missing: no terminal to test in"
	run script -qec "$S $BATS_TEST_TMPDIR/frames.ndjson" /dev/null
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "4 frames, 4.0 s, 3 faces; share of the time with a face:"* ]]
}

@test "no face: said on stderr, a summary of nothing, exit 0" {
	run --separate-stderr "$S" </dev/null
	[ "$status" -eq 0 ]
	[ "$stderr" = "fer-summary: no face with an expression in the input: nothing to summarise" ]
	printf '%s\n' "$output" | jq -e -c '.summary == "faces" and .records == 0 and (has("share") | not)'
	photo | "$S" --format text 2>/dev/null | grep -q '^1 record, 0 faces: no expression to summarise$'
}

@test "bad input: said with its line, left out, exit 1; usage errors and a full disk exit 2" {
	{
		photo happy
		echo 'not json'
		printf '{"t":"yesterday","faces":[]}\n'
		printf '{"faces":[{"emotion":"joy"}]}\n'
		photo sad
	} >mixed.ndjson
	run --separate-stderr "$S" mixed.ndjson
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	[[ ${stderr_lines[0]} == "fer-summary: mixed.ndjson: line 2: "* ]]
	[ "${stderr_lines[1]}" = 'fer-summary: mixed.ndjson: line 3: "t" is not a number of seconds' ]
	[[ ${stderr_lines[2]} == "fer-summary: mixed.ndjson: line 4: "*"joy"* ]]
	printf '%s\n' "$output" | jq -e -c '.records == 2 and .share.happy == 0.5'
	run --separate-stderr "$S" no-such.ndjson
	[ "$status" -eq 1 ]
	[[ $stderr == "fer-summary: no-such.ndjson: "* ]]
	run --separate-stderr "$S" --format table
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "fer-summary: --format: 'table' is not auto, ndjson or text" ]
	[[ ${stderr_lines[1]} == "usage: fer-summary "* ]]
	run --separate-stderr bash -c 'printf "{}\n" | "$0" >/dev/full' "$S"
	[ "$status" -eq 2 ]
	[[ $stderr == *"fer-summary: stdout: "* ]]
}

@test "example: find photos | fer-detect | fer-classify | fer-summary" {
	need_photos
	cp -r "$FM_TESTDATA/photos" photos
	run --separate-stderr bash -c 'find photos -name "*.jpg" | "$0"/fer-detect | "$0"/fer-classify |
		"$0"/fer-summary' "$FM_BIN"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e -c '.summary == "faces" and .faces > 0 and (.dominant | type) == "string"'
}

@test "example: a recorded session's frames, | jq '{dominant, brief_per_minute}'" {
	for k in 0 1 2 3 4 5 6 7 8 9; do frame "0.$k" neutral; done >frames.ndjson
	run --separate-stderr bash -c '"$0" frames.ndjson | jq -c "{dominant, brief_per_minute}"' "$S"
	[ "$status" -eq 0 ]
	[ "$output" = '{"dominant":"neutral","brief_per_minute":0}' ]
}
