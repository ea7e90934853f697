#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_account_stale.sh: the broker stops sending account data mid-session.
# slob re-requests the account summary every 5 s (tws.account_refresh_s) and
# treats figures older than 8 s as stale (risk.account_stale_s). With a
# position open, slob-gw stops answering (control `account stop`). An
# operator wants new entries held (reason account_stale, one alert, slobctl
# status says STALE), the open position's exit still filled and recorded,
# and entries back once the figures flow again.
. "$(dirname "$0")/lib/drill.sh"
drill_init account_stale
drill_sample
drill_alerts_start
D="$DT/data"
drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-2000}" --wait-sub --bar-pause-ms 2
drill_slobd_start "$D" --set tws.account_refresh_s=5 --set risk.account_stale_s=8 \
	--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0 \
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000 replay-gw -q
drill_wait 20 drill_log_has "reconciliation done" || drill_fail "slobd did not connect to slob-gw"

pos_open() { [ "$(gw_field position)" != 0 ]; }
# hold the stream while a position is open (retry if it closed in between)
for try in 1 2 3 4 5 6 7 8; do
	drill_wait 90 pos_open || drill_fail "no position opened (orders $(gw_field orders), eof $(gw_field eof))"
	gw pause > /dev/null
	pos_open && break
	gw resume > /dev/null
	sleep 0.05
done
pos_open || drill_fail "could not hold the stream with a position open"
observe "position $(gw_field position) at slob-gw, $(gw_field orders) orders"
inject "the broker stops sending account data: account stop (stream held 10 s)"
gw "account stop" > /dev/null
sleep 10
o1=$(gw_field orders)
t1=$(q "$D" "SELECT COUNT(*) FROM trade_history")
gw resume > /dev/null
drill_wait 30 alert_has "stale: new entries held" || drill_fail "no stale alert (log: $(tail -3 "$TLOG"))"
observe "alerted: $(grep -m1 -o 'Account data[^"]*' "$ALERTS")"
"$B/slobctl" --data-dir "$D" status > "$DT/st.txt" 2>&1
held() { drill_log_count "rejected by risk gate: account_stale"; }
held_ge() { [ "$(held)" -ge "$1" ]; }
closed() { [ "$(q "$D" "SELECT COUNT(*) FROM trade_history")" -gt "$t1" ]; }
drill_wait 90 held_ge 2 || drill_fail "no setup held for stale account data (eof: $(gw_field eof))"
drill_wait 90 closed && exited=1 || exited=0
o2=$(gw_field orders)
observe "$(held) setups held; slob-gw orders $o1 -> $o2; trades $t1 -> $(q "$D" "SELECT COUNT(*) FROM trade_history")"

inject "account data flows again: account resume"
gw "account resume" > /dev/null
drill_wait 30 alert_has "Account data current again" && current=1 || current=0
orders_gt() { [ "$(gw_field orders)" -gt "$1" ]; }
drill_wait 90 orders_gt "$o2" && resumed=1 || resumed=0
observe "slob-gw orders after the data came back: $(gw_field orders)"
drill_slobd_stop
observe "slobd exit $SD_RC"

drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
drill_expect_eq "no new entry reached the gateway while the data was stale" "$o2" "$o1"
drill_expect_eq "the open position's exit was filled and recorded while stale" "$exited" 1
drill_check "slobctl status said STALE" grep -q "STALE: new entries held" "$DT/st.txt"
drill_expect_eq "entries resumed notice" "$current" 1
drill_expect_eq "trading resumed with fresh data" "$resumed" 1
alert_show
n=$(alert_count '"channel": "telegram".*stale: new entries held')
drill_expect_eq "one stale alert (telegram), not one per setup" "$n" 1
drill_finish
