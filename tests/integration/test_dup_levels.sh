#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_dup_levels.sh: the risk gate never places a second bracket with the
# same direction, entry, stop and target as a live one (docs/RISK.md,
# reason duplicate_levels). The generated sample (as examples/sample.ini
# trades it) and the generated year had such pairs: two trades on identical
# levels at the same time, double the intended exposure. After the fix
# neither contains an overlapping same-level pair, the refusals are recorded
# as decisions with their own reason code and counted in the summary.
set -euo pipefail
B="${SLOB_BIN_DIR:?}"
T="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/dup_levels.XXXXXX")"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
j() { python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))" "$1" "$2"; }
common=(--set instrument.symbol=MNQ --set instrument.point_value=2
	--set log.trading_file="$T/logs/trading.log" --set log.errors_file="$T/logs/errors.log")
# two trades on the same levels whose lifetimes overlap
pairs="SELECT COUNT(*) FROM trade_history a JOIN trade_history b ON a.id < b.id
	AND a.direction = b.direction AND a.entry_price = b.entry_price
	AND a.sl_price = b.sl_price AND a.tp_price = b.tp_price
	AND a.entry_time < COALESCE(b.exit_time, '9999') AND b.entry_time < COALESCE(a.exit_time, '9999')"
check() { # name ticks
	local name=$1 ticks=$2 db="$T/$1/slob_state.db"
	"$B/slobd" "${common[@]}" --data-dir "$T/$name" replay "$ticks" --json > "$T/$name.json"
	local trades dl n19
	trades=$(j "$T/$name.json" trades)
	dl=$(j "$T/$name.json" duplicate_levels)
	echo "$name: trades $trades, same-level setups refused $dl, digest $(j "$T/$name.json" digest)"
	[ "$trades" -ge 1 ] || fail "$name: no trades"
	[ "$(sqlite3 "$db" "$pairs")" -eq 0 ] || {
		sqlite3 "$db" "SELECT setup_id, direction, entry_time, entry_price, sl_price, tp_price FROM trade_history ORDER BY entry_time"
		fail "$name: two trades on the same levels at the same time"; }
	[ "$dl" -ge 1 ] || fail "$name: the same-level setups were not refused (count 0)"
	n19=$(sqlite3 "$db" "SELECT COUNT(*) FROM decisions WHERE accepted = 0 AND reason_code = $REASON")
	[ "$n19" -eq "$dl" ] || fail "$name: $n19 decisions with reason $REASON, summary says $dl"
}
# reason code of duplicate_levels: its position in enum slob_risk_reason
REASON=$(awk '/^enum slob_risk_reason/{on=1; n=0; next} on && /^}/{exit}
	on && /^[ \t]*SLOB_RISK_[A-Z_]*( = 0)?,/{ if ($1 ~ /^SLOB_RISK_DUPLICATE_LEVELS,?$/) {print n; exit} n++ }' \
	"$(dirname "$0")/../../engine/risk.h")
[ -n "$REASON" ] || fail "SLOB_RISK_DUPLICATE_LEVELS not found in engine/risk.h"

"$B/slob-gen" --sample "$T/gen" > /dev/null
check sample "$T/gen/sample.ticks"
"$B/slob-gen" --preset year --bin "$T/year.ticks" -q
check year "$T/year.ticks"
echo "1 passed, 0 failed"
