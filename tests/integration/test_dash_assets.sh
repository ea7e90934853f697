#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The dashboard's embedded assets (tools/slob-dash/assets.c) must match the
# files under tools/slob-dash/web and vendor/: a page edited without running
# gen_assets.py would otherwise ship stale in the binary. Also checks that the
# vendored chart library keeps its licence.
set -euo pipefail
src="${SLOB_SOURCE_DIR:-.}/tools/slob-dash"
python3 "$src/gen_assets.py" --check
test -s "$src/vendor/uplot/LICENSE" || { echo "FAIL: vendor/uplot/LICENSE missing"; exit 1; }
grep -q "MIT License" "$src/vendor/uplot/LICENSE" || { echo "FAIL: uPlot licence text changed"; exit 1; }
echo "1 passed, 0 failed"
