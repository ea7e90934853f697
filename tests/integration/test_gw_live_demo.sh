#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_gw_live_demo.sh: the demo of `slobd live` against slob-gw replaying
# history builds normal bars (issue 16). `slobd live` closes bars on the wall
# clock; slob-gw --live-time stamps the replayed ticks with the current time,
# so the first stored bar is a current minute holding many ticks, closed by
# the next minute's tick (flags 0). Without --live-time the same run stores
# one-tick bars dated in January 2026, each closed by the timer (flag 8):
# docs/TWS.md section 7. Takes up to ~75 s (one wall-clock minute).
set -u
B="${SLOB_BIN_DIR:?}"
T="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/gw_live_demo.XXXXXX")"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; wait "$p" 2> /dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
for p in slobd slob-gw slob-gen; do [ -x "$B/$p" ] || { echo "$p missing"; exit 77; }; done
command -v sqlite3 > /dev/null || { echo "sqlite3 missing"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

"$B/slob-gen" --sample "$T/gen" > /dev/null
"$B/slob-gw" --port 0 --control-port 0 --contract MNQ --ticks "$T/gen/sample.ticks" --speed 30 \
	--live-time --wait-sub --account DU1234567 > "$T/gw.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q '^CONTROL' "$T/gw.out" && break; sleep 0.1; done
PORT=$(awk '/^PORT/{print $2}' "$T/gw.out")
[ -n "$PORT" ] || fail "slob-gw did not start: $(cat "$T/gw.out")"
"$B/slobd" --config "${SLOB_SOURCE_DIR:?}/examples/sample.ini" --data-dir "$T/data" \
	--set log.trading_file="$T/trading.log" --set log.errors_file="$T/errors.log" \
	--set tws.port="$PORT" --set tws.account=DU1234567 live -q > "$T/slobd.out" 2>&1 &
pids+=($!)
SD=$!
end=$(($(date +%s) + 90))
n=0
while [ "$(date +%s)" -lt $end ]; do
	n=$(sqlite3 "$T/data/slob_state.db" "SELECT COUNT(*) FROM candles" 2> /dev/null || echo 0)
	[ "${n:-0}" -ge 1 ] && break
	sleep 1
done
kill -TERM "$SD" 2> /dev/null
wait "$SD" 2> /dev/null
[ "${n:-0}" -ge 1 ] || fail "no bar within 90 s: $(tail -5 "$T/trading.log" 2> /dev/null)"
row=$(sqlite3 -separator ' ' "$T/data/slob_state.db" \
	"SELECT strftime('%s', timestamp), ticks, flags FROM candles ORDER BY timestamp LIMIT 1")
echo "first bar: epoch, ticks, flags = $row (now $(date +%s))"
read -r ts ticks flags <<< "$row"
now=$(date +%s)
[ $((now - ts)) -lt 300 ] && [ $((ts - now)) -lt 120 ] || fail "the bar is not a current minute ($ts vs $now)"
[ "$ticks" -gt 1 ] || fail "a one-tick bar ($ticks)"
[ "$flags" -eq 0 ] || fail "bar flags $flags (8 = closed by the timer: ticks arrived late)"
grep -q "contract MNQ" "$T/trading.log" || fail "the contract was not resolved: $(grep -i contract "$T/trading.log")"
echo "1 passed, 0 failed"
