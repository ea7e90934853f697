#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_entry_validity.sh: an entry that waits longer than risk.cancel_after_bars
# is cancelled at the gateway, not only in the paper broker. slobd replay-gw
# trades the first day of the generated sample against slob-gw with
# cancel_after_bars = 1; every
# entry the store records as cancelled is cancelled at the gateway and never
# filled there, and its stop and target went with it. The gateway's regular
# hours are one minute at midnight New York (--rth), and entries are
# regular-hours orders (tws.entry_outside_rth = false), so no entry can fill
# during the day: whether the market touches an entry within one bar is the
# data's business (the live gateway matches a bar the paper broker never
# shows a cancelled entry), the cancel is what is tested.
set -euo pipefail
B="${SLOB_BIN_DIR:?}"
T="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/entry_validity.XXXXXX")"
. "$(dirname "$0")/lib/gwtest.sh"

"$B/slob-gen" --sample "$T/gen" > /dev/null 2>&1
# the first day (Monday 2026-01-12, until 23:59 UTC)
awk -F, 'NR == 1 || $1 < 1768262400000000000' "$T/gen/sample.ticks.csv" > "$T/day1.csv"
common=(--set instrument.symbol=MNQ --set instrument.point_value=2 --set tws.account=DU1234567
	--set risk.cancel_after_bars=1 --set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000
	--set log.trading_file="$T/logs/trading.log" --set log.errors_file="$T/logs/errors.log")
"$B/slob-gw" --port 0 --control-port 0 --contract MNQ --rth 00:00-00:01 --ticks "$T/day1.csv" --speed "${GW_SPEED:-10000}" \
	--bar-pause-ms "${GW_BAR_PAUSE_MS:-5}" --wait-sub --account DU1234567 > "$T/gw.out" 2> "$T/gw.err" &
pids+=($!)
for _ in $(seq 50); do grep -q '^CONTROL' "$T/gw.out" && break; sleep 0.1; done
PORT=$(awk '/^PORT/{print $2}' "$T/gw.out")
CTL=$(awk '/^CONTROL/{print $2}' "$T/gw.out")
"$B/slobd" "${common[@]}" --data-dir "$T/live" --set tws.port="$PORT" replay-gw -q > "$T/slobd.out" 2>&1 &
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
kill -TERM "$sd"
wait "$sd" || fail "slobd replay-gw exit $?: $(cat "$T/slobd.out")"
ctl orders > "$T/gw.orders"
db="$T/live/slob_state.db"
sqlite3 "$db" "SELECT order_ref FROM orders WHERE role = 'ENTRY' AND status = 'CANCELLED' ORDER BY 1" > "$T/store.cancelled"
n=$(wc -l < "$T/store.cancelled")
echo "entries placed $(sqlite3 "$db" "SELECT COUNT(*) FROM orders WHERE role = 'ENTRY'"), cancelled after 1 bar: $n"
[ "$n" -ge 1 ] || fail "no entry was cancelled after one bar: $(sqlite3 "$db" "SELECT order_ref, status FROM orders WHERE role = 'ENTRY'")"
while read -r ref; do
	grep -q "ref=$ref state=Cancelled" "$T/gw.orders" || fail "$ref is cancelled in the store but not at the gateway: $(grep "ref=$ref" "$T/gw.orders")"
	base=${ref%_ENTRY}
	for leg in TP SL; do
		grep -q "ref=${base}_$leg state=Cancelled" "$T/gw.orders" || fail "${base}_$leg still live at the gateway after its entry was cancelled"
	done
done < "$T/store.cancelled"
echo "1 passed, 0 failed"
