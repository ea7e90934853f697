#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gw_latency.sh: tick-to-order latency over loopback against slob-gw, the
# live path end to end: tick bytes received on the market-data socket ->
# candles -> detector -> risk -> sender -> bracket bytes handed to the order
# socket. Generates DAYS days of NQ-like ticks with a setup every weekday,
# streams them from slob-gw at SPEED x real time (fast enough to finish in a
# couple of minutes; at x300000 the gateway's writes arrive as bursts of a
# few dozen ticks, median 34 per read, so a bar-closing tick usually waits
# for the rest of its burst to be decoded - a live feed is far sparser),
# with the risk limits that depend on P&L relaxed so about a thousand
# orders go out, and prints the engine's tick_to_order histogram. The order
# connection submits through an SQPOLL kernel thread on CPU 1 kept awake
# (ORDER_SQPOLL=off|any|CPU, ORDER_SQPOLL_IDLE_MS to change that).
#   bench/gw_latency.sh [DAYS] [SPEED]      (defaults 420, 300000)
# Last line: gw_tick_to_order_p50_ns=... p99_ns=... p999_ns=... orders=...
set -euo pipefail
cd "$(dirname "$0")/.."
days="${1:-420}"
speed="${2:-300000}"
bin="${SLOB_BIN_DIR:-build/release/bin}"
[ -x "$bin/slobd" ] || { echo "build first: cmake --preset release && cmake --build --preset release"; exit 1; }
T="$(mktemp -d /tmp/slob-gwlat.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
"$bin/slob-gen" --seed 11 --start 2026-01-01 --days "$days" --inject-every 1 --bin "$T/ticks.bin" -q
"$bin/slob-gw" --port 0 --control-port 0 --ticks "$T/ticks.bin" --speed "$speed" --wait-sub \
	--account DU1234567 > "$T/gw.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q '^CONTROL' "$T/gw.out" && break; sleep 0.1; done
port=$(awk '/^PORT/{print $2}' "$T/gw.out")
ctl=$(awk '/^CONTROL/{print $2}' "$T/gw.out")
"$bin/slobd" replay-gw --data-dir "$T/data" --set tws.port="$port" --set tws.account=DU1234567 \
	--set instrument.symbol=MNQ --set instrument.point_value=2 \
	--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0 --set risk.max_concurrent_positions=64 \
	--set risk.order_rate_limit=1000 --set risk.trading_start=00:00 --set risk.trading_end=23:59 \
	--set tws.order_sqpoll="${ORDER_SQPOLL:-1}" --set tws.order_sqpoll_idle_ms="${ORDER_SQPOLL_IDLE_MS:-60000}" \
	--set log.trading_file="$T/trading.log" --set log.errors_file="$T/errors.log" --json > "$T/summary.json" &
pids+=($!)
sd=$!
start=$(date +%s)
while :; do
	st=$(python3 -c "
import socket,sys
s=socket.create_connection(('127.0.0.1',$ctl),timeout=5); s.sendall(b'status\n'); print(s.recv(4096).decode().strip())")
	case "$st" in *eof=1*) break ;; esac
	sleep 1
done
sleep 2
kill -TERM "$sd"
wait "$sd"
echo "streamed in $(( $(date +%s) - start )) s: $st"
python3 - "$T/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
l = s["latency_ns"]
# one latency sample per bracket (the stamp is taken once its three orders are submitted)
print(f"brackets {l['count']} ({3 * l['count']} orders), ticks {s['ticks']}: tick-to-order "
      f"p50 {l['p50']/1e3:.2f} us, p99 {l['p99']/1e3:.2f} us, p99.9 {l['p999']/1e3:.2f} us, "
      f"max {l['max']/1e3:.2f} us")
print(f"gw_tick_to_order_p50_ns={l['p50']} p99_ns={l['p99']} p999_ns={l['p999']} "
      f"brackets={l['count']} orders={3 * l['count']}")
PY
