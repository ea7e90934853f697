/* SPDX-License-Identifier: MIT */
/*
 * test_risk_doc.c: docs/RISK.md's table of reason codes ("Order of checks
 * and reason codes") against the engine's enum and slob_risk_reason_name().
 * Operators read the code in a decisions row or a log line and look it up
 * in that table: every row's code must carry the row's name, every reason
 * the engine has must be in the table, and a row listing several codes
 * (the breaker row) must name each of the others in its text.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/risk.h"

static char *read_doc(void)
{
	const char *src = getenv("SLOB_SOURCE_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/docs/RISK.md", src ? src : ".");
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		print_error("cannot open %s (set SLOB_SOURCE_DIR)\n", path);
		return NULL;
	}
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Copies cell i (0-based) of a "| a | b | c |" line into out, trimmed. */
static int cell(const char *line, int i, char *out, size_t len)
{
	const char *p = line;
	for (int k = 0; k <= i; k++) {
		p = strchr(p, '|');
		if (p == NULL)
			return -1;
		p++;
	}
	const char *e = strchr(p, '|');
	if (e == NULL)
		return -1;
	while (p < e && *p == ' ')
		p++;
	while (e > p && e[-1] == ' ')
		e--;
	snprintf(out, len, "%.*s", (int)(e - p), p);
	return 0;
}

static void test_table_matches_enum(void **state)
{
	(void)state;
	char *doc = read_doc();
	assert_non_null(doc);
	char *sec = strstr(doc, "## Order of checks and reason codes");
	assert_non_null(sec);
	char *end = strstr(sec + 3, "\n## ");
	if (end)
		*end = '\0';
	bool seen[SLOB_RISK_REASON_MAX] = {false};
	unsigned rows = 0, bad = 0;
	char *lsave = NULL;
	for (char *line = strtok_r(sec, "\n", &lsave); line; line = strtok_r(NULL, "\n", &lsave)) {
		char codes[64], name[64], text[1024];
		if (line[0] != '|' || cell(line, 0, codes, sizeof(codes)) < 0 ||
		    cell(line, 1, name, sizeof(name)) < 0 || cell(line, 2, text, sizeof(text)) < 0)
			continue;
		if (codes[0] < '0' || codes[0] > '9')
			continue; /* header and separator */
		rows++;
		size_t nl = strlen(name);
		if (nl >= 2 && name[0] == '`' && name[nl - 1] == '`') {
			memmove(name, name + 1, nl - 2);
			name[nl - 2] = '\0';
		}
		int k = 0;
		char *save = NULL;
		for (char *c = strtok_r(codes, "/", &save); c; c = strtok_r(NULL, "/", &save), k++) {
			char *e;
			unsigned long code = strtoul(c, &e, 10);
			if (*e != '\0' || code >= SLOB_RISK_REASON_MAX) {
				print_error("RISK.md row '%s': code '%s' is no reason code (0..%d)\n",
					    name, c, SLOB_RISK_REASON_MAX - 1);
				bad++;
				break;
			}
			seen[code] = true;
			const char *want = slob_risk_reason_name((unsigned)code);
			if (k == 0 && strcmp(want, name) != 0) {
				print_error("RISK.md: code %lu is listed as `%s`, the engine "
					    "names it `%s`\n",
					    code, name, want);
				bad++;
			}
			char quoted[80];
			snprintf(quoted, sizeof(quoted), "`%s`", want);
			if (k > 0 && strstr(text, quoted) == NULL) {
				print_error("RISK.md row `%s`: code %lu (`%s`) is not named in "
					    "its text\n",
					    name, code, want);
				bad++;
			}
		}
	}
	for (unsigned r = 0; r < SLOB_RISK_REASON_MAX; r++)
		if (!seen[r]) {
			print_error("RISK.md: reason %u (`%s`) is missing from the table\n", r,
				    slob_risk_reason_name(r));
			bad++;
		}
	assert_true(rows >= SLOB_RISK_REASON_MAX - 3);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_matches_enum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
