#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_all.sh: every benchmark in bench/, one after the other, on the Release
# build, each printing its figures and a final key=value line; the final
# lines are collected in out/bench/summary.txt with the machine and commit.
# Benchmarks never gate CI. Takes about 10 minutes on a quiet 2-core VM.
#   bench/run_all.sh [--quick]
set -uo pipefail
cd "$(dirname "$0")/.."
quick="${1:-}"
cmake --preset release > /dev/null && cmake --build --preset release -j"$(nproc)" > /dev/null || exit 1
b=build/release/bin
out=out/bench
mkdir -p "$out"
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, kernel $(uname -r)"
	echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/summary.txt"
run() {
	local name=$1
	shift
	echo "== $name: $*"
	"$@" 2>&1 | tee "$out/$name.txt"
	echo "$name: $(tail -n 1 "$out/$name.txt")" >> "$out/summary.txt"
}
if [ "$quick" = "--quick" ]; then
	run jitter "$b/jitter" --seconds 2
	run ring "$b/ring_bench" --quick
	run ingest "$b/ingest_bench" --ticks 5000000 --reps 1
	run detector "$b/detector_bench" 1
	run risk "$b/risk_bench" 20000 1
	run tws "$b/tws_bench" 20000 1
	run persist "$b/persist_bench"
	run journal "$b/journal_bench" --reps 1 --pairs 500
	run pipeline "$b/pipeline_bench" --runs 1 --days 60 --paced-days 30 --journal
else
	run jitter "$b/jitter" --seconds 5
	run ring "$b/ring_bench"
	run ingest "$b/ingest_bench" --reps 3
	run detector "$b/detector_bench"
	run risk "$b/risk_bench" 100000 5
	run tws "$b/tws_bench"
	run persist "$b/persist_bench"
	run journal "$b/journal_bench"
	run ops "$b/ops_bench"
	run dash "$b/dash_bench" run --trades 100000 --reps 30
	run pipeline "$b/pipeline_bench" --journal
	run gw_latency bench/gw_latency.sh
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/summary.txt"
cat "$out/summary.txt"
