#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_dist_units.sh: the systemd units in dist/ are valid (systemd-analyze
# verify, with the install paths pointed at this build), the timers fire
# after the New York close on weekdays, and the commands they run accept
# their arguments. Skips (77) where systemd-analyze is not installed.
set -euo pipefail
B="${SLOB_BIN_DIR:?}"
S="${SLOB_SOURCE_DIR:?}"
command -v systemd-analyze > /dev/null || { echo "systemd-analyze missing: skip"; exit 77; }
T="$(mktemp -d "${SLOB_TEST_TMP:-/tmp}/dist_units.XXXXXX")"
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$T/units" "$T/work"
cp "$S/examples/sample.ini" "$T/slob.ini"
for u in "$S"/dist/*.service "$S"/dist/*.timer; do
	sed -e "s|/usr/local/bin/|$B/|g" -e "s|/etc/slob/slob.ini|$T/slob.ini|g" \
		-e 's|^User=.*|User=root|' -e 's|^Group=.*|Group=root|' \
		-e "s|^WorkingDirectory=.*|WorkingDirectory=$T/work|" "$u" > "$T/units/$(basename "$u")"
done
n=$(ls "$T"/units | wc -l)
[ "$n" -ge 5 ] || fail "expected slobd.service and the summary and backup units, found $n files"
(cd "$T/units" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no ./*.service ./*.timer) ||
	fail "systemd-analyze verify refused a unit in dist/"
echo "verify: $n units"

# every timer has a service of the same name, and fires on a weekday after 17:00 New York
for t in "$T"/units/*.timer; do
	svc="${t%.timer}.service"
	[ -f "$svc" ] || fail "$(basename "$t") has no $(basename "$svc")"
	cal=$(sed -n 's/^OnCalendar=//p' "$t")
	out=$(systemd-analyze calendar --iterations=7 "$cal") || fail "$(basename "$t"): bad calendar '$cal'"
	k=0
	while read -r when; do
		k=$((k + 1))
		day=$(TZ=America/New_York date -d "$when" +%a)
		hm=$(TZ=America/New_York date -d "$when" +%H%M)
		case "$day" in Sat|Sun) fail "$(basename "$t") fires on $day: $when" ;; esac
		[ "$hm" -ge 1700 ] || fail "$(basename "$t") fires at $hm New York time, before the close"
	done < <(echo "$out" | sed -n -e 's/.*Next elapse: *//p' -e 's/.*Iter\. #[0-9]*: *//p')
	[ "$k" -eq 7 ] || fail "$(basename "$t"): $k firings listed, expected 7"
	echo "$(basename "$t"): $cal (next 7 firings on weekdays, after 17:00 New York)"
done

# the commands the services run parse their arguments (a typo would only
# show at 17:05 on a trading day): run them against a fresh data directory
for svc in "$T"/units/slob-*.service; do
	cmd=$(sed -n 's/^ExecStart=//p' "$svc")
	set +e
	(cd "$T/work" && eval "$cmd") > "$T/out" 2>&1
	rc=$?
	set -e
	if grep -qi "usage:\|unknown option\|unknown command" "$T/out"; then
		fail "$(basename "$svc"): '$cmd' was refused: $(cat "$T/out")"
	fi
	echo "$(basename "$svc"): exit $rc: $(head -1 "$T/out")"
done
echo "1 passed, 0 failed"
