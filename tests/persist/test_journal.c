/* SPDX-License-Identifier: MIT */
/*
 * test_journal.c: the order journal ahead of the wire (engine/journal.h):
 * records survive a killed process, torn records are ignored, the sender
 * journals a bracket before the backend sees it and refuses what it cannot
 * journal; the start-up fold adds the orders the store lacks and keeps
 * history; terminal orders stay terminal; manual positions are recognised.
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

/* cmocka.h needs the headers above */
#include <sys/resource.h>

#include <cmocka.h>

#include "engine/journal.h"
#include "engine/sender.h"
#include "engine/tws_conn.h"
#include "persist/cold.h"
#include "persist/recover.h"
#include "ptest.h"

SLOB_RING_TYPED(j_intent, struct slob_intent)
SLOB_RING_TYPED(j_exec, struct slob_exec)

static struct slob_intent intent(uint64_t setup, int8_t dir, int32_t entry, int32_t sl, int32_t tp)
{
	struct slob_intent in;
	memset(&in, 0, sizeof(in));
	in.kind = SLOB_INTENT_BRACKET;
	in.qty = 2;
	in.dir = dir;
	in.setup_id = setup;
	in.entry = entry;
	in.sl = sl;
	in.tp = tp;
	in.ts_ns = 1764000000000000000LL;
	snprintf(in.order_ref, sizeof(in.order_ref), "SLOB_%016llx", (unsigned long long)setup);
	return in;
}

struct collect {
	struct slob_journal_rec r[16];
	unsigned n;
};

static int collect(void *ctx, const struct slob_journal_rec *r)
{
	struct collect *c = ctx;
	if (c->n < 16)
		c->r[c->n] = *r;
	c->n++;
	return 0;
}

static unsigned read_all(const char *path, struct collect *c)
{
	char err[256];
	unsigned n = 0;
	memset(c, 0, sizeof(*c));
	assert_int_equal(slob_journal_read(path, collect, c, &n, err, sizeof(err)), 0);
	assert_int_equal(n, c->n);
	return n;
}

static void test_append_read_and_crash(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], err[256];
	ptest_tmpdir(dir, sizeof(dir), "journal");
	snprintf(path, sizeof(path), "%s/%s", dir, SLOB_JOURNAL_FILE);
	unsigned n = 0;
	assert_int_equal(slob_journal_read(path, collect, NULL, &n, err, sizeof(err)), -ENOENT);
	/* a child appends and is killed: no msync, no close, no exit handlers */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct slob_journal j;
		if (slob_journal_open(&j, path, err, sizeof(err)) != 0)
			_exit(2);
		struct slob_intent a = intent(0xa1, SLOB_LONG, 80000, 79960, 80080);
		struct slob_intent b = intent(0xb2, SLOB_SHORT, 81000, 81040, 80920);
		slob_journal_append(&j, SLOB_JOURNAL_BRACKET, &a, 10);
		slob_journal_append(&j, SLOB_JOURNAL_BRACKET, &b, 13);
		slob_journal_append(&j, SLOB_JOURNAL_REFUSED, &b, 13);
		raise(SIGKILL);
		_exit(3);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	struct collect c;
	assert_int_equal(read_all(path, &c), 3);
	assert_int_equal(c.r[0].seq, 1);
	assert_int_equal(c.r[0].kind, SLOB_JOURNAL_BRACKET);
	assert_int_equal(c.r[0].setup_id, 0xa1);
	assert_int_equal(c.r[0].first_id, 10);
	assert_int_equal(c.r[0].qty, 2);
	assert_int_equal(c.r[0].entry, 80000);
	assert_int_equal(c.r[0].sl, 79960);
	assert_int_equal(c.r[0].tp, 80080);
	assert_string_equal(c.r[0].order_ref, "SLOB_00000000000000a1");
	assert_int_equal(c.r[1].dir, SLOB_SHORT);
	assert_int_equal(c.r[2].kind, SLOB_JOURNAL_REFUSED);

	/* a torn second record (checksum off): reading stops before it */
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	char x = 0x5a;
	assert_int_equal(pwrite(fd, &x, 1, 4096 + 128 + 40), 1);
	close(fd);
	assert_int_equal(read_all(path, &c), 1);

	/* reopening resets it (after the fold) */
	struct slob_journal j;
	assert_int_equal(slob_journal_open(&j, path, err, sizeof(err)), 0);
	assert_int_equal(read_all(path, &c), 0);
	slob_journal_close(&j);
	/* not a journal: refused with a message, never folded as empty */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "garbage garbage garbage", 23), 23);
	assert_int_equal(ftruncate(fd, 8192), 0);
	close(fd);
	assert_int_equal(slob_journal_read(path, collect, &c, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a version"));
	ptest_rm_rf(dir);
}

/* ---- the sender journals before the wire --------------------------------- */

static const char *g_path;
static unsigned g_places, g_seen_before;

static int fake_place(void *ctx, const struct slob_intent *in, int64_t first_id)
{
	(void)ctx;
	struct collect c;
	read_all(g_path, &c);
	g_places++;
	/* the bracket's record is in the file before its bytes would leave */
	for (unsigned i = 0; i < c.n && i < 16; i++)
		if (c.r[i].kind == SLOB_JOURNAL_BRACKET && c.r[i].setup_id == in->setup_id &&
		    c.r[i].first_id == first_id)
			g_seen_before++;
	return in->setup_id == 0xdead ? -EINVAL : 0;
}

static void test_sender_journals_before_place(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], err[256];
	ptest_tmpdir(dir, sizeof(dir), "jsender");
	snprintf(path, sizeof(path), "%s/%s", dir, SLOB_JOURNAL_FILE);
	g_path = path;
	g_places = g_seen_before = 0;
	struct slob_journal j;
	assert_int_equal(slob_journal_open(&j, path, err, sizeof(err)), 0);
	slob_ring_t in, out;
	assert_int_equal(slob_ring_init(&in, "in", 64, sizeof(struct slob_intent)), 0);
	assert_int_equal(slob_ring_init(&out, "out", 256, sizeof(struct slob_exec)), 0);
	struct slob_sender_params p;
	slob_sender_params_default(&p);
	p.mode = SLOB_SENDER_LIVE;
	p.first_order_id = 100;
	static struct slob_sender s;
	assert_int_equal(slob_sender_init(&s, &p, &in, NULL, &out, NULL, err, sizeof(err)), 0);
	struct slob_sender_backend be = {.place = fake_place};
	slob_sender_set_backend(&s, &be);
	slob_sender_set_journal(&s, &j);
	slob_sender_set_reconciled(&s, true);

	struct slob_intent a = intent(0x11, SLOB_LONG, 80000, 79960, 80080);
	struct slob_intent bad = intent(0xdead, SLOB_LONG, 80000, 79960, 80080);
	assert_true(j_intent_push(&in, &a));
	assert_true(j_intent_push(&in, &bad));
	for (int i = 0; i < 4; i++)
		slob_sender_poll(&s);
	assert_int_equal(g_places, 2);
	assert_int_equal(g_seen_before, 2);
	struct collect c;
	assert_int_equal(read_all(path, &c), 3);
	assert_int_equal(c.r[0].first_id, 100);
	assert_int_equal(c.r[1].setup_id, 0xdead);
	assert_int_equal(c.r[2].kind, SLOB_JOURNAL_REFUSED); /* place() said no */

	/* a full journal: the bracket is refused, never handed to the backend */
	j.cap = (uint32_t)j.next;
	struct slob_intent b = intent(0x22, SLOB_SHORT, 81000, 81040, 80920);
	assert_true(j_intent_push(&in, &b));
	for (int i = 0; i < 4; i++)
		slob_sender_poll(&s);
	assert_int_equal(g_places, 2);
	assert_int_equal(j.n_full, 1);
	bool rejected = false;
	const struct slob_exec *x;
	while ((x = j_exec_peek(&out, 0)) != NULL) {
		if (x->kind == SLOB_EXEC_REJECTED && x->setup_id == 0x22)
			rejected = true;
		slob_ring_release_spsc(&out, 1);
	}
	assert_true(rejected);
	slob_sender_destroy(&s);
	slob_ring_destroy(&in);
	slob_ring_destroy(&out);
	slob_journal_close(&j);
	ptest_rm_rf(dir);
}

/* ---- fold into the store; history kept ------------------------------------- */

static void put_order(slob_cold_writer_t *w, const char *ref, uint64_t setup, uint8_t role,
		      uint8_t status)
{
	struct slob_cold r;
	memset(&r, 0, sizeof(r));
	r.type = SLOB_COLD_ORDER;
	r.cls = SLOB_CLASS_TRADE;
	r.ts_ns = 1764000100000000000LL;
	r.u.order.setup_id = setup;
	r.u.order.qty = 2;
	r.u.order.px = 80000;
	r.u.order.dir = 1;
	r.u.order.role = role;
	r.u.order.status = status;
	snprintf(r.u.order.order_ref, sizeof(r.u.order.order_ref), "%s", ref);
	assert_int_equal(slob_cold_apply(w, &r), 0);
}

static int64_t qi(slob_store_t *s, const char *sql)
{
	return slob_store_query_i64(s, sql);
}

static void test_fold_and_history(void **state)
{
	(void)state;
	char dir[PATH_MAX], db[PATH_MAX + 32], path[PATH_MAX + 32], err[256];
	ptest_tmpdir(dir, sizeof(dir), "jfold");
	snprintf(db, sizeof(db), "%s/slob_state.db", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, SLOB_JOURNAL_FILE);
	slob_store_t *s;
	assert_int_equal(slob_store_open(db, 0, &s), 0);
	slob_cold_writer_t *w;
	assert_int_equal(slob_cold_writer_create(s, NULL, 0, NULL, NULL, NULL, &w), 0);
	/* the store already had setup a1's entry, filled */
	put_order(w, "SLOB_00000000000000a1_ENTRY", 0xa1, SLOB_ROLE_ENTRY, SLOB_EXEC_FILL);
	/* history: a restart's reconciliation must not rewrite terminal orders */
	put_order(w, "SLOB_00000000000000a1_ENTRY", 0xa1, SLOB_ROLE_ENTRY, SLOB_EXEC_RECONCILED);
	put_order(w, "SLOB_00000000000000a1_ENTRY", 0xa1, SLOB_ROLE_ENTRY, SLOB_EXEC_SUBMITTED);
	put_order(w, "SLOB_00000000000000c3_TP", 0xc3, SLOB_ROLE_TP, SLOB_EXEC_CANCELLED);
	put_order(w, "SLOB_00000000000000c3_TP", 0xc3, SLOB_ROLE_TP, SLOB_EXEC_RECONCILED);
	put_order(w, "SLOB_00000000000000c3_SL", 0xc3, SLOB_ROLE_SL, SLOB_EXEC_SUBMITTED);
	put_order(w, "SLOB_00000000000000c3_SL", 0xc3, SLOB_ROLE_SL, SLOB_EXEC_RECONCILED);
	slob_cold_writer_free(w);
	assert_int_equal(qi(s, "SELECT count(*) FROM orders WHERE order_ref="
			       "'SLOB_00000000000000a1_ENTRY' AND status='FILLED'"), 1);
	assert_int_equal(qi(s, "SELECT count(*) FROM orders WHERE order_ref="
			       "'SLOB_00000000000000c3_TP' AND status='CANCELLED'"), 1);
	assert_int_equal(qi(s, "SELECT count(*) FROM orders WHERE order_ref="
			       "'SLOB_00000000000000c3_SL' AND status='RECONCILED'"), 1);

	/* no journal yet: nothing to fold */
	unsigned intents = 9, added = 9;
	assert_int_equal(slob_recover_fold_journal(s, path, NULL, &intents, &added, err, sizeof(err)),
			 0);
	assert_int_equal(intents, 0);
	assert_int_equal(added, 0);
	/* a run journaled three brackets (one refused) and died before the commit */
	struct slob_journal j;
	assert_int_equal(slob_journal_open(&j, path, err, sizeof(err)), 0);
	struct slob_intent a = intent(0xa1, SLOB_LONG, 80000, 79960, 80080);
	struct slob_intent b = intent(0xb2, SLOB_SHORT, 81000, 81040, 80920);
	struct slob_intent c = intent(0xd4, SLOB_SHORT, 81000, 81040, 80920);
	assert_int_equal(slob_journal_append(&j, SLOB_JOURNAL_BRACKET, &a, 10), 0);
	assert_int_equal(slob_journal_append(&j, SLOB_JOURNAL_BRACKET, &b, 13), 0);
	assert_int_equal(slob_journal_append(&j, SLOB_JOURNAL_BRACKET, &c, 16), 0);
	assert_int_equal(slob_journal_append(&j, SLOB_JOURNAL_REFUSED, &c, 16), 0);
	slob_journal_close(&j);
	assert_int_equal(slob_recover_fold_journal(s, path, NULL, &intents, &added, err, sizeof(err)),
			 0);
	assert_int_equal(intents, 2);
	assert_int_equal(added, 5); /* a1's TP, SL; b2's three */
	assert_int_equal(qi(s, "SELECT count(*) FROM orders WHERE order_ref="
			       "'SLOB_00000000000000a1_ENTRY' AND status='FILLED'"), 1);
	assert_int_equal(qi(s, "SELECT count(*) FROM orders WHERE setup_id='00000000000000b2'"
			       " AND status='PENDING'"), 3);
	assert_int_equal(qi(s, "SELECT order_id FROM orders WHERE order_ref="
			       "'SLOB_00000000000000b2_SL'"), 15);
	assert_int_equal(qi(s, "SELECT parent_id FROM orders WHERE order_ref="
			       "'SLOB_00000000000000b2_TP'"), 13);
	assert_int_equal(qi(s, "SELECT count(*) FROM orders WHERE order_ref="
			       "'SLOB_00000000000000b2_ENTRY' AND action='SELL' AND qty=2"
			       " AND role='ENTRY'"), 1);
	assert_int_equal(qi(s, "SELECT count(*) FROM orders WHERE order_ref="
			       "'SLOB_00000000000000b2_TP' AND action='BUY'"), 1);
	assert_int_equal(qi(s, "SELECT count(*) FROM orders WHERE setup_id='00000000000000d4'"), 0);
	/* folding again adds nothing */
	assert_int_equal(slob_recover_fold_journal(s, path, NULL, &intents, &added, err, sizeof(err)),
			 0);
	assert_int_equal(added, 0);

	/* the loaded state counts only open orders as open */
	struct slob_recovered rec;
	assert_int_equal(slob_recover_load(s, NULL, &rec), 0);
	assert_int_equal(rec.norders, 8);
	assert_int_equal(rec.nopen_orders, 6); /* a1 TP SL, b2 x3, c3 SL (RECONCILED) */
	assert_true(slob_recovered_placed(&rec, 0xb2));
	slob_recovered_free(&rec);
	slob_store_close(s);
	ptest_rm_rf(dir);
}

static void test_manual_position_and_exec_ids(void **state)
{
	(void)state;
	char dir[PATH_MAX], db[PATH_MAX + 32];
	ptest_tmpdir(dir, sizeof(dir), "jmanual");
	snprintf(db, sizeof(db), "%s/slob_state.db", dir);
	slob_store_t *s;
	assert_int_equal(slob_store_open(db, 0, &s), 0);
	/* what slobctl add-position writes */
	assert_int_equal(slob_store_exec(s, "INSERT INTO active_setups (id, state, entry_price,"
					    " sl_price, tp_price, symbol, direction, qty, source)"
					    " VALUES ('manual_1', 'ACTIVE', 19900, 19850, 20000,"
					    " 'NQ', 'LONG', 2, 'manual')"),
			 0);
	/* the guide's bare INSERT: no qty, so not a position the engine can size */
	assert_int_equal(slob_store_exec(s, "INSERT INTO active_setups (id, state, entry_price,"
					    " sl_price, tp_price) VALUES ('manual_2', 'ACTIVE',"
					    " 19900, 19850, 20000)"),
			 0);
	assert_int_equal(slob_store_exec(s, "INSERT INTO fills (exec_id, qty, price, time) VALUES"
					    " ('0000e0d5.00000001.01.01', 1, 19900, '2026-01-01')"),
			 0);
	struct slob_recovered rec;
	assert_int_equal(slob_recover_load(s, NULL, &rec), 0);
	unsigned npos = 0;
	for (unsigned i = 0; i < rec.nsetups; i++)
		if (slob_recovered_manual_position(&rec, i)) {
			npos++;
			assert_string_equal(rec.setups[i].id_text, "manual_1");
			assert_int_equal(rec.setups[i].qty, 2);
			assert_int_equal(rec.setups[i].dir, SLOB_LONG);
		}
	assert_int_equal(npos, 1);
	assert_int_equal(rec.nexec_ids, 1);
	slob_recovered_free(&rec);
	slob_store_close(s);
	ptest_rm_rf(dir);
}

/* own orders are recognisable from their orderRef alone */
static void test_own_ref(void **state)
{
	(void)state;
	uint64_t id = 0;
	uint8_t role = 9;
	assert_true(slob_tws_own_ref("SLOB_76936bf86406e314_TP", &id, &role));
	assert_int_equal(id, 0x76936bf86406e314ull);
	assert_int_equal(role, SLOB_ROLE_TP);
	assert_true(slob_tws_own_ref("SLOB_00000000000000a1_ENTRY", &id, &role));
	assert_int_equal(role, SLOB_ROLE_ENTRY);
	assert_true(slob_tws_own_ref("SLOB_00000000000000a1_SL", NULL, NULL));
	assert_false(slob_tws_own_ref("SLOB_00000000000000a1", NULL, NULL));	  /* no leg */
	assert_false(slob_tws_own_ref("SLOB_00000000000000a1_XX", NULL, NULL));	  /* bad leg */
	assert_false(slob_tws_own_ref("SLOB_00000000000000A1_TP", NULL, NULL));	  /* upper case */
	assert_false(slob_tws_own_ref("SLOB_0000000000000a1_TP", NULL, NULL));	  /* 15 digits */
	assert_false(slob_tws_own_ref("SLOB_0000000000000000_TP", NULL, NULL));	  /* id 0 */
	assert_false(slob_tws_own_ref("MANUAL_HEDGE_1", NULL, NULL));
	assert_false(slob_tws_own_ref("", NULL, NULL));
	assert_false(slob_tws_own_ref(NULL, NULL, NULL));
}

/* Minor faults taken by this thread so far. */
static long thread_minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt;
}

/*
 * journal.h note 3: after the cold thread's msync write-protected the page,
 * an idle poll's warm-up takes the fault, and the next append takes none.
 * (Before: every append after a sync faulted, 3-4 us on the bracket path.)
 */
static void test_warm_takes_the_fault_off_the_append(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], err[256];
	ptest_tmpdir(dir, sizeof(dir), "journal_warm");
	snprintf(path, sizeof(path), "%s/%s", dir, SLOB_JOURNAL_FILE);
	struct slob_journal j;
	assert_int_equal(slob_journal_open(&j, path, err, sizeof(err)), 0);
	long cold_faults = 0, warm_faults = 0;
	int64_t t = 0;
	for (int i = 0; i < 16; i++) {
		struct slob_intent a = intent(0x100 + (uint64_t)i, SLOB_LONG, 80000 + i, 79960, 80080);
		t += (int64_t)SLOB_JOURNAL_SYNC_MS * 1000000 + 1;
		/* odd rounds: append straight after the sync; even: warm first */
		if (i % 2 == 0)
			slob_journal_warm(&j);
		long f0 = thread_minflt();
		assert_int_equal(slob_journal_append(&j, SLOB_JOURNAL_BRACKET, &a, 10 + 3 * i), 0);
		long df = thread_minflt() - f0;
		if (i % 2 == 0)
			warm_faults += df;
		else
			cold_faults += df;
		assert_int_equal(slob_journal_sync(&j, t), 1); /* msync: pages write-protected */
	}
	print_message("journal: faults in 8 appends right after a sync: %ld; after a warm-up: %ld\n",
		      cold_faults, warm_faults);
	assert_int_equal(warm_faults, 0);
	slob_journal_close(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_read_and_crash),
	    cmocka_unit_test(test_sender_journals_before_place),
	    cmocka_unit_test(test_fold_and_history),
	    cmocka_unit_test(test_manual_position_and_exec_ids),
	    cmocka_unit_test(test_own_ref),
	    cmocka_unit_test(test_warm_takes_the_fault_off_the_append),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
