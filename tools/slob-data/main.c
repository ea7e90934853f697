/* SPDX-License-Identifier: MIT */
/*
 * slob-data: converts and checks market-data files (docs/DATA_FORMATS.md).
 *
 *   slob-data csv2bin [opts] IN.csv OUT.bin   tick CSV -> binary (checksummed)
 *   slob-data bin2csv [--iso] IN.bin OUT.csv  binary -> tick CSV ("-" = stdout)
 *   slob-data info FILE                       format, symbol, count, range, prices
 *   slob-data verify [--bars] FILE            full check; exit 0 clean, 1 not
 *
 * Options: --symbol NQ, --tick-size 0.25, --skip-bad (count malformed lines
 * instead of stopping), --tolerance-ms N (backwards timestamp tolerance).
 * Exit codes: 0 ok, 1 bad data or I/O error (message names file:line), 2 usage.
 * Outputs are written atomically (persist/fsutil.h): a failed conversion
 * leaves no OUT at all and an existing OUT untouched; OUT naming the input
 * file itself (also through a symlink or hard link) is refused up front.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tickfile.h"
#include "engine/tz.h"
#include "persist/fsutil.h"

struct opts {
	const char *symbol;
	double tick_size;
	int skip_bad;
	int iso;
	int bars;
	int64_t tol_ns;
};

static int usage(void)
{
	fprintf(stderr, "usage: slob-data csv2bin [--symbol S] [--tick-size X] [--skip-bad] "
			"[--tolerance-ms N] IN.csv OUT.bin\n"
			"       slob-data bin2csv [--iso] IN.bin OUT.csv|-\n"
			"       slob-data info [--tick-size X] FILE\n"
			"       slob-data verify [--bars] [--tick-size X] [--skip-bad] FILE\n");
	return 2;
}

static void print_counts(const char *path, const struct slob_tickcheck *c, uint64_t bad_lines)
{
	if (!slob_tickcheck_rejected(c) && !bad_lines)
		return;
	fprintf(stderr, "%s: rejected", path);
	for (unsigned i = 0; i < SLOB_TICKREJ_N; i++)
		if (c->rej[i])
			fprintf(stderr, " %s %llu,", slob_tickrej_name(i),
				(unsigned long long)c->rej[i]);
	fprintf(stderr, " %llu ticks in all; skipped %llu malformed lines\n",
		(unsigned long long)slob_tickcheck_rejected(c), (unsigned long long)bad_lines);
}

static int cmd_convert(const struct opts *o, const char *in, const char *out, int to_bin)
{
	struct slob_tickreader *r;
	struct slob_tickcsv_opts co = {
	    .tick_size = o->tick_size, .skip_bad = o->skip_bad, .backwards_tol_ns = o->tol_ns};
	char err[512];
	const char *inputs[] = {in, NULL};
	if (strcmp(out, "-") != 0 && slob_fs_check_distinct(out, inputs, err, sizeof(err)) < 0) {
		fprintf(stderr, "slob-data: %s\n", err);
		return 1;
	}
	int rc = slob_tickreader_open(&r, in, to_bin ? SLOB_TICKFILE_CSV : SLOB_TICKFILE_BIN, &co);
	if (rc < 0) {
		fprintf(stderr, "slob-data: %s\n", slob_tickfile_strerror());
		return 1;
	}
	double ts = o->tick_size;
	const char *sym = o->symbol;
	if (!to_bin) {
		ts = slob_tickreader_header(r)->tick_size;
		sym = slob_tickreader_header(r)->symbol;
	}
	struct slob_tickbin_writer *bw = NULL;
	struct slob_tickcsv_writer *cw = NULL;
	const char *dst = out;
	rc = to_bin ? slob_tickbin_writer_open(&bw, dst, sym, ts)
		    : slob_tickcsv_writer_open(&cw, dst, ts, o->iso);
	if (rc < 0) {
		fprintf(stderr, "slob-data: %s\n", slob_tickfile_strerror());
		slob_tickreader_close(r);
		return 1;
	}
	(void)sym;
	struct slob_tick t;
	uint64_t n = 0;
	while ((rc = slob_tickreader_next(r, &t)) > 0) {
		rc = to_bin ? slob_tickbin_writer_append(bw, t.ts_ns, t.px, t.size)
			    : slob_tickcsv_writer_append(cw, t.ts_ns, t.px, t.size);
		if (rc < 0)
			break;
		n++;
	}
	/* a read or parse error discards the output: no prefix that looks whole */
	int rc2 = 0;
	if (rc < 0 && to_bin)
		slob_tickbin_writer_abort(bw);
	else if (rc < 0)
		slob_tickcsv_writer_abort(cw);
	else
		rc2 = to_bin ? slob_tickbin_writer_close(bw) : slob_tickcsv_writer_close(cw);
	print_counts(in, slob_tickreader_check(r), slob_tickreader_bad_lines(r));
	slob_tickreader_close(r);
	if (rc < 0 || rc2 < 0) {
		fprintf(stderr, "slob-data: %s; %s not written\n", slob_tickfile_strerror(), out);
		return 1;
	}
	fprintf(stderr, "slob-data: %llu ticks written to %s\n", (unsigned long long)n, out);
	return 0;
}

static int cmd_bars(const struct opts *o, const char *path, int verbose)
{
	struct slob_bar *bars = NULL;
	struct slob_barcsv st;
	char err[SLOB_TICKFILE_ERRLEN];
	struct slob_barcsv_opts bo = {.tick_size = o->tick_size, .skip_bad = o->skip_bad};
	int n = slob_barfile_load(path, &bo, &bars, &st, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "slob-data: %s\n", err);
		return 1;
	}
	char a[48], b[48];
	if (n > 0) {
		slob_format_time_iso(a, sizeof(a), bars[0].ts_ns);
		slob_format_time_iso(b, sizeof(b), bars[n - 1].ts_ns);
	}
	if (verbose)
		printf("format: bar-csv\nbars: %d\nfirst: %s\nlast: %s\n", n, n ? a : "-",
		       n ? b : "-");
	printf("rejected_prices: %llu\nrejected_order: %llu\nskipped_lines: %llu\n",
	       (unsigned long long)st.bad_px, (unsigned long long)st.bad_order,
	       (unsigned long long)st.bad_lines);
	free(bars);
	return st.bad_px || st.bad_order || st.bad_lines ? 1 : 0;
}

static int cmd_info(const struct opts *o, const char *path, int verify)
{
	if (o->bars)
		return cmd_bars(o, path, 1);
	struct slob_tickreader *r;
	struct slob_tickcsv_opts co = {
	    .tick_size = o->tick_size, .skip_bad = o->skip_bad, .backwards_tol_ns = o->tol_ns};
	if (slob_tickreader_open(&r, path, SLOB_TICKFILE_AUTO, &co) < 0) {
		fprintf(stderr, "slob-data: %s\n", slob_tickfile_strerror());
		return 1;
	}
	const struct slob_tickbin_hdr *h = slob_tickreader_header(r);
	double tick = h ? h->tick_size : o->tick_size;
	int64_t tn = slob_tick_nano(tick);
	struct slob_tick t;
	uint64_t n = 0, vol = 0;
	int64_t first = 0, last = 0;
	int32_t lo = INT32_MAX, hi = INT32_MIN;
	int rc;
	while ((rc = slob_tickreader_next(r, &t)) > 0) {
		if (!n)
			first = t.ts_ns;
		last = t.ts_ns;
		lo = t.px < lo ? t.px : lo;
		hi = t.px > hi ? t.px : hi;
		vol += t.size;
		n++;
	}
	if (rc < 0) {
		fprintf(stderr, "slob-data: %s\n", slob_tickfile_strerror());
		slob_tickreader_close(r);
		return 1;
	}
	const struct slob_tickcheck *c = slob_tickreader_check(r);
	char a[48] = "-", b[48] = "-", pl[32] = "-", ph[32] = "-";
	if (n) {
		slob_format_time_iso(a, sizeof(a), first);
		slob_format_time_iso(b, sizeof(b), last);
		slob_format_price(pl, sizeof(pl), lo, tn);
		slob_format_price(ph, sizeof(ph), hi, tn);
	}
	printf("format: %s\n", h ? "binary" : "csv");
	if (h)
		printf("symbol: %s\ntick_size: %g\nheader_count: %llu\nchecksum: xxh3 %016llx ok\n",
		       h->symbol, h->tick_size, (unsigned long long)h->count,
		       (unsigned long long)h->body_xxh3);
	printf("ticks: %llu\nfirst: %s\nlast: %s\nprice_low: %s\nprice_high: %s\nvolume: %llu\n",
	       (unsigned long long)n, a, b, pl, ph, (unsigned long long)vol);
	/* the historical names first, then every validator reason */
	printf("rejected_price: %llu\nrejected_size: %llu\nrejected_backwards: %llu\n",
	       (unsigned long long)c->rej[SLOB_TICKREJ_BAD_PRICE],
	       (unsigned long long)c->rej[SLOB_TICKREJ_BAD_SIZE],
	       (unsigned long long)c->rej[SLOB_TICKREJ_TS_BACKWARDS]);
	for (unsigned i = 0; i < SLOB_TICKREJ_N; i++)
		printf("rejected_%s: %llu\n", slob_tickrej_name(i), (unsigned long long)c->rej[i]);
	printf("skipped_lines: %llu\n", (unsigned long long)slob_tickreader_bad_lines(r));
	int dirty = slob_tickcheck_rejected(c) || slob_tickreader_bad_lines(r);
	slob_tickreader_close(r);
	return verify && dirty ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.symbol = "NQ", .tick_size = 0.25, .tol_ns = SLOB_NS_PER_SEC};
	const char *pos[3];
	int np = 0;
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--symbol") && i + 1 < argc) {
			o.symbol = argv[++i];
		} else if (!strcmp(a, "--tick-size") && i + 1 < argc) {
			char *e;
			o.tick_size = strtod(argv[++i], &e);
			if (*e || !slob_tick_nano(o.tick_size)) {
				fprintf(stderr,
					"slob-data: --tick-size '%s': must be a number > 0\n",
					argv[i]);
				return 2;
			}
		} else if (!strcmp(a, "--tolerance-ms") && i + 1 < argc) {
			char *e;
			long v = strtol(argv[++i], &e, 10);
			if (*e || v < 0) {
				fprintf(stderr,
					"slob-data: --tolerance-ms '%s': must be an integer >= 0\n",
					argv[i]);
				return 2;
			}
			o.tol_ns = v * 1000000LL;
		} else if (!strcmp(a, "--skip-bad")) {
			o.skip_bad = 1;
		} else if (!strcmp(a, "--iso")) {
			o.iso = 1;
		} else if (!strcmp(a, "--bars")) {
			o.bars = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "slob-data: unknown option '%s'\n", a);
			return usage();
		} else if (np < 3) {
			pos[np++] = a;
		} else {
			return usage();
		}
	}
	if (!strcmp(cmd, "csv2bin") && np == 2)
		return cmd_convert(&o, pos[0], pos[1], 1);
	if (!strcmp(cmd, "bin2csv") && np == 2)
		return cmd_convert(&o, pos[0], pos[1], 0);
	if (!strcmp(cmd, "info") && np == 1)
		return cmd_info(&o, pos[0], 0);
	if (!strcmp(cmd, "verify") && np == 1)
		return cmd_info(&o, pos[0], 1);
	return usage();
}
