#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_config_doc.sh: docs/CONFIG.md carries the key table exactly as
# `slobd --config-doc` prints it, so the documented defaults and environment
# variables are the ones the code uses.
set -euo pipefail
B="${SLOB_BIN_DIR:?}"
S="${SLOB_SOURCE_DIR:?}"
T="$(mktemp "${SLOB_TEST_TMP:-/tmp}/config_doc.XXXXXX")"
trap 'rm -f "$T"' EXIT
"$B/slobd" --config-doc > "$T"
# the generated part starts at the first section heading
sed -n '/^### \[/,$p' "$S/docs/CONFIG.md" > "$T.doc"
sed -n '/^### \[/,$p' "$T" > "$T.gen"
if ! diff -u "$T.doc" "$T.gen"; then
	echo "FAIL: docs/CONFIG.md is stale: regenerate its reference part with slobd --config-doc"
	rm -f "$T.doc" "$T.gen"
	exit 1
fi
rm -f "$T.doc" "$T.gen"
echo "1 passed, 0 failed"
