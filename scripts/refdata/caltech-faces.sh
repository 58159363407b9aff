#!/bin/sh
# Rebuild the labelled face photos that the CNN face detector trains on and that
# scripts/bench/detect-cnn.sh measures on (issue 18), outside the repository:
#
#   scripts/refdata/caltech-faces.sh [--fit] [SNAPSHOT [DIR]]
#
# SNAPSHOT: a git directory of the GitHub repository PigeonDan1/face_reco, which holds the
# photos and ground truth (default $FM_CALTECH_REPO, else /work/.mirror/PigeonDan1+face_reco/repo);
# DIR: where the set goes (default $FM_FACES_DATA, else /work/data/faces). It writes
#   DIR/photos/picNNNNN.jpg          the 7,092 photos, as they are in the snapshot
#   DIR/WebFaces_GroundThruth.txt    the 10,524 faces: name, then x y of left eye, right
#                                    eye, nose, mouth
#   DIR/train.ndjson, DIR/held.ndjson   one photo a line, about 80/20 by SHA-1 of the name:
#     {"path":...,"width":W,"height":H,"faces":[{"x","y","w","h","landmarks":[[x,y]x4]}]}
#   DIR/SOURCES                      where it came from, and the terms
# The boxes are the square fer-detect's cascade draws around a face, as a function of the
# landmarks (scripts/refdata/caltech-faces.py says how, and holds the fitted constants).
# --fit runs build/bin/fer-detect (FM_BIN) with OpenCV's alt2 cascade, its default, over
# every photo and fits those constants again: on the training photos, quality on the
# held-out ones; paste what it prints into caltech-faces.py to change them (and remake
# testdata/detect's boxes: testdata/detect/README.md).
#
# Source: the Caltech 10,000 Web Faces set, Caltech Computational Vision group: A. Angelova,
# Y. Abu-Mostafa, P. Perona, "Pruning training sets for learning of object categories",
# CVPR 2005, as copied into the GitHub repository PigeonDan1/face_reco
# (Caltech_WebFaces/pic*.jpg, WebFaces_GroundThruth.txt; its train/ and test/ crop folders
# are not used).
# Licence: none stated by that repository. The photos were collected from the web by
# Caltech, who distribute the set for research use; the people in them and the photos'
# authors hold their rights. So the set stays outside this repository and is never shipped;
# what goes in is a model trained on it, and whether research-use terms reach such a model
# is for whoever redistributes it to weigh.
set -eu

fit=0
if [ "${1:-}" = "--fit" ]; then
	fit=1
	shift
fi
snap=${1:-${FM_CALTECH_REPO:-/work/.mirror/PigeonDan1+face_reco/repo}}
dir=${2:-${FM_FACES_DATA:-/work/data/faces}}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if ! git -C "$snap" rev-parse --verify -q HEAD:WebFaces_GroundThruth.txt >/dev/null; then
	echo "caltech-faces: $snap: not a git directory holding WebFaces_GroundThruth.txt" >&2
	exit 2
fi
commit=$(git -C "$snap" rev-parse HEAD)
mkdir -p "$dir/photos"
git -C "$snap" show HEAD:WebFaces_GroundThruth.txt >"$dir/WebFaces_GroundThruth.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The folder's own tree, not HEAD with a path: the snapshot lacks some large files
# elsewhere in the tree, which git archive would complain of.
git -C "$snap" archive HEAD:Caltech_WebFaces | tar -x -C "$tmp" --wildcards 'pic*.jpg'
find "$tmp" -maxdepth 1 -name 'pic*.jpg' -exec mv -f -t "$dir/photos/" {} +
/usr/bin/python3 "$here/caltech-faces.py" labels "$dir"
cat >"$dir/SOURCES" <<SRC
Made by scripts/refdata/caltech-faces.sh from a snapshot of the GitHub repository
PigeonDan1/face_reco (commit $commit): Caltech_WebFaces/pic*.jpg and
WebFaces_GroundThruth.txt, the Caltech 10,000 Web Faces set of the Caltech Computational
Vision group (A. Angelova, Y. Abu-Mostafa, P. Perona, "Pruning training sets for learning
of object categories", CVPR 2005).
Terms: Caltech distributes the set for research use; the repository states no licence;
the photos' authors and the people in them keep their rights. Do not redistribute.
train.ndjson, held.ndjson: the ground truth's landmarks with boxes fitted to fer-detect's
cascade (scripts/refdata/caltech-faces.py), split about 80/20 by SHA-1 of the file name.
SRC
echo "caltech-faces: $(find "$dir/photos" -name 'pic*.jpg' | wc -l) photos in $dir" >&2

if [ "$fit" = 1 ]; then
	fd=${FM_BIN:-$root/build/bin}/fer-detect
	# The cascade by name, and by --detector once fer-detect has more than one.
	set -- --cascade haarcascade_frontalface_alt2.xml
	if "$fd" --help | grep -q -e '--detector'; then
		set -- --detector cascade "$@"
	fi
	cat "$dir/train.ndjson" "$dir/held.ndjson" | "$fd" "$@" >"$tmp/cascade.ndjson" || true
	/usr/bin/python3 "$here/caltech-faces.py" fit "$dir" <"$tmp/cascade.ndjson"
fi
