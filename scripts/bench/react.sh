#!/bin/sh
# `make bench` entry for the accuracy of fer-react's reaction sign on listening sessions
# built from the FER2013 validation faces (issue 13); see scripts/bench/react.py.
#
#   scripts/bench/react.sh [--half held-out|tune] [--sessions N] [--songs N] [--seed N]
#
# The faces are split in two halves by file name: "tune" for whoever tunes fer-react's
# constants, "held-out" (the default) for the figure reported. The frames themselves, faces
# on a canvas, go through fer-detect --stream | fer-classify --smooth 1 | fer-react, as a
# camera's would.
cd "$(dirname "$0")/../.." || exit 2
exec /usr/bin/python3 scripts/bench/react.py --bin "${FM_BIN:-build/bin}" "$@"
