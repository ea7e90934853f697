#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Coverage-guided fuzzing of the parsers with libFuzzer (docs/FUZZING.md).
# Usage: scripts/fuzz.sh [-t seconds] [-m] target...
#   target   tws_decode tickcsv tickbin barcsv calendar (tests/fuzz/fuzz_<target>.c)
#   -t S     run each target S seconds (default 600), one after the other;
#            -t 0 runs nothing (with -m: only minimize)
#   -m       afterwards, minimize tests/fuzz/corpus/<target>/ plus what the run
#            found with -merge=1 and replace the committed corpus by the result;
#            hand-written seeds (any file not named by its SHA-1, as libFuzzer
#            names inputs) are always kept
# Needs the fuzz build: cmake --preset fuzz && cmake --build --preset fuzz.
# Runs at nice 19, one fuzzer at a time (-jobs/-workers are not used). New
# inputs, crash artifacts and the log stay in build/fuzz/work/<target>/.
# Exit status: 1 if any target crashed (its artifact is named in the log).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=600
merge=0
while getopts "t:m" o; do
  case $o in
    t) secs=$OPTARG ;;
    m) merge=1 ;;
    *) echo "usage: $0 [-t seconds] [-m] target..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-t seconds] [-m] target..." >&2; exit 2; }
rc=0
for t in "$@"; do
  bin=build/fuzz/bin/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz: $bin missing: cmake --preset fuzz && cmake --build --preset fuzz" >&2; exit 2; }
  seeds=tests/fuzz/corpus/$t
  work=build/fuzz/work/$t
  mkdir -p "$work/corpus" "$seeds"
  if [ "$secs" -gt 0 ]; then
    echo "fuzz: $t for ${secs}s, log $work/run.log"
    # the first directory receives new inputs; the committed corpus only seeds
    start=$(date +%s)
    if ! nice -n 19 "$bin" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$work/" "$work/corpus" "$seeds" >"$work/run.log" 2>&1; then
      echo "fuzz: $t CRASHED, see $work/run.log and $work/crash-*" >&2
      rc=1
    fi
    grep -E '^#[0-9]+ +(INITED|DONE)' "$work/run.log" || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$work/run.log" || true
    echo "fuzz: $t wall $(($(date +%s) - start)) s"
  fi
  if [ "$merge" = 1 ]; then
    rm -rf "$work/merged" && mkdir "$work/merged"
    for f in "$seeds"/*; do
      [ -f "$f" ] || continue
      [[ $(basename "$f") =~ ^(lf_)?[0-9a-f]{40}$ ]] || cp "$f" "$work/merged/"
    done
    nice -n 19 "$bin" -merge=1 "$work/merged" "$seeds" "$work/corpus" >"$work/merge.log" 2>&1
    rm -rf "$seeds" && mv "$work/merged" "$seeds"
    echo "fuzz: $t corpus now $(ls "$seeds" | wc -l) files, $(du -sk "$seeds" | cut -f1) KiB"
  fi
done
exit $rc
