#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p1_4_unknown.sh: incident P1-4, a position and an order at the broker
# that slob did not place (unknown orderRef). slob-gw is seeded with a
# 2-contract position and a working order of another client before slobd
# connects. An operator wants them flagged (log, events table) and alerted,
# never closed or cancelled blindly (no order sent for them), and the breaker
# tripped when risk.halt_on_unknown=1 (default: no new entries until an
# operator looks), while with halt_on_unknown=0 slob flags them and goes on
# trading its own setups.
. "$(dirname "$0")/lib/drill.sh"
drill_init p1_4_unknown
drill_sample
drill_alerts_start
common=(--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000)

# ---- phase 1: halt_on_unknown=1 (default)
drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-20000}" --wait-sub
inject "broker position +2 @ 19900 and order MANUAL_HEDGE_1 (BUY LMT 19000 x1) nobody at slob placed"
gw "seed-position 2 19900" | sed 's/^/   gw: /'
gw "seed-order MANUAL_HEDGE_1 BUY LMT 19000 1" | sed 's/^/   gw: /'
o0=$(gw_field orders)
D="$DT/halt"
drill_slobd_start "$D" "${common[@]}" replay-gw -q
drill_wait 20 drill_log_has "reconciliation done" || drill_fail "slobd did not reconcile"
observe "$(grep -m1 'reconciliation done' "$TLOG")"
sleep 8 # the stream runs on: setups come and must be refused
drill_slobd_stop
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
grep -Ei 'unknown' "$TLOG" | head -5 | sed 's/^/   log: /'
drill_check "reconciliation counts unknown broker objects" \
	drill_log_has 'reconciliation done: .*unknown [1-9]'
drill_check "unknown order logged by its orderRef" drill_log_has 'MANUAL_HEDGE_1'
ev=$(q "$D" "SELECT COUNT(*) FROM events WHERE kind='unknown_broker'")
observe "events(unknown_broker) rows: $ev"
drill_check "unknown objects recorded in the events table" test "$ev" -ge 2
alert_show
drill_check "unknown order alerted" alert_has '"channel": "telegram".*unknown.*MANUAL_HEDGE_1|"channel": "telegram".*MANUAL_HEDGE_1.*unknown'
drill_check "unknown position alerted" alert_has '"channel": "telegram".*unknown.*position|"channel": "telegram".*position.*unknown'
drill_expect_eq "breaker tripped (halt_on_unknown=1)" "$(q "$D" "SELECT breaker_tripped FROM risk_state WHERE id=1")" 1
drill_expect_eq "breaker event reason is unknown_broker" \
	"$(q "$D" "SELECT reason_code FROM breaker_events WHERE action='tripped' ORDER BY id LIMIT 1")" 18
o1=$(gw_field orders)
gw orders > "$DT/gw1.orders"
observe "gateway orders before $o0 after $o1; position $(gw_field position)"
drill_expect_eq "no order sent while the breaker is tripped (nothing closes the position)" "$o1" "$o0"
drill_expect_eq "broker position untouched" "$(gw_field position)" 2
drill_check "the unknown order is still working (not cancelled)" grep -Eq 'MANUAL_HEDGE_1.*(Submitted|PreSubmitted|live|working)' "$DT/gw1.orders"
refused=$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted=0 AND reason_code IN (3,18)")
observe "setups refused by the breaker: $refused"
drill_check "setups after the halt were refused" test "$refused" -ge 1

# ---- phase 2: halt_on_unknown=0: flagged, alerted, trading goes on
drill_gw_kill
rm -f "$DT/gw.state"
: > "$ALERTS"
drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-20000}" --wait-sub
inject "same unknown position and order, risk.halt_on_unknown=0"
gw "seed-position 2 19900" > /dev/null
gw "seed-order MANUAL_HEDGE_1 BUY LMT 19000 1" > /dev/null
o0=$(gw_field orders)
D2="$DT/nohalt"
drill_slobd_start "$D2" "${common[@]}" --set risk.halt_on_unknown=0 replay-gw -q
more() { [ "$(gw_field orders)" -gt "$o0" ]; }
drill_wait 30 more && traded=1 || traded=0
drill_slobd_stop
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
drill_check "flagged again" alert_has 'MANUAL_HEDGE_1'
drill_expect_eq "breaker not tripped (halt_on_unknown=0)" "$(q "$D2" "SELECT COALESCE(MAX(breaker_tripped),0) FROM risk_state")" 0
drill_expect_eq "slob kept trading its own setups" "$traded" 1
gw orders > "$DT/gw2.orders"
drill_check "the unknown order is still working" grep -Eq 'MANUAL_HEDGE_1.*(Submitted|PreSubmitted|live|working)' "$DT/gw2.orders"
n_other=$(grep -v 'SLOB_\|MANUAL_HEDGE_1\|^OK' "$DT/gw2.orders" | wc -l)
drill_expect_eq "every order at the gateway is slob's or the seeded one" "$n_other" 0
drill_finish
