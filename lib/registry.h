/*
 * libfaas — private registry types: identifiers and the refcounted objects
 * of DESIGN §9.6 (code, version, alias, function).
 *
 * Ownership: every object below is immutable after construction except its
 * reference count; "replacing" one means building a new one and swapping
 * the pointer under the stripe lock. References are dropped only with no
 * library lock held; a version whose count reaches zero goes to the
 * housekeeping thread to be destroyed (housekeeping.c).
 */
#ifndef FAAS_REGISTRY_H
#define FAAS_REGISTRY_H

#include "faas_int.h"

#define FAAS_NAME_MAX 64
#define FAAS_ALIAS_MAX 128
#define FAAS_QUALIFIER_MAX 128
#define FAAS_IDENT_MAX_CONTROL 140
#define FAAS_IDENT_MAX_INVOKE 170
#define FAAS_ARN_MAX 320

/* ---- identifiers (qualifier.c) ----------------------------------------- */

enum faas_qual_kind {
	FAAS_QUAL_NONE = 0, /* unqualified: $LATEST */
	FAAS_QUAL_LATEST,
	FAAS_QUAL_VERSION,
	FAAS_QUAL_ALIAS
};

enum faas_ident_mode {
	FAAS_IDENT_INVOKE,     /* Invoke: '.' allowed in the name, up to 170 chars */
	FAAS_IDENT_CONTROL,    /* control plane: up to 140 chars */
	FAAS_IDENT_UNQUALIFIED /* create/publish/alias ops: no qualifier allowed */
};

/* A parsed identifier. Pointers alias the caller's strings (no copies). */
struct faas_ident {
	const char *name;
	size_t name_len;
	const char *qual; /* NULL when unqualified */
	size_t qual_len;
	enum faas_qual_kind kind;
	uint32_t version; /* FAAS_QUAL_VERSION: the number, 0 if no version can have it */
};

FAAS_INTERNAL int faas__ident_parse(const faas_runtime_t *rt, const char *identifier,
                                    const char *explicit_qualifier, enum faas_ident_mode mode,
                                    struct faas_ident *out, faas_error_detail_t *d);
/* Validates an alias name (1-128 of [a-zA-Z0-9-_], not all digits). */
FAAS_INTERNAL int faas__alias_name_check(const char *alias, faas_error_detail_t *d);
/* "arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]" into buf. */
FAAS_INTERNAL void faas__format_arn(const faas_runtime_t *rt, const char *name, size_t name_len,
                                    const char *qual, size_t qual_len, char *buf, size_t size);
FAAS_INTERNAL int faas__fail_fn_not_found(const faas_runtime_t *rt, faas_error_detail_t *d,
                                          const char *name, size_t name_len, const char *qual,
                                          size_t qual_len);

struct faas_pc;
struct faas_pcfg;
struct faas_eicfg;

/* ---- objects (objects.c) ----------------------------------------------- */

/*
 * user_data with its release function, shared by the codes of one
 * function. Once adopted by a function it is on that function's list and
 * its count changes only under fn->udata_lock, so an update that passes the
 * same pointer again always finds it while anything still uses it.
 */
struct faas_udata {
	_Atomic long refs;
	void *ptr;
	faas_user_data_free_fn free_fn;
	struct faas_fn *fn; /* set once adopted; outlives the holder */
	struct faas_udata *next;
};

struct faas_plugin;

/* The callbacks of a version. */
struct faas_code {
	_Atomic long refs;
	faas_handler_fn handler;
	faas_init_fn init;
	faas_shutdown_fn shutdown;
	struct faas_udata *udata;
	struct faas_plugin *plugin; /* the shared object the callbacks live in (referenced), or NULL */
};

/* plugin.c: the plug-in whose functions this thread is creating (a new
 * reference), or NULL; and the release of one (the last closes it). */
FAAS_INTERNAL struct faas_plugin *faas__plugin_current(void);
/* Delete function name if its $LATEST runs owner's code, atomically with
 * the check: 0, FAAS_ENOTFOUND, or FAAS_EPRECONDITION (another's now). */
FAAS_INTERNAL int faas__function_delete_owned(faas_runtime_t *rt, const char *name,
                                              const struct faas_plugin *owner);
FAAS_INTERNAL void faas__plugin_unref(struct faas_plugin *p);
/* For the manifest: open a plug-in without calling an init (FAAS_ENOTFOUND,
 * FAAS_EINVAL as faas_plugin_load), look up a symbol, make it this thread's
 * loading plug-in (NULL: none), drop a loaded plug-in's handle while its
 * functions keep it. */
FAAS_INTERNAL int faas__plugin_open(faas_runtime_t *rt, const char *path, struct faas_plugin **out,
                                    faas_error_detail_t *d);
FAAS_INTERNAL void *faas__plugin_symbol(struct faas_plugin *p, const char *name);
FAAS_INTERNAL void faas__plugin_set_loading(struct faas_plugin *p);
FAAS_INTERNAL void faas__plugin_release(struct faas_plugin *p);
/* A function configuration as create and update check it (objects.c). */
FAAS_INTERNAL int faas__config_check(const faas_runtime_t *rt, const faas_function_config_t *cfg,
                                     faas_error_detail_t *d);

/* A pool of concurrency tokens (concurrency.c). */
struct faas_pool {
	_Atomic int64_t avail; /* tokens free in this pool */
	_Atomic int64_t debt;  /* tokens it owes other pools: releases pay them first */
	bool reserved;         /* a function's reservation (else the unreserved pool) */
};

/* A function's identity, with its concurrency state. */
struct faas_fn {
	_Atomic long refs;
	faas_runtime_t *rt; /* for deferred destruction */
	size_t name_len;
	char pad_[FAAS_CACHELINE]; /* keep the hot pool off the refcount's line */
	_Atomic int32_t reserved;  /* -1: none; else the reservation (pool in use) */
	struct faas_pool pool;     /* tokens of the reservation */
	void *conc_spare;          /* debt entry set aside for un-reserving */
	int64_t provisioned;       /* sum of its provisioned configs (under conc->lock) */
	pthread_mutex_t udata_lock; /* the list below and its holders' counts */
	struct faas_udata *udatas;
	char name[];               /* NUL-terminated */
};

/* $LATEST or a published version: a configuration snapshot plus code. */
struct faas_version {
	_Atomic long refs;
	uint32_t number; /* FAAS_VERSION_LATEST for $LATEST */
	uint32_t timeout_ms;
	uint32_t memory_mb;
	uint32_t throttle_wait_ms;
	bool allow_recursion;
	faas_dead_letter_fn dead_letter; /* with its user data: part of the published config */
	void *dead_letter_ud;
	uint64_t revision;
	int64_t last_modified_ms;
	_Atomic uint64_t typical_ns; /* moving average of handler time: a statistic, not config */
	struct faas_version *grave_next; /* housekeeping's list, once unreferenced */
	_Atomic(struct faas_metrics *) metrics; /* allocated on first use (metrics.c) */
	struct faas_fn *fn;
	struct faas_code *code;
	struct faas_instances *instances; /* execution environments of this version */
	/* provisioned environments, once a config targeted this version; owned
	 * (one reference) until the version is destroyed (provisioned.c) */
	_Atomic(struct faas_pc *) pc;
	char *description;
	faas_env_var_t *env; /* one block: array then strings */
	size_t env_count;
};

/* An alias, replaced whole on update. */
struct faas_alias {
	_Atomic long refs;
	struct faas_fn *fn;
	struct faas_version *primary;   /* NULL when the target is $LATEST */
	struct faas_version *secondary; /* NULL without routing */
	uint32_t primary_number;
	double weight;       /* share of secondary */
	uint64_t threshold;  /* draw < threshold picks secondary (weight < 1) */
	bool all_secondary;  /* weight == 1.0 */
	uint64_t revision;
	char *description;
	size_t name_len;
	char name[];
};

FAAS_INTERNAL struct faas_fn *faas__fn_new(faas_runtime_t *rt, const char *name, size_t len);
FAAS_INTERNAL void faas__fn_ref(struct faas_fn *f);
FAAS_INTERNAL void faas__fn_unref(struct faas_fn *f);
FAAS_INTERNAL void faas__code_unref(struct faas_code *c);
FAAS_INTERNAL void faas__version_ref(struct faas_version *v);
/* A reference unless the count already reached zero (then false). */
FAAS_INTERNAL bool faas__version_tryref(struct faas_version *v);
/* The last unref hands the version to the housekeeping thread (if any). */
FAAS_INTERNAL void faas__version_unref(struct faas_version *v);
FAAS_INTERNAL void faas__version_destroy(struct faas_version *v);
FAAS_INTERNAL void faas__alias_ref(struct faas_alias *a);
FAAS_INTERNAL void faas__alias_unref(struct faas_alias *a);

/*
 * Validate @p cfg and build an unshared $LATEST version for @p fn (taking a
 * reference on fn), with a fresh udata holder. A call that fails after this
 * must faas__version_disown() it before the unref: user_data passes to the
 * runtime only on success.
 */
FAAS_INTERNAL int faas__version_from_config(faas_runtime_t *rt, struct faas_fn *fn,
                                            const faas_function_config_t *cfg,
                                            struct faas_version **out, faas_error_detail_t *d);
/* Copy of @p src as published version @p number (description overridden when non-NULL). */
FAAS_INTERNAL struct faas_version *faas__version_clone(const struct faas_version *src,
                                                       const char *description);
FAAS_INTERNAL void faas__version_disown(struct faas_version *v);
FAAS_INTERNAL int faas__check_description(const char *desc, faas_error_detail_t *d);
/*
 * On success of a create/update (stripe lock held): the function takes
 * ownership of c's user_data, sharing the holder it already has for the
 * same pointer. FAAS_EINVAL if that holder has another free function.
 */
FAAS_INTERNAL int faas__udata_adopt(struct faas_fn *fn, struct faas_code *c, faas_error_detail_t *d);

/* ---- routing (routing.c) ----------------------------------------------- */

/* Fill the routing fields of @p a from weight (validated by the caller). */
FAAS_INTERNAL void faas__routing_prepare(struct faas_alias *a, double weight);
/* Pick the version for one resolution. @p prng is under the caller's lock. */
FAAS_INTERNAL bool faas__routing_pick_secondary(const struct faas_alias *a, uint64_t *prng,
                                                uint64_t seed, const char *key);

/* ---- registry (registry.c) --------------------------------------------- */

/*
 * The name table: FAAS_STRIPES independent hash tables, each under its own
 * word lock (faas_lock_t); a name's hash picks the stripe and then the bucket. An entry and
 * everything it points to belong to its stripe: read or change them only
 * with the stripe lock held, and take references on what must outlive the
 * lock. Never hold two stripe locks at once.
 */
#define FAAS_STRIPES 64

struct faas_entry {
	struct faas_entry *next;
	uint64_t hash;
	struct faas_fn *fn;
	struct faas_version *latest;
	struct faas_version **versions; /* published, ascending by number */
	size_t nversions, cap_versions;
	struct faas_alias **aliases;
	size_t naliases, cap_aliases;
	uint32_t next_version;   /* never reused, starts at 1 */
	uint64_t published_from; /* $LATEST revision at the last publish, 0 = none */
	uint32_t last_published;
	struct faas_pcfg *pcfgs; /* provisioned concurrency configs (provisioned.c) */
	struct faas_eicfg *eicfgs; /* event invoke configs (async.c) */
};

struct faas_stripe {
	faas_lock_t lock;
	struct faas_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
	uint64_t prng; /* routing draws, under lock */
} __attribute__((aligned(FAAS_CACHELINE)));

struct faas_registry {
	struct faas_stripe stripes[FAAS_STRIPES];
};

/* Lock the stripe of a name; *hash receives the name's hash. */
FAAS_INTERNAL struct faas_stripe *faas__stripe_lock(faas_runtime_t *rt, const char *name,
                                                     size_t len, uint64_t *hash);
/* Lock the stripe of a name (*s) and find its entry: NULL if absent (the
 * stripe is locked either way: faas__stripe_unlock(*s)). */
FAAS_INTERNAL struct faas_entry *faas__entry_lock(faas_runtime_t *rt, const char *name, size_t len,
                                                  struct faas_stripe **s);
FAAS_INTERNAL void faas__stripe_unlock(struct faas_stripe *s);
FAAS_INTERNAL struct faas_entry *faas__entry_find(struct faas_stripe *s, const char *name,
                                                  size_t len, uint64_t hash);
FAAS_INTERNAL struct faas_version *faas__entry_version(const struct faas_entry *e, uint32_t number);
/* Index of the alias called name in e->aliases, or -1. */
FAAS_INTERNAL long faas__entry_alias_index(const struct faas_entry *e, const char *name, size_t len);
/* Grow a pointer array to hold one more element; false on ENOMEM. */
FAAS_INTERNAL bool faas__array_reserve(void *arrayp, size_t n, size_t *cap);

/* References on everything a function has, taken under its stripe lock. */
struct faas_snapshot {
	struct faas_version *latest;
	struct faas_version **versions;
	size_t nversions;
	struct faas_alias **aliases;
	size_t naliases;
};

FAAS_INTERNAL int faas__snapshot_take(faas_runtime_t *rt, const struct faas_ident *id,
                                      struct faas_snapshot *snap, faas_error_detail_t *d);
FAAS_INTERNAL void faas__snapshot_release(struct faas_snapshot *snap);
/* References on every function's $LATEST; *n receives the count. */
FAAS_INTERNAL int faas__registry_latest_all(faas_runtime_t *rt, struct faas_version ***out,
                                            size_t *n, faas_error_detail_t *d);

/* A version resolved for invocation: holds a reference until released. */
struct faas_resolved {
	struct faas_version *version;
	uint32_t executed; /* version number that runs */
	/* faas__registry_resolve_event only: the event invoke config of the
	 * qualifier as invoked (NULL: the defaults), referenced */
	struct faas_aconf *conf;
};

FAAS_INTERNAL int faas__registry_new(faas_runtime_t *rt);
FAAS_INTERNAL void faas__registry_free(faas_runtime_t *rt);
/* draw = false: an alias resolves to its primary without a routing draw (DryRun). */
FAAS_INTERNAL int faas__registry_resolve(faas_runtime_t *rt, const struct faas_ident *id,
                                         const char *routing_key, bool draw,
                                         struct faas_resolved *out, faas_error_detail_t *d);
/* The same, and under the same lock the event invoke config an Event
 * invocation is accepted with (out->conf; faas__async_enqueue takes it). */
FAAS_INTERNAL int faas__registry_resolve_event(faas_runtime_t *rt, const struct faas_ident *id,
                                               const char *routing_key, struct faas_resolved *out,
                                               faas_error_detail_t *d);
/* Under the stripe lock (async.c): the event invoke config of e's qualifier
 * (referenced), or NULL. */
FAAS_INTERNAL struct faas_aconf *faas__aconf_locked(const struct faas_entry *e, const char *qual,
                                                    size_t qual_len);
FAAS_INTERNAL void faas__resolved_release(struct faas_resolved *r);
FAAS_INTERNAL size_t faas__registry_count(faas_runtime_t *rt);
/* FAAS_EPRECONDITION with Lambda's RevisionId message. */
FAAS_INTERNAL int faas__fail_revision(faas_error_detail_t *d);
FAAS_INTERNAL void faas__registry_spindown(faas_runtime_t *rt);
FAAS_INTERNAL void faas__registry_reap(faas_runtime_t *rt, uint64_t now);
/* References on every version ($LATEST included) of every function. */
FAAS_INTERNAL int faas__registry_versions_all(faas_runtime_t *rt, struct faas_version ***out,
                                             size_t *n);

/* ---- describe (describe.c) --------------------------------------------- */

FAAS_INTERNAL json_t *faas__json_version(const faas_runtime_t *rt, const struct faas_version *v,
                                         const char *arn_qual, size_t arn_qual_len);
FAAS_INTERNAL json_t *faas__json_alias(const faas_runtime_t *rt, const struct faas_alias *a);
FAAS_INTERNAL json_t *faas__json_revision(uint64_t revision);
/* Release text from json_dumps with jansson's own free function. */
FAAS_INTERNAL void faas__json_text_free(char *text);

#endif /* FAAS_REGISTRY_H */
