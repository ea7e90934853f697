#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p1_1_reconcile_timeout.sh: the gateway accepts the order session but
# never finishes reconciliation (slob-gw control `withhold-ends on`: no
# positionEnd, openOrderEnd or execDetailsEnd). Without a bound slob would
# wait forever with trading held and nothing said. Expected:
# tws.reconcile_timeout_ms (here 1.5 s) alerts once per streak (then at every
# doubling), reconnects to ask again, keeps every order held (setups are
# accepted by risk, nothing reaches the gateway, status shows the order
# session "up", not "reconciled"), and trades as soon as a reconciliation
# completes.
. "$(dirname "$0")/lib/drill.sh"
drill_init p1_1_reconcile_timeout
drill_sample
drill_alerts_start
D="$DT/data"
common=(--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000
	--set tws.reconcile_timeout_ms=1500)
orders_state() {
	"$B/slobctl" --data-dir "$D" status --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"]["orders"]["state"])'
}
timeouts() { [ "$(drill_log_count 'reconciliation timed out after')" -ge "$1" ]; }
# a setup decided while held: accepted (its bracket waits in the sender), or
# held by risk as account_stale (20), since the broker's account summary is
# asked for only after a reconciliation completes; either way nothing may go out
accepted() { [ "$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted=1 OR reason_code=20" 2> /dev/null || echo 0)" -ge 1 ]; }

drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-10000}" --wait-sub
inject "slob-gw control: withhold-ends on (before slobd connects)"
observe "$(gw withhold-ends on)"
drill_slobd_start "$D" "${common[@]}" replay-gw -q
drill_wait 20 timeouts 1 || drill_fail "no reconciliation timeout: $(tail -5 "$TLOG")"
grep 'reconciliation timed out after' "$TLOG" | head -1 | sed 's/^/   log: /'
drill_check "reconciliation times out and names the missing end markers" \
	drill_log_has 'reconciliation timed out after [0-9]+ ms \(positionEnd missing, openOrderEnd missing, execDetailsEnd missing; attempt 1\)'
rec_alert() { alert_has '"channel": "telegram".*reconciliation timed out'; }
drill_wait 5 rec_alert
drill_check "the timeout is alerted" rec_alert
lost_alert() { alert_has '"channel": "telegram".*Connection lost.*order connection lost'; }
drill_check "its reconnects raise no separate lost alerts" eval '! lost_alert' 
drill_wait 20 timeouts 3 || drill_fail "no retry after the timeout"
drill_check "retried: a reconnect asks again" timeouts 3
st=$(orders_state)
observe "order session state: $st"
drill_check "status shows the order session not reconciled (up, or between attempts)" \
	test -n "$st" -a "$st" != reconciled -a "$st" != unknown
drill_wait 120 accepted || drill_fail "no setup decided while held: $(gw status)"
sleep 1
drill_expect_eq "orders held: a setup was decided, nothing reached the gateway" "$(gw_field orders)" 0
drill_expect_eq "never reconciled while the end markers are withheld" "$(drill_log_count 'reconciliation done')" 0
n_alerts=$(alert_count '"channel": "telegram".*reconciliation timed out')
n_to=$(drill_log_count 'reconciliation timed out after')
observe "$n_to timeouts, $n_alerts alerts"
drill_check "no alert storm: fewer alerts than timeouts once it repeats" test "$n_alerts" -lt "$n_to" -o "$n_to" -lt 3

inject "slob-gw control: withhold-ends off"
observe "$(gw withhold-ends off)"
recd() { [ "$(drill_log_count 'reconciliation done')" -ge 1 ]; }
drill_wait 20 recd || drill_fail "no reconciliation once the end markers came back"
drill_check "reconciled once the end markers arrive" recd
done_alert() { alert_has '"channel": "telegram".*reconciliation completed after [0-9]+ timeouts'; }
drill_wait 5 done_alert
drill_check "the end of the streak is alerted" done_alert
is_rec() { [ "$(orders_state)" = reconciled ]; }
drill_wait 10 is_rec
drill_check "status: orders reconciled" is_rec
eof() { [ "$(gw_field eof)" = 1 ]; }
drill_wait 180 eof || drill_fail "stream did not finish: $(gw status)"
sleep 2
drill_check "trading resumed: orders reached the gateway" test "$(gw_field orders)" -gt 0
drill_slobd_stop
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
alert_show
drill_finish
