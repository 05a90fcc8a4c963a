/*
 * libfaas — private types of the dispatch engine: concurrency tokens,
 * invocations, contexts, workers and execution environments.
 */
#ifndef FAAS_DISPATCH_H
#define FAAS_DISPATCH_H

#include "registry.h"

/* ---- futex (sync.c) ---------------------------------------------------- */

/* Sleep while *word == expected, until woken or the CLOCK_MONOTONIC
 * deadline (ns; 0 = none). Returns false on timeout. */
FAAS_INTERNAL bool faas__futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_ns);
FAAS_INTERNAL void faas__futex_wake(_Atomic uint32_t *word, int n);
/* Whether spinning can pay off here: more than one CPU usable, and not
 * under valgrind or ThreadSanitizer (where it only burns time). */
FAAS_INTERNAL bool faas__spin_useful(void);
/*
 * Every few dozen spins: true once the budget ending at `end` is spent.
 * Past its first tenth the spinner yields its CPU at each tick, so when the
 * thread it waits for shares that CPU (the other one busy) it gets to run
 * instead of waiting out the budget.
 */
FAAS_INTERNAL bool faas__spin_tick(uint64_t end, uint32_t budget_ns);

static inline void faas__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}
FAAS_INTERNAL void faas__sleep_ms(uint32_t ms);

/* ---- concurrency tokens (concurrency.c) -------------------------------- */

struct faas_debt;

struct faas_conc {
	struct faas_pool unreserved;
	char pad[FAAS_CACHELINE];
	pthread_mutex_t lock; /* reconfiguration and debt payment: the slow path */
	struct faas_debt *debts;
	struct faas_fn **reserved_fns; /* functions with a reservation, referenced */
	size_t nreserved, cap_reserved;
	int64_t reserved_total;
	uint32_t max;
	uint32_t unreserved_min;
	bool closed; /* shutdown: no more waiting for tokens */
};

FAAS_INTERNAL int faas__conc_init(struct faas_conc *c, uint32_t max, uint32_t unreserved_min);
FAAS_INTERNAL void faas__conc_destroy(struct faas_conc *c);
/* Take a token for fn: 0 and *pool set, or FAAS_ETHROTTLED and *reason set. */
FAAS_INTERNAL int faas__conc_admit(faas_runtime_t *rt, struct faas_fn *fn, struct faas_pool **pool,
                                   const char **reason);
/* Same, waiting up to wait_ms (runtime clock) for a token, FIFO, when none is free. */
FAAS_INTERNAL int faas__conc_admit_wait(faas_runtime_t *rt, struct faas_fn *fn, uint32_t wait_ms,
                                        struct faas_pool **pool, const char **reason);
FAAS_INTERNAL void faas__conc_release(faas_runtime_t *rt, struct faas_pool *pool);
/* Shutdown: callers waiting for a token give up with FAAS_ESHUTDOWN. */
FAAS_INTERNAL void faas__conc_close(faas_runtime_t *rt);
/* A function leaves the registry: its reservation goes back to the account. */
FAAS_INTERNAL void faas__conc_function_gone(faas_runtime_t *rt, struct faas_fn *fn);
FAAS_INTERNAL uint32_t faas__conc_in_use(faas_runtime_t *rt);

/* ---- execution environments (instance.c) ------------------------------- */

struct faas_instance {
	void *state; /* set by the function's init */
	struct faas_ext_set *exts; /* the extensions bound at creation, or NULL */
	uint64_t idle_since_ns; /* runtime clock, while warm */
	struct faas_instance *next;
};

/* Warm instances of one version: LIFO under their own mutex. */
struct faas_instances {
	pthread_mutex_t lock;
	struct faas_instance *warm;
};

struct faas_inv;

FAAS_INTERNAL struct faas_instances *faas__instances_new(void);
/* Shut down every warm instance (reason spindown) and free the set. */
FAAS_INTERNAL void faas__instances_free(const struct faas_version *v);
/*
 * A warm instance, or a new one after a successful init (*cold set;
 * *init_ms its init time, 0 for a suppressed init that ran inside the
 * invocation after a failed one). FAAS_EUSER: init failed or timed out.
 */
FAAS_INTERNAL int faas__instance_acquire(struct faas_inv *inv, struct faas_instance **out,
                                         bool *cold, double *init_ms);
/* Shut down warm instances of v idle since before now - keep; returns the
 * earliest expiry among those left (UINT64_MAX: none). */
FAAS_INTERNAL uint64_t faas__instances_reap(struct faas_version *v, uint64_t now, uint64_t keep);
/* Lower the runtime's next reap time to t (and wake housekeeping). */
FAAS_INTERNAL void faas__reap_hint(faas_runtime_t *rt, uint64_t t);
/* Reap every version's expired environments if one is due; on the caller. */
FAAS_INTERNAL void faas__reap_due(faas_runtime_t *rt);
/* Return it warm (idle since `now`, runtime clock), or shut it down with
 * @p why when @p discard. */
FAAS_INTERNAL void faas__instance_release(struct faas_inv *inv, struct faas_instance *in,
                                          uint64_t now, bool discard, faas_shutdown_reason_t why);
FAAS_INTERNAL void faas__instances_spindown(struct faas_version *v);

/* ---- invocations (invoke.c) -------------------------------------------- */

enum faas_inv_state { FAAS_INV_RUNNING = 0, FAAS_INV_DONE = 1, FAAS_INV_ABANDONED = 2 };

enum faas_outcome {
	FAAS_OUT_SUCCESS = 0,
	FAAS_OUT_ERROR,   /* the handler failed */
	FAAS_OUT_INIT_ERROR,
	FAAS_OUT_TIMEOUT
};

#define FAAS_TAIL_MAX 4096

struct faas_context {
	struct faas_inv *inv;
	void *instance_state;
	_Atomic bool cancelled;
	bool failed;
	bool fatal;
	char error_type[64];
	char error_message[FAAS_RESULT_MESSAGE_MAX];
};

/*
 * One invocation. Refcounted by its caller and its worker (DESIGN §9.3):
 * the sync caller waits on `wake` and never touches it after dropping its
 * reference; everything a handler can reach lives here, worker-owned.
 */
struct faas_inv {
	_Atomic int refs;
	_Atomic int state;     /* enum faas_inv_state */
	_Atomic uint32_t wake; /* futex word: bumped at completion and on clock advance */
	_Atomic bool sleeping; /* the caller may be in futex_wait: completion must wake it */
	faas_runtime_t *rt;
	struct faas_version *version; /* referenced until the handler is done */
	struct faas_fn *fn;           /* referenced until the token is back */
	struct faas_pool *pool;       /* the pool charged (maybe fn->pool) */
	json_t *event;                /* referenced */
	json_t *client_context;       /* referenced, may be NULL */
	uint64_t start_ns;
	int64_t start_wall_ms;
	_Atomic uint64_t deadline_ns; /* the caller's watchdog; moves once the handler starts */
	uint32_t timeout_ms; /* copies: the caller reads them while the worker may drop `version` */
	bool short_fn;       /* usually done within the spin budget */
	int64_t deadline_wall_ms;
	bool want_text; /* serialize the response (response_text) */
	bool timed_out; /* worker: the deadline passed before the handler returned */
	bool init_timed_out; /* the last init attempt ran past init_timeout_ms */
	bool init_suppressed; /* init succeeded only on its retry inside the invocation */
	bool init_oom;        /* no memory for the environment itself */
	bool handler_skipped; /* no time left after a retried init */
	bool oversize;  /* the response broke the size limit */
	uint32_t lineage;
	/* outcome, written by the worker before state DONE */
	enum faas_outcome outcome;
	json_t *response;
	double duration_ms, init_ms;
	char *tail; /* log tail (FAAS_LOG_TAIL), FAAS_TAIL_MAX + 1 bytes */
	char *text; /* the response as text (want_text), jansson-allocated */
	size_t tail_len;
	struct faas_vwaiter vw; /* the sync caller, waiting on a virtual clock */
	struct faas_context ctx;
	char request_id[FAAS_REQUEST_ID_SIZE];
	char version_label[12];
	bool has_qual;
	size_t qual_len;
	char qual[FAAS_QUALIFIER_MAX + 1]; /* as called, for the invoked ARN */
	char arn[FAAS_ARN_MAX];            /* formatted on first use */
};

FAAS_INTERNAL void faas__inv_unref(struct faas_inv *inv);
/* The pipeline: runs inv on the current thread (handler, instance, logs). */
FAAS_INTERNAL void faas__inv_run(struct faas_inv *inv);
/* Then: release its token and answer the waiting caller. */
FAAS_INTERNAL void faas__inv_complete(struct faas_inv *inv);
/* DESIGN §9.8: run the pipeline for an admitted invocation (on a worker,
 * or inline); it completes exactly once. The continuation argument of
 * §9.8 (done_cb) arrives with its first user, async invocation. */
FAAS_INTERNAL int faas__submit(struct faas_inv *inv);
FAAS_INTERNAL void faas__request_id(char out[FAAS_REQUEST_ID_SIZE]);
FAAS_INTERNAL void faas__version_label(uint32_t number, char out[12]);
FAAS_INTERNAL void faas__log_line(struct faas_inv *inv, const char *line, size_t len);
/* Format and log one line, only when a sink or a tail wants it. */
FAAS_INTERNAL void faas__inv_logf(struct faas_inv *inv, const char *fmt, ...) FAAS_PRINTF(2, 3);
/* Deadline = now + the function's timeout, published to the waiting caller. */
FAAS_INTERNAL void faas__inv_set_deadline(struct faas_inv *inv, uint64_t now);
/* Size of a json_t as compact JSON text, without building the text. */
FAAS_INTERNAL size_t faas__json_text_size(const json_t *j);

/* Telemetry's and the extensions' status of an outcome. */
static inline faas_ext_status_t faas__outcome_status(enum faas_outcome o)
{
	return o == FAAS_OUT_SUCCESS ? FAAS_EXT_SUCCESS
	       : o == FAAS_OUT_TIMEOUT ? FAAS_EXT_TIMEOUT
	                               : FAAS_EXT_ERROR;
}

/* The runtime a library thread (or an inline handler) is running for. */
extern _Thread_local faas_runtime_t *faas__current_rt;

/* ---- workers (pool.c) -------------------------------------------------- */

struct faas_worker;

struct faas_workers {
	pthread_mutex_t lock; /* idle stack, thread count, stopping */
	pthread_cond_t exited;
	struct faas_worker **idle; /* LIFO */
	size_t nidle;
	/* Exited workers' structs, reused by the next start and freed only by
	 * faas__workers_destroy: a dispatcher may still touch a worker's
	 * futex just after that worker ran its last invocation and exited. */
	struct faas_worker *spare;
	uint32_t nthreads; /* started and not yet retired */
	uint32_t max;
	uint32_t min;
	uint32_t idle_ms;
	size_t stack_size;
	bool stopping;
	/* DESIGN 9.7: with more than one usable CPU, at most one idle worker
	 * spins for spin_ns before sleeping, and a caller spins for a result
	 * when the function usually takes less than that. */
	bool spin;
	uint32_t spin_ns;
	_Atomic int spinners;
};

FAAS_INTERNAL int faas__workers_init(faas_runtime_t *rt);
/* Hand an admitted invocation to an idle worker or a new one. */
FAAS_INTERNAL int faas__workers_dispatch(faas_runtime_t *rt, struct faas_inv *inv);
FAAS_INTERNAL int faas__workers_start_min(faas_runtime_t *rt);
/* Stop every worker: idle ones at once, busy ones after their invocation.
 * Waits up to wait_ms (real) for them; returns how many still run. */
FAAS_INTERNAL uint32_t faas__workers_stop(faas_runtime_t *rt, uint32_t wait_ms);
FAAS_INTERNAL uint32_t faas__workers_count(faas_runtime_t *rt);
FAAS_INTERNAL void faas__workers_destroy(struct faas_workers *wp);

/* ---- extensions (extension.c) -------------------------------------------- */

/* The current set with a reference (NULL when none is registered). */
FAAS_INTERNAL struct faas_ext_set *faas__ext_set_current(faas_runtime_t *rt);
FAAS_INTERNAL void faas__ext_set_unref(struct faas_ext_set *s);
FAAS_INTERNAL void faas__ext_init(const struct faas_ext_set *s, bool done, const faas_ext_event_t *ev);
/* -1 and error_type/message filled when an extension vetoes. */
FAAS_INTERNAL int faas__ext_invoke_start(const struct faas_ext_set *s, const faas_ext_event_t *ev,
                                         char *error_type, size_t type_size, char *message,
                                         size_t msg_size);
FAAS_INTERNAL void faas__ext_invoke_end(const struct faas_ext_set *s, const faas_ext_event_t *ev);
FAAS_INTERNAL void faas__ext_shutdown(const struct faas_ext_set *s, const faas_ext_event_t *ev);

/* ---- telemetry (telemetry.c) -------------------------------------------- */

/* Emit points test faas__tel_wants(rt, stream) first (faas_int.h). */
FAAS_INTERNAL struct faas_tel *faas__tel_new(void);
FAAS_INTERNAL void faas__tel_free(faas_runtime_t *rt);
/* Copy the record to every subscriber that wants it; never waits for one. */
FAAS_INTERNAL void faas__tel_emit(faas_runtime_t *rt, const faas_telemetry_record_t *r);
/* platform.initStart / initRuntimeDone / initReport from the hooks' event. */
FAAS_INTERNAL void faas__tel_init(struct faas_inv *inv, faas_telemetry_type_t type,
                                  const faas_ext_event_t *ev, uint64_t at_ns);
/* platform.start / runtimeDone / report; created: the invocation made its environment. */
FAAS_INTERNAL void faas__tel_invoke(struct faas_inv *inv, faas_telemetry_type_t type,
                                    uint64_t at_ns, bool created);
FAAS_INTERNAL void faas__tel_function(struct faas_inv *inv, const char *line, size_t len);
FAAS_INTERNAL void faas__tel_throttle(faas_runtime_t *rt, const char *fn, const char *version,
                                      const char *qual, size_t qual_len, const char *reason);
FAAS_INTERNAL void faas__tel_extension(faas_runtime_t *rt, const char *name, unsigned events);
/* Deliver what is due: here in inline mode, else wake the telemetry thread. */
FAAS_INTERNAL void faas__tel_poll(faas_runtime_t *rt);
/* Whether nothing is due or being delivered (inline: delivers first). */
FAAS_INTERNAL bool faas__tel_settle(faas_runtime_t *rt);
/* Shutdown: last batches, release, join the thread. */
FAAS_INTERNAL void faas__tel_stop(faas_runtime_t *rt);

/* ---- metrics (metrics.c) ------------------------------------------------- */

/* created: this invocation made its environment; init_measured: by a
 * first-attempt init that took init_ms (a retried one has no duration). */
FAAS_INTERNAL void faas__metrics_invocation(struct faas_version *v, int outcome,
                                            uint64_t duration_ns, bool created,
                                            bool init_measured, double init_ms);
FAAS_INTERNAL void faas__metrics_throttle(struct faas_version *v);
FAAS_INTERNAL void faas__metrics_free(struct faas_version *v);
/* A new $LATEST keeps counting where the one it replaces counted. */
FAAS_INTERNAL void faas__metrics_inherit(struct faas_version *to, struct faas_version *from);
FAAS_INTERNAL uint32_t faas__conc_unreserved_in_use(faas_runtime_t *rt);

/* ---- housekeeping (housekeeping.c) ------------------------------------- */

FAAS_INTERNAL int faas__hk_start(faas_runtime_t *rt);
/* Stop the thread and destroy whatever it still held. */
FAAS_INTERNAL void faas__hk_stop(faas_runtime_t *rt);
FAAS_INTERNAL void faas__hk_free(faas_runtime_t *rt);
/* Hand a version whose last reference dropped to housekeeping; false if
 * there is none (the caller destroys it). */
FAAS_INTERNAL bool faas__hk_defer(struct faas_version *v);
FAAS_INTERNAL long faas__hk_pending(faas_runtime_t *rt);
/* Whether housekeeping has caught up with the runtime clock's `now`. */
FAAS_INTERNAL bool faas__hk_caught_up(faas_runtime_t *rt, uint64_t now);
FAAS_INTERNAL void faas__hk_kick(faas_runtime_t *rt);

/* ---- virtual-clock waiters (clock.c) ----------------------------------- */

FAAS_INTERNAL void faas__vwait_add(faas_runtime_t *rt, struct faas_vwaiter *w);
FAAS_INTERNAL void faas__vwait_remove(faas_runtime_t *rt, struct faas_vwaiter *w);

#endif /* FAAS_DISPATCH_H */
