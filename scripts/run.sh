#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on its embedded default: installs the Debian packages, builds
# (Release), generates the sample week (slob-gen --sample, fixed seed: a
# random walk with SLOB setups injected) and replays it through the whole
# engine (ingest -> candles -> detector -> risk -> sender's paper broker ->
# cold SQLite store, examples/sample.ini) into out/sample/data, then prints
# the summary, including `rejected ticks` (ticks the market-data checks
# refused, by reason; 0 on this clean sample). Extra arguments go to
# `slobd replay` (e.g. --json, --layout single, --strict).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" >/dev/null
bin=build/release/bin
out=out/sample
mkdir -p "$out"
if [ ! -s "$out/sample.ticks" ]; then
	"$bin/slob-gen" --sample "$out" >/dev/null
fi
rm -rf "$out/data" "$out/logs"
"$bin/slobd" --config examples/sample.ini replay "$out/sample.ticks" "$@"
echo
echo "store: $out/data/slob_state.db   logs: $out/logs/   try: $bin/slobctl --data-dir $out/data trades --limit 10"
