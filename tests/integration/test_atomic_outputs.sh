#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_atomic_outputs.sh: files the tools write are whole or absent, and an
# output that is the input is refused.
#  - slob-data csv2bin/bin2csv with OUT the same file as IN, directly, through
#    a symlink and through a hard link: exit 1 naming both, IN byte-identical;
#  - csv2bin over a CSV with a bad line in the middle: exit 1 and no OUT at
#    all (not a valid, checksummed prefix a replay would accept), an existing
#    OUT kept as it was, no temporary file left behind;
#  - an OUT that is a symlink to another file: that file is replaced, the
#    link stays;
#  - slobd sweep --csv naming its own tick file: refused before any run.
set -u
B="${SLOB_BIN_DIR:?}"
[ -x "$B/slob-data" ] || { echo "slob-data not built"; exit 77; }
T="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/atomic_out.XXXXXX")"
trap 'rm -rf "$T"' EXIT
cd "$T"
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

{
	echo "timestamp,price,size"
	for i in $(seq 0 1999); do
		echo "$((1767709800000000000 + i * 250000000)),$((20000 + i % 17)).25,$((1 + i % 3))"
	done
} > a.csv
cp a.csv a.orig
"$B/slob-data" csv2bin a.csv a.bin 2> err || { bad "csv2bin: $(cat err)"; exit 1; }
cp a.bin a.bin.orig

same() { # same <description> <cmd> <in> <out> <pristine copy of in>
	local what=$1 cmd=$2 in=$3 out=$4 orig=$5
	if "$B/slob-data" "$cmd" "$in" "$out" > /dev/null 2> err; then
		bad "$what: accepted"
	elif ! grep -q "same file as the input" err; then
		bad "$what: message does not say why: $(cat err)"
	else
		ok "$what refused: $(cat err)"
	fi
	cmp -s "$in" "$orig" || bad "$what: the input was changed ($(stat -c %s "$in") bytes)"
	cat "$orig" > "$in" # repair, so one failure does not hide the next cases
}
same "csv2bin IN IN" csv2bin a.csv a.csv a.orig
ln -s a.csv link.csv
same "csv2bin IN symlink-to-IN" csv2bin a.csv link.csv a.orig
ln a.csv hard.csv
same "csv2bin IN hard-link-of-IN" csv2bin hard.csv a.csv a.orig
same "bin2csv IN IN" bin2csv a.bin a.bin a.bin.orig
same "bin2csv IN ./IN" bin2csv a.bin ./a.bin a.bin.orig
"$B/slob-data" verify a.bin > /dev/null 2>&1 || bad "a.bin no longer verifies"

# a bad line in the middle: no output at all
sed '1000s/,.*/,abc,1/' a.csv > bad.csv
if "$B/slob-data" csv2bin bad.csv bad.bin 2> err; then bad "csv2bin of a bad CSV succeeded"; fi
grep -q "bad.csv:1000:" err || bad "error does not name bad.csv:1000: $(cat err)"
if [ -e bad.bin ]; then
	bad "a failed csv2bin left bad.bin ($(stat -c %s bad.bin) bytes; verify: $("$B/slob-data" verify bad.bin 2>&1 | grep -E '^ticks|checksum' | tr '\n' ' '))"
else
	ok "failed csv2bin left no output"
fi
cp a.bin keep.bin
"$B/slob-data" csv2bin bad.csv keep.bin 2> /dev/null && bad "csv2bin of a bad CSV succeeded"
cmp -s keep.bin a.bin.orig && ok "existing output kept on failure" || bad "a failed csv2bin changed an existing output"
leftover=$(find . -name '.*' -type f | head -3)
[ -z "$leftover" ] || bad "temporary files left behind: $leftover"

# output through a symlink to another file: the target is replaced, the link stays
cp a.bin target.bin
printf 'old' > target.bin
ln -s target.bin out-link.bin
"$B/slob-data" csv2bin a.csv out-link.bin 2> err || bad "csv2bin through a symlink: $(cat err)"
[ -L out-link.bin ] || bad "the output symlink was replaced by a file"
cmp -s target.bin a.bin.orig && ok "symlink target written" || bad "symlink target not written"

# slobd sweep writing its CSV over its own tick file
if [ -x "$B/slobd" ]; then
	cp a.bin sweep.bin
	if "$B/slobd" sweep sweep.bin --grid risk.max_position_size=1 --data-dir "$T/data" \
		--csv sweep.bin > /dev/null 2> err; then
		bad "sweep --csv over its input accepted"
	fi
	cmp -s sweep.bin a.bin.orig && ok "sweep input intact: $(tail -1 err)" || bad "sweep overwrote its input"
fi

echo "failures: $fails"
[ $fails = 0 ]
