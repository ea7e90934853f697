#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p0_2_crash.sh: incident P0-2, slobd killed (kill -9) while a position
# is open and its bracket (TP + SL) is working at the broker. slob-gw keeps
# the broker's state. An operator wants the restarted slobd to reconcile with
# the broker by itself: adopt the position and the working orders by orderRef
# (no manual SQL, nothing flagged unknown, breaker not tripped), send no
# order twice, and manage the bracket to its exit afterwards.
. "$(dirname "$0")/lib/drill.sh"
drill_init p0_2_crash
drill_sample
drill_alerts_start
D="$DT/data"
common=(--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000)
drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-5000}" --wait-sub
drill_slobd_start "$D" "${common[@]}" replay-gw -q
drill_wait 20 drill_log_has "reconciliation done" || drill_fail "slobd did not connect"
in_position() { [ "$(gw_field position)" != 0 ] && [ "$(gw_field live)" -ge 2 ]; }
# pause the market while a position is open (re-check after the pause: the
# bracket may have exited between the two status reads)
held=0
for _ in $(seq 10); do
	drill_wait 20 in_position || break
	gw pause > /dev/null
	sleep 0.5 # let the last reports reach the store (TRADE records commit with FULL sync)
	if in_position; then
		held=1
		break
	fi
	gw resume > /dev/null
done
[ "$held" = 1 ] || drill_fail "no open position with a working bracket at the gateway: $(gw status)"
st=$(gw status)
observe "gateway before the crash: $st"
pos0=$(gw_field position)
orders0=$(gw_field orders)
gw orders > "$DT/before.orders"
grep -E 'state=(Submitted|PreSubmitted)' "$DT/before.orders" | sed 's/^/   working: /'
inject "kill -9 slobd (pid $SD_PID) with position $pos0 and $(gw_field live) working orders"
drill_slobd_kill9

inject "restart slobd on the same data directory"
drill_slobd_start "$D" "${common[@]}" replay-gw -q
two() { [ "$(drill_log_count 'reconciliation done')" -ge 2 ]; }
drill_wait 30 two || drill_fail "restarted slobd did not reconcile"
sleep 1
rec=$(grep 'reconciliation done' "$TLOG" | tail -1)
observe "$rec"
grep -E 'Recovered state' "$TLOG" | tail -1 | sed 's/^/   log: /'
drill_check "nothing unknown after the restart" grep -q 'unknown 0' <<< "$rec"
adopted=$(sed -n 's/.*adopted \([0-9]*\).*/\1/p' <<< "$rec")
drill_check "working orders adopted by orderRef ($adopted)" test "${adopted:-0}" -ge 2
drill_expect_eq "no order placed by the restart" "$(gw_field orders)" "$orders0"
drill_expect_eq "breaker not tripped" "$(q "$D" "SELECT breaker_tripped FROM risk_state WHERE id=1")" 0
spos=$(q "$D" "SELECT COALESCE(SUM(qty),0) FROM positions WHERE setup_id LIKE 'SLOB%' OR setup_id NOT IN ('NQ','MNQ')")
observe "store open positions (per setup) sum $spos, broker $pos0"
drill_expect_eq "store positions match the broker" "$spos" "$pos0"
drill_check "no unknown_broker event" test "$(q "$D" "SELECT COUNT(*) FROM events WHERE kind='unknown_broker'")" -eq 0

inject "resume the market: the adopted bracket must run to its exit"
gw resume > /dev/null
flat_or_more() { [ "$(gw_field position)" = 0 ] || [ "$(gw_field eof)" = 1 ]; }
drill_wait 40 flat_or_more
sleep 1
gw orders > "$DT/after.orders"
drill_slobd_stop
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
dups=$(grep -o 'ref=SLOB_[0-9a-f]*_[A-Z]*' "$DT/after.orders" | sort | uniq -d | wc -l)
drill_expect_eq "no orderRef placed twice at the gateway" "$dups" 0
# every setup that had a working bracket at the crash reached an exit in the store
missing=0
exited=0
for ref in $(grep -E 'state=(Submitted|PreSubmitted)' "$DT/before.orders" | grep -o 'SLOB_[0-9a-f]*' | sort -u); do
	st=$(grep "ref=${ref}_" "$DT/after.orders" | grep -c 'state=Filled')
	th=$(q "$D" "SELECT COUNT(*) FROM trade_history t JOIN orders o ON o.setup_id=t.setup_id WHERE o.order_ref='${ref}_ENTRY'")
	observe "$ref: filled at gateway $st, trade_history rows $th"
	[ "$st" -ge 2 ] && exited=$((exited + 1))
	[ "$st" -ge 2 ] && [ "$th" -lt 1 ] && missing=$((missing + 1))
done
drill_check "an adopted bracket ran to its exit after the restart ($exited)" test "$exited" -ge 1
drill_expect_eq "adopted brackets that exited are in trade_history" "$missing" 0
no_refused() { ! grep -q "store refused" "$ELOG" 2> /dev/null; }
drill_check "the store accepted every record (no 'store refused' in errors.log)" no_refused
drill_finish
