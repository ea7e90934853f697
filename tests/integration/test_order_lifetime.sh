#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_order_lifetime.sh: orders live exactly as long as they should
# (docs/RISK.md "Order lifetime"), over loopback with real processes: the
# engine's live order path (slob-gw-client: engine/tws_conn.c + sender)
# against slob-gw with IB's session rules on (--session-close 17:00: DAY
# orders expire at the close; --rth 09:30-16:00: an order without outsideRth
# does not fill or trigger outside regular hours).
#  A1 default legs (entry DAY, target and stop GTC + outsideRth): the entry
#     fills at 15:5x New York, the position is held across the session close
#     and the stop still triggers at 18:0x, outside regular hours;
#  A2 the old single tif = DAY for all legs: the stop expires at the close and
#     the filled position is left naked (refused by default at configuration
#     load; reproduced here with tws.allow_unprotected_stop);
#  A3 stop GTC but without outsideRth: it does not trigger at 18:0x;
#  B  an entry that never fills is cancelled at the gateway at the close (its
#     children with it), even if the engine never sends the cancel.
set -u
BIN=${SLOB_BIN_DIR:?SLOB_BIN_DIR not set}
T=$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/order_lifetime.XXXXXX")
GW_PID=
CL_PID=
cleanup() {
	for p in $CL_PID $GW_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- client"; cat "$T/c.out" 2>/dev/null | tail -20; echo "--- gw"; tail -20 "$T/gw.err" 2>/dev/null; exit 1; }
[ -x "$BIN/slob-gw" ] && [ -x "$BIN/slob-gw-client" ] || { echo "binaries missing"; exit 77; }

# Tuesday 2026-01-06, New York = UTC-5. Entry LONG 21000.00 (84000 ticks),
# stop 20990.00 (83960), target 21020.00 (84080).
python3 - "$T/ticks.csv" <<'PY'
import sys, datetime
f = open(sys.argv[1], "w")
f.write("timestamp,price,size\n")
def run(start, end, step, px_of):
    t = start
    while t < end:
        f.write("%s,%.2f,1\n" % (t.strftime("%Y-%m-%dT%H:%M:%SZ"), px_of(t)))
        t += datetime.timedelta(seconds=step)
d = datetime.datetime
# 15:50-16:00 NY (regular hours): 21001, then 21000 (entry fills), then 21002
run(d(2026, 1, 6, 20, 50), d(2026, 1, 6, 21, 0), 5,
    lambda t: 21001.0 if t.minute < 52 else 21000.0 if t.minute < 54 else 21002.0)
# 16:00-17:00 NY: after regular hours, between stop and target
run(d(2026, 1, 6, 21, 0), d(2026, 1, 6, 22, 0), 30, lambda t: 21002.0)
# 18:00-18:10 NY (the next session, outside regular hours): down through the stop
run(d(2026, 1, 6, 23, 0), d(2026, 1, 6, 23, 10), 5,
    lambda t: 21002.0 if t.minute < 3 else 20985.0)
PY

ctl() {
	python3 - "$CPORT" "$*" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall((sys.argv[2] + "\n").encode())
f = s.makefile()
while True:
    l = f.readline()
    if not l:
        break
    print(l.rstrip())
    if l.startswith("OK") or l.startswith("ERR"):
        break
PY
}

# run_case NAME BRACKET [--tws K=V ...]: one gateway, one client, one bracket;
# the stream is held until the three orders are at the gateway.
run_case() {
	local name=$1 bracket=$2
	shift 2
	: > "$T/gw.err"
	"$BIN/slob-gw" --port 0 --control-port 0 --ticks "$T/ticks.csv" --speed 0 --wait-sub \
		--session-close 17:00 --rth 09:30-16:00 > "$T/gw.out" 2>> "$T/gw.err" &
	GW_PID=$!
	for _ in $(seq 50); do grep -q '^CONTROL' "$T/gw.out" 2>/dev/null && break; sleep 0.1; done
	PORT=$(awk '/^PORT/{print $2}' "$T/gw.out")
	CPORT=$(awk '/^CONTROL/{print $2}' "$T/gw.out")
	[ -n "$PORT" ] && [ -n "$CPORT" ] || fail "$name: gateway did not start"
	ctl pause > /dev/null
	timeout 120 "$BIN/slob-gw-client" --port "$PORT" --md --bracket "$bracket" --run-ms 90000 "$@" \
		> "$T/c.out" 2>&1 &
	CL_PID=$!
	for _ in $(seq 300); do
		[ "$(grep -c 'EXEC kind=SUBMITTED' "$T/c.out")" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'EXEC kind=SUBMITTED' "$T/c.out")" -ge 3 ] || fail "$name: bracket not placed"
	ctl resume > /dev/null
	local st=
	for _ in $(seq 300); do
		st=$(ctl status)
		case "$st" in *eof=1*) break ;; esac
		sleep 0.1
	done
	case "$st" in *eof=1*) ;; *) fail "$name: the stream did not finish: $st" ;; esac
	sleep 2 # the last reports reach the client
	kill "$CL_PID" 2>/dev/null
	wait "$CL_PID" 2>/dev/null
	CL_PID=
	ctl orders > "$T/$name.orders"
	cp "$T/c.out" "$T/$name.out"
	kill "$GW_PID" 2>/dev/null
	wait "$GW_PID" 2>/dev/null
	GW_PID=
	echo "-- $name: $(grep -c '^EXEC' "$T/$name.out") reports; $(grep -o 'kind=[A-Z]* role=[A-Z]*' "$T/$name.out" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
}
has() { grep -Eq "$2" "$T/$1.out"; }

BR=L,84000,83960,84080,1,1

run_case A1 "$BR"
grep -q 'ref=SLOB_0000000000000001_SL state=.* tif=GTC rth=0' "$T/A1.orders" ||
	fail "A1: the stop did not go out GTC with outsideRth: $(cat "$T/A1.orders")"
grep -q '_ENTRY state=.* tif=DAY rth=1' "$T/A1.orders" || fail "A1: the entry is not DAY, regular hours"
has A1 'EXEC kind=FILL role=ENTRY setup=1 .*px=84000' || fail "A1: entry not filled"
has A1 'EXEC kind=CANCELLED role=SL' && fail "A1: the stop was cancelled at the session close"
has A1 'EXEC kind=FILL role=SL setup=1 .*px=83960' || fail "A1: the stop did not trigger after the close"
grep -q 'session close: DAY order' "$T/gw.err" && fail "A1: the gateway expired an order of a GTC-protected position"

run_case A2 "$BR" --tws sl_tif=DAY --tws tp_tif=DAY --tws sl_outside_rth=false \
	--tws tp_outside_rth=false --tws allow_unprotected_stop=true
has A2 'COLD type=ALERT level=[0-9]* code=0 comp=tws-order text=tws.sl_tif = DAY' ||
	fail "A2: no warning alert for the accepted DAY stop"
has A2 'EXEC kind=FILL role=ENTRY' || fail "A2: entry not filled"
has A2 'EXEC kind=CANCELLED role=SL' || fail "A2: the DAY stop did not expire at the close (gateway rule)"
has A2 'EXEC kind=FILL role=SL' && fail "A2: a DAY stop filled after the close"
echo "   A2 shows the naked position the defaults prevent"

run_case A3 "$BR" --tws sl_outside_rth=false --tws allow_unprotected_stop=true
has A3 'EXEC kind=FILL role=ENTRY' || fail "A3: entry not filled"
has A3 'EXEC kind=FILL role=SL' && fail "A3: a regular-hours stop triggered at 18:0x"
grep -q '_SL state=Submitted tif=GTC rth=1' "$T/A3.orders" || fail "A3: the stop is not still working: $(cat "$T/A3.orders")"

run_case B L,83600,83560,83700,1,1
has B 'EXEC kind=FILL' && fail "B: the far entry filled"
has B 'EXEC kind=CANCELLED role=ENTRY setup=1' || fail "B: the DAY entry was not cancelled at the close"
[ "$(grep -c 'state=Cancelled' "$T/B.orders")" -eq 3 ] || fail "B: the bracket is not cancelled whole: $(cat "$T/B.orders")"
echo "1 passed, 0 failed"
