#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_common_errors.sh: the guide's "Common Error Messages", made drills
# against a running slobd:
#   - "Database is locked" (a second instance on the same data): a second
#     slobd on the same data directory is refused at once (exit 4, "another
#     slobd (pid N) holds ..."), and the first keeps trading undisturbed;
#   - a configuration with a bad value: exit 2 before anything starts, with
#     file:line, section and key named (and the allowed range);
#   - bad dashboard credentials: 401, then a lockout (429, Retry-After) after
#     [dash] lockout_failures attempts, even for the right password, while
#     the engine trades on.
. "$(dirname "$0")/lib/drill.sh"
. "$(dirname "$0")/lib/ops.sh"
drill_init common_errors
D="$DT/data"

say "baseline replay (flat out) for the decision digest"
ops_replay "$DT/base" "$DT/base.json" 0
ops_replay_wait 60
[ "$(js "$DT/base.json" trades)" -gt 0 ] 2> /dev/null || drill_fail "baseline replay: $(cat "$OPS_SD_OUT")"

ops_dash_pw "$D"
ops_replay "$D" "$DT/run.json" 60000
FIRST=$SD_PID
FIRST_OUT=$SD_OUT
drill_wait 10 test -s "$D/slobd.lock" || drill_fail "no lock file: $(cat "$SD_OUT")"
sleep 0.5

inject "a second slobd on the same data directory"
set +e
"$B/slobd" "${DRILL_COMMON[@]}" --data-dir "$D" replay "$DT/gen/sample.ticks" -q > "$DT/second.out" 2>&1
rc=$?
set -e
observe "second slobd exit $rc: $(head -c 300 "$DT/second.out")"
drill_expect_eq "second slobd refused with exit 4" "$rc" 4
drill_check "message: another slobd (pid $FIRST) holds the directory" grep -q "another slobd (pid $FIRST) holds" "$DT/second.out"
drill_check "the first slobd keeps running" kill -0 "$FIRST"
"$B/slobctl" --data-dir "$D" status > "$DT/st.txt" 2>&1
drill_check "slobctl status shows the running pid" grep -q "pid $FIRST" "$DT/st.txt"

inject "a configuration file with bad values ([risk] risk_per_trade = 7 at line 4)"
printf '# operator edit\n[risk]\nmax_position_size = 3\nrisk_per_trade = 7\n' > "$DT/bad.ini"
set +e
"$B/slobd" --config "$DT/bad.ini" --data-dir "$DT/other" replay "$DT/gen/sample.ticks" -q > "$DT/bad.out" 2>&1
rc=$?
set -e
observe "slobd exit $rc: $(head -c 300 "$DT/bad.out")"
drill_expect_eq "bad config: exit 2" "$rc" 2
drill_check "the message names file:line" grep -q "bad.ini:4" "$DT/bad.out"
drill_check "the message names the key" grep -q "risk_per_trade" "$DT/bad.out"
drill_check "nothing was started (no store in the data directory)" test ! -e "$DT/other/slob_state.db"
printf '[risk]\nrisk_per_trade = 0.01\n[nosuch]\nkey = 1\n' > "$DT/bad2.ini"
set +e
"$B/slobd" --config "$DT/bad2.ini" --check-config > /dev/null 2> "$DT/bad2.out"
rc=$?
set -e
observe "unknown section: exit $rc: $(head -c 200 "$DT/bad2.out")"
drill_expect_eq "unknown section: exit 2" "$rc" 2
drill_check "the unknown section is named with file:line" grep -Eq "bad2.ini:[34].*nosuch" "$DT/bad2.out"
set +e
"$B/slobd" --set log.max_size_mb=0 --check-config > /dev/null 2> "$DT/bad3.out"
rc=$?
set -e
observe "--set log.max_size_mb=0: exit $rc: $(head -c 200 "$DT/bad3.out")"
drill_expect_eq "out-of-range --set: exit 2" "$rc" 2
drill_check "the key and its range are named" grep -Eq "max_size_mb.*1" "$DT/bad3.out"

inject "wrong dashboard passwords (lockout_failures = 3) while slobd trades"
ops_dash_start "$D" --set lockout_failures=3 --set lockout_seconds=60
drill_expect_eq "right password first" "$(ops_dash_login)" 303
got=$(python3 "$OPS_LIB/ops.py" logins "$DASH_PORT" "wrong password" 4)
observe "4 wrong logins: HTTP $got"
drill_expect_eq "401 twice, then the lockout (429)" "$got" "401 401 429 429"
drill_expect_eq "locked out: even the right password is refused" "$(ops_dash_login)" 429
drill_expect_eq "/health still answers during the lockout" "$(ops_dash_health)" 200
# slob-dash writes no log line for failed logins; /metrics counts them
python3 "$OPS_LIB/ops.py" get "$DASH_PORT" /metrics > "$DT/metrics.txt"
failed=$(sed -n 's/^slob_dash_logins_total{result="failed"} \([0-9]*\).*/\1/p' "$DT/metrics.txt")
observe "/metrics: slob_dash_logins_total{result=\"failed\"} ${failed:-?}"
drill_check "failed logins counted in /metrics (>= 2)" test "${failed:-0}" -ge 2

SD_PID=$FIRST
SD_OUT=$FIRST_OUT
OPS_SD_OUT=$FIRST_OUT
ops_replay_wait 60
drill_expect_eq "the first slobd finishes cleanly" "$SD_RC" 0
drill_expect_eq "its trading was undisturbed (same digest)" "$(js "$DT/run.json" digest)" "$(js "$DT/base.json" digest)"
drill_finish
