#!/bin/sh
# `make bench` entry for training speed against PyTorch (issue 14); see scripts/bench/train.py.
# Skips (exit 0) without Debian's python3-torch or the FER2013 faces.
cd "$(dirname "$0")/../.." || exit 2
exec /usr/bin/python3 scripts/bench/train.py --bin "${FM_BIN:-build/bin}" "$@"
