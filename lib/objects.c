/*
 * libfaas — construction, validation and reference counting of the
 * registry objects (code, version, alias, function identity).
 */
#include "dispatch.h"

#include <stdio.h>

static const char *const reserved_env[] = {
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_ACCESS_KEY",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
};

/* ---- reference counting ------------------------------------------------ */

static void ref(_Atomic long *refs)
{
	atomic_fetch_add_explicit(refs, 1, memory_order_relaxed);
}

static bool unref(_Atomic long *refs)
{
	return atomic_fetch_sub_explicit(refs, 1, memory_order_acq_rel) == 1;
}

static void udata_unref(struct faas_udata *u)
{
	struct faas_udata **pp;
	bool dead;

	if (!u)
		return;
	if (!u->fn) {
		dead = unref(&u->refs);
	} else {
		pthread_mutex_lock(&u->fn->udata_lock);
		dead = unref(&u->refs);
		if (dead) {
			for (pp = &u->fn->udatas; *pp != u; pp = &(*pp)->next)
				;
			*pp = u->next;
		}
		pthread_mutex_unlock(&u->fn->udata_lock);
	}
	if (!dead)
		return;
	if (u->free_fn && u->ptr) /* no lock held */
		u->free_fn(u->ptr);
	faas__free(u);
}

int faas__udata_adopt(struct faas_fn *fn, struct faas_code *c, faas_error_detail_t *d)
{
	struct faas_udata *own = c->udata, *u = NULL;

	pthread_mutex_lock(&fn->udata_lock);
	if (own->ptr)
		for (u = fn->udatas; u && u->ptr != own->ptr; u = u->next)
			;
	if (u && u->free_fn != own->free_fn) {
		pthread_mutex_unlock(&fn->udata_lock);
		return faas__fail(d, FAAS_EINVAL,
		                  "user_data is already owned by this function with a different "
		                  "user_data_free");
	}
	if (u) {
		ref(&u->refs);
		c->udata = u;
	} else {
		own->fn = fn;
		own->next = fn->udatas;
		fn->udatas = own;
	}
	pthread_mutex_unlock(&fn->udata_lock);
	if (u)
		faas__free(own); /* the fresh holder never owned the pointer */
	return 0;
}

void faas__version_disown(struct faas_version *v)
{
	/* Only for a fresh version whose udata no one else shares yet. */
	if (v && v->code)
		v->code->udata->free_fn = NULL;
}

void faas__code_unref(struct faas_code *c)
{
	struct faas_plugin *p;

	if (!c || !unref(&c->refs))
		return;
	udata_unref(c->udata); /* user_data_free may be the plug-in's own code */
	p = c->plugin;
	faas__free(c);
	faas__plugin_unref(p); /* its last version gone: the shared object may close */
}


struct faas_fn *faas__fn_new(faas_runtime_t *rt, const char *name, size_t len)
{
	struct faas_fn *f = faas__malloc(sizeof(*f) + len + 1);

	if (!f)
		return NULL;
	memset(f, 0, sizeof(*f));
	atomic_init(&f->refs, 1);
	f->rt = rt;
	pthread_mutex_init(&f->udata_lock, NULL);
	atomic_init(&f->reserved, -1);
	f->pool.reserved = true; /* only ever used as a reservation: never written again */
	atomic_init(&f->pool.avail, 0);
	atomic_init(&f->pool.debt, 0);
	f->name_len = len;
	memcpy(f->name, name, len);
	f->name[len] = '\0';
	return f;
}

void faas__fn_ref(struct faas_fn *f)
{
	ref(&f->refs);
}

void faas__fn_unref(struct faas_fn *f)
{
	if (f && unref(&f->refs)) {
		pthread_mutex_destroy(&f->udata_lock);
		faas__free(f->conc_spare);
		faas__free(f);
	}
}

void faas__version_ref(struct faas_version *v)
{
	ref(&v->refs);
}

bool faas__version_tryref(struct faas_version *v)
{
	long n = atomic_load_explicit(&v->refs, memory_order_relaxed);

	while (n > 0)
		if (atomic_compare_exchange_weak_explicit(&v->refs, &n, n + 1, memory_order_acquire,
		                                          memory_order_relaxed))
			return true;
	return false;
}

void faas__version_unref(struct faas_version *v)
{
	if (!v || !unref(&v->refs))
		return;
	if (!faas__hk_defer(v))
		faas__version_destroy(v);
}

void faas__version_destroy(struct faas_version *v)
{
	faas__metrics_free(v);
	faas__pc_version_gone(v); /* its provisioned environments first */
	faas__instances_free(v); /* empty when code is NULL */
	faas__code_unref(v->code);
	faas__fn_unref(v->fn);
	faas__free(v->description);
	faas__free(v->env);
	faas__free(v);
}

void faas__alias_ref(struct faas_alias *a)
{
	ref(&a->refs);
}

void faas__alias_unref(struct faas_alias *a)
{
	if (!a || !unref(&a->refs))
		return;
	faas__version_unref(a->primary);
	faas__version_unref(a->secondary);
	faas__fn_unref(a->fn);
	faas__free(a->description);
	faas__free(a);
}

/* ---- validation -------------------------------------------------------- */

static int check_range(faas_error_detail_t *d, const char *field, uint32_t v, uint32_t lo,
                       uint32_t hi)
{
	char val[16], msg[80];

	if (v >= lo && v <= hi)
		return 0;
	snprintf(val, sizeof(val), "%u", v);
	snprintf(msg, sizeof(msg), "Member must have value %s than or equal to %u",
	         v < lo ? "greater" : "less", v < lo ? lo : hi);
	return faas__fail_validation(d, val, strlen(val), field, msg);
}

int faas__check_description(const char *desc, faas_error_detail_t *d)
{
	size_t len;
	long chars;

	if (!desc)
		return 0;
	len = strlen(desc);
	chars = faas__utf8_chars(desc, len);
	if (chars < 0)
		return faas__fail(d, FAAS_EINVAL, "description is not valid UTF-8");
	if ((unsigned long)chars > FAAS_DESCRIPTION_MAX)
		return faas__fail_validation(d, desc, len, "description",
		                             "Member must have length less than or equal to 256");
	return 0;
}

static bool env_key_ok(const char *k)
{
	size_t i, len = strlen(k);

	if (len < 2 || !((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')))
		return false;
	for (i = 1; i < len; i++) {
		char c = k[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

static int check_env_var(const faas_env_var_t *e, faas_error_detail_t *d)
{
	size_t i;

	if (!e->key || !e->value)
		return faas__fail(d, FAAS_EINVAL, "environment variable key and value must not be NULL");
	if (!env_key_ok(e->key))
		return faas__fail_validation(d, e->key, strlen(e->key), "environment.variables",
		                             "Map keys must satisfy constraint: [Member must satisfy "
		                             "regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]");
	for (i = 0; i < FAAS_ARRAY_SIZE(reserved_env); i++)
		if (strcmp(e->key, reserved_env[i]) == 0)
			return faas__fail(d, FAAS_EINVAL,
			                  "Lambda was unable to configure your environment variables because "
			                  "the environment variables you have provided contains reserved keys "
			                  "that are currently not supported for modification. Reserved keys "
			                  "used in this request: %s",
			                  e->key);
	if (faas__utf8_chars(e->value, strlen(e->value)) < 0)
		return faas__fail(d, FAAS_EINVAL, "value of environment variable %s is not valid UTF-8",
		                  e->key);
	return 0;
}

/* Validates the variables; *bytes receives keys + values in bytes. */
static int check_env(const faas_env_var_t *env, size_t n, size_t *bytes, faas_error_detail_t *d)
{
	size_t i, j, total = 0;
	int rc;

	if (n && !env)
		return faas__fail(d, FAAS_EINVAL, "environment is NULL but environment_count is %zu", n);
	for (i = 0; i < n; i++) {
		if ((rc = check_env_var(&env[i], d)) != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(env[i].key, env[j].key) == 0)
				return faas__fail(d, FAAS_EINVAL, "duplicate environment variable key: %s",
				                  env[i].key);
		total += strlen(env[i].key) + strlen(env[i].value);
	}
	if (total > FAAS_ENVIRONMENT_MAX_BYTES)
		return faas__fail(d, FAAS_EINVAL,
		                  "Lambda was unable to configure your environment variables because the "
		                  "environment variables you have provided exceeded the 4KB limit. Bytes "
		                  "measured: %zu",
		                  total);
	*bytes = total;
	return 0;
}

static int check_config(const faas_runtime_t *rt, const faas_function_config_t *cfg,
                        size_t *env_bytes, faas_error_detail_t *d)
{
	uint32_t timeout = cfg->timeout_ms ? cfg->timeout_ms : FAAS_TIMEOUT_DEFAULT_MS;
	uint32_t memory = cfg->memory_mb ? cfg->memory_mb : FAAS_MEMORY_DEFAULT_MB;
	int rc;

	if (cfg->version != FAAS_FUNCTION_CONFIG_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_function_config_t version %u",
		                  cfg->version);
	if (!cfg->handler)
		return faas__fail(d, FAAS_EINVAL, "handler must not be NULL");
	if ((rc = check_range(d, "timeout_ms", timeout, rt->min_timeout_ms, FAAS_TIMEOUT_MAX_MS)) ||
	    (rc = check_range(d, "memorySize", memory, FAAS_MEMORY_MIN_MB, FAAS_MEMORY_MAX_MB)) ||
	    (rc = faas__check_description(cfg->description, d)))
		return rc;
	return check_env(cfg->environment, cfg->environment_count, env_bytes, d);
}

/* ---- construction ------------------------------------------------------ */

/* One block: the array, then each key and value NUL-terminated. */
static faas_env_var_t *env_copy(const faas_env_var_t *src, size_t n, size_t bytes)
{
	faas_env_var_t *dst;
	char *p;
	size_t i, kl, vl;

	if (n == 0)
		return NULL;
	dst = faas__malloc(n * sizeof(*dst) + bytes + 2 * n);
	if (!dst)
		return NULL;
	p = (char *)(dst + n);
	for (i = 0; i < n; i++) {
		kl = strlen(src[i].key) + 1;
		vl = strlen(src[i].value) + 1;
		dst[i].key = memcpy(p, src[i].key, kl);
		p += kl;
		dst[i].value = memcpy(p, src[i].value, vl);
		p += vl;
	}
	return dst;
}

static size_t env_bytes_of(const faas_env_var_t *env, size_t n)
{
	size_t i, total = 0;

	for (i = 0; i < n; i++)
		total += strlen(env[i].key) + strlen(env[i].value);
	return total;
}

int faas__config_check(const faas_runtime_t *rt, const faas_function_config_t *cfg,
                       faas_error_detail_t *d)
{
	size_t env_bytes;

	return check_config(rt, cfg, &env_bytes, d);
}

static struct faas_code *code_new(const faas_function_config_t *cfg)
{
	struct faas_code *c = faas__malloc(sizeof(*c));
	struct faas_udata *u = faas__malloc(sizeof(*u));

	if (!c || !u) {
		faas__free(c);
		faas__free(u);
		return NULL;
	}
	atomic_init(&u->refs, 1);
	u->ptr = cfg->user_data;
	u->free_fn = cfg->user_data_free;
	u->fn = NULL;
	u->next = NULL;
	atomic_init(&c->refs, 1);
	c->handler = cfg->handler;
	c->init = cfg->init;
	c->shutdown = cfg->shutdown;
	c->udata = u;
	c->plugin = faas__plugin_current(); /* keeps the plug-in's code mapped */
	return c;
}

int faas__version_from_config(faas_runtime_t *rt, struct faas_fn *fn,
                              const faas_function_config_t *cfg, struct faas_version **out,
                              faas_error_detail_t *d)
{
	struct faas_version *v;
	size_t env_bytes = 0;
	int rc;

	*out = NULL;
	if ((rc = check_config(rt, cfg, &env_bytes, d)) != 0)
		return rc;
	v = faas__calloc(1, sizeof(*v));
	if (!v)
		return faas__fail(d, FAAS_ENOMEM, NULL);
	atomic_init(&v->refs, 1);
	v->number = FAAS_VERSION_LATEST;
	v->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : FAAS_TIMEOUT_DEFAULT_MS;
	v->memory_mb = cfg->memory_mb ? cfg->memory_mb : FAAS_MEMORY_DEFAULT_MB;
	v->throttle_wait_ms = cfg->throttle_wait_ms;
	v->allow_recursion = cfg->allow_recursion != 0;
	v->dead_letter = cfg->dead_letter;
	v->dead_letter_ud = cfg->dead_letter_user_data;
	v->revision = faas__rt_next_revision(rt);
	v->last_modified_ms = faas__clock_wall_ms(&rt->clock);
	faas__fn_ref(fn);
	v->fn = fn;
	v->code = code_new(cfg);
	v->description = faas__strdup(cfg->description ? cfg->description : "");
	v->env_count = cfg->environment_count;
	v->env = env_copy(cfg->environment, cfg->environment_count, env_bytes);
	v->instances = faas__instances_new();
	if (!v->code || !v->description || (v->env_count && !v->env) || !v->instances) {
		faas__version_disown(v);
		faas__version_unref(v);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	*out = v;
	return 0;
}

struct faas_version *faas__version_clone(const struct faas_version *src, const char *description)
{
	struct faas_version *v = faas__calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	/* Field by field: src->refs may be changing under other threads. */
	atomic_init(&v->refs, 1);
	v->number = src->number;
	v->timeout_ms = src->timeout_ms;
	v->memory_mb = src->memory_mb;
	v->throttle_wait_ms = src->throttle_wait_ms;
	v->allow_recursion = src->allow_recursion;
	v->dead_letter = src->dead_letter;
	v->dead_letter_ud = src->dead_letter_ud;
	v->revision = src->revision;
	v->last_modified_ms = src->last_modified_ms;
	v->fn = src->fn;
	v->code = src->code;
	v->env_count = src->env_count;
	v->description = faas__strdup(description ? description : src->description);
	v->env = env_copy(src->env, src->env_count, env_bytes_of(src->env, src->env_count));
	v->instances = faas__instances_new();
	atomic_fetch_add_explicit(&v->code->refs, 1, memory_order_relaxed);
	faas__fn_ref(v->fn);
	if (!v->description || (v->env_count && !v->env) || !v->instances) {
		faas__version_unref(v);
		return NULL;
	}
	return v;
}
