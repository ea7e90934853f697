/* SPDX-License-Identifier: MIT */
/*
 * sweep.c: `slobd sweep FILE --grid S.K=V1,V2 [--grid ...] [--shard I/N]
 * [--jobs N] [--csv OUT]`: runs the detector/risk parameter grid over one data
 * file. Every combination is one deterministic single-threaded replay (the
 * whole pipeline on the calling thread, its own temporary store); combos are
 * numbered in grid order and this process runs those with k % N == I, so a
 * scheduler (Slurm array jobs, GNU parallel over ssh) shards a large sweep
 * by giving each process its own I. Inside a process, --jobs worker
 * processes (default: the CPU count) share the shard. Each result is one
 * CSV row and one sweep_results row in the store of the data directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "engine/tickfile.h"
#include "persist/fsutil.h"
#include "persist/store.h"
#include "tools/slobd/slobd.h"

#define MAX_VALUES 64

struct axis {
	char key[128];               /* section.key */
	char *values[MAX_VALUES];
	unsigned n;
	char buf[1024];
};

struct result {
	unsigned combo;
	int rc;
	uint64_t setups, trades, wins, losses, digest;
	double pnl, max_dd, profit_factor;
};

static int parse_axis(struct axis *ax, const char *spec)
{
	const char *eq = strchr(spec, '=');
	if (eq == NULL || eq == spec || (size_t)(eq - spec) >= sizeof(ax->key) ||
	    strlen(eq + 1) >= sizeof(ax->buf)) {
		fprintf(stderr, "slobd: --grid '%s': expected SECTION.KEY=V1,V2,...\n", spec);
		return -EINVAL;
	}
	snprintf(ax->key, sizeof(ax->key), "%.*s", (int)(eq - spec), spec);
	snprintf(ax->buf, sizeof(ax->buf), "%s", eq + 1);
	ax->n = 0;
	for (char *save = NULL, *t = strtok_r(ax->buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (ax->n >= MAX_VALUES) {
			fprintf(stderr, "slobd: --grid %s: at most %d values\n", ax->key, MAX_VALUES);
			return -EINVAL;
		}
		json_t *js = json_string(t);
		if (js == NULL) { /* params are stored as JSON, which is UTF-8 */
			fprintf(stderr, "slobd: --grid %s: value '%s' is not valid UTF-8\n", ax->key,
				t);
			return -EINVAL;
		}
		json_decref(js);
		ax->values[ax->n++] = t;
	}
	if (ax->n == 0) {
		fprintf(stderr, "slobd: --grid %s: no values\n", ax->key);
		return -EINVAL;
	}
	return 0;
}

/* Value index of axis i for combo k (first axis varies slowest). */
static unsigned pick(const struct axis *ax, unsigned naxes, unsigned k, unsigned i)
{
	for (unsigned j = naxes; j-- > i + 1;)
		k /= ax[j].n;
	return k % ax[i].n;
}

static int query_stats(slob_store_t *s, struct result *r)
{
	sqlite3 *db = slob_store_db(s);
	sqlite3_stmt *st = NULL;
	const char *sql =
		"SELECT COUNT(*), SUM(outcome='WIN'), SUM(outcome='LOSS'), COALESCE(SUM(pnl),0),"
		" COALESCE(SUM(CASE WHEN pnl>0 THEN pnl END),0), COALESCE(-SUM(CASE WHEN pnl<0 THEN pnl END),0)"
		" FROM trade_history";
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		r->trades = (uint64_t)sqlite3_column_int64(st, 0);
		r->wins = (uint64_t)sqlite3_column_int64(st, 1);
		r->losses = (uint64_t)sqlite3_column_int64(st, 2);
		r->pnl = sqlite3_column_double(st, 3);
		double gw = sqlite3_column_double(st, 4), gl = sqlite3_column_double(st, 5);
		r->profit_factor = gl > 0 ? gw / gl : 0.0;
	}
	sqlite3_finalize(st);
	/* max drawdown of the cumulative P&L (the guide's P1-2 query, as a peak-to-trough) */
	sql = "SELECT pnl FROM trade_history ORDER BY exit_time, id";
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	double cum = 0, peak = 0, dd = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		cum += sqlite3_column_double(st, 0);
		if (cum > peak)
			peak = cum;
		if (peak - cum > dd)
			dd = peak - cum;
	}
	sqlite3_finalize(st);
	r->max_dd = dd;
	return 0;
}

/* One combination, in this process, on this thread. */
static int run_combo(const struct slobd_args *a, const struct axis *ax, unsigned naxes,
		     unsigned k, const char *tmpdir, struct result *r)
{
	struct slob_config cfg;
	char err[1024] = "";
	int rc;
	memset(r, 0, sizeof(*r));
	r->combo = k;
	slob_config_init(&cfg);
	rc = slob_config_load(&cfg, a->config, err, sizeof(err));
	if (rc == 0)
		slob_config_apply_env(&cfg);
	for (unsigned i = 0; rc == 0 && i < a->nsets; i++)
		rc = slob_config_set(&cfg, a->sets[i], err, sizeof(err));
	for (unsigned i = 0; rc == 0 && i < naxes; i++) {
		char set[512];
		snprintf(set, sizeof(set), "%s=%s", ax[i].key, ax[i].values[pick(ax, naxes, k, i)]);
		rc = slob_config_set(&cfg, set, err, sizeof(err));
	}
	struct slob_pipeline_opts po;
	if (rc == 0)
		rc = slob_pipeline_opts_from_config(&po, &cfg, err, sizeof(err));
	char db[600];
	snprintf(db, sizeof(db), "%s/combo-%u.db", tmpdir, k);
	slob_store_t *store = NULL;
	if (rc == 0 && (rc = slob_store_open(db, SLOB_STORE_WRITER, &store)) < 0)
		snprintf(err, sizeof(err), "temporary store %s: %s", db, slob_store_strerror());
	slob_pipeline_t *p = NULL;
	if (rc == 0) {
		if (strlen(a->file) >= sizeof(po.ingest.path)) {
			snprintf(err, sizeof(err), "input path too long");
			rc = -ENAMETOOLONG;
		} else {
			memcpy(po.ingest.path, a->file, strlen(a->file) + 1);
		}
		po.mode = SLOB_PIPE_REPLAY;
		po.store = store;
		po.layout = "single";
		po.pin = false;
		po.tick_ring = 4096;  /* one thread: rings only need a batch of slack */
		po.tap_ring = 1u << 20;
		if (rc == 0)
			rc = slob_pipeline_build(&p, &po, err, sizeof(err));
	}
	if (rc == 0 && (rc = slob_pipeline_run_inline(p)) < 0)
		snprintf(err, sizeof(err), "%s", slob_pipeline_error(p));
	if (rc == 0) {
		struct slob_pipeline_summary s;
		slob_pipeline_summary(p, &s);
		r->setups = s.setups;
		r->digest = s.digest;
	}
	slob_pipeline_free(p);
	if (rc == 0)
		rc = query_stats(store, r);
	slob_store_close(store);
	unlink(db);
	char side[640];
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
	if (rc < 0)
		fprintf(stderr, "slobd: sweep combo %u: %s\n", k, err[0] ? err : strerror(-rc));
	r->rc = rc;
	slob_config_free(&cfg);
	return rc;
}

/* {"section.key":"value",...} for combo k, in axis order, escaped by
 * jansson and as long as it needs to be. Caller frees; NULL when out of
 * memory or a key is not UTF-8. */
static char *params_json(const struct axis *ax, unsigned naxes, unsigned k)
{
	json_t *o = json_object();
	for (unsigned i = 0; o && i < naxes; i++)
		if (json_object_set_new(o, ax[i].key,
					json_string(ax[i].values[pick(ax, naxes, k, i)])) < 0) {
			json_decref(o);
			o = NULL;
		}
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}

int slobd_sweep(const struct slobd_args *a, const struct slob_config *cfg,
		const struct slob_pipeline_opts *po)
{
	(void)po;
	struct axis *ax = calloc(SLOBD_MAX_GRID, sizeof(*ax));
	if (ax == NULL)
		return SLOBD_EXIT_RUNTIME;
	unsigned naxes = a->ngrid, total = 1;
	for (unsigned i = 0; i < naxes; i++) {
		if (parse_axis(&ax[i], a->grid[i]) < 0) {
			free(ax);
			return SLOBD_EXIT_USAGE;
		}
		total *= ax[i].n;
	}
	struct slob_tickreader *rd = NULL;
	if (slob_tickreader_open(&rd, a->file, SLOB_TICKFILE_AUTO, NULL) < 0) {
		fprintf(stderr, "slobd: sweep input %s: %s\n", a->file, slob_tickfile_strerror());
		free(ax);
		return SLOBD_EXIT_DATA;
	}
	slob_tickreader_close(rd);
	char oerr[PATH_MAX + 128];
	const char *inputs[] = {a->file, NULL};
	if (a->csv && strcmp(a->csv, "-") != 0 &&
	    slob_fs_check_distinct(a->csv, inputs, oerr, sizeof(oerr)) < 0) {
		fprintf(stderr, "slobd: sweep: %s\n", oerr);
		free(ax);
		return SLOBD_EXIT_USAGE;
	}

	/* the per-run stores are scratch: on tmpfs their fsyncs cost nothing */
	char tmpdir[64];
	struct stat shm;
	snprintf(tmpdir, sizeof(tmpdir), "%s/slob-sweep-XXXXXX",
		 stat("/dev/shm", &shm) == 0 && S_ISDIR(shm.st_mode) && access("/dev/shm", W_OK) == 0
			 ? "/dev/shm"
			 : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "slobd: sweep: cannot create a temporary directory: %s\n", strerror(errno));
		free(ax);
		return SLOBD_EXIT_RUNTIME;
	}
	unsigned mine = 0;
	for (unsigned k = a->shard_i; k < total; k += a->shard_n)
		mine++;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned jobs = a->jobs ? a->jobs : (unsigned)(ncpu > 0 ? ncpu : 1);
	if (jobs > mine)
		jobs = mine ? mine : 1;
	fprintf(stderr, "slobd: sweep of %u combinations; shard %u/%u runs %u with %u jobs\n", total,
		a->shard_i, a->shard_n, mine, jobs);

	/* workers write fixed-size results into a pipe; the parent collects */
	int fds[2];
	if (pipe(fds) < 0) {
		rmdir(tmpdir);
		free(ax);
		return SLOBD_EXIT_RUNTIME;
	}
	for (unsigned w = 0; w < jobs; w++) {
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "slobd: sweep: fork: %s\n", strerror(errno));
			jobs = w;
			break;
		}
		if (pid == 0) {
			close(fds[0]);
			unsigned idx = 0;
			for (unsigned k = a->shard_i; k < total; k += a->shard_n, idx++) {
				if (idx % jobs != w)
					continue;
				struct result r;
				run_combo(a, ax, naxes, k, tmpdir, &r);
				if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
					_exit(1);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	struct result *res = calloc(total ? total : 1, sizeof(*res));
	unsigned got = 0;
	struct result r;
	while (res && read(fds[0], &r, sizeof(r)) == (ssize_t)sizeof(r))
		if (r.combo < total)
			res[got++] = r;
	close(fds[0]);
	int failed = 0;
	for (unsigned w = 0; w < jobs; w++) {
		int status;
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	rmdir(tmpdir);

	/* results in combo order, to CSV and the store */
	/* written atomically: the CSV appears complete or not at all */
	FILE *out = stdout;
	struct slob_fs_out csv_out = {.fd = -1};
	if (a->csv && strcmp(a->csv, "-") != 0) {
		if (slob_fs_out_open(&csv_out, a->csv, 0644, inputs, oerr, sizeof(oerr)) < 0 ||
		    (out = slob_fs_out_stream(&csv_out)) == NULL) {
			fprintf(stderr, "slobd: sweep: %s; results go to standard output\n",
				csv_out.fd < 0 ? oerr : a->csv);
			slob_fs_out_abort(&csv_out);
			out = stdout;
		}
	}
	fprintf(out, "combo");
	for (unsigned i = 0; i < naxes; i++)
		fprintf(out, ",%s", ax[i].key);
	fprintf(out, ",setups,trades,wins,losses,pnl,max_drawdown,profit_factor,digest,status\n");
	char sweep_id[64];
	snprintf(sweep_id, sizeof(sweep_id), "sweep-%lld-%u-of-%u", (long long)time(NULL),
		 a->shard_i, a->shard_n);
	char db_path[PATH_MAX];
	struct slob_store_params sp;
	slob_store_params_default(&sp);
	slob_config_apply_section(cfg, "store", (slob_param_set_fn)slob_store_param_set, &sp,
				  db_path, sizeof(db_path));
	slob_store_t *store = NULL;
	if (slob_store_params_path(&sp, cfg->path[0] ? cfg->path : NULL, db_path, sizeof(db_path)) == 0 &&
	    slob_store_open(db_path, 0, &store) < 0) {
		fprintf(stderr, "slobd: sweep: results not stored: %s\n", slob_store_strerror());
		store = NULL;
	}
	sqlite3_stmt *ins = NULL;
	if (store)
		sqlite3_prepare_v2(slob_store_db(store),
				   "INSERT INTO sweep_results (sweep_id, params, trades, wins, losses, pnl,"
				   " max_drawdown, profit_factor, decision_digest) VALUES (?,?,?,?,?,?,?,?,?)",
				   -1, &ins, NULL);
	for (unsigned k = 0; k < total && res; k++) {
		const struct result *x = NULL;
		for (unsigned j = 0; j < got; j++)
			if (res[j].combo == k)
				x = &res[j];
		if (x == NULL)
			continue;
		fprintf(out, "%u", k);
		for (unsigned i = 0; i < naxes; i++)
			fprintf(out, ",%s", ax[i].values[pick(ax, naxes, k, i)]);
		fprintf(out, ",%llu,%llu,%llu,%llu,%.2f,%.2f,%.3f,%016llx,%s\n",
			(unsigned long long)x->setups, (unsigned long long)x->trades,
			(unsigned long long)x->wins, (unsigned long long)x->losses, x->pnl, x->max_dd,
			x->profit_factor, (unsigned long long)x->digest, x->rc == 0 ? "ok" : "error");
		if (x->rc < 0)
			failed = 1;
		if (ins && x->rc == 0) {
			char dg[17], *params = params_json(ax, naxes, k);
			snprintf(dg, sizeof(dg), "%016llx", (unsigned long long)x->digest);
			sqlite3_bind_text(ins, 1, sweep_id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(ins, 2, params, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(ins, 3, (sqlite3_int64)x->trades);
			sqlite3_bind_int64(ins, 4, (sqlite3_int64)x->wins);
			sqlite3_bind_int64(ins, 5, (sqlite3_int64)x->losses);
			sqlite3_bind_double(ins, 6, x->pnl);
			sqlite3_bind_double(ins, 7, x->max_dd);
			sqlite3_bind_double(ins, 8, x->profit_factor);
			sqlite3_bind_text(ins, 9, dg, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(ins) != SQLITE_DONE)
				fprintf(stderr, "slobd: sweep: storing combo %u: %s\n", k,
					sqlite3_errmsg(slob_store_db(store)));
			sqlite3_reset(ins);
			free(params);
		}
	}
	sqlite3_finalize(ins);
	slob_store_close(store);
	if (out != stdout && slob_fs_out_commit(&csv_out, oerr, sizeof(oerr)) < 0) {
		fprintf(stderr, "slobd: sweep: %s\n", oerr);
		failed = 1;
	}
	free(res);
	free(ax);
	if (got < mine) {
		fprintf(stderr, "slobd: sweep: %u of %u combinations produced no result\n", mine - got, mine);
		failed = 1;
	}
	return failed ? SLOBD_EXIT_RUNTIME : SLOBD_EXIT_OK;
}
