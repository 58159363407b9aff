# tests/cli/helpers.bash: paths and small tools shared by the CLI tests.
# tests/run-tests sets FM_BIN and FM_TESTDATA; run by hand, the defaults are the build in
# this tree and its testdata.

bats_require_minimum_version 1.5.0

FM_ROOT=${FM_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
FM_BIN=${FM_BIN:-$FM_ROOT/build/bin}
FM_TESTDATA=${FM_TESTDATA:-$FM_ROOT/testdata}
export FM_ROOT FM_BIN FM_TESTDATA
# A user's own default cascade must not change what the tests see.
unset FERMATA_CASCADE

# gray_pgm FILE WIDTH HEIGHT [OCTAL]: a binary PGM of one gray level (default 200).
gray_pgm() {
	local file=$1 w=$2 h=$3 v=${4:-310}
	{
		printf 'P5\n%d %d\n255\n' "$w" "$h"
		head -c $((w * h)) /dev/zero | tr '\0' "\\$v"
	} >"$file"
}

# need_photos: skip unless testdata/photos holds JPEG files.
need_photos() {
	if ! compgen -G "$FM_TESTDATA/photos/*.jpg" >/dev/null; then
		skip "no photos in $FM_TESTDATA/photos yet"
	fi
}

# count_matching PATTERN: how many lines of $stderr match the extended regex PATTERN.
count_matching() {
	local n=0 l
	for l in "${stderr_lines[@]}"; do
		[[ $l =~ $1 ]] && n=$((n + 1))
	done
	echo "$n"
}

# assert_usage_error: run has exited 2 with nothing on stdout and one usage line, the last.
assert_usage_error() {
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$(count_matching '^usage: ')" -eq 1 ]
	[[ ${stderr_lines[-1]} == "usage: fer-detect "* ]]
}

# same_json A B: two NDJSON texts equal record by record, ignoring key order.
same_json() {
	diff <(printf '%s\n' "$1" | jq -S -c .) <(printf '%s\n' "$2" | jq -S -c .)
}
