#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_store_full_stop.sh: the disk holding the store fills up in the middle
# of a run, and the operator (or systemd) stops slobd. Before, SIGTERM was
# ignored for as long as the store could not write (the cold writer waited to
# commit its held records), so under systemd the records died with the
# SIGKILL after TimeoutStopSec. An operator wants: the stop finishes within
# 10 s (systemd's default TimeoutStopSec is 90 s), the held records are in a
# spill file in the data directory, the next start commits them before
# anything else and removes the file, and nothing the run reported is missing
# from the store. The data directory is a 16 MiB tmpfs (needs root; exit 77 =
# skip when mount is not permitted) filled to the last byte mid-run.
. "$(dirname "$0")/lib/drill.sh"
. "$(dirname "$0")/lib/ops.sh"
drill_init store_full_stop
D="$DT/data"
mkdir -p "$D"
if ! mount -t tmpfs -o size=16m tmpfs "$D" 2> "$DT/mount.err"; then
	echo "mount tmpfs not permitted ($(cat "$DT/mount.err")): skip"
	exit 77
fi
umount_it() { umount "$D" 2> /dev/null || umount -l "$D" 2> /dev/null || true; }
trap 'umount_it; drill_cleanup' EXIT
drill_alerts_start
fill() { dd if=/dev/zero of="$D/filler" bs=4k > /dev/null 2>&1 || true; }

ops_replay "$D" "$DT/run.json" 15000 --set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0
has_orders() { [ "$(q "$D" "SELECT count(*) FROM orders" 2> /dev/null)" -ge 3 ] 2> /dev/null; }
drill_wait 30 has_orders || drill_fail "no orders: $(cat "$OPS_SD_OUT")"
inject "the data directory's disk fills up: $(df -h "$D" | tail -n 1)"
fill
df -h "$D" | tail -n 1 | sed 's/^/   df: /'
failing() { grep -q 'store write failing' "$ELOG" 2> /dev/null; }
drill_wait 20 failing || drill_fail "the store never failed: $(tail -3 "$ELOG" 2> /dev/null)"
sleep 1
inject "SIGTERM while the store cannot write"
t0=$(date +%s.%N)
kill -TERM "$SD_PID"
drill_slobd_wait 30
t1=$(date +%s.%N)
secs=$(python3 -c "print(round($t1 - $t0, 1))")
observe "slobd exit $SD_RC after ${secs} s"
drill_check "the stop finished within 10 s (systemd TimeoutStopSec 90 s)" python3 -c "import sys; sys.exit(0 if $secs < 10 else 1)"
if [ "$SD_RC" = 124 ]; then
	inject "(still running) space freed so that it can stop"
	rm -f "$D/filler"
	drill_slobd_wait 60
fi
grep '^{' "$OPS_SD_OUT" | tail -n 1 > "$DT/run.json" || true
drill_expect_eq "slobd exits 0" "$SD_RC" 0
grep -E 'spill' "$ELOG" 2> /dev/null | tail -n 2 | sed 's/^/   errors.log: /'
drill_check "the held records are in a spill file" test -s "$D/slob_state.db.spill"
orders=$(js "$DT/run.json" orders)
fills=$(js "$DT/run.json" fills)
trades=$(js "$DT/run.json" trades)
observe "the run reported $orders brackets, $fills fills, $trades trades"

inject "space freed, slobd started again (a replay without --append: refused, after the spill)"
rm -f "$D/filler"
set +e
"$B/slobd" "${DRILL_COMMON[@]}" --data-dir "$D" replay "$DT/gen/sample.ticks" -q > "$DT/restart.out" 2>&1
rc=$?
set -e
observe "restart: exit $rc: $(head -c 400 "$DT/restart.out")"
drill_check "the restart says it committed the spill file" grep -q 'spill file .* replayed' "$DT/restart.out"
drill_check "the spill file is gone after its commit" test ! -e "$D/slob_state.db.spill"
drill_expect_eq "every bracket of the stopped run in the store" "$(q "$D" "SELECT count(*) FROM orders WHERE role='ENTRY'")" "$orders"
drill_expect_eq "every fill of the stopped run in the store" "$(q "$D" "SELECT count(*) FROM fills")" "$fills"
drill_expect_eq "every trade of the stopped run in the store" "$(q "$D" "SELECT count(*) FROM trade_history")" "$trades"
drill_check "the store checks ok" "$B/slobctl" --data-dir "$D" check --full
drill_check "the spill was alerted" alert_has 'spilled'
drill_finish
