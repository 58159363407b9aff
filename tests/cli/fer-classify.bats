#!/usr/bin/env bats
# tests/cli/fer-classify.bats: fer-classify as a user runs it: options, the model (missing,
# corrupt, from the environment), plain face images and fer-detect records in, emotion and
# scores out, pass-through, error records, order under --jobs, a full disk, and the
# EXAMPLES of man/fer-classify.1. A tiny model is trained per file with fer-train on
# generated faces, so that no test depends on the shipped model's weights.

setup_file() {
	load helpers
	local dir=$BATS_FILE_TMPDIR/faces
	for c in angry happy sad; do
		mkdir -p "$dir/$c"
		for i in 1 2 3 4; do
			gray_pgm "$dir/$c/$i.pgm" 48 48 "$(printf '%o' $((40 * i + ${#c} * 9)))"
		done
	done
	"$FM_BIN/fer-train" --data "$dir" -o "$BATS_FILE_TMPDIR/tiny.fm" --epochs 1 --warmup 0 \
		--batch 4 --arch "conv 4 3 1 1, bn, relu, maxpool 4, gap, dense 7" 2>/dev/null
}

setup() {
	load helpers
	FC=$FM_BIN/fer-classify
	MODEL=$BATS_FILE_TMPDIR/tiny.fm
	export FERMATA_MODEL=$MODEL
	cd "$BATS_TEST_TMPDIR" || return 1
	gray_pgm face.pgm 48 48 144
}

# scores_ok: every face of every record of $output has an emotion among the seven and
# seven scores in [0, 1] summing to 1 within the rounding of four decimals.
scores_ok() {
	printf '%s\n' "$output" | jq -e '
		[.faces[] | (.scores | keys_unsorted) == ["angry","disgust","fear","happy","sad","surprise","neutral"]
			and ((.scores | add) - 1 | fabs) < 0.001
			and ([.scores[]] | all(. >= 0 and . <= 1))
			and (.emotion as $e | .scores | to_entries | max_by(.value) | .key == $e)]
		| all' >/dev/null
}

@test "--help and --version" {
	run --separate-stderr "$FC" --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: fer-classify [-0hV] "* ]]
	for o in --brief --brief-frames --brief-margin --fast --jobs --keep-crops --max-faces --max-line --max-pixels \
		--min-confidence --model --null --operand --progress --smooth --tta --version; do
		[[ $output == *" $o"* ]]
	done
	run --separate-stderr "$FC" -V
	[ "$status" -eq 0 ]
	[[ $output == "fer-classify (fermata) "* ]]
}

@test "the usage line is the SYNOPSIS of man/fer-classify.1" {
	synopsis=$(mandoc -T ascii "$FM_ROOT/man/fer-classify.1" | col -bx |
		sed -n '/^SYNOPSIS/,/^[A-Z]/{/^ /p}' | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	[ "usage: $synopsis" = "$("$FC" --help | head -n 1)" ]
}

@test "bad options are usage errors with exit 2" {
	for args in --bogus "--jobs 0" "--jobs x" "--max-pixels -1" "--model" "--fast --model m.fm" \
		"--operand" "--operand crop" "--operand=" "--min-confidence 1.5" "--min-confidence -0.1" \
		"--min-confidence x" "--views 0" "--views 3" "--views x" "--views" "--tta --views 2" \
		"--views 1 --tta"; do
		run --separate-stderr "$FC" $args
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[[ ${stderr_lines[-1]} == "usage: fer-classify "* ]]
	done
}

@test "a missing, corrupt or foreign model exits 2 before reading input" {
	printf 'FMCNN but not really' >bad.fm
	head -c 100 "$MODEL" >truncated.fm
	for m in nonexistent.fm bad.fm truncated.fm "$FM_TESTDATA/photos/astronaut.png"; do
		run --separate-stderr "$FC" --model "$m" face.pgm
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[[ $stderr == "fer-classify: model: $m: "* ]]
	done
}

@test "FERMATA_MODEL names the model; --model overrides it" {
	FERMATA_MODEL=nonexistent.fm run --separate-stderr "$FC" face.pgm
	[ "$status" -eq 2 ]
	# The message says where the name came from: a variable set long ago is easy to forget.
	[ "$stderr" = "fer-classify: model: nonexistent.fm: no such file or directory (from FERMATA_MODEL)" ]
	FERMATA_MODEL=nonexistent.fm run --separate-stderr "$FC" --model "$MODEL" face.pgm
	[ "$status" -eq 0 ]
}

@test "a plain face image becomes one face covering the image, with emotion and scores" {
	run --separate-stderr "$FC" face.pgm
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "$output" | jq -e '.path == "face.pgm" and (.faces | length) == 1
		and .faces[0].x == 0 and .faces[0].y == 0 and .faces[0].w == 48 and .faces[0].h == 48'
	scores_ok
}

@test "fer-detect's records gain emotion and scores on every face, other fields kept" {
	need_photos
	run --separate-stderr bash -c '"$0"/fer-detect "$1"/photos/vlfeat-dome.jpg |
		jq -c ". + {user: \"ann\"}" | "$0"/fer-classify' "$FM_BIN" "$FM_TESTDATA"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '(.faces | length) == 4 and .user == "ann" and .width == 600
		and (keys_unsorted | .[0]) == "path" and (.faces[0] | has("score"))'
	scores_ok
}

@test "a record with no faces passes unchanged, without reading the image" {
	printf '%s\n' '{"path":"nowhere.jpg","width":5,"height":5,"faces":[],"x":1}' >in.ndjson
	run --separate-stderr "$FC" <in.ndjson
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat in.ndjson)" ]
}

@test "unreadable images, bad boxes and bad lines are error records; the stream goes on" {
	{
		echo '{"path":"nowhere.jpg","faces":[{"x":0,"y":0,"w":10,"h":10}]}'
		echo '{"path":"face.pgm","faces":[{"x":0,"y":0,"w":0,"h":10}]}'
		echo '{"path":"face.pgm","faces":"many"}'
		echo '{"path":"face.pgm","faces":[{"x":0,"y":0,"w":10}]}'
		echo 'face.pgm'
		echo '{"path":'
	} >in.ndjson
	run --separate-stderr "$FC" <in.ndjson
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 6 ]
	printf '%s\n' "${lines[0]}" | jq -e '.error | test("No such file|no such file")'
	printf '%s\n' "${lines[1]}" | jq -e '.error == "face without a valid \"w\""'
	printf '%s\n' "${lines[2]}" | jq -e '.error == "\"faces\" is not an array"'
	printf '%s\n' "${lines[3]}" | jq -e '.error == "face without a valid \"h\""'
	printf '%s\n' "${lines[4]}" | jq -e '.faces[0].emotion and (.error | not)'
	printf '%s\n' "${lines[5]}" | jq -e '.line == 6 and .error'
	[ "${#stderr_lines[@]}" -eq 5 ]
}

@test "every bad image in testdata/bad/image is an error record, exit 1" {
	for f in "$FM_TESTDATA"/bad/image/*; do
		run --separate-stderr "$FC" "$f"
		[ "$status" -eq 1 ]
		printf '%s\n' "$output" | jq -e '.error | length > 0'
	done
}

@test "faces near the edge are cropped with the edge repeated, not refused" {
	echo '{"path":"face.pgm","faces":[{"x":-20,"y":40,"w":30,"h":30},{"x":47,"y":47,"w":1,"h":1}]}' >in
	run --separate-stderr "$FC" <in
	[ "$status" -eq 0 ]
	scores_ok
}

@test "--tta gives probabilities too" {
	run --separate-stderr "$FC" --tta face.pgm
	[ "$status" -eq 0 ]
	scores_ok
}

@test "--jobs 4 writes what --jobs 1 writes, in the same order" {
	for i in $(seq 1 24); do
		gray_pgm "f$i.pgm" $((30 + i)) 48 "$(printf '%o' $((i * 9)))"
		echo "f$i.pgm"
	done >list
	echo nowhere.pgm >>list
	one=$("$FC" --jobs 1 <list 2>&1 || echo "exit $?")
	four=$("$FC" --jobs 4 <list 2>&1 || echo "exit $?")
	[[ $one == *"exit 1" ]]
	[ "$one" = "$four" ]
}

@test "output to a full disk exits 2" {
	run --separate-stderr bash -c '"$0" face.pgm >/dev/full' "$FC"
	[ "$status" -eq 2 ]
	[[ $stderr == *"fer-classify: stdout: "* ]]
}

@test "example: find photos -name '*.jpg' | fer-detect | fer-classify" {
	need_photos
	cp -r "$FM_TESTDATA/photos" photos
	run --separate-stderr bash -c 'find photos -name "*.jpg" | "$0"/fer-detect | "$0"/fer-classify' "$FM_BIN"
	[ "$status" -eq 0 ]
	scores_ok
}

@test "example: fer-detect party/*.jpg | fer-classify | jq -r (path and emotions)" {
	need_photos
	mkdir party && cp "$FM_TESTDATA"/photos/vlfeat-*.jpg party/
	run --separate-stderr bash -c '"$0"/fer-detect party/*.jpg | "$0"/fer-classify |
		jq -r ".path + \"\t\" + ([.faces[].emotion] | join(\" \"))"' "$FM_BIN"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == party/vlfeat-dome.jpg$'\t'* ]]
	[ "$(printf '%s' "${lines[0]}" | cut -f2 | wc -w)" -eq 4 ]
}

@test "example: fer-classify --tta crops | jq -r .faces[0].emotion" {
	mkdir -p val/happy && cp face.pgm val/happy/a.pgm && cp face.pgm val/happy/b.pgm
	run --separate-stderr bash -c '"$0" --tta val/happy/*.pgm | jq -r .faces[0].emotion' "$FC"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	for l in "${lines[@]}"; do
		[[ " angry disgust fear happy sad surprise neutral " == *" $l "* ]]
	done
}

@test "the shipped model reads FER2013 validation faces (skips without ../shared)" {
	local val=$FM_ROOT/../shared/fer2013/val
	[ -d "$val" ] || skip "$val is absent (a clone has no ../shared)"
	[ -f "$FM_ROOT/models/fer2013.fm" ] || skip "no models/fer2013.fm"
	unset FERMATA_MODEL
	# 20 faces of each of three clear classes; the shipped model gets most of them.
	for c in happy surprise neutral; do
		ls "$val/$c"/*.jpg | head -n 20
	done >list
	run --separate-stderr bash -c '"$0" --model "$1" <list |
		jq -r "(.path | split(\"/\") | .[-2]) == .faces[0].emotion"' "$FC" "$FM_ROOT/models/fer2013.fm"
	[ "$status" -eq 0 ]
	right=$(printf '%s\n' "${lines[@]}" | grep -c true)
	echo "# $right of 60 right"
	[ "$right" -ge 36 ]
}

@test "--fast finds the small shipped model beside the build tree, not through FERMATA_MODEL" {
	[ -f "$FM_ROOT/models/fer2013-fast.fm" ] || skip "no models/fer2013-fast.fm"
	[ "$FM_BIN" = "$FM_ROOT/build/bin" ] || [ "$FM_BIN" = "$FM_ROOT/build-asan/bin" ] ||
		skip "FM_BIN is not this tree's build"
	FERMATA_MODEL=nonexistent.fm run --separate-stderr "$FC" --fast face.pgm
	[ "$status" -eq 0 ]
	[ "$(jq -r '.faces[0].scores | length' <<<"$output")" -eq 7 ]
}

# --- what an operand is: a face crop or a photo -----------------------------------------

# face_crops DIR SIDE: the faces fer-detect finds in testdata's photos, as SIDE x SIDE PGM
# face crops (fer-detect --crops), in DIR/<class>/ under three classes in turn.
face_crops() {
	local dir=$1 side=$2
	"$FM_BIN/fer-detect" --crops --crop-side "$side" "$FM_TESTDATA"/photos/vlfeat-*.jpg \
		"$FM_TESTDATA"/photos/astronaut.png "$FM_TESTDATA"/photos/grace-hopper.jpg |
		python3 -c '
import base64, json, os, sys
out, classes, k = sys.argv[1], ["happy", "sad", "neutral"], 0
for line in sys.stdin:
    for f in json.loads(line)["faces"]:
        c = f["crop"]
        d = os.path.join(out, classes[k % 3])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "%02d.pgm" % k), "wb") as o:
            o.write(b"P5\n%d %d\n255\n" % (c["side"], c["side"]) + base64.b64decode(c["gray"]))
        k += 1
' "$dir"
}

@test "a face file gives what fer-train --eval --predictions gives, to the digit, at every --views and --tta" {
	need_photos
	face_crops val 48
	face_crops big 96 # resized to the model's side on either way
	for c in big/*; do for f in "$c"/*; do cp "$f" "val/${c#big/}/big-${f##*/}"; done; done
	n=$(find val -type f | wc -l)
	[ "$n" -ge 20 ]
	for tta in "" --tta "--views 1" "--views 2" "--views 10"; do
		"$FM_BIN/fer-train" --eval --model "$MODEL" --val val $tta --predictions eval.ndjson \
			>/dev/null 2>&1
		run --separate-stderr "$FC" $tta val/*/*.pgm
		[ "$status" -eq 0 ]
		[ "${#lines[@]}" -eq "$n" ]
		printf '%s\n' "$output" | jq -c '[.path, .faces[0].emotion, .faces[0].scores]' | sort >tool
		jq -c '[.path, .emotion, .scores]' eval.ndjson | sort >eval
		diff eval tool
	done
	# --operand face reads them the same way.
	[ "$("$FC" --operand face val/*/*.pgm)" = "$("$FC" val/*/*.pgm)" ]
}

@test "the shipped model: fer-classify over FER2013 val faces is fer-train --eval's (skips without ../shared)" {
	local val=$FM_ROOT/../shared/fer2013/val
	[ -d "$val" ] || skip "$val is absent (a clone has no ../shared)"
	[ -f "$FM_ROOT/models/fer2013.fm" ] || skip "no models/fer2013.fm"
	for c in angry disgust fear happy sad surprise neutral; do
		mkdir -p some/$c
		ls "$val/$c"/*.jpg | head -n 6 | xargs cp -t some/$c
	done
	for tta in "" --tta; do
		"$FM_BIN/fer-train" --eval --model "$FM_ROOT/models/fer2013.fm" --val some $tta \
			--predictions eval.ndjson >/dev/null 2>&1
		"$FC" --model "$FM_ROOT/models/fer2013.fm" $tta some/*/*.jpg |
			jq -c '[.path, .faces[0].emotion, .faces[0].scores]' | sort >tool
		jq -c '[.path, .emotion, .scores]' eval.ndjson | sort >eval
		[ "$(wc -l <tool)" -eq 42 ]
		diff eval tool
	done
}

@test "--operand auto: a photo's faces are found as fer-detect finds them; a photo without faces has none" {
	need_photos
	local p=$FM_TESTDATA/photos
	for f in vlfeat-dome.jpg grace-hopper.jpg chelsea.png rocket.jpg; do
		direct=$("$FC" "$p/$f")
		piped=$("$FM_BIN/fer-detect" "$p/$f" | "$FC")
		[ "$direct" = "$piped" ]
		[ "$("$FC" --operand photo "$p/$f")" = "$direct" ]
	done
	jq -e '.width == 600 and (.faces | length) == 4 and all(.faces[]; has("score") and has("emotion"))' \
		<<<"$("$FC" "$p/vlfeat-dome.jpg")" >/dev/null
	# A cat and a rocket: no face, no emotion, and no error.
	run --separate-stderr "$FC" "$p/chelsea.png" "$p/rocket.jpg"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "$output" | jq -e '.faces == [] and (.width > 256)' >/dev/null
	# A path line and a record without faces are operands too.
	printf '%s\n%s\n' "$p/chelsea.png" "{\"path\":\"$p/chelsea.png\",\"user\":\"ann\"}" >in
	run --separate-stderr "$FC" <in
	[ "$status" -eq 0 ]
	printf '%s\n' "${lines[1]}" | jq -e '.faces == [] and .user == "ann"' >/dev/null
}

@test "--operand face takes a whole photo for one face; photo searches a small image" {
	need_photos
	run --separate-stderr "$FC" --operand face "$FM_TESTDATA/photos/chelsea.png"
	[ "$status" -eq 0 ]
	jq -e '(.faces | length) == 1 and .faces[0].w == 451 and .faces[0].h == 300 and .faces[0].emotion' \
		<<<"$output" >/dev/null
	# Small and square is a crop under auto; --operand photo searches it (a flat gray has no face).
	[ "$("$FC" face.pgm | jq '.faces | length')" -eq 1 ]
	run --separate-stderr "$FC" --operand photo face.pgm
	[ "$status" -eq 0 ]
	jq -e '.faces == [] and .width == 48' <<<"$output" >/dev/null
	# 4:3 is a photo however small; 5:4 is a crop.
	gray_pgm thumb.pgm 64 48
	gray_pgm crop.pgm 50 40
	[ "$("$FC" thumb.pgm | jq -c .faces)" = "[]" ]
	[ "$("$FC" crop.pgm | jq '.faces[0].w')" -eq 50 ]
}

@test "without a cascade, --operand photo exits 2 and auto fails only the photos" {
	need_photos
	FERMATA_CASCADE=nope.xml run --separate-stderr "$FC" --operand photo face.pgm
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ $stderr == "fer-classify: cascade nope.xml (from FERMATA_CASCADE): not found"* ]]
	FERMATA_CASCADE=nope.xml run --separate-stderr "$FC" face.pgm "$FM_TESTDATA/photos/rocket.jpg"
	[ "$status" -eq 1 ]
	printf '%s\n' "${lines[0]}" | jq -e '.faces[0].emotion' >/dev/null
	printf '%s\n' "${lines[1]}" | jq -e '.error | startswith("a photo of 640x427 pixels (not a face crop), and no faces can be found: cascade nope.xml")' >/dev/null
	FERMATA_CASCADE=nope.xml run --separate-stderr "$FC" --operand face "$FM_TESTDATA/photos/rocket.jpg"
	[ "$status" -eq 0 ]
}

@test "--min-confidence: a face below it is uncertain, with its scores; pooling passes it over" {
	run --separate-stderr "$FC" --min-confidence 1 face.pgm
	[ "$status" -eq 0 ]
	scores=$("$FC" face.pgm | jq -c '.faces[0].scores')
	jq -e --argjson s "$scores" '.faces[0].emotion == "uncertain" and .faces[0].scores == $s' \
		<<<"$output" >/dev/null
	[ "$("$FC" --min-confidence 0 face.pgm)" = "$("$FC" face.pgm)" ]
	# A face that has an answer keeps it at a threshold it meets.
	top=$(jq '[.[]] | max' <<<"$scores")
	"$FC" --min-confidence "$(jq -n "$top - 0.001")" face.pgm | jq -e '.faces[0].emotion != "uncertain"' >/dev/null
	# --smooth: frames whose faces are all uncertain are frames without faces.
	for t in 0 1 2; do echo "{\"path\":\"face.pgm\",\"t\":$t}"; done >frames
	run --separate-stderr "$FC" --min-confidence 1 --smooth 1 <frames
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '(has("smoothed") | not) and .faces[0].emotion == "uncertain"' >/dev/null
}

@test "example: fer-classify --min-confidence 0.5 team.jpg | jq -r '.faces[].emotion'" {
	need_photos
	cp "$FM_TESTDATA/photos/vlfeat-team.jpg" team.jpg
	run --separate-stderr bash -c '"$0" --min-confidence 0.5 team.jpg | jq -r ".faces[].emotion"' "$FC"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 2 ]
	for l in "${lines[@]}"; do
		[[ " angry disgust fear happy sad surprise neutral uncertain " == *" $l "* ]]
	done
}

@test "--smooth takes the small shipped model unless --model or FERMATA_MODEL names one" {
	[ -f "$FM_ROOT/models/fer2013-fast.fm" ] || skip "no models/fer2013-fast.fm"
	[ -f "$FM_ROOT/models/fer2013.fm" ] || skip "no models/fer2013.fm"
	[ "$FM_BIN" = "$FM_ROOT/build/bin" ] || [ "$FM_BIN" = "$FM_ROOT/build-asan/bin" ] ||
		skip "FM_BIN is not this tree's build"
	local gray
	gray=$(head -c 2304 /dev/urandom | base64 -w0)
	printf '{"frame":0,"t":0,"faces":[{"x":0,"y":0,"w":48,"h":48,"crop":{"side":48,"margin":0.1,"gray":"%s"}}]}\n' \
		"$gray" >frame.ndjson
	scores() { "$FC" "$@" <frame.ndjson | jq -c '.faces[0].scores'; }
	(
		unset FERMATA_MODEL
		[ "$(scores --smooth 1)" = "$(scores --fast)" ]
		[ "$(scores --smooth 1 --model "$FM_ROOT/models/fer2013.fm")" = "$(scores)" ]
		[ "$(scores)" != "$(scores --fast)" ]
	)
	# An explicit choice stays: the environment's model, under --smooth too.
	[ "$(scores --smooth 1)" = "$(scores --model "$MODEL")" ]
}

# --- crops and streams ------------------------------------------------------------------

@test "faces with crops are read from them: the scores of the image, without the crops" {
	need_photos
	local FD=$FM_BIN/fer-detect p=$FM_TESTDATA/photos
	"$FD" "$p/vlfeat-dome.jpg" "$p/grace-hopper.jpg" | "$FC" >files.ndjson
	"$FD" --crops "$p/vlfeat-dome.jpg" "$p/grace-hopper.jpg" | "$FC" >crops.ndjson
	cmp files.ndjson crops.ndjson
	# A stream has no files at all: the crops are all there is.
	cat "$p/vlfeat-dome.jpg" "$p/grace-hopper.jpg" | "$FD" --stream --fps 1 | "$FC" >stream.ndjson
	[ "$(jq -c '.faces' stream.ndjson)" = "$(jq -c '.faces' files.ndjson)" ]
	run --separate-stderr "$FC" --keep-crops <<<"$("$FD" --crops "$p/grace-hopper.jpg")"
	[ "$status" -eq 0 ]
	jq -e '.faces[0].crop.side == 48 and (.faces[0].scores | length) == 7' <<<"$output" >/dev/null
}

@test "a crop of another side or margin is cut again for the model" {
	need_photos
	local FD=$FM_BIN/fer-detect
	run --separate-stderr bash -c '"$0" --crops --crop-side 80 --crop-margin 0.3 "$1" | "$2"' \
		"$FD" "$FM_TESTDATA/photos/vlfeat-dome.jpg" "$FC"
	[ "$status" -eq 0 ]
	scores_ok
	jq -e '.faces | length > 0 and all(has("crop") | not)' <<<"$output" >/dev/null
}

@test "a damaged crop is an error record; the next record goes on" {
	crop() { printf '{"faces":[{"x":0,"y":0,"w":4,"h":4,"crop":%s}]}\n' "$1"; }
	{
		crop '{"side":4,"margin":0.1,"gray":"!!!!"}'
		crop '{"side":4,"margin":0.1,"gray":"AAAA"}'
		crop '{"side":0,"margin":0.1,"gray":""}'
		crop '{"side":2,"margin":9,"gray":"AAAAAA=="}'
		crop '{"side":2,"margin":0.1,"gray":"AAAAAA=="}'
	} >in.ndjson
	run --separate-stderr "$FC" <in.ndjson
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 5 ]
	[[ ${lines[0]} == *'"error":"\"gray\": not base64 at character 1"'* ]]
	[[ ${lines[1]} == *'"error":"face \"crop\" holds 3 bytes, not side^2"'* ]]
	[[ ${lines[2]} == *'"error":"face \"crop\" without a whole \"side\"'* ]]
	[[ ${lines[3]} == *'"error":"face \"crop\" without a whole \"side\"'* ]]
	jq -e 'select(.error | not) | .faces[0].scores | length == 7' <<<"${lines[4]}" >/dev/null
}

@test "--smooth adds each frame's smoothed expressions; frames without faces pass" {
	need_photos
	local FD=$FM_BIN/fer-detect p=$FM_TESTDATA/photos
	cat "$p/grace-hopper.jpg" "$p/rocket.jpg" "$p/grace-hopper.jpg" "$p/vlfeat-dome.jpg" |
		"$FD" --stream --fps 15 >frames.ndjson
	run --separate-stderr "$FC" --smooth 0.5 --jobs 2 <frames.ndjson
	[ "$status" -eq 0 ]
	jq -e 'select(.frame) | if (.faces | length) > 0 then
		(.smoothed | [.[]] | add | . > 0.999 and . < 1.001) and
		(.smoothed_emotion | type == "string")
		else has("smoothed") | not end' <<<"$output" >/dev/null
	# The first frame's smoothed scores are its own (each rounded to four decimals on its
	# own, so to within one in the last digit).
	jq -e -s '.[] | select(.frame == 0) | (.faces | length) == 1 and
		(.smoothed as $s | .faces[0].scores | to_entries |
		all(.value - $s[.key] | fabs <= 0.00011))' <<<"$output" >/dev/null
	for bad in "--smooth 0" "--smooth x" "--smooth 1 --brief 0" "--smooth 1 --brief 0.2" \
		"--smooth 1 --brief-frames 0" "--smooth 1 --brief-frames 2.5" \
		"--smooth 1 --brief-margin 0" "--smooth 1 --brief-margin 1.5"; do
		run --separate-stderr "$FC" $bad </dev/null
		[ "$status" -eq 2 ]
	done
}

@test "--smooth: a brief expression change is one event with its onset, apex and duration; flicker and a lasting change are none" {
	# A model of its own that reads a dark face as happy and a light one as neutral, surely.
	for c in happy neutral; do
		mkdir -p "faces/$c"
	done
	for i in 1 2 3 4; do
		gray_pgm "faces/happy/$i.pgm" 48 48 "$(printf '%o' $((20 + i)))"
		gray_pgm "faces/neutral/$i.pgm" 48 48 "$(printf '%o' $((220 + i)))"
	done
	"$FM_BIN/fer-train" --data faces -o two.fm --epochs 30 --warmup 0 --batch 4 \
		--arch "conv 4 3 1 1, bn, relu, maxpool 4, gap, dense 7" 2>/dev/null
	gray_pgm dark.pgm 48 48 "$(printf '%o' 22)"
	gray_pgm light.pgm 48 48 "$(printf '%o' 222)"
	"$FC" --model two.fm dark.pgm light.pgm >read.ndjson
	jq -se '(.[0].faces[0] | .emotion == "happy" and .scores.happy > 0.8) and
		(.[1].faces[0] | .emotion == "neutral" and .scores.neutral > 0.8)' read.ndjson >/dev/null
	# At 10 frames a second: neutral 3 s, happy 0.4 s, neutral 2 s, happy one frame,
	# neutral 1 s, happy two frames, neutral 1 s, then happy for 2 s (a change, not brief).
	jq -nc '[range(30) | 0] + [range(4) | 1] + [range(20) | 0] + [1] + [range(10) | 0] +
		[1, 1] + [range(10) | 0] + [range(20) | 1] + [range(5) | 0] | to_entries[] |
		{path: (if .value == 1 then "dark.pgm" else "light.pgm" end), t: (.key / 10),
		 faces: [{x: 0, y: 0, w: 48, h: 48}]}' >frames.ndjson
	run --separate-stderr "$FC" --model two.fm --smooth 0.5 <frames.ndjson
	[ "$status" -eq 0 ]
	jq -se '[.[] | select(.event)] | length == 1 and (.[0] | .event == "brief" and
		.emotion == "happy" and .baseline == "neutral" and .start == 3 and
		.duration == 0.4 and .apex == 3 and .frames == 4 and .peak > 0.8)' \
		<<<"$output" >/dev/null
	# It follows the second frame back, t = 3.5.
	[ "$(jq -r 'if .event then "event" else .t end' <<<"$output" | grep -B1 event | head -n 1)" = 3.5 ]
	# With one frame enough, the two-frame flicker is an event too (the one frame is shorter
	# than 0.2 s); with a margin of 0.95 not even the brief change is.
	[ "$("$FC" --model two.fm --smooth 0.5 --brief-frames 1 <frames.ndjson |
		jq -c 'select(.event) | .start')" = "$(printf '3\n6.5')" ]
	[ "$("$FC" --model two.fm --smooth 0.5 --brief-margin 0.95 <frames.ndjson |
		jq -c 'select(.event)' | wc -l)" -eq 0 ]
}

# frames T...: one record of face.pgm per argument, at that "t" ("-" for none, anything else
# as JSON), on stdout.
frames() {
	local t
	for t in "$@"; do
		if [ "$t" = - ]; then
			printf '{"path":"face.pgm","faces":[{"x":0,"y":0,"w":48,"h":48}]}\n'
		else
			printf '{"path":"face.pgm","t":%s,"faces":[{"x":0,"y":0,"w":48,"h":48}]}\n' "$t"
		fi
	done
}

@test "--smooth: a time backwards or far ahead starts a new segment, marked \"reset\"" {
	# An absurd time no longer fails every later frame as "before the last one".
	frames 0 0.1 1e300 0.2 0.3 >in.ndjson
	run --separate-stderr "$FC" --smooth 1 <in.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq -c '[.t, (.reset // false), has("smoothed")]' <<<"$output" | tr -d '\n')" = \
		'[0,false,true][0.1,false,true][1e+300,true,true][0.2,true,true][0.3,false,true]' ]
	# Two recordings, each from t = 0: the second starts afresh, its first frame its own.
	frames 0 0.5 1 >day1.ndjson
	frames 0 0.5 >day2.ndjson
	run --separate-stderr bash -c "cat day1.ndjson day2.ndjson | '$FC' --smooth 1"
	[ "$status" -eq 0 ]
	[ "$(jq -c '.reset // false' <<<"$output" | tr -d '\n')" = falsefalsefalsetruefalse ]
	[ "$(jq -sc '.[3] | .smoothed == .faces[0].scores' <<<"$output")" = true ]
	# A gap of more than 20 of the longer half-life (here the baseline's 2 s) is a pause.
	frames 0 40 80.5 >gap.ndjson
	[ "$("$FC" --smooth 1 <gap.ndjson | jq -c '.reset // false' | tr -d '\n')" = falsefalsetrue ]
	# An earlier run's "reset" does not survive a run without one.
	frames 0 0.1 | "$FC" --smooth 1 | "$FC" --smooth 1 >twice.ndjson
	[ "$(jq -c '.reset // false' twice.ndjson | tr -d '\n')" = falsefalse ]
}

@test "--smooth never mixes record counts with times: a frame of the other kind is an error record" {
	# Without any "t", one second per record.
	frames - - - >none.ndjson
	run --separate-stderr "$FC" --smooth 1 <none.ndjson
	[ "$status" -eq 0 ]
	[ "$(jq -c 'has("smoothed")' <<<"$output" | tr -d '\n')" = truetruetrue ]
	# Times, then a frame without one, or with one that is not a number of seconds.
	for bad in - '"12:00"' null 1e999; do
		frames 0 0.1 "$bad" 0.2 >in.ndjson
		run --separate-stderr "$FC" --smooth 1 <in.ndjson
		[ "$status" -eq 1 ]
		[ "$(jq -c 'has("error")' <<<"$output" | tr -d '\n')" = falsefalsetruefalse ]
		[[ "$stderr" == *'"t"'* ]]
	done
	# No time first, then a time.
	frames - - 2 - >in.ndjson
	run --separate-stderr "$FC" --smooth 1 <in.ndjson
	[ "$status" -eq 1 ]
	[ "$(jq -c 'has("error")' <<<"$output" | tr -d '\n')" = falsefalsetruefalse ]
	[[ "$stderr" == *'first frame had none'* ]]
}

# The rule of fermata(7)'s "Pooling faces", written once more in jq to check the tools by.
POOLED='def weight: (if (.w | type) == "number" and .w > 0 and (.h | type) == "number" and .h > 0
		then .w * .h else 1 end) *
		(if (.score | type) == "number" and .score > 0 and .score <= 1 then .score else 1 end)
		| if . < 1e-12 then 1e-12 elif . > 1e18 then 1e18 else . end;
	[.faces[] | {w: weight, p: ((.scores | add) as $t | .scores | map_values(. / $t))}] as $f
	| ($f | map(.w) | add) as $W
	| ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
	| map(. as $e | ($f | map(.w * .p[$e]) | add) / $W)'

@test "--smooth pools a record's faces as recommend does: negative, missing and huge boxes" {
	flat() { head -c 2304 /dev/zero | tr '\0' "\\$1" | base64 -w0; }
	face() { printf '{%s"crop":{"side":48,"margin":0.1,"gray":"%s"}}' "$1" "$(flat "$2")"; }
	{
		# A negative box is no box: it counts as 1 by 1, not as 30 by 30.
		printf '{"path":"negative","faces":[%s,%s]}\n' "$(face '"w":-30,"h":-30,' 60)" \
			"$(face '"w":10,"h":10,"score":0.9,' 300)"
		# Two boxes whose weights would sum to infinity (and the mood to NaN).
		printf '{"path":"huge","faces":[%s,%s,%s]}\n' "$(face '"w":1e154,"h":1e154,' 60)" \
			"$(face '"w":1e154,"h":1e154,' 200)" "$(face '"w":48,"h":48,' 300)"
		# No box at all, and a score out of (0, 1], beside a box.
		printf '{"path":"boxless","faces":[%s,%s]}\n' "$(face '"score":7,' 60)" \
			"$(face '"w":2,"h":3,' 300)"
	} >in.ndjson
	# Each record on its own, so that its smoothed scores are the record's pooled ones.
	while IFS= read -r rec; do
		"$FC" --smooth 1 <<<"$rec" || return 1
	done <in.ndjson >smoothed.ndjson
	[ "$(wc -l <smoothed.ndjson)" -eq 3 ]
	jq -e "($POOLED) as \$want | [.smoothed[]] as \$got |
		[range(7) | (\$want[.] - \$got[.]) | fabs < 1e-4] | all" smoothed.ndjson >/dev/null
	# recommend pools the same faces into the same mood: the same songs, emotion and
	# scores as for that mood given whole with --scores (within what the four decimals of
	# "smoothed" move a cosine).
	local L=$FM_TESTDATA/rank/library.ndjson
	"$FM_BIN/recommend" --library "$L" --each -n 3 smoothed.ndjson >each.ndjson
	[ "$(jq -r .query.path each.ndjson | uniq | tr '\n' ' ')" = "negative huge boxless " ]
	for path in negative huge boxless; do
		smoothed=$(jq -c "select(.path == \"$path\") | .smoothed" smoothed.ndjson)
		"$FM_BIN/recommend" --library "$L" -n 3 --scores "$smoothed" >given.ndjson
		jq -c "select(.query.path == \"$path\") | del(.query)" each.ndjson >pooled.ndjson
		[ "$(jq -r .emotion given.ndjson | head -n 1)" = \
			"$(jq -r "select(.path == \"$path\") | .smoothed_emotion" smoothed.ndjson)" ]
		[ "$(jq -r .path given.ndjson)" = "$(jq -r .path pooled.ndjson)" ]
		paste -d ' ' <(jq .score given.ndjson) <(jq .score pooled.ndjson) |
			awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-3) exit 1 }'
	done
}

@test "--max-faces keeps the most certain faces and says how many went; --max-line a longer line" {
	face='{"x":0,"y":0,"w":48,"h":48'
	printf '{"path":"face.pgm","faces":[%s,"score":0.5},%s},%s,"score":0.9},%s,"score":0.7}],"faces_dropped":1}\n{"path":"face.pgm","faces":[%s}]}\n' \
		"$face" "$face" "$face" "$face" "$face" >in.ndjson
	run --separate-stderr "$FC" --max-faces 2 <in.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# The two with the highest "score", in their order; a face without one is the least sure.
	[ "$(jq -c '[.faces[] | .score]' <<<"${lines[0]}")" = '[0.9,0.7]' ]
	[ "$(jq '.faces_dropped' <<<"${lines[0]}")" -eq 3 ]
	jq -e '.faces[0].emotion and .faces[1].emotion' <<<"${lines[0]}" >/dev/null
	jq -e '(.faces | length) == 1 and .faces[0].emotion and (has("faces_dropped") | not)' \
		<<<"${lines[1]}" >/dev/null
	run --separate-stderr "$FC" --max-line 40 <in.ndjson
	[ "$status" -eq 1 ]
	[[ ${lines[0]} == *'line is longer than 40 bytes'* ]]
}

@test "every line fer-detect writes at its default limits is read at fer-classify's defaults" {
	need_photos
	# The longest line fer-detect reads by default, a path and a field of the user's own...
	start=$(printf '{"path":"%s","note":"' "$FM_TESTDATA/photos/vlfeat-team.jpg")
	{
		printf '%s' "$start"
		head -c $((1048576 - ${#start} - 2)) /dev/zero | tr '\0' a
		printf '"}\n'
	} >in.ndjson
	[ "$(wc -c <in.ndjson)" -eq 1048577 ]
	"$FM_BIN/fer-detect" --crops <in.ndjson >detected.ndjson
	[ "$(jq '.faces | length' detected.ndjson)" -gt 2 ]
	[ "$(wc -c <detected.ndjson)" -gt 1048577 ]
	run --separate-stderr "$FC" <detected.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq '[.faces[] | select(.emotion)] | length' <<<"$output")" -gt 2 ]
	# ...with its most faces (--max-faces), each as long as one of fer-detect's can be.
	jq -c '.faces[0] as $f | .faces = [range(1000) | $f + {x: 999999999, y: 999999999,
		w: 99999, h: 99999, score: 0.123456789012345, neighbors: 999999999}]' \
		detected.ndjson >most.ndjson
	[ "$(wc -c <most.ndjson)" -gt 4000000 ]
	run --separate-stderr "$FC" <most.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(jq '[.faces[] | select(.emotion)] | length' <<<"$output")" -eq 1000 ]
}

@test "--max-faces keeps the same faces in fer-detect and in fer-classify" {
	need_photos
	"$FM_BIN/fer-detect" "$FM_TESTDATA/photos/vlfeat-team.jpg" >all.ndjson
	[ "$(jq '.faces | length' all.ndjson)" -gt 2 ]
	# The detector's order is its certainty: reverse it, and fer-classify still finds them.
	jq -c '.faces |= reverse' all.ndjson >reversed.ndjson
	"$FM_BIN/fer-detect" --max-faces 2 "$FM_TESTDATA/photos/vlfeat-team.jpg" >two.ndjson
	run --separate-stderr "$FC" --max-faces 2 <reversed.ndjson
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.faces[] | {x, y, w, h}] | sort' <<<"$output")" = \
		"$(jq -c '[.faces[] | {x, y, w, h}] | sort' two.ndjson)" ]
	[ "$(jq '.faces_dropped' <<<"$output")" = "$(jq '.faces_dropped' two.ndjson)" ]
}
