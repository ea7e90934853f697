/* SPDX-License-Identifier: MIT */
/*
 * topology.c: declaration, validation, layout parsing and instantiation of a
 * pipeline topology (engine/topology.h). Everything here is cold path: it
 * runs before the threads start or after they stop.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/topology.h"

SLOB_PRINTF(2, 3)
static int topo_err(struct slob_topology *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool name_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* Checks a name; returns 0, -EINVAL or -ENAMETOOLONG with a message. */
static int check_name(struct slob_topology *t, const char *kind, const char *name)
{
	if (name == NULL || name[0] == '\0') {
		topo_err(t, "%s name is empty", kind);
		return -EINVAL;
	}
	size_t n = strlen(name);
	if (n >= SLOB_TOPO_NAME_MAX) {
		topo_err(t, "%s name '%.40s' is longer than %d characters", kind, name,
			 SLOB_TOPO_NAME_MAX - 1);
		return -ENAMETOOLONG;
	}
	for (size_t i = 0; i < n; i++)
		if (!name_char((unsigned char)name[i])) {
			topo_err(t,
				 "%s name '%s' has an invalid character '%c' (allowed: A-Z a-z 0-9 "
				 "_ . -)",
				 kind, name, name[i]);
			return -EINVAL;
		}
	return 0;
}

static void copy_name(char dst[SLOB_TOPO_NAME_MAX], const char *src)
{
	snprintf(dst, SLOB_TOPO_NAME_MAX, "%s", src);
}

static int find_stage(const struct slob_topology *t, const char *name)
{
	for (unsigned i = 0; i < t->nstages; i++)
		if (strcmp(t->stages[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int find_ring(const struct slob_topology *t, const char *name)
{
	for (unsigned i = 0; i < t->nrings; i++)
		if (strcmp(t->rings[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int find_thread(const struct slob_topology *t, const char *name)
{
	for (unsigned i = 0; i < t->nthreads; i++)
		if (strcmp(t->threads[i].name, name) == 0)
			return (int)i;
	return -1;
}

void slob_topo_init(struct slob_topology *t)
{
	memset(t, 0, sizeof(*t));
}

const char *slob_topo_strerror(const struct slob_topology *t)
{
	return t->err;
}

int slob_topo_add_stage(struct slob_topology *t, const char *name, slob_stage_t *st)
{
	int rc = check_name(t, "stage", name);
	if (rc < 0)
		return rc;
	if (find_stage(t, name) >= 0) {
		topo_err(t, "stage '%s' is declared twice", name);
		return -EEXIST;
	}
	if (t->nstages >= SLOB_TOPO_MAX_STAGES) {
		topo_err(t, "too many stages (at most %d): cannot add '%s'", SLOB_TOPO_MAX_STAGES,
			 name);
		return -E2BIG;
	}
	struct slob_topo_stage *s = &t->stages[t->nstages++];
	copy_name(s->name, name);
	s->stage = st;
	s->thread = -1;
	t->validated = false;
	return 0;
}

int slob_topo_bind_stage(struct slob_topology *t, const char *name, slob_stage_t *st)
{
	if (name == NULL || st == NULL)
		return topo_err(t, "bind: stage name and object are required");
	int i = find_stage(t, name);
	if (i < 0) {
		topo_err(t, "bind: unknown stage '%s'", name);
		return -ENOENT;
	}
	t->stages[i].stage = st;
	return 0;
}

static int add_end(struct slob_topology *t, struct slob_topo_ring *r, const char *stage,
		   enum slob_topo_end end)
{
	int rc =
	    check_name(t, end == SLOB_TOPO_PRODUCER ? "producer stage" : "consumer stage", stage);
	if (rc < 0)
		return rc;
	char(*names)[SLOB_TOPO_NAME_MAX] = end == SLOB_TOPO_PRODUCER ? r->prod : r->cons;
	unsigned int *n = end == SLOB_TOPO_PRODUCER ? &r->nprod : &r->ncons;
	if (*n < 2)
		copy_name(names[*n], stage);
	(*n)++;
	t->validated = false;
	return 0;
}

int slob_topo_add_ring(struct slob_topology *t, const char *name, unsigned int capacity,
		       unsigned int rec_size, const char *producer, const char *consumer)
{
	int rc = check_name(t, "ring", name);
	if (rc < 0)
		return rc;
	if (find_ring(t, name) >= 0) {
		topo_err(t, "ring '%s' is declared twice", name);
		return -EEXIST;
	}
	if (!slob_is_pow2(capacity) || capacity < 2)
		return topo_err(t, "ring '%s': capacity %u is not a power of two >= 2", name,
				capacity);
	if (rec_size == 0)
		return topo_err(t, "ring '%s': record size is 0", name);
	if (t->nrings >= SLOB_TOPO_MAX_RINGS) {
		topo_err(t, "too many rings (at most %d): cannot add '%s'", SLOB_TOPO_MAX_RINGS,
			 name);
		return -E2BIG;
	}
	struct slob_topo_ring *r = &t->rings[t->nrings];
	memset(r, 0, sizeof(*r));
	copy_name(r->name, name);
	r->capacity = capacity;
	r->rec_size = rec_size;
	if (producer != NULL && (rc = add_end(t, r, producer, SLOB_TOPO_PRODUCER)) < 0)
		return rc;
	if (consumer != NULL && (rc = add_end(t, r, consumer, SLOB_TOPO_CONSUMER)) < 0)
		return rc;
	t->nrings++;
	t->validated = false;
	return 0;
}

int slob_topo_attach(struct slob_topology *t, const char *ring, const char *stage,
		     enum slob_topo_end end)
{
	if (ring == NULL || (end != SLOB_TOPO_PRODUCER && end != SLOB_TOPO_CONSUMER))
		return topo_err(t, "attach: ring name and end are required");
	int i = find_ring(t, ring);
	if (i < 0) {
		topo_err(t, "attach: unknown ring '%s'", ring);
		return -ENOENT;
	}
	return add_end(t, &t->rings[i], stage, end);
}

int slob_topo_add_thread(struct slob_topology *t, const char *name, int cpu, enum slob_wait wait)
{
	int rc = check_name(t, "thread", name);
	if (rc < 0)
		return rc;
	if (find_thread(t, name) >= 0) {
		topo_err(t, "thread '%s' is declared twice", name);
		return -EEXIST;
	}
	if (cpu < -1)
		return topo_err(t, "thread '%s': CPU %d is not a CPU number (or -1)", name, cpu);
	if ((unsigned)wait > SLOB_WAIT_BLOCK)
		return topo_err(t, "thread '%s': unknown wait strategy %d", name, (int)wait);
	if (t->nthreads >= SLOB_TOPO_MAX_THREADS) {
		topo_err(t, "too many threads (at most %d): cannot add '%s'", SLOB_TOPO_MAX_THREADS,
			 name);
		return -E2BIG;
	}
	struct slob_topo_thread *th = &t->threads[t->nthreads++];
	memset(th, 0, sizeof(*th));
	copy_name(th->name, name);
	th->cpu = cpu;
	th->wait = wait;
	th->thr.efd = -1;
	t->validated = false;
	return 0;
}

int slob_topo_assign(struct slob_topology *t, const char *thread, const char *stage)
{
	int i = thread ? find_thread(t, thread) : -1;
	if (i < 0) {
		topo_err(t, "assign: unknown thread '%s'", thread ? thread : "(null)");
		return -ENOENT;
	}
	int rc = check_name(t, "stage", stage);
	if (rc < 0)
		return rc;
	struct slob_topo_thread *th = &t->threads[i];
	if (th->nstages > SLOB_THREAD_MAX_STAGES) {
		topo_err(t, "thread '%s' has more than %d stages", th->name,
			 SLOB_THREAD_MAX_STAGES);
		return -E2BIG;
	}
	/* one slot past the limit is kept so validate can name the problem */
	copy_name(th->stages[th->nstages++], stage);
	t->validated = false;
	return 0;
}

/* ---- layout string ---------------------------------------------------- */

struct lex {
	const char *s; /* whole layout */
	size_t pos;
};

static void lex_ws(struct lex *l)
{
	while (l->s[l->pos] == ' ' || l->s[l->pos] == '\t' || l->s[l->pos] == '\n' ||
	       l->s[l->pos] == '\r')
		l->pos++;
}

/* Reads a NAME token into out; returns 0 or -EINVAL with a message. */
static int lex_name(struct slob_topology *t, struct lex *l, const char *what,
		    char out[SLOB_TOPO_NAME_MAX])
{
	lex_ws(l);
	size_t start = l->pos;
	while (name_char((unsigned char)l->s[l->pos]))
		l->pos++;
	size_t n = l->pos - start;
	if (n == 0) {
		char c = l->s[l->pos];
		if (c == '\0')
			return topo_err(t, "layout column %zu: expected %s, found end of text",
					start + 1, what);
		return topo_err(t, "layout column %zu: expected %s, found '%c'", start + 1, what,
				c);
	}
	if (n >= SLOB_TOPO_NAME_MAX)
		return topo_err(t, "layout column %zu: %s '%.*s' is longer than %d characters",
				start + 1, what, (int)n, l->s + start, SLOB_TOPO_NAME_MAX - 1);
	memcpy(out, l->s + start, n);
	out[n] = '\0';
	lex_ws(l);
	return 0;
}

int slob_topo_parse_layout(struct slob_topology *t, const char *layout)
{
	if (layout == NULL)
		return topo_err(t, "layout is missing");
	struct lex l = {layout, 0};
	unsigned nparsed = 0;
	for (;;) {
		lex_ws(&l);
		if (l.s[l.pos] == '\0')
			break;
		char tname[SLOB_TOPO_NAME_MAX], sname[SLOB_TOPO_NAME_MAX];
		size_t tcol = l.pos + 1;
		int rc = lex_name(t, &l, "a thread name", tname);
		if (rc < 0)
			return rc;
		if (l.s[l.pos] != '=')
			return topo_err(t, "layout column %zu: expected '=' after thread name '%s'",
					l.pos + 1, tname);
		l.pos++;
		if (find_thread(t, tname) >= 0)
			return topo_err(t, "layout column %zu: thread '%s' appears twice", tcol,
					tname);
		/* add the thread first with defaults; cpu/wait are patched below */
		rc = slob_topo_add_thread(t, tname, -1, SLOB_WAIT_SPIN);
		if (rc < 0) {
			char why[sizeof(t->err)];
			memcpy(why, t->err, sizeof(why));
			topo_err(t, "layout column %zu: %s", tcol, why);
			return rc;
		}
		struct slob_topo_thread *th = &t->threads[t->nthreads - 1];
		for (;;) {
			size_t scol = l.pos + 1;
			rc = lex_name(t, &l, "a stage name", sname);
			if (rc < 0)
				return rc;
			for (unsigned k = 0; k < th->nstages; k++)
				if (strcmp(th->stages[k], sname) == 0)
					return topo_err(t,
							"layout column %zu: stage '%s' is listed "
							"twice on thread '%s'",
							scol, sname, tname);
			if (th->nstages >= SLOB_THREAD_MAX_STAGES)
				return topo_err(
				    t, "layout column %zu: thread '%s' has more than %d stages",
				    scol, tname, SLOB_THREAD_MAX_STAGES);
			copy_name(th->stages[th->nstages++], sname);
			if (l.s[l.pos] != ',')
				break;
			l.pos++;
		}
		if (l.s[l.pos] == '@') {
			l.pos++;
			lex_ws(&l);
			size_t ccol = l.pos + 1;
			if (l.s[l.pos] == '-' && !isdigit((unsigned char)l.s[l.pos + 1])) {
				th->cpu = -1;
				l.pos++;
			} else if (isdigit((unsigned char)l.s[l.pos])) {
				long v = 0;
				while (isdigit((unsigned char)l.s[l.pos])) {
					v = v * 10 + (l.s[l.pos++] - '0');
					if (v > 4095)
						return topo_err(
						    t,
						    "layout column %zu: CPU number for thread '%s' "
						    "is out of range (0..4095)",
						    ccol, tname);
				}
				th->cpu = (int)v;
			} else {
				return topo_err(t,
						"layout column %zu: expected a CPU number or '-' "
						"after '@' for thread '%s'",
						ccol, tname);
			}
			lex_ws(&l);
		}
		if (l.s[l.pos] == ':') {
			l.pos++;
			char wname[SLOB_TOPO_NAME_MAX];
			size_t wcol = l.pos + 1;
			rc = lex_name(t, &l, "a wait strategy (spin, yield, block)", wname);
			if (rc < 0)
				return rc;
			if (slob_wait_parse(wname, &th->wait) < 0)
				return topo_err(t,
						"layout column %zu: unknown wait strategy '%s' for "
						"thread '%s' (spin, yield, block)",
						wcol, wname, tname);
		}
		nparsed++;
		if (l.s[l.pos] == ';') {
			l.pos++;
			continue;
		}
		if (l.s[l.pos] != '\0')
			return topo_err(t,
					"layout column %zu: unexpected '%c' after thread '%s' "
					"(expected ',', '@', ':' or ';')",
					l.pos + 1, l.s[l.pos], tname);
	}
	if (nparsed == 0)
		return topo_err(t, "layout is empty: expected e.g. "
				   "\"hot=ingest,candles@0:spin;cold=cold@1:block\"");
	t->validated = false;
	return 0;
}

const char *slob_topo_default_layout(int ncpus)
{
	if (ncpus <= 1)
		return "hot=ingest,candles,detector,risk,sender@-:yield;cold=cold@-:block";
	if (ncpus < 6)
		return "hot=ingest,candles,detector,risk,sender@0:spin;cold=cold@1:block";
	return "ingest=ingest@1:spin;candles=candles@2:spin;detector=detector@3:spin;"
	       "risk=risk@4:spin;sender=sender@5:spin;cold=cold@0:block";
}

/* ---- validation ------------------------------------------------------- */

static int system_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	return n > 0 ? (int)n : 1;
}

int slob_topo_validate(struct slob_topology *t)
{
	t->validated = false;
	t->err[0] = '\0';
	if (t->nstages == 0)
		return topo_err(t, "topology has no stages");
	if (t->nthreads == 0)
		return topo_err(t, "topology has no threads");
	int ncpus = t->ncpus > 0 ? t->ncpus : system_cpus();
	for (unsigned i = 0; i < t->nstages; i++)
		t->stages[i].thread = -1;
	for (unsigned i = 0; i < t->nthreads; i++) {
		struct slob_topo_thread *th = &t->threads[i];
		if (th->cpu >= ncpus)
			return topo_err(
			    t, "thread '%s': CPU %d is out of range (this machine has CPUs 0..%d)",
			    th->name, th->cpu, ncpus - 1);
		if (th->nstages == 0)
			return topo_err(t, "thread '%s' runs no stage", th->name);
		if (th->nstages > SLOB_THREAD_MAX_STAGES)
			return topo_err(t, "thread '%s' has more than %d stages", th->name,
					SLOB_THREAD_MAX_STAGES);
		for (unsigned k = 0; k < th->nstages; k++) {
			int s = find_stage(t, th->stages[k]);
			if (s < 0)
				return topo_err(t, "thread '%s' names unknown stage '%s'", th->name,
						th->stages[k]);
			if (t->stages[s].thread >= 0) {
				if (t->stages[s].thread == (int)i)
					return topo_err(t,
							"stage '%s' is listed twice on thread '%s'",
							th->stages[k], th->name);
				return topo_err(t, "stage '%s' is on two threads: '%s' and '%s'",
						th->stages[k], t->threads[t->stages[s].thread].name,
						th->name);
			}
			t->stages[s].thread = (int)i;
		}
	}
	for (unsigned i = 0; i < t->nstages; i++)
		if (t->stages[i].thread < 0)
			return topo_err(t, "stage '%s' is on no thread", t->stages[i].name);
	for (unsigned i = 0; i < t->nrings; i++) {
		struct slob_topo_ring *r = &t->rings[i];
		if (!slob_is_pow2(r->capacity) || r->capacity < 2)
			return topo_err(t, "ring '%s': capacity %u is not a power of two >= 2",
					r->name, r->capacity);
		if (r->rec_size == 0)
			return topo_err(t, "ring '%s': record size is 0", r->name);
		if (r->nprod == 0)
			return topo_err(t, "ring '%s' has no producer", r->name);
		if (r->nprod > 1)
			return topo_err(t,
					"ring '%s' has %u producers: '%s' and '%s' (an SPSC ring "
					"has exactly one)",
					r->name, r->nprod, r->prod[0], r->prod[1]);
		if (r->ncons == 0)
			return topo_err(t, "ring '%s' has no consumer", r->name);
		if (r->ncons > 1)
			return topo_err(t,
					"ring '%s' has %u consumers: '%s' and '%s' (an SPSC ring "
					"has exactly one)",
					r->name, r->ncons, r->cons[0], r->cons[1]);
		if (find_stage(t, r->prod[0]) < 0)
			return topo_err(t, "ring '%s': producer '%s' is not a declared stage",
					r->name, r->prod[0]);
		if (find_stage(t, r->cons[0]) < 0)
			return topo_err(t, "ring '%s': consumer '%s' is not a declared stage",
					r->name, r->cons[0]);
	}
	t->validated = true;
	return 0;
}

/* ---- instantiation ---------------------------------------------------- */

int slob_topo_create_rings(struct slob_topology *t)
{
	if (!t->validated)
		return topo_err(t, "create rings: topology is not validated");
	for (unsigned i = 0; i < t->nrings; i++) {
		struct slob_topo_ring *r = &t->rings[i];
		if (r->created)
			continue;
		int rc = slob_ring_init(&r->ring, r->name, r->capacity, r->rec_size);
		if (rc < 0) {
			snprintf(t->err, sizeof(t->err), "%s", slob_ring_strerror());
			return rc;
		}
		r->created = true;
	}
	return 0;
}

slob_ring_t *slob_topo_ring(struct slob_topology *t, const char *name)
{
	int i = name ? find_ring(t, name) : -1;
	if (i < 0 || !t->rings[i].created)
		return NULL;
	return &t->rings[i].ring;
}

int slob_topo_stage_thread(const struct slob_topology *t, const char *name)
{
	int i = name ? find_stage(t, name) : -1;
	return i < 0 ? -1 : t->stages[i].thread;
}

slob_thread_t *slob_topo_thread(struct slob_topology *t, const char *name)
{
	int i = name ? find_thread(t, name) : -1;
	return i < 0 ? NULL : &t->threads[i].thr;
}

static int check_ready(struct slob_topology *t)
{
	if (!t->validated)
		return topo_err(t, "topology is not validated");
	for (unsigned i = 0; i < t->nrings; i++)
		if (!t->rings[i].created)
			return topo_err(t, "ring '%s' is not created (slob_topo_create_rings)",
					t->rings[i].name);
	for (unsigned i = 0; i < t->nstages; i++)
		if (t->stages[i].stage == NULL || t->stages[i].stage->poll == NULL)
			return topo_err(t, "stage '%s' has no object or no poll function",
					t->stages[i].name);
	return 0;
}

/* Declares each ring as an input of its consumer stage (stage.h: inputs),
 * so a done()-less stage drains its inputs before it counts as finished. */
static int wire_inputs(struct slob_topology *t)
{
	for (unsigned i = 0; i < t->nrings; i++) {
		slob_stage_t *st = t->stages[find_stage(t, t->rings[i].cons[0])].stage;
		slob_ring_t *r = &t->rings[i].ring;
		bool have = false;
		for (unsigned k = 0; k < st->ninputs; k++)
			have |= st->inputs[k] == r;
		if (have)
			continue;
		if (st->ninputs >= SLOB_STAGE_MAX_INPUTS)
			return topo_err(t, "stage '%s' consumes more than %d rings",
					t->rings[i].cons[0], SLOB_STAGE_MAX_INPUTS);
		st->inputs[st->ninputs++] = r;
	}
	return 0;
}

static int join_one(struct slob_topo_thread *th, int *first)
{
	if (!th->started)
		return 0;
	int rc = slob_thread_join(&th->thr);
	th->started = false;
	if (rc < 0 && *first == 0)
		*first = rc;
	return rc;
}

int slob_topo_abort(struct slob_topology *t)
{
	int first = 0;
	for (unsigned i = 0; i < t->nthreads; i++)
		if (t->threads[i].started)
			slob_thread_abort(&t->threads[i].thr);
	for (unsigned i = 0; i < t->nthreads; i++)
		join_one(&t->threads[i], &first);
	return first;
}

static int start_failed(struct slob_topology *t, const struct slob_topo_thread *th, int rc)
{
	if (th->cpu >= 0)
		snprintf(t->err, sizeof(t->err), "thread '%s' (CPU %d) could not start: %s",
			 th->name, th->cpu, strerror(-rc));
	else
		snprintf(t->err, sizeof(t->err), "thread '%s' could not start: %s", th->name,
			 strerror(-rc));
	char keep[sizeof(t->err)];
	memcpy(keep, t->err, sizeof(keep));
	slob_topo_abort(t);
	memcpy(t->err, keep, sizeof(keep));
	return rc;
}

int slob_topo_start(struct slob_topology *t)
{
	int rc = check_ready(t);
	if (rc == 0)
		rc = wire_inputs(t);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < t->nthreads; i++)
		if (t->threads[i].started)
			return topo_err(t, "thread '%s' is already running", t->threads[i].name);
	/* every thread object is complete before the first one runs: a running
	 * stage may already wake a thread of a later one (slob_thread_wake) */
	for (unsigned i = 0; i < t->nthreads; i++) {
		struct slob_topo_thread *th = &t->threads[i];
		slob_thread_destroy(&th->thr);
		rc = slob_thread_init(&th->thr, th->name, th->cpu, th->wait);
		for (unsigned k = 0; rc == 0 && k < th->nstages; k++)
			rc = slob_thread_add(&th->thr,
					     t->stages[find_stage(t, th->stages[k])].stage);
		if (rc < 0)
			return start_failed(t, th, rc);
	}
	for (unsigned i = 0; i < t->nthreads; i++) {
		struct slob_topo_thread *th = &t->threads[i];
		rc = slob_thread_start(&th->thr);
		if (rc < 0)
			return start_failed(t, th, rc);
		th->started = true;
	}
	return 0;
}

/*
 * Thread stop order (design note 3): Kahn's algorithm over the thread graph;
 * `order` receives thread indexes, `level` the wave each belongs to (threads
 * of one wave are stopped together: independent ones, or a cycle).
 */
static void stop_order(const struct slob_topology *t, unsigned order[], unsigned level[])
{
	unsigned n = t->nthreads;
	bool edge[SLOB_TOPO_MAX_THREADS][SLOB_TOPO_MAX_THREADS] = {{false}};
	unsigned indeg[SLOB_TOPO_MAX_THREADS] = {0};
	bool placed[SLOB_TOPO_MAX_THREADS] = {false};
	for (unsigned i = 0; i < t->nrings; i++) {
		int a = slob_topo_stage_thread(t, t->rings[i].prod[0]);
		int b = slob_topo_stage_thread(t, t->rings[i].cons[0]);
		if (a >= 0 && b >= 0 && a != b && !edge[a][b]) {
			edge[a][b] = true;
			indeg[b]++;
		}
	}
	unsigned done = 0, wave = 0;
	while (done < n) {
		unsigned start = done;
		for (unsigned i = 0; i < n; i++)
			if (!placed[i] && indeg[i] == 0) {
				order[done] = i;
				level[done++] = wave;
			}
		if (done == start) {
			/* cycle: everything left goes in one wave */
			for (unsigned i = 0; i < n; i++)
				if (!placed[i]) {
					order[done] = i;
					level[done++] = wave;
				}
		}
		for (unsigned k = start; k < done; k++) {
			unsigned i = order[k];
			placed[i] = true;
			for (unsigned j = 0; j < n; j++)
				if (edge[i][j] && indeg[j] > 0)
					indeg[j]--;
		}
		wave++;
	}
}

int slob_topo_stop(struct slob_topology *t)
{
	unsigned order[SLOB_TOPO_MAX_THREADS], level[SLOB_TOPO_MAX_THREADS];
	int first = 0;
	stop_order(t, order, level);
	for (unsigned k = 0; k < t->nthreads;) {
		unsigned end = k;
		while (end < t->nthreads && level[end] == level[k])
			end++;
		for (unsigned j = k; j < end; j++)
			if (t->threads[order[j]].started)
				slob_thread_stop(&t->threads[order[j]].thr);
		for (unsigned j = k; j < end; j++)
			join_one(&t->threads[order[j]], &first);
		k = end;
	}
	return first;
}

int slob_topo_run_here(struct slob_topology *t)
{
	int rc = check_ready(t);
	if (rc == 0)
		rc = wire_inputs(t);
	if (rc < 0)
		return rc;
	if (t->nstages > SLOB_THREAD_MAX_STAGES) {
		topo_err(t, "run_here: %u stages, at most %d on one thread", t->nstages,
			 SLOB_THREAD_MAX_STAGES);
		return -E2BIG;
	}
	slob_thread_t one;
	t->err[0] = '\0';
	rc = slob_thread_init(&one, "replay", -1, SLOB_WAIT_SPIN);
	for (unsigned i = 0; rc == 0 && i < t->nthreads; i++)
		for (unsigned k = 0; rc == 0 && k < t->threads[i].nstages; k++)
			rc = slob_thread_add(
			    &one, t->stages[find_stage(t, t->threads[i].stages[k])].stage);
	if (rc == 0)
		rc = slob_thread_run_here(&one);
	if (rc < 0 && t->err[0] == '\0')
		snprintf(t->err, sizeof(t->err), "run_here: %s", strerror(-rc));
	slob_thread_destroy(&one);
	return rc;
}

void slob_topo_destroy(struct slob_topology *t)
{
	if (t == NULL)
		return;
	slob_topo_abort(t);
	for (unsigned i = 0; i < t->nthreads; i++) {
		if (t->threads[i].thr.efd >= 0)
			slob_thread_destroy(&t->threads[i].thr);
		t->threads[i].thr.efd = -1;
	}
	for (unsigned i = 0; i < t->nrings; i++) {
		if (t->rings[i].created)
			slob_ring_destroy(&t->rings[i].ring);
		t->rings[i].created = false;
	}
}
