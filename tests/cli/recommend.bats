#!/usr/bin/env bats
# tests/cli/recommend.bats: recommend as a user runs it: options and usage errors, rankings
# whose right answer is known by construction (testdata/rank/library.ndjson: elegy.wav is the
# saddest song, sunrise.wav the happiest, overdrive.wav the angriest), faces pooled by size and
# over time, --each, the record's fields and pass-through, feedback moving songs up and down,
# history, ties, diversity, learning profiles, the index and its damage, every kind of bad
# input, a full disk, and the EXAMPLES of man/recommend.1.

setup() {
	load helpers
	# FM_BIN=build/bin, as typed at the root: the tests run elsewhere.
	FM_BIN=$(cd "$FM_BIN" && pwd)
	R=$FM_BIN/recommend
	L=$FM_TESTDATA/rank/library.ndjson
	unset FERMATA_PROFILES
	cd "$BATS_TEST_TMPDIR" || return 1
}

# usage_error: run has exited 2 with nothing on stdout and the usage lines last on stderr.
usage_error() {
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$(count_matching '^usage: recommend ')" -eq 1 ]
	[[ ${stderr_lines[-1]} == "       recommend --learn "* ]]
}

# paths: the "path" of every output record, on one line.
paths() {
	printf '%s\n' "$output" | jq -r .path | tr '\n' ' ' | sed 's/ $//'
}

# face JSON: a fer-classify record with one face of the given scores.
face() {
	printf '{"path":"p.jpg","width":100,"height":100,"faces":[{"x":0,"y":0,"w":50,"h":50,"score":0.9,"scores":%s}]}\n' "$1"
}

@test "--help and --version" {
	run --separate-stderr "$R" --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: recommend [-hV] "* ]]
	for o in --build-index --changes-only --diverse --dwell --each --emotion --exclude-history --feedback --half-life \
		--hysteresis --index --learn --library --now --profiles --recent --scores --strategy --strength; do
		[[ $output == *" $o "* ]]
	done
	run --separate-stderr "$R" -V
	[ "$status" -eq 0 ]
	[ "$output" = "recommend (fermata) $("$FM_BIN/fer-detect" -V | cut -d ' ' -f 3)" ]
}

@test "the usage lines are the SYNOPSIS of man/recommend.1" {
	synopsis=$(mandoc -T ascii "$FM_ROOT/man/recommend.1" | col -bx |
		sed -n '/^SYNOPSIS/,/^[A-Z]/{/^ /p}' | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	usage=$("$R" --help | sed -n '1,/^  -/p' | sed '$d' | sed 's/^usage: //' |
		tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	[ "$synopsis" = "$usage" ]
}

@test "bad options are usage errors with exit 2" {
	while IFS= read -r args; do
		eval "set -- $args"
		run --separate-stderr "$R" "$@"
		usage_error || { echo "args: $args"; false; }
	done <<-EOF
		--bogus
		--library $L -n 0
		--library $L -n x
		--library $L --strategy sideways
		--library $L --emotion blue
		--library $L --scores '{'
		--library $L --scores '{"sad":-1}'
		--library $L --scores '{"sad":0}'
		--library $L --scores '{"contempt":1}'
		--library $L --diverse colour
		--library $L --diverse mmr=2
		--library $L --half-life 0
		--library $L --dwell 5
		--library $L --hysteresis 0.1
		--library $L --changes-only
		--library $L --each --dwell -1
		--library $L --each --hysteresis 1.5
		--library $L --strength 0
		--library $L --recent -1
		--library $L --now yesterday
		--library $L --max-line 1
		--library $L --max-line 2147483649
		--library $L --max-songs 0
		--library $L --max-songs 134217729
		--emotion sad
		--index x.idx --library $L
		--library $L --emotion sad --scores '{"sad":1}'
		--library $L --emotion sad --each
		--library $L --emotion sad faces.ndjson
		--library $L --build-index a.idx --learn b.json
		--index a.idx --build-index b.idx
		--library $L --build-index a.idx faces.ndjson
		--library ''
		--library -
		--library
	EOF
}

@test "a sad face gets the saddest song first under match" {
	face '{"sad":0.9,"neutral":0.1}' >in
	run --separate-stderr "$R" --library "$L" -n 3 <in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 3 ]
	printf '%s\n' "${lines[0]}" | jq -e '.rank == 1 and .path == "elegy.wav" and .emotion == "sad"
		and .strategy == "match" and (.why | test("slow tempo")) and (.why | test("dark timbre"))'
	printf '%s\n' "$output" | jq -s -e '[.[].rank] == [1,2,3] and ([.[].score] | . == sort_by(-.))'
}

@test "under uplift the saddest song is not first, and the list ends happier" {
	face '{"sad":1}' >in
	run --separate-stderr "$R" --library "$L" -n 11 --strategy uplift <in
	[ "$status" -eq 0 ]
	printf '%s\n' "${lines[0]}" | jq -e '.path != "elegy.wav" and .mode == "major" and .strategy == "uplift"'
	# A happy song comes before the saddest one, which match put first.
	order=" $(paths) "
	before=${order%% elegy.wav *}
	[[ $before == *" sunrise.wav"* ]]
}

@test "calm lowers the energy; every expression finds its own corner" {
	run --separate-stderr "$R" --library "$L" --emotion angry -n 1
	[ "$(paths)" = "overdrive.wav" ]
	run --separate-stderr "$R" --library "$L" --emotion angry -n 1 --strategy calm
	printf '%s\n' "$output" | jq -e '.loudness < -15 and .tempo < 100'
	run --separate-stderr "$R" --library "$L" --emotion happy -n 1
	[ "$(paths)" = "sunrise.wav" ]
	# Fear shares anger's loud, tense corner, as it does on recorded music
	# (scripts/bench/moodset.sh); alarm.wav, quiet with a swinging level, comes before every
	# calm and sad song. Surprise, aroused and of mixed valence, takes fast, loud songs.
	run --separate-stderr "$R" --library "$L" --emotion fear -n 5
	[[ "$(paths) " == "overdrive.wav "* ]]
	[[ " $(paths) " == *" alarm.wav "* ]]
	run --separate-stderr "$R" --library "$L" --emotion surprise -n 3
	printf '%s\n' "$output" | jq -s -e 'all(.tempo >= 120 and .loudness > -15)'
}

@test "the record: rank, path, score, emotion, mood, strategy, why, then the song's fields" {
	run --separate-stderr "$R" --library "$L" --emotion sad -n 11
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 11 ]
	printf '%s\n' "$output" | jq -e '(keys_unsorted[:8] == ["rank","path","score","emotion","mood","strategy","why","duration"])
		and (.score | type == "number" and . >= -1 and . <= 1)
		and (.title | type == "string") and (.artist | type == "string") and (.why | length > 0)'
	# The song's own "emotion" tag comes out as "song_emotion".
	jq -c 'if .path == "elegy.wav" then . + {emotion: "sad"} else . end' "$L" >tagged.ndjson
	run --separate-stderr "$R" --library tagged.ndjson --emotion happy -n 11
	printf '%s\n' "$output" | jq -s -e 'map(select(.path == "elegy.wav"))[0] | .emotion == "happy" and .song_emotion == "sad"'
}

@test "--emotion and --scores need no input; scores are renormalised" {
	run --separate-stderr "$R" --library "$L" --scores '{"sad":0.5,"neutral":0.5}' -n 5 </dev/null
	[ "$status" -eq 0 ]
	a=$output
	run --separate-stderr "$R" --library "$L" --scores '{"sad":3,"neutral":3}' -n 5
	[ "$output" = "$a" ]
	face '{"sad":30,"neutral":30}' >in
	run --separate-stderr "$R" --library "$L" -n 5 <in
	[ "$output" = "$a" ]
}

@test "emotion names are read in any case: options, records, profiles and feedback" {
	want=$("$R" --library "$L" --emotion sad -n 5)
	[ -n "$want" ]
	for spelt in Sad SAD sAd; do
		[ "$("$R" --library "$L" --emotion $spelt -n 5)" = "$want" ]
	done
	[ "$("$R" --library "$L" --scores '{"Sad":1}' -n 5)" = "$want" ]
	face '{"SAD":1}' >in
	echo '{"path":"q.jpg","faces":[{"emotion":"Sad"}]}' >>in
	[ "$("$R" --library "$L" -n 5 in)" = "$want" ]
	# A profiles file with capitalised names reads as the shipped one.
	sed 's/"sad": {/"Sad": {/; s/"happy": {/"HAPPY": {/' "$FM_ROOT/models/profiles.json" >caps.json
	grep -q '"Sad": {' caps.json && grep -q '"HAPPY": {' caps.json
	[ "$("$R" --library "$L" --profiles caps.json --emotion sad -n 5)" = "$want" ]
	# A feedback line's "emotion" too.
	echo '{"path":"lullaby.wav","emotion":"sad","action":"skip"}' >lower.ndjson
	echo '{"path":"lullaby.wav","emotion":"Sad","action":"skip"}' >upper.ndjson
	[ "$("$R" --library "$L" --emotion sad -n 11 --feedback upper.ndjson)" = \
		"$("$R" --library "$L" --emotion sad -n 11 --feedback lower.ndjson)" ]
	[ "$("$R" --library "$L" --emotion sad -n 11 --feedback upper.ndjson)" != \
		"$("$R" --library "$L" --emotion sad -n 11)" ]
	# Other names are still refused, the seven named.
	run --separate-stderr "$R" --library "$L" --emotion Blue
	[ "$status" -eq 2 ]
	[[ ${stderr_lines[0]} == "recommend: --emotion: unknown emotion 'Blue' (one of angry, disgust, fear, happy, sad, surprise, neutral)" ]]
}

@test "faces pool by size and detection score, photos count alike" {
	# One photo: a large happy face and a small sad one.
	echo '{"path":"a.jpg","faces":[{"w":200,"h":200,"score":0.9,"scores":{"happy":1}},{"w":40,"h":40,"score":0.9,"scores":{"sad":1}}]}' >in
	run --separate-stderr "$R" --library "$L" -n 1 <in
	printf '%s\n' "$output" | jq -e '.emotion == "happy"'
	# Two photos, each of one face: a small sad face counts as much as a large happy one.
	{
		echo '{"path":"a.jpg","faces":[{"w":300,"h":300,"scores":{"happy":0.6,"neutral":0.4}}]}'
		echo '{"path":"b.jpg","faces":[{"w":30,"h":30,"scores":{"sad":1}}]}'
	} >in
	run --separate-stderr "$R" --library "$L" -n 1 <in
	printf '%s\n' "$output" | jq -e '.emotion == "sad"'
}

@test "--half-life lets the latest frames decide" {
	for t in 0 1 2 3 4 5; do
		printf '{"frame":%d,"t":%d,"faces":[{"w":50,"h":50,"scores":{"happy":1}}]}\n' "$t" "$t"
	done >frames
	for t in 6 7; do
		printf '{"frame":%d,"t":%d,"faces":[{"w":50,"h":50,"scores":{"sad":1}}]}\n' "$t" "$t"
	done >>frames
	run --separate-stderr "$R" --library "$L" -n 1 <frames
	printf '%s\n' "$output" | jq -e '.emotion == "happy"'
	run --separate-stderr "$R" --library "$L" -n 1 --half-life 1 <frames
	printf '%s\n' "$output" | jq -e '.emotion == "sad" and .path == "elegy.wav"'
}

@test "\"mood\" shows the mixture the ranking used, so that two \"neutral\" faces' playlists agree with their labels" {
	face '{"neutral":0.4,"angry":0.35,"sad":0.25}' >a
	face '{"neutral":0.4,"happy":0.35,"surprise":0.25}' >b
	run --separate-stderr "$R" --library "$L" -n 1 a
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.emotion == "neutral" and .mood == {"neutral":0.4,"angry":0.35,"sad":0.25}'
	printf '%s\n' "$output" | jq -e '.mood | keys_unsorted == ["neutral","angry","sad"]'
	a=$(jq -r .path <<<"$output")
	run --separate-stderr "$R" --library "$L" -n 1 b
	printf '%s\n' "$output" | jq -e '.emotion == "neutral" and .mood == {"neutral":0.4,"happy":0.35,"surprise":0.25}'
	[ "$(jq -r .path <<<"$output")" != "$a" ]
	# A share under 0.005 is left out; a song's own "mood" tag comes out as "song_mood".
	echo '{"path":"s.wav","tempo":100,"mood":"mellow"}' >lib.ndjson
	echo '{"path":"t.wav","tempo":140}' >>lib.ndjson
	run --separate-stderr "$R" --library lib.ndjson --scores '{"sad":0.996,"happy":0.004}' -n 1
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.mood == {"sad":1} and .song_mood == "mellow"'
	# A neutral face alone is never explained by what neutral does not ask for.
	run --separate-stderr "$R" --library "$L" --emotion neutral -n 11
	! printf '%s\n' "$output" | jq -r .why | grep -E 'fast tempo|loud|wide dynamics|noisy|gritty'
}

@test "--each ranks each record with faces, naming it in \"query\"" {
	{
		face '{"happy":1}'
		echo '{"path":"empty.jpg","faces":[]}'
		echo '{"frame":3,"t":0.1,"faces":[{"scores":{"sad":1}}]}'
		echo '{"path":"x.jpg","error":"not a JPEG"}'
	} >in
	run --separate-stderr "$R" --library "$L" -n 2 --each <in
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 4 ]
	printf '%s\n' "${lines[0]}" | jq -e '.query == {"path":"p.jpg"} and .rank == 1 and .path == "sunrise.wav"'
	printf '%s\n' "${lines[2]}" | jq -e '.query == {"frame":3,"t":0.1} and .rank == 1 and .path == "elegy.wav"'
}

# frames FILE: eleven seconds of a face wavering across the tie between stroll.wav
# (neutral 0.55, angry 0.45) and sunrise.wav (0.5 and 0.5), a frame every half second.
wavering() {
	for k in $(seq 0 21); do
		if [ $((k % 2)) -eq 0 ]; then s='{"neutral":0.55,"angry":0.45}'; else s='{"neutral":0.5,"angry":0.5}'; fi
		printf '{"frame":%d,"t":%s,"faces":[{"w":50,"h":50,"scores":%s}]}\n' "$k" "$(awk "BEGIN{print $k/2}")" "$s"
	done
}

@test "--each on frames: a mood wavering across a tie no longer changes the song every frame" {
	wavering >frames
	# Without the hold, the flicker of the issue: the top song changes at every frame.
	run --separate-stderr "$R" --library "$L" --each -n 1 --dwell 0 --hysteresis 0 <frames
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 22 ]
	[ "$(paths)" = "$(for k in $(seq 0 10); do printf 'stroll.wav sunrise.wav '; done | sed 's/ $//')" ]
	# With the defaults, one song for all eleven seconds, the first frame's.
	run --separate-stderr "$R" --library "$L" --each -n 1 <frames
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 22 ]
	[ "$(printf '%s\n' "$output" | jq -r .path | sort -u)" = "stroll.wav" ]
	# Every record shows the mood the ranking used: the one held.
	printf '%s\n' "$output" | jq -e -s 'all(.[]; .mood == {"neutral":0.55,"angry":0.45})'
	# With --changes-only, one ranking.
	run --separate-stderr "$R" --library "$L" --each -n 1 --changes-only <frames
	[ "${#lines[@]}" -eq 1 ]
	printf '%s\n' "${lines[0]}" | jq -e '.query == {"frame":0,"t":0} and .path == "stroll.wav"'
	run --separate-stderr "$R" --library "$L" --each -n 1 --changes-only --dwell 0 --hysteresis 0 <frames
	[ "${#lines[@]}" -eq 22 ]
}

@test "--each on frames: a real change of mood changes the songs once the dwell has passed" {
	for t in 0 1 2 3; do
		printf '{"frame":%d,"t":%d,"faces":[{"w":50,"h":50,"scores":{"sad":1}}]}\n' "$t" "$t"
	done >frames
	for t in 4 5 6 7 8 9; do
		printf '{"frame":%d,"t":%d,"faces":[{"w":50,"h":50,"scores":{"happy":1}}]}\n' "$t" "$t"
	done >>frames
	# The face turns happy at 4 s; the ranking made at 0 s stays until 5 s.
	run --separate-stderr "$R" --library "$L" --each -n 1 --changes-only <frames
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	printf '%s\n' "${lines[0]}" | jq -e '.query.t == 0 and .path == "elegy.wav" and .mood == {"sad":1}'
	printf '%s\n' "${lines[1]}" | jq -e '.query.t == 5 and .path == "sunrise.wav" and .mood == {"happy":1}'
	run --separate-stderr "$R" --library "$L" --each -n 1 --changes-only --dwell 0 <frames
	printf '%s\n' "${lines[1]}" | jq -e '.query.t == 4 and .path == "sunrise.wav"'
	# --changes-only compares the whole ranking: with -n 3 the same.
	run --separate-stderr "$R" --library "$L" --each -n 3 --changes-only <frames
	[ "${#lines[@]}" -eq 6 ]
	# Photos have no time and are never held: each gets its own mood's songs.
	printf '%s\n' '{"path":"a.jpg","faces":[{"scores":{"sad":1}}]}' \
		'{"path":"b.jpg","faces":[{"scores":{"happy":1}}]}' >photos
	run --separate-stderr "$R" --library "$L" --each -n 1 photos
	[ "$(paths)" = "elegy.wav sunrise.wav" ]
}

@test "no face anywhere: exit 0, nothing out, a note on stderr; bad input stays exit 1" {
	printf '%s\n' '{"path":"a.jpg","faces":[]}' '{"path":"b.jpg","error":"unreadable"}' >in
	run --separate-stderr "$R" --library "$L" <in
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$stderr" = "recommend: no face with expression scores in the input: nothing to recommend" ]
	run --separate-stderr "$R" --library "$L" </dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run --separate-stderr "$R" --library "$L" --each <in
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ $stderr == *"nothing to recommend" ]]
	# A cron job tells "nobody in the photo" from bad input by the status.
	echo 'not json' >>in
	run --separate-stderr "$R" --library "$L" <in
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "bad input records are said on stderr, exit 1, and the rest still ranks" {
	{
		face '{"sad":1}'
		echo 'not json'
		echo '{"path":"c.jpg","faces":[{"scores":{"contempt":1}}]}'
		echo '{"path":"d.jpg","faces":[{"w":5,"h":5}]}'
		echo '{"path":"e.jpg","faces":"none"}'
	} >in
	run --separate-stderr "$R" --library "$L" -n 1 <in
	[ "$status" -eq 1 ]
	[ "$(paths)" = "elegy.wav" ]
	[ "${#stderr_lines[@]}" -eq 4 ]
	[[ ${stderr_lines[0]} == "recommend: stdin: line 2: "* ]]
	[ "${stderr_lines[1]}" = 'recommend: c.jpg: face 1: unknown emotion "contempt" in "scores"' ]
	[[ ${stderr_lines[2]} == "recommend: d.jpg: face 1: no \"scores\" nor \"emotion\""* ]]
	[ "${stderr_lines[3]}" = 'recommend: e.jpg: "faces" is not an array' ]
}

@test "names holding escape sequences reach the terminal as '?', as from fer-detect" {
	printf '{"path":"a\\u001b[31mred","faces":"x"}\n' >in
	run --separate-stderr "$R" --library "$L" <in
	[ "$status" -eq 1 ]
	[ "${stderr_lines[0]}" = 'recommend: a?[31mred: "faces" is not an array' ]
	[ "$stderr" = "$(printf '%s\n' 'recommend: a?[31mred: "faces" is not an array' \
		'recommend: no face with expression scores in the input: nothing to recommend')" ]
	run --separate-stderr "$R" --library "$(printf 'songs\033[2J.ndjson')" --emotion sad
	[ "$status" -eq 2 ]
	[ "$stderr" = 'recommend: songs?[2J.ndjson: no such file or directory' ]
	printf '{"path":"x.wav","emotion":"\\u001b[31mbored","action":"like"}\n' >fb.ndjson
	run --separate-stderr "$R" --library "$L" --emotion sad -n 1 --feedback fb.ndjson
	[ "$status" -eq 1 ]
	[ "$stderr" = 'recommend: fb.ndjson: line 1: unknown emotion "?[31mbored"' ]
	# U+009B, the one-character CSI of terminals that take C1 controls; é stays as it is.
	printf '{"path":"\u00e9\u009b31mred","faces":"x"}\n' >in
	run --separate-stderr "$R" --library "$L" <in
	[ "${stderr_lines[0]}" = 'recommend: é?31mred: "faces" is not an array' ]
}

@test "operands are files of records; a missing one is said" {
	face '{"sad":1}' >a.ndjson
	run --separate-stderr "$R" --library "$L" -n 1 a.ndjson
	[ "$(paths)" = "elegy.wav" ]
	run --separate-stderr "$R" --library "$L" -n 1 a.ndjson nowhere.ndjson
	[ "$status" -eq 1 ]
	[ "$(paths)" = "elegy.wav" ]
	[[ $stderr == "recommend: nowhere.ndjson: no such file or directory" ]]
}

@test "an empty or unreadable library exits 2 before reading input" {
	: >empty.ndjson
	run --separate-stderr "$R" --library empty.ndjson --emotion sad
	[ "$status" -eq 2 ]
	[ "$stderr" = "recommend: the library has no song to recommend (empty.ndjson)" ]
	run --separate-stderr "$R" --library nowhere.ndjson --emotion sad
	[ "$status" -eq 2 ]
	[ "$stderr" = "recommend: nowhere.ndjson: no such file or directory" ]
	echo '{"path":"a.flac","error":"not audio"}' >failed.ndjson
	run --separate-stderr "$R" --library failed.ndjson --emotion sad
	[ "$status" -eq 2 ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[[ ${stderr_lines[0]} == *"1 song left out: song-featurize could not read it"* ]]
}

@test "--max-songs bounds the library, read or indexed; --max-line bounds every line" {
	run --separate-stderr "$R" --library "$L" --max-songs 10 --emotion sad
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "recommend: $L: line 11: the library has more than 10 songs (see --max-songs)" ]
	run --separate-stderr "$R" --library "$L" --max-songs 11 --emotion sad -n 1
	[ "$status" -eq 0 ]
	[ "$(paths)" = elegy.wav ]
	"$R" --build-index lib.idx --library "$L"
	run --separate-stderr "$R" --index lib.idx --max-songs 10 --emotion sad
	[ "$status" -eq 2 ]
	[ "$stderr" = "recommend: lib.idx: the index holds 11 songs, more than 10 (see --max-songs)" ]
	# The longest song record is a few hundred bytes: a library line over the limit is left
	# out and said, as a malformed one; a longer stdin record is said, and the rest pools.
	n=$(awk '{ print length($0) }' "$L" | sort -n | tail -n 1)
	run --separate-stderr "$R" --library "$L" --max-line $((n - 1)) --emotion sad
	[ "$status" -eq 1 ]
	[[ ${stderr_lines[0]} == "recommend: $L: line "*": line is longer than $((n - 1)) bytes (see --max-line)" ]]
	pad=$(head -c "$n" /dev/zero | tr '\0' x)
	{ face '{"sad":1}'; face '{"happy":1}' | sed 's/}$/,"pad":"'"$pad"'"}/'; } >faces.ndjson
	run --separate-stderr "$R" --library "$L" --max-line "$n" -n 1 faces.ndjson
	[ "$status" -eq 1 ]
	[ "$(paths)" = elegy.wav ]
	[ "$stderr" = "recommend: faces.ndjson: line 2: line is longer than $n bytes (see --max-line)" ]
}

@test "songs with missing or non-numeric descriptors rank with finite scores" {
	{
		cat "$L"
		echo '{"path":"bare.wav"}'
		echo '{"path":"odd.wav","tempo":"fast","mode":"phrygian","loudness":-20,"flatness_mean":7}'
		echo '{"path":"silence.wav","tempo":null,"mode":null,"loudness":-100,"rms_mean":0,"rms_std":0,"centroid_mean":0}'
		echo '{"path":"x.wav","error":"not audio"}'
		echo '{"path":"elegy.wav","tempo":200}'
		echo 'oops'
		echo '{"tempo":120}'
	} >lib.ndjson
	run --separate-stderr "$R" --library lib.ndjson --emotion sad -n 20
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 13 ]
	printf '%s\n' "$output" | jq -s -e 'map(select(.path == "bare.wav"))[0].score == 0'
	printf '%s\n' "$output" | jq -s -e 'all(.[]; .score | isnan | not)'
	! grep -q -i nan <<<"$output"
	# elegy.wav came first in the file: the later record of the same path is left out.
	printf '%s\n' "$output" | jq -s -e '[.[] | select(.path == "elegy.wav")] | length == 1 and .[0].tempo == 58'
	[ "$(count_matching 'lib.ndjson: line 17: ')" -eq 1 ]
	[ "$(count_matching 'lib.ndjson: line 18: record has no "path"')" -eq 1 ]
	[ "$(count_matching '1 song left out: song-featurize could not read it')" -eq 1 ]
	[ "$(count_matching '1 song left out: the same "path" came earlier')" -eq 1 ]
	[ "$(count_matching '1 song with descriptors that are not usable numbers')" -eq 1 ]
	[ "$(count_matching '1 song left out: near-silent \("loudness" under -70 dBFS\)')" -eq 1 ]
}

@test "silent, near-silent (-78 dBFS) and short songs are never recommended, and it is said" {
	command -v sox >/dev/null || skip "sox is not installed (scripts/deps.sh installs it)"
	# Clicks every half second for 8 s; the same at -78 dBFS peak, dithered to 16 bits as
	# a quiet track is; 8 s of digital silence; and 1 s of the loud clicks.
	sox -n -r 22050 loud.wav synth 0.02 sine 1000 fade 0 0.02 0.015 pad 0 0.48 repeat 15
	sox loud.wav -b 16 quiet.wav gain -n -78
	sox -n -r 22050 silent.wav trim 0 8
	sox loud.wav short.wav trim 0 1
	"$FM_BIN/song-featurize" loud.wav quiet.wav silent.wav short.wav >songs.ndjson
	jq -s -e '.[1] | .loudness < -70 and .tempo == null and .key == null and .onset_rate == null' \
		songs.ndjson
	cat "$L" songs.ndjson >lib.ndjson
	for e in angry disgust fear happy sad surprise neutral; do
		run --separate-stderr "$R" --library lib.ndjson --emotion "$e" -n 20
		[ "$status" -eq 0 ]
		[ "${#lines[@]}" -eq 12 ]
		! grep -q -E 'quiet.wav|silent.wav|short.wav' <<<"$output"
		[ "${#stderr_lines[@]}" -eq 2 ]
		[ "${stderr_lines[0]}" = "recommend: lib.ndjson: 2 songs left out: near-silent (\"loudness\" under -70 dBFS)" ]
		[ "${stderr_lines[1]}" = "recommend: lib.ndjson: 1 song left out: shorter than 5 s (see --min-duration)" ]
	done
	# --min-duration 0 lets the short song in; nothing lets silence in.
	run --separate-stderr "$R" --library lib.ndjson --emotion happy -n 20 --min-duration 0
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 13 ]
	grep -q short.wav <<<"$output"
	run --separate-stderr "$R" --library lib.ndjson --emotion happy -n 20 --min-duration 0.5
	[ "${#lines[@]}" -eq 13 ]
	run --separate-stderr "$R" --library lib.ndjson --emotion happy --min-duration 13
	[ "$status" -eq 2 ]
	[[ $stderr == *"the library has no song to recommend"* ]]
	run --separate-stderr "$R" --library lib.ndjson --emotion happy --min-duration -1
	[ "$status" -eq 2 ]
	# An index keeps what was left out when it was built.
	"$R" --build-index lib.idx --library lib.ndjson 2>/dev/null
	run --separate-stderr "$R" --index lib.idx --emotion sad -n 20
	[ "${#lines[@]}" -eq 12 ]
}

@test "feedback: a liked song moves up, a skipped one down, unknown songs are said" {
	run --separate-stderr "$R" --library "$L" --emotion sad -n 11
	before=" $(paths) "
	[[ $before == *" grey.wav lullaby.wav "* ]]
	{
		echo '{"path":"lullaby.wav","emotion":"sad","action":"like","time":"2024-05-01T18:00:00Z"}'
		echo '{"path":"grey.wav","emotion":"sad","rating":1,"time":1714586400}'
		echo '{"path":"grey.wav","emotion":"sad","action":"skip"}'
		echo '{"path":"gone.wav","emotion":"sad","action":"like"}'
		echo '{"path":"sunrise.wav","emotion":"happy","action":"skip"}'
	} >fb.ndjson
	run --separate-stderr "$R" --library "$L" --emotion sad -n 11 --feedback fb.ndjson --now 2024-05-02T00:00:00Z
	[ "$status" -eq 0 ]
	after=" $(paths) "
	[[ $after == *" lullaby.wav "*" grey.wav "* ]]
	[ "$stderr" = "recommend: fb.ndjson: 1 line names songs not in the library: ignored" ]
	# The liked song's rank rises (scores are blends of mood and taste: the place counts).
	old=$("$R" --library "$L" --emotion sad -n 11 | jq -s 'map(select(.path == "lullaby.wav"))[0].rank')
	new=$(printf '%s\n' "$output" | jq -s 'map(select(.path == "lullaby.wav"))[0].rank')
	[ "$new" -lt "$old" ]
}

@test "taste: no judgement leaves every ranking byte for byte as it was" {
	{
		# fer-react's plays without a face: no rating, no reaction, a note; one without "time".
		echo '{"path":"elegy.wav","start":0,"end":30,"time":1714586400,"emotion":"sad","rating":null,"reaction":null,"note":"no face in the frames of the play","frames":0,"brief":[]}'
		echo '{"path":"rain.wav","start":30,"end":60,"emotion":null,"rating":null,"reaction":null,"note":"no face"}'
	} >plays.ndjson
	: >empty.ndjson
	for args in "--emotion sad" "--emotion happy --strategy uplift" "--emotion angry --strategy calm" \
		"--emotion neutral --diverse mmr,artist"; do
		# shellcheck disable=SC2086
		want=$("$R" --library "$L" -n 11 $args)
		for fb in empty.ndjson plays.ndjson; do
			# shellcheck disable=SC2086
			run --separate-stderr "$R" --library "$L" -n 11 $args --feedback $fb
			[ "$status" -eq 0 ]
			[ -z "$stderr" ]
			[ "$output" = "$want" ]
		done
	done
}

@test "taste: fer-react's records are read as they come, the reaction counted" {
	{
		echo '{"path":"lullaby.wav","start":0,"end":180,"time":1714586400,"emotion":"sad","rating":5,"reaction":0.62,"frames":1700,"frames_before":50,"valence_before":0.01,"valence_during":0.4,"brief":[{"emotion":"happy","start":12.5,"duration":0.8}]}'
		echo '{"path":"grey.wav","start":180,"end":400,"emotion":"sad","reaction":-0.7,"frames":2000}'
		echo '{"path":"elegy.wav","start":400,"end":600,"emotion":"sad","rating":null,"reaction":null,"note":"no face"}'
	} >fb.ndjson
	run --separate-stderr "$R" --library "$L" --emotion sad -n 11 --feedback fb.ndjson --now 2024-05-02T00:00:00Z
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	after=" $(paths) "
	[[ $after == *" lullaby.wav "*" grey.wav "* ]]
	printf '%s\n' "$output" | jq -s -e 'map(select(.path == "lullaby.wav"))[0].why | endswith("; you liked it")'
	printf '%s\n' "$output" | jq -s -e 'map(select(.path == "grey.wav"))[0].why | endswith("; you disliked it")'
}

@test "taste: a consistent taste carries to songs never judged and to other moods" {
	# Likes of fast, loud songs and skips of slow, quiet ones, all while neutral;
	# festival.wav and drift.wav are never judged.
	{
		for s in sunrise overdrive sting; do
			echo '{"path":"'$s'.wav","emotion":"neutral","action":"like"}'
			echo '{"path":"'$s'.wav","emotion":"neutral","rating":5}'
		done
		for s in elegy lullaby rain; do
			echo '{"path":"'$s'.wav","emotion":"neutral","action":"skip"}'
			echo '{"path":"'$s'.wav","emotion":"neutral","rating":1}'
		done
	} >fb.ndjson
	for mood in neutral sad; do
		run --separate-stderr "$R" --library "$L" --emotion $mood -n 11
		before=" $(paths) "
		[[ $before == *" drift.wav "*" festival.wav "* ]]
		run --separate-stderr "$R" --library "$L" --emotion $mood -n 11 --feedback fb.ndjson
		[ "$status" -eq 0 ]
		after=" $(paths) "
		[[ $after == *" festival.wav "*" drift.wav "* ]]
	done
	# The why names a song liked, by its title.
	printf '%s\n' "$output" | jq -s -e 'map(select(.path == "festival.wav"))[0].why | test("; like songs you liked: (Sunrise run|Overdrive|Sting)$")'
}

@test "feedback lines that are not usable are said, exit 1" {
	{
		echo '{"path":"lullaby.wav","emotion":"sad","rating":9}'
		echo '{"path":"lullaby.wav","emotion":"bored","action":"like"}'
		echo '{"path":"lullaby.wav","emotion":"sad","action":"love"}'
		echo '{"path":"lullaby.wav","emotion":"sad","action":"like","time":"last week"}'
		echo '{'
	} >fb.ndjson
	run --separate-stderr "$R" --library "$L" --emotion sad -n 1 --feedback fb.ndjson
	[ "$status" -eq 1 ]
	[ "$(paths)" = "elegy.wav" ]
	[ "${#stderr_lines[@]}" -eq 5 ]
	[ "${stderr_lines[0]}" = 'recommend: fb.ndjson: line 1: "rating" is not a number from 1 to 5' ]
	run --separate-stderr "$R" --library "$L" --emotion sad --feedback nowhere.ndjson
	[ "$status" -eq 2 ]
}

@test "--exclude-history leaves out songs played within --recent" {
	{
		echo 'elegy.wav'
		echo '{"path":"rain.wav","time":"2024-05-01T12:00:00Z"}'
		echo '{"path":"grey.wav","time":"2024-04-01T12:00:00Z"}'
		echo '{"path":"unknown.wav"}'
	} >plays.ndjson
	run --separate-stderr "$R" --library "$L" --emotion sad -n 3 --exclude-history plays.ndjson --now 2024-05-01T20:00:00Z
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(paths)" = "grey.wav lullaby.wav drift.wav" ]
	run --separate-stderr "$R" --library "$L" --emotion sad -n 2 --exclude-history plays.ndjson --now 2024-05-01T20:00:00Z --recent 0
	[ "$(paths)" = "lullaby.wav drift.wav" ]
	run --separate-stderr "$R" --library "$L" --emotion sad --exclude-history "$L" --recent 0
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$stderr" = "recommend: every song of the library is excluded: nothing to recommend" ]
}

@test "history and feedback find songs by real path; a history that matches nothing is said" {
	# The library says "elegy.wav", the logs the same file by its absolute path, or
	# through a symbolic link to its folder.
	touch elegy.wav lullaby.wav
	ln -s . here
	printf '%s\n' "$PWD/elegy.wav" >plays.ndjson
	run --separate-stderr "$R" --library "$L" --emotion sad -n 1 --exclude-history plays.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(paths)" = "rain.wav" ]
	printf '%s\n' "$PWD/here/./elegy.wav" >plays.ndjson
	run --separate-stderr "$R" --library "$L" --emotion sad -n 1 --exclude-history plays.ndjson
	[ "$(paths)" = "rain.wav" ]
	echo '{"path":"'"$PWD"'/lullaby.wav","emotion":"sad","action":"like"}' >fb.ndjson
	run --separate-stderr "$R" --library "$L" --emotion sad -n 11 --feedback fb.ndjson
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# The like found its song: its score and its "why" move.
	[ "$output" != "$("$R" --library "$L" --emotion sad -n 11)" ]
	[[ $(jq -r 'select(.path == "lullaby.wav") | .why' <<<"$output") == *"; you liked it" ]]
	# Files that are not here cannot be resolved: nothing matches, and that is said.
	printf '%s\n' /elsewhere/elegy.wav /elsewhere/rain.wav >plays.ndjson
	run --separate-stderr "$R" --library "$L" --emotion sad -n 1 --exclude-history plays.ndjson
	[ "$status" -eq 0 ]
	[ "$(paths)" = "elegy.wav" ]
	[ "$stderr" = "recommend: plays.ndjson: none of its 2 songs is in the library: nothing excluded" ]
}

@test "times may be \"2024-05-01 18:30:00\", local time in the zone of TZ" {
	echo '{"path":"elegy.wav","time":"2024-05-01T12:00:00Z"}' >plays.ndjson
	# Played an hour before --now in UTC: excluded.
	TZ=UTC0 run --separate-stderr "$R" --library "$L" --emotion sad -n 1 \
		--exclude-history plays.ndjson --recent 7200 --now "2024-05-01 13:00:00"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(paths)" = "rain.wav" ]
	# Five hours west of UTC, 13:00 is 18:00 UTC: six hours after the play, welcome again.
	TZ=XXX+5 run --separate-stderr "$R" --library "$L" --emotion sad -n 1 \
		--exclude-history plays.ndjson --recent 7200 --now "2024-05-01 13:00:00"
	[ "$(paths)" = "elegy.wav" ]
	# The same form in a log line.
	echo '{"path":"elegy.wav","time":"2024-05-01 12:00:00"}' >plays.ndjson
	TZ=UTC0 run --separate-stderr "$R" --library "$L" --emotion sad -n 1 \
		--exclude-history plays.ndjson --recent 7200 --now 2024-05-01T13:00:00Z
	[ "$(paths)" = "rain.wav" ]
	run --separate-stderr "$R" --library "$L" --emotion sad --now "2024-05-01 13:00"
	usage_error
	[[ ${stderr_lines[0]} == *'is neither a number nor a date and time'* ]]
}

@test "equal scores come in library order, run after run" {
	{
		jq -c 'select(.path == "elegy.wav") | .path = "z.wav"' "$L"
		jq -c 'select(.path == "elegy.wav") | .path = "a.wav"' "$L"
		cat "$L"
	} >ties.ndjson
	run --separate-stderr "$R" --library ties.ndjson --emotion sad -n 3
	[ "$(paths)" = "z.wav a.wav elegy.wav" ]
	first=$output
	run --separate-stderr "$R" --library ties.ndjson --emotion sad -n 3
	[ "$output" = "$first" ]
	printf '%s\n' "$output" | jq -s -e '.[0].score == .[2].score'
}

@test "--diverse: one song per artist or album, and MMR" {
	run --separate-stderr "$R" --library "$L" --emotion sad -n 11 --diverse artist
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -s -e '[.[].artist] | length == (unique | length) and length == 5'
	run --separate-stderr "$R" --library "$L" --emotion sad -n 11 --diverse album
	printf '%s\n' "$output" | jq -s -e '[.[].album] | length == (unique | length)'
	run --separate-stderr "$R" --library "$L" --emotion sad -n 4 --diverse mmr,artist
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	run --separate-stderr "$R" --library "$L" --emotion sad -n 4 --diverse mmr=1
	[ "$output" = "$("$R" --library "$L" --emotion sad -n 4)" ]
}

@test "--diverse artist or album on a library without the field warns once and ranks as without" {
	jq -c 'del(.artist)' "$L" >no-artist.ndjson
	run --separate-stderr "$R" --library no-artist.ndjson --emotion sad -n 3 --diverse artist,album
	[ "$status" -eq 0 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$stderr" = 'recommend: --diverse artist: no song in the library has an "artist" (song-featurize writes it from the file'"'"'s tags), so it varies nothing' ]
	[ "$output" = "$("$R" --library no-artist.ndjson --emotion sad -n 3 --diverse album)" ]
	# The same through an index, and nothing said when the field is there.
	"$R" --library no-artist.ndjson --build-index no-artist.idx
	run --separate-stderr "$R" --index no-artist.idx --emotion sad -n 3 --diverse album,artist
	[ "$status" -eq 0 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "recommend: --diverse artist: "* ]]
	run --separate-stderr "$R" --library "$L" --emotion sad -n 3 --diverse artist,album
	[ -z "$stderr" ]
}

@test "a song's title, artist and album (song-featurize's tags) come out in its record" {
	run --separate-stderr "$R" --library "$L" --emotion sad -n 1
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.path, .title, .artist, .album]' <<<"$output")" = '["elegy.wav","Elegy","Ana Gris","Winter"]' ]
}

@test "--learn writes profiles from the songs' tags, which --profiles then uses" {
	jq -c 'if .path == "sunrise.wav" or .path == "festival.wav" then .emotion = "sad"
		elif .path == "elegy.wav" then .emotion = ["happy", "mellow"] else . end' "$L" >tagged.ndjson
	run --separate-stderr "$R" --library tagged.ndjson --learn mine.json
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$stderr" = 'recommend: tagged.ndjson: 1 "emotion" tag not among the seven expressions: ignored' ]
	jq -e '.format == "fermata-profiles 2" and (.profiles.sad.why | test("2 songs"))
		and (.profiles.angry.why | test("kept"))' mine.json
	# This user's sad is loud and fast.
	run --separate-stderr "$R" --library tagged.ndjson --profiles mine.json --emotion sad -n 2
	[ "$(paths)" = "festival.wav sunrise.wav" ]
	run --separate-stderr "$R" --library tagged.ndjson --learn -
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.profiles.happy.vector.tempo < 0'
	run --separate-stderr "$R" --library "$L" --learn mine.json
	[ "$status" -eq 2 ]
	[[ $stderr == *"no song in the library carries an \"emotion\" tag"* ]]
}

@test "--learn and --build-index follow a link, write a FIFO directly, refuse a folder" {
	jq -c 'if .path == "sunrise.wav" then .emotion = "sad" else . end' "$L" >tagged.ndjson
	ln -s real.json link.json
	ln -s real.idx link.idx
	"$R" --library tagged.ndjson --learn link.json
	"$R" --library "$L" --build-index link.idx
	[ -L link.json ] && [ -L link.idx ] && [ -f real.json ] && [ -f real.idx ]
	jq -e '.format == "fermata-profiles 2"' real.json
	[ "$("$R" --index link.idx --emotion sad)" = "$("$R" --library "$L" --emotion sad)" ]
	mkfifo fifo
	# A descriptor open for reading and writing makes a reader at once, however late cat
	# opens the FIFO on a loaded machine; closing it after recommend lets cat see the end
	# (cat must not inherit it, or it would hold a writer itself; bats owns 3 and 4).
	exec 5<>fifo
	cat fifo >got.json 5>&- &
	"$R" --library tagged.ndjson --learn fifo 5>&-
	exec 5>&-
	wait
	[ -p fifo ]
	cmp got.json real.json
	# No reader: refused at once rather than waited for.
	run --separate-stderr timeout 60 "$R" --library "$L" --build-index fifo
	[ "$status" -eq 2 ]
	[ "$stderr" = "recommend: fifo: cannot create a file beside it: a FIFO with no reader" ]
	run --separate-stderr timeout 60 "$R" --library tagged.ndjson --learn fifo
	[ "$status" -eq 2 ]
	[ "$stderr" = "recommend: cannot write fifo: a FIFO with no reader" ]
	mkdir folder
	run --separate-stderr "$R" --library tagged.ndjson --learn folder
	[ "$status" -eq 2 ]
	[ "$stderr" = "recommend: cannot write folder: is a directory" ]
}

@test "--each: a record whose mood has no direction is an error record, and the stream goes on" {
	bad=$FM_TESTDATA/bad
	run --separate-stderr "$R" --library "$L" --profiles "$bad/profiles/opposite.json" --each -n 2 \
		"$bad/records/mood-no-direction.ndjson"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '{"query":{"path":"a.jpg"},"error":"the profiles give this mood no direction"}' ]
	[ "${#lines[@]}" -eq 3 ]
	printf '%s\n' "${lines[1]}" "${lines[2]}" | jq -e -s 'map(.query.path) == ["b.jpg", "b.jpg"]'
	[ "$stderr" = "recommend: a.jpg: the profiles give this mood no direction" ]
}

@test "profiles: --profiles, FERMATA_PROFILES, and a bad file exits 2" {
	run --separate-stderr "$R" --library "$L" --emotion sad --profiles nowhere.json
	[ "$status" -eq 2 ]
	[ "$stderr" = "recommend: profiles: nowhere.json: no such file or directory" ]
	FERMATA_PROFILES=nowhere.json run --separate-stderr "$R" --library "$L" --emotion sad
	[ "$status" -eq 2 ]
	[ "$stderr" = "recommend: profiles: nowhere.json: no such file or directory (from FERMATA_PROFILES)" ]
	FERMATA_PROFILES=nowhere.json run --separate-stderr "$R" --library "$L" --emotion sad -n 1 \
		--profiles "$FM_ROOT/models/profiles.json"
	[ "$status" -eq 0 ]
	sed '/"sad": {/,/}/ s/"tempo": /"tmepo": /' "$FM_ROOT/models/profiles.json" >typo.json
	run --separate-stderr "$R" --library "$L" --emotion sad --profiles typo.json
	[ "$status" -eq 2 ]
	[ "$stderr" = 'recommend: profiles: typo.json: profiles.sad: unknown descriptor "tmepo"' ]
}

@test "the index ranks as the library does, with feedback, history and diversity" {
	run --separate-stderr "$R" --library "$L" --build-index songs.idx
	[ "$status" -eq 0 ]
	[ -z "$output$stderr" ]
	echo 'elegy.wav' >plays
	echo '{"path":"lullaby.wav","emotion":"sad","action":"like"}' >fb.ndjson
	for args in "--emotion sad" "--emotion angry --strategy calm" "--emotion sad --strategy uplift" \
		"--emotion sad --exclude-history plays --feedback fb.ndjson" \
		"--scores {\"sad\":1,\"fear\":1} --diverse mmr,artist"; do
		a=$("$R" --library "$L" -n 11 $args)
		b=$("$R" --index songs.idx -n 11 $args)
		[ "$a" = "$b" ]
	done
	run --separate-stderr "$R" --index songs.idx --learn -
	[ "$status" -eq 2 ]
}

@test "a truncated, damaged or foreign index exits 2 with the reason" {
	"$R" --library "$L" --build-index songs.idx
	size=$(wc -c <songs.idx)
	head -c 2000 songs.idx >cut.idx
	run --separate-stderr "$R" --index cut.idx --emotion sad
	[ "$status" -eq 2 ]
	[ "$stderr" = "recommend: cut.idx: truncated index (2000 of $size bytes)" ]
	head -c 100 songs.idx >tiny.idx
	run --separate-stderr "$R" --index tiny.idx --emotion sad
	[ "$stderr" = "recommend: tiny.idx: truncated index (100 of 512 header bytes)" ]
	cp songs.idx flipped.idx
	printf '\377' | dd of=flipped.idx bs=1 seek=700 conv=notrunc 2>/dev/null
	run --separate-stderr "$R" --index flipped.idx --emotion sad
	[ "$status" -eq 2 ]
	[ "$stderr" = 'recommend: flipped.idx: index section "vectors" is damaged (checksum)' ]
	run --separate-stderr "$R" --index "$L" --emotion sad
	[ "$stderr" = "recommend: $L: not a recommend index" ]
	: >empty.idx
	run --separate-stderr "$R" --index empty.idx --emotion sad
	[ "$status" -eq 2 ]
	run --separate-stderr "$R" --index . --emotion sad
	[ "$stderr" = "recommend: .: is a directory" ]
	# A damaged song line: that song is said and left out, the others come. The lines are
	# section 6 (its offset and size at bytes 160 and 168); the timbre follows them.
	cp songs.idx line.idx
	at=$(od -An -tu8 -j160 -N8 songs.idx | tr -d ' ')
	n=$(od -An -tu8 -j168 -N8 songs.idx | tr -d ' ')
	printf 'X' | dd of=line.idx bs=1 seek=$((at + n - 10)) conv=notrunc 2>/dev/null
	run --separate-stderr "$R" --index line.idx --emotion happy -n 11
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 10 ]
	[[ $stderr == "recommend: song 11 of the library: index record 11 is damaged (checksum)" ]]
}

@test "--format m3u: a playlist of absolute paths, or relative to the --output file's folder" {
	run --separate-stderr "$R" --library "$L" --emotion sad -n 2 --format m3u
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 5 ]
	[ "${lines[0]}" = "#EXTM3U" ]
	[ "${lines[1]}" = "#EXTINF:12,Ana Gris - Elegy" ]
	[ "${lines[2]}" = "$PWD/elegy.wav" ]
	[ "${lines[3]}" = "#EXTINF:12,Ana Gris - Rain on glass" ]
	[ "${lines[4]}" = "$PWD/rain.wav" ]
	mkdir -p lists
	echo "yesterday's" >lists/sad.m3u
	run --separate-stderr "$R" --library "$L" --emotion sad -n 2 --format m3u --output lists/sad.m3u
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(sed -n 3p lists/sad.m3u)" = "../elegy.wav" ]
	[ "$(grep -c . lists/sad.m3u)" -eq 5 ]
	# written whole, beside itself, then renamed: nothing else is left in the folder
	[ "$(ls lists)" = "sad.m3u" ]
	# the same from anywhere: the paths follow the playlist, not the current folder
	(cd lists && "$R" --library "$L" --emotion sad -n 1 --format m3u --output ../top.m3u)
	[ "$(sed -n 3p top.m3u)" = "lists/elegy.wav" ]
}

@test "--format m3u: a song without title or duration, and a newline in a path" {
	printf '%s\n' '{"path":"/m/a\nb.wav","tempo":60}' '{"path":"#2.wav","tempo":150}' >odd.ndjson
	run --separate-stderr "$R" --library odd.ndjson --emotion sad --format m3u --output odd.m3u
	[ "$status" -eq 0 ]
	run cat odd.m3u
	[ "${lines[1]}" = "#EXTINF:-1,a b.wav" ]
	[ "${lines[2]}" = "file:///m/a%0Ab.wav" ]
	[ "${lines[3]}" = "#EXTINF:-1,#2.wav" ]
	[ "${lines[4]}" = "./#2.wav" ]
}

@test "--format and --output: usage errors, a folder that is not there, no face to rank" {
	run --separate-stderr "$R" --library "$L" --each --format m3u
	usage_error
	[[ ${stderr_lines[0]} == *"--format m3u writes one playlist; --each makes a ranking per record"* ]]
	run --separate-stderr "$R" --library "$L" --emotion sad --format json
	usage_error
	[ "${stderr_lines[0]}" = "recommend: --format: 'json' is not ndjson, m3u or text" ]
	run --separate-stderr "$R" --library "$L" --emotion sad --output ''
	usage_error
	run --separate-stderr "$R" --library "$L" --learn p.json --format text
	usage_error
	[[ ${stderr_lines[0]} == *"--format and --output are for rankings, not --learn"* ]]
	run --separate-stderr "$R" --library "$L" --emotion sad --format m3u --output no/such/x.m3u
	[ "$status" -eq 2 ]
	[[ $stderr == "recommend: --output: no/such/x.m3u: cannot write: No such file or directory"* ]]
	# no face: nothing to recommend, and yesterday's playlist stays
	echo "yesterday's" >keep.m3u
	run --separate-stderr "$R" --library "$L" --format m3u --output keep.m3u </dev/null
	[ "$status" -eq 0 ]
	[ "$(cat keep.m3u)" = "yesterday's" ]
}

@test "--format text: an aligned table, cut to the width of a terminal only" {
	run --separate-stderr "$R" --library "$L" --emotion sad -n 3 --format text
	[ "$status" -eq 0 ]
	[ "$output" = "Songs for sad 100% (match)
#  title          artist    score  why
1  Elegy          Ana Gris   0.90  slow tempo, sparse, dark timbre
2  Rain on glass  Ana Gris   0.85  sparse, slow tempo, minor key
3  Grey morning   Ana Gris   0.65  minor key" ]
	# not a terminal: COLUMNS does not cut
	COLUMNS=30 run --separate-stderr "$R" --library "$L" --emotion sad -n 3 --format text
	[ "${lines[2]}" = "1  Elegy          Ana Gris   0.90  slow tempo, sparse, dark timbre" ]
	command -v script >/dev/null || skip "script(1) is missing: no terminal to test in"
	run env COLUMNS=60 script -qec "$R --library $L --emotion sad -n 3 --format text" /dev/null
	[ "$status" -eq 0 ]
	[[ ${lines[2]} == $'1  Elegy          Ana Gris   0.90  slow tempo, sparse, dark\u2026'* ]]
}

@test "--format text --each: a table per record, headed by what it was for" {
	{
		face '{"sad":1}'
		face '{"happy":1}' | jq -c '.path = "b.jpg" | .frame = 3'
	} >faces.ndjson
	run --separate-stderr "$R" --library "$L" --each -n 1 --format text faces.ndjson
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "p.jpg: songs for sad 100% (match)" ]
	[ "${lines[2]}" = "1  Elegy  Ana Gris   0.90  slow tempo, sparse, dark timbre" ]
	[ "${lines[3]}" = "b.jpg, frame 3: songs for happy 100% (match)" ]
	[ "$(printf '%s\n' "$output" | grep -c '^$')" -eq 1 ]
	run --separate-stderr bash -c '"$0" --library "$1" --emotion sad --format text >/dev/full' "$R" "$L"
	[ "$status" -eq 2 ]
}

@test "a full disk is exit 2" {
	run --separate-stderr bash -c '"$0" --library "$1" --emotion sad >/dev/full' "$R" "$L"
	[ "$status" -eq 2 ]
	[[ $stderr == *"recommend: stdout: "* ]]
	run --separate-stderr "$R" --library "$L" --build-index /nonexistent/songs.idx
	[ "$status" -eq 2 ]
	[[ $stderr == "recommend: /nonexistent/songs.idx: cannot create a file beside it: "* ]]
}

# --- EXAMPLES of man/recommend.1 ---------------------------------------------------------------

@test "example: fer-detect | fer-classify | recommend --library songs.ndjson" {
	need_photos
	cp -r "$FM_TESTDATA/photos" photos
	cp "$L" songs.ndjson
	run --separate-stderr bash -c 'find photos -name "*.jpg" | "$0"/fer-detect |
		"$0"/fer-classify | "$0"/recommend --library songs.ndjson' "$FM_BIN"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 10 ]
	printf '%s\n' "$output" | jq -s -e '[.[].rank] == [range(1; 11)]'
}

@test "example: --emotion sad --strategy uplift -n 5 --format text" {
	cp "$L" songs.ndjson
	run --separate-stderr "$R" --library songs.ndjson --emotion sad --strategy uplift -n 5 \
		--format text
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 7 ]
	[ "${lines[0]}" = "Songs for sad 100% (uplift)" ]
	[[ ${lines[2]} == "1  Drift  "* ]]
}

@test "example: tonight's playlist for today's photos, --format m3u --output" {
	need_photos
	mkdir -p photos/today Music
	cp "$FM_TESTDATA"/photos/*.jpg photos/today/
	cp "$L" songs.ndjson
	run --separate-stderr bash -c '"$0"/fer-detect photos/today/*.jpg | "$0"/fer-classify |
		"$0"/recommend --library songs.ndjson -n 20 --format m3u \
		--output Music/tonight.m3u8' "$FM_BIN"
	[ "$status" -eq 0 ]
	[ "$(head -1 Music/tonight.m3u8)" = "#EXTM3U" ]
	[ "$(grep -c '^#EXTINF:12,' Music/tonight.m3u8)" -eq 11 ]
	[ "$(grep -c '^\.\./[a-z]*\.wav$' Music/tonight.m3u8)" -eq 11 ]
}

@test "example: one ranking per photo with --each" {
	need_photos
	cp "$L" songs.ndjson
	run --separate-stderr bash -c '"$0"/fer-detect "$1"/photos/*.jpg | "$0"/fer-classify |
		"$0"/recommend --library songs.ndjson --each -n 3 |
		jq -c "{photo: .query.path, rank, path}"' "$FM_BIN" "$FM_TESTDATA"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -s 'map(.photo) | unique | length')" -ge 2 ]
}

@test "example: build an index, then query it with feedback and history" {
	cp "$L" songs.ndjson
	echo '{"path":"lullaby.wav","emotion":"sad","action":"skip","time":"2024-05-01T18:30:00Z"}' >>feedback.ndjson
	echo '{"path":"elegy.wav","time":"2024-05-01T18:00:00Z"}' >>plays.ndjson
	run --separate-stderr bash -c '"$0" --library songs.ndjson --build-index songs.idx &&
		echo "{\"faces\":[{\"scores\":{\"sad\":1}}]}" |
		"$0" --index songs.idx --feedback feedback.ndjson --exclude-history plays.ndjson --recent 0' "$R"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 10 ]
	[[ $output != *elegy.wav* ]]
}

@test "example: learn profiles from tagged songs" {
	jq -c 'if .path == "elegy.wav" then .emotion = "sad" else . end' "$L" >tagged.ndjson
	run --separate-stderr bash -c '"$0" --library tagged.ndjson --learn my-profiles.json &&
		"$0" --library tagged.ndjson --profiles my-profiles.json --emotion sad -n 1' "$R"
	[ "$status" -eq 0 ]
	[ "$(paths)" = "elegy.wav" ]
}

@test "example: a stream of frames, one song per frame, smoothed" {
	for t in 0 1 2 3; do
		printf '{"frame":%d,"t":%d,"faces":[{"w":60,"h":60,"scores":{"happy":1}}]}\n' "$t" "$t"
	done >frames.ndjson
	cp "$L" songs.ndjson
	"$R" --library songs.ndjson --build-index songs.idx
	run --separate-stderr bash -c '"$0" --index songs.idx --each --half-life 10 -n 1 <frames.ndjson |
		jq -c "{t: .query.t, path}"' "$R"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[3]}" = '{"t":3,"path":"sunrise.wav"}' ]
}
