/*
 * libfaas — asynchronous invocation (Lambda's `Event` invocation type):
 * the event queue, retries, event age and destinations.
 *
 * faas_invoke() with type FAAS_INVOKE_EVENT validates the identifier,
 * checks the async payload limit, queues the event (a reference is taken:
 * the event is frozen from then on, the caller may drop its own) on the
 * version chosen now (alias routing is drawn once per event) and returns
 * at once: 0, status 202, a request id. A due event starts on the thread
 * that queues it or on the worker that frees a slot (the housekeeping thread
 * handles what waits: retries, backoffs, deadlines), through the same token
 * pools as sync calls; a function
 * error or timeout is retried (max_retry_attempts, about 1 then 2 minutes
 * later, scaled by the runtime option async_delay_scale); a throttle is
 * retried with exponential backoff (1 s up to 5 min, same scaling) without
 * using up retries, until the event is max_event_age_ms old. Reserved
 * concurrency 0 sends events to the failure path at once.
 *
 * In inline mode the events run on the caller's thread: the one queueing
 * them, faas_clock_advance() for retries, or the end of the outermost call
 * for events a handler queued (never inside a handler).
 *
 * Delivery is at least once: a handler may see an event again (a timed-out
 * attempt may even still be running when the retry starts); order is not
 * guaranteed. Nothing accepted is lost silently: each event ends in
 * exactly one of success, the failure destination, or (no destination
 * configured) the runtime's `undelivered` callback, and every outcome is
 * counted (faas_metrics_json "Async").
 */
#ifndef FAAS_ASYNC_H
#define FAAS_ASYNC_H

#include <jansson.h>

#include "faas/common.h"
#include "faas/error.h"
#include "faas/queue.h"

FAAS_BEGIN_DECLS

/** Where an invocation record goes. */
typedef enum faas_destination_kind {
	FAAS_DESTINATION_NONE = 0,
	FAAS_DESTINATION_CALLBACK = 1, /**< a C function */
	FAAS_DESTINATION_FUNCTION = 2, /**< another function, invoked asynchronously with the record */
	FAAS_DESTINATION_QUEUE = 3     /**< a built-in queue: the record as the message body */
} faas_destination_kind_t;

/**
 * Receives an invocation record, Lambda's shape:
 * {"version":"1.0","timestamp":...,"requestContext":{"requestId","functionArn",
 * "condition","approximateInvokeCount"},"requestPayload":...,
 * "responseContext":{"statusCode","executedVersion"[,"functionError"]},
 * "responsePayload":...}. `condition` is Success, RetriesExhausted,
 * EventAgeExceeded, or libfaas's Shutdown (still queued when the runtime
 * shut down). The record is borrowed for the call. Runs on the thread that
 * finished the event (a worker, the housekeeping thread, or the caller of
 * faas_runtime_shutdown), with no library lock held; it may invoke.
 */
typedef void (*faas_destination_fn)(json_t *record, void *user_data);

typedef struct faas_destination {
	faas_destination_kind_t kind;
	faas_destination_fn callback; /**< FAAS_DESTINATION_CALLBACK */
	void *user_data;              /**< passed to callback */
	const char *function;         /**< FAAS_DESTINATION_FUNCTION: name or ARN, optionally
	                                   qualified (copied) */
	faas_queue_t *queue;          /**< FAAS_DESTINATION_QUEUE: of the same runtime (the config
	                                   keeps it alive; a deleted queue refuses records) */
} faas_destination_t;

#define FAAS_EVENT_INVOKE_CONFIG_VERSION 1

/** PutFunctionEventInvokeConfig. */
typedef struct faas_event_invoke_config {
	unsigned version;            /**< FAAS_EVENT_INVOKE_CONFIG_VERSION */
	int32_t max_retry_attempts;  /**< 0-2; -1 = 2 (Lambda's default) */
	int64_t max_event_age_ms;    /**< 0 = 21600000 (6 h). Lambda accepts 60 s to 6 h;
	                                  libfaas accepts 1 ms to 6 h for embedded use */
	faas_destination_t on_success;
	faas_destination_t on_failure;
} faas_event_invoke_config_t;

#define FAAS_EVENT_INVOKE_CONFIG_INIT                                                              \
	{ FAAS_EVENT_INVOKE_CONFIG_VERSION, -1, 0, { FAAS_DESTINATION_NONE, NULL, NULL, NULL, NULL },   \
	  { FAAS_DESTINATION_NONE, NULL, NULL, NULL, NULL } }

/**
 * Put (replace) or, with @p cfg NULL, delete the event invoke config of a
 * function's qualifier: unqualified means $LATEST; a version or an alias
 * otherwise. An event uses the config of the qualifier it was invoked
 * with, as it stood when the event was queued.
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND (function, qualifier, or no
 *         config to delete), FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_set_event_invoke_config(faas_runtime_t *rt, const char *name,
                                                      const char *qualifier,
                                                      const faas_event_invoke_config_t *cfg,
                                                      faas_error_detail_t *detail);

/**
 * GetFunctionEventInvokeConfig: `{"FunctionArn","MaximumRetryAttempts",
 * "MaximumEventAgeInSeconds","DestinationConfig":{"OnSuccess":{"Destination"},
 * "OnFailure":{...}}}` of the qualifier (as faas_function_set_event_invoke_config
 * takes it). A destination shows as the function as configured, the
 * queue's ARN, or "callback"; none as {}.
 * @param out receives a new reference
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND (function, or no config), FAAS_ENOMEM,
 *         FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_get_event_invoke_config(faas_runtime_t *rt, const char *name,
                                                      const char *qualifier, json_t **out,
                                                      faas_error_detail_t *detail);

/* ---- a durable store for accepted events (libfaas-redis has one) ------------------------ */

/*
 * With runtime option `async_store`, Event invocations do not wait in the
 * in-memory queue: faas_invoke() returns 202 only once the store holds the
 * event, and a thread of the runtime ("faas-astore") takes events from the
 * store to run them. Many runtimes (processes, hosts) may share one store:
 * each runs what it takes. The rules of the in-memory queue hold — retries,
 * throttle backoff, event age, destinations, dead-letter sinks — with:
 *   - the event's state (attempts, throttles, when it is due, when it was
 *     accepted) kept in the store: a retry replaces the event by its next
 *     state (`again`), which any runtime of the store may take;
 *   - events a runtime holds (waiting for their retry time, or running)
 *     reported to the store every hold_interval_ms (`hold`), so that the
 *     store can give events of a dead runtime to the others;
 *   - the event age measured on the wall clock (hosts' clocks must agree);
 *   - the event invoke config and version looked up by the runtime that
 *     takes the event (the hosts run the same program); an event for a
 *     function or version this runtime does not know is left to the others
 *     (counted: StoreUnknown);
 *   - at shutdown, events still waiting are left in the store, not ended
 *     with condition Shutdown: another runtime, or this one restarted, runs
 *     them (StoreLeft).
 * Delivery is at least once: a runtime that dies mid-attempt leaves the
 * event to be run again.
 *
 * An event's envelope (JSON text, what the store keeps):
 *   {"v":1,"requestId":"…","function":"name","version":3 (0 = $LATEST),
 *    "qualifier":"alias" or "","event":{…},"attempts":0,"throttles":0,
 *    "throttled":false,"acceptedMs":…,"dueMs":…,"lineage":0}
 */

#define FAAS_ASYNC_TOKEN_MAX 64
#define FAAS_ASYNC_STORE_OPS_VERSION 1

/** An event taken from a store. */
typedef struct faas_async_stored {
	json_t *envelope;                 /**< new reference: the runtime takes it over */
	char token[FAAS_ASYNC_TOKEN_MAX]; /**< the store's name for it (an entry ID) */
} faas_async_stored_t;

/** A store's vtable. take and hold come from one thread (the runtime's
 *  "faas-astore"); put, done and again from any thread, concurrently. */
typedef struct faas_async_store_ops {
	unsigned version; /**< FAAS_ASYNC_STORE_OPS_VERSION */
	/** Keep @p envelope durably (the caller's faas_invoke waits for it).
	 *  0, or an error (the invoke fails with it; detail may say why). */
	int (*put)(void *user_data, const char *envelope, size_t len, faas_error_detail_t *detail);
	/** Up to @p max events to run here into @p out (*n set). May wait up to
	 *  a short time (a long poll; the runtime's shutdown waits for it); one
	 *  that answers within a millisecond with nothing is asked again 5 ms
	 *  later. max 0: take nothing, send what waits (acknowledgements of done). */
	int (*take)(void *user_data, size_t max, faas_async_stored_t *out, size_t *n);
	/** The event ended (success, destination, dead letter, dropped): forget it. */
	void (*done)(void *user_data, const char *token);
	/** Replace the event by its next state @p envelope, at once (one
	 *  transaction). 0; FAAS_ECONFLICT: the store no longer has the event
	 *  as this runtime's (another one ended it or moved it on): the runtime
	 *  forgets its copy; another error: the runtime keeps it itself. */
	int (*again)(void *user_data, const char *token, const char *envelope, size_t len);
	/** This runtime still holds these events (waiting or running). */
	void (*hold)(void *user_data, const char *const *tokens, size_t n);
	/** The runtime is freed: free user_data (pending work stays in the store). */
	void (*close)(void *user_data);
	uint32_t hold_interval_ms; /**< how often hold is called; 0 = 1000 */
	/** Optional: the runtime that took the store over, before any other op
	 *  (for faas_async_store_report). */
	void (*attach)(void *user_data, faas_runtime_t *rt);
	/** Optional: this runtime gives a taken event back unrun (shutdown, a
	 *  full queue): make it available to the others now, and do not count
	 *  this delivery. Any thread. */
	void (*leave)(void *user_data, const char *token);
} faas_async_store_ops_t;

/**
 * A store reports a problem of its own (a lost connection, a refused
 * write): counted in faas_metrics_json's Async.Store.StoreErrors, and a
 * faas.sourceError telemetry record (FAAS_TELEMETRY_FAAS) with @p name
 * (the store's address, say) as `name`, @p code and @p message (both
 * copied; NULL is fine). Any thread, until the store's close op runs.
 */
FAAS_EXTERN void faas_async_store_report(faas_runtime_t *rt, const char *name, int code,
                                         const char *message);

FAAS_END_DECLS

#endif /* FAAS_ASYNC_H */
