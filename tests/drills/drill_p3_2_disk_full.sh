#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p3_2_disk_full.sh: incident P3-2's worst case, the disk holding the
# logs is full. logs/ is a 256 KiB tmpfs (needs root; exit 77 = skip when
# mount is not permitted) filled to the last byte before slobd starts a
# paced replay; the operator floods SIGHUP reloads (one log line each), then
# frees space in the middle of the run. An operator wants: no crash, no
# blocking (same decision digest as a replay without the fault, exit 0),
# the lost lines counted (`slobctl status` logs ... lost N) and, once space
# is back, one line saying how many lines were lost and why (ENOSPC) before
# logging resumes. Also: a data directory on a full disk is refused at
# start with a clear message (the path and the reason), not a crash.
. "$(dirname "$0")/lib/drill.sh"
. "$(dirname "$0")/lib/ops.sh"
drill_init p3_2_disk_full
MNT="$DT/logs"
if ! mount -t tmpfs -o size=256k tmpfs "$MNT" 2> "$DT/mount.err"; then
	echo "mount tmpfs not permitted ($(cat "$DT/mount.err")): skip"
	exit 77
fi
umount_it() { umount "$MNT" 2> /dev/null || umount -l "$MNT" 2> /dev/null || true; }
trap 'umount_it; drill_cleanup' EXIT
fill() { dd if=/dev/zero of="$MNT/filler" bs=4k > /dev/null 2>&1 || true; }

say "baseline replay (flat out) for the decision digest"
ops_replay "$DT/base" "$DT/base.json" 0
ops_replay_wait 60
[ "$(js "$DT/base.json" trades)" -gt 0 ] 2> /dev/null || drill_fail "baseline replay: $(cat "$OPS_SD_OUT")"
rm -f "$TLOG" "$ELOG"

inject "logs/ on a 256 KiB tmpfs, filled: $(df -h "$MNT" | tail -n 1)"
fill
df -h "$MNT" | tail -n 1 | sed 's/^/   df: /'
ops_replay "$DT/run" "$DT/run.json" 50000 --set log.retry_ms=100
sleep 2
inject "SIGHUP flood (100 reloads, one log line each) on the full disk"
for i in $(seq 100); do kill -HUP "$SD_PID" 2> /dev/null || break; sleep 0.005; done
sleep 1
"$B/slobctl" --data-dir "$DT/run" status > "$DT/st.txt" 2>&1
grep -E '^logs|^engine' "$DT/st.txt" | sed 's/^/   slobctl status: /'
lost=$(sed -n 's/^logs.*lost *\([0-9]*\).*/\1/p' "$DT/st.txt")
drill_check "slobctl status counts lost log lines (lost ${lost:-?})" test "${lost:-0}" -gt 0
drill_check "slobd keeps trading on the full disk" kill -0 "$SD_PID"
inject "space freed (filler removed) in the middle of the run"
rm -f "$MNT/filler"
sleep 0.5
for i in $(seq 5); do kill -HUP "$SD_PID" 2> /dev/null || break; sleep 0.2; done
ops_replay_wait 60
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
drill_expect_eq "same decision digest as without the fault" "$(js "$DT/run.json" digest)" "$(js "$DT/base.json" digest)"
drill_expect_eq "same trades" "$(js "$DT/run.json" trades)" "$(js "$DT/base.json" trades)"
grep -E 'lost|resumed' "$TLOG" 2> /dev/null | head -n 3 | sed 's/^/   trading.log: /'
drill_check "after recovery trading.log says how many lines were lost and why" \
	drill_log_has 'log lines lost since .*No space left on device.*logging resumed'
drill_check "trading.log continues (System Stopped)" drill_log_has "System Stopped"

inject "a data directory on a full disk"
mkdir -p "$MNT/data"
fill
set +e
"$B/slobd" "${DRILL_COMMON[@]}" --set log.trading_file="$DT/t2.log" --set log.errors_file="$DT/e2.log" \
	--data-dir "$MNT/data" replay "$DT/gen/sample.ticks" -q > "$DT/full.out" 2>&1
rc=$?
set -e
observe "slobd exit $rc: $(head -c 300 "$DT/full.out")"
drill_check "refused with an error exit (1..5), not a crash" test "$rc" -ge 1 -a "$rc" -le 5
drill_check "the message names the problem (space / disk / full)" grep -Eiq 'space|disk|full|ENOSPC' "$DT/full.out"
rm -f "$MNT/filler"
drill_finish
