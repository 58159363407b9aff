#!/usr/bin/env bats
# tests/cli/lines.bats: what every record tool promises about its output lines: valid NDJSON
# whatever the file names (a newline, bytes that are not UTF-8), and whole lines when the
# tool is told to end (SIGTERM, SIGINT, SIGHUP) in the middle of writing one.

setup() {
	load helpers
	FM_BIN=$(cd "$FM_BIN" && pwd)
	IMG=$FM_TESTDATA/image/gray.pgm
	WAV=$FM_TESTDATA/audio/short.wav
}

# each_line_an_object: every line of $output is one JSON object.
each_line_an_object() {
	[ -n "$output" ]
	[ "$(printf '%s\n' "$output" | jq -c 'type == "object"' | sort -u)" = true ]
	[ "$(printf '%s\n' "$output" | jq -c . | wc -l)" -eq "${#lines[@]}" ]
}

@test "a file name with a newline or bytes that are not UTF-8 still gives valid NDJSON" {
	cd "$BATS_TEST_TMPDIR"
	nl=$(printf 'two\nlines.jpg')
	bad=$(printf 'caf\351.jpg')
	for tool in fer-detect fer-classify song-featurize; do
		run --separate-stderr "$FM_BIN/$tool" "$nl" "$bad" "tab	and \"quote\\.jpg"
		echo "# $tool: $output"
		[ "$status" -eq 1 ]
		[ "${#lines[@]}" -eq 3 ]
		each_line_an_object
		# The newline survives as JSON's \n; the bad byte becomes U+FFFD.
		[ "$(printf '%s\n' "$output" | jq -r 'select(.path | test("\n")) | .path')" = "$nl" ]
		[ "$(printf '%s\n' "$output" | jq -r '.path' | sed -n 3p)" = "caf�.jpg" ]
		[ "$(printf '%s\n' "$output" | jq -r '.path' | tail -n 1)" = "tab	and \"quote\\.jpg" ]
	done
}

@test "control characters of a file name reach stderr as ?, and the record as JSON escapes" {
	cd "$BATS_TEST_TMPDIR"
	name=$(printf 'a\033[2Jb\rc.jpg')
	for tool in fer-detect fer-classify song-featurize; do
		run --separate-stderr "$FM_BIN/$tool" "$name"
		[ "$status" -eq 1 ]
		[[ $stderr == "$tool: a?[2Jb?c.jpg: "* ]]
		[ "$(jq -r .path <<<"$output")" = "$name" ]
	done
}

@test "a signal in the middle of a long line ends the tool after the line, killed by it" {
	pad=$(head -c 300000 /dev/zero | tr '\0' x)
	for sig in TERM INT HUP; do
		for tool in "fer-detect --jobs 1" "fer-detect --jobs 2" "fer-classify" "song-featurize"; do
			file=$IMG
			[ "$tool" = song-featurize ] && file=$WAV
			printf '{"path":"%s","faces":[],"pad":"%s"}\n' "$file" "$pad" >"$BATS_TEST_TMPDIR/in"
			# The signal comes while the tool writes a line four times the pipe's size and
			# nothing reads it. Without the guard the pipe would hold half a line.
			run /usr/bin/python3 "$BATS_TEST_DIRNAME/signal-line.py" "$sig" writing \
				"$BATS_TEST_TMPDIR/in" "$FM_BIN"/$tool
			echo "# $tool, SIG$sig: $output"
			[ "$status" -eq 0 ]
			[ "$output" = "killed by SIG$sig after 1 whole line" ]
		done
	done
}

@test "a signal between lines ends the tool at once; a signal it was told to ignore does not" {
	: >"$BATS_TEST_TMPDIR/in"
	for tool in fer-detect fer-classify song-featurize; do
		# Waiting for input that never comes: the signal must not wait for a line.
		run /usr/bin/python3 "$BATS_TEST_DIRNAME/signal-line.py" TERM 0.5 \
			"$BATS_TEST_TMPDIR/in" "$FM_BIN/$tool"
		[ "$output" = "killed by SIGTERM after 0 whole lines" ]
		run /usr/bin/python3 "$BATS_TEST_DIRNAME/signal-line.py" --ignored INT 0.5 \
			"$BATS_TEST_TMPDIR/in" "$FM_BIN/$tool"
		[ "$output" = "exit 0 after 0 whole lines" ]
	done
}
