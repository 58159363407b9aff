#!/bin/sh
# `make bench`: run every benchmark, one after the other, and say which failed.
#
#   scripts/bench/run.sh            all benchmarks
#   scripts/bench/run.sh detect     only the named ones
#
# A benchmark is a script scripts/bench/NAME.sh that prints its own tables and exits
# 0 when its results are sound (for detection: our boxes match OpenCV's). To add one,
# write the script and add NAME to the list below. Options for a benchmark go through
# the environment, e.g. BENCH_DETECT_ARGS='-s 0.3,1 -r 1' for a quick run.
# Exit status: 0 when every benchmark passed, 1 otherwise, 2 on a usage error.
set -u

cd "$(dirname "$0")/../.." || exit 2
all="detect detect-cnn classify accuracy stream batch train audio formats tempo rank react taste moodset"

if [ $# -eq 0 ]; then
	set -- $all
fi
for b in "$@"; do
	case " $all " in
	*" $b "*) ;;
	*) echo "usage: scripts/bench/run.sh [$(echo $all | tr ' ' '|')]..." >&2; exit 2 ;;
	esac
done

failed=
for b in "$@"; do
	echo "### bench-$b"
	var=BENCH_$(echo "$b" | tr 'a-z-' 'A-Z_')_ARGS
	eval "args=\${$var:-}"
	# shellcheck disable=SC2086,SC2154
	if ! sh "scripts/bench/$b.sh" $args; then
		failed="$failed $b"
	fi
	echo
done
if [ -n "$failed" ]; then
	echo "bench: failed:$failed" >&2
	exit 1
fi
echo "bench: all passed"
