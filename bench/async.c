/*
 * libfaas bench — asynchronous invocation against GThreadPool pushes.
 *
 * Throughput: producers queue a fixed number of events (libfaas `Event`
 * invokes of a no-op function; g_thread_pool_push of a no-op task) and the
 * clock stops when the last one has run. CPU time of the whole process per
 * completed event, pinned to one CPU, counts (DESIGN §9.15); events/s are
 * reported. Both sides have two worker threads.
 *
 * Instructions per accepted call (callgrind, only the measured loop
 * collected): the call that queues, with the one worker busy so nothing
 * runs meanwhile — faas_invoke(Event) with async_max_inflight 1, against
 * g_thread_pool_push to a one-thread pool. The wake of the housekeeping
 * thread that a queued libfaas event causes is part of its count.
 */
#include "bench.h"

#include <glib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define AS_WORKERS 2
#define AS_WARMUP 2000L

static _Atomic long as_done;

static int as_handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)response;
	(void)ud;
	atomic_fetch_add_explicit(&as_done, 1, memory_order_relaxed);
	return 0;
}

static void as_task(gpointer data, gpointer user_data)
{
	(void)data;
	(void)user_data;
	atomic_fetch_add_explicit(&as_done, 1, memory_order_relaxed);
}

struct as_ctx {
	faas_runtime_t *rt;
	GThreadPool *pool;
	json_t *event;
};

struct producer {
	struct as_ctx *c;
	int gtp;
	long n;
	pthread_t thread;
	int failed;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	long i;

	o.type = FAAS_INVOKE_EVENT;
	for (i = 0; i < p->n; i++) {
		if (p->gtp) {
			g_thread_pool_push(p->c->pool, p->c, NULL);
			continue;
		}
		if (faas_invoke(p->c->rt, "sink", p->c->event, &o, &r) != 0)
			p->failed = 1;
		faas_result_clear(&r);
		if (p->failed)
			break;
	}
	return NULL;
}

static void wait_done(long target)
{
	struct timespec ts = { 0, 50000 };

	while (atomic_load(&as_done) < target)
		nanosleep(&ts, NULL);
}

/* One run of one configuration: events queued by `producers` threads, all completed. */
static int as_run(struct as_ctx *c, enum bench_as cfg, long events, double *cpu, double *rate)
{
	struct producer p[2];
	int n = cfg == AS_FAAS2 || cfg == AS_GTP2 ? 2 : 1, k;
	uint64_t cpu0, t0;
	long base = atomic_load(&as_done);

	memset(p, 0, sizeof(p));
	cpu0 = bench_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	t0 = bench_now_ns(CLOCK_MONOTONIC);
	for (k = 0; k < n; k++) {
		p[k].c = c;
		p[k].gtp = cfg == AS_GTP1 || cfg == AS_GTP2;
		p[k].n = events / n + (k < events % n);
		if (pthread_create(&p[k].thread, NULL, producer_main, &p[k]) != 0)
			return -1;
	}
	for (k = 0; k < n; k++)
		pthread_join(p[k].thread, NULL);
	for (k = 0; k < n; k++)
		if (p[k].failed)
			return -1;
	wait_done(base + events);
	*rate = (double)events * 1e9 / (double)(bench_now_ns(CLOCK_MONOTONIC) - t0);
	*cpu = (double)(bench_now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / (double)events;
	return 0;
}

static int as_setup(struct as_ctx *c, long events, char *err, size_t errsize)
{
	faas_runtime_options_t opts = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d;
	GError *gerr = NULL;

	c->event = bench_small_event();
	opts.seed = 1;
	/* two attempts at a time on an account of four: async stays under the
	 * account limit (with no cap it would run into throttles and back off
	 * for seconds, as Lambda's async does at its concurrency limit) */
	opts.max_concurrency = 2 * AS_WORKERS;
	opts.async_max_inflight = AS_WORKERS;
	opts.async_queue_max = (uint32_t)(events + AS_WARMUP);
	cfg.handler = as_handler;
	if (faas_runtime_new(&c->rt, &opts, &d) != 0 || faas_function_create(c->rt, "sink", &cfg, &d) != 0) {
		snprintf(err, errsize, "libfaas set-up: %.200s", d.message);
		return -1;
	}
	c->pool = g_thread_pool_new(as_task, NULL, AS_WORKERS, TRUE, &gerr);
	if (!c->pool) {
		snprintf(err, errsize, "g_thread_pool_new: %s", gerr ? gerr->message : "?");
		g_clear_error(&gerr);
		return -1;
	}
	return 0;
}

void bench_async(struct bench_async *out, int pin, int runs, long events)
{
	struct as_ctx c;
	double cpu, rate;
	int r, j, cfg;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	out->runs = runs;
	out->events = events;
	out->pinned = bench_pin_child(pin, out->cpus, sizeof(out->cpus), out->err, sizeof(out->err));
	if (as_setup(&c, events, out->err, sizeof(out->err)) != 0)
		goto out;
	for (cfg = 0; cfg < AS_N; cfg++) /* warm-up: workers started */
		if (as_run(&c, cfg, AS_WARMUP, &cpu, &rate) != 0)
			goto fail;
	for (r = 0; r < runs; r++) {
		for (j = 0; j < AS_N; j++) {
			cfg = (r + j) % AS_N;
			if (as_run(&c, cfg, events, &cpu, &rate) != 0)
				goto fail;
			out->cpu[cfg][r] = cpu;
			out->rate[cfg][r] = rate;
		}
	}
	out->ok = 1;
	goto out;
fail:
	snprintf(out->err, sizeof(out->err), "an Event invoke failed");
out:
	if (c.pool)
		g_thread_pool_free(c.pool, FALSE, TRUE);
	faas_runtime_free(c.rt);
	json_decref(c.event);
}

/* ---- instructions per accepted call (count modes) ------------------------- */

static pthread_mutex_t hold_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_c = PTHREAD_COND_INITIALIZER;
static int holding, released;

/* Keeps its worker until released: nothing else runs while calls queue. */
static void hold(void)
{
	pthread_mutex_lock(&hold_m);
	holding = 1;
	pthread_cond_broadcast(&hold_c);
	while (!released)
		pthread_cond_wait(&hold_c, &hold_m);
	pthread_mutex_unlock(&hold_m);
}

static void wait_holding(void)
{
	pthread_mutex_lock(&hold_m);
	while (!holding)
		pthread_cond_wait(&hold_c, &hold_m);
	pthread_mutex_unlock(&hold_m);
}

static void release_hold(void)
{
	pthread_mutex_lock(&hold_m);
	released = 1;
	pthread_cond_broadcast(&hold_c);
	pthread_mutex_unlock(&hold_m);
}

static int hold_handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)response;
	(void)ud;
	hold();
	return 0;
}

static void hold_task(gpointer data, gpointer user_data)
{
	(void)user_data;
	if (data == (gpointer)1)
		hold();
}

struct accept_arg {
	faas_runtime_t *rt;
	GThreadPool *pool;
	json_t *event;
	faas_invoke_options_t o;
	faas_result_t r;
};

static int step_accept(void *arg, long i)
{
	struct accept_arg *a = arg;
	int rc = faas_invoke(a->rt, "hold", a->event, &a->o, &a->r);

	(void)i;
	faas_result_clear(&a->r);
	return rc;
}

static int step_push(void *arg, long i)
{
	struct accept_arg *a = arg;

	(void)i;
	return g_thread_pool_push(a->pool, (gpointer)2, NULL) ? 0 : -1;
}

int bench_async_loop(const char *mode, long n)
{
	faas_runtime_options_t opts = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_result_t init = FAAS_RESULT_INIT;
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	struct accept_arg a;
	int rc = -1;

	memset(&a, 0, sizeof(a));
	a.r = init;
	a.o = io;
	a.o.type = FAAS_INVOKE_EVENT;
	a.event = bench_small_event();
	if (strcmp(mode, "gtp-push") == 0) {
		if (!(a.pool = g_thread_pool_new(hold_task, NULL, 1, TRUE, NULL)))
			return -1;
		g_thread_pool_push(a.pool, (gpointer)1, NULL);
		wait_holding();
		rc = bench_measured(step_push, &a, n);
		release_hold();
		g_thread_pool_free(a.pool, TRUE, TRUE);
	} else {
		opts.seed = 1;
		opts.async_max_inflight = 1;
		opts.async_queue_max = (uint32_t)n + 10;
		cfg.handler = hold_handler;
		if (faas_runtime_new(&a.rt, &opts, NULL) == 0 &&
		    faas_function_create(a.rt, "hold", &cfg, NULL) == 0 && step_accept(&a, 0) == 0) {
			wait_holding(); /* the one attempt allowed runs and holds */
			rc = bench_measured(step_accept, &a, n);
		}
		release_hold();
		faas_runtime_shutdown(a.rt, 0); /* the queued ones end undelivered */
		faas_runtime_free(a.rt);
	}
	json_decref(a.event);
	return rc;
}
