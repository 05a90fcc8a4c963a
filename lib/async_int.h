/*
 * libfaas — internal: the asynchronous queue's state (async.c) and its
 * durable store (async_store.c).
 */
#ifndef FAAS_ASYNC_INT_H
#define FAAS_ASYNC_INT_H

#include "dispatch.h"

#define AGE_MAX_MS 21600000LL /* 6 h */
#define QUEUE_MAX_DEFAULT 100000u

/* An event invoke config, immutable once built. */
struct faas_aconf {
	_Atomic long refs;
	int32_t max_retry;
	int64_t max_age_ms;
	faas_destination_t on_success, on_failure; /* `function` points into this block */
};

/* The config of one qualifier, in the function's registry entry. */
struct faas_eicfg {
	struct faas_eicfg *next;
	struct faas_aconf *conf;
	char qual[FAAS_QUALIFIER_MAX + 1]; /* "$LATEST", "3" or an alias */
};

struct faas_aevent {
	faas_runtime_t *rt; /* whose aev_cache it goes back to */
	json_t *event;
	struct faas_version *version;
	struct faas_aconf *conf; /* NULL: the defaults */
	uint64_t enqueued_ns, due_ns;
	uint32_t attempts;  /* made so far */
	uint32_t throttles; /* consecutive, for the backoff */
	bool throttled;     /* ever */
	bool duplicate;     /* an injected second delivery (async_duplicate_every) */
	uint32_t lineage;
	size_t qual_len;
	char qual[FAAS_QUALIFIER_MAX + 1]; /* as invoked */
	char request_id[FAAS_REQUEST_ID_SIZE];
	/* taken from the durable store: its token there, its wall-clock times */
	bool stored;
	int64_t accepted_wall_ms;
	char token[FAAS_ASYNC_TOKEN_MAX];
};

struct faas_async {
	faas_runtime_t *rt;
	faas_lock_t lock;
	/* The queue: a ring of events due when queued, in due order (first
	 * attempts: O(1) both ways, and no walk through cold events), and a
	 * heap by due_ns for the rest (retries, backoffs, events from a store).
	 * The heap's array has room for every event queued or in flight, so
	 * putting one back never needs memory; the ring grows when it can. */
	struct faas_aevent **heap;
	size_t hn, cap;
	struct faas_aevent **ring;
	size_t rhead, rn, rcap; /* rcap: a power of two, or 0 */
	size_t n;               /* queued in all: hn + rn */
	struct faas_inv *running; /* attempts in flight (anext/aprev) */
	uint32_t inflight, max_inflight;
	uint32_t max_queued;
	/* when the pump means to run next (runtime clock): written under the
	 * lock, read without it by watch()'s fast path */
	_Atomic uint64_t hk_wake;
	double scale;
	bool closed;
	faas_destination_fn undelivered;
	void *undelivered_ud;
	/* counters (under lock) */
	/* counters: atomic, so counting an outcome takes no lock */
	_Atomic uint64_t received, succeeded, failed, dropped, retries, throttled, expired, shutdown,
	        delivery_failures, undelivered_count, dead_lettered, recursion_dropped, duplicates;
	uint32_t dup_every, dup_counter;
	struct faas_astore *store; /* NULL: events live in memory only */
};

/* async.c, for async_store.c */
FAAS_INTERNAL void faas__aevent_free(struct faas_aevent *ev);
/* The event invoke config of fn's qualifier (referenced), or NULL. */
FAAS_INTERNAL struct faas_aconf *faas__aconf_for(faas_runtime_t *rt, struct faas_version *v,
                                                 const char *qual, size_t qual_len);
/* Under the async lock: the i-th queued event (i < n), in no particular order. */
FAAS_INTERNAL struct faas_aevent *faas__async_queued_at(faas_runtime_t *rt, size_t i);
/* Into the local queue; false: full or no memory (ev is not taken). */
FAAS_INTERNAL bool faas__async_push(faas_runtime_t *rt, struct faas_aevent *ev);
FAAS_INTERNAL void faas__async_start_due(faas_runtime_t *rt);
FAAS_INTERNAL void faas__async_release_slot(struct faas_async *a);
/* Shutdown: the stored events waiting here go back to the store. */
FAAS_INTERNAL void faas__async_leave_waiting(faas_runtime_t *rt);

/* async_store.c */
FAAS_INTERNAL int faas__astore_init(faas_runtime_t *rt, const faas_runtime_options_t *o,
                                    faas_error_detail_t *d);
FAAS_INTERNAL void faas__astore_free(faas_runtime_t *rt);
/* Accept @p ev into the store (it is freed): 0 or the store's error. */
FAAS_INTERNAL int faas__astore_put(faas_runtime_t *rt, struct faas_aevent *ev,
                                   faas_error_detail_t *d);
/* A stored event ended: the store forgets it. */
FAAS_INTERNAL void faas__astore_done(faas_runtime_t *rt, const struct faas_aevent *ev);
/* A stored event's next state (retry after delay_ns) into the store; true:
 * done (its slot released, ev freed); false: keep it here. */
FAAS_INTERNAL bool faas__astore_again(faas_runtime_t *rt, struct faas_aevent *ev,
                                      uint64_t delay_ns);
/* A stored event not run here after all: it stays in the store (ev freed). */
FAAS_INTERNAL void faas__astore_leave(faas_runtime_t *rt, struct faas_aevent *ev);
FAAS_INTERNAL json_t *faas__astore_metrics(faas_runtime_t *rt);
/* A stored event from its envelope; NULL: malformed (*bad) or a function or
 * version this runtime does not have (*bad false). */
FAAS_INTERNAL struct faas_aevent *faas__astore_parse(faas_runtime_t *rt,
                                                     const faas_async_stored_t *s, bool *bad);

#endif /* FAAS_ASYNC_INT_H */
