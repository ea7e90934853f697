#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_alert_down.sh: a dead alert channel never slows trading (guide P2-2,
# P2-3). The same replay runs three times through slobd: without alerts, with
# Telegram pointed at a server that accepts connections and never answers,
# and with Telegram pointed at a closed port. The decisions (digest) must be
# identical, the replay's own time must not grow with the dead channel, the
# daemon must exit 0 within its bounded shutdown flush, and the failure must
# be logged without the bot token.
set -u
BIN=${SLOB_BIN_DIR:?}
[ -x "$BIN/slobd" ] && [ -x "$BIN/slob-gen" ] || { echo "slobd/slob-gen not built"; exit 77; }
command -v python3 >/dev/null || exit 77
T=$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/alertdown.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$BIN/slob-gen" --days 2 --csv ticks.csv -q || { echo "slob-gen failed"; exit 1; }

cat > hang.py <<'PYEOF'
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
open("hang.port", "w").write(str(s.getsockname()[1]))
conns = []
while True:
    c, _ = s.accept(); conns.append(c)   # accept, read nothing, answer never
PYEOF
python3 hang.py & HPID=$!
for _ in $(seq 100); do [ -s hang.port ] && break; sleep 0.05; done
HANG=$(cat hang.port)
CLOSED=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

run() { # run <name> [env...]
	local name=$1; shift
	rm -rf "data_$name" "logs_$name"
	local t0=$(date +%s.%N)
	env -u TELEGRAM_BOT_TOKEN -u TELEGRAM_CHAT_ID -u SENDER_EMAIL -u ALERT_EMAILS "$@" \
		timeout 60 "$BIN/slobd" -d "data_$name" -s log.trading_file="logs_$name/trading.log" \
		-s log.errors_file="logs_$name/errors.log" --json replay ticks.csv >"$name.json" 2>"$name.err"
	local rc=$?
	local t1=$(date +%s.%N)
	echo "$name: exit $rc, wall $(python3 -c "print(round($t1-$t0,2))") s, replay $(field "$name.json" seconds 2>/dev/null) s"
	[ $rc = 0 ] || { fail "$name: slobd exit $rc"; cat "$name.err"; }
	python3 -c "import sys; sys.exit(0 if $t1-$t0 < 20 else 1)" || fail "$name: shutdown not bounded"
}

run base
run hung TELEGRAM_BOT_TOKEN=99:SECRETTOKEN TELEGRAM_CHAT_ID=1 TELEGRAM_API_URL="http://127.0.0.1:$HANG"
run refused TELEGRAM_BOT_TOKEN=99:SECRETTOKEN TELEGRAM_CHAT_ID=1 TELEGRAM_API_URL="http://127.0.0.1:$CLOSED"

D=$(field base.json digest)
for n in hung refused; do
	[ "$(field $n.json digest)" = "$D" ] || fail "$n: decisions differ from the run without alerts"
	# the hot path (ingest .. sender; not the cold thread's bounded final
	# flush of alerts) must not wait for the channel
	python3 - "$n" <<'PYEOF' || fail "$n: replay slowed down by the dead channel"
import json, sys
b = json.load(open("base.json"))["hot_seconds"]; d = json.load(open(sys.argv[1] + ".json"))["hot_seconds"]
print("  %s: hot path %.3f s vs %.3f s without alerts" % (sys.argv[1], d, b))
sys.exit(0 if d < 3 * b + 1.0 else 1)
PYEOF
done
grep -q "telegram alert 'start' failed" logs_refused/trading.log || { fail "refused: failure not logged"; cat logs_refused/trading.log; }
if grep -rq "SECRETTOKEN" logs_hung logs_refused hung.err refused.err; then fail "bot token leaked into logs"; fi

echo "failures: $fails"
[ $fails = 0 ]
