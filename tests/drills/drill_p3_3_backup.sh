#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# drill_p3_3_backup.sh: incident P3-3, backup failures. While slobd trades a
# paced replay, the operator's cron runs `slobctl backup` (online backup,
# verified, rotated). Then three faults:
#   1. a file sits where the backups directory should be (unwritable target);
#   2. the backup target is a full disk (256 KiB tmpfs; needs root, else
#      this part is skipped);
#   3. the upload command fails ([store] upload_cmd = false).
# An operator wants each failure to exit non-zero with the cause named, a
# backup_failed alert (recorded in the store's alerts_sent, and delivered to
# the alert channels), no partial file, the earlier backups kept and still
# verifying, and trading untouched (slobd exit 0, same decision digest).
. "$(dirname "$0")/lib/drill.sh"
. "$(dirname "$0")/lib/ops.sh"
drill_init p3_3_backup
drill_alerts_start
D="$DT/data"
CFG="$DT/slob.ini"
cat > "$CFG" << INI
[alert]
telegram_token = 123:drill
telegram_chat_id = 42
telegram_url = http://127.0.0.1:$TG_PORT
telegram_level = info
INI
if [ "$SMTP_PORT" != 0 ]; then
	cat >> "$CFG" << INI
smtp_server = 127.0.0.1
smtp_port = $SMTP_PORT
smtp_tls = none
email_from = slob@drill.test
email_to = ops@drill.test
INI
fi
chmod 600 "$CFG"
ctl() {
	"$B/slobctl" --data-dir "$D" "$@" > "$DT/ctl.out" 2>&1
	CTL_RC=$?
	sed 's/^/   slobctl: /' "$DT/ctl.out" | head -n 4
}
nbackups() { ls "$D/backups"/slob_state_*.db 2> /dev/null | wc -l; }
# kind 12 = backup_failed (persist/alert.h)
failed_rows() { q "$D" "SELECT COUNT(*) FROM alerts_sent WHERE kind = 12"; }

say "baseline replay (flat out) for the decision digest"
ops_replay "$DT/base" "$DT/base.json" 0
ops_replay_wait 60
[ "$(js "$DT/base.json" trades)" -gt 0 ] 2> /dev/null || drill_fail "baseline replay: $(cat "$OPS_SD_OUT")"

say "slobd trades a paced replay; two good backups while it runs"
ops_replay "$D" "$DT/run.json" 40000
drill_wait 10 test -s "$D/slob_state.db" || drill_fail "no store"
sleep 1
ctl backup
drill_expect_eq "first backup while trading" "$CTL_RC" 0
sleep 1.1 # backup names have one-second resolution
ctl backup
drill_expect_eq "second backup while trading" "$CTL_RC" 0
drill_expect_eq "rotation keeps one backup per day" "$(nbackups)" 1
# earlier days' backups (rotation keeps 7 daily + 4 weekly): copies of today's,
# dated 1..3 days back, so "the previous backups are kept" can be checked
today_f=$(ls "$D/backups"/slob_state_*.db | head -n 1)
for i in 1 2 3; do
	f="$D/backups/slob_state_$(date -u -d "-$i days" +%Y%m%d)_120000.db"
	cp "$today_f" "$f"
	touch -d "-$i days" "$f"
done
good=$(nbackups)
ls "$D/backups" > "$DT/backups.before"
observe "$good backups: $(tr '\n' ' ' < "$DT/backups.before")"

inject "a file where data/backups should be"
mv "$D/backups" "$D/backups.saved"
echo "not a directory" > "$D/backups"
r0=$(failed_rows)
ctl --config "$CFG" backup
drill_check "slobctl backup fails (exit $CTL_RC)" test "$CTL_RC" -ne 0
drill_check "the error names the backups path" grep -q "$D/backups" "$DT/ctl.out"
drill_check "backup_failed recorded in alerts_sent" test "$(failed_rows)" -gt "$r0"
rm -f "$D/backups"
mv "$D/backups.saved" "$D/backups"

if mkdir -p "$DT/full" && mount -t tmpfs -o size=256k tmpfs "$DT/full" 2> /dev/null; then
	trap 'umount "$DT/full" 2> /dev/null || umount -l "$DT/full"; drill_cleanup' EXIT
	dd if=/dev/zero of="$DT/full/filler" bs=4k > /dev/null 2>&1 || true
	inject "backup target on a full disk: slobctl backup --dir (256 KiB tmpfs, full)"
	r0=$(failed_rows)
	ctl backup --dir "$DT/full"
	drill_check "slobctl backup to a full disk fails (exit $CTL_RC)" test "$CTL_RC" -ne 0
	drill_check "the error says the disk is full" grep -Eiq 'space|full' "$DT/ctl.out"
	drill_expect_eq "no partial backup left on the full disk" "$(ls "$DT/full" | grep -vc '^filler$')" 0
	drill_check "backup_failed recorded in alerts_sent" test "$(failed_rows)" -gt "$r0"
else
	say "mount not permitted: full-disk part skipped"
fi

inject "upload command failing: [store] upload_cmd = false"
printf '[store]\nupload_cmd = false\n' >> "$CFG"
r0=$(failed_rows)
sleep 1.1
ctl --config "$CFG" backup
drill_check "slobctl backup reports the failed upload (exit $CTL_RC)" test "$CTL_RC" -ne 0
drill_check "the message says UPLOAD FAILED or upload" grep -Eiq 'upload' "$DT/ctl.out"
drill_check "backup_failed recorded in alerts_sent" test "$(failed_rows)" -gt "$r0"
drill_check "the new local backup is kept (UPLOAD FAILED names it)" sh -c "f=\$(sed -n 's/^backup \\([^:]*\\):.*UPLOAD FAILED.*/\\1/p' '$DT/ctl.out'); [ -s \"\$f\" ]"
drill_wait 10 alert_has 'Backup failed' || true
alert_show
drill_check "'Backup failed' alerts reached the alert channel (unwritable dir, upload)" test "$(alert_count '"channel": "telegram".*Backup failed')" -ge 2

ops_replay_wait 60
drill_expect_eq "slobd exits cleanly" "$SD_RC" 0
drill_expect_eq "same decision digest as without the faults" "$(js "$DT/run.json" digest)" "$(js "$DT/base.json" digest)"
for f in $(cat "$DT/backups.before"); do
	[ "$f" = "$(basename "$today_f")" ] && continue # today's is replaced by the newest of the day
	drill_check "earlier backup $f kept" test -s "$D/backups/$f"
done
ctl verify --all
drill_expect_eq "slobctl verify --all: every backup verifies" "$CTL_RC" 0
q "$D" "SELECT ts, level, text FROM alerts_sent WHERE kind = 12" | sed 's/^/   alerts_sent: /'
drill_finish
