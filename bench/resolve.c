/*
 * libfaas bench — resolving names among 1 000 and among 100 000 functions.
 *
 * Runtime "small" holds the 1 000 functions whose names are cycled; runtime
 * "large" holds 100 000, those 1 000 among them (every 100th name). The
 * registry is a hash table per stripe (DESIGN §9.6), so a resolve should
 * cost about the same in both. Counted in instructions (callgrind, only the
 * resolve loop collected: the registrations are set-up). Timed as well,
 * reported only: the same cycled names in both runtimes, and uniform random
 * names among all 100 000, where cache misses show that instructions do not.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_SIZE 16
#define RESOLVE_WARMUP 1000L

struct names {
	char (*all)[NAME_SIZE];  /* "fn-000000" .. "fn-099999" */
	const char **cycled;     /* BENCH_RESOLVE_SMALL of them, every 100th */
};

static int names_new(struct names *nm)
{
	long i, stride = BENCH_RESOLVE_LARGE / BENCH_RESOLVE_SMALL;

	nm->all = malloc(BENCH_RESOLVE_LARGE * sizeof(*nm->all));
	nm->cycled = malloc(BENCH_RESOLVE_SMALL * sizeof(*nm->cycled));
	if (!nm->all || !nm->cycled)
		return -1;
	for (i = 0; i < BENCH_RESOLVE_LARGE; i++)
		snprintf(nm->all[i], NAME_SIZE, "fn-%06ld", i);
	for (i = 0; i < BENCH_RESOLVE_SMALL; i++)
		nm->cycled[i] = nm->all[i * stride];
	return 0;
}

static void names_free(struct names *nm)
{
	free(nm->all);
	free(nm->cycled);
}

/* An inline runtime (no worker threads: resolving never needs one) with
 * the cycled names only, or with all of them. */
static faas_runtime_t *resolve_runtime(const struct names *nm, int large, char *err, size_t errsize)
{
	faas_runtime_options_t opts = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	long i, n = large ? BENCH_RESOLVE_LARGE : BENCH_RESOLVE_SMALL;

	opts.inline_mode = 1;
	opts.seed = 1;
	cfg.handler = bench_noop;
	if (faas_runtime_new(&rt, &opts, &d) != 0) {
		snprintf(err, errsize, "faas_runtime_new: %.200s", d.message);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const char *name = large ? nm->all[i] : nm->cycled[i];
		if (faas_function_create(rt, name, &cfg, &d) != 0) {
			snprintf(err, errsize, "faas_function_create %s: %.160s", name, d.message);
			faas_runtime_free(rt);
			return NULL;
		}
	}
	return rt;
}

struct rs {
	faas_runtime_t *rt;
	const char **seq; /* the names to resolve, in order */
	long nseq;
};

static int step_resolve(void *arg, long i)
{
	struct rs *r = arg;
	uint32_t v = 1;

	if (faas_function_resolve(r->rt, r->seq[i % r->nseq], NULL, NULL, &v, NULL) != 0 ||
	    v != FAAS_VERSION_LATEST)
		return -1;
	return 0;
}

/* ---- counted: the loop callgrind runs ------------------------------------ */

int bench_resolve_loop(const char *mode, long n)
{
	struct names nm;
	struct rs r;
	char err[256];
	int rc = -1;
	long i;

	memset(&nm, 0, sizeof(nm));
	memset(&r, 0, sizeof(r));
	if (names_new(&nm) == 0 &&
	    (r.rt = resolve_runtime(&nm, strcmp(mode, "resolve-large") == 0, err, sizeof(err)))) {
		r.seq = nm.cycled;
		r.nseq = BENCH_RESOLVE_SMALL;
		for (rc = 0, i = 0; rc == 0 && i < RESOLVE_WARMUP; i++)
			rc = step_resolve(&r, i);
		if (rc == 0)
			rc = bench_measured(step_resolve, &r, n);
	} else {
		fprintf(stderr, "bench: %s\n", nm.all ? err : "out of memory");
	}
	faas_runtime_free(r.rt);
	names_free(&nm);
	return rc;
}

/* ---- reported: ns per resolve --------------------------------------------- */

/* ns per resolve of @p r->seq, each name once. */
static int timed(struct rs *r, double *ns)
{
	uint64_t t0 = bench_now_ns(CLOCK_MONOTONIC);
	long i;

	for (i = 0; i < r->nseq; i++)
		if (step_resolve(r, i) != 0)
			return -1;
	*ns = (double)(bench_now_ns(CLOCK_MONOTONIC) - t0) / (double)r->nseq;
	return 0;
}

/* Uniform random names among all of them (xorshift64*, fixed seed). */
static void uniform_seq(const struct names *nm, const char **seq, long n)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	long i;

	for (i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		seq[i] = nm->all[((x * 0x2545f4914f6cdd1dull) >> 11) % BENCH_RESOLVE_LARGE];
	}
}

static int time_runs(struct bench_resolve *out, faas_runtime_t *small, faas_runtime_t *large,
                     const char **cycled, const char **uniform)
{
	struct rs cs = { small, cycled, out->lookups }, cl = { large, cycled, out->lookups },
	          ul = { large, uniform, out->lookups };
	int r;

	/* one untimed pass of each: pages touched, caches as warm as they get */
	if (timed(&cs, &out->cycled_small[0]) || timed(&cl, &out->cycled_large[0]) ||
	    timed(&ul, &out->uniform[0]))
		return -1;
	for (r = 0; r < out->runs; r++)
		if (timed(&cs, &out->cycled_small[r]) || timed(&cl, &out->cycled_large[r]) ||
		    timed(&ul, &out->uniform[r]))
			return -1;
	return 0;
}

void bench_resolve_time(struct bench_resolve *out, int runs, long lookups)
{
	faas_runtime_t *small = NULL, *large = NULL;
	const char **cycled, **uniform;
	struct names nm;
	long i;

	memset(out, 0, sizeof(*out));
	memset(&nm, 0, sizeof(nm));
	out->runs = runs;
	out->lookups = lookups;
	cycled = malloc((size_t)lookups * sizeof(*cycled));
	uniform = malloc((size_t)lookups * sizeof(*uniform));
	if (!cycled || !uniform || names_new(&nm) != 0) {
		snprintf(out->err, sizeof(out->err), "out of memory");
	} else if ((small = resolve_runtime(&nm, 0, out->err, sizeof(out->err))) &&
	           (large = resolve_runtime(&nm, 1, out->err, sizeof(out->err)))) {
		for (i = 0; i < lookups; i++)
			cycled[i] = nm.cycled[i % BENCH_RESOLVE_SMALL];
		uniform_seq(&nm, uniform, lookups);
		if (time_runs(out, small, large, cycled, uniform) == 0)
			out->ok = 1;
		else
			snprintf(out->err, sizeof(out->err), "faas_function_resolve failed");
	}
	faas_runtime_free(small);
	faas_runtime_free(large);
	names_free(&nm);
	free(cycled);
	free(uniform);
}
