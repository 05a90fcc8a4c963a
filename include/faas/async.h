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

FAAS_END_DECLS

#endif /* FAAS_ASYNC_H */
