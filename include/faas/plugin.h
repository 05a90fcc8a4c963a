/*
 * libfaas — plug-ins: functions that live in a shared object loaded with
 * dlopen().
 *
 * A plug-in exports two symbols (FAAS_PLUGIN_DEFINE writes both):
 *
 *   const unsigned faas_plugin_abi = FAAS_PLUGIN_ABI;   the ABI it was built for
 *   int faas_plugin_init(const faas_plugin_api_t *api); registers its functions
 *
 * init calls api->register_function() for each function it offers (the
 * configuration is copied) and returns 0, or non-zero to refuse the load.
 * Nothing reaches the runtime while init runs: once it returned 0 the host
 * creates the functions, or with the `swap` option updates, publishes and
 * routes an alias to the existing ones. So a failing init, a missing
 * symbol, an ABI mismatch or a name clash leaves the runtime as it was.
 *
 * The api is valid only while init runs (register_function answers
 * FAAS_EINVAL afterwards). With `swap`, the load is not atomic across
 * functions: if a later function fails, the earlier ones stay swapped (their
 * versions hold the new build's code, which closes when they are gone). A
 * new build must have a path of its own: dlopen() hands back the object
 * already loaded from the same path.
 *
 * Every version made from a plug-in's code keeps the shared object open:
 * it is closed only when the last such version is gone (in-flight calls
 * finish on the code they started with, also across a hot swap).
 *
 * Plug-ins call back into libfaas (faas_context_* in handlers) through the
 * host's copy: a host that loads plug-ins links libfaas.so, or links the
 * static library with its symbols exported (-rdynamic); plug-ins themselves
 * are built without libfaas (they may link jansson).
 */
#ifndef FAAS_PLUGIN_H
#define FAAS_PLUGIN_H

#include "faas/common.h"
#include "faas/error.h"
#include "faas/function.h"

FAAS_BEGIN_DECLS

#define FAAS_PLUGIN_ABI 1

typedef struct faas_plugin faas_plugin_t;
typedef struct faas_plugin_api faas_plugin_api_t;

/** What init gets: the host's ABI and its registration call. */
struct faas_plugin_api {
	unsigned abi;     /**< FAAS_PLUGIN_ABI of the host */
	void *host;       /**< the load in progress (opaque) */
	/**
	 * Offer function @p name with @p cfg (copied, strings included; the
	 * callbacks are the plug-in's). On 0 the user_data passes to the
	 * runtime: if the load fails later, user_data_free is called for it
	 * (once per pointer) before the object closes. FAAS_EINVAL (a bad
	 * name, a config faas_function_create would refuse, a name offered
	 * twice), FAAS_ENOMEM: not taken.
	 */
	int (*register_function)(const faas_plugin_api_t *api, const char *name,
	                         const faas_function_config_t *cfg);
};

/** The entry point's type (the symbol is named "faas_plugin_init"). */
typedef int (*faas_plugin_init_fn)(const faas_plugin_api_t *api);

#if defined(__GNUC__)
#define FAAS_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define FAAS_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
#define FAAS_PLUGIN_LINKAGE extern "C"
#else
#define FAAS_PLUGIN_LINKAGE
#endif

/** In the plug-in's source (C or C++): both exports, with @p init_fn as the
 * entry point (extern "C" in C++ also gives the constant external linkage). */
#define FAAS_PLUGIN_DEFINE(init_fn)                                                        \
	FAAS_PLUGIN_LINKAGE FAAS_PLUGIN_EXPORT const unsigned faas_plugin_abi = FAAS_PLUGIN_ABI; \
	FAAS_PLUGIN_LINKAGE FAAS_PLUGIN_EXPORT int faas_plugin_init(const faas_plugin_api_t *api); \
	FAAS_PLUGIN_LINKAGE int faas_plugin_init(const faas_plugin_api_t *api)             \
	{                                                                                  \
		return init_fn(api);                                                       \
	}

#define FAAS_PLUGIN_OPTIONS_VERSION 1

typedef struct faas_plugin_options {
	unsigned version;    /**< FAAS_PLUGIN_OPTIONS_VERSION */
	int swap;            /**< functions that exist already get the new code: $LATEST is
	                          updated and published as a new version */
	const char *alias;   /**< swap: this alias of each function moves to the new version
	                          (created when missing); NULL = no alias */
	double weight;       /**< swap: 0 or >= 1 = all traffic to the new version; in (0, 1) =
	                          the new version gets that share, the old one the rest;
	                          negative or NaN: FAAS_EINVAL. The alias keeps its description */
} faas_plugin_options_t;

#define FAAS_PLUGIN_OPTIONS_INIT { FAAS_PLUGIN_OPTIONS_VERSION, 0, NULL, 0.0 }

/**
 * Load the shared object at @p path and apply what its init registered.
 * @param out the plug-in handle (faas_plugin_unload releases it)
 * @return 0; FAAS_ENOTFOUND (no such file), FAAS_EINVAL (not a shared
 *         object, a missing symbol, an ABI mismatch, a bad registration),
 *         FAAS_EUSER (init refused), FAAS_EEXIST (a function exists and swap
 *         is off), FAAS_ENOMEM, FAAS_ESHUTDOWN; the detail says which
 */
FAAS_EXTERN int faas_plugin_load(faas_runtime_t *rt, const char *path,
                                 const faas_plugin_options_t *opts, faas_plugin_t **out,
                                 faas_error_detail_t *detail);

/**
 * Delete the functions whose $LATEST still comes from this plug-in (in-flight
 * calls finish), release the handle, and wait up to @p wait_ms (real time)
 * for every version using its code to be gone; the shared object is closed
 * then. Functions swapped to a newer build stay; their older versions keep
 * this one open until they are deleted.
 * The handle is invalid afterwards, whatever the result; unload before
 * faas_runtime_free().
 * @return 0 (closed); FAAS_ETIMEDOUT (versions still use it: it closes when
 *         the last goes); FAAS_EINVAL; FAAS_EDEADLK from its own code
 */
FAAS_EXTERN int faas_plugin_unload(faas_plugin_t *p, uint32_t wait_ms, faas_error_detail_t *detail);

/** The functions its init registered, in order. */
FAAS_EXTERN size_t faas_plugin_function_count(const faas_plugin_t *p);
FAAS_EXTERN const char *faas_plugin_function_name(const faas_plugin_t *p, size_t i);
FAAS_EXTERN const char *faas_plugin_path(const faas_plugin_t *p);

FAAS_END_DECLS

#endif /* FAAS_PLUGIN_H */
