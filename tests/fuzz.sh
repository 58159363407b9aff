#!/bin/sh
# `make fuzz`: run every libFuzzer target in build-fuzz/ for FUZZ_TIME seconds (600), two at
# a time, each from its seed corpus in tests/fuzz/corpus/NAME (copied: the seeds stay as
# they are) into build-fuzz/corpus/NAME. A crash leaves its input in
# build-fuzz/crashes/NAME/; keep it in tests/fuzz/regress/NAME/ once fixed, and
# `tests/fuzz.sh --regress` runs every kept input through its target again (make check
# does not need clang; this is for after a fix).
#
#   tests/fuzz.sh [--regress] [name ...]
# Exit status: 0 when no target crashed, 1 otherwise.
set -u
cd "$(dirname "$0")/.." || exit 2
time=${FUZZ_TIME:-600}
# Leaks inside Debian's codec libraries are theirs: see the file.
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
regress=0
if [ "${1:-}" = --regress ]; then
	regress=1
	shift
fi
[ $# -gt 0 ] || set -- $(ls build-fuzz/fuzz_* 2>/dev/null | sed 's|.*/fuzz_||')
[ $# -gt 0 ] || { echo "fuzz: no targets built (make fuzz builds them)" >&2; exit 2; }

run_one() { # name
	name=$1
	bin=build-fuzz/fuzz_$name
	if [ "$regress" = 1 ]; then
		[ -d "tests/fuzz/regress/$name" ] || return 0
		# A log of its own: the last fuzzing run's log and statistics stay as they are.
		"$bin" -runs=0 tests/fuzz/regress/"$name"/* >"build-fuzz/$name.regress.log" 2>&1
		return
	fi
	mkdir -p "build-fuzz/corpus/$name" "build-fuzz/crashes/$name"
	cp -n tests/fuzz/corpus/"$name"/* "build-fuzz/corpus/$name/" 2>/dev/null
	"$bin" -max_total_time="$time" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
		-artifact_prefix="build-fuzz/crashes/$name/" "build-fuzz/corpus/$name" \
		>"build-fuzz/$name.log" 2>&1
}

failed=
# Two at a time: the machine has two cores.
while [ $# -gt 0 ]; do
	a=$1
	shift
	b=${1:-}
	[ -n "$b" ] && shift
	run_one "$a" &
	pa=$!
	pb=
	if [ -n "$b" ]; then
		run_one "$b" &
		pb=$!
	fi
	wait "$pa" || failed="$failed $a"
	if [ -n "$pb" ]; then
		wait "$pb" || failed="$failed $b"
	fi
	for n in $a $b; do
		if [ "$regress" = 1 ]; then
			[ -d "tests/fuzz/regress/$n" ] || continue
			log=build-fuzz/$n.regress.log
			what="$(ls tests/fuzz/regress/"$n" | wc -l) kept inputs"
		else
			log=build-fuzz/$n.log
			what="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log") runs"
		fi
		echo "fuzz_$n: $what$(grep -q 'ERROR\|deadly signal' "$log" && echo ", CRASHED (see $log)")"
	done
done
if [ -n "$failed" ]; then
	echo "fuzz: crashed:$failed" >&2
	exit 1
fi
echo "fuzz: no crash"
