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
	struct faas_pc *pcs; /* provisioned sets of live versions (provisioned.c) */
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
/* A token of p if one is free (creditors first); no waiting. */
FAAS_INTERNAL bool faas__conc_take(faas_runtime_t *rt, struct faas_pool *p);
/*
 * Provisioned concurrency carve-outs, with conc->lock held by the caller
 * (faas__conc_lock). Change pc's tokens by delta, taken from or given to the
 * function's reservation (or the unreserved pool without one): FAAS_EINVAL
 * when the limits of DESIGN 9.2 forbid it; FAAS_ENOMEM before anything moved.
 */
FAAS_INTERNAL void faas__conc_lock(faas_runtime_t *rt);
FAAS_INTERNAL void faas__conc_unlock(faas_runtime_t *rt);
FAAS_INTERNAL int faas__conc_provision(faas_runtime_t *rt, struct faas_fn *fn, struct faas_pc *pc,
                                       int64_t delta, struct faas_debt **spare, faas_error_detail_t *d);
/* n tokens of `from` to `to` (an alias moved). */
FAAS_INTERNAL void faas__conc_pc_move(faas_runtime_t *rt, struct faas_pc *from, struct faas_pc *to,
                                      int64_t n, struct faas_debt **spare);
/* A debt entry set aside for a later move (*spare above; NULL once used). */
FAAS_INTERNAL struct faas_debt *faas__conc_spare(void);
/* The runtime's list of provisioned sets (for the in-use count and the provisioner). */
FAAS_INTERNAL void faas__conc_pc_link(faas_runtime_t *rt, struct faas_pc *pc);
FAAS_INTERNAL void faas__conc_pc_unlink(faas_runtime_t *rt, struct faas_pc *pc);

/* ---- execution environments (instance.c) ------------------------------- */

struct faas_instance {
	void *state; /* set by the function's init */
	struct faas_pc *pc; /* a provisioned environment's set, else NULL */
	const char *init_type; /* "on-demand" or "provisioned-concurrency" */
	struct faas_ext_set *exts; /* the extensions bound at creation, or NULL */
	uint64_t idle_since_ns; /* runtime clock, while warm */
	struct faas_instance *next;
};

/* Warm instances of one version: LIFO under their own word lock. */
struct faas_instances {
	faas_lock_t lock;
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
/* SHUTDOWN to the environment's extensions and function, then free it. */
FAAS_INTERNAL void faas__instance_shutdown(const struct faas_version *v, struct faas_instance *in,
                                           faas_shutdown_reason_t why);
/* A provisioned environment of v, initialised on the calling thread; NULL
 * with the reason ("<errorType>: <message>") when its init fails. */
FAAS_INTERNAL struct faas_instance *faas__instance_provision(faas_runtime_t *rt,
                                                             struct faas_version *v,
                                                             char *reason, size_t size);

/* ---- provisioned concurrency (provisioned.c) --------------------------- */

enum faas_pc_status { FAAS_PC_IN_PROGRESS = 0, FAAS_PC_READY = 1, FAAS_PC_FAILED = 2 };

/*
 * The provisioned environments of one version. `pool` holds the tokens of
 * the configuration that targets the version (moved there from the
 * function's reservation or the unreserved pool); an invocation of the
 * version tries it first. Everything else is under `lock`.
 */
struct faas_pc {
	struct faas_pool pool;
	char pad_[FAAS_CACHELINE];
	_Atomic long refs;        /* the version + invocations holding its tokens */
	_Atomic bool work;        /* the provisioner has something to do here */
	_Atomic uint32_t capacity; /* tokens of the configuration in force (0: none) */
	_Atomic int status;       /* enum faas_pc_status */
	faas_runtime_t *rt;
	struct faas_version *version; /* valid while the version lives (not a reference) */
	pthread_mutex_t lock;
	struct faas_instance *idle; /* initialised, free: LIFO, never reaped */
	uint32_t ninstances; /* idle + busy + being initialised */
	uint32_t ready;      /* initialised: idle + busy */
	bool gone;           /* the version is being destroyed */
	_Atomic(struct faas_pc *) successor; /* referenced: an alias moved from here to there */
	char reason[256];
	struct faas_pc *next; /* conc->pcs, under conc->lock */
};

/* A provisioned concurrency configuration (in its function's entry). */
struct faas_pcfg {
	struct faas_pc *pc; /* the target version's set */
	uint32_t requested;
	uint32_t number;    /* the version it provisions */
	int64_t last_modified_ms;
	struct faas_debt *spare;      /* debt entry for giving the tokens back */
	struct faas_debt *move_spare; /* and for an alias move */
	struct faas_pcfg *next; /* the entry's list */
	char qual[FAAS_QUALIFIER_MAX + 1];
};

/* Admission: a provisioned token of pc (and a reference on pc) if free. */
FAAS_INTERNAL bool faas__pc_admit(faas_runtime_t *rt, struct faas_pc *pc);
FAAS_INTERNAL void faas__pc_unref(struct faas_pc *pc);
/* An idle provisioned environment, or NULL (the caller initialises one). */
FAAS_INTERNAL struct faas_instance *faas__pc_instance_pop(struct faas_pc *pc);
/* An environment initialised inside a provisioned invocation joins the set. */
FAAS_INTERNAL void faas__pc_instance_join(struct faas_pc *pc, struct faas_instance *in);
/* Back to the set; false when it must be shut down instead (discarded, or
 * the set shrank): then it has left the set. */
FAAS_INTERNAL bool faas__pc_instance_release(struct faas_instance *in, bool discard);
/* The version is destroyed: its idle provisioned environments shut down. */
FAAS_INTERNAL void faas__pc_version_gone(struct faas_version *v);
/* One provisioner pass: initialise and retire environments as configs say. */
FAAS_INTERNAL void faas__pc_work(faas_runtime_t *rt);
FAAS_INTERNAL bool faas__pc_busy(faas_runtime_t *rt);
/* Under the stripe lock, for the registry: */
FAAS_INTERNAL int faas__pc_alias_check(faas_runtime_t *rt, struct faas_entry *e, const char *alias,
                                       struct faas_version *primary, faas_error_detail_t *d);
FAAS_INTERNAL void faas__pc_alias_moved(faas_runtime_t *rt, struct faas_entry *e,
                                        const char *alias, struct faas_version *primary);
FAAS_INTERNAL void faas__pc_qualifier_gone(faas_runtime_t *rt, struct faas_entry *e,
                                           const char *qual);
/* The entry is being freed (function deleted, runtime freed). */
FAAS_INTERNAL void faas__pc_entry_free(faas_runtime_t *rt, struct faas_entry *e);

/* ---- built-in queues (queue.c) ------------------------------------------- */

/* At the runtime's end: every queue and its messages. */
FAAS_INTERNAL void faas__queues_free(faas_runtime_t *rt);
/* References for those who keep a queue (async destinations). */
FAAS_INTERNAL void faas__queue_ref(faas_queue_t *q);
FAAS_INTERNAL void faas__queue_unref(faas_queue_t *q);
FAAS_INTERNAL faas_runtime_t *faas__queue_runtime(const faas_queue_t *q);
/* Send without the runtime-state check (records at shutdown). */
FAAS_INTERNAL int faas__queue_put(faas_queue_t *q, const char *body, size_t len);

/* ---- event source mappings (mapping.c) ------------------------------------ */

/* The runtime's set of mappings, made with the runtime (no lazy allocation
 * that outlives a failed call). */
FAAS_INTERNAL int faas__mappings_init(faas_runtime_t *rt);
/* Mappings of the runtime should poll soon (a source has records). */
FAAS_INTERNAL void faas__mappings_kick(faas_runtime_t *rt);
/* Housekeeping (or inline: the clock's mover): time out late batches, step
 * every mapping; returns when it must run again (UINT64_MAX: when kicked). */
FAAS_INTERNAL uint64_t faas__mappings_step(faas_runtime_t *rt);
/* A batch's deadline moved (its handler started). */
FAAS_INTERNAL void faas__mappings_deadline(faas_runtime_t *rt, uint64_t deadline);
/* Batches in flight, or a step that is due (quiesce waits for these). */
FAAS_INTERNAL bool faas__mappings_busy(faas_runtime_t *rt);
/* Shutdown step 2: stop polling, release gathered records. */
FAAS_INTERNAL void faas__mappings_stop(faas_runtime_t *rt);
/* At the runtime's end: every mapping (their sources are released). */
FAAS_INTERNAL void faas__mappings_free(faas_runtime_t *rt);
/* The continuation of a batch's invocation (invoke.c tells them apart). */
FAAS_INTERNAL void faas__batch_done(struct faas_inv *inv, bool abandoned);

/* ---- built-in streams (stream.c) ----------------------------------------- */

FAAS_INTERNAL void faas__streams_free(faas_runtime_t *rt);

/* ---- asynchronous invocation (async.c) ---------------------------------- */

/* The durable store's thread (async_store.c): started last by faas_runtime_new;
 * faas_runtime_shutdown stops its taking first (waiting events go back to
 * the store), and joins it once the workers are stopped. */
FAAS_INTERNAL int faas__astore_start(faas_runtime_t *rt);
FAAS_INTERNAL void faas__astore_stop(faas_runtime_t *rt);
/* After the workers stopped: the thread ends, the last acknowledgements go. */
FAAS_INTERNAL void faas__astore_join(faas_runtime_t *rt);
FAAS_INTERNAL int faas__async_init(faas_runtime_t *rt, const faas_runtime_options_t *o,
                                   faas_error_detail_t *d, bool *store_taken);
FAAS_INTERNAL void faas__async_free(faas_runtime_t *rt);
/* Queue an event on res's version (alias already drawn); fills request_id. */
FAAS_INTERNAL int faas__async_enqueue(faas_runtime_t *rt, struct faas_resolved *res,
                                      const struct faas_ident *id, json_t *event,
                                      uint32_t lineage, char request_id[FAAS_REQUEST_ID_SIZE],
                                      faas_error_detail_t *d);
/* Housekeeping: start due events, time out late attempts; returns when it
 * must run again (runtime clock, UINT64_MAX: when kicked). Every change to
 * the queue kicks the housekeeping thread (no wake-up is left to hints). */
FAAS_INTERNAL uint64_t faas__async_pump(faas_runtime_t *rt);
/* An async attempt's deadline moved (its handler started): the pump must
 * wake by then. */
FAAS_INTERNAL void faas__async_deadline(faas_runtime_t *rt, uint64_t deadline);
/* Inline mode: run the events that are due, on this thread (not from a
 * handler: those wait for the outermost call to end). */
FAAS_INTERNAL void faas__async_run_inline(faas_runtime_t *rt);
/* Attempts running, or events due now (quiesce waits for these). */
FAAS_INTERNAL bool faas__async_busy(faas_runtime_t *rt);
/* Anything queued or running (shutdown drains these). */
FAAS_INTERNAL bool faas__async_pending(faas_runtime_t *rt);
/* Shutdown's deadline: what is still queued ends with condition Shutdown. */
FAAS_INTERNAL void faas__async_close(faas_runtime_t *rt);
FAAS_INTERNAL json_t *faas__async_metrics(faas_runtime_t *rt);
/* Registry (stripe lock held or entry unlinked): */
FAAS_INTERNAL void faas__async_entry_free(struct faas_entry *e);
FAAS_INTERNAL void faas__async_qualifier_gone(struct faas_entry *e, const char *qual);

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
	const char *init_type; /* of the environment (faas_context_initialization_type) */
	_Atomic bool cancelled;
	bool failed;
	bool fatal;
	/* FAAS_RESULT_MESSAGE_MAX bytes, allocated by the first failure that has
	 * a message (most invocations never fail: they never pay for it), owned;
	 * read it through faas__ctx_message() */
	char *message_buf;
	bool message_lost; /* no memory for message_buf */
	char error_type[64];
};

/* Record msg (cut to FAAS_RESULT_MESSAGE_MAX - 1 bytes, made UTF-8) as the
 * failure's message; without memory for it, faas__ctx_message says so. */
FAAS_INTERNAL void faas__ctx_set_message(struct faas_context *ctx, const char *msg);
/* The failure's message: "" when none was given. */
FAAS_INTERNAL const char *faas__ctx_message(const struct faas_context *ctx);

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
	/* when that sleep ends at the latest (real clock; UINT64_MAX on a
	 * virtual one): a deadline moved to before it must wake the caller */
	_Atomic uint64_t sleep_until;
	faas_runtime_t *rt;
	struct faas_version *version; /* referenced until the handler is done */
	struct faas_fn *fn;           /* referenced until the token is back */
	struct faas_pool *pool;       /* the pool charged (maybe fn->pool) */
	struct faas_pc *pc;           /* referenced when the token is provisioned */
	/* async attempts (async.c): run instead of waking a caller, exactly once */
	void (*done_cb)(struct faas_inv *inv, bool abandoned);
	void *done_arg;
	struct faas_inv *anext, *aprev; /* the attempts running, under the async lock */
	const char *init_type;        /* "on-demand" unless provisioning */
	json_t *event;                /* referenced */
	json_t *client_context;       /* referenced, may be NULL */
	uint64_t start_ns;
	uint64_t end_ns; /* the handler's end (runtime clock), once faas__inv_run is past it */
	/* wall time of start_ns: on a real clock read only when first asked
	 * for (faas__inv_start_wall; INT64_MIN until then): most invocations
	 * never need it, and a clock read is not free */
	_Atomic int64_t start_wall_ms;
	_Atomic uint64_t deadline_ns; /* the caller's watchdog; moves once the handler starts */
	uint32_t timeout_ms; /* copies: the caller reads them while the worker may drop `version` */
	bool short_fn;       /* usually done within the spin budget */
	bool want_text; /* serialize the response (response_text) */
	bool timed_out; /* worker: the deadline passed before the handler returned */
	bool init_timed_out; /* the last init attempt ran past its limit (init_timeout_ms; a
	                        retry inside the invocation: the function's deadline) */
	bool init_retried;    /* init was retried inside the invocation (its deadline was set then);
	                         an environment it made is a "suppressed init": no Init Duration */
	bool post_timeout;    /* external extensions' post-runtime work ran past the deadline */
	double post_ms;       /* how long that work took (REPORT's billing, telemetry's too) */
	bool init_oom;        /* no memory for the environment itself */
	bool handler_skipped; /* no time left after a retried init */
	bool oversize;  /* the response broke the size limit */
	uint32_t lineage;
	/* external extensions got INVOKE: the post-runtime record (extext.c);
	 * `posted` once the environment waits for them after the handler */
	struct faas_ext_msg *post;
	bool posted;
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
/* An async attempt of v (a reference is taken on v and the event), with the
 * event's request id, starting at runtime-clock time @p now (0: read it);
 * refs = 2 (the running list and the worker). */
FAAS_INTERNAL struct faas_inv *faas__inv_async(faas_runtime_t *rt, struct faas_version *v,
                                               const char *qual, size_t qual_len, json_t *event,
                                               const char *request_id, uint32_t lineage,
                                               uint64_t now);
FAAS_INTERNAL json_t *faas__inv_timeout_payload(const struct faas_inv *inv);
/* The wall time (ms) of the invocation's start, and of its deadline in force. */
FAAS_INTERNAL int64_t faas__inv_start_wall(const struct faas_inv *inv);
FAAS_INTERNAL int64_t faas__inv_deadline_wall(const struct faas_inv *inv);
/* A token for v now (provisioned first), never waiting. */
FAAS_INTERNAL int faas__admit_now(faas_runtime_t *rt, struct faas_version *v,
                                  struct faas_pool **pool, struct faas_pc **pc, const char **reason);
/* An invocation that only initialises an environment of v (provisioning). */
FAAS_INTERNAL struct faas_inv *faas__inv_bare(faas_runtime_t *rt, struct faas_version *v);
/* The pipeline: runs inv on the current thread (handler, instance, logs). */
FAAS_INTERNAL void faas__inv_run(struct faas_inv *inv);
/* Then: release its token (unless extensions still work) and answer the
 * waiting caller. True when the caller was asleep or an async attempt's
 * continuation ran: a worker on one CPU then yields before it sleeps. */
FAAS_INTERNAL bool faas__inv_complete(struct faas_inv *inv);
/* The post-runtime phase ended @p post_ns after the handler: REPORT, metrics,
 * the environment back warm (why < 0) or shut down with reason why, the
 * token released; drops the phase's reference on inv. Any thread. */
FAAS_INTERNAL void faas__inv_post_complete(struct faas_inv *inv, struct faas_instance *in,
                                           uint64_t post_ns, bool cold, int why);
/* DESIGN §9.8: run the pipeline for an admitted invocation (on a worker,
 * or inline); it completes exactly once. The continuation argument of
 * §9.8 (done_cb) arrives with its first user, async invocation. */
FAAS_INTERNAL int faas__submit(struct faas_inv *inv);
FAAS_INTERNAL void faas__request_id(char out[FAAS_REQUEST_ID_SIZE]);
/* The request chain of the handler running on this thread for rt (0: none):
 * queue and stream sends made from a handler carry it (DESIGN 9.13). */
FAAS_INTERNAL uint32_t faas__current_lineage(const faas_runtime_t *rt);
FAAS_INTERNAL void faas__version_label(uint32_t number, char out[12]);
FAAS_INTERNAL void faas__log_line(struct faas_inv *inv, const char *line, size_t len);
/* The host's log sinks only (no invocation's tail). */
FAAS_INTERNAL void faas__log_sinks(faas_runtime_t *rt, const char *line, size_t len);
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
extern FAAS_TLS faas_runtime_t *faas__current_rt;

/* ---- workers (pool.c) -------------------------------------------------- */

struct faas_worker;

struct faas_workers {
	faas_lock_t lock; /* idle stack, thread count, stopping */
	_Atomic uint32_t exits; /* futex word: bumped by every worker that exits */
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
/* Housekeeping: retire the workers idle for worker_idle_ms at real time
 * @p now; returns when the next one is due (UINT64_MAX: none idle). */
FAAS_INTERNAL uint64_t faas__workers_retire(faas_runtime_t *rt, uint64_t now);
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
/* SHUTDOWN to internal hooks and external subscribers; sets ev's deadline. */
FAAS_INTERNAL void faas__ext_shutdown(faas_runtime_t *rt, const struct faas_ext_set *s,
                                      faas_ext_event_t *ev);
/* INVOKE (ev filled) to the set's external subscribers: the post-runtime
 * record, linked where faas_extension_done finds it; NULL when there is no
 * subscriber (or no memory: then nothing waits for them). */
FAAS_INTERNAL struct faas_ext_msg *faas__ext_post_begin(faas_runtime_t *rt,
                                                        const struct faas_ext_set *s,
                                                        const faas_ext_event_t *ev);
/* The handler returned at @p now. True when the environment now waits for
 * extensions: the record took over the instance, the token, the version and
 * a reference on inv. False: the caller releases them as usual. */
FAAS_INTERNAL bool faas__ext_post_defer(struct faas_inv *inv, struct faas_instance *in,
                                        bool discard, bool cold, uint64_t now);
/* Housekeeping: post-runtime phases past their deadline end (reason timeout). */
FAAS_INTERNAL void faas__ext_post_expire(faas_runtime_t *rt, uint64_t now);
/* Shutdown: waiting phases end now (environments shut down, spindown). */
FAAS_INTERNAL void faas__ext_posts_close(faas_runtime_t *rt);
/* Shutdown: stop every extension thread and wait up to ext_shutdown_ms
 * (real time); returns how many were abandoned. */
FAAS_INTERNAL long faas__ext_threads_stop(faas_runtime_t *rt);

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
/* faas.asyncRetry (detail = reason, n = delay ms), faas.destination (detail =
 * condition, destination, delivered), faas.deadLetter (detail = condition,
 * n = error code). */
FAAS_INTERNAL void faas__tel_async(faas_runtime_t *rt, faas_telemetry_type_t type, const char *fn,
                                   const char *version, const char *request_id, uint32_t attempts,
                                   const char *detail, const char *destination, uint64_t n,
                                   bool delivered);
FAAS_INTERNAL void faas__tel_throttle(faas_runtime_t *rt, const char *fn, const char *version,
                                      const char *qual, size_t qual_len, const char *reason);
FAAS_INTERNAL void faas__tel_extension(faas_runtime_t *rt, const char *name, unsigned events);
FAAS_INTERNAL void faas__tel_source(faas_runtime_t *rt, const char *source, int code,
                                    const char *message);
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
/* An invocation of a version with provisioned concurrency: served by it,
 * or spilled over to on-demand while the configuration is in force. */
FAAS_INTERNAL void faas__metrics_provisioned(struct faas_version *v, bool provisioned);
FAAS_INTERNAL void faas__metrics_post_runtime(struct faas_version *v, uint64_t duration_ns);
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
/* A housekeeping thread runs (not inline mode, not shut down). */
FAAS_INTERNAL bool faas__hk_alive(faas_runtime_t *rt);

/* ---- virtual-clock waiters (clock.c) ----------------------------------- */

FAAS_INTERNAL void faas__vwait_add(faas_runtime_t *rt, struct faas_vwaiter *w);
FAAS_INTERNAL void faas__vwait_remove(faas_runtime_t *rt, struct faas_vwaiter *w);

#endif /* FAAS_DISPATCH_H */
