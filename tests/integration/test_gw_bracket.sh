#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_gw_bracket.sh: slob-gw over loopback driven by slob-gw-client (the
# engine's live TWS path: engine/tws_conn.c + engine/sender.c live mode).
# Checks: handshake and reconciliation before orders; a bracket fills (entry,
# one child) and the sibling is cancelled; market data flows into the tick
# ring; an injected 201 rejection reaches the sender as REJECTED with no
# retry; a forced disconnect is followed by a reconnect, a new reconciliation
# and GAP-flagged ticks; an unknown broker order and a position mismatch are
# flagged (P1-4) and left alone; gateway state survives a gateway restart
# (--state).
set -u
BIN=${SLOB_BIN_DIR:?SLOB_BIN_DIR not set}
TMP=${SLOB_TEST_TMP:-/tmp}/gw_bracket.$$
mkdir -p "$TMP"
GW_PID=
cleanup() {
	if [ -n "$GW_PID" ]; then kill "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- gw log"; cat "$TMP/gw.err" 2>/dev/null | tail -30; exit 1; }
[ -x "$BIN/slob-gw" ] && [ -x "$BIN/slob-gw-client" ] || { echo "binaries missing"; exit 77; }

# 2000 one-second ticks, a sine of +-10 points around 21000 (period ~188 s)
python3 - "$TMP/ticks.csv" <<'EOF'
import sys, math, datetime
t0 = datetime.datetime(2026, 1, 6, 14, 30, 0)
with open(sys.argv[1], "w") as f:
    f.write("timestamp,price,size\n")
    for i in range(2000):
        px = round((21000 + 10 * math.sin(i / 30.0)) * 4) / 4
        f.write("%s,%.2f,1\n" % ((t0 + datetime.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"), px))
EOF

start_gw() { # args: extra options
	"$BIN/slob-gw" --port 0 --control-port 0 --ticks "$TMP/ticks.csv" --state "$TMP/gw.state" "$@" \
		>"$TMP/gw.out" 2>>"$TMP/gw.err" &
	GW_PID=$!
	for _ in $(seq 50); do
		grep -q '^CONTROL' "$TMP/gw.out" 2>/dev/null && break
		sleep 0.1
	done
	PORT=$(awk '/^PORT/{print $2}' "$TMP/gw.out")
	CPORT=$(awk '/^CONTROL/{print $2}' "$TMP/gw.out")
	[ -n "$PORT" ] && [ -n "$CPORT" ] || fail "gateway did not start"
}
ctl() { # one control command, prints the answer
	python3 - "$CPORT" "$*" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall((sys.argv[2] + "\n").encode())
f = s.makefile()
while True:
    l = f.readline()
    if not l:
        break
    print(l.rstrip())
    if l.startswith("OK") or l.startswith("ERR"):
        break
EOF
}
client() { timeout 30 "$BIN/slob-gw-client" --port "$PORT" "$@"; }

# 1. bracket: long entry 20995.00 (83980 ticks), SL 20985, TP 21005
start_gw --speed 200 --wait-sub
client --md --bracket L,83980,83940,84020,1,1 --until-fills 2 --run-ms 15000 >"$TMP/c1.out"
grep -q 'code=2 comp=tws-order text=Position reconciliation done' "$TMP/c1.out" || fail "no reconciliation"
# reconciliation is reported before the first order goes out
rec_line=$(grep -n 'reconciliation done' "$TMP/c1.out" | head -1 | cut -d: -f1)
sub_line=$(grep -n 'EXEC kind=SUBMITTED' "$TMP/c1.out" | head -1 | cut -d: -f1)
[ -n "$sub_line" ] && [ "$rec_line" -lt "$sub_line" ] || fail "order submitted before reconciliation"
[ "$(grep -c 'EXEC kind=SUBMITTED' "$TMP/c1.out")" = 3 ] || fail "expected 3 submitted orders"
grep -q 'EXEC kind=FILL role=ENTRY setup=1 .* px=83980 .*ref=SLOB_0000000000000001_ENTRY' "$TMP/c1.out" ||
	fail "entry fill missing"
grep -Eq 'EXEC kind=FILL role=(TP|SL) setup=1' "$TMP/c1.out" || fail "exit fill missing"
grep -Eq 'EXEC kind=CANCELLED role=(TP|SL) setup=1' "$TMP/c1.out" || fail "sibling not cancelled"
grep -Eq 'TICKS n=[1-9][0-9]* gaps=0' "$TMP/c1.out" || fail "no market data"
grep -Eq 'latency_count=1' "$TMP/c1.out" || fail "tick-to-order latency not recorded"

# 1b. duplicated reports (control dup): still one FILL per execution, one SUBMITTED per order
ctl rewind | grep -q '^OK' || fail "control rewind"
ctl dup 50 | grep -q '^OK' || fail "control dup"
# (this client has no store: section 1's two executions, slob's own by their
# orderRef, are booked from the executions replay first, once each)
client --md --bracket S,84020,84060,83980,1,3 --until-fills 4 --run-ms 15000 >"$TMP/c1b.out"
[ "$(grep -c 'EXEC kind=SUBMITTED' "$TMP/c1b.out")" = 3 ] || fail "duplicates: submitted count"
[ "$(grep -c 'EXEC kind=FILL role=ENTRY setup=3' "$TMP/c1b.out")" = 1 ] || fail "duplicates: entry fill count"
[ "$(grep -c 'EXEC kind=FILL role=ENTRY setup=1 .*ref=SLOB_0000000000000001_ENTRY' "$TMP/c1b.out")" = 1 ] ||
	fail "own execution without a record not booked exactly once"
grep -Eq 'EXEC kind=FILL role=(TP|SL) setup=3' "$TMP/c1b.out" || fail "duplicates: exit fill missing"
ctl dup 0 >/dev/null

# 2. injected rejection: REJECTED with code 201 to the sender, no retry
ctl reject 201 | grep -q '^OK' || fail "control reject"
before=$(ctl status | sed -n 's/.*orders=\([0-9]*\).*/\1/p')
client --bracket S,84100,84140,84060,1,2 --run-ms 1500 >"$TMP/c2.out"
grep -q 'EXEC kind=REJECTED role=ENTRY setup=2 .*code=201' "$TMP/c2.out" || fail "reject not reported"
grep -q 'COLD type=ALERT.*order rejected' "$TMP/c2.out" || fail "reject not alerted"
after=$(ctl status | sed -n 's/.*orders=\([0-9]*\).*/\1/p')
[ "$after" = "$before" ] || fail "rejected bracket left orders at the gateway ($before -> $after)"
[ "$(grep -c 'EXEC kind=SUBMITTED' "$TMP/c2.out")" = 0 ] || fail "rejected bracket was submitted"

# 3. disconnect -> reconnect with backoff, new reconciliation, gap-flagged ticks
ctl speed 200 >/dev/null
ctl rewind >/dev/null
client --md --run-ms 4000 --backoff-ms 300 >"$TMP/c3.out" &
CPID=$!
sleep 1.5
ctl disconnect | grep -q 'OK disconnected' || fail "control disconnect"
wait $CPID
[ "$(grep -c 'reconciliation done' "$TMP/c3.out")" -ge 2 ] || fail "no reconciliation after reconnect"
grep -q 'COLD type=ALERT.*order connection lost' "$TMP/c3.out" || fail "loss not alerted"
grep -q 'COLD type=ALERT.*order connection recovered' "$TMP/c3.out" || fail "recovery not alerted"
grep -q 'COLD type=ALERT.*market data connection lost' "$TMP/c3.out" || fail "md loss not alerted"
grep -Eq 'TICKS n=[1-9][0-9]* gaps=[1-9]' "$TMP/c3.out" || fail "no GAP_BEFORE tick after reconnect"

# 4. unknown order and position at the broker (P1-4): flagged, never closed
ctl seed-order MANUAL_HEDGE BUY LMT 20000 1 | grep -q '^OK' || fail "seed-order"
ctl seed-position 3 21000 | grep -q '^OK' || fail "seed-position"
client --known-position 0 --until-reconciled --run-ms 5000 >"$TMP/c4.out"
grep -q "EXEC kind=UNKNOWN .*ref=MANUAL_HEDGE" "$TMP/c4.out" || fail "unknown order not flagged"
grep -q 'COLD type=UNKNOWN_BROKER.*position mismatch: broker 3, store 0' "$TMP/c4.out" ||
	fail "position mismatch not flagged"
ctl orders | grep -q 'ref=MANUAL_HEDGE state=Submitted' || fail "unknown order was touched"
# the same order is adopted when the store knows its ref
client --known MANUAL_HEDGE --known-position 3 --until-reconciled --run-ms 5000 >"$TMP/c5.out"
grep -q 'EXEC kind=RECONCILED .*ref=MANUAL_HEDGE' "$TMP/c5.out" || fail "known order not adopted"
grep -q 'EXEC kind=UNKNOWN .*ref=MANUAL_HEDGE' "$TMP/c5.out" && fail "known order flagged unknown"
grep -q 'position mismatch' "$TMP/c5.out" && fail "matching position flagged"
# executions of slob's own orders the store does not know (section 1's bracket)
# are adopted by their orderRef and alerted, never unknown
grep -q 'EXEC kind=UNKNOWN .*ref=SLOB_' "$TMP/c5.out" && fail "own execution flagged unknown"
grep -q "COLD type=ALERT.*adopted execution .*SLOB_0000000000000001_ENTRY" "$TMP/c5.out" ||
	fail "own execution without a record not adopted"
grep -q 'EXEC kind=UNKNOWN .*ref=MANUAL_HEDGE' "$TMP/c4.out" || fail "foreign order not flagged"

# 4b. an adopted order (placed by an earlier slob process, client 1) that fills later is a FILL
ctl seed-order ADOPT_ME SELL LMT 21005 1 1 | grep -q '^OK' || fail "seed-order adopt"
ctl rewind >/dev/null
# (no store here either: the 4 executions of sections 1 and 1b are booked first)
client --md --known ADOPT_ME --known MANUAL_HEDGE --known-position 3 --until-fills 5 --run-ms 15000 >"$TMP/c5b.out"
grep -q 'EXEC kind=RECONCILED .*ref=ADOPT_ME' "$TMP/c5b.out" || fail "ADOPT_ME not adopted"
grep -q 'EXEC kind=FILL .*px=84020 .*ref=ADOPT_ME' "$TMP/c5b.out" || fail "adopted order's live fill not a FILL"

# 5. gateway restart keeps orders, positions and executions (--state)
st1=$(ctl status | sed 's/ticks=[0-9]* last=[0-9.]* eof=[01] //; s/clients=[0-9]* //')
ctl quit >/dev/null
wait "$GW_PID" 2>/dev/null
GW_PID=
start_gw --speed 0
st2=$(ctl status | sed 's/ticks=[0-9]* last=[0-9.]* eof=[01] //; s/clients=[0-9]* //')
[ "$st1" = "$st2" ] || fail "state lost across restart: '$st1' vs '$st2'"
# (ADOPT_ME sold 1 of the seeded 3; this client has no store that booked that
# execution, so it books it from the replay: its store position is the 3)
client --known MANUAL_HEDGE --known ADOPT_ME --known-position 3 --until-reconciled --run-ms 5000 >"$TMP/c6.out"
grep -q 'EXEC kind=RECONCILED .*ref=MANUAL_HEDGE' "$TMP/c6.out" || fail "order not adopted after gateway restart"
grep -q 'EXEC kind=RECONCILED .*text=position matches store' "$TMP/c6.out" || fail "position lost across restart"
[ "$(grep -c 'EXEC kind=FILL .*ref=ADOPT_ME' "$TMP/c6.out")" = 1 ] || fail "unbooked execution not booked exactly once"
echo "PASS test_gw_bracket"
exit 0
