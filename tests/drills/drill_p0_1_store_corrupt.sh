#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p0_1_store_corrupt.sh: incident P0-1, the SQLite store is corrupted.
# (a) while slobd is stopped: bytes of the db file overwritten. slobd must
#     refuse to start on it (exit 3, clear message) unless auto-restore is on;
#     with --auto-restore it moves the corrupt file aside, restores the newest
#     verified backup, alerts, reconciles with slob-gw and sends no order twice.
# (b) while slobd is running: the file is overwritten under the running
#     daemon (it keeps its pages and WAL; SQLite may or may not notice before
#     the stop). At the next start the corruption is detected and, with
#     store.auto_restore=true, restored from the online backup taken while it
#     ran. Either way no order reaches the broker twice.
. "$(dirname "$0")/lib/drill.sh"
drill_init p0_1_store_corrupt
drill_sample
drill_alerts_start
D="$DT/data"
DB="$D/slob_state.db"
common=(--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
	--set risk.max_concurrent_positions=64 --set risk.order_rate_limit=1000)
corrupt() { # overwrite 48 KiB after the first page with garbage
	python3 - "$1" << 'PY'
import sys, os
with open(sys.argv[1], "r+b") as f:
    f.seek(4096)
    f.write(b"\xde\xad\xbe\xef" * 12288)
    f.flush(); os.fsync(f.fileno())
PY
}
refs_twice() { gw orders | grep -o 'ref=SLOB_[0-9a-f]*_[A-Z]*' | sort | uniq -d | wc -l; }
two() { [ "$(drill_log_count 'reconciliation done')" -ge "$1" ]; }

drill_gw_start --ticks "$DT/gen/sample.ticks" --speed "${DRILL_GW_SPEED:-10000}" --wait-sub
drill_slobd_start "$D" "${common[@]}" replay-gw -q
drill_wait 20 two 1 || drill_fail "slobd did not connect"
has_orders() { [ "$(gw_field orders)" -ge 6 ]; }
drill_wait 40 has_orders || drill_fail "no orders: $(gw status)"
gw pause > /dev/null
sleep 0.5
drill_slobd_stop
drill_expect_eq "first run exits cleanly" "$SD_RC" 0
"$B/slobctl" --data-dir "$D" backup > "$DT/backup1.out" 2>&1 || drill_fail "slobctl backup: $(cat "$DT/backup1.out")"
observe "backup: $(tail -1 "$DT/backup1.out")"
n_orders=$(q "$D" "SELECT COUNT(*) FROM orders")
g0=$(gw_field orders)

# ---- (a) corrupted while stopped
inject "(a) overwrite 48 KiB of $DB while slobd is stopped"
corrupt "$DB"
"$B/slobctl" --data-dir "$D" check > "$DT/check.out" 2>&1
rc=$?
observe "slobctl check: exit $rc: $(head -2 "$DT/check.out" | tr '\n' ' ')"
drill_expect_eq "slobctl check reports an integrity problem" "$rc" 5
drill_slobd_start "$D" "${common[@]}" replay-gw -q
drill_slobd_wait 20
observe "slobd without auto-restore: exit $SD_RC: $(head -3 "$SD_OUT" | tr '\n' ' ')"
drill_expect_eq "slobd refuses a corrupt store (exit 3)" "$SD_RC" 3
drill_check "the refusal names the store and the way out" grep -Eqi 'corrupt|malformed|integrity' "$SD_OUT"
drill_expect_eq "nothing sent while refusing" "$(gw_field orders)" "$g0"

inject "restart with --auto-restore"
drill_slobd_start "$D" "${common[@]}" --auto-restore replay-gw -q
drill_wait 20 two 2 || drill_fail "auto-restored slobd did not reconcile: $(cat "$SD_OUT")"
grep -iE 'restor' "$TLOG" | tail -2 | sed 's/^/   log: /'
drill_check "restore logged" drill_log_has 'restor'
drill_check "the corrupt file is kept aside" sh -c "ls '$D' | grep -q before_restore"
drill_expect_eq "orders back from the backup" "$(q "$D" "SELECT COUNT(*) FROM orders")" "$n_orders"
rec=$(grep 'reconciliation done' "$TLOG" | tail -1)
observe "$rec"
drill_check "reconciliation after the restore flags nothing" grep -q 'unknown 0' <<< "$rec"
gw resume > /dev/null
sleep 3
drill_check "restore alerted" alert_has '"channel": "telegram".*restored'
drill_expect_eq "no orderRef twice at the gateway" "$(refs_twice)" 0

# ---- (b) corrupted while running
inject "(b) online backup, then overwrite the db file under the running slobd"
"$B/slobctl" --data-dir "$D" backup > "$DT/backup2.out" 2>&1 || drill_fail "online backup: $(cat "$DT/backup2.out")"
gw pause > /dev/null
sleep 0.5
g1=$(gw_field orders)
n_orders=$(q "$D" "SELECT COUNT(*) FROM orders")
corrupt "$DB"
sleep 2
drill_slobd_stop
observe "slobd stopped after the corruption: exit $SD_RC; errors.log: $(tail -1 "$ELOG" 2> /dev/null)"
"$B/slobctl" --data-dir "$D" check > "$DT/check2.out" 2>&1
observe "slobctl check after the stop: exit $? $(head -1 "$DT/check2.out")"
drill_slobd_start "$D" "${common[@]}" --set store.auto_restore=true replay-gw -q
drill_wait 20 two 3 || drill_fail "restart with store.auto_restore did not reconcile: $(cat "$SD_OUT")"
rec=$(grep 'reconciliation done' "$TLOG" | tail -1)
observe "$rec"
drill_check "store usable after the restart" test "$(q "$D" "PRAGMA quick_check")" = ok
drill_check "orders of the backup present" test "$(q "$D" "SELECT COUNT(*) FROM orders")" -ge "$n_orders"
drill_check "reconciliation flags nothing" grep -q 'unknown 0' <<< "$rec"
drill_expect_eq "the restart placed nothing" "$(gw_field orders)" "$g1"
gw resume > /dev/null
sleep 3
drill_slobd_stop
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
drill_expect_eq "no orderRef twice at the gateway" "$(refs_twice)" 0
alert_show
no_refused() { ! grep -q "store refused" "$ELOG" 2> /dev/null; }
drill_check "the store accepted every record (no 'store refused' in errors.log)" no_refused
drill_finish
