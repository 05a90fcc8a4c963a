/*
 * libfaas bench — throughput: CPU time per task and invokes per second,
 * libfaas sync invoke against GThreadPool, with 1 and 2 caller threads.
 *
 * A fixed number of tasks is split between the callers; the process CPU
 * time over those tasks (every thread: callers, workers, pool threads),
 * divided by them, is what one task costs whatever the scheduler did with
 * the wall time. Pinned to one CPU that figure repeats, so it counts
 * (DESIGN §9.15); invokes/s and context switches per task are reported.
 *
 * GThreadPool gets one pool per caller count, with as many exclusive
 * threads as callers: 2 callers push to the same 2-thread pool, each
 * waiting for its own answer; 1 caller uses a 1-thread pool, as in
 * latency.c (a second idle thread made it about 1.5 times dearer per task
 * pinned, a handicap no one would configure). libfaas uses one runtime
 * for both. Configurations take turns inside every run, the order
 * rotating, as in latency.c. Runs in a child process: pinning comes
 * before the first thread.
 */
#include "gtp.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define TP_CALLERS_MAX 2
#define TP_WARMUP 4000L

/* As many tokens (and so at most as many workers) as callers, like the
 * GThreadPool of 2 threads: the token is released before the caller is
 * answered (lib/invoke.c complete()), so a caller calling again at once
 * is never throttled; a throttle would end the run as a failure. */
#define TP_MAX_CONCURRENCY TP_CALLERS_MAX

struct tp {
	json_t *event;
	faas_runtime_t *rt;
	GThreadPool *gtp[TP_CALLERS_MAX + 1]; /* by number of callers */
};

/* One caller thread; err is read by the main thread after the join. */
struct caller {
	struct tp *t;
	int gtp; /* 1: GThreadPool, 0: libfaas */
	GThreadPool *pool;
	long n;  /* tasks to run */
	faas_result_t result;
	struct gtp_call call;
	pthread_t thread;
	char err[200];
};

static int task_faas(struct caller *c)
{
	int rc = faas_invoke(c->t->rt, "noop", c->t->event, NULL, &c->result);
	int ok = rc == 0 && c->result.payload == c->t->event;

	if (!ok)
		snprintf(c->err, sizeof(c->err), "faas_invoke: %d %.160s", rc, c->result.message);
	faas_result_clear(&c->result);
	return ok ? 0 : -1;
}

static int task_gtp(struct caller *c)
{
	json_t *response = gtp_round_trip(c->pool, &c->call);

	json_decref(response);
	if (response != c->t->event) {
		snprintf(c->err, sizeof(c->err), "GThreadPool: wrong response");
		return -1;
	}
	return 0;
}

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	long i;

	for (i = 0; i < c->n; i++)
		if ((c->gtp ? task_gtp(c) : task_faas(c)) != 0)
			break;
	return NULL;
}

static int callers_of(enum bench_tp cfg)
{
	return cfg == TP_FAAS2 || cfg == TP_GTP2 ? 2 : 1;
}

/* Context switches of the whole process so far, voluntary or not. */
static long switches(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* What one run of a configuration gives: per task, and tasks per second. */
struct tp_fig {
	double cpu, rate, csw;
};

/*
 * @p tasks of one configuration, split between its callers. Starting the
 * callers (a few µs) is inside the interval, for both systems alike.
 */
static int tp_run(struct tp *t, enum bench_tp cfg, long tasks, struct tp_fig *fig, char *err,
                  size_t errsize)
{
	faas_result_t init = FAAS_RESULT_INIT;
	struct caller c[TP_CALLERS_MAX];
	int n = callers_of(cfg), k, started, rc = 0;
	uint64_t cpu0, t0, cpu1, t1;
	long csw0, csw1;

	memset(c, 0, sizeof(c));
	for (k = 0; k < n; k++) {
		c[k].t = t;
		c[k].gtp = cfg == TP_GTP1 || cfg == TP_GTP2;
		c[k].pool = t->gtp[n];
		c[k].n = tasks / n + (k < tasks % n);
		c[k].result = init;
		gtp_call_init(&c[k].call, t->event);
	}
	csw0 = switches();
	cpu0 = bench_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	t0 = bench_now_ns(CLOCK_MONOTONIC);
	for (started = 0; started < n; started++)
		if (pthread_create(&c[started].thread, NULL, caller_main, &c[started]) != 0)
			break;
	for (k = 0; k < started; k++)
		pthread_join(c[k].thread, NULL);
	t1 = bench_now_ns(CLOCK_MONOTONIC);
	cpu1 = bench_now_ns(CLOCK_PROCESS_CPUTIME_ID);
	csw1 = switches();
	if (started < n) {
		snprintf(err, errsize, "pthread_create failed");
		rc = -1;
	}
	for (k = 0; k < n; k++) {
		if (c[k].err[0] && rc == 0) {
			snprintf(err, errsize, "%s", c[k].err);
			rc = -1;
		}
		gtp_call_clear(&c[k].call);
	}
	fig->cpu = (double)(cpu1 - cpu0) / (double)tasks;
	fig->rate = (double)tasks * 1e9 / (double)(t1 - t0);
	fig->csw = (double)(csw1 - csw0) / (double)tasks;
	return rc;
}

static int tp_setup(struct tp *t, char *err, size_t errsize)
{
	faas_runtime_options_t opts = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d;
	GError *gerr = NULL;
	int n;

	t->event = bench_small_event();
	if (!t->event)
		return -1;
	opts.seed = 1;
	opts.max_concurrency = TP_MAX_CONCURRENCY;
	cfg.handler = bench_noop;
	if (faas_runtime_new(&t->rt, &opts, &d) != 0 ||
	    faas_function_create(t->rt, "noop", &cfg, &d) != 0) {
		snprintf(err, errsize, "libfaas set-up: %.200s", d.message);
		return -1;
	}
	/* Exclusive threads: each caller has one task in flight, and a kept
	 * thread is the closest match to a warm libfaas worker. */
	for (n = 1; n <= TP_CALLERS_MAX; n++) {
		t->gtp[n] = g_thread_pool_new(gtp_worker, NULL, n, TRUE, &gerr);
		if (!t->gtp[n]) {
			snprintf(err, errsize, "g_thread_pool_new: %s", gerr ? gerr->message : "?");
			g_clear_error(&gerr);
			return -1;
		}
	}
	return 0;
}

static void tp_teardown(struct tp *t)
{
	int n;

	for (n = 1; n <= TP_CALLERS_MAX; n++)
		if (t->gtp[n])
			g_thread_pool_free(t->gtp[n], FALSE, TRUE);
	faas_runtime_free(t->rt);
	json_decref(t->event);
}

/* Every configuration once per run, starting with a different one each run. */
static int tp_measure(struct tp *t, struct bench_tput *out)
{
	struct tp_fig fig;
	int r, j, cfg;

	for (cfg = 0; cfg < TP_N; cfg++) /* warm-up: workers started, caches hot */
		if (tp_run(t, cfg, TP_WARMUP, &fig, out->err, sizeof(out->err)) != 0)
			return -1;
	for (r = 0; r < out->runs; r++) {
		for (j = 0; j < TP_N; j++) {
			cfg = (r + j) % TP_N;
			if (tp_run(t, cfg, out->tasks, &fig, out->err, sizeof(out->err)) != 0)
				return -1;
			out->cpu[cfg][r] = fig.cpu;
			out->rate[cfg][r] = fig.rate;
			out->csw[cfg][r] = fig.csw;
		}
	}
	return 0;
}

void bench_throughput(struct bench_tput *out, int pin, int runs, long tasks)
{
	struct tp t;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	out->runs = runs;
	out->tasks = tasks;
	out->pinned = bench_pin_child(pin, out->cpus, sizeof(out->cpus), out->err, sizeof(out->err));
	if (tp_setup(&t, out->err, sizeof(out->err)) == 0 && tp_measure(&t, out) == 0)
		out->ok = 1;
	tp_teardown(&t);
}
