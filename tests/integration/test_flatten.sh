#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_flatten.sh: the optional session-end flatten (risk.flatten_at,
# docs/RISK.md "Order lifetime"). Off by default: the generated sample week
# holds positions overnight under their GTC stops. With flatten_at = 15:55
# (New York) every position is closed before 16:00 of its day, the closes are
# recorded as FLATTEN exits in trade_history, and against slob-gw (the live
# order path, first day of the sample) the gateway ends the day flat, the
# stop orders of the flattened positions turned into filled market orders;
# the day's same-level setups (risk reason duplicate_levels) never reach
# the gateway.
set -euo pipefail
B="${SLOB_BIN_DIR:?}"
T="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/flatten.XXXXXX")"
. "$(dirname "$0")/lib/gwtest.sh"
"$B/slob-gen" --sample "$T/gen" > /dev/null 2>&1
common=(--set instrument.symbol=MNQ --set instrument.point_value=2
	--set log.trading_file="$T/logs/trading.log" --set log.errors_file="$T/logs/errors.log")
# January: New York = UTC-5, so 16:00 New York is 21:00 UTC
late="SELECT COUNT(*) FROM trade_history WHERE exit_time > substr(entry_time, 1, 10) || ' 21:00:00'"

echo "-- paper replay, flatten off (default): positions are held overnight"
"$B/slobd" "${common[@]}" --data-dir "$T/off" replay "$T/gen/sample.ticks" -q
held=$(sqlite3 "$T/off/slob_state.db" "$late")
[ "$held" -ge 1 ] || fail "the sample holds no position past 16:00: the test would prove nothing"
[ "$(sqlite3 "$T/off/slob_state.db" "SELECT COUNT(*) FROM trade_history WHERE exit_reason = 'FLATTEN'")" -eq 0 ] ||
	fail "FLATTEN exits with flatten_at off"

echo "-- paper replay, flatten_at = 15:55"
"$B/slobd" "${common[@]}" --set risk.flatten_at=15:55 --data-dir "$T/on" replay "$T/gen/sample.ticks" -q
db="$T/on/slob_state.db"
nflat=$(sqlite3 "$db" "SELECT COUNT(*) FROM trade_history WHERE exit_reason = 'FLATTEN'")
echo "held past 16:00 without flatten: $held; flattened: $nflat"
[ "$nflat" -ge 1 ] || fail "no FLATTEN exit"
[ "$(sqlite3 "$db" "$late")" -eq 0 ] || fail "a position was held past 16:00: $(sqlite3 "$db" "$late")"
[ "$(sqlite3 "$db" "SELECT COUNT(*) FROM trade_history WHERE exit_reason = 'FLATTEN' AND (substr(exit_time, 12, 5) < '20:55' OR substr(exit_time, 12, 5) >= '21:00')")" -eq 0 ] ||
	fail "a FLATTEN exit outside 15:55-16:00 New York"

echo "-- slobd replay-gw against slob-gw, first day, flatten_at = 15:55"
awk -F, 'NR == 1 || $1 < 1768262400000000000' "$T/gen/sample.ticks.csv" > "$T/day1.csv"
"$B/slob-gw" --port 0 --control-port 0 --contract MNQ --ticks "$T/day1.csv" --speed "${GW_SPEED:-10000}" \
	--bar-pause-ms "${GW_BAR_PAUSE_MS:-20}" --wait-sub --account DU1234567 > "$T/gw.out" 2> "$T/gw.err" &
pids+=($!)
for _ in $(seq 50); do grep -q '^CONTROL' "$T/gw.out" && break; sleep 0.1; done
PORT=$(awk '/^PORT/{print $2}' "$T/gw.out")
CTL=$(awk '/^CONTROL/{print $2}' "$T/gw.out")
"$B/slobd" "${common[@]}" --set tws.account=DU1234567 --set risk.flatten_at=15:55 \
	--data-dir "$T/live" --set tws.port="$PORT" replay-gw -q > "$T/slobd.out" 2>&1 &
pids+=($!)
sd=$!
st=
for _ in $(seq 600); do
	st=$(ctl status)
	case "$st" in *eof=1*) break ;; esac
	sleep 0.1
done
case "$st" in *eof=1*) ;; *) fail "stream did not finish: $st" ;; esac
sleep 2
st=$(ctl status)
kill -TERM "$sd"
wait "$sd" || fail "slobd replay-gw exit $?: $(cat "$T/slobd.out")"
ctl orders > "$T/gw.orders"
echo "$st"
db="$T/live/slob_state.db"
nflat=$(sqlite3 "$db" "SELECT COUNT(*) FROM trade_history WHERE exit_reason = 'FLATTEN'")
[ "$nflat" -ge 1 ] || fail "no FLATTEN exit through the gateway: $(sqlite3 "$db" 'SELECT setup_id, entry_time, exit_time, exit_reason FROM trade_history')"
case "$st" in *" position=0 "*) ;; *) fail "the gateway is not flat at the end of the day: $st" ;; esac
for sid in $(sqlite3 "$db" "SELECT setup_id FROM trade_history WHERE exit_reason = 'FLATTEN'"); do
	ref=$(sqlite3 "$db" "SELECT order_ref FROM orders WHERE setup_id = '$sid' AND role = 'SL'")
	grep -q "MKT .* ref=$ref state=Filled" "$T/gw.orders" ||
		fail "the stop $ref of flattened setup $sid is not a filled market order at the gateway: $(grep "$ref" "$T/gw.orders")"
done
echo "gateway: $nflat positions flattened, flat at the close"
# same levels (docs/RISK.md duplicate_levels): refused setups never reach the gateway
REASON=$(awk '/^enum slob_risk_reason/{on=1; n=0; next} on && /^}/{exit}
	on && /^[ \t]*SLOB_RISK_[A-Z_]*( = 0)?,/{ if ($1 ~ /^SLOB_RISK_DUPLICATE_LEVELS,?$/) {print n; exit} n++ }' \
	"$(dirname "$0")/../../engine/risk.h")
ndup=$(sqlite3 "$db" "SELECT COUNT(*) FROM decisions WHERE accepted = 0 AND reason_code = ${REASON:?}")
nacc=$(sqlite3 "$db" "SELECT COUNT(*) FROM decisions WHERE accepted = 1")
nent=$(grep -c '_ENTRY state=' "$T/gw.orders")
echo "gateway: $nent entries for $nacc accepted setups; $ndup same-level setups refused"
[ "$ndup" -ge 1 ] || fail "the first day's same-level setups were not refused"
[ "$nent" -eq "$nacc" ] || fail "$nent entries at the gateway for $nacc accepted setups"
echo "1 passed, 0 failed"
