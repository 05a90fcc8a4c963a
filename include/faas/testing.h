/*
 * libfaas — helpers for tests of handlers and hosts. Opt-in: include it
 * explicitly; faas.h does not.
 */
#ifndef FAAS_TESTING_H
#define FAAS_TESTING_H

#include <jansson.h>

#include "faas/common.h"
#include "faas/function.h"
#include "faas/invoke.h"

FAAS_BEGIN_DECLS

/**
 * Wait until nothing is running or runnable in @p rt — no invocation holds
 * a concurrency token (post-runtime extension work holds one too), no
 * external extension has an event queued or in hand or is stopping, no
 * async event is running or due, no provisioned environment is being
 * initialised, the housekeeping thread has destroyed what was dropped and,
 * on a virtual clock, has caught up with the clock (reaping, post-runtime
 * deadlines, async retries), and no telemetry batch is due or being
 * delivered (in inline mode the call delivers them) — or until @p real_ms
 * of real time has passed.
 * Tests use it instead of sleeping.
 * @return 0 when quiet, FAAS_ETIMEDOUT otherwise, FAAS_EINVAL for NULL.
 */
FAAS_EXTERN int faas_test_quiesce(faas_runtime_t *rt, uint32_t real_ms);

/* ---- unit tests of handlers -------------------------------------------------------- */

#define FAAS_TEST_OPTIONS_VERSION 1

typedef struct faas_test_options {
	unsigned version;                  /**< FAAS_TEST_OPTIONS_VERSION */
	faas_init_fn init;                 /**< optional: run first, as a cold start */
	faas_shutdown_fn shutdown;         /**< optional: the environment's end (reason spindown) */
	void *user_data;                   /**< passed to init and handler (not freed) */
	uint32_t timeout_ms;               /**< the function's timeout; 0 = 3000 */
	uint32_t memory_mb;                /**< 0 = 128 */
	const faas_env_var_t *environment; /**< faas_context_getenv sees these */
	size_t environment_count;
	const char *function_name;         /**< NULL = "handler-under-test" */
	const char *client_context_json;   /**< optional: the client context, as JSON text */
	int64_t epoch_ms;                  /**< the virtual clock's wall time; 0 = 2023-11-14T22:13:20Z */
} faas_test_options_t;

#define FAAS_TEST_OPTIONS_INIT { FAAS_TEST_OPTIONS_VERSION, NULL, NULL, NULL, 0, 0, NULL, 0, NULL, NULL, 0 }

/**
 * Invoke @p handler once with @p event_json (JSON text; NULL = null) on a
 * runtime of its own: inline mode (the handler runs on this thread) and a
 * virtual clock, so remaining time and timeouts are exact — the handler
 * moves time with faas_clock_advance(faas_context_runtime(ctx), ms), and a
 * handler that moves it past its timeout gets Lambda's timeout error. The
 * result is as faas_invoke_json leaves it (payload, function error,
 * message, durations) with the log tail always captured (START, the
 * handler's lines, END, REPORT). Release it with faas_result_clear().
 * @return as faas_invoke_json: 0 when the handler ran (it may have
 *         failed); FAAS_EBADJSON, FAAS_EINVAL (bad options), FAAS_ENOMEM
 */
FAAS_EXTERN int faas_test_invoke(faas_handler_fn handler, const char *event_json,
                                 const faas_test_options_t *opts, faas_result_t *result);

/**
 * Compare JSON values: 0 when equal (objects by keys, arrays in order,
 * integers and reals as numbers of the same value). Otherwise 1, and @p buf
 * (if not NULL) gets one readable line about the first difference, with its
 * path: `$.Records[0].body: expected "a", got "b"`, `$.n: missing`,
 * `$.x: unexpected`.
 */
FAAS_EXTERN int faas_test_json_diff(const json_t *expected, const json_t *actual, char *buf,
                                    size_t size);

/**
 * A sample event of Lambda's documented shape, for tests and the `faas
 * generate-event` command: "sqs", "sns", "s3", "apigateway" (REST, v1),
 * "kinesis", "eventbridge". New reference; NULL for another kind.
 */
FAAS_EXTERN json_t *faas_test_sample_event(const char *kind);

FAAS_END_DECLS

#endif /* FAAS_TESTING_H */
