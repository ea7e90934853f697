#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_slobd_replay.sh: slobd as users run it. The generated sample replayed
# through the whole pipeline (orders, fills and trades in the store match the
# summary), the same decision digest on one thread and on the default layout,
# --check-config with secrets redacted, a bad configuration value named with
# file:line (exit 2), the same week as M1 bars giving the same trades, a
# malformed bar line named with file:line (exit 5), a second slobd on the same data directory refused
# (exit 4) while the first keeps running, and SIGTERM as a graceful stop
# (exit 0, store flushed and readable).
set -euo pipefail
B="${SLOB_BIN_DIR:?}"
T="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/slobd_replay.XXXXXX")"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
say() { echo "-- $*"; }

"$B/slob-gen" --sample "$T/gen" > /dev/null
common=(--set instrument.symbol=MNQ --set instrument.point_value=2
	--set log.trading_file="$T/logs/trading.log" --set log.errors_file="$T/logs/errors.log")

say "replay of the sample week, default layout"
"$B/slobd" "${common[@]}" --data-dir "$T/d1" replay "$T/gen/sample.ticks" --json > "$T/s1.json"
cat "$T/s1.json"
j() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
[ "$(j "$T/s1.json" ticks)" -gt 40000 ] || fail "ticks"
[ "$(j "$T/s1.json" setups)" -ge 5 ] || fail "the 5 injected setups were not all found"
orders=$(j "$T/s1.json" orders)
[ "$orders" -ge 1 ] || fail "no orders"
trades=$(j "$T/s1.json" trades)
db="$T/d1/slob_state.db"
[ "$(sqlite3 "$db" 'SELECT COUNT(*) FROM trade_history')" -eq "$trades" ] || fail "trade_history rows != summary trades"
[ "$(sqlite3 "$db" "SELECT COUNT(*) FROM orders WHERE role='ENTRY' OR order_ref LIKE '%_ENTRY'")" -eq "$orders" ] \
	|| fail "entry orders in store != summary orders"
[ "$(sqlite3 "$db" "SELECT COUNT(DISTINCT order_ref) FROM orders")" -eq "$(sqlite3 "$db" 'SELECT COUNT(*) FROM orders')" ] \
	|| fail "an orderRef appears twice"
[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || fail "integrity"
grep -q "System Stopped" "$T/logs/trading.log" || fail "no stop line in trading.log"

say "same digest on one thread"
"$B/slobd" "${common[@]}" --data-dir "$T/d2" --layout single replay "$T/gen/sample.ticks" --json > "$T/s2.json"
[ "$(j "$T/s1.json" digest)" = "$(j "$T/s2.json" digest)" ] || fail "digest differs between layouts"

say "the same week as M1 bars (IB export CSV): same setups and trades"
"$B/slobd" "${common[@]}" --data-dir "$T/d4" replay "$T/gen/sample.bars.csv" --json > "$T/s4.json"
for k in bars setups orders trades pnl; do
	[ "$(j "$T/s1.json" $k)" = "$(j "$T/s4.json" $k)" ] || fail "bar replay: $k differs"
done
printf 'time,open,high,low,close,volume\n2026-01-12 09:00:00,1,2,x,1,1\n' > "$T/bad.csv"
set +e
"$B/slobd" "${common[@]}" --data-dir "$T/d5" replay "$T/bad.csv" > /dev/null 2> "$T/err5"
rc=$?
set -e
[ "$rc" -eq 5 ] || fail "malformed bar file exit $rc"
grep -q "bad.csv:2: low" "$T/err5" || fail "no file:line for a bad bar: $(cat "$T/err5")"

say "--check-config redacts secrets"
TELEGRAM_BOT_TOKEN=123456:VERYSECRET TELEGRAM_CHAT_ID=42 "$B/slobd" --check-config > "$T/cfg.txt"
grep -q 'telegram_token = \*\*\*' "$T/cfg.txt" || fail "token not redacted"
if grep -q VERYSECRET "$T/cfg.txt"; then fail "secret printed"; fi

say "a bad value is named with file:line, exit 2"
printf '[risk]\nmax_position_size = 3\nrisk_per_trade = 7\n' > "$T/bad.ini"
set +e
"$B/slobd" --config "$T/bad.ini" --check-config > /dev/null 2> "$T/err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad config exit $rc"
grep -q "bad.ini:3:" "$T/err" || fail "no file:line: $(cat "$T/err")"
grep -q "risk_per_trade" "$T/err" || fail "key not named: $(cat "$T/err")"

say "second slobd on the same data directory"
"$B/slobd" "${common[@]}" --data-dir "$T/d3" --speed 60 replay "$T/gen/sample.ticks" > "$T/paced.out" 2>&1 &
pids+=($!)
first=$!
for _ in $(seq 50); do [ -s "$T/d3/slobd.lock" ] && break; sleep 0.1; done
sleep 0.5
set +e
"$B/slobd" "${common[@]}" --data-dir "$T/d3" replay "$T/gen/sample.ticks" > /dev/null 2> "$T/err2"
rc=$?
set -e
[ "$rc" -eq 4 ] || fail "second instance exit $rc: $(cat "$T/err2")"
grep -q "another slobd (pid $first) holds" "$T/err2" || fail "message: $(cat "$T/err2")"
kill -0 "$first" || fail "first instance died"

say "SIGTERM: graceful stop"
kill -TERM "$first"
set +e
wait "$first"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "SIGTERM exit $rc: $(cat "$T/paced.out")"
grep -q "slob replay summary" "$T/paced.out" || fail "no summary after SIGTERM"
[ "$(sqlite3 "$T/d3/slob_state.db" 'PRAGMA integrity_check')" = ok ] || fail "store after stop"
grep -q "stop requested" "$T/logs/trading.log" || fail "stop not logged"
echo "1 passed, 0 failed"
