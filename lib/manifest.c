/*
 * libfaas — the JSON manifest (faas/manifest.h; README "Manifest").
 *
 * DESIGN
 * - One pass over the manifest, in dependency order: plug-ins, queues,
 *   streams, functions (all created first, so destinations may name any),
 *   then each function's concurrency, versions, aliases and async config,
 *   then mappings. Each field is checked before the call that uses it, with
 *   its JSON path kept in `path`; a runtime call's own error is reported at
 *   the path of the object it was made for.
 * - Everything created is recorded; any failure deletes it again in
 *   reverse order (mappings, functions, streams, queues, plug-ins), so a
 *   failing manifest leaves the runtime as it was.
 * - Functions named with "plugin" + "handler" get callbacks looked up with
 *   dlsym in a plug-in opened once per path; their code holds the plug-in
 *   (plugin.c), so it stays mapped while a version of theirs lives.
 */
#include "dispatch.h"
#include "mapping_int.h"

#include "faas/manifest.h"
#include "faas/plugin.h"
#include "faas/stream.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

struct opened {
	struct faas_plugin *p;
	char path[PATH_MAX];
};

struct mctx {
	faas_runtime_t *rt;
	const char *base;
	faas_error_detail_t *d;
	char path[256];
	struct opened *opened;
	size_t nopened;
	faas_plugin_t **loaded; /* "plugins": init-registering plug-ins */
	size_t nloaded;
	/* the names of the functions before the first swap (a swap updates
	 * functions that exist: a rollback must not delete those) */
	json_t *before;
	faas_queue_t **queues;
	size_t nqueues;
	faas_stream_t **streams;
	size_t nstreams;
	faas_mapping_t **maps;
	size_t nmaps;
	json_t *fns; /* names created */
};

/* ---- errors and fields ------------------------------------------------------------------ */

static int bad(struct mctx *c, const char *fmt, ...) FAAS_PRINTF(2, 3);

static int bad(struct mctx *c, const char *fmt, ...)
{
	char msg[FAAS_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return faas__fail(c->d, FAAS_EINVAL, "%s: %s", c->path, msg);
}

/* A runtime call failed for the object at c->path: its code, path first. */
static int at(struct mctx *c, int rc)
{
	char msg[FAAS_MESSAGE_MAX];

	if (rc == 0 || rc == FAAS_ENOMEM) /* no memory is nobody's field */
		return rc;
	snprintf(msg, sizeof(msg), "%s", c->d ? c->d->message : "");
	faas__detail_reset(c->d); /* the call's message, with the path in front */
	return faas__fail(c->d, rc, "%s: %s", c->path, msg);
}

/* Push ".key" or "[i]" onto the path; returns the old length to pop back to. */
static size_t push(struct mctx *c, const char *key, long index)
{
	size_t len = strlen(c->path);

	if (key)
		snprintf(c->path + len, sizeof(c->path) - len, "%s%s", len ? "." : "", key);
	else
		snprintf(c->path + len, sizeof(c->path) - len, "[%ld]", index);
	return len;
}

static void pop(struct mctx *c, size_t len)
{
	c->path[len] = '\0';
}

/* Every key of @p obj is one of @p allowed (NULL-terminated): typos are errors. */
static int known_keys(struct mctx *c, const json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	size_t i, len;

	if (!json_is_object(obj))
		return bad(c, "must be an object");
	json_object_foreach((json_t *)obj, key, v) {
		for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
			;
		if (!allowed[i]) {
			len = push(c, key, 0);
			bad(c, "unknown field");
			pop(c, len);
			return FAAS_EINVAL;
		}
	}
	return 0;
}

/* A string member: 0 and *out (NULL when absent and optional). */
static int field_str(struct mctx *c, const json_t *obj, const char *key, bool required,
                     const char **out)
{
	json_t *v = json_object_get(obj, key);
	size_t len;
	int rc = 0;

	*out = NULL;
	if (!v && !required)
		return 0;
	len = push(c, key, 0);
	if (!v)
		rc = bad(c, "is required");
	else if (!json_is_string(v) || !json_string_length(v))
		rc = bad(c, "must be a non-empty string");
	else
		*out = json_string_value(v);
	pop(c, len);
	return rc;
}

/* A number member within [lo, hi] (integral when @p integral); absent = dflt. */
static int field_num(struct mctx *c, const json_t *obj, const char *key, double lo, double hi,
                     bool integral, double dflt, double *out)
{
	json_t *v = json_object_get(obj, key);
	size_t len;
	double x;
	int rc = 0;

	*out = dflt;
	if (!v)
		return 0;
	len = push(c, key, 0);
	x = json_number_value(v);
	if (!json_is_number(v) || !isfinite(x) || x < lo || x > hi || (integral && x != floor(x)))
		rc = integral ? bad(c, "must be a whole number from %.0f to %.0f", lo, hi)
		              : bad(c, "must be a number from %g to %g", lo, hi);
	else
		*out = x;
	pop(c, len);
	return rc;
}

static int field_bool(struct mctx *c, const json_t *obj, const char *key, int *out)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	*out = 0;
	if (!v)
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	len = push(c, key, 0);
	bad(c, "must be true or false");
	pop(c, len);
	return FAAS_EINVAL;
}

/* An array member (absent = empty): 0 and *out. */
static int field_array(struct mctx *c, const json_t *obj, const char *key, json_t **out)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	*out = v;
	if (!v || json_is_array(v))
		return 0;
	len = push(c, key, 0);
	bad(c, "must be an array");
	pop(c, len);
	return FAAS_EINVAL;
}

/* ---- plug-ins ------------------------------------------------------------------------------ */

static void full_path(struct mctx *c, const char *rel, char *out, size_t size)
{
	if (rel[0] == '/' || !c->base || !c->base[0])
		snprintf(out, size, "%s", rel);
	else
		snprintf(out, size, "%s/%s", c->base, rel);
}

/* The plug-in at @p rel, opened once per manifest load. */
static int opened(struct mctx *c, const char *rel, struct faas_plugin **out)
{
	char path[PATH_MAX];
	struct opened *o;
	size_t i;
	int rc;

	full_path(c, rel, path, sizeof(path));
	for (i = 0; i < c->nopened; i++)
		if (!strcmp(c->opened[i].path, path)) {
			*out = c->opened[i].p;
			return 0;
		}
	if (!(o = faas__reallocarray(c->opened, c->nopened + 1, sizeof(*o))))
		return faas__fail(c->d, FAAS_ENOMEM, NULL);
	c->opened = o;
	if ((rc = faas__plugin_open(c->rt, path, &o[c->nopened].p, c->d)) != 0)
		return at(c, rc);
	snprintf(o[c->nopened].path, sizeof(o[c->nopened].path), "%s", path);
	*out = o[c->nopened++].p;
	return 0;
}

static int symbol(struct mctx *c, struct faas_plugin *p, const json_t *f, const char *key,
                  bool required, void **out)
{
	const char *name;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = field_str(c, f, key, required, &name)) != 0 || !name)
		return rc;
	if ((*out = faas__plugin_symbol(p, name)) != NULL)
		return 0;
	len = push(c, key, 0);
	rc = faas__fail(c->d, FAAS_EINVAL, "%s: no symbol %s in the plug-in", c->path, name);
	pop(c, len);
	return rc;
}

/* The names of the runtime's functions now, as an object (name: true). */
static int names_before(struct mctx *c)
{
	json_t *list = NULL, *f;
	size_t i;
	int rc;

	if ((rc = faas_function_list(c->rt, &list, c->d)) != 0)
		return rc;
	if (!(c->before = json_object())) {
		json_decref(list);
		return faas__fail(c->d, FAAS_ENOMEM, NULL);
	}
	json_array_foreach(json_object_get(list, "Functions"), i, f)
		if (json_object_set_new(c->before, json_string_value(json_object_get(f, "FunctionName")),
		                        json_true()) != 0) {
			json_decref(list);
			return faas__fail(c->d, FAAS_ENOMEM, NULL);
		}
	json_decref(list);
	return 0;
}

static int load_plugins(struct mctx *c, const json_t *m)
{
	static const char *const keys[] = { "path", "swap", NULL };
	json_t *arr, *p;
	size_t i, len;
	int rc = 0;

	if ((rc = field_array(c, m, "plugins", &arr)) != 0)
		return rc;
	json_array_foreach(arr, i, p) /* a swap updates functions that exist: note them first */
		if (json_is_true(json_object_get(p, "swap")) && !c->before && (rc = names_before(c)) != 0)
			return rc;
	json_array_foreach(arr, i, p) {
		faas_plugin_options_t o = FAAS_PLUGIN_OPTIONS_INIT;
		char full[PATH_MAX];
		const char *rel;
		faas_plugin_t **l;
		len = push(c, "plugins", 0);
		push(c, NULL, (long)i);
		if ((rc = known_keys(c, p, keys)) == 0 && (rc = field_str(c, p, "path", true, &rel)) == 0 &&
		    (rc = field_bool(c, p, "swap", &o.swap)) == 0) {
			full_path(c, rel, full, sizeof(full));
			if (!(l = faas__reallocarray(c->loaded, c->nloaded + 1, sizeof(*l))))
				rc = faas__fail(c->d, FAAS_ENOMEM, NULL);
			else if ((c->loaded = l, rc = faas_plugin_load(c->rt, full, &o, &l[c->nloaded], c->d)) != 0)
				rc = at(c, rc);
			else
				c->nloaded++;
		}
		pop(c, len);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- queues and streams ------------------------------------------------------------------------ */

static faas_queue_t *queue_named(struct mctx *c, const char *name)
{
	return faas_queue_find(c->rt, name);
}

static int make_queue(struct mctx *c, const json_t *q)
{
	static const char *const keys[] = { "name", "visibilityTimeout", "capacity", "fifo",
		                            "contentBasedDeduplication", "maximumMessageSize",
		                            "deadLetter", NULL };
	static const char *const dl_keys[] = { "queue", "maxReceiveCount", NULL };
	faas_queue_options_t o = FAAS_QUEUE_OPTIONS_INIT;
	json_t *dl = json_object_get(q, "deadLetter");
	const char *name, *dlq = NULL;
	double vis, cap, size, maxrc = 0;
	faas_queue_t *made, **qs;
	int rc;

	if ((rc = known_keys(c, q, keys)) || (rc = field_str(c, q, "name", true, &name)) ||
	    (rc = field_num(c, q, "visibilityTimeout", 0, 43200, true, 30, &vis)) ||
	    (rc = field_num(c, q, "capacity", 1, 10000000, true, 100000, &cap)) ||
	    (rc = field_num(c, q, "maximumMessageSize", 1, 262144, true, 262144, &size)) ||
	    (rc = field_bool(c, q, "fifo", &o.fifo)) ||
	    (rc = field_bool(c, q, "contentBasedDeduplication", &o.content_based_deduplication)))
		return rc;
	if (dl) {
		size_t len = push(c, "deadLetter", 0);
		if ((rc = known_keys(c, dl, dl_keys)) || (rc = field_str(c, dl, "queue", true, &dlq)) ||
		    (rc = field_num(c, dl, "maxReceiveCount", 1, 1000, true, 5, &maxrc)))
			return rc;
		if (!(o.dead_letter = queue_named(c, dlq))) {
			push(c, "queue", 0);
			return faas__fail(c->d, FAAS_EINVAL,
			                  "%s: no queue %s (define it earlier in \"queues\")", c->path, dlq);
		}
		pop(c, len);
	}
	o.visibility_timeout_ms = (uint32_t)vis * 1000u;
	o.capacity = (uint32_t)cap;
	o.max_message_bytes = (uint32_t)size;
	o.max_receive_count = (uint32_t)maxrc;
	if (!(qs = faas__reallocarray(c->queues, c->nqueues + 1, sizeof(*qs))))
		return faas__fail(c->d, FAAS_ENOMEM, NULL);
	c->queues = qs;
	if ((rc = faas_queue_create(c->rt, name, &o, &made, c->d)) != 0)
		return at(c, rc);
	c->queues[c->nqueues++] = made;
	return 0;
}

static int make_stream(struct mctx *c, const json_t *s)
{
	static const char *const keys[] = { "name", "shards", "retentionHours", "capacity", NULL };
	faas_stream_options_t o = FAAS_STREAM_OPTIONS_INIT;
	faas_stream_t *made, **ss;
	const char *name;
	double shards, hours, cap;
	int rc;

	if ((rc = known_keys(c, s, keys)) || (rc = field_str(c, s, "name", true, &name)) ||
	    (rc = field_num(c, s, "shards", 1, 64, true, 1, &shards)) ||
	    (rc = field_num(c, s, "retentionHours", 1, 8760, true, 24, &hours)) ||
	    (rc = field_num(c, s, "capacity", 1, 10000000, true, 100000, &cap)))
		return rc;
	o.shards = (uint32_t)shards;
	o.retention_ms = (uint64_t)hours * 3600000u;
	o.capacity = (uint32_t)cap;
	if (!(ss = faas__reallocarray(c->streams, c->nstreams + 1, sizeof(*ss))))
		return faas__fail(c->d, FAAS_ENOMEM, NULL);
	c->streams = ss;
	if ((rc = faas_stream_create(c->rt, name, &o, &made, c->d)) != 0)
		return at(c, rc);
	c->streams[c->nstreams++] = made;
	return 0;
}

/* Each member of array @p key, through @p fn, with its path. */
static int each(struct mctx *c, const json_t *m, const char *key,
                int (*fn)(struct mctx *c, const json_t *item))
{
	json_t *arr, *item;
	size_t i, len;
	int rc;

	if ((rc = field_array(c, m, key, &arr)) != 0)
		return rc;
	json_array_foreach(arr, i, item) {
		len = push(c, key, 0);
		push(c, NULL, (long)i);
		rc = fn(c, item);
		pop(c, len);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- functions ------------------------------------------------------------------------------------- */

static const char *const fn_keys[] = { "name", "plugin", "handler", "init", "shutdown", "timeout",
	                               "memorySize", "description", "environment",
	                               "reservedConcurrency", "publish", "aliases",
	                               "provisionedConcurrency", "eventInvokeConfig",
	                               "allowRecursion", "versions", NULL };

static int environment(struct mctx *c, const json_t *f, faas_env_var_t **env, size_t *n)
{
	json_t *e = json_object_get(f, "environment"), *v;
	const char *key;
	size_t len, i = 0;

	*env = NULL;
	*n = 0;
	if (!e)
		return 0;
	len = push(c, "environment", 0);
	if (!json_is_object(e)) {
		bad(c, "must be an object of strings");
		pop(c, len);
		return FAAS_EINVAL;
	}
	if (!(*env = faas__calloc(json_object_size(e) ? json_object_size(e) : 1, sizeof(**env)))) {
		pop(c, len);
		return faas__fail(c->d, FAAS_ENOMEM, NULL);
	}
	json_object_foreach(e, key, v) {
		if (!json_is_string(v)) {
			push(c, key, 0);
			bad(c, "must be a string");
			pop(c, len);
			faas__free(*env);
			*env = NULL;
			return FAAS_EINVAL;
		}
		(*env)[i].key = key;
		(*env)[i++].value = json_string_value(v);
	}
	*n = i;
	pop(c, len);
	return 0;
}

/* A function's configuration from its object @p f; @p v (a "versions"
 * entry, or NULL) overrides handler, description and environment. The
 * environment array is the caller's to free; *p the plug-in. */
static int config_of(struct mctx *c, const json_t *f, const json_t *v, faas_function_config_t *fc,
                     struct faas_plugin **p)
{
	const char *plugin, *desc = NULL;
	double timeout, memory;
	void *h = NULL, *in, *sd;
	size_t len;
	int rc, recursion;

	*fc = (faas_function_config_t)FAAS_FUNCTION_CONFIG_INIT;
	if ((rc = field_str(c, f, "plugin", true, &plugin)) ||
	    (rc = field_num(c, f, "timeout", 1, 900, false, 3, &timeout)) ||
	    (rc = field_num(c, f, "memorySize", 128, 10240, true, 128, &memory)) ||
	    (rc = field_bool(c, f, "allowRecursion", &recursion)))
		return rc;
	len = push(c, "plugin", 0);
	rc = opened(c, plugin, p);
	pop(c, len);
	if (rc || (v && (rc = symbol(c, *p, v, "handler", false, &h))) ||
	    (!h && (rc = symbol(c, *p, f, "handler", true, &h))) ||
	    (rc = symbol(c, *p, f, "init", false, &in)) ||
	    (rc = symbol(c, *p, f, "shutdown", false, &sd)) ||
	    (v && (rc = field_str(c, v, "description", false, &desc))) ||
	    (!desc && (rc = field_str(c, f, "description", false, &desc))) ||
	    (rc = environment(c, v && json_object_get(v, "environment") ? v : f,
	                      (faas_env_var_t **)&fc->environment, &fc->environment_count)))
		return rc;
	*(void **)&fc->handler = h;
	*(void **)&fc->init = in;
	*(void **)&fc->shutdown = sd;
	fc->timeout_ms = (uint32_t)llround(timeout * 1000.0);
	fc->memory_mb = (uint32_t)memory;
	fc->description = desc;
	fc->allow_recursion = recursion;
	return 0;
}

/* Create ($LATEST) or update a function with the plug-in as the code's owner. */
static int put_function(struct mctx *c, const char *name, const json_t *f, const json_t *v,
                        bool create)
{
	faas_function_config_t fc;
	struct faas_plugin *p = NULL;
	int rc;

	if ((rc = config_of(c, f, v, &fc, &p)) != 0)
		return rc;
	faas__plugin_set_loading(p); /* the code holds the plug-in */
	rc = create ? faas_function_create(c->rt, name, &fc, c->d)
	            : faas_function_update(c->rt, name, &fc, c->d);
	faas__plugin_set_loading(NULL);
	faas__free((void *)fc.environment);
	return at(c, rc);
}

/* Pass 1: create the function ($LATEST) from its plug-in symbols. */
static int make_function(struct mctx *c, const json_t *f)
{
	const char *name;
	int rc;

	if ((rc = known_keys(c, f, fn_keys)) || (rc = field_str(c, f, "name", true, &name)) ||
	    (rc = put_function(c, name, f, NULL, true)))
		return rc;
	json_array_append_new(c->fns, json_string(name));
	return 0;
}

/* "versions": each entry updates $LATEST (handler, description,
 * environment) and publishes it: version 1, 2, ... in order. */
static int versions(struct mctx *c, const char *name, const json_t *f)
{
	static const char *const keys[] = { "handler", "description", "environment", NULL };
	json_t *arr, *v;
	size_t i, len;
	int rc;

	if ((rc = field_array(c, f, "versions", &arr)) != 0)
		return rc;
	json_array_foreach(arr, i, v) {
		len = push(c, "versions", 0);
		push(c, NULL, (long)i);
		if (!(rc = known_keys(c, v, keys)) && !(rc = put_function(c, name, f, v, false)))
			rc = at(c, faas_function_publish(c->rt, name, NULL, NULL, c->d));
		pop(c, len);
		if (rc)
			return rc;
	}
	return 0;
}

static int alias(struct mctx *c, const char *fn, const json_t *a)
{
	static const char *const keys[] = { "name", "version", "additionalVersion", "weight",
		                            "description", NULL };
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	double v, av, w;
	const char *name;
	int rc;

	if ((rc = known_keys(c, a, keys)) || (rc = field_str(c, a, "name", true, &name)) ||
	    (rc = field_num(c, a, "version", 0, UINT32_MAX, true, 1, &v)) ||
	    (rc = field_num(c, a, "additionalVersion", 1, UINT32_MAX, true, 0, &av)) ||
	    (rc = field_num(c, a, "weight", 0, 1, false, 0, &w)) ||
	    (rc = field_str(c, a, "description", false, &ac.description)))
		return rc;
	if (json_object_get(a, "weight") && !av) {
		size_t len = push(c, "weight", 0);
		rc = bad(c, "needs additionalVersion");
		pop(c, len);
		return rc;
	}
	ac.function_version = (uint32_t)v;
	ac.additional_version = (uint32_t)av;
	ac.additional_weight = w;
	return at(c, faas_alias_create(c->rt, fn, name, &ac, c->d));
}

static int destination(struct mctx *c, const json_t *cfg, const char *key, faas_destination_t *dst)
{
	static const char *const keys[] = { "function", "queue", NULL };
	json_t *o = json_object_get(cfg, key);
	const char *fn, *q;
	size_t len;
	int rc;

	if (!o)
		return 0;
	len = push(c, key, 0);
	if ((rc = known_keys(c, o, keys)) || (rc = field_str(c, o, "function", false, &fn)) ||
	    (rc = field_str(c, o, "queue", false, &q))) {
		pop(c, len);
		return rc;
	}
	if (!fn == !q) {
		rc = bad(c, "names either a function or a queue");
	} else if (fn) {
		dst->kind = FAAS_DESTINATION_FUNCTION;
		dst->function = fn;
	} else if (!(dst->queue = queue_named(c, q))) {
		push(c, "queue", 0);
		rc = faas__fail(c->d, FAAS_EINVAL, "%s: no queue %s", c->path, q);
	} else {
		dst->kind = FAAS_DESTINATION_QUEUE;
	}
	pop(c, len);
	return rc;
}

static int event_config(struct mctx *c, const char *fn, const json_t *f)
{
	static const char *const keys[] = { "qualifier", "maximumRetryAttempts",
		                            "maximumEventAgeInSeconds", "onSuccess", "onFailure", NULL };
	faas_event_invoke_config_t ec = FAAS_EVENT_INVOKE_CONFIG_INIT;
	json_t *e = json_object_get(f, "eventInvokeConfig");
	const char *qual;
	double retries, age;
	size_t len;
	int rc;

	if (!e)
		return 0;
	len = push(c, "eventInvokeConfig", 0);
	rc = known_keys(c, e, keys);
	if (!rc)
		rc = field_str(c, e, "qualifier", false, &qual);
	if (!rc)
		rc = field_num(c, e, "maximumRetryAttempts", 0, 2, true, 2, &retries);
	if (!rc)
		rc = field_num(c, e, "maximumEventAgeInSeconds", 0.001, 21600, false, 21600, &age);
	if (!rc)
		rc = destination(c, e, "onSuccess", &ec.on_success);
	if (!rc)
		rc = destination(c, e, "onFailure", &ec.on_failure);
	if (!rc) {
		ec.max_retry_attempts = (int32_t)retries;
		ec.max_event_age_ms = (int64_t)llround(age * 1000.0);
		rc = at(c, faas_function_set_event_invoke_config(c->rt, fn, qual, &ec, c->d));
	}
	pop(c, len);
	return rc;
}

/* Pass 2: what needs the functions to exist. */
static int configure_function(struct mctx *c, const json_t *f)
{
	const char *name = json_string_value(json_object_get(f, "name"));
	json_t *arr, *item;
	double reserved;
	size_t i, len;
	int publish, rc;

	if ((rc = field_num(c, f, "reservedConcurrency", 0, 100000, true, -1, &reserved)) ||
	    (rc = field_bool(c, f, "publish", &publish)))
		return rc;
	if (reserved >= 0) {
		len = push(c, "reservedConcurrency", 0);
		rc = at(c, faas_function_set_reserved_concurrency(c->rt, name, (int32_t)reserved, c->d));
		pop(c, len);
		if (rc)
			return rc;
	}
	if (publish && (rc = at(c, faas_function_publish(c->rt, name, NULL, NULL, c->d))) != 0)
		return rc;
	if ((rc = versions(c, name, f)) != 0)
		return rc;
	if ((rc = field_array(c, f, "aliases", &arr)) != 0)
		return rc;
	json_array_foreach(arr, i, item) {
		len = push(c, "aliases", 0);
		push(c, NULL, (long)i);
		rc = alias(c, name, item);
		pop(c, len);
		if (rc)
			return rc;
	}
	if ((rc = field_array(c, f, "provisionedConcurrency", &arr)) != 0)
		return rc;
	json_array_foreach(arr, i, item) {
		static const char *const keys[] = { "qualifier", "count", NULL };
		const char *qual;
		double n;
		len = push(c, "provisionedConcurrency", 0);
		push(c, NULL, (long)i);
		if (!(rc = known_keys(c, item, keys)) && !(rc = field_str(c, item, "qualifier", true, &qual)) &&
		    !(rc = field_num(c, item, "count", 1, 100000, true, 1, &n)))
			rc = at(c, faas_function_set_provisioned_concurrency(c->rt, name, qual, (uint32_t)n,
			                                                     c->d));
		pop(c, len);
		if (rc)
			return rc;
	}
	return event_config(c, name, f);
}

/* ---- mappings ------------------------------------------------------------------------------------------ */

static int stream_source(struct mctx *c, const json_t *m, faas_stream_t *s, faas_source_t **src)
{
	faas_stream_source_options_t so = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	const char *pos;
	double pf, retries, age;
	int bisect, rc;

	if ((rc = field_str(c, m, "startingPosition", false, &pos)) ||
	    (rc = field_num(c, m, "parallelizationFactor", 1, 10, true, 1, &pf)) ||
	    (rc = field_num(c, m, "maximumRetryAttempts", -1, 10000, true, -1, &retries)) ||
	    (rc = field_num(c, m, "maximumRecordAgeInSeconds", -1, 604800, true, -1, &age)) ||
	    (rc = field_bool(c, m, "bisectBatchOnFunctionError", &bisect)) ||
	    (rc = destination(c, m, "onFailure", &so.on_failure)))
		return rc;
	if (pos && strcmp(pos, "TRIM_HORIZON") && strcmp(pos, "LATEST")) {
		size_t len = push(c, "startingPosition", 0);
		rc = bad(c, "must be TRIM_HORIZON or LATEST");
		pop(c, len);
		return rc;
	}
	if (so.on_failure.kind == FAAS_DESTINATION_FUNCTION) {
		size_t len = push(c, "onFailure", 0);
		rc = bad(c, "a stream's failures go to a queue");
		pop(c, len);
		return rc;
	}
	so.starting_position = pos && !strcmp(pos, "LATEST") ? FAAS_START_LATEST : FAAS_START_TRIM_HORIZON;
	so.parallelization_factor = (uint32_t)pf;
	so.maximum_retry_attempts = (int32_t)retries;
	so.maximum_record_age_ms = age < 0 ? -1 : (int64_t)age * 1000;
	so.bisect_batch_on_function_error = bisect;
	return at(c, faas_stream_source_new(s, &so, src, c->d));
}

static int make_mapping(struct mctx *c, const json_t *m)
{
	static const char *const keys[] = { "function", "queue", "stream", "batchSize",
		                            "maximumBatchingWindowInSeconds", "functionResponseTypes",
		                            "filters", "maximumConcurrency", "enabled",
		                            "startingPosition", "parallelizationFactor",
		                            "maximumRetryAttempts", "maximumRecordAgeInSeconds",
		                            "bisectBatchOnFunctionError", "onFailure", NULL };
	faas_mapping_options_t o = FAAS_MAPPING_OPTIONS_INIT;
	const char *fn, *qname, *sname;
	double batch, window, conc;
	json_t *types, *filters, *it;
	char *texts[FAAS_MAPPING_FILTERS_MAX] = { NULL };
	faas_source_t *src = NULL;
	faas_mapping_t *made, **ms;
	size_t i, len;
	int rc;

	if ((rc = known_keys(c, m, keys)) || (rc = field_str(c, m, "function", true, &fn)) ||
	    (rc = field_str(c, m, "queue", false, &qname)) ||
	    (rc = field_str(c, m, "stream", false, &sname)) ||
	    (rc = field_num(c, m, "batchSize", 1, 10000, true, 0, &batch)) ||
	    (rc = field_num(c, m, "maximumBatchingWindowInSeconds", 0, 300, true, 0, &window)) ||
	    (rc = field_num(c, m, "maximumConcurrency", 1, 1000, true, 0, &conc)) ||
	    (rc = field_array(c, m, "functionResponseTypes", &types)) ||
	    (rc = field_array(c, m, "filters", &filters)))
		return rc;
	if (!qname == !sname)
		return bad(c, "names either a queue or a stream");
	json_array_foreach(types, i, it) {
		len = push(c, "functionResponseTypes", 0);
		push(c, NULL, (long)i);
		if (!json_is_string(it) || strcmp(json_string_value(it), "ReportBatchItemFailures"))
			rc = bad(c, "the only response type is \"ReportBatchItemFailures\"");
		pop(c, len);
		if (rc)
			return rc;
		o.report_batch_item_failures = 1;
	}
	if (json_array_size(filters) > FAAS_MAPPING_FILTERS_MAX) {
		len = push(c, "filters", 0);
		rc = bad(c, "at most %d filters", FAAS_MAPPING_FILTERS_MAX);
		pop(c, len);
		return rc;
	}
	json_array_foreach(filters, i, it) { /* a pattern as text, or as JSON */
		char *dumped = json_is_string(it) ? NULL : faas_json_dumps(it, JSON_COMPACT);
		texts[i] = json_is_string(it) ? faas__strdup(json_string_value(it))
		           : dumped          ? faas__strdup(dumped)
		                             : NULL;
		faas__json_text_free(dumped);
		if (!texts[i] && !rc)
			rc = faas__fail(c->d, FAAS_ENOMEM, NULL);
	}
	for (i = 0; i < json_array_size(filters) && !rc; i++)
		o.filters[i] = texts[i];
	if (rc) {
		; /* no memory for the filters */
	} else if (qname) {
		faas_queue_t *q = queue_named(c, qname);
		len = push(c, "queue", 0);
		rc = q ? at(c, faas_queue_source_new(q, &src, c->d))
		       : faas__fail(c->d, FAAS_EINVAL, "%s: no queue %s", c->path, qname);
		pop(c, len);
	} else {
		faas_stream_t *s = faas_stream_find(c->rt, sname);
		if (s) {
			rc = stream_source(c, m, s, &src);
		} else {
			len = push(c, "stream", 0);
			rc = faas__fail(c->d, FAAS_EINVAL, "%s: no stream %s", c->path, sname);
			pop(c, len);
		}
	}
	o.batch_size = (uint32_t)batch;
	o.max_batching_window_ms = (uint32_t)window * 1000u;
	o.max_concurrency = (uint32_t)conc;
	o.start_disabled = json_is_false(json_object_get(m, "enabled"));
	if (!rc && !(ms = faas__reallocarray(c->maps, c->nmaps + 1, sizeof(*ms))))
		rc = faas__fail(c->d, FAAS_ENOMEM, NULL);
	if (!rc) {
		c->maps = ms;
		if ((rc = at(c, faas_mapping_create(c->rt, src, fn, &o, &made, c->d))) == 0)
			c->maps[c->nmaps++] = made;
	}
	faas_source_free(src);
	for (i = 0; i < FAAS_MAPPING_FILTERS_MAX; i++)
		faas__free(texts[i]);
	return rc;
}

/* ---- the whole ----------------------------------------------------------------------------------------- */

static void rollback(struct mctx *c)
{
	size_t i;

	for (i = c->nmaps; i-- > 0;)
		faas_mapping_delete(c->maps[i], NULL);
	for (i = json_array_size(c->fns); i-- > 0;)
		faas_function_delete(c->rt, json_string_value(json_array_get(c->fns, i)), NULL, NULL);
	for (i = c->nstreams; i-- > 0;)
		faas_stream_delete(c->streams[i], NULL);
	for (i = c->nqueues; i-- > 0;) /* users of a dead-letter queue first */
		faas_queue_delete(c->queues[i], NULL);
	for (i = c->nloaded; i-- > 0;) {
		faas_plugin_t *p = c->loaded[i];
		size_t k;
		if (!c->before) { /* nothing was swapped: its functions are all new */
			faas_plugin_unload(p, 0, NULL);
			continue;
		}
		/* after a swap, only what did not exist before goes; the functions
		 * it swapped keep their new code (faas/plugin.h: a swap is not
		 * undone), they are not deleted */
		for (k = 0; k < faas_plugin_function_count(p); k++) {
			const char *name = faas_plugin_function_name(p, k);
			if (!json_object_get(c->before, name))
				faas_function_delete(c->rt, name, NULL, NULL);
		}
		faas__plugin_release(p);
	}
	c->nloaded = 0;
}

static json_t *report_of(struct mctx *c)
{
	json_t *r = json_pack("{s:O,s:[],s:[],s:[]}", "functions", c->fns, "queues", "streams",
	                      "mappings");
	size_t i;

	for (i = 0; r && i < c->nqueues; i++)
		json_array_append_new(json_object_get(r, "queues"), json_string(faas_queue_arn(c->queues[i])));
	for (i = 0; r && i < c->nstreams; i++)
		json_array_append_new(json_object_get(r, "streams"),
		                      json_string(faas_stream_arn(c->streams[i])));
	for (i = 0; r && i < c->nmaps; i++)
		json_array_append_new(json_object_get(r, "mappings"),
		                      json_string(faas_mapping_uuid(c->maps[i])));
	return r;
}

/* "runtime": options for whoever makes the runtime (faas, faas serve),
 * checked like the rest; @p o (may be NULL) gets them. */
static int runtime_section(struct mctx *c, const json_t *m, faas_runtime_options_t *o)
{
	static const char *const keys[] = { "maxConcurrency", "asyncDelayScale", "keepAliveSeconds",
		                            "comment", NULL };
	json_t *r = json_object_get(m, "runtime");
	double conc, scale, keep;
	size_t len;
	int rc;

	if (!r)
		return 0;
	len = push(c, "runtime", 0);
	if ((rc = known_keys(c, r, keys)) == 0 &&
	    (rc = field_num(c, r, "maxConcurrency", 1, 100000, true, 0, &conc)) == 0 &&
	    (rc = field_num(c, r, "asyncDelayScale", 1e-9, 1e9, false, 0, &scale)) == 0 &&
	    (rc = field_num(c, r, "keepAliveSeconds", 1, 86400, true, 0, &keep)) == 0 && o) {
		if (conc > 0)
			o->max_concurrency = (uint32_t)conc;
		if (scale > 0)
			o->async_delay_scale = scale;
		if (keep > 0)
			o->keep_alive_ms = (uint32_t)keep * 1000u;
	}
	pop(c, len);
	return rc;
}

int faas_manifest_runtime_options(const json_t *manifest, faas_runtime_options_t *opts,
                                  faas_error_detail_t *d)
{
	struct mctx c;

	faas__detail_reset(d);
	if (!manifest || !opts)
		return faas__fail(d, FAAS_EINVAL, "manifest and opts must not be NULL");
	if (!json_is_object(manifest))
		return faas__fail(d, FAAS_EINVAL, "the manifest must be a JSON object");
	memset(&c, 0, sizeof(c));
	c.d = d;
	return runtime_section(&c, manifest, opts);
}

static int apply(struct mctx *c, const json_t *m)
{
	/* "runtime" holds options for whoever makes the runtime (the faas command) */
	static const char *const keys[] = { "plugins", "queues", "streams", "functions", "mappings",
		                            "comment", "runtime", NULL };
	json_t *fns, *f;
	size_t i, len;
	int rc;

	if (!json_is_object(m))
		return faas__fail(c->d, FAAS_EINVAL, "the manifest must be a JSON object");
	if ((rc = known_keys(c, m, keys)) || (rc = runtime_section(c, m, NULL)) ||
	    (rc = load_plugins(c, m)) ||
	    (rc = each(c, m, "queues", make_queue)) || (rc = each(c, m, "streams", make_stream)) ||
	    (rc = each(c, m, "functions", make_function)) || (rc = field_array(c, m, "functions", &fns)))
		return rc;
	json_array_foreach(fns, i, f) {
		len = push(c, "functions", 0);
		push(c, NULL, (long)i);
		rc = configure_function(c, f);
		pop(c, len);
		if (rc)
			return rc;
	}
	return each(c, m, "mappings", make_mapping);
}

int faas_manifest_apply(faas_runtime_t *rt, const json_t *manifest, const char *base_dir,
                        json_t **report, faas_error_detail_t *d)
{
	struct mctx c;
	size_t i;
	int rc;

	if (report)
		*report = NULL;
	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (!manifest)
		return faas__fail(d, FAAS_EINVAL, "manifest must not be NULL");
	memset(&c, 0, sizeof(c));
	c.rt = rt;
	c.base = base_dir;
	c.d = d;
	if (!(c.fns = json_array()))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	if ((rc = apply(&c, manifest)) != 0)
		rollback(&c);
	else if (report && !(*report = report_of(&c)))
		rc = faas__fail(d, FAAS_ENOMEM, NULL);
	for (i = 0; i < c.nloaded; i++) /* the functions hold what they need */
		faas__plugin_release(c.loaded[i]);
	for (i = 0; i < c.nopened; i++)
		faas__plugin_unref(c.opened[i].p);
	faas__free(c.opened);
	faas__free(c.loaded);
	faas__free(c.queues);
	faas__free(c.streams);
	faas__free(c.maps);
	json_decref(c.fns);
	json_decref(c.before);
	return rc;
}

int faas_manifest_load(faas_runtime_t *rt, const char *path, json_t **report,
                       faas_error_detail_t *d)
{
	char dir[PATH_MAX];
	const char *slash;
	json_error_t e;
	json_t *m;
	int rc;

	if (report)
		*report = NULL;
	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (!path)
		return faas__fail(d, FAAS_EINVAL, "path must not be NULL");
	memset(&e, 0, sizeof(e));
	if (!(m = json_load_file(path, JSON_REJECT_DUPLICATES, &e))) {
		if (access(path, R_OK) != 0)
			return faas__fail(d, FAAS_ENOTFOUND, "manifest %s: no such file", path);
		if (faas__json_oom(&e))
			return faas__fail(d, FAAS_ENOMEM, NULL);
		return faas__fail(d, FAAS_EBADJSON, "manifest %s: %s (line %d, column %d)", path, e.text,
		                  e.line, e.column);
	}
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	rc = faas_manifest_apply(rt, m, dir, report, d);
	json_decref(m);
	return rc;
}
