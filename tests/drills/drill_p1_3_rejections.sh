#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p1_3_rejections.sh: incident P1-3, orders rejected by the broker.
# slob-gw plays the broker and rejects four brackets in turn (control
# `reject`): 201 insufficient margin, 110 invalid price, 201 "market closed",
# 200 invalid contract. An operator wants each rejection recorded (orders
# reject_code / reject_text), alerted, and no retry storm: the gateway sees
# exactly one placeOrder group (three orders) per setup, no orderRef twice,
# and slob keeps trading the following setups.
. "$(dirname "$0")/lib/drill.sh"
drill_init p1_3_rejections
drill_sample
drill_alerts_start
D="$DT/data"
drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-20000}" --wait-sub --bar-pause-ms 2
drill_slobd_start "$D" --set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0 \
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000 replay-gw -q
drill_wait 20 drill_log_has "reconciliation done" || drill_fail "slobd did not connect to slob-gw"

rej_ge() { [ "$(rejected)" -ge "$1" ]; }
rejected() { q "$D" "SELECT COUNT(*) FROM orders WHERE reject_code IS NOT NULL AND reject_code <> 0 AND role = 'ENTRY'" 2> /dev/null || echo 0; }
codes=("201" "110" "201 Order rejected - reason:market closed" "200")
i=0
for c in "${codes[@]}"; do
	i=$((i + 1))
	inject "next placeOrder rejected: reject $c"
	gw "reject $c" > /dev/null
	drill_wait 40 rej_ge "$i" || drill_fail "rejection $i ($c) never reached the store (eof: $(gw_field eof))"
	observe "orders with a reject code: $(rejected)"
done
# let a few more setups through: trading goes on after rejections
o0=$(gw_field orders)
more() { [ "$(gw_field orders)" -gt "$o0" ]; }
drill_wait 30 more && accepted_after=1 || accepted_after=0
sleep 1
drill_slobd_stop
observe "slobd exit $SD_RC"

drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
q "$D" "SELECT role, status, reject_code, reject_text FROM orders WHERE reject_code IS NOT NULL AND reject_code <> 0 ORDER BY id" | sed 's/^/   store: /'
drill_expect_eq "201 margin recorded" "$(q "$D" "SELECT COUNT(*)>0 FROM orders WHERE reject_code=201 AND reject_text LIKE '%nsufficient margin%'")" 1
drill_expect_eq "110 invalid price recorded" "$(q "$D" "SELECT COUNT(*)>0 FROM orders WHERE reject_code=110")" 1
drill_expect_eq "market closed recorded" "$(q "$D" "SELECT COUNT(*)>0 FROM orders WHERE reject_code=201 AND reject_text LIKE '%market closed%'")" 1
drill_expect_eq "200 invalid contract recorded" "$(q "$D" "SELECT COUNT(*)>0 FROM orders WHERE reject_code=200")" 1
drill_expect_eq "rejected entries are REJECTED" "$(q "$D" "SELECT COUNT(*) FROM orders WHERE role='ENTRY' AND reject_code<>0 AND status<>'REJECTED'")" 0
alert_show
n_alerts=$(alert_count '"channel": "telegram".*reject')
observe "$n_alerts telegram alerts mention a rejection"
drill_check "each rejection alerted (>= 4 telegram alerts)" test "$n_alerts" -ge 4
drill_check "rejections e-mailed too" alert_has '"channel": "email".*reject'

# no retry storm: at the gateway, each setup has one group of 3 orders
gw orders > "$DT/gw.orders"
dups=$(grep -o 'SLOB_[0-9a-f]*_[A-Z]*' "$DT/gw.orders" | sort | uniq -d | wc -l)
drill_expect_eq "no orderRef placed twice at the gateway" "$dups" 0
per_setup=$(grep -o 'SLOB_[0-9a-f]*_' "$DT/gw.orders" | sort | uniq -c | awk '$1 != 3' | wc -l)
drill_expect_eq "every setup has exactly 3 orders at the gateway" "$per_setup" 0
gw_n=$(gw_field orders)
st_setups=$(q "$D" "SELECT COUNT(DISTINCT setup_id) FROM orders")
st_rej=$(q "$D" "SELECT COUNT(DISTINCT setup_id) FROM orders WHERE role='ENTRY' AND status='REJECTED'")
observe "gateway keeps $gw_n live/done orders; store has $st_setups setups, $st_rej rejected"
# slob-gw does not keep rejected orders: the others are exactly one group each
drill_expect_eq "gateway orders = 3 x accepted setups" "$gw_n" $((3 * (st_setups - st_rej)))
drill_expect_eq "store orders = 3 x setups (no re-placement)" "$(q "$D" "SELECT COUNT(*) FROM orders")" $((3 * st_setups))
drill_expect_eq "trading continued after the rejections" "$accepted_after" 1
drill_finish
