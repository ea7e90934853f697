#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p1_1_fills_while_down.sh: incident P1-1 with the market moving while
# slobd is cut off from the gateway: fills of its brackets execute at
# slob-gw while slobd cannot hear them, and must be booked exactly once when
# it is back (the executions replay, deduplicated by exec id against what
# this process saw and against the store).
#  (a) connection lost, process alive: slobd is frozen (SIGSTOP) and slob-gw
#      drops its sockets; another client drives the market until the open
#      bracket exits; slobd resumes, reconnects, reconciles;
#  (b) connection lost because slobd died (kill -9), fills while it is down,
#      slobd restarted on the same data directory.
# Operators want: every execution at the gateway in `fills` exactly once,
# the positions equal, the exits in trade_history, nothing unknown, no
# breaker trip, nothing placed twice.
. "$(dirname "$0")/lib/drill.sh"
drill_init p1_1_fills_while_down
drill_alerts_start
mkdir -p "$DT/gen"
"$B/slob-gen" --weeks 3 --seed 5 --bin "$DT/gen/market.ticks" -q || drill_fail "slob-gen --weeks 3"
D="$DT/data"
common=(--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000)
recs() { [ "$(drill_log_count 'reconciliation done')" -ge "$1" ]; }
in_position() { [ "$(gw_field position)" != 0 ] && [ "$(gw_field live)" -ge 2 ]; }
refs_twice() { gw orders | grep -o 'ref=SLOB_[0-9a-f]*_[A-Z]*' | sort | uniq -d | wc -l; }
# the market moves while slobd is away: a second client subscribes to ticks
# (slob-gw --wait-sub streams only while someone listens)
market() {
	"$B/slob-gw-client" --port "$GW_PORT" --client-id 77 --symbol MNQ --multiplier 2 --md --run-ms "$1" > "$DT/market.out" 2>&1
}
execs_more() { [ "$(gw_field execs)" -gt "$1" ]; }
# waits for an open position with its bracket working (after execution
# count $1) and pauses the market with it still open
hold_position() {
	local _
	for _ in $(seq 10); do
		drill_wait 60 in_new_position "$1" || return 1
		gw pause > /dev/null
		in_position && return 0
		gw resume > /dev/null
	done
	return 1
}
in_new_position() { in_position && [ "$(gw_field execs)" -gt "$1" ]; }
exits_while_away() {
	# run the market in slices until an execution happened and the position moved
	local x0=$1 p0=$2 n=0
	while [ $n -lt 20 ]; do
		market 1500
		n=$((n + 1))
		[ "$(gw_field execs)" -gt "$x0" ] && [ "$(gw_field position)" != "$p0" ] && return 0
	done
	return 1
}

drill_gw_start --ticks "$DT/gen/market.ticks" --speed "${DRILL_GW_SPEED:-5000}" --wait-sub
drill_slobd_start "$D" "${common[@]}" replay-gw -q
drill_wait 20 recs 1 || drill_fail "slobd did not connect"

# ---- (a) process alive, connection lost
hold_position 0 || drill_fail "no open position: $(gw status)"
inject "(a) freeze slobd (SIGSTOP) and drop its sockets at the gateway: $(gw status | sed 's/^OK //')"
kill -STOP "$SD_PID"
gw disconnect > /dev/null
gw resume > /dev/null
x0=$(gw_field execs)
p0=$(gw_field position)
exits_while_away "$x0" "$p0" || drill_fail "no fill while slobd was away: $(gw status)"
observe "while away: executions $x0 -> $(gw_field execs), position $p0 -> $(gw_field position)"
gw pause > /dev/null
n0=$(drill_log_count 'reconciliation done')
inject "(a) slobd resumes (SIGCONT): finds the socket closed, reconnects"
kill -CONT "$SD_PID"
drill_wait 30 recs $((n0 + 1)) || drill_fail "no reconciliation after the reconnect"
rec=$(grep 'reconciliation done' "$TLOG" | tail -1)
observe "$rec"
drill_check "(a) nothing unknown" grep -q 'unknown 0,' <<< "$rec"
booked() { [ "$(q "$D" "SELECT COUNT(*) FROM fills")" -ge "$(gw_field execs)" ]; }
drill_wait 10 booked
drill_expect_eq "(a) every execution at the gateway booked exactly once" \
	"$(q "$D" "SELECT COUNT(*) FROM fills")" "$(gw_field execs)"

# ---- (b) slobd dead, fills while down, restart
gw resume > /dev/null
x1=$(gw_field execs)
hold_position "$x1" || drill_fail "no new open position: $(gw status)"
inject "(b) kill -9 slobd (pid $SD_PID) with position $(gw_field position)"
drill_slobd_kill9
gw resume > /dev/null
x0=$(gw_field execs)
p0=$(gw_field position)
exits_while_away "$x0" "$p0" || drill_fail "no fill while slobd was down: $(gw status)"
observe "while down: executions $x0 -> $(gw_field execs), position $p0 -> $(gw_field position)"
gw pause > /dev/null
o0=$(gw_field orders)
n0=$(drill_log_count 'reconciliation done')
inject "(b) restart slobd on the same data directory"
drill_slobd_start "$D" "${common[@]}" replay-gw -q
drill_wait 30 recs $((n0 + 1)) || drill_fail "restarted slobd did not reconcile"
rec=$(grep 'reconciliation done' "$TLOG" | tail -1)
observe "$rec"
drill_check "(b) nothing unknown after the restart" grep -q 'unknown 0,' <<< "$rec"
drill_check "(b) the fills that happened while down were booked from the replay" \
	grep -Eq 'fills booked [1-9]' <<< "$rec"
sleep 1
drill_slobd_stop
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
execs=$(gw_field execs)
fills=$(q "$D" "SELECT COUNT(*) FROM fills")
observe "executions at the gateway $execs, fills in the store $fills"
drill_expect_eq "every execution booked exactly once (none lost, none twice)" "$fills" "$execs"
drill_expect_eq "no exec id booked twice" "$(q "$D" "SELECT COUNT(*) - COUNT(DISTINCT exec_id) FROM fills")" 0
drill_expect_eq "store positions equal the broker's" \
	"$(q "$D" "SELECT COALESCE(SUM(qty),0) FROM positions WHERE setup_id NOT IN ('NQ','MNQ')")" "$(gw_field position)"
gw orders > "$DT/final.orders"
notrade=0
for b in $(grep -E '_(TP|SL) state=Filled' "$DT/final.orders" | grep -o 'SLOB_[0-9a-f]*' | sort -u); do
	th=$(q "$D" "SELECT COUNT(*) FROM trade_history t JOIN orders o ON o.setup_id=t.setup_id WHERE o.order_ref='${b}_ENTRY'")
	[ "$th" -ge 1 ] || {
		notrade=$((notrade + 1))
		observe "$b exited at the gateway, no trade_history row"
	}
done
drill_expect_eq "every exit at the gateway is in trade_history" "$notrade" 0
drill_expect_eq "breaker never tripped" "$(q "$D" "SELECT COUNT(*) FROM breaker_events WHERE action='tripped'")" 0
drill_expect_eq "no unknown_broker event" "$(q "$D" "SELECT COUNT(*) FROM events WHERE kind='unknown_broker'")" 0
drill_expect_eq "nothing placed by the restart" "$(gw_field orders)" "$o0"
drill_expect_eq "no orderRef twice" "$(refs_twice)" 0
drill_finish
