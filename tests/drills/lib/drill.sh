# SPDX-License-Identifier: MIT
# drill.sh: shared helpers for the incident drills (tests/drills/*.sh).
#
# A drill injects one fault from the operators' incident guide into a RUNNING
# system (slobd + slob-gw + store + local alert servers) and asserts what
# slob does about it without a human. This file is sourced, never run; it is
# in lib/ so the test glob does not register it. Everything listens on
# 127.0.0.1 with kernel-chosen ports, everything lives under one temporary
# directory ($DT) removed at exit (kept with DRILL_KEEP=1), and every process
# started here is killed by pid at exit.
#
# Use:
#   . "$(dirname "$0")/lib/drill.sh"
#   drill_init p1_1_gateway          # sets B (bin dir), DT (tmp dir), traps
#   drill_sample                     # $DT/gen/sample.ticks (slob-gen --sample)
#   drill_alerts_start               # local Telegram + SMTP; fills DRILL_ALERT_ARGS
#   drill_gw_start --speed 10000 --wait-sub   # GW_PID GW_PORT GW_CTL
#   drill_slobd_start D replay-gw --set ...   # SD_PID; logs in $DT/logs/
#   drill_wait 30 "reconciled" drill_log_has "reconciliation done"
#   drill_check "<what>" <command...>   # records ok/FAIL, never exits
#   drill_finish                     # prints "N passed, M failed", exit status
#
# Variables after drill_init:
#   B        bin directory (SLOB_BIN_DIR)
#   DT       drill temporary directory
#   DRILL_COMMON  array of --set options every drill wants (MNQ sizing, paper
#            account, log files under $DT/logs, fast reconnect backoff)
#   TLOG/ELOG trading.log / errors.log paths
#
# Conventions: say() prints what is injected ("-> inject: ...") and observed
# ("<- observe: ..."); drill_check / drill_expect_eq count results;
# drill_fail aborts at once (for set-up errors).

set -u

drill_init() {
	DRILL_NAME=$1
	B="${SLOB_BIN_DIR:?SLOB_BIN_DIR not set}"
	for p in slobd slob-gw slob-gen slobctl; do
		[ -x "$B/$p" ] || { echo "$p not built: skip"; exit 77; }
	done
	command -v sqlite3 > /dev/null || { echo "sqlite3 CLI missing: skip"; exit 77; }
	command -v python3 > /dev/null || { echo "python3 missing: skip"; exit 77; }
	DRILL_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
	DT="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/drill_${DRILL_NAME}.XXXXXX")"
	mkdir -p "$DT/logs"
	TLOG="$DT/logs/trading.log"
	ELOG="$DT/logs/errors.log"
	DRILL_PIDS=()
	DRILL_OK=0
	DRILL_BAD=0
	DRILL_T0=$(date +%s)
	DRILL_ALERT_ARGS=()
	DRILL_COMMON=(--set instrument.symbol=MNQ --set instrument.point_value=2
		--set tws.account=DU1234567
		--set log.trading_file="$TLOG" --set log.errors_file="$ELOG"
		--set tws.backoff_initial_ms=200 --set tws.backoff_cap_ms=2000
		--set tws.connect_timeout_ms=3000)
	trap drill_cleanup EXIT
	echo "== drill $DRILL_NAME (tmp $DT)"
}

drill_cleanup() {
	local p
	for p in "${DRILL_PIDS[@]}"; do
		kill -9 "$p" 2> /dev/null || true
		wait "$p" 2> /dev/null || true
	done
	if [ -n "${DRILL_KEEP:-}" ]; then
		echo "(kept $DT)"
	else
		rm -rf "$DT"
	fi
}

say() { echo "-- $*"; }
inject() { echo "-> inject: $*"; }
observe() { echo "<- observe: $*"; }

# drill_fail MSG: set-up failure, abort the drill now.
drill_fail() {
	echo "FAIL: $*"
	drill_dump
	echo "0 passed, 1 failed"
	exit 1
}

# drill_dump: the tails of the logs, for a failure message.
drill_dump() {
	local f
	for f in "$TLOG" "$ELOG" "$DT"/slobd*.out "$DT"/gw*.out; do
		[ -s "$f" ] || continue
		echo "---- tail $f"
		tail -n 15 "$f"
	done
}

# drill_check WHAT CMD...: run CMD; count ok / FAIL with WHAT.
drill_check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
		DRILL_OK=$((DRILL_OK + 1))
	else
		echo "FAIL: $what"
		DRILL_BAD=$((DRILL_BAD + 1))
	fi
}

# drill_expect_eq WHAT GOT WANT
drill_expect_eq() {
	if [ "$2" = "$3" ]; then
		echo "ok: $1 ($2)"
		DRILL_OK=$((DRILL_OK + 1))
	else
		echo "FAIL: $1: got '$2', want '$3'"
		DRILL_BAD=$((DRILL_BAD + 1))
	fi
}

# drill_finish: print the tally; exit 0 only when nothing failed.
drill_finish() {
	local el=$(($(date +%s) - DRILL_T0))
	if [ "$DRILL_BAD" -ne 0 ]; then
		drill_dump
		echo "drill $DRILL_NAME: ${el}s"
		echo "$DRILL_OK passed, $DRILL_BAD failed"
		exit 1
	fi
	echo "drill $DRILL_NAME: ${el}s"
	# one line the CTest output parsers and the brief expect
	echo "1 passed, 0 failed"
	exit 0
}

# drill_wait SECONDS CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout.
drill_wait() {
	# bounded by the wall clock, not by turns: a check that itself takes
	# seconds on a loaded machine must not stretch the wait a hundredfold
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# drill_log_has PATTERN [FILE]: grep -E in trading.log (or FILE).
drill_log_has() { grep -Eq -- "$1" "${2:-$TLOG}" 2> /dev/null; }
# drill_log_count PATTERN [FILE]: number of matching lines.
drill_log_count() {
	local c
	c=$(grep -Ec -- "$1" "${2:-$TLOG}" 2> /dev/null) || true
	echo "${c:-0}"
}

# drill_free_port: a port nobody listens on right now (closed-port drills).
drill_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# drill_sample: generate the sample week once into $DT/gen/sample.ticks.
drill_sample() {
	[ -s "$DT/gen/sample.ticks" ] && return 0
	"$B/slob-gen" --sample "$DT/gen" > /dev/null || drill_fail "slob-gen --sample"
	DRILL_TICKS="$DT/gen/sample.ticks"
}

# ---- slob-gw -----------------------------------------------------------
# drill_gw_contract: the --contract spec of the instrument DRILL_COMMON
# configures (symbol and point value), so slob-gw serves exactly what slobd
# trades and confirms its multiplier.
drill_gw_contract() {
	local a sym=NQ mult=20
	for a in "${DRILL_COMMON[@]}"; do
		case "$a" in
		instrument.symbol=*) sym=${a#*=} ;;
		instrument.point_value=*) mult=${a#*=} ;;
		esac
	done
	echo "$sym,mult=$mult"
}

# drill_gw_start [slob-gw args...]: starts slob-gw on free ports (unless the
# args give --port / --control-port) with --state $DT/gw.state, the paper
# account and the drill's instrument (unless the args give --contract); sets
# GW_PID, GW_PORT, GW_CTL. Output in $DT/gw<N>.out.
DRILL_GW_N=0
drill_gw_start() {
	DRILL_GW_N=$((DRILL_GW_N + 1))
	local out="$DT/gw$DRILL_GW_N.out" a has_port=0 has_ctl=0 has_contract=0
	for a in "$@"; do
		case "$a" in --port) has_port=1 ;; --control-port) has_ctl=1 ;; --contract) has_contract=1 ;; esac
	done
	local extra=()
	[ $has_port = 1 ] || extra+=(--port 0)
	[ $has_ctl = 1 ] || extra+=(--control-port 0)
	[ $has_contract = 1 ] || extra+=(--contract "$(drill_gw_contract)")
	"$B/slob-gw" "${extra[@]}" --account DU1234567 --state "$DT/gw.state" "$@" > "$out" 2>&1 &
	GW_PID=$!
	DRILL_PIDS+=("$GW_PID")
	drill_wait 10 drill_log_has '^CONTROL' "$out" || drill_fail "slob-gw did not start: $(cat "$out")"
	GW_PORT=$(awk '/^PORT/{print $2}' "$out")
	GW_CTL=$(awk '/^CONTROL/{print $2}' "$out")
	# with explicit ports slob-gw may not print them
	[ -n "$GW_PORT" ] || GW_PORT=$(drill__argval --port "$@")
	[ -n "$GW_CTL" ] || GW_CTL=$(drill__argval --control-port "$@")
	say "slob-gw pid $GW_PID port $GW_PORT control $GW_CTL"
}

drill__argval() {
	local k=$1
	shift
	while [ $# -gt 0 ]; do
		[ "$1" = "$k" ] && { echo "$2"; return; }
		shift
	done
}

# drill_gw_kill: kill -9 slob-gw (its --state file keeps orders/positions).
drill_gw_kill() {
	kill -9 "$GW_PID" 2> /dev/null || true
	wait "$GW_PID" 2> /dev/null || true
}

# gw CMD...: one control command to slob-gw; prints the answer (all lines).
gw() {
	python3 - "$GW_CTL" "$*" << 'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall((sys.argv[2] + "\n").encode())
buf = b""
while True:
    lines = buf.split(b"\n")
    if any(l.startswith(b"OK") or l.startswith(b"ERR") for l in lines[:-1]):
        break
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode().strip())
PY
}

# gw_field KEY: one key=value field of `status` (orders, live, execs, position, eof...).
gw_field() { gw status | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# ---- slobd -------------------------------------------------------------
# drill_slobd_start DATADIR ARGS...: slobd in the background with
# DRILL_COMMON and DRILL_ALERT_ARGS, --data-dir DATADIR, then ARGS
# (options and the command, e.g. replay-gw); tws.port is $DRILL_TWS_PORT
# if set, else $GW_PORT (the last slob-gw started). Sets SD_PID; output in
# $DT/slobd<N>.out (SD_OUT).
DRILL_SD_N=0
drill_slobd_start() {
	local dd=$1
	shift
	DRILL_SD_N=$((DRILL_SD_N + 1))
	SD_OUT="$DT/slobd$DRILL_SD_N.out"
	local port=()
	[ -n "${DRILL_TWS_PORT:-${GW_PORT:-}}" ] && port=(--set tws.port="${DRILL_TWS_PORT:-$GW_PORT}")
	"$B/slobd" "${DRILL_COMMON[@]}" "${DRILL_ALERT_ARGS[@]}" "${port[@]}" --data-dir "$dd" "$@" > "$SD_OUT" 2>&1 &
	SD_PID=$!
	DRILL_PIDS+=("$SD_PID")
	say "slobd pid $SD_PID: $*"
}

# drill_slobd_stop: SIGTERM, wait (at most 20 s, then -9); sets SD_RC.
drill_slobd_stop() {
	kill -TERM "$SD_PID" 2> /dev/null || true
	local n=200
	while kill -0 "$SD_PID" 2> /dev/null && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	kill -9 "$SD_PID" 2> /dev/null || true
	SD_RC=0
	wait "$SD_PID" || SD_RC=$?
	return 0
}

# drill_slobd_wait [SECONDS]: wait for slobd to exit by itself; sets SD_RC
# (124 when it is still running after SECONDS, default 60).
drill_slobd_wait() {
	local n=$((${1:-60} * 10))
	while kill -0 "$SD_PID" 2> /dev/null && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	if kill -0 "$SD_PID" 2> /dev/null; then
		SD_RC=124
		return 0
	fi
	SD_RC=0
	wait "$SD_PID" || SD_RC=$?
}

# drill_slobd_kill9: crash slobd (P0-2).
drill_slobd_kill9() {
	kill -9 "$SD_PID" 2> /dev/null || true
	wait "$SD_PID" 2> /dev/null || true
}

# ---- store -------------------------------------------------------------
# q DATADIR SQL: query the store (readers may run beside slobd; 5 s busy timeout).
q() { sqlite3 -cmd ".timeout 5000" "$1/slob_state.db" "$2"; }

# ---- alerts ------------------------------------------------------------
# drill_alerts_start: local Telegram + SMTP (lib/alertsink.py); every alert
# becomes one JSON line in $ALERTS. Fills DRILL_ALERT_ARGS for slobd/slobctl.
drill_alerts_start() {
	ALERTS="$DT/alerts.jsonl"
	: > "$ALERTS"
	local py=python3
	[ -x /usr/bin/python3 ] && py=/usr/bin/python3 # aiosmtpd is a Debian package
	$py "$DRILL_LIB/alertsink.py" "$ALERTS" "$DT/alert.ports" 2> "$DT/alertsink.err" &
	DRILL_PIDS+=($!)
	drill_wait 10 test -s "$DT/alert.ports" || drill_fail "alert sink did not start: $(cat "$DT/alertsink.err")"
	TG_PORT=$(awk '/^telegram/{print $2}' "$DT/alert.ports")
	SMTP_PORT=$(awk '/^smtp/{print $2}' "$DT/alert.ports")
	DRILL_ALERT_ARGS=(--set alert.telegram_token=123:drill --set alert.telegram_chat_id=42
		--set alert.telegram_url="http://127.0.0.1:$TG_PORT" --set alert.telegram_level=info)
	if [ "$SMTP_PORT" != 0 ]; then
		DRILL_ALERT_ARGS+=(--set alert.smtp_server=127.0.0.1 --set alert.smtp_port="$SMTP_PORT"
			--set alert.smtp_tls=none --set alert.email_from=slob@drill.test
			--set alert.email_to=ops@drill.test --set alert.email_level=warning)
	fi
	say "alert sinks: telegram $TG_PORT smtp $SMTP_PORT"
}

# alert_has REGEX: some alert (any channel) matches (grep -Ei on the JSON lines).
alert_has() { grep -Eiq -- "$1" "$ALERTS" 2> /dev/null; }
# alert_count REGEX
alert_count() {
	local c
	c=$(grep -Eic -- "$1" "$ALERTS" 2> /dev/null) || true
	echo "${c:-0}"
}
# alert_show: print the alert texts received so far (Telegram channel).
alert_show() {
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["channel"] == "telegram":
        print("   alert:", r["text"].replace("\n", " | ")[:200])
' "$ALERTS" 2> /dev/null || true
}

# NOTE for drill authors: drill_wait evaluates its arguments once, so
# `drill_wait 10 test "$(cmd)" -gt 0` never re-runs cmd; wrap the
# condition in a function and pass the function name instead.
