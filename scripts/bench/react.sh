#!/bin/sh
# fer-react's reaction sign on listening sessions built from FER2013's validation faces
# (scripts/bench/react.py, which says how): at 5 and at 10 frames a second, 20 sessions of
# 10 songs each. Skips with exit 0 when ../shared/fer2013 is missing. Exit status: 0 when
# the sign is right for at least 80% of the songs whose listener shows the reaction in a
# fifth of the frames or more, 1 otherwise.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${FM_BIN:-build/bin}
if [ ! -d ../shared/fer2013/val ]; then
	echo "bench-react: no ../shared/fer2013/val: skipped"
	exit 0
fi
status=0
for fps in 5 10; do
	/usr/bin/python3 scripts/bench/react.py --bin "$BIN" --fps "$fps" "$@" || status=1
	echo
done
exit $status
