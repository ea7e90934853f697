#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p0_1_store_lost.sh: incident P0-1 when the store is not garbled but
# gone: truncated to 0 bytes (or left with no tables after its WAL was lost),
# with a verified backup beside it and the circuit breaker latched. SQLite
# opens such a file as a brand-new database, so the old engine started clean:
# `slobctl check --full` said ok, the latch was gone and new brackets went
# out. An operator wants: the check says not ok; slobd refuses (exit 3)
# naming the file and the newest verified backup; with --auto-restore it
# restores that backup, records the restore in the store (events and
# alerts_sent) and alerts, and the breaker stays latched (no order) until an
# operator resets it, even though the backup was taken before the trip.
. "$(dirname "$0")/lib/drill.sh"
drill_init p0_1_store_lost
drill_sample
drill_alerts_start
D="$DT/data"
DB="$D/slob_state.db"
# a replay into a data directory that already holds a run needs --append
APPEND=()
"$B/slobd" --help 2>&1 | grep -q -- '--append' && APPEND=(--append)
replay() { # OUT FILE ARGS...: a flat-out replay; sets RC
	local out=$1 file=$2
	shift 2
	set +e
	"$B/slobd" "${DRILL_COMMON[@]}" "${DRILL_ALERT_ARGS[@]}" --data-dir "$D" "$@" \
		replay "$file" --json > "$out" 2>&1
	RC=$?
	set -e
}
js() { grep '^{' "$1" | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2" 2> /dev/null || echo "?"; }

"$B/slob-gen" --seed 3 --days 2 --start 2026-01-05 --bin "$DT/gen/early.ticks" -q || drill_fail "slob-gen"
say "a first run (two days that end flat) fills the store; a verified backup of it"
replay "$DT/run1.out" "$DT/gen/early.ticks" --set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
drill_expect_eq "first replay exits 0" "$RC" 0
"$B/slobctl" --data-dir "$D" backup > "$DT/backup.out" 2>&1 || drill_fail "slobctl backup: $(cat "$DT/backup.out")"
bk=$(ls "$D"/backups/*.db | tail -n 1)
observe "backup $bk"
inject "a second run trips the circuit breaker (max drawdown 0.01 %): latched after the backup"
replay "$DT/run2.out" "$DT/gen/sample.ticks" --set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0.01 "${APPEND[@]}"
drill_expect_eq "second replay exits 0" "$RC" 0
drill_expect_eq "breaker latched in the store" "$(q "$D" "SELECT breaker_tripped FROM risk_state")" 1
n2=$(js "$DT/run2.out" orders)
observe "second run: $n2 brackets before the trip"

inject "the store is truncated to 0 bytes (WAL and SHM gone too)"
: > "$DB"
rm -f "$DB-wal" "$DB-shm"
set +e
"$B/slobctl" --data-dir "$D" check --full > "$DT/check.out" 2>&1
rc=$?
set -e
observe "slobctl check --full: exit $rc: $(head -c 300 "$DT/check.out")"
drill_check "slobctl check --full does not call an empty store ok" test "$rc" -ne 0
replay "$DT/refuse.out" "$DT/gen/sample.ticks"
observe "slobd: exit $RC: $(head -c 400 "$DT/refuse.out")"
drill_expect_eq "slobd refuses the empty store (exit 3)" "$RC" 3
drill_check "the refusal names the store file" grep -qF "$DB" "$DT/refuse.out"
drill_check "the refusal names the newest verified backup" grep -qF "$bk" "$DT/refuse.out"
drill_expect_eq "the empty file is left as it was" "$(stat -c %s "$DB")" 0

inject "the same with no tables: a header-only file (what a lost WAL leaves)"
sqlite3 "$DB" "PRAGMA user_version=5; PRAGMA journal_mode=DELETE;" > /dev/null
replay "$DT/refuse2.out" "$DT/gen/sample.ticks"
observe "slobd: exit $RC: $(head -c 300 "$DT/refuse2.out")"
drill_expect_eq "slobd refuses the table-less store (exit 3)" "$RC" 3

inject "restart with --auto-restore (the newest backup predates the trip)"
replay "$DT/restore.out" "$DT/gen/sample.ticks" --set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0 --auto-restore "${APPEND[@]}"
observe "slobd --auto-restore: exit $RC: $(grep -v '^{' "$DT/restore.out" | head -c 400)"
drill_expect_eq "the restored run exits 0" "$RC" 0
drill_expect_eq "no bracket: the latch survives a restore of an older backup" "$(js "$DT/restore.out" orders)" 0
drill_expect_eq "breaker latched again in the restored store" "$(q "$D" "SELECT breaker_tripped FROM risk_state")" 1
drill_check "the re-latch is in breaker_events, saying why" \
	test "$(q "$D" "SELECT count(*) FROM breaker_events WHERE who='slobd' AND why LIKE 'latched before this store was restored%'")" -ge 1
drill_expect_eq "restore recorded in events" "$(q "$D" "SELECT count(*) FROM events WHERE kind='store_restored'")" 1
drill_check "restore recorded in alerts_sent" test "$(q "$D" "SELECT count(*) FROM alerts_sent WHERE text LIKE '%restored%'")" -ge 1
drill_check "the previous file is kept aside" sh -c "ls '$D' | grep -q before_restore"
drill_check "slobctl check --full is ok on the restored store" "$B/slobctl" --data-dir "$D" check --full
drill_check "restore logged" drill_log_has 'restor'
sleep 1
drill_check "restore alerted (Store restored from backup)" alert_has 'Store restored from backup'
drill_expect_eq "the restore's alerts_sent row says it was delivered" \
	"$(q "$D" "SELECT status FROM alerts_sent WHERE kind=(SELECT kind FROM alerts_sent WHERE text LIKE 'store was%' LIMIT 1) ORDER BY id DESC LIMIT 1")" sent
drill_expect_eq "no alerts_sent row left 'queued'" "$(q "$D" "SELECT count(*) FROM alerts_sent WHERE status='queued'")" 0
alert_show
drill_finish
