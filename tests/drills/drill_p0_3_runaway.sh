#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p0_3_runaway.sh: incident P0-3, runaway trading. The fault hook
# pipeline.fault_duplicate_setup=1000 repeats every setup signal 1000 times
# between the detector and risk (a detector or feed bug that fires the same
# setup over and over). An operator wants exactly one bracket per setup at
# the broker (idempotency by setup id / orderRef), and the burst to trip the
# order-rate breaker (reason order_rate) with an alert.
# (Risk counts duplicate signals as order attempts in the rate window since
# 56a88a8; before that this drill guarded the breaker part behind
# DRILL_STRICT_P03=1.)
. "$(dirname "$0")/lib/drill.sh"
drill_init p0_3_runaway
drill_sample
drill_alerts_start
D="$DT/data"
drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-20000}" --wait-sub
inject "every setup signal reaches risk 1000 times (pipeline.fault_duplicate_setup=1000)"
drill_slobd_start "$D" --set pipeline.fault_duplicate_setup=1000 --set risk.daily_loss_limit=0 \
	--set risk.max_drawdown_pct=0 --set risk.max_concurrent_positions=64 replay-gw -q
drill_wait 20 drill_log_has "reconciliation done" || drill_fail "slobd did not connect"
decided() { [ "$(q "$D" "SELECT COUNT(DISTINCT setup_id) FROM decisions" 2> /dev/null || echo 0)" -ge 3 ]; }
drill_wait 40 decided || drill_fail "fewer than 3 setups decided: $(gw status)"
sleep 2
drill_slobd_stop
sleep 0.5
gw orders > "$DT/gw.orders"
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0

setups=$(q "$D" "SELECT COUNT(DISTINCT setup_id) FROM decisions")
ndec=$(q "$D" "SELECT COUNT(*) FROM decisions")
acc=$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted=1")
accsetups=$(q "$D" "SELECT COUNT(DISTINCT setup_id) FROM decisions WHERE accepted=1")
q "$D" "SELECT reason_code, COUNT(*) FROM decisions GROUP BY reason_code" | sed 's/^/   decisions reason|count: /'
observe "$setups setups, $ndec decisions, $acc accepted"
drill_check "the duplicates reached risk (>= 100 decisions per setup)" test "$ndec" -ge $((setups * 100))
drill_expect_eq "at most one accepted decision per setup" "$acc" "$accsetups"
dups=$(grep -o 'ref=SLOB_[0-9a-f]*_[A-Z]*' "$DT/gw.orders" | sort | uniq -d | wc -l)
drill_expect_eq "no orderRef twice at the gateway" "$dups" 0
groups=$(grep -o 'ref=SLOB_[0-9a-f]*_' "$DT/gw.orders" | sort | uniq -c | awk '$1 != 3' | wc -l)
drill_expect_eq "exactly one bracket (3 orders) per setup at the gateway" "$groups" 0
n_gw=$(grep -c 'ref=SLOB_' "$DT/gw.orders")
n_st=$(q "$D" "SELECT COUNT(DISTINCT setup_id) FROM orders")
observe "gateway orders $n_gw for $n_st setups with orders"
drill_expect_eq "gateway orders = 3 x setups with a bracket" "$n_gw" $((3 * n_st))
drill_check "at most one bracket per setup in the store" test "$(q "$D" "SELECT COUNT(*) FROM orders WHERE role='ENTRY'")" -eq "$n_st"

drill_check "duplicate attempts alerted" alert_has '"channel": "telegram".*Duplicate order attempt blocked'
# desired: the burst trips the order-rate breaker and alerts
trip=$(q "$D" "SELECT COUNT(*) FROM breaker_events WHERE action='tripped' AND reason_code=11")
alert_show
observe "order_rate breaker trips: $trip"
drill_check "the duplicate burst tripped the order-rate breaker (reason 11 order_rate)" test "$trip" -ge 1
drill_check "breaker alert sent" alert_has '"channel": "telegram".*Circuit breaker triggered.*order rate'
drill_expect_eq "breaker latched in the store" "$(q "$D" "SELECT breaker_tripped FROM risk_state")" 1
drill_finish
