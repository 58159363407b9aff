#!/bin/sh
# Time the expression network on one core (issue 3): the network alone against the
# machine's sgemm, then fer-classify end to end against the npm expression net.
#
#   scripts/bench/classify.sh [-n faces] [-r reps] [-s side] [-t seconds]
#
# First build/bench/bench_cnn (tests/bench/bench_cnn.c) times fm_cnn_forward at batch 1
# and 64 and a side x side sgemm (-s, 2048) on one thread, and compares the network's
# GFLOP/s at batch 64 with sgemm's (target >= 40%); -r and -t go to it as its rounds and
# shortest round. Then `fer-classify --jobs 1` reads a list of 48x48 face files on stdin,
# one process per run, so start-up and model load are included, and the best of -r runs
# (3) gives faces/s. The faces are every FER2013 validation face in ../shared/fer2013/val
# (3,589 JPEGs) when it is there, else 300 random 48x48 PGMs made in a temporary directory
# under $TMPDIR and removed at the end; -n keeps the first n. The bar is 10 times
# @vladmandic/face-api's expression net on one core, 130 faces/s: 1300 faces/s.
# Faces per CPU second (user + system, from /usr/bin/time when installed) says what the
# process would do on a core of its own; other processes, shown by the load average,
# lower faces/s but hardly that.
#
# Both halves use the same model: $FERMATA_MODEL, else models/fer2013.fm. Without it the
# network is timed on fer-train's default architecture and fer-classify is skipped. The
# small model of fer-classify --fast, models/fer2013-fast.fm ($FERMATA_FAST_MODEL), is
# timed the same way after it when it is there; the target applies to the faster of the two.
# BENCH_CNN and FER_CLASSIFY name the binaries (build/bench/bench_cnn, build/bin/fer-classify).
# Exit status: 0 when both ran and every face got an emotion, whether or not the targets
# were met; 1 when bench_cnn or fer-classify failed; 2 on a usage error or a missing binary.
set -eu

cd "$(dirname "$0")/../.."
BENCH=${BENCH_CNN:-build/bench/bench_cnn}
FER=${FER_CLASSIFY:-build/bin/fer-classify}
MODEL=${FERMATA_MODEL:-models/fer2013.fm}
FAST_MODEL=${FERMATA_FAST_MODEL:-models/fer2013-fast.fm}
VAL=../shared/fer2013/val
NPM_FACES_PER_SEC=130 # @vladmandic/face-api's expression net, one core
TARGET_TIMES=10
n_faces=
reps=3
cnn_args=

usage() {
	echo "usage: scripts/bench/classify.sh [-n faces] [-r reps] [-s side] [-t seconds]" >&2
	exit 2
}
while getopts n:r:s:t: opt; do
	case $opt in
	n) n_faces=$OPTARG ;;
	r) reps=$OPTARG; cnn_args="$cnn_args -r $OPTARG" ;;
	s) cnn_args="$cnn_args -s $OPTARG" ;;
	t) cnn_args="$cnn_args -t $OPTARG" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
case $reps in '' | *[!0-9]* | 0) usage ;; esac
case $n_faces in *[!0-9]* | 0) usage ;; esac

for b in "$BENCH" "$FER"; do
	if [ ! -x "$b" ]; then
		echo "bench-classify: $b is not built (make bench builds it)" >&2
		exit 2
	fi
done

now_ns() { date +%s%N; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fermata-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

load=$(cut -d ' ' -f 1-3 /proc/loadavg)
echo "$(nproc) CPUs, load average $load (other processes lower every rate)"
echo
echo "== the network alone (bench_cnn)"
have_model=1
[ -r "$MODEL" ] || have_model=0
status=0
if [ "$have_model" = 1 ]; then
	# shellcheck disable=SC2086
	"$BENCH" $cnn_args "$MODEL" || status=1
else
	echo "bench-classify: $MODEL: no model; timing fer-train's default architecture" >&2
	# shellcheck disable=SC2086
	"$BENCH" $cnn_args --arch || status=1
fi
echo
if [ "$have_model" = 0 ]; then
	echo "== fer-classify: skipped, no model at $MODEL"
	exit $status
fi

if [ -d "$VAL" ]; then
	find "$VAL" -type f | LC_ALL=C sort >"$tmp/all"
	from="FER2013 validation faces in $VAL"
else
	mkdir "$tmp/faces"
	i=0
	while [ $i -lt 300 ]; do
		f=$tmp/faces/$(printf '%03d' $i).pgm
		{ printf 'P5\n48 48\n255\n'; head -c 2304 /dev/urandom; } >"$f"
		echo "$f" >>"$tmp/all"
		i=$((i + 1))
	done
	from="random 48x48 PGMs ($VAL is missing)"
fi
if [ -n "$n_faces" ]; then
	head -n "$n_faces" "$tmp/all" >"$tmp/list"
else
	cp "$tmp/all" "$tmp/list"
fi
n=$(wc -l <"$tmp/list")
[ "$n" -gt 0 ] || { echo "bench-classify: no face files" >&2; exit 1; }

# Best of reps: the run with the least wall time, and its CPU time.
best_of() { # input-file model
	best=
	best_cpu=-
	i=0
	while [ $i -lt "$reps" ]; do
		rm -f "$tmp/cpu"
		t0=$(now_ns)
		if [ -x /usr/bin/time ]; then
			/usr/bin/time -f '%U %S' -o "$tmp/cpu" \
				"$FER" --jobs 1 --model "$2" <"$1" >"$tmp/out" 2>"$tmp/err" || return 1
		else
			"$FER" --jobs 1 --model "$2" <"$1" >"$tmp/out" 2>"$tmp/err" || return 1
		fi
		t=$(( ($(now_ns) - t0) / 1000 ))
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then
			best=$t
			best_cpu=-
			[ -r "$tmp/cpu" ] && best_cpu=$(awk '{ print $1 + $2 }' "$tmp/cpu")
		fi
		i=$((i + 1))
	done
}

# end_to_end MODEL: fer-classify --jobs 1 over the list with MODEL; prints the table and
# sets best_rate (faces/s).
end_to_end() {
	echo "== fer-classify --jobs 1 --model $1, end to end: $n $from; best of $reps"
	: >"$tmp/empty"
	if ! best_of "$tmp/empty" "$1"; then
		why=$(head -n 1 "$tmp/err")
		echo "bench-classify: $FER failed with no input${why:+: $why}" >&2
		return 1
	fi
	start_us=$best
	if ! best_of "$tmp/list" "$1"; then
		why=$(head -n 1 "$tmp/err")
		echo "bench-classify: $FER failed${why:+: $why}" >&2
		return 1
	fi
	got=$(grep -c '"emotion":' "$tmp/out" || true)
	if [ "$got" -ne "$n" ]; then
		echo "bench-classify: $FER labelled $got of $n faces: $(head -n 1 "$tmp/err")" >&2
		return 1
	fi
	rate=$(awk -v n="$n" -v us="$best" 'BEGIN { printf "%.1f", n * 1e6 / us }')
	awk -v n="$n" -v us="$best" -v cpu="$best_cpu" -v us0="$start_us" -v npm="$NPM_FACES_PER_SEC" '
	function per_cpu(c) { return c == "-" || c == 0 ? "-" : sprintf("%.1f", n / c) }
	BEGIN {
		rate = n * 1e6 / us
		printf "%-28s %10s %10s %12s\n", "", "seconds", "faces/s", "faces/CPU-s"
		printf "%-28s %10.3f %10s %12s\n", "start-up and model load", us0 / 1e6, "-", "-"
		printf "%-28s %10.3f %10.1f %12s\n", n " faces, all included", us / 1e6, rate, per_cpu(cpu)
		printf "%.1f faces/s is %.2fx the %d faces/s of @vladmandic/face-api on one core\n\n",
			rate, rate / npm, npm
	}'
	if awk -v r="$rate" -v b="$best_rate" 'BEGIN { exit !(r > b) }'; then
		best_rate=$rate
		best_model=$1
	fi
}

best_rate=0
best_model=
end_to_end "$MODEL" || status=1
if [ -r "$FAST_MODEL" ] && [ "$FAST_MODEL" != "$MODEL" ]; then
	echo "== the network of --fast alone (bench_cnn)"
	# shellcheck disable=SC2086
	"$BENCH" $cnn_args "$FAST_MODEL" || status=1
	echo
	end_to_end "$FAST_MODEL" || status=1
fi
awk -v rate="$best_rate" -v m="$best_model" -v npm="$NPM_FACES_PER_SEC" -v times="$TARGET_TIMES" '
BEGIN {
	printf "target >= %dx face-api (%d faces/s): %s (best: %.1f faces/s with %s)\n", times,
		times * npm, (rate >= times * npm ? "met" : "NOT met"), rate, m
}'
exit $status
