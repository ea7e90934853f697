#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# slob_data_cli.sh: slob-data round trip CSV -> binary -> CSV, info/verify
# output, and the clear errors for a malformed line, a truncated file and a
# corrupted body (exit code 1 with file[:line] in the message).
set -euo pipefail
BIN="${SLOB_BIN_DIR:?}/slob-data"
[ -x "$BIN" ] || { echo "slob-data not built"; exit 77; }
T="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/slob_data_cli.XXXXXX")"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

{
	echo "timestamp,price,size"
	for i in $(seq 0 999); do
		echo "$((1767709800000000000 + i * 250000000)),$((20000 + i % 17)).25,$((1 + i % 3))"
	done
} > "$T/a.csv"

"$BIN" csv2bin --symbol NQ "$T/a.csv" "$T/a.bin" 2> "$T/err" || fail "csv2bin: $(cat "$T/err")"
[ "$(stat -c %s "$T/a.bin")" -eq $((64 + 1000 * 16)) ] || fail "binary size"
"$BIN" info "$T/a.bin" > "$T/info"
grep -q '^ticks: 1000$' "$T/info" || fail "info ticks"
grep -q '^symbol: NQ$' "$T/info" || fail "info symbol"
grep -q '^first: 2026-01-06T14:30:00.000000000Z$' "$T/info" || fail "info first"
"$BIN" verify "$T/a.bin" > /dev/null || fail "verify clean file"
"$BIN" bin2csv "$T/a.bin" "$T/b.csv" 2> /dev/null
cmp -s "$T/a.csv" "$T/b.csv" || fail "round trip differs"

# malformed line: stops with file:line
sed '500s/,.*/,abc,1/' "$T/a.csv" > "$T/bad.csv"
if "$BIN" csv2bin "$T/bad.csv" "$T/bad.bin" 2> "$T/err"; then fail "malformed accepted"; fi
grep -q "bad.csv:500: price" "$T/err" || fail "no file:line in: $(cat "$T/err")"
"$BIN" csv2bin --skip-bad "$T/bad.csv" "$T/skip.bin" 2> "$T/err" || fail "skip-bad"
grep -q "skipped 1 malformed" "$T/err" || fail "skip count: $(cat "$T/err")"

# truncated and corrupted binaries
head -c 1000 "$T/a.bin" > "$T/trunc.bin"
if "$BIN" verify "$T/trunc.bin" 2> "$T/err" > /dev/null; then fail "truncated accepted"; fi
grep -q "truncated" "$T/err" || fail "truncation message: $(cat "$T/err")"
cp "$T/a.bin" "$T/corrupt.bin"
printf '\x01' | dd of="$T/corrupt.bin" bs=1 seek=5000 conv=notrunc 2> /dev/null
if "$BIN" verify "$T/corrupt.bin" 2> "$T/err" > /dev/null; then fail "corrupt accepted"; fi
grep -q "checksum" "$T/err" || fail "checksum message: $(cat "$T/err")"
echo "slob-data CLI ok"
