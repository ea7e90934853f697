/* SPDX-License-Identifier: MIT */
/* test_recover.c: start-up state loading (P0-2 manual rows included), single
 * instance across processes, corrupt store detected / refused / auto-restored. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

/* cmocka.h needs the headers above */
#include <cmocka.h>

#include "persist/backup.h"
#include "persist/cold.h"
#include "persist/recover.h"
#include "ptest.h"

static void put_setup(slob_cold_writer_t *w, uint64_t id, int8_t dir, int32_t entry, int32_t sl,
		      int32_t tp, uint8_t state)
{
	struct slob_cold r;
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_SETUP;
	r.cls = SLOB_CLASS_TRADE;
	r.ts_ns = 1764000000000000000LL + (int64_t)id;
	r.u.setup = (struct slob_setup){
	    .id = id, .dir = dir, .entry = entry, .sl = sl, .tp = tp, .state = state};
	assert_int_equal(slob_cold_apply(w, &r), 0);
}

static void put_order(slob_cold_writer_t *w, uint64_t setup, const char *role, uint8_t status,
		      int64_t oid)
{
	struct slob_cold r;
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_ORDER;
	r.cls = SLOB_CLASS_TRADE;
	r.ts_ns = 1764000100000000000LL;
	r.u.order.setup_id = setup;
	r.u.order.order_id = oid;
	r.u.order.parent_id = oid > 100 ? 100 : 0;
	r.u.order.qty = 2;
	r.u.order.px = 80000;
	r.u.order.dir = -1;
	r.u.order.role = !strcmp(role, "TP")   ? SLOB_ROLE_TP
			 : !strcmp(role, "SL") ? SLOB_ROLE_SL
					       : SLOB_ROLE_ENTRY;
	r.u.order.status = status;
	snprintf(r.u.order.order_ref, sizeof(r.u.order.order_ref), "SLOB_%016llx_%s",
		 (unsigned long long)setup, role);
	assert_int_equal(slob_cold_apply(w, &r), 0);
}

static void test_load_state(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	ptest_tmpdir(dir, sizeof(dir), "load");
	snprintf(path, sizeof(path), "%s/data/slob_state.db", dir);
	slob_store_t *s;
	assert_int_equal(slob_store_open(path, 0, &s), 0);
	slob_cold_writer_t *w;
	assert_int_equal(slob_cold_writer_create(s, NULL, 0, NULL, NULL, NULL, &w), 0);
	put_setup(w, 0x10, SLOB_SHORT, 80040, 80130, 79900,
		  SLOB_ST_SETUP_COMPLETE); /* open, placed */
	put_setup(w, 0x20, SLOB_LONG, 80000, 79950, 80100, SLOB_ST_SETUP_COMPLETE); /* closed */
	put_setup(w, 0x30, SLOB_LONG, 0, 0, 0, SLOB_ST_INVALIDATED);		    /* invalid */
	put_setup(w, 0x40, SLOB_SHORT, 0, 0, 0, SLOB_ST_WATCHING_LIQ2);		    /* candidate */
	put_order(w, 0x10, "ENTRY", SLOB_EXEC_FILL, 100);
	put_order(w, 0x10, "TP", SLOB_EXEC_SUBMITTED, 101);
	put_order(w, 0x10, "SL", SLOB_EXEC_SUBMITTED, 102);
	put_order(w, 0x20, "ENTRY", SLOB_EXEC_CANCELLED, 200);
	struct slob_cold r;
	ptest_trade(&r, 0x20, 1234);
	assert_int_equal(slob_cold_apply(w, &r), 0);
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_POSITION;
	r.u.position = (struct slob_cold_position){
	    .setup_id = 0x10, .qty = -2, .avg_px = 80040, .sl = 80130, .tp = 79900, .open = 1};
	assert_int_equal(slob_cold_apply(w, &r), 0);
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_RISK_STATE;
	r.u.risk = (struct slob_cold_risk){.equity_cents = 5001234,
					   .peak_cents = 5010000,
					   .daily_pnl_cents = 1234,
					   .realised_cents = 1234,
					   .open_positions = 1,
					   .trading_day = 20251124,
					   .broker_peak_cents = 12000000};
	assert_int_equal(slob_cold_apply(w, &r), 0);
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_BREAKER;
	r.u.breaker.tripped = 1;
	r.u.breaker.reason = 9;
	snprintf(r.u.breaker.why, sizeof(r.u.breaker.why), "drawdown 5%%");
	assert_int_equal(slob_cold_apply(w, &r), 0);
	slob_cold_writer_free(w);
	/* P0-2: an operator inserts a position by hand, exactly as the guide says */
	assert_int_equal(slob_store_exec(s, "INSERT INTO active_setups (id, state, entry_price,"
					    " sl_price, tp_price) VALUES ('manual_1764000000',"
					    " 'ACTIVE', 20100.25, 20150.0, 20000.0)"),
			 0);
	assert_true(slob_store_cmd_insert(s, "kill-switch", "on", "ops", "test") > 0);

	struct slob_recovered rec;
	assert_int_equal(slob_recover_load(s, NULL, &rec), 0);
	assert_int_equal(rec.nsetups, 3); /* 0x10, 0x40, manual */
	const struct slob_rec_setup *man = NULL, *s10 = NULL;
	for (unsigned i = 0; i < rec.nsetups; i++) {
		if (rec.setups[i].manual)
			man = &rec.setups[i];
		if (rec.setups[i].id == 0x10)
			s10 = &rec.setups[i];
		assert_true(rec.setups[i].id != 0x20 && rec.setups[i].id != 0x30);
	}
	assert_non_null(man);
	assert_string_equal(man->id_text, "manual_1764000000");
	assert_string_equal(man->state, "ACTIVE");
	assert_int_equal(man->entry, 80401);
	assert_int_equal(man->sl, 80600);
	assert_int_equal(man->dir, SLOB_SHORT); /* stop above entry */
	assert_false(man->placed);
	assert_non_null(s10);
	assert_true(s10->placed);
	assert_false(s10->manual);
	assert_int_equal(s10->dir, SLOB_SHORT);
	assert_int_equal(s10->tp, 79900);

	/* every order (reconciliation must recognise executions of filled ones);
	 * TP + SL working, the filled entry and the cancelled one are not open */
	assert_int_equal(rec.norders, 4);
	assert_int_equal(rec.nopen_orders, 2);
	unsigned open = 0;
	for (unsigned i = 0; i < rec.norders; i++) {
		const struct slob_rec_order *o = &rec.orders[i];
		if (!o->open)
			continue;
		open++;
		assert_true(o->setup_id == 0x10);
		assert_true(o->parent_id == 100);
		assert_int_equal(o->dir, -1);
		assert_string_equal(o->status, "SUBMITTED");
	}
	assert_int_equal(open, 2);
	assert_string_equal(rec.orders[0].status, "FILLED");
	assert_false(rec.orders[0].open);
	assert_int_equal(rec.orders[1].role, SLOB_ROLE_TP);
	assert_string_equal(rec.orders[2].order_ref, "SLOB_0000000000000010_SL");
	assert_string_equal(rec.orders[3].status, "CANCELLED");
	assert_int_equal(rec.npositions, 1);
	assert_int_equal(rec.positions[0].qty, -2);
	assert_int_equal(rec.positions[0].avg_px, 80040);
	assert_int_equal(rec.nplaced, 2);
	assert_true(slob_recovered_placed(&rec, 0x10));
	assert_true(slob_recovered_placed(&rec, 0x20));
	assert_false(slob_recovered_placed(&rec, 0x40));
	assert_true(rec.risk.present);
	assert_true(rec.risk.equity_cents == 5001234);
	assert_true(rec.risk.broker_peak_cents == 12000000); /* the broker series' peak */
	assert_true(rec.risk.breaker_tripped);
	assert_int_equal(rec.risk.breaker_code, 9);
	assert_string_equal(rec.risk.breaker_reason, "drawdown 5%");
	assert_int_equal(rec.pending_commands, 1);
	slob_recovered_free(&rec);
	slob_recovered_free(&rec); /* idempotent */
	slob_store_close(s);
	ptest_rm_rf(dir);
}

/* Two instances: the child (a second slobd) must be refused with the pid. */
static void test_second_instance_refused(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], err[512];
	ptest_tmpdir(dir, sizeof(dir), "twice");
	snprintf(path, sizeof(path), "%s/data/slob_state.db", dir);
	struct slob_startup st;
	assert_int_equal(slob_recover_startup(path, NULL, &st, err, sizeof(err)), 0);
	assert_non_null(strstr(st.report, "quick_check ok"));
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct slob_startup st2;
		char e2[512];
		int rc = slob_recover_startup(path, NULL, &st2, e2, sizeof(e2));
		ssize_t k = write(pfd[1], e2, strlen(e2) + 1);
		(void)k;
		_exit(rc == -EBUSY ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	char msg[512] = "";
	ssize_t k = read(pfd[0], msg, sizeof(msg) - 1);
	(void)k;
	close(pfd[0]);
	close(pfd[1]);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char want[64];
	snprintf(want, sizeof(want), "another slobd (pid %d) holds", (int)getpid());
	assert_non_null(strstr(msg, want));
	assert_non_null(strstr(msg, "/data"));
	/* restore is refused too while we hold it (checked from a child) */
	pid = fork();
	if (pid == 0)
		_exit(slob_backup_restore(path, "latest", NULL, 0) == -EBUSY ? 0 : 1);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	slob_recover_shutdown(&st);
	/* after shutdown a new instance starts */
	assert_int_equal(slob_recover_startup(path, NULL, &st, err, sizeof(err)), 0);
	slob_recover_shutdown(&st);
	ptest_rm_rf(dir);
}

static void corrupt(const char *path)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	unsigned char junk[16384];
	memset(junk, 0xA5, sizeof(junk));
	/* pages 2..5: b-tree headers overwritten -> malformed */
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 4096), (ssize_t)sizeof(junk));
	close(fd);
}

static void test_corrupt_store_refused_then_restored(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], err[1024];
	ptest_tmpdir(dir, sizeof(dir), "corrupt");
	snprintf(path, sizeof(path), "%s/data/slob_state.db", dir);
	struct slob_startup st;
	assert_int_equal(slob_recover_startup(path, NULL, &st, err, sizeof(err)), 0);
	for (int i = 0; i < 200; i++) {
		char sql[200];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO trade_history (setup_id, entry_time, pnl,"
			 " outcome) VALUES ('%016x', '2025-06-01 10:00:00', 1, 'WIN')",
			 i);
		assert_int_equal(slob_store_exec(st.store, sql), 0);
	}
	struct slob_backup_opts bo = {.db_path = path};
	struct slob_backup_result br;
	assert_int_equal(slob_backup_create(&bo, &br), 0);
	assert_int_equal(slob_store_exec(st.store,
					 "INSERT INTO trade_history (setup_id, entry_time)"
					 " VALUES ('after-backup', '2025-06-02')"),
			 0);
	slob_recover_shutdown(&st); /* checkpoint: everything in the main file */
	corrupt(path);

	/* default: refuse, naming the backup and the restore command */
	assert_int_equal(slob_recover_startup(path, NULL, &st, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "corrupt"));
	assert_non_null(strstr(err, br.file));
	assert_non_null(strstr(err, "slobctl restore"));
	assert_int_equal(st.lock_fd, -1);

	/* auto-restore: newest verified backup in, corrupt file kept aside */
	struct slob_store_params p;
	slob_store_params_default(&p);
	p.auto_restore = true;
	assert_int_equal(slob_recover_startup(path, &p, &st, err, sizeof(err)), 0);
	assert_true(st.restored);
	assert_string_equal(st.restored_from, br.file);
	assert_non_null(strstr(st.corrupt_kept, "before_restore"));
	assert_int_equal(access(st.corrupt_kept, F_OK), 0);
	assert_non_null(strstr(st.report, "corrupt"));
	assert_int_equal(slob_store_query_i64(st.store, "SELECT count(*) FROM trade_history"), 200);
	assert_int_equal(slob_store_check(st.store, true), 0);
	assert_int_equal(slob_backup_check(st.corrupt_kept, false), -EIO);
	slob_recover_shutdown(&st);
	ptest_rm_rf(dir);
}

static void test_corrupt_without_backup(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], err[1024];
	ptest_tmpdir(dir, sizeof(dir), "nobackup");
	snprintf(path, sizeof(path), "%s/slob_state.db", dir);
	struct slob_startup st;
	assert_int_equal(slob_recover_startup(path, NULL, &st, err, sizeof(err)), 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(slob_store_exec(st.store, "INSERT INTO candles (timestamp, open)"
							   " VALUES (hex(randomblob(8)), 1)"),
				 0);
	slob_recover_shutdown(&st);
	corrupt(path);
	struct slob_store_params p;
	slob_store_params_default(&p);
	p.auto_restore = true;
	assert_int_equal(slob_recover_startup(path, &p, &st, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "No verified backup"));
	ptest_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_state),
	    cmocka_unit_test(test_second_instance_refused),
	    cmocka_unit_test(test_corrupt_store_refused_then_restored),
	    cmocka_unit_test(test_corrupt_without_backup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
