#!/usr/bin/env bats
# tests/cli/install.bats: make install into a temporary prefix other than the one the build
# was made for, as a user or a packager would, and every tool run from there: the tools
# find their model and profiles in PREFIX/share/fermata beside their own bin/, with no
# rebuild at install time, and still after the tree is moved. The build under test
# (FM_BIN's) is installed as it is: make -o all installs it without remaking anything.

setup_file() {
	load helpers
	export PREFIX_DIR="$BATS_FILE_TMPDIR/prefix"
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$FM_ROOT" -o all install \
		NO_DEPS=1 B="${FM_BIN%/bin}" PREFIX="$PREFIX_DIR" >&2
}

setup() {
	load helpers
	unset FERMATA_MODEL FERMATA_PROFILES
	cd "$BATS_TEST_TMPDIR" || return 1
}

# classify_photo BINDIR: one bundled photo through fer-detect | fer-classify from BINDIR.
classify_photo() {
	"$1/fer-detect" "$FM_TESTDATA/photos/grace-hopper.jpg" | "$1/fer-classify"
}

@test "make install puts every tool, its manual, the models and the profiles under PREFIX" {
	for m in "$FM_ROOT"/man/*.1; do
		t=$(basename "$m" .1)
		[ -x "$PREFIX_DIR/bin/$t" ]
		[ -f "$PREFIX_DIR/share/man/man1/$t.1" ]
		run "$PREFIX_DIR/bin/$t" --version
		[ "$status" -eq 0 ]
		[[ $output == "$t (fermata) "* ]]
	done
	[ -f "$PREFIX_DIR/share/man/man7/fermata.7" ]
	for f in fer2013.fm fer2013-fast.fm face-detect.fm profiles.json; do
		[ -f "$PREFIX_DIR/share/fermata/$f" ]
	done
}

@test "fer-detect and fer-classify, both models, run from the prefix" {
	bin=$PREFIX_DIR/bin
	run --separate-stderr classify_photo "$bin"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '(.faces | length) >= 1 and all(.faces[]; .emotion != null)'
	run --separate-stderr "$bin/fer-classify" --fast "$FM_TESTDATA/photos/grace-hopper.jpg"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.faces[0].emotion != null'
}

@test "fer-train evaluates the installed model from the prefix" {
	for c in happy sad; do
		mkdir -p val/$c
		gray_pgm val/$c/1.pgm 48 48
	done
	run --separate-stderr "$PREFIX_DIR/bin/fer-train" --eval --json \
		--model "$PREFIX_DIR/share/fermata/fer2013.fm" --val val
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.faces == 2'
}

@test "song-featurize and recommend, with the installed profiles, run from the prefix" {
	bin=$PREFIX_DIR/bin
	run --separate-stderr "$bin/song-featurize" "$FM_TESTDATA/audio/tones.wav"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.duration > 0 and (.mfcc_mean | length) == 13'
	run --separate-stderr "$bin/recommend" --library "$FM_TESTDATA/rank/library.ndjson" \
		--emotion sad
	[ "$status" -eq 0 ]
	printf '%s\n' "${lines[0]}" | jq -e '.rank == 1'
}

@test "the installed data is the one used, and a moved installation still finds it" {
	cp -R "$PREFIX_DIR" moved
	# A damaged profiles file in the moved tree: recommend must be reading that one.
	echo '{' >moved/share/fermata/profiles.json
	run --separate-stderr moved/bin/recommend --library "$FM_TESTDATA/rank/library.ndjson" \
		--emotion sad
	[ "$status" -eq 2 ]
	[[ $stderr == *"$PWD/moved/share/fermata/profiles.json"* ]]
	echo 'not a model' >moved/share/fermata/fer2013.fm
	run --separate-stderr classify_photo "$PWD/moved/bin"
	[ "$status" -eq 2 ]
	[[ $stderr == *"$PWD/moved/share/fermata/fer2013.fm"* ]]
}

@test "make uninstall removes what make install put there" {
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$FM_ROOT" uninstall \
		NO_DEPS=1 PREFIX="$PREFIX_DIR"
	run find "$PREFIX_DIR" -type f
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
