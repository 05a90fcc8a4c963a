/*
 * libfaas — private interface of event sources (source.c), event source
 * mappings (mapping.c) and filter patterns (filter.c).
 */
#ifndef FAAS_MAPPING_INT_H
#define FAAS_MAPPING_INT_H

#include "dispatch.h"
#include "filter.h"

#include "faas/mapping.h"

struct faas_source {
	_Atomic long refs; /* the caller's handle + each mapping over it */
	faas_source_ops_t ops;
	void *ud;
	/* the runtime of its mappings (set by the first; a source serves one) */
	_Atomic(faas_runtime_t *) rt;
	faas_queue_t *queue; /* the built-in queue behind it, or NULL */
	/* a FIFO queue's: a failed batch sends the rest of its group back too */
	bool fifo_groups;
	_Atomic int mapped;  /* mappings over it (an ordered source serves one) */
	_Atomic uint64_t errors; /* faas_source_report() calls */
	char function_arn[FAAS_ARN_MAX]; /* of its first mapping (stream failure records) */
	char event_source[32];
	char arn[FAAS_ARN_MAX];
	char data_key[32];
	char filter_root[32];
};

FAAS_INTERNAL void faas__source_ref(faas_source_t *s);
FAAS_INTERNAL void faas__md5_hex(const void *data, size_t len, char out[33]);


/* ---- event source mappings: the engine's shared state (mapping*.c) ---------- */

#define FAAS_MAP_EVENT_OVERHEAD 14 /* {"Records":[]} */

#define BATCH_DEFAULT 10u
#define BATCH_MAX 10000u
#define WINDOW_MAX_MS 300000u
#define CONCURRENCY_MAX 1000u
#define POLL_DEFAULT_MS 1000u

enum map_state { MAP_ENABLED, MAP_DISABLING, MAP_DISABLED, MAP_DELETING };


struct map_conf {
	uint32_t batch_size, window_ms, max_conc, poll_ms;
	bool rbif;
	size_t nfilters;
	json_t *filters[FAAS_MAPPING_FILTERS_MAX]; /* compiled (referenced) */
};

struct faas_mapping {
	_Atomic long refs; /* the runtime's list + each batch in flight */
	faas_runtime_t *rt;
	faas_source_t *src; /* referenced */
	pthread_mutex_t lock; /* everything below */
	struct map_conf conf;
	enum map_state state;
	faas_source_record_t *pending;
	size_t npending, cap_pending, pending_bytes;
	uint64_t window_start_ns;
	uint64_t not_before_ns; /* backoff after a throttle or a failed receive */
	uint32_t inflight, backoffs;
	uint32_t *groups_out; /* groups with a batch in flight (a stream's lanes: one each) */
	size_t ngroups_out, cap_groups_out;
	bool stepping, again;
	bool progress; /* records came in since the poll thread last looked */
	/* a blocking source's own poll thread (faas-poll): it alone steps the
	 * mapping; others wake it through poll_cond */
	bool polled, poll_stop;
	pthread_t poll_tid;
	pthread_cond_t poll_cond;
	int64_t last_modified_ms;
	const char *last_result;
	/* counters */
	uint64_t received, filtered, succeeded, failed, released, batches, throttles, dropped;
	struct faas_mapping *next; /* the runtime's list */
	char function[FAAS_IDENT_MAX_INVOKE + 1];
	char function_arn[FAAS_ARN_MAX];
	char uuid[FAAS_REQUEST_ID_SIZE];
};

struct batch {
	struct faas_mapping *m; /* referenced */
	struct faas_inv *inv;
	uint32_t group; /* its records' group (0: none) */
	bool rbif; /* report_batch_item_failures when it was sent */
	struct batch *next, *prev; /* the runtime's running list */
	size_t n;
	faas_source_record_t recs[];
};

struct faas_maps {
	pthread_mutex_t lock; /* the list, the running batches, `closed` */
	struct faas_mapping *list;
	struct batch *running;
	bool closed;
	uint64_t stepped_ns; /* the clock at the last step of every mapping */
	_Atomic uint64_t planned_ns; /* when the housekeeping thread means to step them next */
	_Atomic long count;          /* mappings in the list: 0 = sends wake nobody */
	_Atomic bool kicked;
};
/* mapping.c */
FAAS_INTERNAL void faas__map_unref(struct faas_mapping *m);
/* mapping_batch.c: records and batches */
FAAS_INTERNAL void faas__map_conf_clear(struct map_conf *c);
FAAS_INTERNAL void faas__map_settle(struct faas_mapping *m, faas_source_record_t *r,
                                    void (*op)(void *, const faas_source_record_t *));
FAAS_INTERNAL void faas__map_release_all(struct faas_mapping *m, faas_source_record_t *recs,
                                         size_t n);
/* Under m->lock: the next throttle or error backs off 1 s, 2 s ... 5 min. */
FAAS_INTERNAL void faas__map_back_off(struct faas_mapping *m, uint64_t now, const char *why);
/* Resolve, admit and submit one batch; false: its records went back. */
FAAS_INTERNAL bool faas__map_send_batch(struct faas_mapping *m, struct batch *b, uint64_t now);
/* mapping_step.c: stepping */
FAAS_INTERNAL void faas__map_step(struct faas_mapping *m);
/* A reference on every mapping of the list (free the array, unref each). */
FAAS_INTERNAL struct faas_mapping **faas__map_snapshot(struct faas_maps *ms, size_t *n);
/* A step off the housekeeping thread may need it earlier than it planned. */
FAAS_INTERNAL void faas__map_wake_housekeeping(struct faas_mapping *m);

#endif /* FAAS_MAPPING_INT_H */
