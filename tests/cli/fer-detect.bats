#!/usr/bin/env bats
# tests/cli/fer-detect.bats: fer-detect as a user runs it: options and usage errors, the
# cascade, records in and out, error records, pass-through, order under --jobs, a full
# disk, the boxes against OpenCV's, and every EXAMPLES pipeline of man/fer-detect.1 and
# man/fermata.7. Each test runs in its own temporary directory.

setup() {
	load helpers
	FD=$FM_BIN/fer-detect
	cd "$BATS_TEST_TMPDIR" || return 1
	gray_pgm gray.pgm 64 48
}

# --- options -------------------------------------------------------------------------

@test "--help prints the usage line and every option on stdout and exits 0" {
	for opt in --help -h; do
		run --separate-stderr "$FD" "$opt"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[[ ${lines[0]} == "usage: fer-detect [-0hV] "* ]]
		for o in --cascade --crop-margin --crop-side --crops --detector --fps --help --jobs \
			--max-faces --max-line --max-pixels --max-size --max-windows --min-neighbors \
			--min-score --min-size --model --no-equalize --null --progress \
			--scale --stream --version --work-size; do
			[[ $output == *" $o"* ]]
		done
	done
}

@test "--version prints the tool, the suite and the Makefile's version" {
	version=$(sed -n 's/^VERSION *= *//p' "$FM_ROOT/Makefile")
	[ -n "$version" ]
	for opt in --version -V; do
		run --separate-stderr "$FD" "$opt"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[ "$output" = "fer-detect (fermata) $version" ]
	done
}

@test "--help and --version to a full disk exit 2" {
	for opt in --help --version; do
		run --separate-stderr bash -c '"$0" "$1" >/dev/full' "$FD" "$opt"
		[ "$status" -eq 2 ]
		[[ $stderr == "fer-detect: stdout: "* ]]
	done
}

@test "the usage line is the SYNOPSIS of man/fer-detect.1" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	synopsis=$(mandoc -T ascii "$FM_ROOT/man/fer-detect.1" | col -bx |
		sed -n '/^SYNOPSIS/,/^[A-Z]/{/^ /p}' | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	usage=$("$FD" --help | head -n 1)
	[ "usage: $synopsis" = "$usage" ]
}

@test "an unknown or misused option is a usage error: exit 2 and one usage line" {
	for args in --bogus -x --cascade --no-equalize=1 --max "--jobs"; do
		run --separate-stderr "$FD" $args
		echo "# $args: $stderr"
		assert_usage_error
		[ "${#stderr_lines[@]}" -eq 2 ]
		[[ ${stderr_lines[0]} == "fer-detect: "* ]]
	done
}

@test "numbers with junk or out of range are usage errors that name the option" {
	while read -r opt val; do
		run --separate-stderr "$FD" "$opt" "$val" gray.pgm
		echo "# $opt '$val': $stderr"
		assert_usage_error
		[[ ${stderr_lines[0]} == "fer-detect: $opt: "* ]]
	done <<-'EOF'
		--scale 1
		--scale 1.0009
		--scale abc
		--scale 0.5
		--scale 4.01
		--scale 1e999
		--scale nan
		--scale 0x2
		--scale 1.1x
		--jobs 0
		--jobs 257
		--jobs 2x
		--jobs 1.5
		--jobs -1
		--min-neighbors -1
		--min-neighbors 1001
		--max-pixels 0
		--max-pixels 99999999999999999999
		--max-size -1
		--min-size 10px
		--work-size -1
		--work-size 63
		--work-size 1000001
		--work-size 2k
	EOF
	for args in "--scale=" "--jobs= 2"; do
		run --separate-stderr "$FD" "$args" gray.pgm
		assert_usage_error
	done
	run --separate-stderr "$FD" --min-size 50 --max-size 40 gray.pgm
	assert_usage_error
	[[ ${stderr_lines[0]} == *"--min-size 50 is larger than --max-size 40"* ]]
}

@test "--detector is cnn or cascade, and each refuses the other's options" {
	run --separate-stderr "$FD" --detector svm gray.pgm
	assert_usage_error
	[ "${stderr_lines[0]}" = "fer-detect: --detector: 'svm' is not cascade or cnn" ]
	for args in "--cascade x.xml" "--scale 1.2" "--min-neighbors 2" "--max-windows 9" \
		"--no-equalize"; do
		run --separate-stderr "$FD" --detector cnn $args gray.pgm
		echo "# $args: $stderr"
		assert_usage_error
		[[ ${stderr_lines[0]} == *"are the cascade's, not --detector cnn's" ]]
	done
	# A cascade's option chooses the cascade, which takes no model and no score.
	for args in "--cascade x.xml --model m.fm" "--min-neighbors 2 --min-score 0.7" \
		"--detector cascade --model m.fm" "--detector cascade --min-score 0.7"; do
		run --separate-stderr "$FD" $args gray.pgm
		assert_usage_error
		[ "${stderr_lines[0]}" = "fer-detect: --model and --min-score are the CNN's, not the cascade's" ]
	done
	for val in 0 1.01 -1 x nan; do
		run --separate-stderr "$FD" --detector cnn --min-score "$val" gray.pgm
		assert_usage_error
		[[ ${stderr_lines[0]} == "fer-detect: --min-score: "* ]]
	done
	run --separate-stderr "$FD" --detector cnn --model '' gray.pgm
	assert_usage_error
}

@test "--detector cnn without a usable model exits 2 naming it, and reads nothing" {
	run --separate-stderr "$FD" --detector cnn --model no-such.fm gray.pgm
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "fer-detect: model no-such.fm: no such file or directory" ]
	run --separate-stderr "$FD" --detector cnn --model "$FM_TESTDATA/bad/model/tiny-valid.fm" gray.pgm
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ $stderr == "fer-detect: model $FM_TESTDATA/bad/model/tiny-valid.fm: not a face detector"* ]]
}

@test "the bounds of the numbers are accepted" {
	run --separate-stderr "$FD" --scale 4 --jobs 1 --min-neighbors 0 --min-size 0 \
		--max-size 0 --max-pixels 3072 gray.pgm
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	run --separate-stderr "$FD" --scale=1.001 --jobs=256 --min-neighbors=1000 gray.pgm
	[ "$status" -eq 0 ]
	for w in 0 64 1000000; do
		run --separate-stderr "$FD" --work-size "$w" gray.pgm
		[ "$status" -eq 0 ]
	done
}

# --- the cascade ---------------------------------------------------------------------

@test "a cascade that is not there: exit 2, a message, and stdin left unread" {
	printf 'gray.pgm\n' >list
	for c in nope.xml /nonexistent/c.xml; do
		run --separate-stderr bash -c '"$0" --cascade "$1"; echo "rc=$?"; cat' "$FD" "$c" <list
		[ "${lines[0]}" = "rc=2" ]
		[ "${lines[1]}" = "gray.pgm" ] # still there for the next reader
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ $stderr == "fer-detect: cascade $c: "* ]]
	done
	[[ $stderr == *"not found"* ]] || [[ ${stderr,,} == *"no such file"* ]]
}

@test "FERMATA_CASCADE names the default cascade, and --cascade wins over it" {
	FERMATA_CASCADE=nope.xml run --separate-stderr "$FD" gray.pgm
	[ "$status" -eq 2 ]
	[[ $stderr == "fer-detect: cascade nope.xml (from FERMATA_CASCADE): not found"* ]]
	FERMATA_CASCADE=nope.xml run --separate-stderr "$FD" \
		--cascade haarcascade_frontalface_alt2.xml gray.pgm
	[ "$status" -eq 0 ]
	FERMATA_CASCADE=lbpcascade_frontalface_improved.xml run --separate-stderr "$FD" gray.pgm
	[ "$status" -eq 0 ]
}

@test "a bare cascade name is looked for in the working directory first" {
	src=/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml
	[ -r "$src" ] || skip "opencv-data is not installed"
	cp "$src" mine.xml
	run --separate-stderr "$FD" --cascade mine.xml gray.pgm
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "a malformed cascade: exit 2, naming the file and the reason" {
	printf '<?xml version="1.0"?>\n<opencv_storage><cascade>junk\n' >junk.xml
	printf '<?xml version="1.0"?>\n<opencv_storage><x>1</x></opencv_storage>\n' >other.xml
	printf 'not xml at all\n' >text.xml
	: >empty.xml
	for c in junk.xml other.xml text.xml empty.xml "$BATS_TEST_TMPDIR"; do
		run --separate-stderr "$FD" --cascade "$c" gray.pgm
		echo "# $c: $stderr"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ $stderr =~ ^fer-detect:\ cascade\ .*${c##*/}:\ .+ ]]
	done
}

# --- records ----------------------------------------------------------------------------

@test "a plain gray image has no faces" {
	run --separate-stderr "$FD" gray.pgm
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = '{"path":"gray.pgm","width":64,"height":48,"faces":[]}' ]
}

@test "a file that does not exist: an error record, a stderr line, exit 1" {
	run --separate-stderr "$FD" gray.pgm nope.jpg gray.pgm
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(jq -r .path <<<"${lines[1]}")" = nope.jpg ]
	why=$(jq -r .error <<<"${lines[1]}")
	[ -n "$why" ]
	[[ ${why,,} == *"no such file"* ]]
	[ "$stderr" = "fer-detect: nope.jpg: $why" ]
	[ "${lines[0]}" = "${lines[2]}" ]
}

@test "a directory: an error record and exit 1" {
	mkdir album
	run --separate-stderr "$FD" album
	[ "$status" -eq 1 ]
	why=$(jq -r .error <<<"$output")
	[ -n "$why" ] && [ "$why" != null ]
	[ "$(jq -c 'del(.error)' <<<"$output")" = '{"path":"album"}' ]
	[ "$stderr" = "fer-detect: album: $why" ]
}

@test "every image in testdata/bad/image gives one error record and exit 1" {
	[ -d "$FM_TESTDATA/bad/image" ] || skip "no $FM_TESTDATA/bad/image yet"
	files=("$FM_TESTDATA"/bad/image/*)
	[ -e "${files[0]}" ] || skip "$FM_TESTDATA/bad/image is empty"
	for f in "${files[@]}"; do
		run --separate-stderr "$FD" "$f"
		echo "# ${f##*/}: $output"
		[ "$status" -eq 1 ]
		[ "${#lines[@]}" -eq 1 ]
		[ "$(jq -r .path <<<"$output")" = "$f" ]
		why=$(jq -r '.error | strings' <<<"$output")
		[ -n "$why" ]
		[ "$(jq -r 'has("faces")' <<<"$output")" = false ]
		[ "$stderr" = "fer-detect: $f: $why" ]
	done
	# All at once, in order, on several threads.
	run --separate-stderr "$FD" --jobs 4 "${files[@]}"
	[ "$status" -eq 1 ]
	[ "$(jq -r .path <<<"$output")" = "$(printf '%s\n' "${files[@]}")" ]
	[ "${#stderr_lines[@]}" -eq "${#files[@]}" ]
}

@test "stdin lines give the records of testdata/cli/records.ndjson and its stderr lines" {
	# Bad JSON, empty and blank lines, objects without a usable path, numbers beyond a
	# double, records that failed upstream, CRLF, duplicate keys and \u escapes.
	run --separate-stderr "$FD" --jobs 3 <"$FM_TESTDATA/cli/records.in"
	[ "$status" -eq 1 ]
	diff -u "$FM_TESTDATA/cli/records.ndjson" <(printf '%s\n' "$output")
	diff -u "$FM_TESTDATA/cli/records.err" <(printf '%s\n' "$stderr")
}

@test "an invalid JSON line gives a line record with the input and the reason" {
	printf '%s\n' gray.pgm '{"path": "gray.pgm",' gray.pgm >in
	run --separate-stderr "$FD" <in
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(jq -c '[.line, .input]' <<<"${lines[1]}")" = '[2,"{\"path\": \"gray.pgm\","]' ]
	why=$(jq -r .error <<<"${lines[1]}")
	[[ $why == "not valid JSON near byte "* ]]
	[ "$stderr" = "fer-detect: line 2: $why" ]
}

@test "an object without a path keeps its fields and gains an error" {
	run --separate-stderr "$FD" <<<'{"user":"ann","album":"b"}'
	[ "$status" -eq 1 ]
	[ "$output" = '{"user":"ann","album":"b","error":"record has no \"path\""}' ]
	[ "$stderr" = 'fer-detect: line 1: record has no "path"' ]
}

@test "an empty line gives an error record and the next line is read" {
	printf 'gray.pgm\n\ngray.pgm\n' >in
	run --separate-stderr "$FD" <in
	[ "$status" -eq 1 ]
	[ "${lines[1]}" = '{"line":2,"input":"","error":"empty line"}' ]
	[ "${lines[2]}" = "${lines[0]}" ]
	[ "$stderr" = "fer-detect: line 2: empty line" ]
}

@test "a line longer than 1 MiB gives an error record and the next line is read" {
	{
		printf 'gray.pgm\n'
		head -c 1100000 /dev/zero | tr '\0' a
		printf '\ngray.pgm\n'
	} >in
	run --separate-stderr "$FD" <in
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(jq -c '[.line, (.input | length)]' <<<"${lines[1]}")" = '[2,200]' ]
	[ "$(jq -r .error <<<"${lines[1]}")" = "line is longer than 1048576 bytes (see --max-line)" ]
	[ "${lines[2]}" = "${lines[0]}" ]
}

@test "a stdin line or a file name that is not UTF-8 fails, made readable" {
	cp gray.pgm "$(printf 'caf\351.pgm')"
	run --separate-stderr "$FD" "$(printf 'caf\351.pgm')"
	[ "$status" -eq 1 ]
	[ "$output" = '{"path":"caf�.pgm","error":"file name is not valid UTF-8 at byte 4"}' ]
	printf 'caf\351.pgm\n' >in
	run --separate-stderr "$FD" <in
	[ "$status" -eq 1 ]
	[ "$output" = '{"line":1,"input":"caf�.pgm","error":"not valid UTF-8 at byte 4"}' ]
}

@test "a record's own fields pass through, in their order" {
	cp gray.pgm x.jpg
	run --separate-stderr "$FD" <<<'{"user":"ann","path":"x.jpg","album":"b"}'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = '{"user":"ann","path":"x.jpg","album":"b","width":64,"height":48,"faces":[]}' ]
}

@test "a record that already carries an error passes unchanged, silently, exit 0" {
	in='{"user":"ann","path":"gone.jpg","error":"failed upstream","n":[1,2]}'
	run --separate-stderr "$FD" <<<"$in"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "$in" ]
}

@test "fer-detect on its own output changes nothing" {
	"$FD" gray.pgm >once
	run --separate-stderr "$FD" <once
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat once)" ]
}

@test "- reads stdin between operands, in order; no operand reads stdin" {
	for n in a b c d; do cp gray.pgm "$n.pgm"; done
	printf 'b.pgm\nc.pgm\n' >list
	run --separate-stderr "$FD" a.pgm - d.pgm <list
	[ "$status" -eq 0 ]
	[ "$(jq -r .path <<<"$output" | tr '\n' ' ')" = "a.pgm b.pgm c.pgm d.pgm " ]
	run --separate-stderr "$FD" <list
	[ "$(jq -r .path <<<"$output" | tr '\n' ' ')" = "b.pgm c.pgm " ]
}

@test "empty input gives no output and exit 0" {
	run --separate-stderr "$FD" </dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "--max-pixels refuses a larger image and takes one of its size" {
	run --separate-stderr "$FD" --max-pixels 3071 gray.pgm
	[ "$status" -eq 1 ]
	[ -n "$(jq -r '.error | strings' <<<"$output")" ]
	[[ $stderr == "fer-detect: gray.pgm: "* ]]
	run --separate-stderr "$FD" --max-pixels 3072 gray.pgm
	[ "$status" -eq 0 ]
}

@test "--jobs 4 writes the same lines in the same order as --jobs 1" {
	# Images of different sizes tell the records apart; missing files and bad lines
	# take other paths through the loop, and stderr must keep the order too.
	for i in $(seq 1 60); do
		case $((i % 7)) in
		0) printf '{oops %d\n' "$i" ;;
		3) printf 'missing-%d.jpg\n' "$i" ;;
		5) printf '{"path":"img-%d.pgm","error":"upstream"}\n' "$i" ;;
		*)
			gray_pgm "img-$i.pgm" $((24 + i)) $((30 + i % 5)) 1$((i % 8))$((i % 6))
			printf 'img-%d.pgm\n' "$i"
			;;
		esac
	done >list
	"$FD" --jobs 1 <list >one.out 2>one.err || [ $? -eq 1 ]
	for j in 4 16; do
		"$FD" --jobs "$j" <list >many.out 2>many.err || [ $? -eq 1 ]
		diff -u one.out many.out
		diff -u one.err many.err
	done
	[ "$(wc -l <one.out)" -eq 60 ]
	# The order is the input's.
	[ "$(jq -r '.path // "line \(.line)"' one.out | head -n 8 | tr '\n' ' ')" = \
		"img-1.pgm img-2.pgm missing-3.jpg img-4.pgm img-5.pgm img-6.pgm line 7 img-8.pgm " ]
}

@test "output to a full disk exits 2 with a message" {
	run --separate-stderr bash -c '"$0" gray.pgm >/dev/full' "$FD"
	[ "$status" -eq 2 ]
	[ "$stderr" = "fer-detect: stdout: No space left on device" ]
	# Also with more input than the loop holds: it stops instead of reading on.
	run --separate-stderr bash -c 'yes gray.pgm | head -n 5000 | "$0" --jobs 2 >/dev/full' "$FD"
	[ "$status" -eq 2 ]
	[ "$stderr" = "fer-detect: stdout: No space left on device" ]
}

@test "a reader that goes away ends fer-detect without a message" {
	run --separate-stderr bash -c 'yes gray.pgm | head -n 3000 | "$0" | head -n 1' "$FD"
	[ "$status" -eq 0 ]
	[ "$output" = '{"path":"gray.pgm","width":64,"height":48,"faces":[]}' ]
	[ -z "$stderr" ]
}

# --- real photos ------------------------------------------------------------------------

# ref_compare FILTER: run fer-detect as each line of testdata/ref/boxes.ndjson selected by
# the jq FILTER says and compare its boxes, as [x,y,w,h,neighbors] sorted, with OpenCV's.
ref_compare() {
	local ref=$FM_TESTDATA/ref/boxes.ndjson bad=0 all=0 photo cascade scale mn min max eq
	local want got
	[ -r "$ref" ] || skip "no $ref yet"
	while IFS=$'\t' read -r photo cascade scale mn min max eq want; do
		[ -e "$FM_TESTDATA/photos/$photo" ] || continue
		opts=(--cascade "$cascade" --scale "$scale" --min-neighbors "$mn" --min-size "$min"
			--max-size "$max")
		[ "$eq" = true ] || opts+=(--no-equalize)
		# OpenCV searches every image at its full size.
		opts+=(--work-size 0)
		got=$("$FD" "${opts[@]}" "$FM_TESTDATA/photos/$photo" |
			jq -c '[.faces[]? | [.x, .y, .w, .h, .neighbors]] | sort')
		all=$((all + 1))
		if [ "$got" != "$want" ]; then
			bad=$((bad + 1))
			[ "$bad" -gt 5 ] ||
				echo "# $photo ${opts[*]}: got $got, OpenCV $want" | cut -c 1-300
		fi
	done < <(jq -r "$1"' | [.photo, .cascade, .scale, .min_neighbors, .min_size,
		.max_size, .equalize, (.boxes | sort | tojson)] | @tsv' "$ref")
	echo "# $bad of $all runs differ from OpenCV"
	[ "$all" -gt 0 ]
	[ "$bad" -eq 0 ]
}

@test "the boxes are OpenCV's on testdata/photos with the default options" {
	need_photos
	ref_compare 'select(.cascade == "haarcascade_frontalface_alt2.xml" and .scale == 1.1
		and .min_neighbors == 3 and .min_size == 0 and .max_size == 0 and .equalize)'
}

@test "the boxes are OpenCV's with other cascades, scales, sizes and no equalisation" {
	need_photos
	ref_compare 'select(.min_neighbors > 0 and (.cascade != "haarcascade_frontalface_alt2.xml"
		or .scale != 1.1 or .min_size != 0 or .max_size != 0 or (.equalize | not)))'
}

# boxes_ok COND KEY: every record's faces (on stdin, one record a line) are boxes inside
# the image meeting the jq condition COND, best first by KEY; and some record has a face, or
# the rest proves nothing.
boxes_ok() {
	local records
	records=$(cat)
	[ "$(jq -s '[.[].faces | length] | add' <<<"$records")" -gt 0 ]
	jq -e -s "all(.[]; . as \$r | (.faces | length == 0) or (
		all(.faces[]; .x >= 0 and .y >= 0 and .w > 0 and .h > 0
			and .x + .w <= \$r.width and .y + .h <= \$r.height and ($1))
		and ([.faces[].$2] == ([.faces[].$2] | sort | reverse))))" <<<"$records"
}

@test "cascade faces are boxes inside the image, best first, scored as the manual says" {
	need_photos
	run --separate-stderr "$FD" --detector cascade "$FM_TESTDATA"/photos/*.jpg
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	boxes_ok '.score == ([[(.neighbors * 1000 / (.neighbors + 4) | round) / 1000, 0.999] | min,
		0.001] | max) and .score > 0 and .score < 1' neighbors <<<"$output"
}

@test "CNN faces are boxes inside the image, best first, each with a score and landmarks" {
	need_photos
	run --separate-stderr "$FD" "$FM_TESTDATA"/photos/*.jpg
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	boxes_ok '(has("neighbors") | not) and .score > 0 and .score <= 1
		and (.landmarks | length == 4 and all(.[]; length == 2))' score <<<"$output"
	# The CNN is the default: --detector cnn gives the same records.
	[ "$("$FD" --detector cnn "$FM_TESTDATA"/photos/*.jpg)" = "$output" ]
}

@test "a cascade's option, or FERMATA_CASCADE, makes the cascade the detector" {
	need_photos
	photo=$FM_TESTDATA/photos/vlfeat-dome.jpg
	cascade=$("$FD" --detector cascade "$photo")
	jq -e '.faces | length > 0 and all(.[]; has("neighbors"))' <<<"$cascade" >/dev/null
	[ "$("$FD" --cascade haarcascade_frontalface_alt2.xml "$photo")" = "$cascade" ]
	[ "$("$FD" --min-neighbors 3 "$photo")" = "$cascade" ]
	[ "$(FERMATA_CASCADE=haarcascade_frontalface_alt2.xml "$FD" "$photo")" = "$cascade" ]
	# --detector wins over the environment.
	FERMATA_CASCADE=haarcascade_frontalface_alt2.xml "$FD" --detector cnn "$photo" |
		jq -e '.faces | length > 0 and all(.[]; has("neighbors") | not)' >/dev/null
}

@test "--min-size, --max-size and --min-neighbors 0 reach the detector" {
	need_photos
	photo=$FM_TESTDATA/photos/vlfeat-team.jpg
	[ -e "$photo" ] || skip "no $photo"
	n=$("$FD" --detector cascade "$photo" | jq '.faces | length')
	[ "$n" -gt 1 ]
	for d in cascade cnn; do
		"$FD" --detector $d --min-size 60 "$photo" |
			jq -e '.faces | length > 0 and all(.[]; .w >= 60 and .h >= 60)'
		"$FD" --detector $d --max-size 60 "$photo" |
			jq -e '.faces | length > 0 and all(.[]; .w <= 60 and .h <= 60)'
	done
	"$FD" --min-neighbors 0 "$photo" |
		jq -e --argjson n "$n" '.faces | length > $n and all(.[]; .neighbors == 1)'
}

# --- large photos -----------------------------------------------------------------------

# big_astronaut FILE: testdata/ref/astronaut.eq.pgm (512x512, one face) made 5 times larger,
# 2560x2560, each pixel repeated into a 5x5 block, as a binary PGM.
big_astronaut() {
	[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3 to make the large image"
	/usr/bin/python3 - "$FM_TESTDATA/ref/astronaut.eq.pgm" 5 "$1" <<-'EOF'
		import re, sys
		data = open(sys.argv[1], "rb").read()
		m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
		w, h, k = int(m[1]), int(m[2]), int(sys.argv[2])
		pixels = data[m.end():m.end() + w * h]
		out = bytearray(b"P5\n%d %d\n255\n" % (w * k, h * k))
		for y in range(h):
		    out += bytes(p for p in pixels[y * w:(y + 1) * w] for _ in range(k)) * k
		open(sys.argv[3], "wb").write(out)
	EOF
}

# boxes: each record's faces as [x, y, w, h, neighbors].
boxes() { jq -c '[.faces[] | [.x, .y, .w, .h, .neighbors]]'; }

@test "a large image is searched on a shrunk copy, its boxes in the image's own pixels" {
	big_astronaut big.pgm
	small=$("$FD" --detector cascade "$FM_TESTDATA/ref/astronaut.eq.pgm" | boxes)
	[ "$small" != "[]" ]
	# Shrunk back to 512x512, the copy is the original pixel for pixel: the boxes are
	# exactly the original's, times 5.
	run --separate-stderr "$FD" --detector cascade --work-size 512 big.pgm
	[ "$status" -eq 0 ]
	jq -e '.width == 2560 and .height == 2560' <<<"$output"
	[ "$(boxes <<<"$output")" = "$(jq -c 'map([.[0:4][] * 5] + [.[4]])' <<<"$small")" ]
	# By default (a 1600x1600 copy, boxes times 1.6) the same faces, each side within a
	# tenth of the face: the pyramid's levels are 1.1 apart, and the copy's differ.
	run --separate-stderr "$FD" --detector cascade big.pgm
	[ "$status" -eq 0 ]
	boxes <<<"$output" | jq -e --argjson s "$small" 'length == ($s | length) and
		all(to_entries[]; .key as $i | .value as $b | ($s[$i] | map(. * 5)) as $w |
			all(range(4); ($b[.] - $w[.]) | fabs <= $w[2] / 10))'
}

@test "--work-size 0 and a work size of the image's own side search it at full size" {
	big_astronaut big.pgm
	# --min-size keeps the full size search short; it only skips the levels below it.
	full=$("$FD" --detector cascade --work-size 0 --min-size 300 big.pgm)
	[ "$(boxes <<<"$full")" != "[]" ]
	[ "$("$FD" --detector cascade --work-size 2560 --min-size 300 big.pgm)" = "$full" ]
	[ "$(boxes <<<"$full")" != "$("$FD" --detector cascade --min-size 300 big.pgm | boxes)" ]
}

@test "--min-size and --max-size are the image's pixels on a shrunk copy too" {
	big_astronaut big.pgm
	# The face is about 460 pixels.
	"$FD" --min-size 400 big.pgm | jq -e '.faces | length == 1 and .[0].w >= 400'
	"$FD" --min-size 500 big.pgm | jq -e '.faces | all(.w >= 500)'
	"$FD" --max-size 500 big.pgm | jq -e '.faces | length > 0 and all(.w <= 500) and
		any(.w >= 400)'
	"$FD" --max-size 400 big.pgm | jq -e '.faces | all(.w <= 400)'
}

@test "--stream shrinks a large frame as it does a file, crops and all" {
	big_astronaut big.pgm
	"$FD" --crops big.pgm | jq -c '.faces' >file.json
	[ "$(jq length file.json)" -gt 0 ]
	run --separate-stderr "$FD" --stream <big.pgm
	[ "$status" -eq 0 ]
	[ "$(jq -c '.faces' <<<"$output")" = "$(cat file.json)" ]
}

# --- EXAMPLES of man/fer-detect.1 and man/fermata.7 --------------------------------------------

@test "example: find photos -name '*.jpg' | fer-detect | jq -c '.faces'" {
	need_photos
	mkdir photos
	cp "$FM_TESTDATA"/photos/*.jpg photos/
	run --separate-stderr bash -c \
		'PATH=$0:$PATH; find photos -name '\''*.jpg'\'' | fer-detect | jq -c '\''.faces'\' \
		"$FM_BIN"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq "$(ls photos | wc -l)" ]
	for l in "${lines[@]}"; do
		[ "$(jq -r type <<<"$l")" = array ]
	done
}

@test "example: fer-detect --cascade lbpcascade_frontalface_improved.xml a.jpg" {
	need_photos
	cp "$FM_TESTDATA/photos/grace-hopper.jpg" a.jpg
	run --separate-stderr bash -c \
		'PATH=$0:$PATH; fer-detect --cascade lbpcascade_frontalface_improved.xml a.jpg' \
		"$FM_BIN"
	[ "$status" -eq 0 ]
	[ "$(jq '.faces | length' <<<"$output")" -eq 1 ]
}

@test "example: fer-detect --min-size 100 photos/*.jpg | jq -r 'select(.faces | length > 0) | .path'" {
	need_photos
	mkdir photos
	cp "$FM_TESTDATA"/photos/*.jpg photos/
	run --separate-stderr bash -c 'PATH=$0:$PATH; fer-detect --min-size 100 photos/*.jpg |
		jq -r '\''select(.faces | length > 0) | .path'\' "$FM_BIN"
	[ "$status" -eq 0 ]
	want=$("$FD" photos/*.jpg | jq -r 'select(any(.faces[]; .w >= 100)) | .path')
	[ -n "$want" ]
	[ "$output" = "$want" ]
}

@test "example: fer-detect --min-size 400 photos/*.jpg; fer-detect --min-size 40 photos/crowd.jpg" {
	big_astronaut big.pgm
	mkdir photos
	cp big.pgm photos/a.jpg
	cp big.pgm photos/crowd.jpg
	run --separate-stderr bash -c 'PATH=$0:$PATH; fer-detect --min-size 400 photos/*.jpg' \
		"$FM_BIN"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	jq -e '.faces | length == 1 and all(.w >= 400)' <<<"$output"
	run --separate-stderr bash -c 'PATH=$0:$PATH; fer-detect --min-size 40 photos/crowd.jpg' \
		"$FM_BIN"
	[ "$status" -eq 0 ]
	jq -e '.faces | length > 0 and all(.w >= 40) and any(.w >= 400)' <<<"$output"
}

@test "example: jq -c '{path: .file, user}' uploads.ndjson | fer-detect | jq -r 'select(.error) | ...'" {
	mkdir photos
	cp gray.pgm photos/a.jpg
	printf '%s\n' '{"file":"photos/a.jpg","user":"ann","size":3087}' \
		'{"file":"photos/gone.jpg","user":"bob"}' >uploads.ndjson
	run --separate-stderr bash -c 'PATH=$0:$PATH; jq -c '\''{path: .file, user}'\'' uploads.ndjson |
		fer-detect | jq -r '\''select(.error) | "\(.user) \(.path): \(.error)"'\' "$FM_BIN"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == "bob photos/gone.jpg: "?* ]]
	[ "$stderr" = "fer-detect: ${lines[0]#bob }" ]
}

@test "example (fermata.7): jq -c 'select(.error)' and 'select(.error | not)'" {
	need_photos
	mkdir photos
	cp "$FM_TESTDATA"/photos/*.jpg photos/
	printf 'not a photo\n' >photos/zz-broken.jpg
	n=$(ls photos | wc -l)
	failed=$(PATH=$FM_BIN:$PATH; fer-detect photos/*.jpg 2>/dev/null | jq -c 'select(.error)')
	fine=$(PATH=$FM_BIN:$PATH; fer-detect photos/*.jpg 2>/dev/null | jq -c 'select(.error | not)')
	[ "$(jq -r .path <<<"$failed")" = photos/zz-broken.jpg ]
	[ "$(wc -l <<<"$fine")" -eq $((n - 1)) ]
}

@test "example (fermata.7): jq -r '\"\\(.faces | length)\\t\\(.path)\"'" {
	need_photos
	mkdir photos
	cp "$FM_TESTDATA"/photos/*.jpg photos/
	run --separate-stderr bash -c 'PATH=$0:$PATH; fer-detect photos/*.jpg |
		jq -r '\''"\(.faces | length)\t\(.path)"'\' "$FM_BIN"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq "$(ls photos | wc -l)" ]
	for l in "${lines[@]}"; do
		[[ $l =~ ^[0-9]+$'\t'photos/.+\.jpg$ ]]
	done
}

# --- streams of frames ------------------------------------------------------------------

# frames FILE...: the files back to back on stdout, as a camera or ffmpeg sends them.
frames() { cat "$@"; }

@test "--stream reads JPEG, PNG and PPM frames back to back: boxes as from the files, frame, t" {
	need_photos
	local p=$FM_TESTDATA/photos
	"$FD" "$p/vlfeat-dome.jpg" "$p/astronaut.png" "$p/grace-hopper.jpg" >files.ndjson
	frames "$p/vlfeat-dome.jpg" "$p/astronaut.png" "$p/grace-hopper.jpg" >stream.bin
	run --separate-stderr "$FD" --stream --fps 10 <stream.bin
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(jq -c '[.frame, .t]' <<<"$output" | tr -d '\n')" = "[0,0][1,0.1][2,0.2]" ]
	[ "$(jq -c '[.faces[] | [.x,.y,.w,.h,.neighbors]]' <<<"$output")" = \
		"$(jq -c '[.faces[] | [.x,.y,.w,.h,.neighbors]]' files.ndjson)" ]
	# Every face carries a 48x48 crop with the shipped models' margin.
	jq -e '.faces[] | .crop.side == 48 and .crop.margin == 0.1 and
		(.crop.gray | length) == 3072' <<<"$output" >/dev/null
	jq -e 'has("path") | not' <<<"$output" >/dev/null
}

@test "--stream: a PPM stream as ffmpeg writes it, and the clock when there is no --fps" {
	# Three 64x48 frames of P6, the middle one with a comment in its header.
	for i in 1 2 3; do
		c=
		[ $i = 2 ] && c="# ffmpeg"
		printf 'P6\n%s\n64 48\n255\n' "$c"
		head -c $((64 * 48 * 3)) /dev/zero | tr '\0' '\100'
	done >ppm.bin
	run --separate-stderr "$FD" --stream <ppm.bin
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	jq -e '.width == 64 and .height == 48 and .faces == [] and .t >= 0' <<<"$output" >/dev/null
	[ "$(jq -r .frame <<<"$output" | tr -d '\n')" = "012" ]
}

@test "--stream: garbage, a truncated frame and an oversized frame are error records; the stream goes on" {
	need_photos
	local p=$FM_TESTDATA/photos
	{
		cat "$p/grace-hopper.jpg"
		printf 'this is no image'
		cat "$p/grace-hopper.jpg"
		printf 'P5\n5000 5000\n255\n'
		head -c 25000000 /dev/zero
		cat "$p/grace-hopper.jpg"
		head -c 5000 "$p/grace-hopper.jpg"
	} >mixed.bin
	run --separate-stderr "$FD" --stream --max-pixels 1000000 <mixed.bin
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 6 ]
	[ "$(jq -r 'if .error then "E" else "F" end' <<<"$output" | tr -d '\n')" = "FEFEFE" ]
	[[ ${lines[1]} == *'"error":"16 bytes at offset '*' start no JPEG, PNG, PGM or PPM image: skipped"'* ]]
	[[ ${lines[3]} == *'is 5000x5000 pixels, limit 1000000 (see --max-pixels): '* ]]
	[[ ${lines[5]} == *'truncated image'* ]]
	[ "$(jq -r .frame <<<"$output" | tr -d '\n')" = "012345" ]
	[ "$(count_matching '^fer-detect: -: ')" -eq 3 ]
}

@test "--stream: 300 KB of false JPEG starts are one error record, not 150,000" {
	need_photos
	local p=$FM_TESTDATA/photos
	{
		cat "$p/grace-hopper.jpg"
		/usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(b"\xff\xd8" * 150000)'
		cat "$p/grace-hopper.jpg"
		printf 'xx\377\330\377\330\377\330'
	} >markers.bin
	run --separate-stderr "$FD" --stream <markers.bin
	[ "$status" -eq 1 ]
	[ "$(jq -r 'if .error then "E" else "F" end' <<<"$output" | tr -d '\n')" = "FEFE" ]
	[[ ${lines[1]} == *'"error":"300000 bytes at offset '*' hold no whole JPEG, PNG, PGM or PPM image (150000 false starts): skipped"'* ]]
	[[ ${lines[3]} == *'"error":"8 bytes at offset '*' (4 false starts): skipped"'* ]]
	[ "$(count_matching '^fer-detect: -: ')" -eq 2 ]
}

@test "--stream: a PNM header that lies about its size costs only itself" {
	# 999999999x999999999 declares 6e18 bytes: the reader resynchronises at the next image
	# instead of skipping them, so the 50 frames after it all come out.
	{
		printf 'P5\n999999999 999999999\n255\n'
		for i in $(seq 50); do
			printf 'P5\n16 16\n255\n'
			head -c 256 /dev/zero | tr '\0' '\100'
		done
	} >lie.bin
	run --separate-stderr "$FD" --stream --jobs 2 <lie.bin
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 51 ]
	[[ ${lines[0]} == *'"error":"image at offset 0 is 999999999x999999999 pixels, limit '* ]]
	[ "$(jq -r 'if .error then "E" else "F" end' <<<"$output" | tr -d '\n')" = \
		"E$(printf 'F%.0s' $(seq 50))" ]
	jq -e 'select(.error | not) | .width == 16 and .height == 16' <<<"$output" >/dev/null
}

@test "--stream: a frame of more pixels than --max-pixels is refused from its header" {
	# 24000x24000 is within the byte limit of a frame (6 bytes a pixel at the limit), so
	# a reader that waited for its 576 MB would take the frames after it for its samples.
	{
		printf 'P5\n24000 24000\n255\n'
		head -c 1000 /dev/zero
		for i in 1 2 3; do
			printf 'P5\n16 16\n255\n'
			head -c 256 /dev/zero | tr '\0' '\100'
		done
	} >big.bin
	run --separate-stderr "$FD" --stream --jobs 2 <big.bin
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ ${lines[0]} == *'"error":"image at offset 0 is 24000x24000 pixels, limit 100000000 (see --max-pixels): 1019 bytes skipped"'* ]]
	jq -e 'select(.error | not) | .width == 16 and .height == 16' <<<"$output" >/dev/null
	[ "$(jq -r .frame <<<"$output" | tr -d '\n')" = "0123" ]
}

@test "--stream writes each frame's record before the next frame arrives" {
	need_photos
	mkfifo in
	"$FD" --stream --jobs 2 <in >out 2>err &
	pid=$!
	exec 7>in
	cat "$FM_TESTDATA/photos/grace-hopper.jpg" >&7
	for _ in $(seq 100); do
		[ -s out ] && break
		sleep 0.1
	done
	[ "$(wc -l <out)" -eq 1 ]
	cat "$FM_TESTDATA/photos/grace-hopper.jpg" >&7
	exec 7>&-
	wait "$pid"
	[ "$(wc -l <out)" -eq 2 ]
}

@test "--stream takes no operands; --fps needs --stream" {
	run --separate-stderr "$FD" --stream gray.pgm
	[ "$status" -eq 2 ]
	[[ $stderr == *"--stream reads stdin, not the operand 'gray.pgm'"* ]]
	run --separate-stderr "$FD" --fps 10 gray.pgm
	[ "$status" -eq 2 ]
	run --separate-stderr "$FD" --stream --fps 0 </dev/null
	[ "$status" -eq 2 ]
}

@test "--crops adds crops to file records too, with the side and margin asked for" {
	need_photos
	run --separate-stderr "$FD" --crops --crop-side 32 --crop-margin 0.25 \
		"$FM_TESTDATA/photos/grace-hopper.jpg"
	[ "$status" -eq 0 ]
	jq -e '.faces[0].crop | .side == 32 and .margin == 0.25 and (.gray | length) == 1368' \
		<<<"$output" >/dev/null
}

@test "--progress ends with a count of records and failures on stderr" {
	printf '%s\n' gray.pgm nonexistent.jpg gray.pgm >list
	run --separate-stderr "$FD" --progress --jobs 1 <list
	[ "$status" -eq 1 ]
	[[ ${stderr_lines[-1]} =~ ^fer-detect:\ 3\ records,\ [0-9.]+/s,\ 1\ failed$ ]]
}

@test "example: find photos -name '*.jpg' -print0 | fer-detect -0 | jq -c '.faces'" {
	need_photos
	mkdir photos
	cp "$FM_TESTDATA"/photos/*.jpg photos/
	cp gray.pgm "photos/two
lines.jpg"
	run --separate-stderr bash -c \
		'PATH=$0:$PATH; find photos -name '\''*.jpg'\'' -print0 | fer-detect -0 | jq -c '\''.faces'\' \
		"$FM_BIN"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq "$(find photos -name '*.jpg' -print0 | tr -cd '\0' | wc -c)" ]
	for l in "${lines[@]}"; do
		[ "$(jq -r type <<<"$l")" = array ]
	done
}

@test "-0 reads NUL-separated paths: newlines and all, an empty one fails, stdin as operand -" {
	cp gray.pgm "a
b.pgm"
	printf 'a\nb.pgm\0\0gray.pgm\0' >list
	run --separate-stderr "$FD" -0 --jobs 2 <list
	[ "$status" -eq 1 ]
	[ "$(jq -r .path <<<"${lines[0]}")" = $'a\nb.pgm' ]
	jq -e '.width == 64 and .faces == []' <<<"${lines[0]}" >/dev/null
	jq -e '.path == "" and .error == "\"path\" is empty"' <<<"${lines[1]}" >/dev/null
	jq -e '.path == "gray.pgm" and .width == 64' <<<"${lines[2]}" >/dev/null
	[ "${#lines[@]}" -eq 3 ]
	[ "$stderr" = 'fer-detect: line 2: "path" is empty' ]
	run --separate-stderr "$FD" --null - <list
	[ "${#lines[@]}" -eq 3 ]
	run --separate-stderr "$FD" -0 --stream </dev/null
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "fer-detect: --stream reads images from stdin, -0 paths" ]
}

@test "a video given as a photo: the reason says how to read it with --stream" {
	printf '\0\0\0\030ftypmp42' >talk.mp4
	cp talk.mp4 "my talk.MOV"
	cp talk.mp4 notes.txt
	run --separate-stderr "$FD" talk.mp4 "my talk.MOV" notes.txt
	[ "$status" -eq 1 ]
	[ "${stderr_lines[0]}" = "fer-detect: talk.mp4: not a JPEG, PNG or PNM image; for a video: ffmpeg -i talk.mp4 -f image2pipe -vcodec ppm - | fer-detect --stream" ]
	[ "${stderr_lines[1]}" = "fer-detect: my talk.MOV: not a JPEG, PNG or PNM image; for a video: ffmpeg -i 'my talk.MOV' -f image2pipe -vcodec ppm - | fer-detect --stream" ]
	[ "${stderr_lines[2]}" = "fer-detect: notes.txt: not a JPEG, PNG or PNM image" ]
	[ "$(jq -r .error <<<"${lines[0]}")" = "not a JPEG, PNG or PNM image; for a video: ffmpeg -i talk.mp4 -f image2pipe -vcodec ppm - | fer-detect --stream" ]
}

@test "a cascade named by FERMATA_CASCADE that cannot be used says so" {
	FERMATA_CASCADE=$PWD/nope.xml run --separate-stderr "$FD" gray.pgm
	[ "$status" -eq 2 ]
	[[ ${stderr_lines[0]} == "fer-detect: cascade $PWD/nope.xml (from FERMATA_CASCADE): "* ]]
	run --separate-stderr "$FD" --cascade "$PWD/nope.xml" gray.pgm
	[ "$status" -eq 2 ]
	[[ ${stderr_lines[0]} != *FERMATA_CASCADE* ]]
}

@test "--progress counts one record in the singular" {
	run --separate-stderr "$FD" --progress gray.pgm
	[ "$status" -eq 0 ]
	[[ ${stderr_lines[-1]} =~ ^fer-detect:\ 1\ record,\ [0-9.]+/s,\ 0\ failed$ ]]
}

@test "the shared options have the same bounds and messages in every tool" {
	for tool in fer-detect fer-classify song-featurize fer-train; do
		run --separate-stderr "$FM_BIN/$tool" --jobs 0
		[ "$status" -eq 2 ]
		[[ ${stderr_lines[0]} == "$tool: --jobs: 0 is not in 1.."* ]]
	done
	for tool in fer-detect fer-classify song-featurize; do
		run --separate-stderr "$FM_BIN/$tool" --max-line 1
		[ "$status" -eq 2 ]
		[ "${stderr_lines[0]}" = "$tool: --max-line: 1 is not in 2..2147483648" ]
	done
	for tool in fer-detect fer-classify; do
		run --separate-stderr "$FM_BIN/$tool" --max-faces 0
		[ "${stderr_lines[0]}" = "$tool: --max-faces: 0 is not in 1..1000000" ]
		run --separate-stderr "$FM_BIN/$tool" --max-pixels x
		[ "${stderr_lines[0]}" = "$tool: --max-pixels: 'x' is not a whole number" ]
	done
}

@test "--help lists the tool's own and the shared options in one sorted list" {
	for tool in fer-detect fer-classify song-featurize fer-train; do
		"$FM_BIN/$tool" --help | sed -n 's/^  \(-[A-Za-z0-9], \)\{0,1\}--\{0,1\}\([a-z0-9-]*\).*/\2/p' >names
		[ -s names ]
		LC_ALL=C sort -c names
		[ "$(sort -u names | wc -l)" -eq "$(wc -l <names)" ]
	done
}

@test "GNU parallel --pipe runs fer-detect on blocks of lines: the same records as one run" {
	need_photos
	command -v parallel >/dev/null || skip "GNU parallel is not installed"
	ls "$FM_TESTDATA"/photos/*.jpg "$FM_TESTDATA"/photos/*.png gray.pgm >list
	"$FD" --jobs 1 <list | sort >one.ndjson
	parallel --will-cite --pipe -N 2 "$FD" --jobs 1 <list | sort >many.ndjson
	[ "$(wc -l <one.ndjson)" -eq 9 ]
	cmp one.ndjson many.ndjson
	# --keep-order keeps the input order as well.
	parallel --will-cite --keep-order --pipe -N 3 "$FD" <list >ordered.ndjson
	cmp <("$FD" <list) ordered.ndjson
}

@test "--max-windows bounds the candidate windows of an image: a strip of one face repeated" {
	need_photos
	# One face, 64x64, repeated 40 times down a 64-pixel-wide strip: every window at the
	# same few x, which grouping once compared all with all.
	"$FD" --detector cascade --crops --crop-side 64 --crop-margin 0.2 "$FM_TESTDATA/photos/grace-hopper.jpg" |
		jq -r '.faces[0].crop.gray' | base64 -d >tile.raw
	[ "$(wc -c <tile.raw)" -eq 4096 ]
	{
		printf 'P5\n64 2560\n255\n'
		for i in $(seq 40); do cat tile.raw; done
	} >strip.pgm
	run --separate-stderr "$FD" --detector cascade --work-size 0 strip.pgm
	[ "$status" -eq 0 ]
	[ "$(jq '.faces | length' <<<"$output")" -eq 40 ]
	jq -e '[.faces[].neighbors] | min > 3' <<<"$output" >/dev/null
	# Over the limit: an error record, and the next image is still searched.
	run --separate-stderr "$FD" --detector cascade --work-size 0 --max-windows 100 strip.pgm gray.pgm
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ $(jq -r .error <<<"${lines[0]}") == "more than 100 candidate face windows in a 64x2560 image: over the window limit" ]]
	jq -e '.faces' <<<"${lines[1]}" >/dev/null
	[ "$(count_matching '^fer-detect: strip.pgm: more than 100 candidate')" -eq 1 ]
	# 0: no limit.
	[ "$("$FD" --detector cascade --work-size 0 --max-windows 0 strip.pgm | jq '.faces | length')" -eq 40 ]
	run --separate-stderr "$FD" --detector cascade --max-windows -1 gray.pgm
	[ "$status" -eq 2 ]
}

@test "--max-faces keeps the most certain faces and says how many went; --max-line bounds a line" {
	need_photos
	"$FD" "$FM_TESTDATA/photos/vlfeat-team.jpg" >all.ndjson
	run --separate-stderr "$FD" --max-faces 2 "$FM_TESTDATA/photos/vlfeat-team.jpg"
	[ "$status" -eq 0 ]
	[ "$(jq -c '.faces' <<<"$output")" = "$(jq -c '.faces[:2]' all.ndjson)" ]
	[ "$(jq '.faces_dropped' <<<"$output")" -eq $(($(jq '.faces | length' all.ndjson) - 2)) ]
	printf '%s\n' "$(printf 'x%.0s' $(seq 150))" gray.pgm >in
	run --separate-stderr "$FD" --max-line 100 <in
	[ "$status" -eq 1 ]
	[ "$(jq -r .error <<<"${lines[0]}")" = "line is longer than 100 bytes (see --max-line)" ]
	jq -e '.faces' <<<"${lines[1]}" >/dev/null
	run --separate-stderr "$FD" --max-faces 0 gray.pgm
	[ "$status" -eq 2 ]
}
