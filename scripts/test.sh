#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds (if needed) and runs the whole test suite:
#   1. Release build (-Werror): unit, integration, drill and short fuzz tests;
#   2. Debug build under ASan+UBSan: unit and fuzz tests;
#   3. TSan build: the ring, stage-runtime and pipeline tests.
# Installs missing Debian packages first (root). Exit code != 0 if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

step() { printf '\n=== %s ===\n' "$*"; }

step "release build"
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
step "release tests (unit, integration, drills, fuzz)"
# the fuzz targets get their longer run under ASan+UBSan below
SLOB_FUZZ_SECONDS=3 ctest --test-dir build/release -j"$jobs" --timeout 900

step "debug build (ASan+UBSan)"
cmake --preset debug >/dev/null
cmake --build --preset debug -j"$jobs"
step "ASan+UBSan tests (unit, fuzz)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build/debug -j"$jobs" -L 'unit|fuzz' --timeout 900

step "TSan build (the tsan-labelled tests only)"
cmake --preset tsan >/dev/null
mapfile -t tsan_targets < <(ctest --test-dir build/tsan -N -L tsan | sed -n 's/^ *Test *#[0-9]*: *//p')
[ ${#tsan_targets[@]} -gt 0 ] || { echo "no tsan tests registered"; exit 1; }
cmake --build --preset tsan -j"$jobs" --target "${tsan_targets[@]}"
step "TSan tests (ring, runtime, pipeline)"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	ctest --test-dir build/tsan -j"$jobs" -L tsan --timeout 900
