#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_store_write_refused.sh: slobctl commands that write the store refuse
# one that fails its integrity check, and change nothing. A scratch store
# gets old trade_history rows plus a filled candles table; one leaf page of
# candles is overwritten with garbage, so `slobctl check` calls the store
# corrupt while trade_history itself is still readable (the case where an
# unchecked archive happily deletes rows from a damaged store). archive,
# vacuum, add-position and reset-breaker must then exit 5 naming the failed
# check, the file must be byte-identical and no archive rows written.
set -u
BIN=${SLOB_BIN_DIR:?}/slobctl
[ -x "$BIN" ] || { echo "slobctl not built"; exit 77; }
command -v python3 >/dev/null || exit 77
T=$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/store_refused.XXXXXX")
trap 'rm -rf "$T"' EXIT
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

# a healthy store with the schema, 50 trades from 2020 and 400 candles
check 0 "create the store" -- "$BIN" --data-dir data add-position --entry 20000.25 --sl 19990 --tp 20020.5 --id m1
python3 - <<'PYEOF' || exit 1
import sqlite3
db = sqlite3.connect("data/slob_state.db")
cols = [r[1] for r in db.execute("PRAGMA table_info(candles)")]
for i in range(50):
    db.execute("INSERT INTO trade_history (setup_id,direction,qty,entry_time,exit_time,entry_price,"
               "exit_price,outcome,pnl,exit_reason) VALUES (?, 'LONG', 1, '2020-01-05 15:00:00.000',"
               "'2020-01-05 15:30:00.000', 15000, 15010, 'WIN', 200, 'TP')", ("old%03d" % i,))
# candles: fill every column with something that fits its type
types = {r[1]: (r[2] or "").upper() for r in db.execute("PRAGMA table_info(candles)")}
pk = [r[1] for r in db.execute("PRAGMA table_info(candles)") if r[5]]
for i in range(400):
    vals = []
    for c in cols:
        t = types[c]
        if "INT" in t:
            vals.append(1700000000 + i * 60)
        elif "REAL" in t or "NUM" in t or "DOUB" in t:
            vals.append(20000.25 + i)
        else:
            vals.append("NQ-%05d-%s" % (i, "x" * 40))
    db.execute("INSERT INTO candles (%s) VALUES (%s)" % (",".join(cols), ",".join("?" * len(cols))), vals)
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
PYEOF
check 0 "the healthy store passes check" -- "$BIN" --data-dir data check

# overwrite one leaf page of candles (never a trade_history page) with 0xff bytes
page=$(python3 - <<'PYEOF'
import sqlite3
db = sqlite3.connect("data/slob_state.db")
ps = db.execute("PRAGMA page_size").fetchone()[0]
try:
    p = db.execute("SELECT pageno FROM dbstat WHERE name='candles' AND pagetype='leaf' ORDER BY pageno LIMIT 1 OFFSET 2").fetchone()[0]
    print((p - 1) * ps)
except Exception:
    pass
PYEOF
)
# python's SQLite without the dbstat table cannot say where the pages are
[ -n "$page" ] || { echo "no dbstat in python's sqlite3: cannot pick a page to corrupt"; exit 77; }
head -c 4096 /dev/zero | tr '\0' '\377' | dd of=data/slob_state.db bs=1 seek="$page" conv=notrunc status=none
check 5 "slobctl check calls the store corrupt" -- "$BIN" --data-dir data check
sum0=$(sha256sum data/slob_state.db | cut -d' ' -f1)

check 5 "archive refuses the corrupt store" -- "$BIN" --data-dir data archive --older-than 1y
expect "$T/err" "refusing to archive" "archive says it refused"
expect "$T/err" "integrity_check failed" "archive names the failed check"
expect "$T/err" "corrupt" "archive names the corruption"
if [ -f data/archive/trade_history_archive.db ] &&
	[ "$(python3 -c 'import sqlite3; print(sqlite3.connect("data/archive/trade_history_archive.db").execute("SELECT count(*) FROM trade_history").fetchone()[0])' 2>/dev/null)" != 0 ]; then
	echo "FAIL: archive copied rows out of a corrupt store"; fails=$((fails + 1))
fi
check 5 "vacuum refuses the corrupt store" -- "$BIN" --data-dir data vacuum
expect "$T/err" "refusing to vacuum" "vacuum says it refused"
check 5 "add-position refuses the corrupt store" -- "$BIN" --data-dir data add-position --entry 20000.25 --sl 19990 --tp 20020.5 --id m2
expect "$T/err" "quick_check failed" "add-position names the failed check"
check 5 "reset-breaker refuses the corrupt store" -- "$BIN" --data-dir data reset-breaker --reason test --wait 0
[ "$(sha256sum data/slob_state.db | cut -d' ' -f1)" = "$sum0" ] ||
	{ echo "FAIL: the corrupt store was modified"; fails=$((fails + 1)); }
ls data/slob_state.db-wal >/dev/null 2>&1 && [ -s data/slob_state.db-wal ] &&
	{ echo "FAIL: a write-ahead log was left with changes"; fails=$((fails + 1)); }

echo "failures: $fails"
[ $fails = 0 ]
