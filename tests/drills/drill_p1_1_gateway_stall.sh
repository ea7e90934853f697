#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p1_1_gateway_stall.sh: incident P1-1 without a closed socket. The
# gateway keeps both connections open and stops writing (slob-gw control
# `stall`), as a hung IB Gateway does; nothing closes, so only silence can
# tell. In production a 40 s stall must be caught by the defaults
# (tws.silence_ms 15 s + tws.probe_timeout_ms 10 s); here the same is scaled
# down (1 s + 1 s, a DRILL_STALL_S = 6 s stall) so the drill stays short.
# Expected without a human: each session probes with reqCurrentTime, declares
# itself stale when the probe goes unanswered, alerts "Connection lost ...
# stale", reconnects once the gateway writes again, reconciles, and trading
# goes on (orders reach the gateway after the stall, none twice).
. "$(dirname "$0")/lib/drill.sh"
drill_init p1_1_gateway_stall
drill_sample
drill_alerts_start
D="$DT/data"
STALL=${DRILL_STALL_S:-6}
common=(--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000
	--set tws.silence_ms=1000 --set tws.probe_timeout_ms=1000 --set tws.md_silence_check=always)
recs() { [ "$(drill_log_count 'reconciliation done')" -ge "$1" ]; }
refs_twice() { gw orders | grep -o 'ref=SLOB_[0-9a-f]*_[A-Z]*' | sort | uniq -d | wc -l; }
conn_state() {
	"$B/slobctl" --data-dir "$D" status --json |
		python3 -c 'import json,sys; c=json.load(sys.stdin)["connections"]; print(c["market_data"]["state"], c["orders"]["state"])'
}
healthy() { [ "$(conn_state)" = "up reconciled" ]; }

drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-10000}" --wait-sub
drill_slobd_start "$D" "${common[@]}" replay-gw -q
drill_wait 20 recs 1 || drill_fail "slobd did not connect: $(cat "$SD_OUT")"
drill_wait 10 healthy || drill_fail "status not up/reconciled: $(conn_state)"
observe "sessions: $(conn_state)"
# quiet time (no ticks) is not silence while probes are answered
gw pause > /dev/null
sleep 3
drill_expect_eq "an idle but answering gateway is not stale" "$(drill_log_count 'stale:')" 0
gw resume > /dev/null

g0=$(gw_field orders)
n0=$(drill_log_count 'reconciliation done')
inject "slob-gw control: stall $STALL (sockets open, nothing written)"
observe "$(gw stall "$STALL")"
stale_both() { [ "$(drill_log_count 'market data connection lost: stale:')" -ge 1 ] &&
	[ "$(drill_log_count 'order connection lost: stale:')" -ge 1 ]; }
drill_wait $((STALL + 2)) stale_both
grep -E 'stale:' "$TLOG" | head -2 | sed 's/^/   log: /'
drill_check "both sessions declared stale within the stall" stale_both
stale_alert() { alert_has '"channel": "telegram".*Connection lost.*stale'; }
drill_wait 5 stale_alert
drill_check "stale connection alerted (Connection lost ... stale)" stale_alert
drill_wait $((STALL + 20)) recs $((n0 + 1)) || drill_fail "no reconnection after the stall"
drill_check "reconnected and reconciled after the stall" recs $((n0 + 1))
drill_wait 10 healthy
observe "sessions: $(conn_state)"
drill_check "slobctl status: market data up, orders reconciled again" healthy
drops=$("$B/slobctl" --data-dir "$D" status --json | python3 -c 'import json,sys; c=json.load(sys.stdin)["connections"]; print(c["market_data"]["drops"] >= 1 and c["orders"]["drops"] >= 1)')
drill_expect_eq "the stale drops are counted" "$drops" True

eof() { [ "$(gw_field eof)" = 1 ]; }
drill_wait 180 eof || drill_fail "stream did not finish: $(gw status)"
sleep 2
g1=$(gw_field orders)
observe "orders at the gateway: $g0 before the stall, $g1 at the end"
drill_check "trading resumed: orders placed after the stall" test "$g1" -gt "$g0"
drill_expect_eq "no orderRef twice" "$(refs_twice)" 0
drill_check "slobd still running" kill -0 "$SD_PID"
drill_slobd_stop
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
alert_show
drill_finish
