#!/bin/sh
# `make bench` entry for the frame-stream pipeline; see scripts/bench/stream.py.
cd "$(dirname "$0")/../.." || exit 2
exec /usr/bin/python3 scripts/bench/stream.py --bin "${FM_BIN:-build/bin}" "$@"
