#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p3_2_log_rotation.sh: incident P3-2, log files growing too large.
# The guide's operator deletes old logs by hand (find -mtime +7 -delete) and
# edits backupCount. slob rotates by size and by day and keeps the newest
# [log] keep files. The drill: logs/ already holds 35 rotated trading.log
# files of earlier days (more than keep = 30) and a trading.log just under
# max_size_mb = 1 (the minimum) from an earlier flood of lines; slobd then
# runs a paced replay while the operator floods it with SIGHUP reloads (one
# log line each). An operator wants the size rotation to happen while
# trading, exactly 30 rotated files kept (the oldest ones removed, the
# newest kept), no line lost, and trading untouched (same decision digest as
# a replay without the flood, exit 0).
. "$(dirname "$0")/lib/drill.sh"
. "$(dirname "$0")/lib/ops.sh"
drill_init p3_2_log_rotation
KEEP=30

say "baseline replay (flat out) for the decision digest"
ops_replay "$DT/base" "$DT/base.json" 0
ops_replay_wait 60
[ "$(js "$DT/base.json" trades)" -gt 0 ] 2> /dev/null || drill_fail "baseline replay: $(cat "$OPS_SD_OUT")"
rm -f "$TLOG"* "$ELOG"*

inject "35 rotated trading.log files of earlier days, and a 1 MB - 2 KB trading.log"
for i in $(seq 1 35); do
	d=$(date -u -d "-$((i + 1)) days" +%Y-%m-%d)
	echo "old line of $d" > "$TLOG.$d"
	touch -d "-$((i + 1)) days" "$TLOG.$d"
done
python3 - "$TLOG" << 'PY'
import sys
line = "2026-11-24 10:00:00.000Z INFO     flood: " + "x" * 80 + "\n"
n = (1024 * 1024 - 2048) // len(line)
with open(sys.argv[1], "w") as f:
    f.write(line * n)
PY
before=$(stat -c %s "$TLOG")
newest_old=$(ls "$TLOG".* | sort | tail -n $((KEEP - 1)) | head -n 1)
observe "trading.log $before bytes, $(ls "$TLOG".* | wc -l) rotated files"

ops_replay "$DT/run" "$DT/run.json" 50000 --set log.max_size_mb=1 --set log.keep=$KEEP
drill_wait 10 drill_log_has "Recovered state" || drill_fail "slobd did not log its start: $(cat "$SD_OUT")"
inject "SIGHUP flood: 400 reloads, one log line each, while slobd trades"
for i in $(seq 400); do
	kill -HUP "$SD_PID" 2> /dev/null || break
	sleep 0.005
done
ops_replay_wait 60
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
drill_expect_eq "same decision digest as without the flood" "$(js "$DT/run.json" digest)" "$(js "$DT/base.json" digest)"
ls -l "$(dirname "$TLOG")" | tail -n 4 | sed 's/^/   logs: /'
rot=$(ls "$TLOG".* 2> /dev/null | wc -l)
today=$(date -u +%Y-%m-%d)
observe "$rot rotated trading.log files; trading.log now $(stat -c %s "$TLOG") bytes; reloads logged: $(drill_log_count 'SIGHUP')"
drill_check "size rotation happened (trading.log.$today exists)" test -e "$TLOG.$today"
drill_expect_eq "rotated files kept" "$rot" "$KEEP"
drill_check "the rotated file is about 1 MB" test "$(stat -c %s "$TLOG.$today" 2> /dev/null || echo 0)" -ge $((1024 * 1024 - 4096))
drill_check "every rotated file at most max_size_mb" \
	sh -c "! find '$(dirname "$TLOG")' -name 'trading.log*' -size +1024k | grep -q ."
drill_check "the oldest rotated files were removed" test ! -e "$TLOG.$(date -u -d '-36 days' +%Y-%m-%d)"
drill_check "the newest old files were kept ($(basename "$newest_old"))" test -e "$newest_old"
drill_check "trading.log continues after the rotation (System Stopped)" drill_log_has "System Stopped"
# every SIGHUP line is either in trading.log or in the rotated file
hups=$(cat "$TLOG" "$TLOG.$today" | grep -c 'SIGHUP')
observe "SIGHUP lines across trading.log and trading.log.$today: $hups"
drill_check "reload lines were logged (>= 20; pending SIGHUPs coalesce) and none lost" sh -c "[ $hups -ge 20 ] && ! grep -q 'lines lost' '$TLOG'"
drill_finish
