#!/bin/sh
# Install the Debian packages fermata needs, and nothing when they are already there.
#
#   scripts/deps.sh            build and test packages
#   scripts/deps.sh bench      also the reference tools the benchmarks compare against
#   scripts/deps.sh fuzz       also clang, for make fuzz
#   scripts/deps.sh --check    exit 0 when the build and test packages are present, 1 if not
#
# The Makefile runs this when a header or tool is missing, so that `make check` and
# `make demo` work on a fresh Debian machine with no other step.
set -eu

build="gcc make pkg-config libjpeg62-turbo-dev libpng-dev libcjson-dev libopenblas-dev
	libsndfile1-dev libsoxr-dev opencv-data"
test="bats libcmocka-dev jq mandoc clang-format sox parallel python3 valgrind"
bench="python3-opencv python3-numpy aubio-tools time"
fuzz="clang"

check_only=0
want="$build $test"
for arg in "$@"; do
	case $arg in
	--check) check_only=1 ;;
	bench) want="$want $bench" ;;
	fuzz) want="$want $fuzz" ;;
	*) echo "usage: scripts/deps.sh [--check] [bench] [fuzz]" >&2; exit 2 ;;
	esac
done

missing=
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
[ "$check_only" = 1 ] && { echo "missing Debian packages:$missing" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=sudo
	else
		echo "deps.sh: need root (or sudo) to install:$missing" >&2
		exit 1
	fi
else
	sudo=
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; an old one may have stale ones.
$sudo apt-get update -qq >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
