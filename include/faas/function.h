/*
 * libfaas — functions, published versions and aliases (the registry).
 *
 * Lambda's model: a function has one mutable version, `$LATEST`, and
 * immutable numbered versions published from it (1, 2, 3 ..., never
 * reused). An alias is a named pointer at a version, optionally sending a
 * share of its traffic to one additional published version.
 *
 * Identifiers: wherever a call takes a function "name" it accepts every form
 * Lambda accepts: `name`, `name:qualifier`, the partial ARN
 * `123456789012:function:name[:qualifier]` and the full ARN
 * `arn:aws:lambda:REGION:ACCOUNT:function:name[:qualifier]`. ARNs naming
 * another region or account than the runtime's are not found.
 *
 * Threading: every call is thread-safe and may run concurrently with any
 * other, including calls on the same function. Control-plane calls never
 * wait for in-flight invocations. No library lock is held while a callback
 * runs. `user_data_free` (and the spindown of a version's idle execution
 * environments) runs on the runtime's housekeeping thread once the last
 * reference is gone; in inline mode, and after shutdown, on the thread that
 * dropped it.
 *
 * Errors: see faas/error.h. Every call ends with a nullable detail.
 */
#ifndef FAAS_FUNCTION_H
#define FAAS_FUNCTION_H

#include <jansson.h>

#include "faas/common.h"
#include "faas/error.h"

FAAS_BEGIN_DECLS

/** Why an execution environment is shut down (Lambda's shutdownReason). */
typedef enum faas_shutdown_reason {
	FAAS_SHUTDOWN_SPINDOWN = 0, /**< idle, or the runtime is shutting down */
	FAAS_SHUTDOWN_TIMEOUT = 1,  /**< its invocation timed out */
	FAAS_SHUTDOWN_FAILURE = 2   /**< fatal error reported by the handler or init */
} faas_shutdown_reason_t;

/**
 * A function's handler.
 * @param ctx       the invocation's context (borrowed, worker-owned)
 * @param event     the event (borrowed; never mutate it)
 * @param response  set it to a new reference (or leave NULL for `null`)
 * @param user_data the function's user_data
 * @return 0 on success; non-zero reports a function error
 */
typedef int (*faas_handler_fn)(faas_context_t *ctx, json_t *event, json_t **response, void *user_data);

/** Runs once per execution environment before its first invocation (cold start). */
typedef int (*faas_init_fn)(faas_context_t *ctx, void **instance_state, void *user_data);

/** Runs when an execution environment is shut down. */
typedef void (*faas_shutdown_fn)(void *instance_state, faas_shutdown_reason_t why, void *user_data);

/** Releases a function's user_data once no version uses it any more. */
typedef void (*faas_user_data_free_fn)(void *user_data);

/** One environment variable. Both strings are copied. */
typedef struct faas_env_var {
	const char *key;   /**< [a-zA-Z][a-zA-Z0-9_]+, not a Lambda-reserved name */
	const char *value; /**< UTF-8 */
} faas_env_var_t;

#define FAAS_FUNCTION_CONFIG_VERSION 1

/** Default and limits, as Lambda's (timeout in ms; Lambda's 1–900 s). */
#define FAAS_TIMEOUT_DEFAULT_MS 3000u
#define FAAS_TIMEOUT_MAX_MS 900000u
#define FAAS_MEMORY_DEFAULT_MB 128u
#define FAAS_MEMORY_MIN_MB 128u
#define FAAS_MEMORY_MAX_MB 10240u
#define FAAS_DESCRIPTION_MAX 256u
#define FAAS_ENVIRONMENT_MAX_BYTES 4096u

/**
 * Code and configuration of `$LATEST`. Initialise with
 * FAAS_FUNCTION_CONFIG_INIT. The struct and every string in it are
 * borrowed and copied; `user_data` passes to the runtime only when the call
 * succeeds (on failure `user_data_free` is never called).
 *
 * `user_data` is owned per function: when the last version of this
 * function that uses it goes away, `user_data_free(user_data)` runs once.
 * Passing the same pointer again in an update shares it (it must then come
 * with the same `user_data_free`). Do not hand one pointer with a free
 * function to two different functions.
 */
/** What a dead-letter sink is told about a failed event, besides the event. */
typedef struct faas_dead_letter_info {
	const char *request_id;    /**< Lambda's RequestID attribute */
	int error_code;            /**< ErrorCode: the HTTP status (200 for a function error) */
	const char *error_message; /**< ErrorMessage: at most its first 1024 bytes */
} faas_dead_letter_info_t;

/**
 * A dead-letter sink (Lambda's DLQ): receives the original event of an
 * asynchronous invocation that failed (retries exhausted, too old, or
 * still queued at shutdown), in addition to any failure destination.
 * Borrowed arguments; runs like a destination callback (faas/async.h).
 */
typedef void (*faas_dead_letter_fn)(json_t *event, const faas_dead_letter_info_t *info,
                                    void *user_data);

typedef struct faas_function_config {
	unsigned version;                      /**< FAAS_FUNCTION_CONFIG_VERSION */
	faas_handler_fn handler;               /**< required */
	faas_init_fn init;                     /**< optional */
	faas_shutdown_fn shutdown;             /**< optional */
	void *user_data;                       /**< passed to the callbacks */
	faas_user_data_free_fn user_data_free; /**< optional */
	uint32_t timeout_ms;                   /**< 0 = 3000; min_timeout_ms (1000) .. 900000 */
	uint32_t memory_mb;                    /**< 0 = 128; 128 .. 10240 */
	const char *description;               /**< NULL = ""; at most 256 characters */
	const faas_env_var_t *environment;     /**< @p environment_count variables */
	size_t environment_count;              /**< keys + values at most 4 KB */
	uint64_t expected_revision;            /**< update only: 0 = any, else must match $LATEST's */
	int allow_recursion;                   /**< non-zero: Lambda's RecursiveLoop=Allow */
	uint32_t throttle_wait_ms;             /**< libfaas: wait up to this long for a token
	                                            instead of an immediate throttle (0 = Lambda's
	                                            behaviour); never from inside a handler */
	faas_dead_letter_fn dead_letter;       /**< optional DLQ for failed async events; part of
	                                            the version (locked at publish, as Lambda's) */
	void *dead_letter_user_data;           /**< passed to dead_letter (not owned) */
} faas_function_config_t;

#define FAAS_FUNCTION_CONFIG_INIT \
	{ FAAS_FUNCTION_CONFIG_VERSION, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, 0, 0, 0, NULL, NULL }

/**
 * Create a function; its `$LATEST` gets @p cfg.
 * @param name  bare name or unqualified ARN (borrowed)
 * @return 0; FAAS_EINVAL (bad name or config), FAAS_EEXIST ("Function
 *         already exist: NAME"), FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_create(faas_runtime_t *rt, const char *name,
                                     const faas_function_config_t *cfg, faas_error_detail_t *detail);

/**
 * Replace `$LATEST`'s code and configuration whole with @p cfg. In-flight
 * and published versions keep what they had. Any update, even to identical
 * values, counts as a change for the next publish (as in Lambda).
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND, FAAS_EPRECONDITION (revision
 *         mismatch), FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_update(faas_runtime_t *rt, const char *name,
                                     const faas_function_config_t *cfg, faas_error_detail_t *detail);

#define FAAS_PUBLISH_OPTIONS_VERSION 1

/** Options of faas_function_publish(); NULL = defaults. */
typedef struct faas_publish_options {
	unsigned version;           /**< FAAS_PUBLISH_OPTIONS_VERSION */
	const char *description;    /**< the version's description; NULL = $LATEST's */
	uint64_t expected_revision; /**< 0 = any, else must match $LATEST's revision */
} faas_publish_options_t;

#define FAAS_PUBLISH_OPTIONS_INIT { FAAS_PUBLISH_OPTIONS_VERSION, NULL, 0 }

/**
 * Publish `$LATEST` as a new immutable version. If `$LATEST` has not been
 * updated since the last publish and that version still exists, nothing is
 * created and its number is returned (as Lambda does).
 * @param version_out  receives the version number (may be NULL)
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND, FAAS_EPRECONDITION, FAAS_ENOMEM,
 *         FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_publish(faas_runtime_t *rt, const char *name,
                                      const faas_publish_options_t *opts, uint32_t *version_out,
                                      faas_error_detail_t *detail);

/**
 * Delete a whole function (qualifier NULL: `$LATEST`, every version and
 * alias) or one published version (qualifier = its number). A version an
 * alias references cannot be deleted (FAAS_ECONFLICT, "Unable to delete
 * version because the following aliases reference it: [a, b]"); neither can
 * `$LATEST` alone. Version numbers are never reused. In-flight work keeps
 * the objects it holds alive.
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND, FAAS_ECONFLICT, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_delete(faas_runtime_t *rt, const char *name, const char *qualifier,
                                     faas_error_detail_t *detail);

/**
 * Reserve concurrency for a function (PutFunctionConcurrency): @p n tokens
 * are carved out of the account pool, so the function can always run n at
 * once and never more. 0 throttles every invocation; -1 removes the
 * reservation. The sum of reservations may not leave less than the
 * runtime's unreserved_min ("Specified ReservedConcurrentExecutions for
 * function decreases account's UnreservedConcurrentExecution below its
 * minimum value of [N]."). Invocations already running keep their token;
 * new ones see the new limit at once.
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND, FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_set_reserved_concurrency(faas_runtime_t *rt, const char *name,
                                                       int32_t n, faas_error_detail_t *detail);

/**
 * GetFunctionConcurrency: the function's reserved concurrency into @p out,
 * -1 when it has none.
 * @return 0; FAAS_EINVAL (bad name, NULL out), FAAS_ENOTFOUND, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_get_reserved_concurrency(faas_runtime_t *rt, const char *name,
                                                       int32_t *out, faas_error_detail_t *detail);

/** Status of a provisioned concurrency configuration, as Lambda's `Status`. */
typedef enum faas_provisioned_status {
	FAAS_PROVISIONED_IN_PROGRESS = 0, /**< environments are being initialised */
	FAAS_PROVISIONED_READY = 1,       /**< all requested environments are initialised */
	FAAS_PROVISIONED_FAILED = 2       /**< an init failed; see status_reason */
} faas_provisioned_status_t;

#define FAAS_PROVISIONED_INFO_VERSION 1

/** GetProvisionedConcurrencyConfig, filled by faas_function_get_provisioned_concurrency(). */
typedef struct faas_provisioned_info {
	unsigned version;           /**< FAAS_PROVISIONED_INFO_VERSION */
	uint32_t requested;         /**< RequestedProvisionedConcurrentExecutions */
	uint32_t available;         /**< AvailableProvisionedConcurrentExecutions: initialised */
	uint32_t allocated;         /**< AllocatedProvisionedConcurrentExecutions (= available) */
	faas_provisioned_status_t status;
	char status_reason[256];    /**< when FAILED: the init's error type and message */
	int64_t last_modified_ms;   /**< runtime wall clock, epoch ms */
	uint32_t function_version;  /**< the published version whose environments these are */
} faas_provisioned_info_t;

#define FAAS_PROVISIONED_INFO_INIT { FAAS_PROVISIONED_INFO_VERSION, 0, 0, 0, FAAS_PROVISIONED_IN_PROGRESS, "", 0, 0 }

/**
 * Provisioned concurrency (PutProvisionedConcurrencyConfig; @p n = 0 is
 * DeleteProvisionedConcurrencyConfig) on a published version or an alias,
 * never $LATEST. @p n tokens are carved out of the function's reservation
 * (at most what it reserved, less other configs) or, without one, out of
 * the account like a reservation. @p n execution environments of the
 * target version are then initialised ahead of traffic, on the
 * housekeeping thread (initialization type `provisioned-concurrency`; on
 * the calling thread in inline mode), kept warm (never reaped) and used
 * first by every invocation that executes that version; when they are all
 * busy, invocations spill over to on-demand environments. The call
 * returns at once with the status IN_PROGRESS; READY once all are
 * initialised, FAILED (with a reason, no retry) when an init fails.
 *
 * An alias with routing weights is refused, like Lambda (weights added
 * later leave the environments on the primary version). A version has at
 * most one config: provisioning an alias and the version it points at, or
 * two aliases of one version, is FAAS_ECONFLICT. Moving an alias to another
 * version moves its configuration: the new version's environments are
 * initialised, and the old version's idle ones are shut down once the new
 * ones are ready (or failed). Deleting the alias or version deletes the
 * configuration; lowering it shuts idle environments down (spindown) and
 * busy ones when they finish.
 * @return 0; FAAS_EINVAL (bad qualifier, $LATEST, weighted alias, over a
 *         limit), FAAS_ENOTFOUND, FAAS_ECONFLICT, FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_set_provisioned_concurrency(faas_runtime_t *rt, const char *name,
                                                          const char *qualifier, uint32_t n,
                                                          faas_error_detail_t *detail);

/**
 * GetProvisionedConcurrencyConfig. FAAS_ENOTFOUND when the qualifier has
 * none ("No Provisioned Concurrency Config found for this function").
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_get_provisioned_concurrency(faas_runtime_t *rt, const char *name,
                                                          const char *qualifier,
                                                          faas_provisioned_info_t *out,
                                                          faas_error_detail_t *detail);

#define FAAS_ALIAS_CONFIG_VERSION 1

/**
 * An alias's target. `function_version` is a published version or
 * FAAS_VERSION_LATEST; with `additional_version` non-zero, that version
 * receives `additional_weight` (0.0–1.0) of the traffic and the primary the
 * rest. Both must then be published versions, and different.
 */
typedef struct faas_alias_config {
	unsigned version;            /**< FAAS_ALIAS_CONFIG_VERSION */
	uint32_t function_version;   /**< primary target; FAAS_VERSION_LATEST = $LATEST */
	uint32_t additional_version; /**< 0 = no routing */
	double additional_weight;    /**< share of the additional version, 0.0–1.0 */
	const char *description;     /**< NULL = ""; at most 256 characters */
	uint64_t expected_revision;  /**< update only: 0 = any, else must match the alias's */
} faas_alias_config_t;

#define FAAS_ALIAS_CONFIG_INIT { FAAS_ALIAS_CONFIG_VERSION, 0, 0, 0.0, NULL, 0 }

/**
 * Create an alias (1–128 of [a-zA-Z0-9-_], not all digits).
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND (function or version), FAAS_EEXIST,
 *         FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_alias_create(faas_runtime_t *rt, const char *function, const char *alias,
                                  const faas_alias_config_t *cfg, faas_error_detail_t *detail);

/**
 * Replace an alias's configuration whole (target, routing, description).
 * Resolutions already made keep the version they drew.
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND, FAAS_EPRECONDITION, FAAS_ENOMEM,
 *         FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_alias_update(faas_runtime_t *rt, const char *function, const char *alias,
                                  const faas_alias_config_t *cfg, faas_error_detail_t *detail);

/** Delete an alias. @return 0; FAAS_EINVAL, FAAS_ENOTFOUND, FAAS_ESHUTDOWN */
FAAS_EXTERN int faas_alias_delete(faas_runtime_t *rt, const char *function, const char *alias,
                                  faas_error_detail_t *detail);

/**
 * GetAlias: `{"AliasArn","Name","FunctionVersion","Description",
 * "RoutingConfig"?,"RevisionId"}`.
 * @param out receives a new reference
 */
FAAS_EXTERN int faas_alias_describe(faas_runtime_t *rt, const char *function, const char *alias,
                                    json_t **out, faas_error_detail_t *detail);

/**
 * GetFunction-like description:
 * `{"Configuration":{...},"Versions":[...],"Aliases":[...]}`. With a
 * qualifier in @p identifier, Configuration is that version's (for an
 * alias: its primary version's, with the alias ARN).
 * @param out receives a new reference
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND, FAAS_ENOMEM, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_describe(faas_runtime_t *rt, const char *identifier, json_t **out,
                                       faas_error_detail_t *detail);

/**
 * ListFunctions-like: `{"Functions":[<$LATEST configuration>...]}`, sorted by name.
 * @param out receives a new reference
 */
FAAS_EXTERN int faas_function_list(faas_runtime_t *rt, json_t **out, faas_error_detail_t *detail);

/**
 * Resolve an identifier to the version an invocation would run, drawing
 * alias routing exactly as an invocation does.
 * @param qualifier    optional explicit qualifier; if the identifier has
 *                     one too they must agree
 * @param routing_key  optional: the same key picks the same version of a
 *                     weighted alias while its weights are unchanged
 * @param version_out  receives the executed version (FAAS_VERSION_LATEST
 *                     for $LATEST); may be NULL
 * @return 0; FAAS_EINVAL, FAAS_ENOTFOUND, FAAS_ESHUTDOWN
 */
FAAS_EXTERN int faas_function_resolve(faas_runtime_t *rt, const char *identifier,
                                      const char *qualifier, const char *routing_key,
                                      uint32_t *version_out, faas_error_detail_t *detail);

FAAS_END_DECLS

#endif /* FAAS_FUNCTION_H */
