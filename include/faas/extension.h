/*
 * libfaas — extensions: hooks at every phase of an execution environment
 * (Lambda's Extensions API, in-process).
 *
 * Internal extensions (FAAS_EXT_KIND_INTERNAL, the default): their hooks
 * run synchronously on the worker, with no library lock held.
 *
 * External extensions (FAAS_EXT_KIND_EXTERNAL), as Lambda's Extensions API
 * in-process: each has its own thread ("faas-ext-<name>", signals blocked)
 * that receives INVOKE and SHUTDOWN events through `on_event`, in order,
 * from an unbounded queue (one allocation per event; enqueueing never waits
 * for the extension; an event that cannot be allocated is not delivered and,
 * for INVOKE, the invocation does not wait for that extension). After the
 * handler returns, the caller is answered at once, but the execution
 * environment stays busy — not reusable, its concurrency token held — until
 * every external extension subscribed to INVOKE has called
 * faas_extension_done() for that request (Lambda's post-runtime phase,
 * reported as PostRuntimeExtensionsDuration). That work counts against the
 * function's timeout: past the invocation's deadline the housekeeping thread
 * shuts the environment down with reason `timeout` (the extensions get
 * SHUTDOWN timeout) and the token is released.
 *
 * Whenever an environment with external extensions is shut down (spindown,
 * timeout, failure, runtime shutdown), its external extensions subscribed
 * to SHUTDOWN get a SHUTDOWN event whose deadline is extension_shutdown_ms
 * (runtime option, default 2000 ms, Lambda's) from then. Only
 * faas_runtime_shutdown waits for them (real time, up to that long): a
 * thread still inside a callback then is abandoned (threads cannot be
 * killed), an error line goes to the log sinks and shutdown answers
 * FAAS_ETIMEDOUT; the runtime's memory lives until that thread returns.
 * Reaping, resets and unregistering never wait for an extension.
 *
 * External extensions need library threads: inline-mode runtimes refuse
 * them (FAAS_EINVAL).
 *
 * The set of extensions binds to an execution environment when it is
 * created: registering or unregistering affects environments created
 * afterwards; existing ones keep the set they started with until they are
 * shut down. An external extension's thread stops once no environment uses
 * it after it was unregistered (having delivered what was queued), or at
 * runtime shutdown.
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

#include <jansson.h>

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

/** How an extension runs. */
typedef enum faas_ext_kind {
	FAAS_EXT_KIND_INTERNAL = 0, /**< hooks on the worker, synchronously */
	FAAS_EXT_KIND_EXTERNAL = 1  /**< events on its own thread, through a queue */
} faas_ext_kind_t;

/** The event an external extension receives (0 for internal hooks). */
typedef enum faas_ext_event_type {
	FAAS_EXT_EVENT_NONE = 0,
	FAAS_EXT_EVENT_INVOKE = 1,  /**< request_id, deadline_ms, invoked_function_arn, function */
	FAAS_EXT_EVENT_SHUTDOWN = 2 /**< shutdown_reason, deadline_ms, function */
} faas_ext_event_type_t;

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
	int64_t deadline_ms;             /**< Unix ms, runtime clock. invoke: the invocation's;
	                                      shutdown: now + 500 ms (internal only) or
	                                      + extension_shutdown_ms (with an external one) */
	faas_ext_status_t status;        /**< done/end phases */
	const char *error_type;          /**< done/end phases, when not success */
	double duration_ms;              /**< done/end phases */
	size_t response_bytes;           /**< invoke end: size of the response as JSON text, when known */
	faas_shutdown_reason_t shutdown_reason; /**< shutdown */
	faas_ext_event_type_t event_type; /**< external extensions: which event */
	uint32_t extension_id;            /**< external extensions: the receiver's id */
} faas_ext_event_t;

/** 2 added `kind` and `on_event`; version 1 structs are still accepted (internal). */
#define FAAS_EXTENSION_VERSION 2

/**
 * An extension. Copied at registration (the name too). `release(user_data)`
 * runs once when the extension is unregistered and no execution environment
 * uses it any more (or when the runtime is freed), on the thread that let go
 * of it last: the unregistering caller, a worker or the housekeeping thread
 * shutting an environment down, the thread freeing the runtime, or (external
 * extensions) the extension's own thread as it stops.
 *
 * An external extension sets `kind` = FAAS_EXT_KIND_EXTERNAL, `events` within
 * FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN, `on_event`, and none of the hooks.
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
	/* version 2 */
	faas_ext_kind_t kind; /**< FAAS_EXT_KIND_INTERNAL (default) or FAAS_EXT_KIND_EXTERNAL */
	/** External: one event, on the extension's thread, with no library lock
	 *  held. `ev` and its strings are borrowed for the call. It may call
	 *  faas_extension_done() (here or later, from any thread), telemetry and
	 *  the control plane; not faas_runtime_shutdown/free (FAAS_EDEADLK). */
	void (*on_event)(const faas_ext_event_t *ev, void *user_data);
} faas_extension_t;

#define FAAS_EXTENSION_INIT \
	{ FAAS_EXTENSION_VERSION, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, FAAS_EXT_KIND_INTERNAL, NULL }

/**
 * Register an extension (at most max_extensions, default 10 as Lambda).
 * @param id_out receives its id (for unregistering); may be NULL
 * An external extension's thread starts here.
 * @return 0; FAAS_EINVAL (bad struct, name, or too many; an external one in
 *         inline mode), FAAS_EEXIST (name taken), FAAS_ENOMEM, FAAS_ETHREAD
 *         (its thread could not start), FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_extension_register(faas_runtime_t *rt, const faas_extension_t *ext,
                                        uint32_t *id_out, faas_error_detail_t *detail);

/** Unregister. @return 0; FAAS_ENOTFOUND, FAAS_EINVAL, FAAS_ESHUTDOWN */
FAAS_EXTERN int faas_extension_unregister(faas_runtime_t *rt, uint32_t id,
                                          faas_error_detail_t *detail);

/**
 * An external extension has finished its work for an INVOKE event (Lambda's
 * next `/extension/event/next` call). When it is the last of the
 * environment's INVOKE subscribers (and the handler has returned), the
 * environment is released — returned warm, its concurrency token freed — on
 * the calling thread. Thread-safe; callable from any thread, inside
 * `on_event` too, and while the runtime drains.
 * @param extension_id the id from faas_extension_register (also in each event)
 * @param request_id   borrowed: the INVOKE event's request id
 * @return 0; FAAS_EINVAL (NULL runtime or request id); FAAS_ENOTFOUND (no
 *         post-runtime work of that extension for that request: unknown
 *         id, already done, or the phase has ended — timed out, environment
 *         reset); FAAS_ESHUTDOWN after shutdown
 */
FAAS_EXTERN int faas_extension_done(faas_runtime_t *rt, uint32_t extension_id,
                                    const char *request_id, faas_error_detail_t *detail);

/**
 * An external extension's event as the Extensions API renders it:
 * `{"eventType":"INVOKE","deadlineMs":N,"requestId":"..","invokedFunctionArn":".."}`
 * or `{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":N}`
 * (reasons in lower case, as the Runtime Interface Emulator writes them).
 * @return a new reference; NULL for NULL, an event without type, or ENOMEM
 */
FAAS_EXTERN json_t *faas_extension_event_json(const faas_ext_event_t *ev);

FAAS_END_DECLS

#endif /* FAAS_EXTENSION_H */
