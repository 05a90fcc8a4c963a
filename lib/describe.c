/*
 * libfaas — Lambda-shaped JSON for functions, versions and aliases, and
 * the library's JSON text policy (faas/json.h).
 */
#include "registry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define REAL_DIGITS 15 /* DBL_DIG: decimal -> double -> decimal is exact */

/*
 * Whether some real is so close to DBL_MAX that 15 digits round it past the
 * largest double (1.79769313486232e+308 would read back as infinity).
 */
static bool has_extreme_real(const json_t *j, int depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > 2048) /* jansson's own parse depth is smaller: be safe, not stuck */
		return true;
	switch (json_typeof(j)) {
	case JSON_REAL:
		return fabs(json_real_value(j)) >= 1.797693134862315e308;
	case JSON_ARRAY:
		for (i = 0; i < json_array_size(j); i++)
			if (has_extreme_real(json_array_get(j, i), depth + 1))
				return true;
		return false;
	case JSON_OBJECT:
		json_object_foreach((json_t *)j, key, v)
			if (has_extreme_real(v, depth + 1))
				return true;
		return false;
	default:
		return false;
	}
}

char *faas_json_dumps(const json_t *json, size_t flags)
{
	if (!json)
		return NULL;
	if (!(flags & JSON_REAL_PRECISION(31)))
		flags |= JSON_REAL_PRECISION(has_extreme_real(json, 0) ? 17 : REAL_DIGITS);
	return json_dumps(json, flags);
}

void faas__json_text_free(char *text)
{
	json_malloc_t m;
	json_free_t f;

	if (!text)
		return;
	json_get_alloc_funcs(&m, &f);
	f(text);
}

json_t *faas__json_revision(uint64_t revision)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)revision);
	return json_string(buf);
}

static json_t *version_label(uint32_t number)
{
	char buf[12];

	if (number == FAAS_VERSION_LATEST)
		return json_string("$LATEST");
	snprintf(buf, sizeof(buf), "%u", number);
	return json_string(buf);
}

static json_t *environment(const struct faas_version *v)
{
	json_t *vars = json_object(), *env = json_object();
	size_t i;

	if (!vars || !env) {
		json_decref(vars);
		json_decref(env);
		return NULL;
	}
	if (json_object_set_new(env, "Variables", vars) != 0) { /* it took vars, even failing */
		json_decref(env);
		return NULL;
	}
	for (i = 0; i < v->env_count; i++)
		if (json_object_set_new(vars, v->env[i].key, json_string(v->env[i].value)) != 0) {
			json_decref(env);
			return NULL;
		}
	return env;
}

/* Adds key: value (stolen); false (and value released) on failure. */
static bool put(json_t *obj, const char *key, json_t *value)
{
	return value && json_object_set_new(obj, key, value) == 0;
}

json_t *faas__json_version(const faas_runtime_t *rt, const struct faas_version *v,
                           const char *arn_qual, size_t arn_qual_len)
{
	char arn[FAAS_ARN_MAX], modified[40];
	json_t *o = json_object();
	bool ok;

	if (!o)
		return NULL;
	faas__format_arn(rt, v->fn->name, v->fn->name_len, arn_qual, arn_qual_len, arn, sizeof(arn));
	faas__format_last_modified(v->last_modified_ms, modified, sizeof(modified));
	ok = put(o, "FunctionName", json_stringn(v->fn->name, v->fn->name_len)) &&
	     put(o, "FunctionArn", json_string(arn)) && put(o, "Version", version_label(v->number)) &&
	     put(o, "Description", json_string(v->description)) &&
	     put(o, "Timeout", json_integer((v->timeout_ms + 999) / 1000)) &&
	     put(o, "TimeoutMs", json_integer(v->timeout_ms)) &&
	     put(o, "MemorySize", json_integer(v->memory_mb)) &&
	     put(o, "LastModified", json_string(modified)) &&
	     put(o, "RevisionId", faas__json_revision(v->revision)) &&
	     put(o, "State", json_string("Active")) &&
	     put(o, "LastUpdateStatus", json_string("Successful")) &&
	     (v->env_count == 0 || put(o, "Environment", environment(v)));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *routing_config(const struct faas_alias *a)
{
	json_t *rc = json_object(), *weights = json_object();
	char num[12];

	snprintf(num, sizeof(num), "%u", a->secondary->number);
	if (!rc || !weights || json_object_set_new(weights, num, json_real(a->weight)) != 0) {
		json_decref(rc);
		json_decref(weights);
		return NULL;
	}
	if (json_object_set_new(rc, "AdditionalVersionWeights", weights) != 0) { /* took weights */
		json_decref(rc);
		return NULL;
	}
	return rc;
}

json_t *faas__json_alias(const faas_runtime_t *rt, const struct faas_alias *a)
{
	char arn[FAAS_ARN_MAX];
	json_t *o = json_object();
	bool ok;

	if (!o)
		return NULL;
	faas__format_arn(rt, a->fn->name, a->fn->name_len, a->name, a->name_len, arn, sizeof(arn));
	ok = put(o, "AliasArn", json_string(arn)) && put(o, "Name", json_string(a->name)) &&
	     put(o, "FunctionVersion", version_label(a->primary_number)) &&
	     put(o, "Description", json_string(a->description)) &&
	     (!a->secondary || put(o, "RoutingConfig", routing_config(a))) &&
	     put(o, "RevisionId", faas__json_revision(a->revision));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The configuration an identifier's qualifier names, or NULL. */
static const struct faas_version *configured(const struct faas_snapshot *snap,
                                             const struct faas_ident *id)
{
	size_t i;

	switch (id->kind) {
	case FAAS_QUAL_NONE:
	case FAAS_QUAL_LATEST:
		return snap->latest;
	case FAAS_QUAL_VERSION:
		for (i = 0; i < snap->nversions; i++)
			if (snap->versions[i]->number == id->version)
				return snap->versions[i];
		return NULL;
	case FAAS_QUAL_ALIAS:
		for (i = 0; i < snap->naliases; i++) {
			const struct faas_alias *a = snap->aliases[i];
			if (a->name_len == id->qual_len && memcmp(a->name, id->qual, id->qual_len) == 0)
				return a->primary ? a->primary : snap->latest;
		}
		return NULL;
	}
	return NULL;
}

static json_t *describe_snapshot(const faas_runtime_t *rt, const struct faas_snapshot *snap,
                                 const struct faas_version *cfgv, const struct faas_ident *id)
{
	json_t *o = json_object(), *versions = json_array(), *aliases = json_array();
	char num[12];
	bool ok = o && versions && aliases;
	size_t i;

	ok = ok && json_array_append_new(versions, faas__json_version(rt, snap->latest, "$LATEST", 7)) == 0;
	for (i = 0; ok && i < snap->nversions; i++) {
		snprintf(num, sizeof(num), "%u", snap->versions[i]->number);
		ok = json_array_append_new(versions, faas__json_version(rt, snap->versions[i], num,
		                                                        strlen(num))) == 0;
	}
	for (i = 0; ok && i < snap->naliases; i++)
		ok = json_array_append_new(aliases, faas__json_alias(rt, snap->aliases[i])) == 0;
	ok = ok && put(o, "Configuration", faas__json_version(rt, cfgv, id->qual, id->qual_len));
	ok = ok && json_object_set(o, "Versions", versions) == 0 &&
	     json_object_set(o, "Aliases", aliases) == 0;
	json_decref(versions);
	json_decref(aliases);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int faas_function_describe(faas_runtime_t *rt, const char *identifier, json_t **out,
                           faas_error_detail_t *d)
{
	struct faas_snapshot snap;
	const struct faas_version *cfgv;
	struct faas_ident id;
	int rc;

	if (out)
		*out = NULL;
	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	if ((rc = faas__ident_parse(rt, identifier, NULL, FAAS_IDENT_CONTROL, &id, d)) != 0 ||
	    (rc = faas__snapshot_take(rt, &id, &snap, d)) != 0)
		return rc;
	cfgv = configured(&snap, &id);
	if (!cfgv)
		rc = faas__fail_fn_not_found(rt, d, id.name, id.name_len, id.qual, id.qual_len);
	else if (!(*out = describe_snapshot(rt, &snap, cfgv, &id)))
		rc = faas__fail(d, FAAS_ENOMEM, NULL);
	faas__snapshot_release(&snap);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	const struct faas_version *x = *(const struct faas_version *const *)a;
	const struct faas_version *y = *(const struct faas_version *const *)b;

	return strcmp(x->fn->name, y->fn->name);
}

int faas_function_list(faas_runtime_t *rt, json_t **out, faas_error_detail_t *d)
{
	struct faas_version **all = NULL;
	json_t *o, *arr;
	size_t n = 0, i;
	bool ok;
	int rc;

	if (out)
		*out = NULL;
	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	if ((rc = faas__registry_latest_all(rt, &all, &n, d)) != 0)
		return rc;
	if (n)
		qsort(all, n, sizeof(*all), by_name);
	o = json_object();
	arr = json_array();
	ok = o && arr && json_object_set(o, "Functions", arr) == 0;
	for (i = 0; ok && i < n; i++)
		ok = json_array_append_new(arr, faas__json_version(rt, all[i], NULL, 0)) == 0;
	for (i = 0; i < n; i++)
		faas__version_unref(all[i]);
	faas__free(all);
	json_decref(arr);
	if (!ok) {
		json_decref(o);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	*out = o;
	return 0;
}
