#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# profile.sh: perf profile of a replay through the whole pipeline.
#   bench/profile.sh [TICKFILE] [extra slobd args...]
# Without TICKFILE it generates a year (slob-gen --preset year). Writes
# out/profile/perf.data, a text report out/profile/report.txt (top symbols
# with call chains, frame-pointer unwinding: the Release build keeps frame
# pointers), perf stat counters in out/profile/stat.txt, and a flame graph
# out/profile/flame.svg when flamegraph.pl / stackcollapse-perf.pl are on PATH
# (Debian: the `flamegraph` package is not in Debian 12; clone Brendan
# Gregg's FlameGraph scripts and put them on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf > /dev/null || { echo "profile.sh: perf not found (apt-get install linux-perf)"; exit 1; }
cmake --preset release > /dev/null
cmake --build --preset release -j"$(nproc)" > /dev/null
bin=build/release/bin
out=out/profile
mkdir -p "$out"
data="${1:-}"
[ $# -gt 0 ] && shift
if [ -z "$data" ]; then
	data="$out/year.ticks"
	[ -s "$data" ] || "$bin/slob-gen" --preset year --bin "$data" > /dev/null
fi
rm -rf "$out/data"
run=("$bin/slobd" replay "$data" --data-dir "$out/data" --set instrument.point_value=2
	--set log.trading_file="$out/logs/trading.log" --set log.errors_file="$out/logs/errors.log" "$@")
echo "== perf stat"
perf stat -d -o "$out/stat.txt" -- "${run[@]}" > "$out/summary.txt" || true
cat "$out/summary.txt"
cat "$out/stat.txt" 2>/dev/null || true
rm -rf "$out/data"
echo "== perf record (call graphs by frame pointer)"
perf record -F 2999 -g --call-graph fp -o "$out/perf.data" -- "${run[@]}" > /dev/null
perf report -i "$out/perf.data" --no-children --percent-limit 0.5 --stdio > "$out/report.txt" 2> /dev/null
perf report -i "$out/perf.data" --no-children --sort comm,symbol --percent-limit 1 --stdio 2> /dev/null \
	| grep -v '^#' | grep '%' | head -25
if command -v stackcollapse-perf.pl > /dev/null && command -v flamegraph.pl > /dev/null; then
	perf script -i "$out/perf.data" | stackcollapse-perf.pl | flamegraph.pl > "$out/flame.svg"
	echo "flame graph: $out/flame.svg"
fi
echo "report: $out/report.txt"
