/*
 * libfaas bench — one GThreadPool round trip, shared by latency.c and
 * throughput.c so both baselines are the same code.
 *
 * A task lives as long as its caller: the caller pushes it, then waits on
 * `done` under `lock`; the pool thread runs the handler and sets it. Static
 * inline so the round trip compiles the same as it did inside latency.c.
 */
#ifndef FAAS_BENCH_GTP_H
#define FAAS_BENCH_GTP_H

#include "bench.h"

#include <glib.h>

struct gtp_call {
	GMutex lock;
	GCond cond;
	int done;
	json_t *event;
	json_t *response;
};

static inline void gtp_call_init(struct gtp_call *c, json_t *event)
{
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	c->done = 0;
	c->event = event;
	c->response = NULL;
}

static inline void gtp_call_clear(struct gtp_call *c)
{
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
}

/* The pool's function: run the handler, hand the response back. */
static inline void gtp_worker(gpointer data, gpointer user_data)
{
	struct gtp_call *c = data;
	json_t *response = NULL;

	(void)user_data;
	bench_handler(NULL, c->event, &response, NULL);
	g_mutex_lock(&c->lock);
	c->response = response;
	c->done = 1;
	g_mutex_unlock(&c->lock);
	/* after unlocking: the woken caller does not block on the mutex */
	g_cond_signal(&c->cond);
}

/* Push @p c and wait for its answer; returns the response (new reference). */
static inline json_t *gtp_round_trip(GThreadPool *pool, struct gtp_call *c)
{
	json_t *response;

	c->done = 0; /* published to the worker by the pool's queue lock */
	g_thread_pool_push(pool, c, NULL);
	g_mutex_lock(&c->lock);
	while (!c->done)
		g_cond_wait(&c->cond, &c->lock);
	response = c->response;
	g_mutex_unlock(&c->lock);
	return response;
}

#endif /* FAAS_BENCH_GTP_H */
