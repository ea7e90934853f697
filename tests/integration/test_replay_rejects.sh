#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_replay_rejects.sh: bad market data in a replay. Three hours of clean
# ticks, then the same file with one tick stamped in 2090 and one priced
# 1e12 (before: the 2090 tick opened a bar the candle builder never left and
# every later tick was dropped "out of order" with exit 0 and no word in the
# summary; the 1e12 price stopped the replay or, live, wrapped into a stored
# candle of 346361856.0). Now both are rejected and counted by reason: the
# bars, ticks and decision digest equal the clean run's, the summary (text
# and JSON) and the stats file (slobctl status) name the reasons, the stored
# candles hold no absurd price, trading.log records them, exit 0; with
# --strict the first rejection is fatal (exit 6, file:line and why) and a
# clean file still exits 0.
set -euo pipefail
B="${SLOB_BIN_DIR:?}"
T="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/replay_rejects.XXXXXX")"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
say() { echo "-- $*"; }

python3 - "$T" <<'EOF'
import random, sys
random.seed(7)
t0 = 1767709800 * 10**9  # 2026-01-06 14:30:00Z
px = 20000.0
clean, bad = ["timestamp,price,size"], ["timestamp,price,size"]
for i in range(3 * 3600):
    px += random.choice([-0.25, 0, 0.25])
    line = f"{t0 + i * 10**9},{px:.2f},{random.randint(1, 5)}"
    clean.append(line)
    bad.append(line)
    if i == 600:
        bad.append(f"{3786912000 * 10**9},{px:.2f},1")  # 2090-01-01, file line 603
    if i == 1200:
        bad.append(f"{t0 + i * 10**9 + 5 * 10**8},1000000000000.00,1")  # 1e12, line 1204
open(sys.argv[1] + "/clean.csv", "w").write("\n".join(clean) + "\n")
open(sys.argv[1] + "/y2090.csv", "w").write("\n".join(l for l in bad if ",1000000000000.00," not in l) + "\n")
open(sys.argv[1] + "/bad.csv", "w").write("\n".join(bad) + "\n")
EOF
common=(--set instrument.symbol=MNQ --set instrument.point_value=2
	--set log.trading_file="$T/logs/trading.log" --set log.errors_file="$T/logs/errors.log")
j() { python3 -c "import json,sys; v=json.load(open(sys.argv[1])); [v:=v[k] for k in sys.argv[2:]]; print(v)" "$@"; }

say "one tick in 2090 alone: the 3 hours still make 180 bars (before: 12, then silence)"
rc=0
"$B/slobd" "${common[@]}" --data-dir "$T/dy" replay "$T/y2090.csv" > "$T/y.txt" || rc=$?
cat "$T/y.txt"
[ "$rc" -eq 0 ] || fail "exit $rc"
grep -Eq '^  M1 bars +180$' "$T/y.txt" || fail "the 2090 tick cost bars"
grep -Eq '^  ticks +10800$' "$T/y.txt" || fail "the 2090 tick cost ticks"
grep -q '^  rejected ticks   1 (ts_range 1; first: .*y2090.csv:603: ' "$T/y.txt" \
	|| fail "the summary does not name the rejected tick"

say "clean file: nothing rejected"
"$B/slobd" "${common[@]}" --data-dir "$T/dc" replay "$T/clean.csv" --json > "$T/c.json" \
	|| fail "clean replay exit $?"
cat "$T/c.json"
[ "$(j "$T/c.json" bars)" -eq 180 ] || fail "clean: 180 bars expected"
[ "$(j "$T/c.json" rejected_ticks)" -eq 0 ] || fail "clean: rejected_ticks not 0"
"$B/slobd" "${common[@]}" --data-dir "$T/dc2" replay "$T/clean.csv" > "$T/c.txt" || fail "clean text"
grep -q '^  rejected ticks   0$' "$T/c.txt" || fail "clean text summary lacks 'rejected ticks 0'"

say "one tick in 2090 and one price of 1e12: rejected, counted, normal bars, exit 0"
rc=0
"$B/slobd" "${common[@]}" --data-dir "$T/db" replay "$T/bad.csv" --json > "$T/b.json" || rc=$?
cat "$T/b.json"
[ "$rc" -eq 0 ] || fail "bad replay exit $rc (0 expected without --strict)"
for k in bars ticks digest setups orders; do
	[ "$(j "$T/b.json" $k)" = "$(j "$T/c.json" $k)" ] || fail "$k differs from the clean run"
done
[ "$(j "$T/b.json" rejected_ticks)" -eq 2 ] || fail "rejected_ticks != 2"
[ "$(j "$T/b.json" rejected_by ts_range)" -eq 1 ] || fail "the 2090 tick not counted as ts_range"
[ "$(j "$T/b.json" rejected_by price_range)" -eq 1 ] || fail "the 1e12 price not counted as price_range"
db="$T/db/slob_state.db"
[ "$(sqlite3 "$db" 'SELECT COUNT(*) FROM candles')" -eq 180 ] || fail "stored candles != 180"
[ "$(sqlite3 "$db" 'SELECT COUNT(*) FROM candles WHERE high > 100000 OR low < 1000')" -eq 0 ] \
	|| fail "an absurd price reached a stored candle"
"$B/slobd" "${common[@]}" --data-dir "$T/dt" replay "$T/bad.csv" > "$T/b.txt" || fail "text run"
cat "$T/b.txt"
grep -q '^  rejected ticks   2 (price_range 1, ts_range 1; first: .*bad.csv:603: ts_range (time 2090-01-01' \
	"$T/b.txt" || fail "text summary does not report the rejections and the first one"
grep -q 'market data: 2 ticks rejected (first: .*bad.csv:603: ts_range' "$T/logs/trading.log" \
	|| fail "trading.log does not record the rejections"
grep -q 'System Stopped: 10800 ticks (2 rejected)' "$T/logs/trading.log" || fail "stop line lacks the count"
"$B/slobctl" --data-dir "$T/dt" status > "$T/st.txt" 2>&1 || true
grep -Eq '^ +price_range +1$' "$T/st.txt" || fail "stats file: price_range not counted"
grep -Eq '^ +ts_range +1$' "$T/st.txt" || fail "stats file: ts_range not counted"

say "the calendar reaching 2100: the same tick is a forward jump, the bars go on"
"$B/slobd" "${common[@]}" --set detector.tz_year_to=2100 --data-dir "$T/df" replay "$T/bad.csv" \
	--json > "$T/f.json" || fail "tz 2100 run"
[ "$(j "$T/f.json" rejected_by ts_forward)" -eq 1 ] || fail "not counted as ts_forward"
[ "$(j "$T/f.json" bars)" -eq 180 ] || fail "the 2090 tick cost bars"

say "--strict: the first rejection is fatal, named, exit 6"
rc=0
"$B/slobd" "${common[@]}" --data-dir "$T/ds" replay "$T/bad.csv" --strict > "$T/s.out" 2> "$T/s.err" || rc=$?
cat "$T/s.err"
[ "$rc" -eq 6 ] || fail "--strict exit $rc (6 expected)"
grep -q 'bad.csv:603: tick rejected (strict): ts_range (time 2090-01-01T00:00:00' "$T/s.err" \
	|| fail "--strict message does not name file:line and why"
"$B/slobd" "${common[@]}" --data-dir "$T/ds2" replay "$T/clean.csv" --strict -q || fail "--strict on clean data"
"$B/slobd" --help 2>&1 | grep -q -- '--strict' || fail "--help lacks --strict"
echo "1 passed, 0 failed"
