#!/bin/sh
# Accuracy through the tool (issue 14): fer-classify with its default options (as many
# views of a face as the model asks for: two for fer2013.fm, one for --fast) and with --tta
# (ten views), over every FER2013 validation face, counted against the faces' folders, next to
# what `fer-train --eval` measures on the same folder, for the default model and the one
# of --fast. The two must be equal: fer-classify takes a face file as a face crop, the way
# fer-train reads its faces, so each face must get the same answer from both; the script
# also compares them face by face (fer-train --eval --predictions).
#
#   scripts/bench/accuracy.sh [-n faces]
#
# The faces are ../shared/fer2013/val (3,589 JPEGs in a folder per class); without it the
# benchmark is skipped (exit 0). -n keeps the first n files of each class, for a quick run.
# Models: $FERMATA_MODEL, else models/fer2013.fm, and models/fer2013-fast.fm
# ($FERMATA_FAST_MODEL) when it is there; FER_CLASSIFY and FER_TRAIN name the binaries.
# Exit status: 0 when the tool's figures equal the evaluator's for every model and mode,
# 1 when any differ or a tool failed, 2 on a usage error or a missing binary.
set -eu

cd "$(dirname "$0")/../.."
FC=${FER_CLASSIFY:-build/bin/fer-classify}
FT=${FER_TRAIN:-build/bin/fer-train}
MODEL=${FERMATA_MODEL:-models/fer2013.fm}
FAST_MODEL=${FERMATA_FAST_MODEL:-models/fer2013-fast.fm}
VAL=../shared/fer2013/val
per_class=

usage() {
	echo "usage: scripts/bench/accuracy.sh [-n faces]" >&2
	exit 2
}
while getopts n: opt; do
	case $opt in
	n) per_class=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
case $per_class in *[!0-9]* | 0) usage ;; esac
for b in "$FC" "$FT"; do
	if [ ! -x "$b" ]; then
		echo "bench-accuracy: $b is not built (make all builds it)" >&2
		exit 2
	fi
done
if [ ! -d "$VAL" ]; then
	echo "== accuracy through fer-classify: skipped, $VAL is absent"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fermata-accuracy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The faces: the folder itself, or the first n of each class copied to one of the same shape.
faces=$VAL
if [ -n "$per_class" ]; then
	faces=$tmp/val
	for d in "$VAL"/*/; do
		c=$(basename "$d")
		mkdir -p "$faces/$c"
		find "$d" -type f | LC_ALL=C sort | head -n "$per_class" | while IFS= read -r f; do
			cp "$f" "$faces/$c/"
		done
	done
fi
find "$faces" -type f | LC_ALL=C sort >"$tmp/list"
n=$(wc -l <"$tmp/list")

# score: accuracy and macro-F1 of lines "truth<TAB>emotion", as fer-train --eval computes
# them (F1 averaged over the classes that have faces).
score() {
	awk -F '\t' '
	{ n++; support[$1]++; predicted[$2]++; if ($1 == $2) right[$1]++ }
	END {
		for (c in support) {
			p = predicted[c] ? right[c] / predicted[c] : 0
			r = right[c] / support[c]
			f1 += p + r > 0 ? 2 * p * r / (p + r) : 0
			k++
			hits += right[c]
		}
		printf "%.2f%% %.4f\n", 100 * hits / n, f1 / k
	}' "$1"
}

status=0
echo "== accuracy and macro-F1 through fer-classify and by fer-train --eval: $n faces of $faces"
printf '%-34s %18s %18s  %s\n' "model" "fer-classify" "fer-train --eval" "faces differing"
# run NAME MODEL FC-MODEL-ARGS TTA: one row of the table.
run() {
	name=$1 model=$2 fc_model=$3 tta=$4
	if ! "$FT" --eval --json $tta --model "$model" --val "$faces" \
		--predictions "$tmp/eval.ndjson" >"$tmp/eval.json" 2>"$tmp/err"; then
		echo "bench-accuracy: fer-train --eval failed: $(tail -n 1 "$tmp/err")" >&2
		return 1
	fi
	# shellcheck disable=SC2086
	if ! "$FC" $fc_model $tta <"$tmp/list" >"$tmp/tool.ndjson" 2>"$tmp/err"; then
		echo "bench-accuracy: fer-classify failed: $(head -n 1 "$tmp/err")" >&2
		return 1
	fi
	# The true class is the face's folder.
	jq -r '[(.path | split("/") | .[-2]), (.faces[0].emotion // "none")] | @tsv' \
		"$tmp/tool.ndjson" >"$tmp/tool.tsv"
	tool=$(score "$tmp/tool.tsv")
	eval_fig=$(jq -r '"\(.accuracy * 100 * 100 | round / 100)"' "$tmp/eval.json" |
		awk -v f1="$(jq -r .macro_f1 "$tmp/eval.json")" '{ printf "%.2f%% %.4f\n", $1, f1 }')
	jq -c '[.path, .faces[0].emotion, .faces[0].scores]' "$tmp/tool.ndjson" | LC_ALL=C sort >"$tmp/a"
	jq -c '[.path, .emotion, .scores]' "$tmp/eval.ndjson" | LC_ALL=C sort >"$tmp/b"
	differing=$(LC_ALL=C comm -3 "$tmp/a" "$tmp/b" | wc -l)
	printf '%-34s %18s %18s  %d\n' "$name" "$tool" "$eval_fig" $((differing / 2))
	[ "$tool" = "$eval_fig" ] && [ "$differing" -eq 0 ]
}

for tta in "" --tta; do
	run "$(basename "$MODEL")${tta:+ $tta}" "$MODEL" "--model $MODEL" "$tta" || status=1
done
if [ -r "$FAST_MODEL" ] && [ "$FAST_MODEL" != "$MODEL" ]; then
	for tta in "" --tta; do
		# --fast itself when the model is the shipped one, as a user would type it.
		args="--model $FAST_MODEL"
		[ "$FAST_MODEL" = models/fer2013-fast.fm ] && args=--fast
		run "$(basename "$FAST_MODEL") ($args)${tta:+ $tta}" "$FAST_MODEL" "$args" "$tta" || status=1
	done
fi
echo "(accuracy and macro-F1; the tool's counted from its output against the faces' folders)"
if [ $status -ne 0 ]; then
	echo "bench-accuracy: fer-classify does not give what fer-train --eval measured" >&2
fi
exit $status
