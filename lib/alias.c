/*
 * libfaas — aliases: create, update (replace whole), delete, describe.
 *
 * An alias is immutable; an update builds a new one and swaps it in under
 * the stripe lock, so a concurrent resolution sees either the old pair of
 * versions and weight or the new one, never a mix.
 */
#include "dispatch.h"

#include <math.h>
#include <stdio.h>

static int alias_begin(faas_runtime_t *rt, const char *alias, const faas_alias_config_t *cfg,
                       bool need_cfg, faas_error_detail_t *d)
{
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0 || (rc = faas__alias_name_check(alias, d)) != 0)
		return rc;
	if (!need_cfg)
		return 0;
	if (!cfg)
		return faas__fail(d, FAAS_EINVAL, "alias config must not be NULL");
	if (cfg->version != FAAS_ALIAS_CONFIG_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_alias_config_t version %u",
		                  cfg->version);
	if (!isfinite(cfg->additional_weight) || cfg->additional_weight < 0.0 ||
	    cfg->additional_weight > 1.0)
		return faas__fail(d, FAAS_EINVAL,
		                  "1 validation error detected: Value at 'routingConfig."
		                  "additionalVersionWeights' failed to satisfy constraint: Map value "
		                  "must satisfy constraint: [Member must have value less than or equal "
		                  "to 1.0, Member must have value greater than or equal to 0.0]");
	if (cfg->additional_version == 0 && cfg->additional_weight != 0.0)
		return faas__fail(d, FAAS_EINVAL, "additional_weight is set but additional_version is not");
	if (cfg->additional_version && cfg->function_version == FAAS_VERSION_LATEST)
		return faas__fail(d, FAAS_EINVAL,
		                  "$LATEST is not supported for an alias pointing to more than 1 version");
	if (cfg->additional_version && cfg->additional_version == cfg->function_version)
		return faas__fail(d, FAAS_EINVAL,
		                  "The additional version %u is the alias's primary version; routing "
		                  "needs two different versions",
		                  cfg->additional_version);
	return faas__check_description(cfg->description, d);
}

static int fail_alias_not_found(faas_runtime_t *rt, const struct faas_ident *id, const char *alias,
                                faas_error_detail_t *d)
{
	char arn[FAAS_ARN_MAX];

	faas__format_arn(rt, id->name, id->name_len, alias, strlen(alias), arn, sizeof(arn));
	return faas__fail(d, FAAS_ENOTFOUND, "Alias not found: %s", arn);
}

static struct faas_alias *alias_build(const char *name, const faas_alias_config_t *cfg)
{
	size_t len = strlen(name);
	struct faas_alias *a = faas__calloc(1, sizeof(*a) + len + 1);

	if (!a)
		return NULL;
	atomic_init(&a->refs, 1);
	a->name_len = len;
	memcpy(a->name, name, len + 1);
	a->primary_number = cfg->function_version;
	faas__routing_prepare(a, cfg->additional_weight);
	a->description = faas__strdup(cfg->description ? cfg->description : "");
	if (!a->description) {
		faas__alias_unref(a);
		return NULL;
	}
	return a;
}

/* Under the lock: attach the target versions named by cfg to a. */
static int alias_bind(faas_runtime_t *rt, const struct faas_entry *e, const struct faas_ident *id,
                      struct faas_alias *a, const faas_alias_config_t *cfg, faas_error_detail_t *d)
{
	uint32_t want[2] = { cfg->function_version, cfg->additional_version };
	struct faas_version *found[2] = { NULL, NULL };
	char num[12];
	int i;

	for (i = 0; i < 2; i++) {
		if (want[i] == 0)
			continue;
		found[i] = faas__entry_version(e, want[i]);
		if (!found[i]) {
			snprintf(num, sizeof(num), "%u", want[i]);
			return faas__fail_fn_not_found(rt, d, id->name, id->name_len, num, strlen(num));
		}
	}
	if (found[0] && found[1] && (found[0]->dead_letter != found[1]->dead_letter ||
	                             found[0]->dead_letter_ud != found[1]->dead_letter_ud))
		return faas__fail(d, FAAS_EINVAL,
		                  "The versions of an alias with routing must have the same dead-letter "
		                  "configuration (versions %u and %u differ)",
		                  want[0], want[1]);
	faas__fn_ref(e->fn);
	a->fn = e->fn;
	a->primary = found[0];
	a->secondary = found[1];
	if (a->primary)
		faas__version_ref(a->primary);
	if (a->secondary)
		faas__version_ref(a->secondary);
	a->revision = faas__rt_next_revision(rt);
	return 0;
}

static long alias_index(const struct faas_entry *e, const char *name)
{
	return faas__entry_alias_index(e, name, strlen(name));
}

static int alias_put(faas_runtime_t *rt, const char *function, const char *alias,
                     const faas_alias_config_t *cfg, bool create, faas_error_detail_t *d)
{
	struct faas_alias *a, *old = NULL;
	struct faas_ident id;
	struct faas_stripe *s;
	struct faas_entry *e;
	char arn[FAAS_ARN_MAX];
	long idx;
	int rc;

	if ((rc = alias_begin(rt, alias, cfg, true, d)) != 0 ||
	    (rc = faas__ident_parse(rt, function, NULL, FAAS_IDENT_UNQUALIFIED, &id, d)) != 0)
		return rc;
	if (!(a = alias_build(alias, cfg)))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	e = faas__entry_lock(rt, id.name, id.name_len, &s);
	idx = e ? alias_index(e, alias) : -1;
	if (!e) {
		rc = faas__fail_fn_not_found(rt, d, id.name, id.name_len, NULL, 0);
	} else if (create && idx >= 0) {
		faas__format_arn(rt, id.name, id.name_len, alias, strlen(alias), arn, sizeof(arn));
		rc = faas__fail(d, FAAS_EEXIST, "Alias already exists: %s", arn);
	} else if (!create && idx < 0) {
		rc = fail_alias_not_found(rt, &id, alias, d);
	} else if (!create && cfg->expected_revision &&
	           cfg->expected_revision != e->aliases[idx]->revision) {
		rc = faas__fail_revision(d);
	} else if (create && !faas__array_reserve(&e->aliases, e->naliases, &e->cap_aliases)) {
		rc = faas__fail(d, FAAS_ENOMEM, NULL);
	} else if ((rc = alias_bind(rt, e, &id, a, cfg, d)) == 0 &&
	           (create || (rc = faas__pc_alias_check(rt, e, alias, a->primary, d)) == 0)) {
		if (create) {
			e->aliases[e->naliases++] = a;
		} else {
			old = e->aliases[idx];
			e->aliases[idx] = a;
			faas__pc_alias_moved(rt, e, alias, a->primary); /* its provisioned config follows */
		}
		a = NULL;
	}
	faas__stripe_unlock(s);
	faas__alias_unref(a);
	faas__alias_unref(old);
	return rc;
}

int faas_alias_create(faas_runtime_t *rt, const char *function, const char *alias,
                      const faas_alias_config_t *cfg, faas_error_detail_t *d)
{
	return alias_put(rt, function, alias, cfg, true, d);
}

int faas_alias_update(faas_runtime_t *rt, const char *function, const char *alias,
                      const faas_alias_config_t *cfg, faas_error_detail_t *d)
{
	return alias_put(rt, function, alias, cfg, false, d);
}

int faas_alias_delete(faas_runtime_t *rt, const char *function, const char *alias,
                      faas_error_detail_t *d)
{
	struct faas_alias *old = NULL;
	struct faas_ident id;
	struct faas_stripe *s;
	struct faas_entry *e;
	long idx = -1;
	int rc;

	if ((rc = alias_begin(rt, alias, NULL, false, d)) != 0 ||
	    (rc = faas__ident_parse(rt, function, NULL, FAAS_IDENT_UNQUALIFIED, &id, d)) != 0)
		return rc;
	e = faas__entry_lock(rt, id.name, id.name_len, &s);
	if (e && (idx = alias_index(e, alias)) >= 0) {
		old = e->aliases[idx];
		memmove(&e->aliases[idx], &e->aliases[idx + 1],
		        (e->naliases - (size_t)idx - 1) * sizeof(old));
		e->naliases--;
		faas__pc_qualifier_gone(rt, e, alias);
		faas__async_qualifier_gone(e, alias);
	}
	faas__stripe_unlock(s);
	if (!e)
		return faas__fail_fn_not_found(rt, d, id.name, id.name_len, NULL, 0);
	if (!old)
		return fail_alias_not_found(rt, &id, alias, d);
	faas__alias_unref(old);
	return 0;
}

int faas_alias_describe(faas_runtime_t *rt, const char *function, const char *alias, json_t **out,
                        faas_error_detail_t *d)
{
	struct faas_alias *a = NULL;
	struct faas_ident id;
	struct faas_stripe *s;
	struct faas_entry *e;
	long idx;
	int rc;

	if ((rc = alias_begin(rt, alias, NULL, false, d)) != 0)
		return rc;
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	*out = NULL;
	if ((rc = faas__ident_parse(rt, function, NULL, FAAS_IDENT_UNQUALIFIED, &id, d)) != 0)
		return rc;
	e = faas__entry_lock(rt, id.name, id.name_len, &s);
	if (e && (idx = alias_index(e, alias)) >= 0) {
		a = e->aliases[idx];
		faas__alias_ref(a);
	}
	faas__stripe_unlock(s);
	if (!e)
		return faas__fail_fn_not_found(rt, d, id.name, id.name_len, NULL, 0);
	if (!a)
		return fail_alias_not_found(rt, &id, alias, d);
	*out = faas__json_alias(rt, a);
	faas__alias_unref(a);
	return *out ? 0 : faas__fail(d, FAAS_ENOMEM, NULL);
}
