#!/usr/bin/env bats
# tests/cli/fer-train.bats: fer-train as a user runs it on small generated face sets:
# options, training writes the best model and a checkpoint, --resume continues, --eval
# prints its table and JSON, and bad data or architectures exit 2. The EXAMPLES of
# man/fer-train.1 run here on the generated set instead of FER2013.

setup() {
	load helpers
	FT=$FM_BIN/fer-train
	cd "$BATS_TEST_TMPDIR" || return 1
	# Two classes whose faces differ in brightness, four faces each, in the folder layout.
	for c in happy sad; do
		mkdir -p fer2013/train/$c fer2013/val/$c
		for i in 1 2 3 4; do
			v=$([ $c = happy ] && echo $((200 + i)) || echo $((30 + i)))
			gray_pgm fer2013/train/$c/$i.pgm 48 48 "$(printf '%o' "$v")"
			gray_pgm fer2013/val/$c/$i.pgm 48 48 "$(printf '%o' "$((v + 3))")"
		done
	done
	ARCH="conv 4 3 1 1, bn, relu, maxpool 4, gap, dense 7"
}

@test "--help and --version" {
	run --separate-stderr "$FT" --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: fer-train [-hV] "* ]]
	for o in --arch --batch --data --detector --distill --ensemble --epochs --eval --init --jobs --json --lr --model --optim \
		--predictions --resume --seed --smoothing --stop-after --teacher --temperature --threads --tta --val --warmup \
		--weight-decay; do
		[[ $output == *" $o"* ]]
	done
	run "$FT" --version
	[[ $output == "fer-train (fermata) "* ]]
}

@test "--detector refuses what only the expression network takes" {
	for args in "--eval --model m.fm --val v" "--init m.fm" "--teacher m.fm" "--val v" \
		"--smoothing 0.2" "--erase 0.5"; do
		run --separate-stderr "$FT" --detector --data d.ndjson -o out.fm $args
		echo "# $args: $stderr"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[[ ${stderr_lines[0]} == "fer-train: --detector takes no --eval, --ensemble, "* ]]
	done
	run --separate-stderr "$FT" --detector --data d.ndjson
	[ "$status" -eq 2 ]
	[ "${stderr_lines[0]}" = "fer-train: training needs --data and -o" ]
}

# The bundled photos' faces as fer-train --detector reads them.
detector_labels() {
	jq -c --arg dir "$FM_TESTDATA/photos" \
		'{path: ($dir + "/" + .photo), faces: [.faces[] | {x: .[0], y: .[1], w: .[2], h: .[3]}]}' \
		"$FM_TESTDATA/photos/faces.ndjson" >labels.ndjson
}

@test "--detector trains a detector that fer-detect --detector cnn runs, and resumes bit for bit" {
	detector_labels
	opts=(--detector --data labels.ndjson --arch "conv 4 3 2 1, bn, relu, dwconv 3 2 1, bn, relu, conv 13 3 2 1"
		--epochs 2 --batch 4 --jobs 1 --warmup 0)
	run --separate-stderr "$FT" "${opts[@]}" -o whole.fm
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ $stderr == *"fer-train: 8 photos from labels.ndjson: "* ]]
	[[ ${stderr_lines[-1]} == "fer-train: done; best val AP "*" in whole.fm" ]]
	[ -s whole.fm ] && [ -s whole.fm.ckpt ]
	run --separate-stderr "$FT" "${opts[@]}" -o split.fm --stop-after 1
	[ "$status" -eq 0 ]
	[[ ${stderr_lines[-1]} == "fer-train: stopped after epoch 1 of 2; --resume goes on" ]]
	run --separate-stderr "$FT" "${opts[@]}" -o split.fm --resume
	[ "$status" -eq 0 ]
	[[ ${stderr_lines[0]} == "fer-train: resuming after epoch 1 of 2"* ]]
	cmp whole.fm.ckpt split.fm.ckpt
	# The model finds boxes in the detector's record form (a score, four landmarks).
	run --separate-stderr "$FM_BIN/fer-detect" --detector cnn --model whole.fm --min-score 0.01 \
		--max-faces 3 "$FM_TESTDATA/photos/grace-hopper.jpg"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	echo "$output" | jq -e '.width == 512 and .height == 600 and (.faces | length) <= 3 and
		all(.faces[]; (.score >= 0.01 and .score <= 1) and (.landmarks | length) == 4 and
			.w >= 1 and .h >= 1 and (has("neighbors") | not))'
	# A checkpoint of the expression network's is no detector's.
	"$FT" --data fer2013/train -o expr.fm --epochs 1 --warmup 0 --batch 4 --arch "$ARCH" 2>/dev/null
	run --separate-stderr "$FT" "${opts[@]}" -o expr.fm --resume
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "fer-train: expr.fm.ckpt: not a fer-train --detector checkpoint" ]
}

@test "the usage lines are the SYNOPSIS of man/fer-train.1" {
	synopsis=$(mandoc -T ascii "$FM_ROOT/man/fer-train.1" | col -bx |
		sed -n '/^SYNOPSIS/,/^[A-Z]/{/^ /p}' | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	usage=$("$FT" --help | sed -n '1,4p' | sed 's/^usage: //; s/^ *//' | tr '\n' ' ' | sed 's/ $//')
	[ "$synopsis" = "$usage" ]
}

@test "missing or bad options are usage errors" {
	for args in "" "--data fer2013/train" "-o m.fm" "--eval --model m.fm" "--epochs 0 --data d -o m" \
		"--optim rmsprop --data d -o m" "--smoothing 0.9 --data d -o m" "--threads 0 --data d -o m" \
		"--jobs 65 --data d -o m" "--data d -o m --predictions p" \
		"--eval --model m.fm --val v --predictions=" \
		"--data d -o m extra" "--ensemble -o m a.fm" "--ensemble a.fm b.fm" \
		"--ensemble --eval -o m a.fm b.fm" "--ensemble --data d -o m a.fm b.fm" \
		"--ensemble -o m a b c d e f g h i j k l m n o p q" "--data d -o m --distill 0.5" \
		"--data d -o m --temperature 2" "--data d -o m --teacher t --distill 1.5" \
		"--data d -o m --teacher t --temperature 0" "--data d -o m --teacher=" \
		"--eval --model m.fm --val v --teacher t" "--ensemble -o m a.fm b.fm --teacher t" \
		"--eval --model m.fm --val v --views 3" "--eval --model m.fm --val v --views 0" \
		"--eval --model m.fm --val v --tta --views 1" "--data d -o m --tta" \
		"--data d -o m --views 2"; do
		run --separate-stderr "$FT" $args
		echo "# $args: $stderr"
		[ "$status" -eq 2 ]
		[[ ${stderr_lines[-1]} == "       fer-train --ensemble "* ]]
	done
}

@test "training writes the best model and a checkpoint, with progress on stderr" {
	run --separate-stderr "$FT" --data fer2013/train --val fer2013/val -o m.fm --epochs 3 \
		--batch 4 --warmup 0 --arch "$ARCH"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -s m.fm ] && [ -s m.fm.ckpt ]
	[ "$(count_matching '^epoch [0-9]/3: loss [0-9.]+  train [0-9.]+%  val [0-9.]+%')" -eq 3 ]
	[[ $stderr == *"fer-train: train: 8 faces from fer2013/train"* ]]
	[[ $stderr == *"fer-train: done; best val "* ]]
}

@test "-o through a symbolic link replaces the file it names, not the link" {
	mkdir models
	ln -s models/real.fm link.fm
	"$FT" --data fer2013/train -o link.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	[ -L link.fm ] && [ -s models/real.fm ] && [ -s link.fm.ckpt ]
	"$FT" --data fer2013/train -o link.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	[ -L link.fm ] && [ -s models/real.fm ]
	[ "$(ls models)" = real.fm ]
}

@test "--resume continues after the checkpoint's last epoch" {
	"$FT" --data fer2013/train -o m.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	run --separate-stderr "$FT" --data fer2013/train -o m.fm --epochs 2 --batch 4 --warmup 0 --resume
	[ "$status" -eq 0 ]
	[[ $stderr == *"resuming after epoch 1 of 2"* ]]
	[ "$(count_matching '^epoch 1/')" -eq 0 ]
	[ "$(count_matching '^epoch 2/2: ')" -eq 1 ]
	run --separate-stderr "$FT" --data fer2013/train -o other.fm --resume
	[ "$status" -eq 2 ]
	[[ $stderr == *"other.fm.ckpt"* ]]
}

@test "--stop-after then --resume is bit for bit the uninterrupted run" {
	opts=(--data fer2013/train --epochs 3 --batch 4 --jobs 1 --arch "$ARCH")
	"$FT" "${opts[@]}" -o whole.fm 2>/dev/null
	# --threads is the old name of --jobs: the same run.
	run --separate-stderr "$FT" "${opts[@]/--jobs/--threads}" -o split.fm --stop-after 2
	[ "$status" -eq 0 ]
	[[ ${stderr_lines[-1]} == "fer-train: stopped after epoch 2 of 3; --resume goes on" ]]
	[ "$(count_matching '^epoch 3/')" -eq 0 ]
	"$FT" "${opts[@]}" -o split.fm --resume 2>/dev/null
	cmp whole.fm split.fm
	cmp whole.fm.ckpt split.fm.ckpt
}

@test "--teacher distils a model's probabilities, and is part of the run on --resume" {
	"$FT" --data fer2013/train -o big.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	"$FT" --ensemble -o pair.fm big.fm big.fm 2>/dev/null
	opts=(--data fer2013/train --val fer2013/val --epochs 2 --batch 4 --warmup 0 --jobs 1 --arch "conv 2 3 1 1, relu, gap, dense 7")
	run --separate-stderr "$FT" "${opts[@]}" -o small.fm --teacher big.fm --distill 0.8 --temperature 3 --stop-after 1
	[ "$status" -eq 0 ]
	[[ $stderr == *"fer-train: teacher big.fm: "*"% of the training faces right, "*"--distill 0.8 --temperature 3"* ]]
	[ "$(count_matching '^epoch 1/2: ')" -eq 1 ]
	# The run's options are in the model's info.
	[[ $(head -c 4096 small.fm | tr -d '\0') == *'\"teacher\":\"big.fm\",\"distill\":0.8,\"temperature\":3'* ]]
	# Resumed with another teacher, weight or temperature, or without one: refused.
	for bad in "--teacher pair.fm --distill 0.8 --temperature 3" "--teacher big.fm --temperature 3" \
		"--teacher big.fm --distill 0.8 --temperature 2" ""; do
		run --separate-stderr "$FT" "${opts[@]}" -o small.fm $bad --resume
		echo "# $bad: $stderr"
		[ "$status" -eq 2 ]
		[[ $stderr == *"small.fm.ckpt: "* ]]
	done
	# A teacher file changed under the same name.
	cp big.fm saved.fm
	"$FT" --data fer2013/train -o big.fm --epochs 1 --batch 4 --warmup 0 --seed 7 --arch "$ARCH" 2>/dev/null
	run --separate-stderr "$FT" "${opts[@]}" -o small.fm --teacher big.fm --distill 0.8 --temperature 3 --resume
	[ "$status" -eq 2 ]
	[[ $stderr == *"teacher big.fm has changed since the run began"* ]]
	cp saved.fm big.fm
	run --separate-stderr "$FT" "${opts[@]}" -o small.fm --teacher big.fm --distill 0.8 --temperature 3 --resume
	[ "$status" -eq 0 ]
	[ "$(count_matching '^epoch 2/2: ')" -eq 1 ]
	# Split or whole, the same run.
	"$FT" "${opts[@]}" -o whole.fm --teacher big.fm --distill 0.8 --temperature 3 2>/dev/null
	cmp whole.fm small.fm
	cmp whole.fm.ckpt small.fm.ckpt
	# A run that began without a teacher does not take one on --resume.
	"$FT" "${opts[@]}" -o plain.fm --stop-after 1 2>/dev/null
	run --separate-stderr "$FT" "${opts[@]}" -o plain.fm --teacher big.fm --resume
	[ "$status" -eq 2 ]
	[[ $stderr == *"began without a teacher"* ]]
	# Any model fer-classify reads teaches: an ensemble too; a non-model does not.
	run --separate-stderr "$FT" "${opts[@]}" -o e.fm --teacher pair.fm --epochs 1
	[ "$status" -eq 0 ]
	run --separate-stderr "$FT" "${opts[@]}" -o n.fm --teacher fer2013/train/sad/1.pgm
	[ "$status" -eq 2 ]
	[[ $stderr == *"--teacher: fer2013/train/sad/1.pgm: "*"not a fermata model file"* ]]
}

@test "--init starts from a model's network and weights" {
	"$FT" --data fer2013/train -o m.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	run --separate-stderr "$FT" --data fer2013/train -o tuned.fm --epochs 1 --batch 4 --warmup 0 \
		--init m.fm --arch "dense 7"
	[ "$status" -eq 0 ]
	[[ $stderr == *"fer-train: conv 4 3 1 1, bn 0.1 1e-05, relu, maxpool 4 4, gap, dense 7"* ]]
	[ -s tuned.fm ]
	run --separate-stderr "$FT" --data fer2013/train -o t2.fm --init fer2013/train/sad/1.pgm
	[ "$status" -eq 2 ]
	[[ $stderr == *"fer2013/train/sad/1.pgm: "*"not a fermata model file"* ]]
}

@test "--eval prints accuracy, per-class scores and the confusion matrix; --json as JSON" {
	"$FT" --data fer2013/train -o m.fm --epochs 2 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	run --separate-stderr "$FT" --eval --model m.fm --val fer2013/val
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^accuracy\ [0-9.]+%\ \ macro-F1\ [0-9.]+\ \ \(8\ faces,\ 1\ view\ each\)$ ]]
	[[ $output == *"confusion (rows: true class, columns: predicted)"* ]]
	run --separate-stderr "$FT" --eval --views 2 --model m.fm --val fer2013/val
	[[ ${lines[0]} == *"(8 faces, 2 views each)" ]]
	run --separate-stderr "$FT" --eval --json --tta --model m.fm --val fer2013/val
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.faces == 8 and .views == 10 and (.confusion | length) == 7
		and (.classes | keys | length) == 7 and .classes.happy.support == 4
		and ([.confusion[][]] | add) == 8'
	[ "${#lines[@]}" -eq 1 ]
}

@test "--eval to a full disk exits 2, as a table and as JSON" {
	"$FT" --data fer2013/train -o m.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	for json in "" --json; do
		run --separate-stderr "$FT" --eval $json --model m.fm --val fer2013/val
		[ "$status" -eq 0 ]
		run --separate-stderr sh -c '"$@" > /dev/full' sh "$FT" --eval $json --model m.fm \
			--val fer2013/val
		echo "# $json: $status $stderr"
		[ "$status" -eq 2 ]
		[[ $stderr == *"fer-train: stdout: No space left on device"* ]]
	done
}

@test "--eval --json prints its scores to four decimals, as the table does" {
	"$FT" --data fer2013/train -o m.fm --epochs 2 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	# The same face once in each class: whatever the network makes of it, it is right once
	# in seven, 0.14285714285714285 to 17 digits.
	for c in angry disgust fear happy sad surprise neutral; do
		mkdir -p sevenths/$c
		gray_pgm sevenths/$c/1.pgm 48 48 "$(printf '%o' 120)"
	done
	run --separate-stderr "$FT" --eval --json --model m.fm --val sevenths
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.faces == 7 and .accuracy == 0.1429 and .macro_f1 == 0.0357
		and ([.classes[].precision] | max) == 0.1429'
	[[ ! $output =~ [0-9]\.[0-9]{5} ]]
}

@test "--eval --predictions writes each face's answer as fer-classify does, with --views, --tta and any --jobs" {
	"$FT" --data fer2013/train -o m.fm --epochs 2 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	for tta in "" --tta "--views 1" "--views 2" "--views 10"; do
		run --separate-stderr "$FT" --eval --json $tta --model m.fm --val fer2013/val \
			--predictions pred.ndjson
		[ "$status" -eq 0 ]
		[ "$(wc -l <pred.ndjson)" -eq 8 ]
		# path, truth, emotion, scores; the emotions counted are the table's.
		jq -e -s 'all(.[]; (keys_unsorted == ["path","truth","emotion","scores"])
			and (.path | startswith("fer2013/val/")) and (.path | split("/")[2]) == .truth
			and (.scores | length) == 7)' pred.ndjson
		right=$(jq -s '[.[] | select(.emotion == .truth)] | length' pred.ndjson)
		[ "$(printf '%s\n' "$output" | jq '.accuracy * .faces | round')" -eq "$right" ]
		"$FM_BIN/fer-classify" --model m.fm $tta fer2013/val/*/*.pgm >cls.ndjson
		diff <(jq -c '[.path, .emotion, .scores]' pred.ndjson | sort) \
			<(jq -c '[.path, .faces[0].emotion, .faces[0].scores]' cls.ndjson | sort)
		# The jobs share the faces; each face's answer is the same bits.
		for jobs in 1 3; do
			"$FT" --eval $tta --jobs $jobs --model m.fm --val fer2013/val \
				--predictions pred-$jobs.ndjson >/dev/null 2>&1
			cmp pred.ndjson pred-$jobs.ndjson
		done
	done
	# A CSV's faces have no file: their place among the rows read.
	{
		echo "emotion,pixels,Usage"
		printf '3,"%s",PublicTest\n' "$(yes 200 | head -n 2304 | tr '\n' ' ' | sed 's/ $//')"
		printf '4,"%s",PublicTest\n' "$(yes 30 | head -n 2304 | tr '\n' ' ' | sed 's/ $//')"
	} >fer2013.csv
	"$FT" --eval --model m.fm --val fer2013.csv --predictions csv.ndjson >/dev/null 2>&1
	jq -e -s '[.[].index] == [0, 1] and [.[].truth] == ["happy", "sad"]' csv.ndjson
	# Nowhere to write: exit 2, nothing left behind.
	run --separate-stderr "$FT" --eval --model m.fm --val fer2013/val --predictions nodir/p.ndjson
	[ "$status" -eq 2 ]
	[[ $stderr == *"fer-train: --predictions: cannot write nodir/p.ndjson"* ]]
}

@test "example: --predictions compared with fer-classify face by face" {
	"$FT" --data fer2013/train -o fer2013.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	run bash -c '"$0" --eval --model fer2013.fm --val fer2013/val --predictions eval.ndjson >/dev/null 2>&1 &&
		"$1" --model fer2013.fm fer2013/val/*/* | jq -c "{path, emotion: .faces[0].emotion}" > tool.ndjson &&
		diff <(jq -c "{path, emotion}" eval.ndjson | sort) <(sort tool.ndjson)' "$FT" "$FM_BIN/fer-classify"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(wc -l <tool.ndjson)" -eq 8 ]
}

@test "fer2013.csv is read as well as the folders" {
	{
		echo "emotion,pixels,Usage"
		for i in 1 2 3 4; do
			printf '3,"%s",Training\n' "$(yes 200 | head -n 2304 | tr '\n' ' ' | sed 's/ $//')"
			printf '4,"%s",Training\n' "$(yes 30 | head -n 2304 | tr '\n' ' ' | sed 's/ $//')"
			printf '4,"%s",PublicTest\n' "$(yes 31 | head -n 2304 | tr '\n' ' ' | sed 's/ $//')"
		done
	} >fer2013.csv
	run --separate-stderr "$FT" --data fer2013.csv --val fer2013.csv -o c.fm --epochs 1 \
		--batch 4 --warmup 0 --arch "$ARCH"
	[ "$status" -eq 0 ]
	[[ $stderr == *"train: 8 faces from fer2013.csv"* ]]
	[[ $stderr == *"val: 4 faces from fer2013.csv"* ]]
}

@test "bad data, a bad architecture or an unreadable model exit 2 with a message" {
	mkdir -p odd/cheerful
	run --separate-stderr "$FT" --data odd -o m.fm --arch "$ARCH"
	[ "$status" -eq 2 ]
	[[ $stderr == *"cheerful: not an emotion folder"* ]]
	run --separate-stderr "$FT" --data nowhere -o m.fm
	[ "$status" -eq 2 ]
	run --separate-stderr "$FT" --data fer2013/train -o m.fm --arch "conv 4 3, wobble"
	[ "$status" -eq 2 ]
	[[ $stderr == *"fer-train: --arch: "* ]]
	run --separate-stderr "$FT" --data fer2013/train -o m.fm --arch "conv 4 3, gap, dense 3"
	[ "$status" -eq 2 ]
	echo junk >junk.fm
	run --separate-stderr "$FT" --eval --model junk.fm --val fer2013/val
	[ "$status" -eq 2 ]
	[[ $stderr == "fer-train: junk.fm: "* ]]
}

@test "the same seed trains the same model" {
	for m in a b; do
		"$FT" --data fer2013/train -o $m.fm --epochs 2 --batch 4 --warmup 0 --threads 1 \
			--arch "$ARCH" --seed 7 2>/dev/null
	done
	cmp a.fm b.fm
}

@test "examples: train with a log, resume it, evaluate with --tta --json" {
	run bash -c '"$0" --data fer2013/train --val fer2013/val -o fer2013.fm --epochs 1 \
		--batch 4 --warmup 0 --arch "$1" 2> train.log' "$FT" "$ARCH"
	[ "$status" -eq 0 ]
	grep -q '^epoch 1/1: ' train.log
	run bash -c '"$0" --data fer2013/train --val fer2013/val -o fer2013.fm --epochs 2 \
		--batch 4 --warmup 0 --resume 2>> train.log' "$FT"
	[ "$status" -eq 0 ]
	grep -q '^epoch 2/2: ' train.log
	run --separate-stderr bash -c '"$0" --eval --tta --json --model fer2013.fm --val fer2013/val' "$FT"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.accuracy >= 0'
}

@test "--ensemble writes one model whose probabilities are the mean of its networks'" {
	"$FT" --data fer2013/train -o a.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	"$FT" --data fer2013/train -o b.fm --epochs 1 --batch 4 --warmup 0 --seed 2 \
		--arch "conv 3 5 2 2, relu, gap, dense 7" 2>/dev/null
	run --separate-stderr "$FT" --ensemble -o ab.fm a.fm b.fm
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ $stderr == "fer-train: an ensemble of 2 networks, "*" parameters, in ab.fm" ]]
	# Format version 2, and the operands in its training note.
	[ "$(od -An -tu4 -j8 -N4 ab.fm | tr -d ' ')" -eq 2 ]
	n=$(od -An -tu4 -j12 -N4 ab.fm)
	tail -c +25 ab.fm | head -c "$n" | jq -e '(.members | length) == 2
		and (.training | fromjson | .members) == ["a.fm", "b.fm"]'
	# fer-classify takes it as any model: each score the mean of the two networks', to the
	# 4 decimals each is rounded to.
	for m in a b ab; do
		"$FM_BIN/fer-classify" --model $m.fm fer2013/val/happy/1.pgm fer2013/val/sad/2.pgm >$m.ndjson
	done
	jq -s -e --slurpfile a a.ndjson --slurpfile b b.ndjson '
		[range(2) as $i | .[$i].faces[0].scores | to_entries[] |
			(.value - ($a[$i].faces[0].scores[.key] + $b[$i].faces[0].scores[.key]) / 2) |
			fabs <= 0.0001] | length == 14 and all' ab.ndjson
	# --eval too; training from it is refused, saying why.
	run --separate-stderr "$FT" --eval --json --model ab.fm --val fer2013/val
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | jq -e '.faces == 8'
	run --separate-stderr "$FT" --data fer2013/train -o c.fm --init ab.fm
	[ "$status" -eq 2 ]
	[[ $stderr == "fer-train: ab.fm: an ensemble of 2 networks cannot be trained"* ]]
}

@test "--ensemble refuses networks that do not agree, and ensembles of ensembles" {
	"$FT" --data fer2013/train -o a.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	"$FT" --ensemble -o aa.fm a.fm a.fm 2>/dev/null
	run --separate-stderr "$FT" --ensemble -o x.fm a.fm aa.fm
	[ "$status" -eq 2 ]
	[ "$stderr" = "fer-train: --ensemble: network 2 is itself an ensemble" ]
	[ ! -e x.fm ]
	run --separate-stderr "$FT" --ensemble -o x.fm a.fm "$FM_TESTDATA/bad/model/tiny-valid.fm"
	[ "$status" -eq 2 ]
	[[ $stderr == "fer-train: --ensemble: network 2 "* ]]
	run --separate-stderr "$FT" --ensemble -o x.fm a.fm missing.fm
	[ "$status" -eq 2 ]
	[[ $stderr == "fer-train: missing.fm: "* ]]
}

@test "example: combine two runs into one model and measure it" {
	"$FT" --data fer2013/train -o seed1.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	"$FT" --data fer2013/train -o seed2.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" \
		--seed 2 2>/dev/null
	run bash -c '"$0" --ensemble --views 2 -o ensemble.fm seed1.fm seed2.fm &&
		"$0" --eval --model ensemble.fm --val fer2013/val' "$FT"
	[ "$status" -eq 0 ]
	[[ $output == *"accuracy "*"(8 faces, 2 views each)"* ]]
}

@test "an ensemble's --views is how fer-classify and --eval read its faces unless told otherwise" {
	"$FT" --data fer2013/train -o a.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" 2>/dev/null
	"$FT" --data fer2013/train -o b.fm --epochs 1 --batch 4 --warmup 0 --arch "$ARCH" \
		--seed 2 2>/dev/null
	for v in 1 2 10; do
		"$FT" --ensemble --views $v -o e$v.fm a.fm b.fm 2>/dev/null
		"$FT" --eval --json --model e$v.fm --val fer2013/val --predictions p$v.ndjson >e$v.json
		[ "$(jq .views e$v.json)" -eq "$v" ]
		"$FT" --eval --views $v --model a.fm --val fer2013/val >/dev/null # any model takes it
		"$FM_BIN/fer-classify" --model e$v.fm fer2013/val/*/*.pgm >c$v.ndjson
		diff <(jq -c '[.path, .emotion, .scores]' p$v.ndjson | sort) \
			<(jq -c '[.path, .faces[0].emotion, .faces[0].scores]' c$v.ndjson | sort)
	done
	# An ensemble written without --views is read once, as a single network is.
	"$FT" --ensemble -o e.fm a.fm b.fm 2>/dev/null
	[ "$("$FT" --eval --json --model e.fm --val fer2013/val | jq .views)" -eq 1 ]
	# --views on the command line wins over the model's.
	[ "$("$FT" --eval --json --views 1 --model e10.fm --val fer2013/val | jq .views)" -eq 1 ]
}
