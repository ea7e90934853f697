#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_sweep.sh: `slobd sweep` runs a parameter grid, one deterministic
# replay per combination: the varied parameter changes the result where it
# should, the shards 0/2 and 1/2 together give exactly the rows of the whole
# sweep (so a scheduler can spread a sweep over machines), repeated runs give
# the same digests, and each result row also lands in sweep_results.
set -euo pipefail
B="${SLOB_BIN_DIR:?}"
T="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/sweep.XXXXXX")"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$B/slob-gen" --sample "$T/gen" > /dev/null
args=(sweep "$T/gen/sample.ticks" --grid risk.max_position_size=1,5 --grid detector.enable_long=true,false
	--set instrument.symbol=MNQ --set instrument.point_value=2 --data-dir "$T/data"
	--set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0 --set risk.risk_per_trade=0.1)
"$B/slobd" "${args[@]}" --csv "$T/all.csv" 2> "$T/err" || fail "sweep: $(cat "$T/err")"
cat "$T/all.csv"
[ "$(wc -l < "$T/all.csv")" -eq 5 ] || fail "expected 4 result rows"
grep -q ',error$' "$T/all.csv" && fail "a combination failed"
# size 1 vs 5: P&L scales, trades equal
p1=$(awk -F, '$1==0{print $8}' "$T/all.csv"); p5=$(awk -F, '$1==2{print $8}' "$T/all.csv")
python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if a!=0 and abs(b-5*a)<0.01 else 1)" "$p1" "$p5" \
	|| fail "P&L at 5 contracts ($p5) is not 5x the P&L at 1 ($p1)"
# LONG off: fewer or equal setups
s_on=$(awk -F, '$1==0{print $4}' "$T/all.csv"); s_off=$(awk -F, '$1==1{print $4}' "$T/all.csv")
[ "$s_off" -lt "$s_on" ] || fail "enable_long=false did not remove LONG setups ($s_on -> $s_off)"
"$B/slobd" "${args[@]}" --shard 0/2 --csv "$T/s0.csv" 2> /dev/null
"$B/slobd" "${args[@]}" --shard 1/2 --csv "$T/s1.csv" --jobs 1 2> /dev/null
{ tail -n +2 "$T/s0.csv"; tail -n +2 "$T/s1.csv"; } | sort > "$T/union.csv"
tail -n +2 "$T/all.csv" | sort > "$T/all.sorted"
diff -u "$T/all.sorted" "$T/union.csv" || fail "shards do not add up to the whole sweep"
rows=$(sqlite3 "$T/data/slob_state.db" "SELECT COUNT(*) FROM sweep_results")
[ "$rows" -eq 8 ] || fail "sweep_results has $rows rows, expected 8"
# params JSON: values needing escaping (quote, backslash) and a grid longer
# than any fixed buffer still store as valid JSON that parses back exactly
L=$(printf 'v%.0s' $(seq 1 250))
"$B/slobd" sweep "$T/gen/sample.ticks" --grid 'alert.subject_prefix=a"b\c,plain' \
	--grid "alert.host_tag=h$L" --grid "alert.email_from=f$L" --grid "alert.smtp_server=s$L" \
	--grid "alert.telegram_chat_id=c$L" --set instrument.symbol=MNQ --set instrument.point_value=2 \
	--data-dir "$T/esc" --set risk.daily_loss_limit=0 --set risk.max_drawdown_pct=0 \
	--set risk.risk_per_trade=0.1 --csv "$T/esc.csv" 2> "$T/err" || fail "escaping sweep: $(cat "$T/err")"
sqlite3 "$T/esc/slob_state.db" "SELECT params FROM sweep_results ORDER BY id" > "$T/params"
L="$L" python3 - "$T/params" <<'PY' || fail "sweep_results.params is not the grid as valid JSON"
import json, os, sys
L = os.environ["L"]
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
assert len(rows) == 2, rows
assert [r["alert.subject_prefix"] for r in rows] == ['a"b\\c', "plain"], rows
for r in rows:
    assert list(r) == ["alert.subject_prefix", "alert.host_tag", "alert.email_from",
                       "alert.smtp_server", "alert.telegram_chat_id"], list(r)
    assert r["alert.host_tag"] == "h" + L and r["alert.telegram_chat_id"] == "c" + L
PY
echo "1 passed, 0 failed"
