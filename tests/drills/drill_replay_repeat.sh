#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_replay_repeat.sh: replays run again into the same data directory, as a
# new user does. Before, the second run restarted paper order ids at 1, its
# exec ids P<id> collided with the first run's and its fills were silently
# ignored (trades with no fill row); a replay restarted after a crash with
# positions open sat wedged (0 brackets, every setup refused max_positions,
# no alert). An operator wants: a second replay refused with a clear message
# unless asked for --append (ids continue: every order id unique, every trade
# with its fills) or --fresh (the old store moved aside, never deleted); a
# replay appended to a store with open positions refused, naming them.
. "$(dirname "$0")/lib/drill.sh"
drill_init replay_repeat
drill_sample
"$B/slob-gen" --seed 3 --days 2 --start 2026-01-05 --bin "$DT/gen/early.ticks" -q || drill_fail "slob-gen"
D="$DT/data"
C=(--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0)
replay() { # DATADIR OUT FILE ARGS...: flat-out replay; sets RC
	local dd=$1 out=$2 file=$3
	shift 3
	set +e
	"$B/slobd" "${DRILL_COMMON[@]}" "${C[@]}" --data-dir "$dd" "$@" replay "$file" --json > "$out" 2>&1
	RC=$?
	set -e
}
js() { grep '^{' "$1" | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2" 2> /dev/null || echo "?"; }

say "first replay: two days that end flat"
replay "$D" "$DT/r1.out" "$DT/gen/early.ticks"
drill_expect_eq "first replay exits 0" "$RC" 0
drill_expect_eq "it ends flat" "$(q "$D" "SELECT count(*) FROM positions WHERE qty != 0 AND setup_id != 'MNQ'")" 0
f1=$(js "$DT/r1.out" fills)

inject "a second replay (the sample week) into the same data directory"
replay "$D" "$DT/r2.out" "$DT/gen/sample.ticks"
observe "exit $RC: $(head -c 300 "$DT/r2.out")"
drill_expect_eq "refused (exit 2)" "$RC" 2
drill_check "the refusal says how: --append or --fresh" grep -q -- '--append.*--fresh' "$DT/r2.out"
drill_expect_eq "the store is untouched (1 run)" "$(q "$D" "SELECT count(*) FROM runs")" 1

inject "the same with --append"
replay "$D" "$DT/r3.out" "$DT/gen/sample.ticks" --append
drill_expect_eq "appended replay exits 0" "$RC" 0
f3=$(js "$DT/r3.out" fills)
observe "fills: first run $f1, appended run $f3; store: $(q "$D" "SELECT count(*) FROM fills") fills, $(q "$D" "SELECT count(*) FROM orders") orders"
drill_check "the appended run traded" test "${f3:-0}" -gt 0
drill_expect_eq "order ids unique across runs" "$(q "$D" "SELECT count(*) - count(DISTINCT order_id) FROM orders")" 0
drill_expect_eq "every fill of both runs in the store" "$(q "$D" "SELECT count(*) FROM fills")" "$((f1 + f3))"
drill_expect_eq "every trade has its entry and exit fills" \
	"$(q "$D" "SELECT count(*) FROM trade_history t WHERE (SELECT count(*) FROM fills f WHERE f.setup_id = t.setup_id) < 2")" 0
drill_expect_eq "two runs recorded" "$(q "$D" "SELECT count(*) FROM runs")" 2
drill_expect_eq "the appended run's exec ids carry its run id (P2-<order id>)" \
	"$(q "$D" "SELECT count(*) FROM fills WHERE exec_id LIKE 'P2-%'")" "$f3"

inject "--fresh"
before=$(q "$D" "SELECT count(*) FROM orders")
replay "$D" "$DT/r4.out" "$DT/gen/early.ticks" --fresh
drill_expect_eq "fresh replay exits 0" "$RC" 0
old=$(ls "$D"/slob_state.db.replaced_* 2> /dev/null | grep -v -e '-wal$' -e '-shm$' -e 'journal$' -e 'marker$' -e 'breaker$' | head -n 1)
observe "kept aside: ${old:-none}"
drill_check "the old store is kept aside" test -s "$old"
drill_expect_eq "the kept store still holds its orders" "$(sqlite3 "$old" "SELECT count(*) FROM orders")" "$before"
drill_expect_eq "the new store holds one run" "$(q "$D" "SELECT count(*) FROM runs")" 1
drill_check "the fresh run traded" test "$(js "$DT/r4.out" orders)" -gt 0
drill_check "the old run's order journal is kept with the old store" test -s "$old.orders.journal"

inject "--fresh again, right after a run that placed orders"
replay "$D" "$DT/r4b.out" "$DT/gen/early.ticks" --fresh
observe "exit $RC: $(head -c 300 "$DT/r4b.out")"
drill_expect_eq "a second --fresh exits 0 (the journal's brackets stay with the old store)" "$RC" 0
drill_expect_eq "the new store holds one run" "$(q "$D" "SELECT count(*) FROM runs")" 1
drill_expect_eq "the new store holds no order left PENDING by the old run" "$(q "$D" "SELECT count(*) FROM orders WHERE status = 'PENDING'")" 0
drill_expect_eq "both kept stores are there (never renamed over)" "$(ls -d "$D"/slob_state.db.replaced_* | grep -c -v -e '-wal$' -e '-shm$' -e 'journal$' -e 'marker$' -e 'breaker$')" 2

inject "a replay that trips the breaker (risk.max_drawdown_pct=0.1), then --fresh"
D3="$DT/trip"
replay "$D3" "$DT/t1.out" "$DT/gen/sample.ticks" --set risk.max_drawdown_pct=0.1
drill_expect_eq "the tripping replay exits 0" "$RC" 0
drill_expect_eq "its store records the trip" "$(q "$D3" "SELECT count(*) FROM breaker_events WHERE action = 'tripped'")" 1
drill_check "the trip is latched beside the store" test -e "$D3/slob_state.db.breaker"
replay "$D3" "$DT/t2.out" "$DT/gen/sample.ticks" --fresh
observe "--fresh after the trip: exit $RC: $(head -c 300 "$DT/t2.out")"
drill_expect_eq "--fresh after the trip exits 0" "$RC" 0
drill_expect_eq "the new store is not tripped" "$(q "$D3" "SELECT coalesce(max(breaker_tripped), 0) FROM risk_state")" 0
drill_check "and places orders" test "$(js "$DT/t2.out" orders)" -gt 0
drill_check "the old store's marker went aside with it" test -e "$(ls -d "$D3"/slob_state.db.replaced_*.marker | head -n 1)"
drill_check "and its breaker latch" test -e "$(ls -d "$D3"/slob_state.db.replaced_*.breaker | head -n 1)"

inject "the same where the old store once ran live: its latch is not --fresh's to release"
D4="$DT/trip_live"
replay "$D4" "$DT/t3.out" "$DT/gen/sample.ticks" --set risk.max_drawdown_pct=0.1
sqlite3 "$D4/slob_state.db" "UPDATE runs SET mode = 'live'"
replay "$D4" "$DT/t4.out" "$DT/gen/sample.ticks" --fresh
observe "exit $RC: $(head -c 400 "$DT/t4.out")"
drill_check "the latch stays beside the new store" test -e "$D4/slob_state.db.breaker"
drill_check "and the run says so" grep -q 'breaker latch .* stays' "$DT/t4.out"
drill_expect_eq "the new store is latched" "$(q "$D4" "SELECT coalesce(max(breaker_tripped), 0) FROM risk_state")" 1

inject "working orders in a store that records no run (its runs rows deleted by hand)"
D5="$DT/norun"
replay "$D5" "$DT/n1.out" "$DT/gen/early.ticks"
sqlite3 "$D5/slob_state.db" "DELETE FROM runs; UPDATE orders SET status = 'SUBMITTED' WHERE id = (SELECT max(id) FROM orders)"
replay "$D5" "$DT/n2.out" "$DT/gen/early.ticks" --append
observe "exit $RC: $(head -c 400 "$DT/n2.out")"
drill_expect_eq "refused (exit 2)" "$RC" 2
drill_check "the refusal still says whose they are" grep -q 'left by a run this store has no record of' "$DT/n2.out"

inject "a paced replay killed -9 while positions are open"
D2="$DT/crash"
drill_slobd_start "$D2" "${C[@]}" --speed 20000 replay "$DT/gen/sample.ticks" -q
open_pos() { [ "$(q "$D2" "SELECT count(*) FROM positions WHERE qty != 0 AND setup_id != 'MNQ'" 2> /dev/null)" -ge 1 ] 2> /dev/null; }
drill_wait 60 open_pos || drill_fail "no open position seen: $(cat "$SD_OUT")"
drill_slobd_kill9
sid=$(q "$D2" "SELECT setup_id FROM positions WHERE qty != 0 AND setup_id != 'MNQ' LIMIT 1")
observe "open position of setup $sid left behind"
replay "$D2" "$DT/r5.out" "$DT/gen/sample.ticks" --append
observe "--append after the crash: exit $RC: $(head -c 400 "$DT/r5.out")"
drill_expect_eq "refused, not wedged (exit 2)" "$RC" 2
drill_check "the refusal names the open position" grep -q "$sid" "$DT/r5.out"
drill_check "the refusal says the run did not stop cleanly" grep -q 'did not stop cleanly' "$DT/r5.out"
replay "$D2" "$DT/r6.out" "$DT/gen/sample.ticks" --fresh
drill_expect_eq "--fresh after the crash exits 0" "$RC" 0
drill_check "and trades again" test "$(js "$DT/r6.out" orders)" -gt 0
drill_finish
