#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_account_margin.sh: the guide's "Insufficient margin", mid-session.
# slob-gw plays the broker with a simulated account; while slob trades, the
# account's AvailableFunds fall to 1 000 USD (control `account available`).
# An operator wants slob to see it before the broker does: every following
# setup refused by the risk gate itself (reason insufficient_margin, logged
# and alerted "Insufficient margin"), not one placeOrder reaching the
# gateway (so no broker rejection 201 either), exits of open positions
# untouched; and trading to resume once the funds are back.
. "$(dirname "$0")/lib/drill.sh"
drill_init account_margin
drill_sample
drill_alerts_start
D="$DT/data"
drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-5000}" --wait-sub --bar-pause-ms 2
drill_slobd_start "$D" --set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0 \
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000 replay-gw -q
drill_wait 20 drill_log_has "reconciliation done" || drill_fail "slobd did not connect to slob-gw"
drill_wait 20 drill_log_has "initial margin per contract" || drill_fail "no what-if margin: $(tail -5 "$TLOG")"
observe "$(grep -m1 'initial margin per contract' "$TLOG" | cut -c1-160)"

orders_gt() { [ "$(gw_field orders)" -gt "$1" ]; }
drill_wait 60 orders_gt 0 || drill_fail "no bracket reached slob-gw before the fault"
observe "slob-gw has $(gw_field orders) orders; $(gw account)"

say "hold the stream so nothing is in flight when the funds go"
gw pause > /dev/null
sleep 1
inject "AvailableFunds fall to 1000 USD (margin runs out): account available 1000"
gw "account available 1000" > /dev/null
sleep 1
o1=$(gw_field orders)
gw resume > /dev/null
refused() { drill_log_count "rejected by risk gate: insufficient_margin"; }
refused_ge() { [ "$(refused)" -ge "$1" ]; }
drill_wait 90 refused_ge 3 || drill_fail "no setup refused for margin (eof: $(gw_field eof), log: $(grep -c 'rejected by risk gate' "$TLOG"))"
observe "$(refused) setups refused for margin; slob-gw orders $o1 -> $(gw_field orders)"
o2=$(gw_field orders)
rej=$(gw account | tr ' ' '\n' | sed -n 's/^margin_rejects=//p')
drill_expect_eq "no placeOrder reached the gateway while the funds were short" "$o2" "$o1"
drill_expect_eq "the broker never had to reject for margin" "$rej" 0
drill_check "slobctl status shows the available funds" \
	sh -c "'$B/slobctl' --data-dir '$D' status | grep -qF 'available \$1000.00'"

inject "funds back: account available auto"
gw "account available auto" > /dev/null
drill_wait 90 orders_gt "$o2" && resumed=1 || resumed=0
observe "slob-gw orders after the funds came back: $(gw_field orders)"
drill_slobd_stop
observe "slobd exit $SD_RC"

drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
drill_expect_eq "trading resumed with the funds" "$resumed" 1
code=$(grep -o 'insufficient_margin (reason [0-9]*)' "$TLOG" | head -1 | tr -dc '0-9')
observe "insufficient_margin is reason code $code"
drill_check "the store's decisions hold the margin refusals with the equity they were sized on" \
	test "$(q "$D" "SELECT COUNT(*) FROM decisions WHERE reason_code = ${code:-0} AND equity > 0")" -ge 3
drill_check "no order of the store was rejected by the broker" \
	test "$(q "$D" "SELECT COUNT(*) FROM orders WHERE reject_code = 201")" -eq 0
alert_show
drill_check "the refusal was alerted (telegram)" alert_has '"channel": "telegram".*Insufficient margin'
drill_finish
