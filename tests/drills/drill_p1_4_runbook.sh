#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p1_4_runbook.sh: incident P1-4 worked end to end with the RUNBOOK's
# own commands. slob-gw holds a 2-contract LONG position nobody at slob
# placed; slobd flags it and the breaker trips (halt_on_unknown=1). The
# operator decides slob should manage it and does exactly what
# docs/RUNBOOK.md prescribes:
#   slobctl add-position --entry 19900 --sl 19850 --tp 20000 --qty 2 --direction LONG
#   slobctl reset-breaker --reason "..."
#   restart slobd (it loads manual positions at start-up)
# Operators want the restarted engine to manage the position (loaded with
# its stop and target, counted, net position equal to the broker's: no
# "position mismatch", no new breaker trip) and to trade on.
. "$(dirname "$0")/lib/drill.sh"
drill_init p1_4_runbook
drill_sample
drill_alerts_start
D="$DT/data"
common=(--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000)
recs() { [ "$(drill_log_count 'reconciliation done')" -ge "$1" ]; }
ctl() { "$B/slobctl" --data-dir "$D" "$@"; }

drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-5000}" --wait-sub
inject "broker position +2 @ 19900 that slob did not place"
gw "seed-position 2 19900" | sed 's/^/   gw: /'
drill_slobd_start "$D" "${common[@]}" replay-gw -q
drill_wait 20 recs 1 || drill_fail "slobd did not reconcile"
observe "$(grep -m1 'reconciliation done' "$TLOG")"
tripped() { [ "$(q "$D" "SELECT COALESCE(MAX(breaker_tripped),0) FROM risk_state")" = 1 ]; }
drill_wait 10 tripped || drill_fail "the unknown position did not trip the breaker (precondition)"
drill_check "position mismatch flagged first" drill_log_has 'position mismatch: broker 2, store 0'

inject "RUNBOOK P1-4: slobctl add-position --entry 19900 --sl 19850 --tp 20000 --qty 2 --direction LONG"
ctl add-position --entry 19900 --sl 19850 --tp 20000 --qty 2 --direction LONG > "$DT/add.out" 2>&1
rc=$?
sed 's/^/   slobctl: /' "$DT/add.out"
drill_expect_eq "add-position succeeded" "$rc" 0
inject "RUNBOOK P1-4: slobctl reset-breaker --reason 'unknown position reviewed, managed by slob'"
ctl reset-breaker --reason "unknown position reviewed, managed by slob" --who drill --wait 10 > "$DT/reset.out" 2>&1
sed 's/^/   slobctl: /' "$DT/reset.out"
inject "restart slobd so it loads the manual position (systemctl restart slobd)"
drill_slobd_stop
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
o0=$(gw_field orders)
drill_slobd_start "$D" "${common[@]}" replay-gw -q
drill_wait 20 recs 2 || drill_fail "restarted slobd did not reconcile"
sleep 1
rec=$(grep 'reconciliation done' "$TLOG" | tail -1)
observe "$rec"
grep 'Recovered state' "$TLOG" | tail -1 | sed 's/^/   log: /'
drill_check "nothing unknown after the restart" grep -q 'unknown 0,' <<< "$rec"
drill_check "the broker's position is the engine's (broker position 2)" grep -q 'broker position 2' <<< "$rec"
n_mis=$(drill_log_count 'position mismatch')
drill_expect_eq "no position mismatch after the restart (only the first one)" "$n_mis" 1
more() { [ "$(gw_field orders)" -gt "$o0" ]; }
drill_wait 30 more && traded=1 || traded=0
drill_expect_eq "the engine trades on" "$traded" 1
managed() { [ "$(q "$D" "SELECT COALESCE(MAX(open_positions),0) FROM risk_state")" -ge 1 ]; }
drill_wait 10 managed
observe "risk_state: $(q "$D" "SELECT open_positions, breaker_tripped FROM risk_state")"
drill_check "the manual position is counted by the engine (risk_state.open_positions >= 1)" managed
ctl status > "$DT/status.out" 2>&1
grep -iE 'positions|19900|breaker' "$DT/status.out" | sed 's/^/   slobctl status: /'
drill_check "slobctl status counts it" grep -Eq 'positions +[1-9][0-9]* open' "$DT/status.out"
prow=$(q "$D" "SELECT COUNT(*) FROM positions WHERE qty=2 AND avg_price=19900 AND sl_price=19850 AND tp_price=20000")
drill_expect_eq "the engine wrote its positions row with size, entry, stop and target" "$prow" 1
drill_slobd_stop
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
drill_expect_eq "breaker not tripped at the end" "$(q "$D" "SELECT breaker_tripped FROM risk_state WHERE id=1")" 0
drill_expect_eq "exactly one breaker trip (before the operator's fix)" \
	"$(q "$D" "SELECT COUNT(*) FROM breaker_events WHERE action='tripped'")" 1
drill_expect_eq "one unknown_broker event (before the fix)" \
	"$(q "$D" "SELECT COUNT(*) FROM events WHERE kind='unknown_broker'")" 1
drill_finish
