/*
 * libfaas — the runtime object and its clock.
 *
 * Threading: every call here is thread-safe unless noted. faas_runtime_free
 * must be the last call on a runtime and must not race with other calls.
 */
#ifndef FAAS_RUNTIME_H
#define FAAS_RUNTIME_H

#include "faas/common.h"
#include "faas/error.h"

#include <jansson.h>

FAAS_BEGIN_DECLS

/** Which clock the runtime reads for Lambda-visible time. */
typedef enum faas_clock_kind {
	FAAS_CLOCK_REAL = 0,   /**< CLOCK_MONOTONIC + CLOCK_REALTIME */
	FAAS_CLOCK_VIRTUAL = 1 /**< advances only through faas_clock_advance() */
} faas_clock_kind_t;

/** 2 added extension_shutdown_ms; version 1 structs are still accepted. */
#define FAAS_RUNTIME_OPTIONS_VERSION 3

/**
 * Receives each log line of every function (START/END/REPORT and
 * faas_context_log output), without a trailing newline. Runs on the worker
 * that produced it, with no library lock held; it must not block or invoke.
 */
typedef void (*faas_log_fn)(const char *line, size_t len, void *user_data);

/**
 * Runtime options. Initialise with FAAS_RUNTIME_OPTIONS_INIT and set what
 * you need; passing NULL to faas_runtime_new() means all defaults. New
 * fields are only ever appended (and `version` bumped). Strings are copied.
 */
typedef struct faas_runtime_options {
	unsigned version;           /**< FAAS_RUNTIME_OPTIONS_VERSION */
	const char *region;         /**< ARN region; NULL = "us-east-1" */
	const char *account_id;     /**< ARN account, 12 digits; NULL = "123456789012" */
	uint64_t seed;              /**< alias routing PRNG seed; 0 = seeded from time and pid */
	faas_clock_kind_t clock;    /**< FAAS_CLOCK_REAL (default) or FAAS_CLOCK_VIRTUAL */
	int64_t virtual_epoch_ms;   /**< virtual clock: wall time at start (Unix ms); 0 = real time now */
	uint32_t min_timeout_ms;    /**< smallest accepted function timeout; 0 = 1000 (Lambda's 1 s) */
	uint32_t max_concurrency;   /**< account limit = worker-thread cap; 0 = 4 x CPUs, at least 8 */
	uint32_t unreserved_min;    /**< concurrency reservations may not take; 0 = max/10, at least 1 */
	uint32_t min_workers;       /**< workers started up front and never retired (<= max) */
	uint32_t worker_idle_ms;    /**< real time an idle worker waits before exiting; 0 = 10000 */
	size_t worker_stack_size;   /**< 0 = the system default */
	int inline_mode;            /**< non-zero: run invocations on the calling thread */
	faas_log_fn log_fn;         /**< optional log sink */
	void *log_user_data;        /**< passed to log_fn */
	int legacy_handled_errors;  /**< non-zero: report function errors as Handled, not Unhandled */
	uint32_t max_request_bytes; /**< sync request limit on JSON text; 0 = 6291456 (Lambda's) */
	uint32_t max_response_bytes;/**< sync response limit on JSON text; 0 = 6291556 (Lambda's) */
	int enforce_json_limits;    /**< non-zero: also measure json_t events and responses (costs
	                                 a serialization pass) */
	uint32_t keep_alive_ms;     /**< idle execution environments are shut down (spindown) after
	                                 this long on the runtime's clock; 0 = 300000 (5 min) */
	uint32_t init_timeout_ms;   /**< an init running longer has failed (timeout); 0 = 10000 */
	int log_fd;                 /**< also write log lines, newline-terminated, to this file
	                                 descriptor; -1 (the default) = none */
	uint32_t max_extensions;    /**< 0 = 10 (Lambda's limit) */
	/* version 2 */
	uint32_t extension_shutdown_ms; /**< SHUTDOWN deadline of external extensions, and how long
	                                     faas_runtime_shutdown waits for their threads (real
	                                     time); 0 = 2000 (Lambda's) */
	/* asynchronous invocation (faas/async.h) */
	uint32_t async_queue_max;   /**< events queued at most (beyond: FAAS_EAGAIN); 0 = 100000 */
	int32_t async_max_inflight; /**< async attempts running at once; 0 = half of max_concurrency,
	                                 -1 = no cap (Lambda) */
	double async_delay_scale;   /**< multiplies retry delays and throttle backoff (1.0 = Lambda's
	                                 minutes and seconds); 0 = 1.0 */
	uint32_t max_async_request_bytes; /**< Event payload limit on JSON text; 0 = 1048576 */
	/** Receives, with no destination to take it, the invocation record of an
	 *  event still queued at shutdown (condition "Shutdown") or one a destination
	 *  could not take ("DestinationDeliveryFailed"); with an async_store, an
	 *  envelope taken from it that no runtime can run ("MalformedEnvelope": the
	 *  envelope as requestPayload, the store's token as
	 *  requestContext.storeToken; the store then forgets it). Runs like a
	 *  destination. */
	void (*async_undelivered)(json_t *record, void *user_data);
	void *async_undelivered_user_data;
	uint32_t async_duplicate_every; /**< testing aid: every Nth accepted event is delivered
	                                     twice (same request id), as Lambda's at-least-once
	                                     delivery may do; 0 = never */
	/* version 3 */
	/** A durable store for Event invocations instead of the in-memory queue
	 *  (faas/async.h; libfaas-redis makes one). The runtime takes
	 *  async_store_user_data over: its close op runs when the runtime is
	 *  freed, or at once when faas_runtime_new fails. Not in inline mode. */
	const struct faas_async_store_ops *async_store;
	void *async_store_user_data;
} faas_runtime_options_t;

#define FAAS_RUNTIME_OPTIONS_INIT \
	{ FAAS_RUNTIME_OPTIONS_VERSION, NULL, NULL, 0, FAAS_CLOCK_REAL, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0.0, 0, NULL, NULL, 0, NULL, NULL }

/**
 * Create a runtime.
 * @param out   receives the new runtime (release with faas_runtime_free)
 * @param opts  borrowed; NULL = defaults
 * @return 0, FAAS_EINVAL (bad option, unknown options version; see detail),
 *         FAAS_ENOMEM
 */
FAAS_EXTERN int faas_runtime_new(faas_runtime_t **out, const faas_runtime_options_t *opts,
                                 faas_error_detail_t *detail);

/**
 * Stop the runtime. From then on calls from outside the runtime answer
 * FAAS_ESHUTDOWN (handlers still running may still call in), and callers
 * waiting for a slot are answered FAAS_ESHUTDOWN at once; in-flight
 * invocations are waited for up to @p drain_ms of real time; idle execution
 * environments are shut down (reason spindown); idle workers exit (they are
 * detached threads: busy ones exit after their invocation); telemetry
 * buffers are delivered and every subscription ends (its release runs);
 * then the telemetry and housekeeping threads are joined. Handlers that never return keep their
 * worker thread, which keeps the runtime's core alive until they finish.
 * Environments still waiting for external extensions' post-runtime work
 * are shut down (spindown); then external extensions deliver their queued
 * events (SHUTDOWN included) and their threads exit, waited for up to
 * extension_shutdown_ms of real time.
 * @return 0; FAAS_ETIMEDOUT if invocations were still running at the
 *         deadline (faas_runtime_concurrent_executions() says how many), or
 *         an external extension's thread had not finished by its deadline
 *         (it is abandoned, and an EXTENSION_ERROR line goes to the log
 *         sinks);
 *         FAAS_EDEADLK when called from a runtime thread (a handler or a
 *         housekeeping callback); FAAS_ESHUTDOWN if already shut down;
 *         FAAS_EINVAL for NULL.
 */
FAAS_EXTERN int faas_runtime_shutdown(faas_runtime_t *rt, uint32_t drain_ms);

/**
 * Shut down (if not yet, with a drain of 0 ms) and release the runtime with
 * every function, version and alias; each `user_data_free` runs once. If a
 * handler is still running (it never returned), the registry and the rest
 * are released when it returns, on its thread; the log sinks (log_fn,
 * log_fd) are not used after this call returns. Accepts NULL. Must not be
 * called from a handler (it returns at once, doing nothing, if it is).
 */
FAAS_EXTERN void faas_runtime_free(faas_runtime_t *rt);

/** Concurrency tokens in use right now (Lambda's ConcurrentExecutions); computed when read. */
FAAS_EXTERN uint32_t faas_runtime_concurrent_executions(faas_runtime_t *rt);

/** The account limit (max_concurrency after defaults): GetAccountSettings' ConcurrentExecutions. */
FAAS_EXTERN uint32_t faas_runtime_concurrency_limit(const faas_runtime_t *rt);

/** ARN region of the runtime (borrowed, lives as long as @p rt). */
FAAS_EXTERN const char *faas_runtime_region(const faas_runtime_t *rt);

/** ARN account of the runtime (borrowed, lives as long as @p rt). */
FAAS_EXTERN const char *faas_runtime_account_id(const faas_runtime_t *rt);

/**
 * Advance a virtual clock by @p ms (monotonic and wall time move together).
 * @return 0; FAAS_EINVAL for NULL or a runtime on the real clock.
 */
FAAS_EXTERN int faas_clock_advance(faas_runtime_t *rt, uint64_t ms);

/**
 * Set the wall-clock time of a virtual clock (Unix ms); monotonic time is
 * unaffected. @return 0; FAAS_EINVAL for NULL, a real clock or a negative time.
 */
FAAS_EXTERN int faas_clock_set_wall(faas_runtime_t *rt, int64_t epoch_ms);

/** Wall-clock time of the runtime's clock, Unix ms. 0 for NULL. */
FAAS_EXTERN int64_t faas_clock_wall_ms(const faas_runtime_t *rt);

/** Monotonic time of the runtime's clock, ms since an arbitrary start. 0 for NULL. */
FAAS_EXTERN uint64_t faas_clock_monotonic_ms(const faas_runtime_t *rt);

FAAS_END_DECLS

#endif /* FAAS_RUNTIME_H */
