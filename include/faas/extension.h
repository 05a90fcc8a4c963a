/*
 * libfaas — extensions: hooks at every phase of an execution environment
 * (Lambda's Extensions API, in-process).
 *
 * This release has internal extensions: their callbacks run synchronously
 * on the worker, with no library lock held. The set of extensions binds to
 * an execution environment when it is created: registering or
 * unregistering affects environments created afterwards; existing ones keep
 * the set they started with until they are shut down.
 *
 * As libfaas extensions to Lambda's model (internal extensions in Lambda
 * cannot see SHUTDOWN nor stop an invocation): an internal extension here
 * may subscribe to SHUTDOWN, and its on_invoke_start may veto the
 * invocation: the invocation then fails with the function error
 * `Extension.<Reason>` and the handler does not run.
 */
#ifndef FAAS_EXTENSION_H
#define FAAS_EXTENSION_H

#include <stdbool.h>

#include "faas/common.h"
#include "faas/error.h"
#include "faas/function.h"

FAAS_BEGIN_DECLS

/** Events an extension subscribes to (bit mask). */
#define FAAS_EXT_INIT 0x1u     /**< on_init_start / on_init_done */
#define FAAS_EXT_INVOKE 0x2u   /**< on_invoke_start / on_invoke_end */
#define FAAS_EXT_SHUTDOWN 0x4u /**< on_shutdown */

/** Outcome of an init or an invocation, as Telemetry's `status`. */
typedef enum faas_ext_status {
	FAAS_EXT_SUCCESS = 0,
	FAAS_EXT_ERROR = 1,
	FAAS_EXT_TIMEOUT = 2
} faas_ext_status_t;

/**
 * What a hook is told. Strings are borrowed for the call. Fields that do
 * not apply to a phase are 0 or NULL.
 */
typedef struct faas_ext_event {
	const char *function_name;
	const char *function_version;    /**< "$LATEST" or "N" */
	const char *initialization_type; /**< "on-demand" (init phases) */
	const char *phase;               /**< "init" or "invoke" (a retried init) */
	const char *request_id;          /**< invoke phases */
	const char *invoked_function_arn;/**< invoke phases */
	int64_t deadline_ms;             /**< invoke: the invocation's; shutdown: the hook's */
	faas_ext_status_t status;        /**< done/end phases */
	const char *error_type;          /**< done/end phases, when not success */
	double duration_ms;              /**< done/end phases */
	size_t response_bytes;           /**< invoke end: size of the response as JSON text, when known */
	faas_shutdown_reason_t shutdown_reason; /**< shutdown */
} faas_ext_event_t;

#define FAAS_EXTENSION_VERSION 1

/**
 * An extension. Copied at registration (the name too). `release(user_data)`
 * runs once when the extension is unregistered and no execution environment
 * uses it any more (or when the runtime is freed), on the thread that let go
 * of it last: the unregistering caller, a worker or the housekeeping thread
 * shutting an environment down, or the thread freeing the runtime.
 */
typedef struct faas_extension {
	unsigned version;   /**< FAAS_EXTENSION_VERSION */
	const char *name;   /**< 1-64 printable characters, unique in the runtime */
	unsigned events;    /**< FAAS_EXT_INIT | FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN */
	void (*on_init_start)(const faas_ext_event_t *ev, void *user_data);
	void (*on_init_done)(const faas_ext_event_t *ev, void *user_data);
	/** Return 0 to let the invocation run; non-zero vetoes it. `reason` (a
	 *  buffer of 64 bytes) names it: the error type is "Extension.<reason>"
	 *  ("Extension.Veto" if left empty); `message` (256 bytes) its message. */
	int (*on_invoke_start)(const faas_ext_event_t *ev, char *reason, char *message,
	                       void *user_data);
	void (*on_invoke_end)(const faas_ext_event_t *ev, void *user_data);
	void (*on_shutdown)(const faas_ext_event_t *ev, void *user_data);
	void *user_data;
	void (*release)(void *user_data);
} faas_extension_t;

#define FAAS_EXTENSION_INIT { FAAS_EXTENSION_VERSION, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/**
 * Register an extension (at most max_extensions, default 10 as Lambda).
 * @param id_out receives its id (for unregistering); may be NULL
 * @return 0; FAAS_EINVAL (bad struct, name, or too many), FAAS_EEXIST (name
 *         taken), FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_extension_register(faas_runtime_t *rt, const faas_extension_t *ext,
                                        uint32_t *id_out, faas_error_detail_t *detail);

/** Unregister. @return 0; FAAS_ENOTFOUND, FAAS_EINVAL, FAAS_ESHUTDOWN */
FAAS_EXTERN int faas_extension_unregister(faas_runtime_t *rt, uint32_t id,
                                          faas_error_detail_t *detail);

FAAS_END_DECLS

#endif /* FAAS_EXTENSION_H */
