#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_account_withdrawal.sh: a withdrawal shrinks the account mid-session.
# slob is configured with 1 000 000 USD of capital and the default
# risk.equity_source (min: the lower of the broker's NetLiquidation and
# capital + own P&L); slob-gw's simulated account starts at the same
# 1 000 000 USD. While slob trades, 20 % is withdrawn
# (control `account equity 800000`): the configured capital and slob's own
# P&L know nothing of it. An operator wants every later size computed from
# the broker's 800 000 (smaller sizes), the equity and its source recorded
# with each decision, and the breaker left alone (20 % < max_drawdown_pct).
. "$(dirname "$0")/lib/drill.sh"
drill_init account_withdrawal
drill_sample
D="$DT/data"
drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-5000}" --wait-sub \
	--bar-pause-ms 2 --equity 1000000 --margin 100
drill_slobd_start "$D" --set risk.initial_capital=1000000 \
	--set risk.max_position_size=1000 --set risk.daily_loss_limit=0 \
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000 replay-gw -q
drill_wait 20 drill_log_has "reconciliation done" || drill_fail "slobd did not connect to slob-gw"

# (the store's decisions, or 0 while the column does not exist)
sized() { q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted = 1 AND equity $1" 2> /dev/null || echo 0; }
sized_ge() { [ "$(sized "$1")" -ge "$2" ]; }
accepted_ge() { [ "$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted = 1" 2> /dev/null || echo 0)" -ge "$1" ]; }
drill_wait 60 accepted_ge 2 || drill_fail "no bracket before the withdrawal (log: $(grep -m3 'accepted' "$TLOG"))"
observe "$(sized '> 900000') brackets sized on about 1000000; $(grep 'accepted' "$TLOG" | tail -1 | cut -c1-160)"

gw pause > /dev/null
sleep 1
inject "a 20 % withdrawal: account equity 800000"
gw "account equity 800000" > /dev/null
sleep 1
gw resume > /dev/null
drill_wait 90 sized_ge '= 800000' 2 || drill_fail "no sizes from 800000 after the withdrawal (eof: $(gw_field eof))"
observe "$(sized '= 800000') brackets sized on 800000; $(grep 'accepted' "$TLOG" | tail -1 | cut -c1-160)"
"$B/slobctl" --data-dir "$D" status > "$DT/st.txt" 2>&1
drill_slobd_stop
observe "slobd exit $SD_RC"

drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
q "$D" "SELECT ts, qty, equity_source, equity, entry_price, sl_price FROM decisions WHERE accepted = 1 ORDER BY id" | sed 's/^/   decision: /'
drill_expect_eq "every accepted size records its equity and source" \
	"$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted = 1 AND (equity_source IS NULL OR equity IS NULL)")" 0
drill_expect_eq "sizes from 800000 are recorded as the broker's" \
	"$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted = 1 AND equity = 800000 AND equity_source <> 'broker'")" 0
# MNQ: 1 % of equity / (stop points x 2 USD), floored, capped at 1000
drill_expect_eq "every size follows from its recorded equity (1 %, MNQ)" \
	"$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted = 1 AND qty <> MIN(1000, CAST(equity * 0.01 / (ABS(entry_price - sl_price) * 2.0) + 1e-9 AS INTEGER))")" 0
drill_check "after the withdrawal, sizes are those of 800000 (smaller than 1000000 would give)" \
	test "$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted = 1 AND equity = 800000 AND qty < CAST(1000000 * 0.01 / (ABS(entry_price - sl_price) * 2.0) AS INTEGER)")" -ge 2
drill_expect_eq "no size from more than 800000 after the first from 800000" \
	"$(q "$D" "SELECT COUNT(*) FROM decisions WHERE accepted = 1 AND equity > 800000 AND id > (SELECT MIN(id) FROM decisions WHERE equity = 800000)")" 0
drill_expect_eq "the breaker did not trip (20 % < 25 %)" \
	"$(q "$D" "SELECT COUNT(*) FROM breaker_events WHERE action = 'tripped'")" 0
drill_check "slobctl status showed the broker's equity and the sizing source" \
	grep -qF 'sizing on $800000.00 (broker)' "$DT/st.txt"
drill_finish
