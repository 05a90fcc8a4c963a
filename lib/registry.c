/*
 * libfaas — the function registry: name table, functions, versions.
 *
 * DESIGN §9.6: 64 lock stripes (faas_lock_t) over immutable refcounted objects. Writers
 * validate and build outside the lock and swap pointers under it; readers
 * lock one stripe, find, take a reference, unlock. Objects are released
 * only after the stripe lock is dropped, so user_data_free never runs with
 * a library lock held.
 */
#include "dispatch.h"

#include <stdio.h>

#define INITIAL_BUCKETS 16

/* ---- table ------------------------------------------------------------- */

int faas__registry_new(faas_runtime_t *rt)
{
	struct faas_registry *r = faas__calloc_aligned(sizeof(*r));
	size_t i;

	if (!r)
		return FAAS_ENOMEM;
	for (i = 0; i < FAAS_STRIPES; i++) {
		struct faas_stripe *s = &r->stripes[i];
		s->buckets = faas__calloc(INITIAL_BUCKETS, sizeof(*s->buckets));
		if (!s->buckets) {
			while (i--) {
				faas__free(r->stripes[i].buckets);
			}
			faas__free(r);
			return FAAS_ENOMEM;
		}
		s->nbuckets = INITIAL_BUCKETS;
		s->prng = rt->seed ^ (i * 0x9e3779b97f4a7c15ull);
	}
	rt->reg = r;
	return 0;
}

static void entry_free(faas_runtime_t *rt, struct faas_entry *e)
{
	size_t i;

	faas__pc_entry_free(rt, e); /* configs first: they point into versions */
	faas__async_entry_free(e);
	for (i = 0; i < e->naliases; i++)
		faas__alias_unref(e->aliases[i]);
	for (i = 0; i < e->nversions; i++)
		faas__version_unref(e->versions[i]);
	faas__version_unref(e->latest);
	faas__fn_unref(e->fn);
	faas__free(e->aliases);
	faas__free(e->versions);
	faas__free(e);
}

void faas__registry_free(faas_runtime_t *rt)
{
	struct faas_registry *r = rt->reg;
	size_t i, b;

	if (!r)
		return;
	for (i = 0; i < FAAS_STRIPES; i++) {
		struct faas_stripe *s = &r->stripes[i];
		for (b = 0; b < s->nbuckets; b++) {
			struct faas_entry *e = s->buckets[b], *next;
			for (; e; e = next) {
				next = e->next;
				entry_free(rt, e);
			}
		}
		faas__free(s->buckets);
	}
	faas__free(r);
	rt->reg = NULL;
}

/*
 * The hash of a function name: names are short (at most 64 bytes), so eight
 * bytes at a time, the tail in at most two reads, then a 64-bit finaliser so that
 * the low bits (stripe) and the next ones (bucket) both spread. In memory
 * only: nothing outside the registry sees it.
 */
static inline uint64_t name_hash(const char *name, size_t len)
{
	const unsigned char *p = (const unsigned char *)name;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w = 0;
	uint32_t a, b;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	/* the last 1-7 bytes in two reads that may overlap (the length is in h) */
	if (len >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + len - 4, 4);
		w = (uint64_t)a | (uint64_t)b << 32;
	} else if (len) {
		w = (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 | (uint64_t)p[len - 1] << 16;
	}
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

static inline __attribute__((always_inline)) struct faas_stripe *
stripe_lock(faas_runtime_t *rt, const char *name, size_t len, uint64_t *hash)
{
	struct faas_stripe *s;

	*hash = name_hash(name, len);
	s = &rt->reg->stripes[*hash & (FAAS_STRIPES - 1)];
	faas__lock(&s->lock);
	return s;
}

struct faas_stripe *faas__stripe_lock(faas_runtime_t *rt, const char *name, size_t len,
                                      uint64_t *hash)
{
	return stripe_lock(rt, name, len, hash);
}

void faas__stripe_unlock(struct faas_stripe *s)
{
	faas__unlock(&s->lock);
}

static size_t bucket_of(const struct faas_stripe *s, uint64_t hash)
{
	return (size_t)(hash >> 6) & (s->nbuckets - 1);
}

static inline __attribute__((always_inline)) struct faas_entry *
entry_find(struct faas_stripe *s, const char *name, size_t len, uint64_t hash)
{
	struct faas_entry *e;

	for (e = s->buckets[bucket_of(s, hash)]; e; e = e->next)
		if (e->hash == hash && e->fn->name_len == len && memcmp(e->fn->name, name, len) == 0)
			return e;
	return NULL;
}

struct faas_entry *faas__entry_find(struct faas_stripe *s, const char *name, size_t len,
                                    uint64_t hash)
{
	return entry_find(s, name, len, hash);
}

struct faas_entry *faas__entry_lock(faas_runtime_t *rt, const char *name, size_t len,
                                    struct faas_stripe **s)
{
	uint64_t hash;

	*s = faas__stripe_lock(rt, name, len, &hash);
	return faas__entry_find(*s, name, len, hash);
}

/* Doubling the bucket array is best effort: on ENOMEM chains just grow. */
static void maybe_grow(struct faas_stripe *s)
{
	struct faas_entry **nb, *e, *next;
	size_t n = s->nbuckets * 2, b;

	if (s->count < s->nbuckets)
		return;
	nb = faas__calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (b = 0; b < s->nbuckets; b++) {
		for (e = s->buckets[b]; e; e = next) {
			size_t nbk = (size_t)(e->hash >> 6) & (n - 1);
			next = e->next;
			e->next = nb[nbk];
			nb[nbk] = e;
		}
	}
	faas__free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
}

static void entry_unlink(struct faas_stripe *s, struct faas_entry *e)
{
	struct faas_entry **pp = &s->buckets[bucket_of(s, e->hash)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	s->count--;
}

bool faas__array_reserve(void *arrayp, size_t n, size_t *cap)
{
	void **arr = *(void ***)arrayp;
	size_t ncap;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 4;
	arr = faas__reallocarray(arr, ncap, sizeof(void *));
	if (!arr)
		return false;
	*(void ***)arrayp = arr;
	*cap = ncap;
	return true;
}

struct faas_version *faas__entry_version(const struct faas_entry *e, uint32_t number)
{
	size_t lo = 0, hi = e->nversions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t n = e->versions[mid]->number;
		if (n == number)
			return e->versions[mid];
		if (n < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

long faas__entry_alias_index(const struct faas_entry *e, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < e->naliases; i++)
		if (e->aliases[i]->name_len == len && memcmp(e->aliases[i]->name, name, len) == 0)
			return (long)i;
	return -1;
}

size_t faas__registry_count(faas_runtime_t *rt)
{
	size_t i, n = 0;

	for (i = 0; i < FAAS_STRIPES; i++) {
		struct faas_stripe *s = &rt->reg->stripes[i];
		faas__lock(&s->lock);
		n += s->count;
		faas__unlock(&s->lock);
	}
	return n;
}

/* ---- common entry checks ----------------------------------------------- */

int faas__fail_revision(faas_error_detail_t *d)
{
	return faas__fail(d, FAAS_EPRECONDITION,
	                  "The Revision Id provided does not match the latest Revision Id. Call the "
	                  "GetFunction/GetAlias API to retrieve the latest Revision Id");
}

/* ---- create / update --------------------------------------------------- */

int faas_function_create(faas_runtime_t *rt, const char *name, const faas_function_config_t *cfg,
                         faas_error_detail_t *d)
{
	struct faas_ident id;
	struct faas_entry *e;
	struct faas_stripe *s;
	struct faas_version *v = NULL;
	uint64_t hash;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (!cfg)
		return faas__fail(d, FAAS_EINVAL, "function config must not be NULL");
	if ((rc = faas__ident_parse(rt, name, NULL, FAAS_IDENT_UNQUALIFIED, &id, d)) != 0)
		return rc;
	e = faas__calloc(1, sizeof(*e));
	if (e)
		e->fn = faas__fn_new(rt, id.name, id.name_len);
	if (!e || !e->fn) {
		faas__free(e);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	if ((rc = faas__version_from_config(rt, e->fn, cfg, &v, d)) != 0)
		goto fail;
	e->latest = v;
	e->next_version = 1;
	s = faas__stripe_lock(rt, id.name, id.name_len, &hash);
	if (faas__entry_find(s, id.name, id.name_len, hash)) {
		faas__stripe_unlock(s);
		rc = faas__fail(d, FAAS_EEXIST, "Function already exist: %.*s", (int)id.name_len, id.name);
		goto fail;
	}
	faas__udata_adopt(e->fn, v->code, d); /* a new function owns nothing yet: cannot fail */
	maybe_grow(s);
	e->hash = hash;
	e->next = s->buckets[bucket_of(s, hash)];
	s->buckets[bucket_of(s, hash)] = e;
	s->count++;
	faas__stripe_unlock(s);
	return 0;
fail:
	faas__version_disown(v);
	entry_free(rt, e);
	return rc;
}

/* Look up a function and take a reference on its identity. */
static int fn_lookup(faas_runtime_t *rt, const struct faas_ident *id, struct faas_fn **out,
                     faas_error_detail_t *d)
{
	struct faas_stripe *s;
	struct faas_entry *e;

	e = faas__entry_lock(rt, id->name, id->name_len, &s);
	if (e)
		faas__fn_ref(e->fn);
	faas__stripe_unlock(s);
	if (!e)
		return faas__fail_fn_not_found(rt, d, id->name, id->name_len, NULL, 0);
	*out = e->fn;
	return 0;
}

/* Under the stripe lock: install v as $LATEST; *old receives what it replaced. */
static int swap_latest(struct faas_entry *e, struct faas_version *v, uint64_t expected,
                       struct faas_version **old, faas_error_detail_t *d)
{
	int rc;

	if (expected && expected != e->latest->revision)
		return faas__fail_revision(d);
	if ((rc = faas__udata_adopt(e->fn, v->code, d)) != 0)
		return rc;
	faas__metrics_inherit(v, e->latest);
	*old = e->latest;
	e->latest = v;
	return 0;
}

int faas_function_update(faas_runtime_t *rt, const char *name, const faas_function_config_t *cfg,
                         faas_error_detail_t *d)
{
	struct faas_version *v = NULL, *old = NULL;
	struct faas_ident id;
	struct faas_fn *fn = NULL;
	struct faas_stripe *s;
	struct faas_entry *e;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (!cfg)
		return faas__fail(d, FAAS_EINVAL, "function config must not be NULL");
	if ((rc = faas__ident_parse(rt, name, NULL, FAAS_IDENT_UNQUALIFIED, &id, d)) != 0 ||
	    (rc = fn_lookup(rt, &id, &fn, d)) != 0)
		return rc;
	rc = faas__version_from_config(rt, fn, cfg, &v, d);
	if (rc == 0) {
		e = faas__entry_lock(rt, id.name, id.name_len, &s);
		if (!e || e->fn != fn) /* deleted (and maybe re-created) meanwhile */
			rc = faas__fail_fn_not_found(rt, d, id.name, id.name_len, NULL, 0);
		else
			rc = swap_latest(e, v, cfg->expected_revision, &old, d);
		faas__stripe_unlock(s);
	}
	if (rc != 0) {
		faas__version_disown(v);
		faas__version_unref(v);
	}
	faas__version_unref(old);
	faas__fn_unref(fn);
	return rc;
}

/* ---- publish ----------------------------------------------------------- */

/*
 * Under the stripe lock: 1 if $LATEST is unchanged since the last publish
 * and that version still exists (*number set), 0 if a new version is due.
 */
static int unchanged_since_publish(const struct faas_entry *e, uint32_t *number)
{
	if (e->published_from != e->latest->revision ||
	    !faas__entry_version(e, e->last_published))
		return 0;
	*number = e->last_published;
	return 1;
}

/*
 * One publish attempt. Returns 0 (done, *number set), 1 (retry: $LATEST
 * moved while the copy was built) or an error.
 */
static int publish_once(faas_runtime_t *rt, const struct faas_ident *id,
                        const faas_publish_options_t *o, uint32_t *number, faas_error_detail_t *d)
{
	struct faas_version *latest, *copy;
	struct faas_stripe *s;
	struct faas_entry *e;
	int rc = 0;

	e = faas__entry_lock(rt, id->name, id->name_len, &s);
	if (!e)
		rc = faas__fail_fn_not_found(rt, d, id->name, id->name_len, NULL, 0);
	else if (o && o->expected_revision && o->expected_revision != e->latest->revision)
		rc = faas__fail_revision(d);
	else if (unchanged_since_publish(e, number))
		rc = 2;
	if (rc) {
		faas__stripe_unlock(s);
		return rc == 2 ? 0 : rc;
	}
	latest = e->latest;
	faas__version_ref(latest);
	faas__stripe_unlock(s);

	copy = faas__version_clone(latest, o ? o->description : NULL);
	if (!copy) {
		faas__version_unref(latest);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	copy->revision = faas__rt_next_revision(rt);
	copy->last_modified_ms = faas__clock_wall_ms(&rt->clock);

	e = faas__entry_lock(rt, id->name, id->name_len, &s);
	if (!e || e->latest != latest)
		rc = 1;
	else if (e->next_version == UINT32_MAX)
		rc = faas__fail(d, FAAS_ECONFLICT, "version numbers of this function are exhausted");
	else if (!faas__array_reserve(&e->versions, e->nversions, &e->cap_versions))
		rc = faas__fail(d, FAAS_ENOMEM, NULL);
	if (rc == 0) {
		copy->number = e->next_version++;
		e->versions[e->nversions++] = copy;
		e->published_from = latest->revision;
		e->last_published = copy->number;
		*number = copy->number;
		copy = NULL;
	}
	faas__stripe_unlock(s);
	faas__version_unref(copy);
	faas__version_unref(latest);
	return rc;
}

int faas_function_publish(faas_runtime_t *rt, const char *name, const faas_publish_options_t *o,
                          uint32_t *version_out, faas_error_detail_t *d)
{
	struct faas_ident id;
	uint32_t number = 0;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (o && o->version != FAAS_PUBLISH_OPTIONS_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_publish_options_t version %u",
		                  o->version);
	if ((o && (rc = faas__check_description(o->description, d)) != 0) ||
	    (rc = faas__ident_parse(rt, name, NULL, FAAS_IDENT_UNQUALIFIED, &id, d)) != 0)
		return rc;
	while ((rc = publish_once(rt, &id, o, &number, d)) == 1)
		;
	if (rc == 0 && version_out)
		*version_out = number;
	return rc;
}

/* ---- delete ------------------------------------------------------------ */

/* Under the lock: aliases naming version n, as "[a, b]"; false if none. */
static bool aliases_referencing(const struct faas_entry *e, uint32_t n, char *buf, size_t size)
{
	size_t i, used = 0;
	bool any = false;

	buf[0] = '\0';
	for (i = 0; i < e->naliases; i++) {
		const struct faas_alias *a = e->aliases[i];
		if ((a->primary && a->primary->number == n) || (a->secondary && a->secondary->number == n)) {
			size_t need = (any ? 2 : 0) + strlen(a->name);
			if (used + need + 5 >= size) { /* whole names only: the rest as ", ..." */
				snprintf(buf + used, size - used, "%s...", any ? ", " : "");
				return true;
			}
			used += (size_t)snprintf(buf + used, size - used, "%s%s", any ? ", " : "", a->name);
			any = true;
		}
	}
	return any;
}

static int delete_version(faas_runtime_t *rt, const struct faas_ident *id, faas_error_detail_t *d)
{
	struct faas_version *v = NULL;
	struct faas_stripe *s;
	struct faas_entry *e;
	char names[160];
	size_t i;
	int rc = 0;

	e = faas__entry_lock(rt, id->name, id->name_len, &s);
	if (!e || !(v = faas__entry_version(e, id->version))) {
		rc = faas__fail_fn_not_found(rt, d, id->name, id->name_len, e ? id->qual : NULL,
		                             e ? id->qual_len : 0);
	} else if (aliases_referencing(e, v->number, names, sizeof(names))) {
		rc = faas__fail(d, FAAS_ECONFLICT,
		                "Unable to delete version because the following aliases reference it: [%s]",
		                names);
		v = NULL;
	} else {
		char num[12];
		snprintf(num, sizeof(num), "%u", v->number);
		faas__pc_qualifier_gone(rt, e, num); /* its provisioned config goes with it */
		faas__async_qualifier_gone(e, num);   /* and its event invoke config */
		for (i = 0; e->versions[i] != v; i++)
			;
		memmove(&e->versions[i], &e->versions[i + 1], (e->nversions - i - 1) * sizeof(v));
		e->nversions--;
	}
	faas__stripe_unlock(s);
	if (rc == 0)
		faas__version_unref(v);
	return rc;
}

/* The whole function; with owner, only while $LATEST's code is that
 * plug-in's (checked under the same lock as the unlink: a swap that gives
 * $LATEST to another plug-in meanwhile keeps the function). */
static int delete_function(faas_runtime_t *rt, const struct faas_ident *id,
                           const struct faas_plugin *owner, faas_error_detail_t *d)
{
	struct faas_stripe *s;
	struct faas_entry *e;
	bool theirs = false;

	e = faas__entry_lock(rt, id->name, id->name_len, &s);
	if (e && owner && !(e->latest->code && e->latest->code->plugin == owner))
		theirs = true;
	else if (e)
		entry_unlink(s, e);
	faas__stripe_unlock(s);
	if (!e)
		return faas__fail_fn_not_found(rt, d, id->name, id->name_len, NULL, 0);
	if (theirs)
		return faas__fail(d, FAAS_EPRECONDITION, "$LATEST is another plug-in's code now");
	faas__conc_function_gone(rt, e->fn);
	entry_free(rt, e);
	return 0;
}

int faas_function_delete(faas_runtime_t *rt, const char *name, const char *qualifier,
                         faas_error_detail_t *d)
{
	struct faas_ident id;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0 ||
	    (rc = faas__ident_parse(rt, name, qualifier, FAAS_IDENT_CONTROL, &id, d)) != 0)
		return rc;
	switch (id.kind) {
	case FAAS_QUAL_LATEST:
		return faas__fail(d, FAAS_EINVAL,
		                  "$LATEST version cannot be deleted without deleting the function.");
	case FAAS_QUAL_ALIAS:
		return faas__fail(d, FAAS_EINVAL,
		                  "Qualifier '%.*s' is not a version number; delete aliases with "
		                  "faas_alias_delete",
		                  (int)id.qual_len, id.qual);
	case FAAS_QUAL_VERSION:
		return delete_version(rt, &id, d);
	case FAAS_QUAL_NONE:
		break;
	}
	return delete_function(rt, &id, NULL, d);
}

int faas__function_delete_owned(faas_runtime_t *rt, const char *name,
                                const struct faas_plugin *owner)
{
	struct faas_ident id;
	int rc;

	if ((rc = faas__ident_parse(rt, name, NULL, FAAS_IDENT_UNQUALIFIED, &id, NULL)) != 0)
		return rc;
	return delete_function(rt, &id, owner, NULL);
}

/* ---- resolve ----------------------------------------------------------- */

/* Under the lock: the version an identifier names, drawing alias routing. */
static struct faas_version *pick(faas_runtime_t *rt, struct faas_stripe *s,
                                 const struct faas_entry *e, const struct faas_ident *id,
                                 const char *key, bool draw)
{
	const struct faas_alias *a;
	long idx;

	switch (id->kind) {
	case FAAS_QUAL_NONE:
	case FAAS_QUAL_LATEST:
		return e->latest;
	case FAAS_QUAL_VERSION:
		return faas__entry_version(e, id->version);
	case FAAS_QUAL_ALIAS:
		idx = faas__entry_alias_index(e, id->qual, id->qual_len);
		if (idx < 0)
			return NULL;
		a = e->aliases[idx];
		if (draw && faas__routing_pick_secondary(a, &s->prng, rt->seed, key))
			return a->secondary;
		return a->primary ? a->primary : e->latest;
	}
	return NULL;
}

static inline int resolve(faas_runtime_t *rt, const struct faas_ident *id, const char *key,
                          bool draw, bool event, struct faas_resolved *out, faas_error_detail_t *d)
{
	struct faas_aconf *conf = NULL;
	struct faas_version *v = NULL;
	struct faas_stripe *s;
	struct faas_entry *e;
	uint64_t hash;

	/* not faas__entry_lock: the hot path has both inline */
	s = stripe_lock(rt, id->name, id->name_len, &hash);
	e = entry_find(s, id->name, id->name_len, hash);
	if (e && (v = pick(rt, s, e, id, key, draw)) != NULL) {
		faas__version_ref(v);
		if (event && e->eicfgs) /* under the same lock: what the event is accepted with */
			conf = faas__aconf_locked(e, id->qual ? id->qual : "$LATEST",
			                          id->qual ? id->qual_len : 7);
	}
	faas__stripe_unlock(s);
	if (!v)
		return faas__fail_fn_not_found(rt, d, id->name, id->name_len, id->qual, id->qual_len);
	out->version = v;
	out->executed = v->number;
	out->conf = conf;
	return 0;
}

int faas__registry_resolve(faas_runtime_t *rt, const struct faas_ident *id, const char *key,
                           bool draw, struct faas_resolved *out, faas_error_detail_t *d)
{
	return resolve(rt, id, key, draw, false, out, d);
}

int faas__registry_resolve_event(faas_runtime_t *rt, const struct faas_ident *id, const char *key,
                                 struct faas_resolved *out, faas_error_detail_t *d)
{
	return resolve(rt, id, key, true, true, out, d);
}

void faas__resolved_release(struct faas_resolved *r)
{
	faas__version_unref(r->version);
	r->version = NULL;
}

int faas_function_resolve(faas_runtime_t *rt, const char *identifier, const char *qualifier,
                          const char *routing_key, uint32_t *version_out, faas_error_detail_t *d)
{
	struct faas_resolved r = { NULL, 0, NULL };
	struct faas_ident id;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0 ||
	    (rc = faas__ident_parse(rt, identifier, qualifier, FAAS_IDENT_INVOKE, &id, d)) != 0 ||
	    (rc = faas__registry_resolve(rt, &id, routing_key, true, &r, d)) != 0)
		return rc;
	if (version_out)
		*version_out = r.executed;
	faas__resolved_release(&r);
	return 0;
}

/* ---- snapshots for describe / list ------------------------------------- */

static bool snapshot_fill(const struct faas_entry *e, struct faas_snapshot *snap)
{
	size_t i;

	snap->versions = faas__calloc(e->nversions, sizeof(*snap->versions));
	snap->aliases = faas__calloc(e->naliases, sizeof(*snap->aliases));
	if (!snap->versions || !snap->aliases)
		return false;
	for (i = 0; i < e->nversions; i++) {
		snap->versions[i] = e->versions[i];
		faas__version_ref(e->versions[i]);
	}
	for (i = 0; i < e->naliases; i++) {
		snap->aliases[i] = e->aliases[i];
		faas__alias_ref(e->aliases[i]);
	}
	snap->nversions = e->nversions;
	snap->naliases = e->naliases;
	snap->latest = e->latest;
	faas__version_ref(e->latest);
	return true;
}

int faas__snapshot_take(faas_runtime_t *rt, const struct faas_ident *id,
                        struct faas_snapshot *snap, faas_error_detail_t *d)
{
	struct faas_stripe *s;
	struct faas_entry *e;
	bool ok = false;

	memset(snap, 0, sizeof(*snap));
	e = faas__entry_lock(rt, id->name, id->name_len, &s);
	if (e)
		ok = snapshot_fill(e, snap);
	faas__stripe_unlock(s);
	if (!e)
		return faas__fail_fn_not_found(rt, d, id->name, id->name_len, NULL, 0);
	if (!ok) {
		faas__snapshot_release(snap);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	return 0;
}

void faas__snapshot_release(struct faas_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nversions; i++)
		faas__version_unref(snap->versions[i]);
	for (i = 0; i < snap->naliases; i++)
		faas__alias_unref(snap->aliases[i]);
	faas__version_unref(snap->latest);
	faas__free(snap->versions);
	faas__free(snap->aliases);
	memset(snap, 0, sizeof(*snap));
}

/* Under the stripe lock: reference e's $LATEST (and its versions when all). */
static bool collect_entry(const struct faas_entry *e, bool all, struct faas_version ***arr,
                          size_t *count, size_t *cap)
{
	size_t k, n = all ? e->nversions + 1 : 1;

	for (k = 0; k < n; k++) {
		struct faas_version *v = k ? e->versions[k - 1] : e->latest;
		if (!faas__array_reserve(arr, *count, cap))
			return false;
		faas__version_ref(v);
		(*arr)[(*count)++] = v;
	}
	return true;
}

/* References on every $LATEST (all = false) or every version (true). */
static int collect(faas_runtime_t *rt, bool all, struct faas_version ***out, size_t *n)
{
	struct faas_version **arr = NULL;
	size_t count = 0, cap = 0, i, b;
	bool ok = true;

	for (i = 0; i < FAAS_STRIPES && ok; i++) {
		struct faas_stripe *s = &rt->reg->stripes[i];
		faas__lock(&s->lock);
		for (b = 0; b < s->nbuckets && ok; b++) {
			const struct faas_entry *e;
			for (e = s->buckets[b]; e && ok; e = e->next)
				ok = collect_entry(e, all, &arr, &count, &cap);
		}
		faas__unlock(&s->lock);
	}
	if (!ok) {
		for (i = 0; i < count; i++)
			faas__version_unref(arr[i]);
		faas__free(arr);
		return FAAS_ENOMEM;
	}
	*out = arr;
	*n = count;
	return 0;
}

int faas__registry_latest_all(faas_runtime_t *rt, struct faas_version ***out, size_t *n,
                              faas_error_detail_t *d)
{
	return collect(rt, false, out, n) == 0 ? 0 : faas__fail(d, FAAS_ENOMEM, NULL);
}

/* Shut down the warm execution environments of every version. Callbacks
 * run with no lock held. On ENOMEM nothing is shut down now: the versions'
 * environments go when the versions do. */
void faas__registry_spindown(faas_runtime_t *rt)
{
	struct faas_version **arr;
	size_t n, i;

	if (collect(rt, true, &arr, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		faas__instances_spindown(arr[i]);
		faas__version_unref(arr[i]);
	}
	faas__free(arr);
}

/* Shut down environments idle past the keep-alive; note the next expiry. */
void faas__registry_reap(faas_runtime_t *rt, uint64_t now)
{
	struct faas_version **arr;
	uint64_t next = UINT64_MAX, t;
	size_t n, i;

	if (collect(rt, true, &arr, &n) != 0) {
		faas__reap_hint(rt, now + 1000000u); /* no memory now: try again soon */
		return;
	}
	for (i = 0; i < n; i++) {
		t = faas__instances_reap(arr[i], now, rt->keep_alive_ns);
		if (t < next)
			next = t;
		faas__version_unref(arr[i]);
	}
	faas__free(arr);
	if (next != UINT64_MAX)
		faas__reap_hint(rt, next);
}

int faas__registry_versions_all(faas_runtime_t *rt, struct faas_version ***out, size_t *n)
{
	return collect(rt, true, out, n);
}
