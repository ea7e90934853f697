# SPDX-License-Identifier: MIT
# ops.sh: helpers for the operations drills (drillsB: P2-1..P3-3, common
# errors), sourced after drill.sh (which provides B, DT, DRILL_PIDS, say,
# drill_check...). Adds a paced paper replay whose JSON summary (decision
# digest, trades, latency) is the "trading unaffected" yardstick, slob-dash
# start/kill/login, and JSON field access. Sourced, never run.
#
# Use:
#   . "$(dirname "$0")/lib/drill.sh"; . "$(dirname "$0")/lib/ops.sh"
#   ops_replay DATADIR OUT.json SPEED [--set ...]   # background; SD_PID
#   ops_dash_start DATADIR                # DASH_PID DASH_PORT (password $OPS_PW)
#   ops_dash_login                        # prints the HTTP status of a login
#   js FILE KEY[.SUB]                     # one field of a JSON file

OPS_PW="drill horse battery"
OPS_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# ops_replay DATADIR OUT SPEED [ARGS...]: slobd replay of the sample week in
# the background (slobd --json summary into OUT), paced at SPEED x real time
# (0 = flat out; 40000 stretches the week to ~11 s). Uses drill_slobd_start,
# so DRILL_COMMON and DRILL_ALERT_ARGS apply. Sets SD_PID, SD_OUT (= OUT).
ops_replay() {
	local dd=$1 out=$2 speed=$3
	shift 3
	drill_sample
	drill_slobd_start "$dd" --speed "$speed" "$@" replay "$DT/gen/sample.ticks" --json
	OPS_SD_OUT=$SD_OUT
	OPS_SD_JSON=$out
}

# ops_replay_wait [SECONDS]: wait for the replay started by ops_replay to end;
# copies the JSON line into its OUT file. Sets SD_RC.
ops_replay_wait() {
	drill_slobd_wait "${1:-60}"
	grep '^{' "$OPS_SD_OUT" | tail -n 1 > "$OPS_SD_JSON" || true
}

# js FILE KEY: field of a JSON object file; KEY may be a.b for nested ones.
js() {
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$1" "$2" 2> /dev/null || echo "?"
}

# ops_dash_pw DATADIR: write the dashboard password file (0600) into DATADIR.
ops_dash_pw() {
	mkdir -p "$1"
	printf '%s\n' "$OPS_PW" | "$B/slob-dash" set-password "$1/dashboard.pw" > /dev/null ||
		drill_fail "slob-dash set-password"
}

# ops_dash_start DATADIR [ARGS...]: slob-dash on 127.0.0.1, a free port, the
# password file of DATADIR (written if missing). Sets DASH_PID DASH_PORT;
# output in $DT/dash<N>.out.
OPS_DASH_N=0
ops_dash_start() {
	local dd=$1
	shift
	[ -x "$B/slob-dash" ] || { echo "slob-dash not built: skip"; exit 77; }
	[ -s "$dd/dashboard.pw" ] || ops_dash_pw "$dd"
	OPS_DASH_N=$((OPS_DASH_N + 1))
	local out="$DT/dash$OPS_DASH_N.out"
	env -u DASHBOARD_PORT -u DASHBOARD_BIND -u DASHBOARD_PASSWORD_HASH -u STATE_DB_PATH \
		"$B/slob-dash" --data-dir "$dd" --port 0 "$@" > "$out" 2>&1 &
	DASH_PID=$!
	DRILL_PIDS+=("$DASH_PID")
	drill_wait 15 grep -q 'listening on http://' "$out" || drill_fail "slob-dash did not start: $(cat "$out")"
	DASH_PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$out" | head -n 1)
	say "slob-dash pid $DASH_PID port $DASH_PORT"
}

ops_dash_login() { python3 "$OPS_LIB/ops.py" login "$DASH_PORT" "${1:-$OPS_PW}"; }
ops_dash_health() { python3 "$OPS_LIB/ops.py" health "$DASH_PORT"; }
# ops_dash_time PATH...: "PATH STATUS BEST_MS MEDIAN_MS BYTES" per path.
ops_dash_time() { python3 "$OPS_LIB/ops.py" time "$DASH_PORT" "$OPS_PW" "$@"; }

# ops_trades DATADIR: the closed trades as comparable text (one per line).
ops_trades() {
	q "$1" "SELECT direction, qty, entry_time, exit_time, entry_price, exit_price, pnl_cents, exit_reason FROM trade_history ORDER BY entry_time, id"
}
