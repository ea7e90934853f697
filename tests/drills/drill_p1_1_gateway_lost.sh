#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p1_1_gateway_lost.sh: incident P1-1, connection to the IB gateway
# lost. Three faults against one slobd (slob-gw plays the gateway):
#  (c) port refused at start: slobd starts against a closed port, then
#      slob-gw appears on it -> slobd retries with backoff and connects;
#  (a) slob-gw drops both sockets (control `disconnect`) -> reconnect with
#      backoff, reconciliation, market-data gap marked on the next bar;
#  (b) gateway down DRILL_DOWN_S seconds (default 30: kill -9 slob-gw,
#      restart it on the same port with the same --state file) -> no orders
#      while down, reconnect and reconcile after, nothing placed twice.
# Operators want log lines for every attempt, alerts for lost/restored, no
# order while down, reconciliation after each reconnect.
. "$(dirname "$0")/lib/drill.sh"
drill_init p1_1_gateway_lost
drill_sample
drill_alerts_start
D="$DT/data"
DOWN=${DRILL_DOWN_S:-30}
common=(--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000)
recs() { [ "$(drill_log_count 'reconciliation done')" -ge "$1" ]; }
refs_twice() { gw orders | grep -o 'ref=SLOB_[0-9a-f]*_[A-Z]*' | sort | uniq -d | wc -l; }

# ---- (c) port refused at start
P=$(drill_free_port)
inject "(c) slobd started against closed port $P"
DRILL_TWS_PORT=$P
drill_slobd_start "$D" "${common[@]}" replay-gw -q
fails() { [ "$(drill_log_count 'connection attempt failed')" -ge 4 ]; }
drill_wait 15 fails || drill_fail "no failed-attempt log lines: $(cat "$SD_OUT")"
grep 'connection attempt failed' "$TLOG" | head -4 | sed 's/^/   log: /'
drill_check "slobd keeps running while the port is refused" kill -0 "$SD_PID"
refused_alert() { alert_has '"channel": "telegram".*Connection lost.*attempt failed'; }
drill_wait 5 refused_alert
drill_check "a gateway refused from the start is alerted" refused_alert
inject "start slob-gw on port $P"
drill_gw_start --port "$P" --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-10000}" --wait-sub
drill_wait 20 recs 1 || drill_fail "slobd did not connect once the port opened"
observe "$(grep 'reconciliation done' "$TLOG" | tail -1)"
drill_check "connected once the gateway appeared" recs 1
has_orders() { [ "$(gw_field orders)" -ge 3 ]; }
drill_wait 40 has_orders || drill_fail "no orders: $(gw status)"

# ---- (a) the gateway drops the sockets
gaps0=$(q "$D" "SELECT COUNT(*) FROM candles WHERE (flags & 2) <> 0")
n0=$(drill_log_count 'reconciliation done')
inject "(a) slob-gw control: disconnect"
observe "$(gw disconnect)"
drill_wait 20 recs $((n0 + 1)) || drill_fail "no reconnection after disconnect"
grep -E 'connection' "$TLOG" | tail -4 | sed 's/^/   log: /'
drill_check "reconciled after the reconnect" recs $((n0 + 1))
gap() { [ "$(q "$D" "SELECT COUNT(*) FROM candles WHERE (flags & 2) <> 0")" -gt "$gaps0" ]; }
drill_wait 15 gap
observe "bars flagged 'gap before': $(q "$D" "SELECT COUNT(*) FROM candles WHERE (flags & 2) <> 0") (before $gaps0)"
drill_check "market-data gap marked on a bar (candles.flags bit 1)" gap
drill_check "connection loss alerted" alert_has '"channel": "telegram".*Connection lost'
drill_check "connection restored alerted" alert_has '"channel": "telegram".*Connection restored'
drill_expect_eq "no orderRef twice after the reconnect" "$(refs_twice)" 0

# ---- (b) gateway down DOWN seconds
gw pause > /dev/null
sleep 0.5
g0=$(gw_field orders)
n0=$(drill_log_count 'reconciliation done')
a0=$(drill_log_count 'connection attempt failed')
dec0=$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted=1")
inject "(b) kill -9 slob-gw; down ${DOWN}s"
drill_gw_kill
sleep "$DOWN"
a1=$(drill_log_count 'connection attempt failed')
observe "failed reconnect attempts while down: $((a1 - a0))"
drill_check "backoff: retried while down, but not in a storm" test $((a1 - a0)) -ge 2 -a $((a1 - a0)) -le $((DOWN * 2 + 4))
drill_check "slobd still running" kill -0 "$SD_PID"
drill_expect_eq "no accepted decision while down" "$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted=1")" "$dec0"
inject "restart slob-gw on port $P with the same --state file"
drill_gw_start --port "$P" --wait-sub
drill_wait 30 recs $((n0 + 1)) || drill_fail "no reconnection after the gateway came back"
rec=$(grep 'reconciliation done' "$TLOG" | tail -1)
observe "$rec"
drill_check "reconciliation after the outage flags nothing" grep -q 'unknown 0' <<< "$rec"
sleep 1
drill_expect_eq "no order placed during or after the outage" "$(gw_field orders)" "$g0"
drill_expect_eq "no orderRef twice" "$(refs_twice)" 0
drill_slobd_stop
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
alert_show
no_refused() { ! grep -q "store refused" "$ELOG" 2> /dev/null; }
drill_check "the store accepted every record (no 'store refused' in errors.log)" no_refused
drill_finish
