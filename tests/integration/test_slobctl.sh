#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_slobctl.sh: slobctl end to end on a scratch data directory: exit codes,
# add-position validation and the row it writes (guide P0-2), operator
# commands applied by a stand-in daemon (a python process holding the
# data-dir lock and marking operator_commands rows, as slobd's cold thread
# does), trades as table/CSV/JSON, backup/verify/check/restore (refused while
# the lock is held), vacuum/archive, the dashboard password file, monitor
# --count, and alert-test against a local stand-in for the Telegram Bot API.
set -u
BIN=${SLOB_BIN_DIR:?}/slobctl
[ -x "$BIN" ] || { echo "slobctl not built"; exit 77; }
PY=python3
command -v $PY >/dev/null || exit 77
T=$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/slobctl.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
fails=0
check() { # check <expected rc> <description> -- command...
	local want=$1 what=$2; shift 3
	"$@" >"$T/out" 2>"$T/err"; local rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $what: exit $rc, expected $want"; sed 's/^/  out: /' "$T/out"; sed 's/^/  err: /' "$T/err"
		fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}
expect() { # expect <file> <fixed string> <description>
	if ! grep -qF -- "$2" "$1"; then
		echo "FAIL: $3: '$2' not in $1:"; sed 's/^/  /' "$1"; fails=$((fails + 1))
	fi
}
sql() { $PY - "$@" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("data/slob_state.db")
cur = db.execute(sys.argv[1])
for row in cur.fetchall():
    print("|".join("" if v is None else str(v) for v in row))
db.commit()
PYEOF
}

# ---- usage and an empty data directory -----------------------------------------
check 2 "no command" -- "$BIN"
check 2 "unknown command" -- "$BIN" frobnicate
check 2 "unknown option" -- "$BIN" --bogus status
check 0 "help" -- "$BIN" --help
expect "$T/out" "exit codes" "help lists exit codes"
check 3 "status without an engine" -- "$BIN" status
expect "$T/out" "DOWN" "status says DOWN"
check 3 "status --json without an engine" -- "$BIN" --json status
expect "$T/out" '"engine_up":false' "json engine_up false"
check 4 "trades without a store" -- "$BIN" trades
check 4 "check without a store" -- "$BIN" check

# ---- add-position (P0-2) ------------------------------------------------------
check 0 "add-position long" -- "$BIN" add-position --entry 20000.25 --sl 19990 --tp 20020.5 --qty 2 --id manual_p02
expect "$T/out" "added manual_p02: LONG 2 NQ" "add-position output"
row=$(sql "SELECT id,state,entry_price,sl_price,tp_price,direction,qty,source FROM active_setups WHERE id='manual_p02'")
[ "$row" = "manual_p02|ACTIVE|20000.25|19990.0|20020.5|LONG|2|manual" ] || { echo "FAIL: row is '$row'"; fails=$((fails+1)); }
check 0 "add-position short, json" -- "$BIN" --json add-position --entry 20000 --sl 20010 --tp 19980
expect "$T/out" '"direction":"SHORT"' "short inferred"
check 2 "add-position off-tick price" -- "$BIN" add-position --entry 20000.3 --sl 19990 --tp 20020
expect "$T/err" "tick size" "tick size message"
check 2 "add-position inconsistent" -- "$BIN" add-position --entry 20000 --sl 20010 --tp 20020
expect "$T/err" "inconsistent prices" "inconsistent message"
check 2 "add-position contradicting direction" -- "$BIN" add-position --entry 20000 --sl 19990 --tp 20020 --direction SHORT
check 2 "add-position missing tp" -- "$BIN" add-position --entry 20000 --sl 19990
check 2 "add-position bad qty" -- "$BIN" add-position --entry 20000 --sl 19990 --tp 20020 --qty 0
check 1 "add-position duplicate id" -- "$BIN" add-position --entry 20000 --sl 19990 --tp 20020 --id manual_p02
expect "$T/err" "exists" "duplicate id message"

# ---- operator commands ------------------------------------------------------------
check 2 "reset-breaker needs --reason" -- "$BIN" reset-breaker
check 2 "kill-switch needs on|off" -- "$BIN" kill-switch maybe
check 0 "kill-switch queued without daemon" -- "$BIN" kill-switch on --who alice --reason "news"
expect "$T/out" "queued; slobd is not running" "queued message"
row=$(sql "SELECT command,arg,who,reason,applied_at FROM operator_commands ORDER BY id DESC LIMIT 1")
[ "$row" = "kill-switch|on|alice|news|" ] || { echo "FAIL: opcmd row '$row'"; fails=$((fails+1)); }

cat > "$T/fake_daemon.py" <<'PYEOF'
# stands in for slobd: holds the data-dir lock, applies operator commands
import fcntl, os, sqlite3, sys, time
mode = sys.argv[1]
fd = os.open("data/slobd.lock", os.O_RDWR | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
os.write(fd, str(os.getpid()).encode())
open("daemon.ready", "w").close()
db = sqlite3.connect("data/slob_state.db", timeout=5)
while True:
    if mode != "never":
        for (i, cmd) in db.execute("SELECT id, command FROM operator_commands WHERE applied_at IS NULL").fetchall():
            res = "breaker reset" if mode == "ok" else "failed: breaker is not tripped"
            db.execute("UPDATE operator_commands SET applied_at = strftime('%Y-%m-%d %H:%M:%f','now'), result = ? WHERE id = ?", (res, i))
        db.commit()
    time.sleep(0.05)
PYEOF
start_daemon() {
	rm -f daemon.ready
	$PY "$T/fake_daemon.py" "$1" & DPID=$!
	for _ in $(seq 100); do [ -f daemon.ready ] && break; sleep 0.05; done
}
stop_daemon() { kill $DPID; wait $DPID 2>/dev/null; }

start_daemon ok
check 0 "reset-breaker applied by the daemon" -- "$BIN" reset-breaker --reason "drawdown was a data error" --who bob
expect "$T/out" "applied at" "applied message"
expect "$T/out" "breaker reset" "daemon result shown"
check 0 "kill-switch off json" -- "$BIN" --json kill-switch off --reason "resume"
expect "$T/out" '"result":"breaker reset"' "json result"
check 6 "restore refused while slobd runs" -- "$BIN" restore latest
stop_daemon
start_daemon fail
check 1 "reset-breaker rejected by the daemon" -- "$BIN" reset-breaker --reason "x"
expect "$T/out" "failed: breaker is not tripped" "failure result shown"
stop_daemon
start_daemon never
check 7 "command not applied within --wait" -- "$BIN" kill-switch on --wait 0.3
expect "$T/out" "not applied by slobd" "pending message"
stop_daemon

# ---- trades ---------------------------------------------------------------------------
sql "INSERT INTO trade_history (setup_id,direction,qty,entry_time,exit_time,entry_price,exit_price,outcome,pnl,exit_reason) VALUES
 ('aaaa','LONG',1,'2026-01-05 15:00:00.000','2026-01-05 15:30:00.000',20000,20020,'WIN',400,'TP'),
 ('bbbb','SHORT',1,'2026-02-05 15:00:00.000','2026-02-05 15:10:00.000',20000,20010,'LOSS',-200,'SL'),
 ('cccc','LONG',2,'2024-01-05 15:00:00.000','2024-01-05 15:10:00.000',15000,15010,'WIN',400,'TP')" >/dev/null
check 0 "trades since a date" -- "$BIN" trades --since 2026-01-01
expect "$T/out" "2 trades, total P&L \$200.00" "trades summary"
check 0 "trades csv" -- "$BIN" trades --since 2026-01-01 --csv
[ "$(wc -l < "$T/out")" = 3 ] || { echo "FAIL: csv lines"; cat "$T/out"; fails=$((fails+1)); }
expect "$T/out" "id,setup_id,direction,qty,entry_time" "csv header"
expect "$T/out" ",bbbb,SHORT,1,2026-02-05 15:00:00.000," "csv row"
check 0 "trades json until" -- "$BIN" --json trades --since 2026-01-01 --until 2026-02-01
expect "$T/out" '"count":1' "json count"
check 2 "trades bad --since" -- "$BIN" trades --since yesterday-ish

check 0 "daily summary of a day" -- "$BIN" daily-summary --date 2026-02-05
expect "$T/out" "Day 2026-02-05 (UTC)" "summary day"
expect "$T/out" "Trades closed: 1 (0 wins, 1 loss, win rate 0.0%)" "summary trades"
expect "$T/out" "P&L: -\$200.00" "summary P&L"
check 2 "daily summary bad date" -- "$BIN" daily-summary --date 2026-13-01

# ---- store maintenance ------------------------------------------------------------------
check 0 "check" -- "$BIN" check
check 0 "backup" -- "$BIN" backup
expect "$T/out" "verified" "backup verified"
check 0 "verify latest" -- "$BIN" verify
check 0 "verify --all json" -- "$BIN" --json verify --all
expect "$T/out" '"ok":true' "verify json"
printf 'this is not a database at all, not even close...........' > "$T/bad.db"
check 5 "verify a corrupt file" -- "$BIN" verify "$T/bad.db"
check 0 "archive older than 1y" -- "$BIN" archive --older-than 1y
expect "$T/out" "archived 1 trade_history row" "archive count"
check 2 "archive bad unit" -- "$BIN" archive --older-than 1q
check 0 "vacuum" -- "$BIN" vacuum
check 0 "restore latest" -- "$BIN" restore latest
expect "$T/out" "previous file kept" "restore keeps the old file"
[ "$(sql 'SELECT COUNT(*) FROM trade_history')" = 3 ] || { echo "FAIL: restore did not bring back the backup"; fails=$((fails+1)); }

# ---- dashboard password ------------------------------------------------------------------
check 0 "set-dashboard-password" -- sh -c "echo 'correct horse battery' | '$BIN' set-dashboard-password"
[ "$(stat -c %a data/dashboard.pw)" = 600 ] || { echo "FAIL: dashboard.pw mode"; fails=$((fails+1)); }
grep -q '^\$argon2id\$' data/dashboard.pw || { echo "FAIL: not an argon2id hash"; fails=$((fails+1)); }
check 2 "short dashboard password" -- sh -c "echo 'short' | '$BIN' set-dashboard-password --file '$T/pw2'"

# ---- monitor ------------------------------------------------------------------------------
check 0 "monitor twice" -- "$BIN" monitor --watch --count 2 --interval 0.1
[ "$(grep -c 'slob status' "$T/out")" = 2 ] || { echo "FAIL: monitor refreshes"; fails=$((fails+1)); }
expect "$T/out" "active setups 2" "monitor store section"
expect "$T/out" "manual_p02            +2   20000.25   19990.00   20020.50  manual" "monitor lists the manual position (P0-2 step 4)"
check 2 "monitor bad interval" -- "$BIN" monitor --interval 0

# ---- alert-test against a stand-in Bot API -------------------------------------------------
cat > "$T/botapi.py" <<'PYEOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open("botapi.log", "ab") as f:
            f.write(self.path.encode() + b" " + body + b"\n")
        self.send_response(200); self.send_header("Content-Length", "11"); self.end_headers()
        self.wfile.write(b'{"ok":true}')
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open("botapi.port", "w").write(str(s.server_port))
s.serve_forever()
PYEOF
$PY "$T/botapi.py" & BPID=$!
for _ in $(seq 100); do [ -s botapi.port ] && break; sleep 0.05; done
PORT=$(cat botapi.port)
printf '[alert]\ntelegram_url = http://127.0.0.1:%s\ntelegram_chat_id = 4242\n' "$PORT" > "$T/slob.ini"
chmod 600 "$T/slob.ini"
check 0 "alert-test telegram" -- env TELEGRAM_BOT_TOKEN=77:tok "$BIN" --config "$T/slob.ini" --data-dir data alert-test --channel telegram --text "hello ops"
expect "$T/out" "telegram  ok" "alert-test ok line"
expect botapi.log "/bot77:tok/sendMessage" "Bot API path"
expect botapi.log "chat_id=4242" "Bot API chat id"
expect botapi.log "hello%20ops" "Bot API text"
check 0 "daily summary sent" -- env TELEGRAM_BOT_TOKEN=77:tok "$BIN" --config "$T/slob.ini" --data-dir data daily-summary --date 2026-01-05 --send
expect botapi.log "Daily%20summary" "summary through the Bot API"
expect botapi.log "Trades%20closed%3A%201%20%281%20win" "summary text sent"
kill $BPID; wait $BPID 2>/dev/null
chmod 644 "$T/slob.ini"
check 1 "alert-test with the Bot API down" -- env TELEGRAM_BOT_TOKEN=77:tok "$BIN" --config "$T/slob.ini" --data-dir data alert-test
expect "$T/out" "telegram  FAILED" "failure line"
expect "$T/err" "chmod 600" "warns about a readable config with secrets"
if grep -q "77:tok" "$T/out" "$T/err"; then echo "FAIL: token leaked"; fails=$((fails+1)); fi
check 2 "alert-test with nothing configured" -- env -u TELEGRAM_BOT_TOKEN -u SENDER_EMAIL -u ALERT_EMAILS "$BIN" alert-test

# ---- against the real daemon (when built) ---------------------------------------------------
SLOBD=${SLOB_BIN_DIR}/slobd GEN=${SLOB_BIN_DIR}/slob-gen
if [ -x "$SLOBD" ] && [ -x "$GEN" ]; then
	mkdir -p "$T/e2e" && cd "$T/e2e"
	"$GEN" --days 1 --csv ticks.csv -q
	"$SLOBD" -d data --speed 60 replay ticks.csv >slobd.out 2>&1 & SPID=$!
	up=1
	for _ in $(seq 100); do "$BIN" status >/dev/null 2>&1 && { up=0; break; }; sleep 0.1; done
	[ $up = 0 ] || { echo "FAIL: slobd never showed up in slobctl status"; cat slobd.out; fails=$((fails+1)); }
	check 0 "status of a running slobd" -- "$BIN" --json status
	expect "$T/out" '"engine_up":true' "engine up"
	expect "$T/out" '"name":"risk"' "stage counters published"
	check 0 "kill-switch applied by slobd" -- "$BIN" kill-switch on --reason "e2e test" --wait 10
	expect "$T/out" "applied at" "slobd applied the command"
	check 0 "status shows the kill switch" -- "$BIN" status
	expect "$T/out" "kill switch  ON" "kill switch on in status"
	kill -TERM $SPID; wait $SPID
	check 3 "status after a clean stop" -- "$BIN" status
	expect "$T/out" "DOWN  stopped" "stopped cleanly"
	cd "$T"
else
	echo "slobd or slob-gen not built: daemon section skipped"
fi

echo "failures: $fails"
[ $fails = 0 ]
