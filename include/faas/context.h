/*
 * libfaas — what a handler sees of its invocation (Lambda's context object).
 *
 * A context is valid only during the handler or init call it was passed to,
 * and only on that thread. Every string it returns is owned by the worker
 * and lives as long as the call.
 */
#ifndef FAAS_CONTEXT_H
#define FAAS_CONTEXT_H

#include <stdbool.h>

#include <jansson.h>

#include "faas/common.h"

FAAS_BEGIN_DECLS

/** The invocation's request id (UUIDv4). */
FAAS_EXTERN const char *faas_context_request_id(const faas_context_t *ctx);
/** The function's name. */
FAAS_EXTERN const char *faas_context_function_name(const faas_context_t *ctx);
/** The executed version: "$LATEST" or "N". */
FAAS_EXTERN const char *faas_context_function_version(const faas_context_t *ctx);
/** The ARN as called, with the qualifier the caller used (alias ARN for an alias). */
FAAS_EXTERN const char *faas_context_invoked_function_arn(const faas_context_t *ctx);
/** The configured memory size in MB (reported, not enforced). */
FAAS_EXTERN uint32_t faas_context_memory_limit_mb(const faas_context_t *ctx);
/** Deadline as Unix epoch ms, on the runtime's clock. */
FAAS_EXTERN int64_t faas_context_deadline_ms(const faas_context_t *ctx);
/** Milliseconds left before the deadline (0 once passed). */
FAAS_EXTERN int64_t faas_context_remaining_ms(const faas_context_t *ctx);
/** True once the caller has been answered with a timeout: stop working, your result is discarded. */
FAAS_EXTERN bool faas_context_cancelled(const faas_context_t *ctx);
/** The caller's client context (borrowed), or NULL. */
FAAS_EXTERN json_t *faas_context_client_context(const faas_context_t *ctx);
/** A variable of the function's environment, or NULL. */
FAAS_EXTERN const char *faas_context_getenv(const faas_context_t *ctx, const char *key);
/** The execution environment's state as set by the function's init callback. */
FAAS_EXTERN void *faas_context_instance_state(const faas_context_t *ctx);
/** How the execution environment was initialised, as Lambda's
 *  AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand" or "provisioned-concurrency". */
FAAS_EXTERN const char *faas_context_initialization_type(const faas_context_t *ctx);
/** The runtime the invocation runs in (to invoke other functions). */
FAAS_EXTERN faas_runtime_t *faas_context_runtime(const faas_context_t *ctx);

/**
 * Write one line to the function's log (Lambda's console output). The
 * line goes to the runtime's log sink and the invocation's log tail.
 */
FAAS_EXTERN void faas_context_log(faas_context_t *ctx, const char *fmt, ...) FAAS_PRINTF(2, 3);

/**
 * Describe the function error the handler is about to return:
 * `return faas_context_fail(ctx, "ValueError", "bad id %d", id);`
 * gives the caller {"errorMessage":"bad id 7","errorType":"ValueError",
 * "stackTrace":[]}. The first call of an invocation wins; the message is
 * cut to FAAS_RESULT_MESSAGE_MAX - 1 bytes. Its buffer is allocated on the
 * first failure: without memory for it the type is kept and the message
 * reads "(the error message was lost: out of memory)".
 * @return -1, for use as the handler's return value.
 */
FAAS_EXTERN int faas_context_fail(faas_context_t *ctx, const char *error_type, const char *fmt, ...)
        FAAS_PRINTF(3, 4);

/**
 * As faas_context_fail(), and the execution environment is reset after the
 * call (shutdown reason `failure`): its next invocation is a cold start.
 */
FAAS_EXTERN int faas_context_fail_fatal(faas_context_t *ctx, const char *error_type,
                                        const char *fmt, ...) FAAS_PRINTF(3, 4);

FAAS_END_DECLS

#endif /* FAAS_CONTEXT_H */
