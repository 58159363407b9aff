#!/usr/bin/env bats
# tests/cli/fer-annotate.bats: fer-annotate as a user runs it: options and usage errors,
# photos drawn from fer-classify's records of the bundled photos (their size, the boxes'
# colour where the boxes are, the photo untouched elsewhere), names that never clobber the
# photo or each other, the same under --jobs, JPEG, the contact sheet, the timeline as SVG
# and PNG with songs, bad records and bad play logs, a full disk, and the EXAMPLES of
# man/fer-annotate.1. Pixels are read by tests/cli/png-pixel.py.

setup() {
	load helpers
	FM_BIN=$(cd "$FM_BIN" && pwd)
	FA=$FM_BIN/fer-annotate
	cd "$BATS_TEST_TMPDIR" || return 1
	# fer-classify's records of four bundled photos, their paths made absolute.
	jq -c --arg d "$FM_TESTDATA/" '.path = $d + .path' \
		"$FM_TESTDATA/annotate/faces.ndjson" >faces.ndjson
}

png() {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/png-pixel.py" "$@"
}

# frames FPS SEGMENT ...: a synthetic stream on stdout (see react-frames.py).
frames() {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/react-frames.py" "$@"
}

usage_error() {
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$(count_matching '^usage: fer-annotate ')" -eq 1 ]
	[[ ${stderr_lines[-1]} == "usage: fer-annotate "* ]]
}

@test "--help and --version" {
	run --separate-stderr "$FA" --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: fer-annotate [-0hV] "* ]]
	for o in --cell --columns --format --output-dir --plays --quality --sheet --size \
		--timeline --jobs --max-faces; do
		[[ $output == *"$o"* ]]
	done
	run --separate-stderr "$FA" --version
	[ "$status" -eq 0 ]
	[[ $output == "fer-annotate (fermata) "* ]]
}

@test "usage errors exit 2 with the usage line" {
	run --separate-stderr "$FA" </dev/null
	usage_error
	[[ ${stderr_lines[0]} == "fer-annotate: nothing to draw: give -o dir, --sheet file or --timeline file" ]]
	for bad in "-o ''" "-o d --format gif" "-o d --quality 0" "-o d --quality 101" \
		"--timeline t.gif" "--sheet s.svg" "--timeline t.svg --size 100x100" \
		"--timeline t.svg --size 1200" "--sheet s.png --cell 8" "--sheet s.png --columns 0" \
		"-o d --plays p.ndjson" "-o d --jobs 0" "-o d --frobnicate"; do
		eval "run --separate-stderr \"\$FA\" $bad" </dev/null
		usage_error
	done
	run --separate-stderr "$FA" --timeline t.svg --plays - </dev/null
	usage_error
	[ ! -e d ]
}

@test "each photo is drawn into -o, named after it, and its record passes with \"annotated\"" {
	run --separate-stderr "$FA" -o out/pictures <faces.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 4 ]
	# Every field passes, in its place, and "annotated" is added.
	diff <(jq -c 'del(.annotated)' <<<"$output") faces.ndjson
	[ "$(jq -r .annotated <<<"$output")" = "$(printf '%s\n' out/pictures/grace-hopper.png \
		out/pictures/vlfeat-team.png out/pictures/astronaut.png out/pictures/rocket.png)" ]
	# Each picture is its photo's size.
	while read -r path w h; do
		[ "$(png "$path")" = "$w $h" ]
	done < <(jq -r '"\(.annotated) \(.width) \(.height)"' <<<"$output")
	# Grace Hopper's face is neutral: the middle of its box's left edge is neutral's grey
	# (Okabe-Ito's palette, 0.6 0.6 0.6), and the middle of the face is the photo's own.
	read -r x y w h < <(jq -r '.faces[0] | "\(.x) \(.y) \(.w) \(.h)"' <<<"${lines[0]}")
	[ "$(png out/pictures/grace-hopper.png "$x" $((y + h / 2)))" = "153 153 153" ]
	[ "$(png out/pictures/grace-hopper.png $((x + w / 2)) $((y + h / 2)))" != "153 153 153" ]
	# The astronaut smiles: happy's orange (0.902 0.624 0).
	read -r x y w h < <(jq -r '.faces[0] | "\(.x) \(.y) \(.w) \(.h)"' <<<"${lines[2]}")
	[ "$(jq -r '.faces[0].emotion' <<<"${lines[2]}")" = happy ]
	[ "$(png out/pictures/astronaut.png "$x" $((y + h / 2)))" = "230 159 0" ]
	# Far from its box, the picture is the photo, pixel for pixel (a PNG, read here too).
	[ "$(png out/pictures/astronaut.png 10 500 500 10 500 500)" = \
		"$(png "$FM_TESTDATA/photos/astronaut.png" 10 500 500 10 500 500)" ]
}

@test "two photos of one name do not clobber each other, nor the photo itself, in input order under --jobs" {
	mkdir -p a b
	cp "$FM_TESTDATA/photos/astronaut.png" a/astronaut.png
	cp "$FM_TESTDATA/photos/astronaut.png" b/astronaut.png
	sum=$(cksum <a/astronaut.png)
	printf '{"path":"a/astronaut.png","faces":[]}\n{"path":"b/astronaut.png","faces":[]}\n{"path":"a/astronaut.png"}\n' >in.ndjson
	# Into a/, the first photo's own folder: a/astronaut.png is the photo, never written.
	run --separate-stderr "$FA" -o a --jobs 3 <in.ndjson
	[ "$status" -eq 0 ]
	[ "$(jq -r .annotated <<<"$output")" = "$(printf '%s\n' a/astronaut-2.png a/astronaut-3.png a/astronaut-4.png)" ]
	[ "$(cksum <a/astronaut.png)" = "$sum" ]
	# A second run replaces its own pictures rather than adding more.
	run --separate-stderr "$FA" -o a --jobs 1 <in.ndjson
	[ "$(jq -r .annotated <<<"$output")" = "$(printf '%s\n' a/astronaut-2.png a/astronaut-3.png a/astronaut-4.png)" ]
	[ ! -e a/astronaut-5.png ]
	[ "$(cksum <a/astronaut.png)" = "$sum" ]
	# Into another folder: the first keeps the plain name.
	run --separate-stderr "$FA" -o c --jobs 2 <in.ndjson
	[ "$(jq -r .annotated <<<"$output")" = "$(printf '%s\n' c/astronaut.png c/astronaut-2.png c/astronaut-3.png)" ]
}

@test "--format jpeg writes JPEG files named .jpg" {
	run --separate-stderr "$FA" -o out --format jpeg --quality 80 <faces.ndjson
	[ "$status" -eq 0 ]
	for f in $(jq -r .annotated <<<"$output"); do
		[[ $f == out/*.jpg ]]
		[ "$(head -c 3 "$f" | od -An -tx1 | tr -d ' ')" = ffd8ff ]
	done
}

@test "--sheet lays every face out in a grid, --columns to a row" {
	run --separate-stderr "$FA" --sheet sheet.png --columns 4 --cell 64 <faces.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# No -o: records pass untouched.
	diff <(printf '%s\n' "$output") faces.ndjson
	n=$(jq -s 'map(.faces | length) | add' faces.ndjson)
	[ "$n" -gt 4 ]
	# 4 columns of 64 pixels and a 6-pixel gap around each; rows of 64 + the label.
	read -r w h < <(png sheet.png)
	[ "$w" -eq $((4 * (64 + 6) + 6)) ]
	rows=$(((n + 3) / 4))
	[ "$h" -gt $((rows * 64)) ]
	# JPEG by its name, and a sheet with no face at all still says so in a picture.
	run --separate-stderr "$FA" --sheet none.jpg <<<'{"path":"'"$FM_TESTDATA"'/photos/rocket.jpg","faces":[]}'
	[ "$status" -eq 0 ]
	[ "$(head -c 3 none.jpg | od -An -tx1 | tr -d ' ')" = ffd8ff ]
}

@test "--timeline draws a stream as SVG and PNG, with its events and songs" {
	frames 10 0:5:neutral=1 5:5.4:happy=0.9 5.4:12:sad=0.1 12:14:none 14:20:happy=0.6 >frames.ndjson
	printf '%s\n' '{"event":"brief","emotion":"happy","baseline":"neutral","start":5,"duration":0.4}' >>frames.ndjson
	printf '%s\n' '{"path":"m/elegy.flac","start":0,"end":9}' '{"path":"m/up.ogg","start":10,"end":20,"rating":5}' >plays.ndjson
	run --separate-stderr "$FA" --timeline t.svg --timeline t.png --size 900x300 \
		--plays plays.ndjson <frames.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff <(jq -c . <<<"$output") <(jq -c . frames.ndjson)
	[ "$(png t.png)" = "900 300" ]
	grep -q '<svg .*width="900pt" height="300pt"' t.svg
	grep -q '</svg>' t.svg
	# The seven colours are filled paths: happy's orange and sad's blue among them.
	grep -q 'fill:rgb(90.2%,62.4%,0%)' t.svg
	grep -q 'fill:rgb(0%,44.7%,69.8%)' t.svg
	[ "$(grep -c '<path' t.svg)" -gt 20 ]
	# fer-react's records give the songs too, and the stream may hold them.
	cat plays.ndjson frames.ndjson >both.ndjson
	run --separate-stderr "$FA" --timeline u.svg <both.ndjson
	[ "$status" -eq 0 ]
	[ -s u.svg ]
}

@test "bad records fail with the reason and the stream goes on" {
	{
		printf '%s\n' '{"path":"no/such.jpg","faces":[]}' 'not json'
		printf '{"path":"%s","faces":[{"x":1,"y":2,"w":0,"h":3}]}\n' "$FM_TESTDATA/photos/rocket.jpg"
		printf '{"path":"%s","faces":[{"x":1,"y":2,"w":5,"h":3,"emotion":"glee"}]}\n' "$FM_TESTDATA/photos/rocket.jpg"
		printf '{"path":"%s","faces":[]}\n' "$FM_TESTDATA/photos/rocket.jpg"
		printf '{"faces":[]}\n'
	} >bad.ndjson
	run --separate-stderr "$FA" -o out <bad.ndjson
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 6 ]
	[ "$(jq -r '.error // "ok"' <<<"$output" | cut -c1-30)" = "$(printf '%s\n' \
		'no such file or directory' 'not valid JSON near byte 1' \
		"face 1: the box's \"w\" and \"h\" must be > 0" "face 1: unknown emotion 'glee'" ok \
		'record has no "path"' | cut -c1-30)" ]
	[ "$(count_matching '^fer-annotate: ')" -eq 5 ]
	[ -s out/rocket.png ]
	# A timeline's frame that goes back, and a play log line that is not one.
	printf '%s\n' '{"t":2,"smoothed":{"sad":1}}' '{"t":1,"smoothed":{"sad":1}}' '{"frame":3}' >back.ndjson
	printf '%s\n' '{"path":"a.ogg","start":1}' 'junk' >plays.ndjson
	run --separate-stderr "$FA" --timeline t.png --plays plays.ndjson <back.ndjson
	[ "$status" -eq 1 ]
	[ "$(jq -r '.error // "ok"' <<<"$output")" = "$(printf '%s\n' ok \
		'"t" 1 goes back before the frame before, 2' 'no "t": not a frame of a stream')" ]
	[ "$(count_matching '^fer-annotate: plays.ndjson: line [12]: ')" -eq 2 ]
	[ -s t.png ]
}

@test "an -o that is a file, and a sheet that cannot be written, exit 2" {
	touch file
	run --separate-stderr "$FA" -o file <faces.ndjson
	[ "$status" -eq 2 ]
	[[ $stderr == "fer-annotate: file: Not a directory" ]]
	run --separate-stderr "$FA" --sheet no/such/dir/s.png <faces.ndjson
	[ "$status" -eq 2 ]
	[[ ${stderr_lines[-1]} == "fer-annotate: no/such/dir/s.png: cannot write"* ]]
}

@test "a full disk exits 2" {
	run --separate-stderr bash -c '"$0" -o out <faces.ndjson >/dev/full' "$FA"
	[ "$status" -eq 2 ]
}

@test "EXAMPLES: photos and their JPEG pictures, a contact sheet of face crops, a timeline" {
	need_photos
	local FD=$FM_BIN/fer-detect FC=$FM_BIN/fer-classify
	mkdir photos
	cp "$FM_TESTDATA/photos/grace-hopper.jpg" "$FM_TESTDATA/photos/vlfeat-dome.jpg" photos/
	"$FD" photos/*.jpg | "$FC" | "$FA" -o annotated >/dev/null
	[ -s annotated/grace-hopper.png ] && [ -s annotated/vlfeat-dome.png ]
	"$FD" photos/*.jpg | "$FC" | "$FA" -o annotated --format jpeg | jq -r .annotated >paths
	[ "$(cat paths)" = "$(printf '%s\n' annotated/grace-hopper.jpg annotated/vlfeat-dome.jpg)" ]
	mkdir faces
	for i in 1 2 3; do gray_pgm "faces/$i.jpg" 48 48 "$(printf '%o' $((60 * i)))"; done
	find faces -name '*.jpg' | "$FC" | "$FA" --sheet faces.png >/dev/null
	[ "$(png faces.png | cut -d' ' -f1)" -eq $((3 * (128 + 10) + 10)) ]
	frames 10 0:5:neutral=1 5:10:happy=0.8 >frames.ndjson
	printf '%s\n' '{"path":"a.ogg","start":0,"end":5}' '{"path":"b.ogg","start":5,"end":10}' >plays.ndjson
	"$FM_BIN/fer-react" --plays plays.ndjson frames.ndjson >reactions.ndjson
	"$FA" --timeline mood.svg --timeline mood.png \
		--plays reactions.ndjson <frames.ndjson >/dev/null
	[ -s mood.svg ] && [ "$(png mood.png)" = "1200 420" ]
}
