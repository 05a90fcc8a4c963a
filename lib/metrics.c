/*
 * libfaas — metrics (Lambda's CloudWatch metrics, per executed version).
 *
 * Each version gets, on its first invocation, a block of FAAS_MSTRIPES
 * counter cells; a thread always adds to the same cell (picked round-robin
 * when it first counts), with relaxed atomics, so invocations on different
 * workers rarely share a cache line and never a lock. Readers sum the cells.
 * Durations go to a log-linear histogram: 4 buckets per power of two of
 * microseconds; a percentile is read back as the largest value its bucket
 * holds, at most 25 % above the truth.
 */
#include "dispatch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define FAAS_MSTRIPES 4
#define SUB 4
#define OCTAVES 40
#define NBUCKETS (OCTAVES * SUB)

struct faas_mcell {
	_Atomic uint64_t invocations, errors, throttles, timeouts, cold_starts;
	_Atomic uint64_t pc_invocations, pc_spillover;
	_Atomic uint64_t init_count, init_us, dur_count, dur_us;
	_Atomic uint64_t post_count, post_us; /* external extensions after the handler */
	_Atomic uint64_t bucket[NBUCKETS];
};

/* Shared by successive $LATEST objects of a function (an update does not
 * reset them), hence refcounted. */
struct faas_metrics {
	struct faas_mcell cell[FAAS_MSTRIPES];
	_Atomic long refs;
};

/* Totals of one version, summed over its cells. */
struct msum {
	uint64_t invocations, errors, throttles, timeouts, cold_starts;
	uint64_t pc_invocations, pc_spillover;
	uint64_t init_count, init_us, dur_count, dur_us;
	uint64_t post_count, post_us;
	uint64_t bucket[NBUCKETS];
};

static _Atomic unsigned next_stripe;

static struct faas_mcell *cell_of(struct faas_version *v)
{
	static FAAS_TLS unsigned stripe = UINT32_MAX;
	struct faas_metrics *m = atomic_load_explicit(&v->metrics, memory_order_acquire), *fresh;

	if (FAAS_UNLIKELY(!m)) {
		struct faas_metrics *none = NULL;
		fresh = faas__calloc_aligned(sizeof(*fresh));
		if (!fresh)
			return NULL; /* metrics are best effort: no memory, no count */
		atomic_init(&fresh->refs, 1);
		if (atomic_compare_exchange_strong(&v->metrics, &none, fresh)) {
			m = fresh;
		} else {
			faas__free(fresh);
			m = none;
		}
	}
	if (FAAS_UNLIKELY(stripe == UINT32_MAX))
		stripe = atomic_fetch_add(&next_stripe, 1) % FAAS_MSTRIPES;
	return &m->cell[stripe];
}

static void add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static unsigned bucket_of(uint64_t us)
{
	unsigned o, m;

	if (us == 0)
		return 0;
	o = 63u - (unsigned)__builtin_clzll(us);
	m = o >= 2 ? (unsigned)(us >> (o - 2)) & 3u : (unsigned)(us << (2 - o)) & 3u;
	return o >= OCTAVES ? NBUCKETS - 1 : o * SUB + m;
}

/* The largest whole number of microseconds a bucket holds. */
static double bucket_top_us(unsigned b)
{
	unsigned o = b / SUB, m = b % SUB;

	return ceil((double)(5 + m) * (double)(1ull << o) / 4.0) - 1.0;
}

void faas__metrics_invocation(struct faas_version *v, int outcome, uint64_t duration_ns,
                              bool created, bool init_measured, double init_ms)
{
	struct faas_mcell *c = cell_of(v);
	uint64_t us = duration_ns / 1000u;

	if (!c)
		return;
	add(&c->invocations, 1);
	if (outcome != FAAS_OUT_SUCCESS)
		add(&c->errors, 1);
	if (outcome == FAAS_OUT_TIMEOUT)
		add(&c->timeouts, 1);
	if (created)
		add(&c->cold_starts, 1);
	if (init_measured) {
		add(&c->init_count, 1);
		add(&c->init_us, (uint64_t)(init_ms * 1000.0));
	}
	add(&c->dur_count, 1);
	add(&c->dur_us, us);
	add(&c->bucket[bucket_of(us)], 1);
}

void faas__metrics_post_runtime(struct faas_version *v, uint64_t duration_ns)
{
	struct faas_mcell *c = cell_of(v);

	if (!c)
		return;
	add(&c->post_count, 1);
	add(&c->post_us, duration_ns / 1000u);
}

void faas__metrics_throttle(struct faas_version *v)
{
	struct faas_mcell *c = cell_of(v);

	if (c)
		add(&c->throttles, 1);
}

void faas__metrics_provisioned(struct faas_version *v, bool provisioned)
{
	struct faas_pc *pc = atomic_load(&v->pc);
	struct faas_mcell *c;

	if (!provisioned && atomic_load_explicit(&pc->capacity, memory_order_relaxed) == 0)
		return; /* no configuration in force: not a spillover */
	if ((c = cell_of(v)) != NULL)
		add(provisioned ? &c->pc_invocations : &c->pc_spillover, 1);
}

void faas__metrics_free(struct faas_version *v)
{
	struct faas_metrics *m = atomic_load(&v->metrics);

	if (m && atomic_fetch_sub(&m->refs, 1) == 1)
		faas__free(m);
}

void faas__metrics_inherit(struct faas_version *to, struct faas_version *from)
{
	struct faas_metrics *m = atomic_load(&from->metrics), *none = NULL;

	if (!m)
		return;
	atomic_fetch_add(&m->refs, 1);
	if (!atomic_compare_exchange_strong(&to->metrics, &none, m)) /* it counted already */
		atomic_fetch_sub(&m->refs, 1);
}

static void sum(const struct faas_version *v, struct msum *s)
{
	struct faas_metrics *m = atomic_load(&v->metrics);
	unsigned i, b;

	memset(s, 0, sizeof(*s));
	if (!m)
		return;
	for (i = 0; i < FAAS_MSTRIPES; i++) {
		const struct faas_mcell *c = &m->cell[i];
		s->invocations += atomic_load(&c->invocations);
		s->errors += atomic_load(&c->errors);
		s->throttles += atomic_load(&c->throttles);
		s->timeouts += atomic_load(&c->timeouts);
		s->cold_starts += atomic_load(&c->cold_starts);
		s->pc_invocations += atomic_load(&c->pc_invocations);
		s->pc_spillover += atomic_load(&c->pc_spillover);
		s->init_count += atomic_load(&c->init_count);
		s->init_us += atomic_load(&c->init_us);
		s->dur_count += atomic_load(&c->dur_count);
		s->dur_us += atomic_load(&c->dur_us);
		s->post_count += atomic_load(&c->post_count);
		s->post_us += atomic_load(&c->post_us);
		for (b = 0; b < NBUCKETS; b++)
			s->bucket[b] += atomic_load(&c->bucket[b]);
	}
}

/* The q-quantile's bucket upper bound, in ms; 0 with no data. */
static double quantile_ms(const struct msum *s, double q)
{
	uint64_t need, seen = 0, total = 0;
	unsigned b;

	for (b = 0; b < NBUCKETS; b++)
		total += s->bucket[b];
	if (total == 0)
		return 0;
	need = (uint64_t)(q * (double)total + 0.999999);
	if (need == 0)
		need = 1;
	for (b = 0; b < NBUCKETS; b++) {
		seen += s->bucket[b];
		if (seen >= need)
			return bucket_top_us(b) / 1000.0;
	}
	return bucket_top_us(NBUCKETS - 1) / 1000.0;
}

static int by_name_version(const void *a, const void *b)
{
	const struct faas_version *x = *(const struct faas_version *const *)a;
	const struct faas_version *y = *(const struct faas_version *const *)b;
	int c = strcmp(x->fn->name, y->fn->name);

	return c ? c : (x->number > y->number) - (x->number < y->number);
}

static int snapshot(faas_runtime_t *rt, struct faas_version ***arr, size_t *n, faas_error_detail_t *d)
{
	faas__detail_reset(d);
	if (!rt) /* readable after shutdown too: the final counts are its report */
		return faas__fail(d, FAAS_EINVAL, "runtime must not be NULL");
	if (faas__registry_versions_all(rt, arr, n) != 0)
		return faas__fail(d, FAAS_ENOMEM, NULL);
	if (*n)
		qsort(*arr, *n, sizeof(**arr), by_name_version);
	return 0;
}

static void release(struct faas_version **arr, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		faas__version_unref(arr[i]);
	faas__free(arr);
}

static json_t *version_json(const struct faas_version *v)
{
	char label[12];
	struct msum s;
	json_t *o;

	sum(v, &s);
	faas__version_label(v->number, label);
	o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:f,s:f,s:f,s:f},s:{s:I,s:f},s:{s:I,s:f}}",
	              "ExecutedVersion", label, "Invocations", (json_int_t)s.invocations, "Errors",
	              (json_int_t)s.errors, "Throttles", (json_int_t)s.throttles, "Timeouts",
	              (json_int_t)s.timeouts, "ColdStarts", (json_int_t)s.cold_starts, "Duration",
	              "Count", (json_int_t)s.dur_count, "SumMs", s.dur_us / 1000.0, "P50",
	              quantile_ms(&s, 0.5), "P90", quantile_ms(&s, 0.9), "P99",
	              quantile_ms(&s, 0.99), "InitDuration", "Count", (json_int_t)s.init_count,
	              "SumMs", s.init_us / 1000.0, "PostRuntimeExtensionsDuration", "Count",
	              (json_int_t)s.post_count, "SumMs", s.post_us / 1000.0);
	if (o && atomic_load(&v->pc) && /* Lambda emits these for provisioned versions only */
	    (json_object_set_new(o, "ProvisionedConcurrencyInvocations",
	                         json_integer((json_int_t)s.pc_invocations)) != 0 ||
	     json_object_set_new(o, "ProvisionedConcurrencySpilloverInvocations",
	                         json_integer((json_int_t)s.pc_spillover)) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int faas_metrics_json(faas_runtime_t *rt, json_t **out, faas_error_detail_t *d)
{
	struct faas_version **arr = NULL;
	json_t *root, *fns, *fn = NULL, *versions = NULL;
	const char *current = NULL;
	size_t n = 0, i;
	bool ok;
	int rc;

	faas__detail_reset(d); /* before the first failure: snapshot resets it again */
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	*out = NULL;
	if ((rc = snapshot(rt, &arr, &n, d)) != 0)
		return rc;
	root = json_pack("{s:I,s:I,s:[]}", "ConcurrentExecutions",
	                 (json_int_t)faas__conc_in_use(rt), "UnreservedConcurrentExecutions",
	                 (json_int_t)faas__conc_unreserved_in_use(rt), "Functions");
	fns = json_object_get(root, "Functions");
	ok = root != NULL && json_object_set_new(root, "Async", faas__async_metrics(rt)) == 0;
	for (i = 0; ok && i < n; i++) {
		if (!current || strcmp(current, arr[i]->fn->name) != 0) {
			current = arr[i]->fn->name;
			fn = json_pack("{s:s,s:[]}", "FunctionName", current, "Versions");
			versions = json_object_get(fn, "Versions");
			ok = json_array_append_new(fns, fn) == 0;
		}
		ok = ok && json_array_append_new(versions, version_json(arr[i])) == 0;
	}
	release(arr, n);
	if (!ok) {
		json_decref(root);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	*out = root;
	return 0;
}

/* A growing text buffer (malloc: the caller frees the result with free()). */
struct text {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct text *t, const char *fmt, ...) FAAS_PRINTF(2, 3);
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (t->failed)
			return;
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if (t->p && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
		char *q = realloc(t->p, cap);
		if (!q) {
			t->failed = true;
			return;
		}
		t->p = q;
		t->cap = cap;
	}
}

static const struct {
	const char *name, *help;
	size_t offset;
	bool provisioned; /* only for versions with provisioned concurrency */
} counters[] = {
	{ "faas_invocations_total", "Invocations (Lambda's Invocations).", offsetof(struct msum, invocations), false },
	{ "faas_errors_total", "Invocations that ended in a function error or timeout.", offsetof(struct msum, errors), false },
	{ "faas_throttles_total", "Invocations refused for concurrency (Lambda's Throttles).", offsetof(struct msum, throttles), false },
	{ "faas_timeouts_total", "Invocations that ran past their timeout.", offsetof(struct msum, timeouts), false },
	{ "faas_cold_starts_total", "Invocations that started an execution environment.", offsetof(struct msum, cold_starts), false },
	{ "faas_provisioned_concurrency_invocations_total", "Invocations served by provisioned concurrency.", offsetof(struct msum, pc_invocations), true },
	{ "faas_provisioned_concurrency_spillover_invocations_total", "Invocations of a provisioned version that ran on demand.", offsetof(struct msum, pc_spillover), true },
};

static void put_histogram(struct text *t, const char *fn, const char *ver, const struct msum *s)
{
	uint64_t cum = 0;
	unsigned b;

	for (b = 0; b < NBUCKETS; b++) {
		if (!s->bucket[b])
			continue;
		cum += s->bucket[b];
		put(t, "faas_duration_milliseconds_bucket{function=\"%s\",version=\"%s\",le=\"%.15g\"} %llu\n",
		    fn, ver, bucket_top_us(b) / 1000.0, (unsigned long long)cum);
	}
	/* +Inf and _count from the same sum as the buckets: monotonic even when
	 * read while invocations count */
	put(t, "faas_duration_milliseconds_bucket{function=\"%s\",version=\"%s\",le=\"+Inf\"} %llu\n", fn,
	    ver, (unsigned long long)cum);
	put(t, "faas_duration_milliseconds_sum{function=\"%s\",version=\"%s\"} %.15g\n", fn, ver,
	    s->dur_us / 1000.0);
	put(t, "faas_duration_milliseconds_count{function=\"%s\",version=\"%s\"} %llu\n", fn, ver,
	    (unsigned long long)cum);
}

int faas_metrics_prometheus(faas_runtime_t *rt, char **out, faas_error_detail_t *d)
{
	struct faas_version **arr = NULL;
	struct text t = { NULL, 0, 0, false };
	struct msum *sums;
	char (*labels)[12];
	size_t n = 0, i, k;
	int rc;

	faas__detail_reset(d); /* before the first failure: snapshot resets it again */
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	*out = NULL;
	if ((rc = snapshot(rt, &arr, &n, d)) != 0)
		return rc;
	sums = faas__calloc(n ? n : 1, sizeof(*sums));
	labels = faas__calloc(n ? n : 1, sizeof(*labels));
	if (!sums || !labels) {
		faas__free(sums);
		faas__free(labels);
		release(arr, n);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	for (i = 0; i < n; i++) {
		sum(arr[i], &sums[i]);
		faas__version_label(arr[i]->number, labels[i]);
	}
	for (k = 0; k < FAAS_ARRAY_SIZE(counters); k++) {
		bool any = !counters[k].provisioned;
		for (i = 0; i < n && !any; i++)
			any = atomic_load(&arr[i]->pc) != NULL;
		if (!any)
			continue;
		put(&t, "# HELP %s %s\n# TYPE %s counter\n", counters[k].name, counters[k].help,
		    counters[k].name);
		for (i = 0; i < n; i++)
			if (!counters[k].provisioned || atomic_load(&arr[i]->pc))
				put(&t, "%s{function=\"%s\",version=\"%s\"} %llu\n", counters[k].name,
				    arr[i]->fn->name, labels[i],
				    (unsigned long long)*(const uint64_t *)((const char *)&sums[i] +
				                                            counters[k].offset));
	}
	put(&t, "# HELP faas_duration_milliseconds Handler run time.\n"
	        "# TYPE faas_duration_milliseconds histogram\n");
	for (i = 0; i < n; i++)
		put_histogram(&t, arr[i]->fn->name, labels[i], &sums[i]);
	put(&t, "# HELP faas_post_runtime_extensions_duration_milliseconds External extensions' work "
	        "after the handler (Lambda's PostRuntimeExtensionsDuration).\n"
	        "# TYPE faas_post_runtime_extensions_duration_milliseconds summary\n");
	for (i = 0; i < n; i++) {
		put(&t, "faas_post_runtime_extensions_duration_milliseconds_sum{function=\"%s\",version=\"%s\"} "
		        "%.15g\n", arr[i]->fn->name, labels[i], sums[i].post_us / 1000.0);
		put(&t, "faas_post_runtime_extensions_duration_milliseconds_count{function=\"%s\",version=\"%s\"} "
		        "%llu\n", arr[i]->fn->name, labels[i], (unsigned long long)sums[i].post_count);
	}
	put(&t, "# HELP faas_concurrent_executions Tokens in use (Lambda's ConcurrentExecutions).\n"
	        "# TYPE faas_concurrent_executions gauge\nfaas_concurrent_executions %u\n",
	    faas__conc_in_use(rt));
	put(&t, "# HELP faas_unreserved_concurrent_executions Tokens of the unreserved pool in use.\n"
	        "# TYPE faas_unreserved_concurrent_executions gauge\n"
	        "faas_unreserved_concurrent_executions %u\n",
	    faas__conc_unreserved_in_use(rt));
	faas__free(sums);
	faas__free(labels);
	release(arr, n);
	if (t.failed) {
		free(t.p);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	*out = t.p;
	return 0;
}
