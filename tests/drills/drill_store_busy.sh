#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_store_busy.sh: another process holds the store's write lock in the
# middle of a run (an operator's sqlite3 session left in a transaction, a
# backup tool, a VACUUM): here python's sqlite3 takes BEGIN EXCLUSIVE for
# 5 s, longer than the cold writer's quiet grace (store.busy_grace 2 s).
# An operator wants: no record lost (every order, fill and trade the run
# reports is in the store), one clear alert titled "Store error" that says
# the store is locked by another process (not an alert titled after the
# errno), the recovery alerted once the lock is gone, every alerts_sent row
# with its delivery state (none left 'queued'), exit 0.
. "$(dirname "$0")/lib/drill.sh"
. "$(dirname "$0")/lib/ops.sh"
drill_init store_busy
drill_alerts_start
D="$DT/data"
ops_replay "$D" "$DT/run.json" 30000
drill_wait 20 test -s "$D/slob_state.db" || drill_fail "no store: $(cat "$OPS_SD_OUT")"
sleep 3
inject "python sqlite3 holds BEGIN EXCLUSIVE on the store for 5 s"
python3 - "$D/slob_state.db" > "$DT/locker.out" 2>&1 << 'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(5)
c.execute("COMMIT")
print("released", flush=True)
PY
LOCKER=$!
DRILL_PIDS+=("$LOCKER")
drill_wait 10 grep -q locked "$DT/locker.out" || drill_fail "locker: $(cat "$DT/locker.out")"
sleep 3.5
drill_check "the lock is still held" kill -0 "$LOCKER"
drill_check "slobd keeps running while the store is locked" kill -0 "$SD_PID"
wait "$LOCKER"
observe "locker: $(tr '\n' ' ' < "$DT/locker.out")"
ops_replay_wait 90
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
orders=$(js "$DT/run.json" orders)
fills=$(js "$DT/run.json" fills)
trades=$(js "$DT/run.json" trades)
observe "run: $orders brackets, $fills fills, $trades trades"
drill_expect_eq "every bracket in the store" "$(q "$D" "SELECT count(*) FROM orders WHERE role='ENTRY'")" "$orders"
drill_expect_eq "every fill in the store" "$(q "$D" "SELECT count(*) FROM fills")" "$fills"
drill_expect_eq "every trade in the store" "$(q "$D" "SELECT count(*) FROM trade_history")" "$trades"
sleep 1
grep -iE 'store' "$ELOG" 2> /dev/null | head -n 3 | sed 's/^/   errors.log: /'
drill_check "alert titled 'Store error'" alert_has '<b>Store error</b>'
drill_check "the alert says the store is locked by another process" alert_has 'Store error.*locked by another process'
drill_expect_eq "no alert titled after the errno ('Test alert')" "$(alert_count 'Test alert')" 0
drill_check "recovery alerted ('Store writable again')" alert_has '<b>Store writable again</b>'
drill_check "the failure is journaled in alerts_sent" \
	test "$(q "$D" "SELECT count(*) FROM alerts_sent WHERE text LIKE 'store write failing%'")" -ge 1
drill_expect_eq "no alerts_sent row left 'queued'" "$(q "$D" "SELECT count(*) FROM alerts_sent WHERE status='queued'")" 0
drill_check "delivery attempts recorded" test "$(q "$D" "SELECT count(*) FROM alerts_sent WHERE status='sent' AND attempts>0")" -ge 1
alert_show
drill_finish
