/*
 * libfaas — invoking functions (Lambda's Invoke API, in-process).
 *
 * Return value = API outcome: 0 when the function was invoked, even if it
 * failed or timed out (Lambda's HTTP 200); a negative code when it was not
 * (throttled, not found, invalid, shut down...). The function outcome is in
 * the caller-allocated faas_result_t, which every path fills.
 *
 * Threading: thread-safe. From outside the runtime a sync call blocks until
 * the function returns or its timeout passes (the caller is its own
 * watchdog: a handler that overruns keeps its worker, the caller gets the
 * timeout error at the deadline). Calls from a handler are allowed and
 * never wait for a concurrency token.
 */
#ifndef FAAS_INVOKE_H
#define FAAS_INVOKE_H

#include <jansson.h>

#include "faas/common.h"
#include "faas/error.h"

FAAS_BEGIN_DECLS

/** X-Amz-Invocation-Type. */
typedef enum faas_invocation_type {
	FAAS_INVOKE_REQUEST_RESPONSE = 0, /**< run and wait (default) */
	FAAS_INVOKE_EVENT = 1,            /**< queue and return at once (202, faas/async.h) */
	FAAS_INVOKE_DRY_RUN = 2           /**< validate identifier and qualifier only; never runs */
} faas_invocation_type_t;

/** X-Amz-Log-Type. */
typedef enum faas_log_type {
	FAAS_LOG_NONE = 0,
	FAAS_LOG_TAIL = 1 /**< return the last 4 KB of the invocation's log in the result */
} faas_log_type_t;

#define FAAS_INVOKE_OPTIONS_VERSION 1

/** Per-call options; NULL = defaults. Strings and JSON are borrowed. */
typedef struct faas_invoke_options {
	unsigned version;            /**< FAAS_INVOKE_OPTIONS_VERSION */
	faas_invocation_type_t type; /**< default RequestResponse */
	const char *qualifier;       /**< optional; must agree with one in the identifier */
	const char *routing_key;     /**< optional sticky key for weighted aliases */
	json_t *client_context;      /**< optional JSON object, seen by the handler (a reference is taken) */
	faas_log_type_t log_type;    /**< FAAS_LOG_TAIL fills result->log_tail */
	int64_t throttle_wait_ms;    /**< -1 = the function's setting; 0 = throttle at once; else
	                                  wait (FIFO) up to this long for a token. Forced to 0 from
	                                  inside a handler. */
	int response_text;           /**< non-zero: also serialize the response into
	                                  result->payload_text, enforcing the response limit */
} faas_invoke_options_t;

#define FAAS_INVOKE_OPTIONS_INIT \
	{ FAAS_INVOKE_OPTIONS_VERSION, FAAS_INVOKE_REQUEST_RESPONSE, NULL, NULL, NULL, FAAS_LOG_NONE, -1, 0 }

/** X-Amz-Function-Error. */
typedef enum faas_function_error {
	FAAS_FUNCTION_ERROR_NONE = 0,
	FAAS_FUNCTION_ERROR_HANDLED = 1,  /**< legacy runtimes (runtime option) */
	FAAS_FUNCTION_ERROR_UNHANDLED = 2 /**< what current runtimes report */
} faas_function_error_t;

#define FAAS_RESULT_VERSION 1
#define FAAS_REQUEST_ID_SIZE 37 /* UUID text + NUL */
#define FAAS_RESULT_MESSAGE_MAX FAAS_MESSAGE_MAX

/**
 * The outcome of one invoke call. Caller-allocated: initialise with
 * FAAS_RESULT_INIT, release with faas_result_clear() (idempotent; the
 * struct may then be reused).
 */
typedef struct faas_result {
	unsigned version;                      /**< FAAS_RESULT_VERSION */
	int code;                              /**< the call's return value */
	int status_code;                       /**< HTTP status Lambda answers: 200, 204, or the API error's */
	faas_function_error_t function_error;  /**< set when the function failed or timed out */
	json_t *payload;                       /**< new reference: the response (`null` for none), or
	                                            {"errorMessage","errorType","stackTrace":[]}; NULL
	                                            on API errors and DryRun */
	char request_id[FAAS_REQUEST_ID_SIZE]; /**< UUIDv4 of the invocation, "" if none started */
	char executed_version[12];             /**< "$LATEST" or "N"; "" if not resolved */
	const char *error_type;                /**< static: Lambda exception name on API errors, else NULL */
	const char *throttle_reason;           /**< static, on FAAS_ETHROTTLED: Lambda's Reason */
	char message[FAAS_RESULT_MESSAGE_MAX]; /**< one line: API error or errorMessage; first error wins */
	double duration_ms;                    /**< handler run time (to the deadline on timeout) */
	double init_duration_ms;               /**< init run time on a cold start, else 0 */
	char *log_tail;                        /**< FAAS_LOG_TAIL: last 4 KB of the log, NUL-terminated */
	size_t log_tail_len;
	char *log_tail_base64;                 /**< the same, base64 (X-Amz-Log-Result) */
	char *payload_text;                    /**< response_text: the payload as JSON text */
	size_t payload_text_len;
	uint32_t lineage;                      /**< invocations in this request chain, this one included */
} faas_result_t;

#define FAAS_RESULT_INIT \
	{ FAAS_RESULT_VERSION, 0, 0, FAAS_FUNCTION_ERROR_NONE, NULL, "", "", NULL, NULL, "", 0, 0, NULL, 0, NULL, NULL, 0, 0 }

/** Lambda's limits on a recursive request chain and on payloads. */
#define FAAS_RECURSION_LIMIT 16
#define FAAS_SYNC_REQUEST_MAX 6291456u
/** Lambda's limit on an Event invocation's payload (JSON text). */
#define FAAS_ASYNC_REQUEST_MAX 1048576u
#define FAAS_SYNC_RESPONSE_MAX 6291556u
#define FAAS_CLIENT_CONTEXT_MAX 3583u /* bytes of base64 */

/**
 * Invoke a function.
 * @param identifier name, name:qualifier, partial or full ARN (borrowed)
 * @param event      the event (borrowed; the runtime keeps its own reference
 *                   while it needs it; never mutate it afterwards). NULL = `null`.
 * @param opts       NULL = RequestResponse, no qualifier
 * @param result     filled on every path (must be FAAS_RESULT_INIT or cleared)
 * @return 0 (invoked, or queued for Event; see result->function_error),
 *         FAAS_EINVAL, FAAS_ENOTFOUND, FAAS_ETHROTTLED (result->throttle_reason),
 *         FAAS_EAGAIN (Event: the async queue is full), FAAS_ETOOLARGE,
 *         FAAS_ERECURSION, FAAS_ESHUTDOWN, FAAS_ETHREAD, FAAS_ENOMEM
 */
FAAS_EXTERN int faas_invoke(faas_runtime_t *rt, const char *identifier, json_t *event,
                            const faas_invoke_options_t *opts, faas_result_t *result);

/**
 * Invoke from inside a handler (or init), as part of the caller's request
 * chain: the callee runs on another worker under normal admission, never
 * waits for a token (a chain deeper than the free tokens is throttled, never
 * deadlocked), and its own timeout holds. The hop that would make the chain
 * longer than FAAS_RECURSION_LIMIT is refused with FAAS_ERECURSION
 * (RecursiveInvocationException) unless the target allows recursion.
 * faas_invoke() called on a handler's thread does the same.
 */
FAAS_EXTERN int faas_context_invoke(faas_context_t *ctx, const char *identifier, json_t *event,
                                    const faas_invoke_options_t *opts, faas_result_t *result);

/**
 * Invoke with a JSON text event, parsed on the calling thread for every
 * invocation type. Invalid JSON answers FAAS_EBADJSON
 * (InvalidRequestContentException, "Could not parse request body into
 * json: ...") with jansson's line and column; nothing is invoked. An empty
 * text (len 0) is the event `null`.
 */
FAAS_EXTERN int faas_invoke_json(faas_runtime_t *rt, const char *identifier, const char *json,
                                 size_t len, const faas_invoke_options_t *opts,
                                 faas_result_t *result);

/** Release what a result holds and reset it to FAAS_RESULT_INIT. Idempotent; NULL-safe. */
FAAS_EXTERN void faas_result_clear(faas_result_t *result);

FAAS_END_DECLS

#endif /* FAAS_INVOKE_H */
