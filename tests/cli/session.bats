#!/usr/bin/env bats
# tests/cli/session.bats: scripts/fermata-session end to end on a recorded stream. The
# "camera" is a video made here from testdata/photos/grace-hopper.jpg (a face, see
# testdata/photos/faces.ndjson), played in real time; the library is the hand-made one of
# testdata/rank; the player is a shell command that needs no sound card and notes what it
# was asked to play. The logs are asserted, not the time anything took: a slow machine
# only makes the session longer.

setup() {
	load helpers
	FM_BIN=$(cd "$FM_BIN" && pwd)
	S=$FM_ROOT/scripts/fermata-session
	L=$FM_TESTDATA/rank/library.ndjson
	unset FERMATA_PROFILES
	cd "$BATS_TEST_TMPDIR" || return 1
}

# need_ffmpeg: skip unless ffmpeg is installed (scripts/deps.sh check installs it).
need_ffmpeg() {
	command -v ffmpeg >/dev/null || skip "ffmpeg is not installed (scripts/deps.sh check)"
}

# face_video FILE SECONDS: a still of Grace Hopper's face as a 10 frames/s video.
face_video() {
	ffmpeg -nostdin -loglevel error -y -loop 1 -i "$FM_TESTDATA/photos/grace-hopper.jpg" \
		-t "$2" -r 10 -vf scale=256:-2 -c:v mjpeg -q:v 3 "$1"
}

# session ARGS...: the driver on face.avi with the logs in ./logs, and for a player a
# script that notes the song in played.txt and plays a silent minute. exec: so that a
# session started with & has the driver's own process id in $!.
session() {
	printf '#!/bin/sh\necho "$1" >>"%s/played.txt"\nsleep 60\n' "$BATS_TEST_TMPDIR" >player
	chmod +x player
	exec "$S" --bin "$FM_BIN" --library "$L" --video "$BATS_TEST_TMPDIR/face.avi" \
		--dir logs --lead-in 2 --lag 30 --player-command "$BATS_TEST_TMPDIR/player \"\$1\"" "$@"
}

# rfc3339 STRING: a UTC time as the driver writes it, 2026-12-04T17:50:01.234Z.
rfc3339() {
	[[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]]
}

# whole_lines FILE: every line of FILE is one JSON object, and FILE ends in a newline.
whole_lines() {
	[ -s "$1" ]
	[ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]
	jq -e 'type == "object"' "$1" >/dev/null
	[ "$(jq -c . "$1" | wc -l)" -eq "$(wc -l <"$1")" ]
}

@test "--help says which players are tried, in which order; -V; usage errors exit 2" {
	run --separate-stderr "$S" --help
	[ "$status" -eq 0 ]
	[[ $output == *"players tried, in this order: ffplay, mpv, paplay, aplay"* ]]
	[[ $output == *"--player-command CMD"* ]]
	run --separate-stderr "$S" -V
	[ "$status" -eq 0 ]
	[[ $output == "fermata-session (fermata) "* ]]
	run --separate-stderr "$S" --video x.avi
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ ${stderr_lines[-1]} == "usage: fermata-session --library FILE "* ]]
	run --separate-stderr "$S" --library "$L" --songs two
	[ "$status" -eq 2 ]
	[[ $stderr == *"--songs: 'two' is not a number"* ]]
	run --separate-stderr "$S" --library "$L" --camera /dev/video0 --video x.avi
	[ "$status" -eq 2 ]
}

@test "a video that is not there, a tool that is not there: exit 2, no log" {
	need_ffmpeg
	run --separate-stderr "$S" --bin "$FM_BIN" --library "$L" --video none.avi --dir logs
	[ "$status" -eq 2 ]
	[[ $stderr == "fermata-session: none.avi: no such video file" ]]
	[ ! -e logs ]
	mkdir empty
	run --separate-stderr "$S" --bin empty --library "$L" --video none.avi --dir logs
	[ "$status" -eq 2 ]
	[[ $stderr == "fermata-session: empty: no fer-detect, fer-classify, fer-react, recommend there (see --bin)" ]]
}

@test "EXAMPLES of man/fer-react.1: a session on a video, two songs of two seconds: plays with RFC 3339 times, one judgement per play that recommend learns from" {
	need_ffmpeg
	face_video face.avi 60
	run --separate-stderr session --songs 2 --max-play 2
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ $output == *"2 song(s) played, 2 judged"* ]]
	whole_lines logs/plays.ndjson
	whole_lines logs/feedback.ndjson
	ls logs/frames-*.ndjson
	whole_lines logs/frames-*.ndjson
	[ "$(wc -l <logs/plays.ndjson)" -eq 2 ]
	[ "$(wc -l <logs/feedback.ndjson)" -eq 2 ]
	# The player played what recommend chose, two different songs of the library.
	[ "$(jq -r .path logs/plays.ndjson)" = "$(cat played.txt)" ]
	[ "$(sort -u played.txt | wc -l)" -eq 2 ]
	for p in $(jq -r .path logs/plays.ndjson); do
		jq -s -e --arg p "$p" 'any(.path == $p)' "$L" >/dev/null
	done
	# Wall-clock times, the song stopped by --max-play after its start; "time" is the
	# start, for recommend --exclude-history --recent.
	while read -r start end time origin; do
		rfc3339 "$start"
		rfc3339 "$end"
		[ "$time" = "$start" ]
		rfc3339 "$origin"
		[[ $start < $end ]]
		[[ $origin < $start ]]
	done < <(jq -r '"\(.start) \(.end) \(.time) \(.origin)"' logs/plays.ndjson)
	# One fer-react record per play, in order, with the face seen: a rating and a
	# reaction, the play's time as Unix seconds, frames on the frames' clock.
	[ "$(jq -r .path logs/feedback.ndjson)" = "$(jq -r .path logs/plays.ndjson)" ]
	jq -s -e 'all((.rating | type == "number" and . >= 1 and . <= 5) and
		(.reaction | type == "number" and . >= -1 and . <= 1) and
		(.time | type == "number") and (.frames | type == "number" and . > 0) and
		(.start | type == "number") and .start >= 2 and .end > .start and
		(.emotion | type == "string"))' logs/feedback.ndjson
	# recommend takes the feedback log as it is, and leaves out what was played.
	run --separate-stderr "$FM_BIN/recommend" --library "$L" --feedback logs/feedback.ndjson \
		--exclude-history logs/plays.ndjson --emotion neutral -n 20
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 9 ]
	# The frames log is fer-classify --smooth's output: frames with a face and a "t".
	jq -s -e 'map(select(.event | not)) | length > 20 and all((.t | type == "number") and
		(.faces | length == 1) and (.smoothed_emotion | type == "string"))' \
		logs/frames-*.ndjson
	# A second session appends to the logs and plays neither song again.
	run --separate-stderr session --songs 1 --max-play 1
	[ "$status" -eq 0 ]
	[ "$(wc -l <logs/plays.ndjson)" -eq 3 ]
	[ "$(wc -l <logs/feedback.ndjson)" -eq 3 ]
	[ "$(sort -u played.txt | wc -l)" -eq 3 ]
	[ "$(ls logs/frames-*.ndjson | wc -l)" -ge 1 ]
}

@test "Ctrl-C stops player and camera, closes the play at its real end, judges it, and every log stays whole lines" {
	need_ffmpeg
	face_video face.avi 60
	session --frames frames.ndjson >out.txt 2>err.txt &
	pid=$!
	# Until the player has started (bounded: the session gives up on a dead camera itself).
	for _ in $(seq 600); do
		[ -s played.txt ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -s played.txt ]
	sleep 1
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	cat out.txt err.txt
	[ "$status" -eq 130 ]
	# Nothing of the session is left running: its player, ffmpeg (whose command line
	# names the video), the filters (which then have their input closed).
	! pgrep -f "$BATS_TEST_TMPDIR/" >/dev/null
	whole_lines logs/plays.ndjson
	whole_lines logs/feedback.ndjson
	whole_lines frames.ndjson
	[ "$(wc -l <logs/plays.ndjson)" -eq 1 ]
	[ "$(wc -l <logs/feedback.ndjson)" -eq 1 ]
	# The real end: the player would have played for a minute.
	jq -e '(.end - .start) > 0 and (.end - .start) < 60' logs/feedback.ndjson
	[ "$(jq -r .path logs/feedback.ndjson)" = "$(cat played.txt)" ]
	grep -q '1 song(s) played, 1 judged' out.txt
}

@test "a player that fails, or ends a song at once, stops the session with exit 1 and says so" {
	need_ffmpeg
	face_video face.avi 30
	run --separate-stderr "$S" --bin "$FM_BIN" --library "$L" --video face.avi --dir logs \
		--lead-in 1 --player-command 'exit 3'
	[ "$status" -eq 1 ]
	[[ $stderr == *"the player (--player-command) exited with status 3 on "*".wav"* ]]
	[ ! -s logs/plays.ndjson ]
	[ ! -s logs/feedback.ndjson ]
	# ffplay without a sound device says so and exits 0 at once: not a play either.
	run --separate-stderr "$S" --bin "$FM_BIN" --library "$L" --video face.avi --dir logs \
		--lead-in 1 --player-command 'true'
	[ "$status" -eq 1 ]
	[[ $stderr == *"the player (--player-command) ended "*".wav after 0."*" s; is there a sound device?"* ]]
	[ ! -s logs/plays.ndjson ]
}
