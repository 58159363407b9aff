#!/bin/sh
# Install the Debian packages a make goal needs, and nothing when they are already there.
#
#   scripts/deps.sh [--check] [GOAL...]
#
#   build    compiler and libraries: make, make install (the default GOAL)
#   check    build, plus the test tools: make check, asan, valgrind, lint, unit, cli, hostile
#            (ffmpeg: the session driver's test plays a video made at test time)
#   demo     build, plus sox and jq: make demo
#   bench    build, plus the reference tools the benchmarks compare against: make bench
#            (OpenCV, aubio, and PyTorch for training speed; fluidsynth, its General MIDI
#            soundfont, Planet Blupi's MIDI music and sox for the tempo set, tempo-set.py)
#   fuzz     build, plus clang: make fuzz
#
# --check installs nothing: exit 0 when the GOALs' packages are present, 1 if not.
# The Makefile runs this for the goals it was given, so that `make`, `make check` and
# `make demo` work on a fresh Debian machine with no other step, and a plain `make` or
# `make install` asks for no test tool.
set -eu

build="gcc make pkg-config libjpeg62-turbo-dev libpng-dev libcjson-dev libopenblas-dev
	libsndfile1-dev libsoxr-dev libavformat-dev libavcodec-dev libavutil-dev libcairo2-dev
	opencv-data"
check="bats libcmocka-dev jq mandoc clang-format sox parallel python3 valgrind ffmpeg"
demo="sox jq"
bench="python3 python3-opencv python3-numpy python3-torch aubio-tools time fluidsynth
	fluid-soundfont-gm planetblupi-music-midi sox"
fuzz="clang"

usage() {
	echo "usage: scripts/deps.sh [--check] [build|check|demo|bench|fuzz]..." >&2
	exit 2
}
check_only=0
want=$build
for arg in "$@"; do
	case $arg in
	--check) check_only=1 ;;
	build) ;;
	check) want="$want $check" ;;
	demo) want="$want $demo" ;;
	bench) want="$want $bench" ;;
	fuzz) want="$want $fuzz" ;;
	*) usage ;;
	esac
done

missing=
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
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
