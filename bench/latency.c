/*
 * libfaas bench — timed round trips of a no-op handler, one caller thread.
 *
 * Every system runs the same handler on the same event and hands the
 * response back to the caller, which releases it: libfaas (inline and on
 * its worker pool), GLib's GThreadPool and libuv's uv_queue_work. Each call
 * is timed on its own with CLOCK_MONOTONIC, so p99 sees the slow calls a
 * mean would hide. Systems take turns inside every run (the order rotates)
 * so a slow phase of the machine hits them all alike.
 *
 * This runs in a child process: pinning must come before the first thread
 * (threads inherit the mask they are born with), and the libuv and GLib
 * pools keep their threads until the process ends.
 */
#include "gtp.h"

#include <uv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIRECT_CALLS 10000000L
#define CHUNKS 20                 /* turns per run (see one_run) */
#define TIMED (SYS_N - SYS_INLINE) /* systems timed call by call */

struct lat {
	json_t *event;
	faas_runtime_t *rt_inline;
	faas_runtime_t *rt_pool;
	faas_result_t result;
	GThreadPool *gtp;
	struct gtp_call gc;
	uv_loop_t loop;
	uv_work_t req;
	json_t *uv_response;
	int loop_ready;
	char *err;
	size_t errsize;
};

/* ---- libfaas ----------------------------------------------------------- */

static int faas_setup(struct lat *l, faas_runtime_t **rt, int inline_mode)
{
	faas_runtime_options_t opts = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d;

	opts.inline_mode = inline_mode;
	opts.seed = 1;
	if (faas_runtime_new(rt, &opts, &d) != 0) {
		snprintf(l->err, l->errsize, "faas_runtime_new: %s", d.message);
		return -1;
	}
	cfg.handler = bench_noop;
	if (faas_function_create(*rt, "noop", &cfg, &d) != 0) {
		snprintf(l->err, l->errsize, "faas_function_create: %s", d.message);
		return -1;
	}
	return 0;
}

/* One invoke; the payload must be the event itself (the handler increfs it). */
static int call_faas(struct lat *l, faas_runtime_t *rt)
{
	int rc = faas_invoke(rt, "noop", l->event, NULL, &l->result);
	int ok = rc == 0 && l->result.payload == l->event;

	if (!ok)
		snprintf(l->err, l->errsize, "faas_invoke: %d %s", rc, l->result.message);
	faas_result_clear(&l->result);
	return ok ? 0 : -1;
}

static int call_inline(struct lat *l)
{
	return call_faas(l, l->rt_inline);
}

static int call_pool(struct lat *l)
{
	return call_faas(l, l->rt_pool);
}

/* ---- GLib GThreadPool --------------------------------------------------- */

static int call_gtp(struct lat *l)
{
	json_t *response = gtp_round_trip(l->gtp, &l->gc);

	json_decref(response);
	if (response != l->event) {
		snprintf(l->err, l->errsize, "GThreadPool: wrong response");
		return -1;
	}
	return 0;
}

/* ---- libuv uv_queue_work ----------------------------------------------- */

static void uv_work(uv_work_t *req)
{
	struct lat *l = req->data;

	bench_handler(NULL, l->event, &l->uv_response, NULL);
}

/* Nothing to do: with its only request done, uv_run returns. */
static void uv_after(uv_work_t *req, int status)
{
	(void)req;
	(void)status;
}

static int call_uv(struct lat *l)
{
	int rc;

	l->uv_response = NULL;
	l->req.data = l;
	if ((rc = uv_queue_work(&l->loop, &l->req, uv_work, uv_after)) != 0 ||
	    (rc = uv_run(&l->loop, UV_RUN_DEFAULT)) != 0) {
		snprintf(l->err, l->errsize, "libuv: %s", uv_strerror(rc));
		return -1;
	}
	json_decref(l->uv_response);
	if (l->uv_response != l->event) {
		snprintf(l->err, l->errsize, "uv_queue_work: wrong response");
		return -1;
	}
	return 0;
}

/* ---- setup ------------------------------------------------------------- */

static int lat_setup(struct lat *l)
{
	faas_result_t init = FAAS_RESULT_INIT;
	GError *gerr = NULL;
	int rc;

	l->result = init;
	l->event = bench_small_event();
	if (!l->event || faas_setup(l, &l->rt_inline, 1) != 0 || faas_setup(l, &l->rt_pool, 0) != 0)
		return -1;
	gtp_call_init(&l->gc, l->event);
	/* One exclusive thread: a single caller never has two tasks in flight,
	 * and a dedicated thread is the closest match to a warm worker. */
	l->gtp = g_thread_pool_new(gtp_worker, NULL, 1, TRUE, &gerr);
	if (!l->gtp) {
		snprintf(l->err, l->errsize, "g_thread_pool_new: %s", gerr ? gerr->message : "?");
		g_clear_error(&gerr);
		return -1;
	}
	if ((rc = uv_loop_init(&l->loop)) != 0) {
		snprintf(l->err, l->errsize, "uv_loop_init: %s", uv_strerror(rc));
		return -1;
	}
	l->loop_ready = 1;
	return 0;
}

static void lat_teardown(struct lat *l)
{
	if (l->gtp)
		g_thread_pool_free(l->gtp, FALSE, TRUE);
	if (l->loop_ready)
		uv_loop_close(&l->loop);
	faas_runtime_free(l->rt_inline);
	faas_runtime_free(l->rt_pool);
	json_decref(l->event);
}

/* ---- measuring ---------------------------------------------------------- */

typedef int (*call_fn)(struct lat *l);

static call_fn call_of(enum bench_sys s)
{
	switch (s) {
	case SYS_INLINE: return call_inline;
	case SYS_FAAS: return call_pool;
	case SYS_GTP: return call_gtp;
	case SYS_UV: return call_uv;
	default: return NULL;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const uint64_t *v, long n, int p)
{
	long rank = (n * p + 99) / 100;

	return (double)v[rank > 0 ? rank - 1 : 0];
}

/* The samples of one run: each timed system's calls, appended chunk by chunk. */
struct samples {
	uint64_t *ns[SYS_N];
	uint64_t cpu[SYS_N]; /* process CPU time spent in the system's chunks */
	long n[SYS_N];
};

/* n timed calls of s, appended to its samples. */
static int timed_chunk(struct lat *l, enum bench_sys s, struct samples *sm, long n)
{
	call_fn call = call_of(s);
	uint64_t *ns = sm->ns[s] + sm->n[s];
	uint64_t t0, t1, cpu0 = bench_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	long i;

	for (i = 0; i < n; i++) {
		t0 = bench_now_ns(CLOCK_MONOTONIC);
		if (call(l) != 0)
			return -1;
		t1 = bench_now_ns(CLOCK_MONOTONIC);
		ns[i] = t1 - t0;
	}
	sm->cpu[s] += bench_now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	sm->n[s] += n;
	return 0;
}

/*
 * One run of @p calls per system. The systems take turns every
 * calls / CHUNKS calls, starting with a different one each time, so a
 * disturbance of the machine lasting a fraction of a second is shared by
 * all of them instead of landing on one system's whole run.
 */
static int one_run(struct lat *l, struct samples *sm, long calls, struct bench_series *out, int r)
{
	long chunk = calls / CHUNKS;
	int c, j, s;

	memset(sm->n, 0, sizeof(sm->n));
	memset(sm->cpu, 0, sizeof(sm->cpu));
	for (c = 0; c < CHUNKS; c++) {
		for (j = 0; j < TIMED; j++) {
			s = SYS_INLINE + (c + r + j) % TIMED;
			if (timed_chunk(l, (enum bench_sys)s, sm, c < CHUNKS - 1 ? chunk : calls - c * chunk))
				return -1;
		}
	}
	for (s = SYS_INLINE; s < SYS_N; s++) {
		qsort(sm->ns[s], (size_t)calls, sizeof(uint64_t), cmp_u64);
		out[s].p50[r] = pct(sm->ns[s], calls, 50);
		out[s].p99[r] = pct(sm->ns[s], calls, 99);
		out[s].cpu[r] = (double)sm->cpu[s] / (double)calls;
	}
	return 0;
}

/* The floor: mean time of a direct call (too short to time one by one). */
static void direct_run(struct lat *l, struct bench_series *out, int r)
{
	uint64_t t0, cpu0;
	json_t *response;
	faas_handler_fn h;
	long i;

	cpu0 = bench_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	t0 = bench_now_ns(CLOCK_MONOTONIC);
	for (i = 0; i < DIRECT_CALLS; i++) {
		h = bench_handler;
		response = NULL;
		h(NULL, l->event, &response, NULL);
		json_decref(response);
	}
	out->p50[r] = (double)(bench_now_ns(CLOCK_MONOTONIC) - t0) / DIRECT_CALLS;
	out->p99[r] = 0; /* not timed per call */
	out->cpu[r] = (double)(bench_now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / DIRECT_CALLS;
}

/* What an empty timed interval reads: included in every timed figure. */
static double timer_overhead(uint64_t *ns, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns(CLOCK_MONOTONIC);
		ns[i] = bench_now_ns(CLOCK_MONOTONIC) - t0;
	}
	qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
	return pct(ns, n, 50);
}

static int measure(struct lat *l, struct bench_mode *out, struct samples *sm)
{
	int r;

	/* warm-up: workers started, environments warm, caches hot; overwritten */
	if (one_run(l, sm, BENCH_WARMUP, out->sys, 0) != 0)
		return -1;
	out->timer_ns = timer_overhead(sm->ns[SYS_INLINE], out->calls);
	for (r = 0; r < out->runs; r++) {
		direct_run(l, &out->sys[SYS_DIRECT], r);
		if (one_run(l, sm, out->calls, out->sys, r) != 0)
			return -1;
	}
	return 0;
}

void bench_latency(struct bench_mode *out, int pin, int runs, long calls)
{
	struct samples sm;
	struct lat l;
	int s, ok = 1;

	memset(out, 0, sizeof(*out));
	memset(&l, 0, sizeof(l));
	l.err = out->err;
	l.errsize = sizeof(out->err);
	out->runs = runs;
	out->calls = calls;
	out->pinned = bench_pin_child(pin, out->cpus, sizeof(out->cpus), out->err, sizeof(out->err));
	memset(&sm, 0, sizeof(sm));
	for (s = SYS_INLINE; s < SYS_N; s++)
		ok &= (sm.ns[s] = malloc((size_t)calls * sizeof(uint64_t))) != NULL;
	if (!ok)
		snprintf(out->err, sizeof(out->err), "out of memory");
	else if (lat_setup(&l) == 0 && measure(&l, out, &sm) == 0)
		out->ok = 1;
	lat_teardown(&l);
	for (s = SYS_INLINE; s < SYS_N; s++)
		free(sm.ns[s]);
}
