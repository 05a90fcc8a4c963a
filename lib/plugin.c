/*
 * libfaas — plug-ins (faas/plugin.h).
 *
 * DESIGN
 * - Load = dlopen, check faas_plugin_abi, call faas_plugin_init with an api
 *   whose register_function only records a deep copy of each config; then,
 *   with init done and everything checked, apply the records (create, or
 *   update + publish + alias for a swap). A failure while applying deletes
 *   what this load created.
 * - A plug-in is refcounted: its handle, and each `code` object made while
 *   it is the thread's loading plug-in (registry code_new takes a reference
 *   through faas__plugin_current()). The last unref dlcloses it, so versions
 *   made from its code keep it mapped until they are destroyed, wherever
 *   that happens (housekeeping, after their environments shut down).
 */
#include "dispatch.h"

#include "faas/plugin.h"

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

struct reg {
	faas_function_config_t cfg; /* deep copy: strings point into `strings` */
	faas_env_var_t *env;
	char *strings;
	char name[FAAS_IDENT_MAX_CONTROL + 1];
	bool created; /* by this load (rollback deletes it) */
	bool applied; /* the runtime took its user_data */
};

struct faas_plugin {
	_Atomic long refs; /* the handle + each code object made from it */
	faas_runtime_t *rt;
	void *dl;
	struct reg *regs;
	size_t nregs, cap;
	bool closed_handle;
	bool registering; /* its init runs: register_function is open */
	char path[];
};

static FAAS_TLS struct faas_plugin *loading;

struct faas_plugin *faas__plugin_current(void)
{
	if (loading)
		atomic_fetch_add(&loading->refs, 1);
	return loading;
}

static void regs_free(struct faas_plugin *p)
{
	size_t i;

	for (i = 0; i < p->nregs; i++) {
		faas__free(p->regs[i].env);
		faas__free(p->regs[i].strings);
	}
	faas__free(p->regs);
	p->regs = NULL;
}

void faas__plugin_unref(struct faas_plugin *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	if (p->dl)
		dlclose(p->dl); /* no code of its is running: every version is gone */
	regs_free(p);
	faas__free(p);
}

/* ---- registration (during init) ---------------------------------------------------- */

static char *put_str(char **at, const char *s)
{
	char *start = *at;
	size_t n = strlen(s) + 1;

	memcpy(start, s, n);
	*at += n;
	return start;
}

static int reg_copy(struct reg *r, const faas_function_config_t *cfg)
{
	size_t need = cfg->description ? strlen(cfg->description) + 1 : 0, i;
	char *at;

	for (i = 0; i < cfg->environment_count; i++)
		need += strlen(cfg->environment[i].key) + strlen(cfg->environment[i].value) + 2;
	r->cfg = *cfg;
	r->strings = faas__malloc(need ? need : 1);
	r->env = cfg->environment_count ? faas__calloc(cfg->environment_count, sizeof(*r->env)) : NULL;
	if (!r->strings || (cfg->environment_count && !r->env)) {
		faas__free(r->strings);
		faas__free(r->env);
		return FAAS_ENOMEM;
	}
	at = r->strings;
	r->cfg.description = cfg->description ? put_str(&at, cfg->description) : NULL;
	for (i = 0; i < cfg->environment_count; i++) {
		r->env[i].key = put_str(&at, cfg->environment[i].key);
		r->env[i].value = put_str(&at, cfg->environment[i].value);
	}
	r->cfg.environment = r->env;
	return 0;
}

static int api_register(const faas_plugin_api_t *api, const char *name,
                        const faas_function_config_t *cfg)
{
	struct faas_plugin *p = api ? api->host : NULL;
	struct faas_ident id;
	size_t i;

	if (!p || !p->registering || !name || !cfg ||
	    faas__config_check(p->rt, cfg, NULL) != 0 || /* as create would: refused now */
	    faas__ident_parse(p->rt, name, NULL, FAAS_IDENT_UNQUALIFIED, &id, NULL) != 0 ||
	    id.name_len > FAAS_IDENT_MAX_CONTROL)
		return FAAS_EINVAL;
	for (i = 0; i < p->nregs; i++)
		if (strlen(p->regs[i].name) == id.name_len && !memcmp(p->regs[i].name, id.name, id.name_len))
			return FAAS_EINVAL; /* offered twice */
	if (p->nregs == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct reg *r = faas__reallocarray(p->regs, cap, sizeof(*r));
		if (!r)
			return FAAS_ENOMEM;
		p->regs = r;
		p->cap = cap;
	}
	memset(&p->regs[p->nregs], 0, sizeof(p->regs[0]));
	if (reg_copy(&p->regs[p->nregs], cfg) != 0)
		return FAAS_ENOMEM;
	memcpy(p->regs[p->nregs].name, id.name, id.name_len);
	p->regs[p->nregs].name[id.name_len] = '\0';
	p->nregs++;
	return 0;
}

/* ---- applying --------------------------------------------------------------------------- */

static bool function_exists(faas_runtime_t *rt, const char *name)
{
	json_t *j = NULL;
	bool yes = faas_function_describe(rt, name, &j, NULL) == 0;

	json_decref(j);
	return yes;
}

/* The alias's primary version now: its number, 0 for $LATEST, -1 when the
 * function has no such alias; its description into @p desc. */
static int64_t alias_primary(faas_runtime_t *rt, const char *fn, const char *alias, char *desc,
                             size_t size)
{
	json_t *j = NULL;
	int64_t v = -1;
	const char *label, *text;

	desc[0] = '\0';
	if (faas_alias_describe(rt, fn, alias, &j, NULL) == 0) {
		label = json_string_value(json_object_get(j, "FunctionVersion"));
		v = label && label[0] >= '0' && label[0] <= '9' ? (int64_t)strtoul(label, NULL, 10) : 0;
		if ((text = json_string_value(json_object_get(j, "Description"))) != NULL)
			snprintf(desc, size, "%s", text);
	}
	json_decref(j);
	return v;
}

/* Update, publish, route. Once the update succeeded, $LATEST owns the
 * registration's user_data (*taken), whatever happens next. */
static int swap_in(faas_runtime_t *rt, struct reg *r, const faas_plugin_options_t *o,
                   faas_error_detail_t *d)
{
	faas_alias_config_t ac = FAAS_ALIAS_CONFIG_INIT;
	char desc[FAAS_DESCRIPTION_MAX * 4 + 1];
	uint32_t version;
	int64_t old;
	int rc;

	if ((rc = faas_function_update(rt, r->name, &r->cfg, d)) != 0)
		return rc;
	r->applied = true;
	if ((rc = faas_function_publish(rt, r->name, NULL, &version, d)) != 0 || !o->alias)
		return rc;
	old = alias_primary(rt, r->name, o->alias, desc, sizeof(desc));
	ac.description = desc[0] ? desc : NULL; /* the alias keeps its description */
	ac.function_version = version;
	if (old > 0 && old != version && o->weight > 0 && o->weight < 1) {
		ac.function_version = (uint32_t)old; /* a canary: the new build gets its share */
		ac.additional_version = version;
		ac.additional_weight = o->weight;
	}
	return old >= 0 ? faas_alias_update(rt, r->name, o->alias, &ac, d)
	                : faas_alias_create(rt, r->name, o->alias, &ac, d);
}

static int apply(struct faas_plugin *p, const faas_plugin_options_t *o, faas_error_detail_t *d)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < p->nregs; i++) /* checked before anything changes */
		if (!o->swap && function_exists(p->rt, p->regs[i].name))
			return faas__fail(d, FAAS_EEXIST,
			                  "plug-in %s: function %s exists already (load with swap to "
			                  "replace its code)",
			                  p->path, p->regs[i].name);
	loading = p; /* code made now belongs to the plug-in */
	for (i = 0; i < p->nregs && rc == 0; i++) {
		struct reg *r = &p->regs[i];
		if (o->swap && function_exists(p->rt, r->name)) {
			rc = swap_in(p->rt, r, o, d); /* sets applied once $LATEST took it */
		} else {
			rc = faas_function_create(p->rt, r->name, &r->cfg, d);
			r->created = r->applied = rc == 0;
		}
	}
	loading = NULL;
	if (rc != 0) /* what this load created goes again */
		for (i = 0; i < p->nregs; i++)
			if (p->regs[i].created)
				faas_function_delete(p->rt, p->regs[i].name, NULL, NULL);
	return rc;
}

/* A load that failed: the user_data its registrations handed over and no
 * function took is freed (once per pointer), before the object closes. */
static void drop_unapplied(struct faas_plugin *p)
{
	size_t i, k;

	for (i = 0; i < p->nregs; i++) {
		const faas_function_config_t *c = &p->regs[i].cfg;
		bool seen = p->regs[i].applied || !c->user_data || !c->user_data_free;
		/* a pointer some function took, or freed already here, is not ours */
		for (k = 0; k < p->nregs && !seen; k++)
			seen = k != i && p->regs[k].cfg.user_data == c->user_data &&
			       (p->regs[k].applied || k < i);
		if (!seen)
			c->user_data_free(c->user_data);
	}
}

/* ---- public calls --------------------------------------------------------------------------- */

static int open_checked(struct faas_plugin *p, faas_plugin_init_fn *init, faas_error_detail_t *d)
{
	const unsigned *abi;

	if (strchr(p->path, '/') && access(p->path, F_OK) != 0) /* bare names: the library path */
		return faas__fail(d, FAAS_ENOTFOUND, "plug-in %s: no such file", p->path);
	if (!(p->dl = dlopen(p->path, RTLD_NOW | RTLD_LOCAL)))
		return faas__fail(d, FAAS_EINVAL, "plug-in %s: %s", p->path, dlerror());
	if (!(abi = (const unsigned *)dlsym(p->dl, "faas_plugin_abi")))
		return faas__fail(d, FAAS_EINVAL,
		                  "plug-in %s: no faas_plugin_abi symbol (build it with FAAS_PLUGIN_DEFINE)",
		                  p->path);
	if (*abi != FAAS_PLUGIN_ABI)
		return faas__fail(d, FAAS_EINVAL,
		                  "plug-in %s: built for plug-in ABI %u, this libfaas has ABI %u", p->path,
		                  *abi, FAAS_PLUGIN_ABI);
	if (!init) /* a plug-in of handler symbols for a manifest */
		return 0;
	*(void **)init = dlsym(p->dl, "faas_plugin_init");
	if (!*init)
		return faas__fail(d, FAAS_EINVAL, "plug-in %s: no faas_plugin_init symbol", p->path);
	return 0;
}

/* ---- for the manifest (manifest.c) ---------------------------------------------------------- */

int faas__plugin_open(faas_runtime_t *rt, const char *path, struct faas_plugin **out,
                      faas_error_detail_t *d)
{
	struct faas_plugin *p = faas__calloc(1, sizeof(*p) + strlen(path) + 1);
	int rc;

	*out = NULL;
	if (!p)
		return faas__fail(d, FAAS_ENOMEM, NULL);
	atomic_init(&p->refs, 1);
	p->rt = rt;
	strcpy(p->path, path);
	if ((rc = open_checked(p, NULL, d)) != 0) { /* handler symbols: no init needed */
		faas__plugin_unref(p);
		return rc;
	}
	*out = p;
	return 0;
}

void *faas__plugin_symbol(struct faas_plugin *p, const char *name)
{
	return dlsym(p->dl, name);
}

void faas__plugin_set_loading(struct faas_plugin *p)
{
	loading = p;
}

void faas__plugin_release(faas_plugin_t *p)
{
	p->closed_handle = true;
	faas__plugin_unref(p);
}

int faas_plugin_load(faas_runtime_t *rt, const char *path, const faas_plugin_options_t *o,
                     faas_plugin_t **out, faas_error_detail_t *d)
{
	faas_plugin_options_t def = FAAS_PLUGIN_OPTIONS_INIT;
	faas_plugin_api_t api;
	faas_plugin_init_fn init = NULL;
	struct faas_plugin *p;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (!out || !path)
		return faas__fail(d, FAAS_EINVAL, "path and out must not be NULL");
	*out = NULL;
	o = o ? o : &def;
	if (o->version != FAAS_PLUGIN_OPTIONS_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_plugin_options_t version %u",
		                  o->version);
	if (!(o->weight >= 0 && o->weight <= 1) && !(o->weight > 1)) /* NaN and negatives */
		return faas__fail(d, FAAS_EINVAL, "weight must be 0 to 1 (or >= 1: all traffic)");
	if (!(p = faas__calloc(1, sizeof(*p) + strlen(path) + 1)))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	atomic_init(&p->refs, 1);
	p->rt = rt;
	strcpy(p->path, path);
	if ((rc = open_checked(p, &init, d)) != 0) {
		faas__plugin_unref(p);
		return rc;
	}
	api.abi = FAAS_PLUGIN_ABI;
	api.host = p;
	api.register_function = api_register;
	p->registering = true;
	rc = init(&api);
	p->registering = false;
	if (rc != 0) { /* nothing was applied */
		drop_unapplied(p);
		faas__plugin_unref(p);
		return faas__fail(d, FAAS_EUSER, "plug-in %s: faas_plugin_init failed (%d)", path, rc);
	}
	if ((rc = apply(p, o, d)) != 0) {
		drop_unapplied(p);
		faas__plugin_unref(p);
		return rc;
	}
	*out = p;
	return 0;
}

int faas_plugin_unload(faas_plugin_t *p, uint32_t wait_ms, faas_error_detail_t *d)
{
	uint64_t deadline;
	size_t i;

	faas__detail_reset(d);
	if (!p || p->closed_handle)
		return faas__fail(d, FAAS_EINVAL, "plugin must not be NULL or unloaded already");
	if (faas__current_rt == p->rt)
		return faas__fail(d, FAAS_EDEADLK, "a plug-in cannot be unloaded from a runtime thread");
	/* the functions whose $LATEST is still its code (not those swapped to
	 * another plug-in since, even while this runs) */
	for (i = 0; i < p->nregs; i++)
		faas__function_delete_owned(p->rt, p->regs[i].name, p);
	p->closed_handle = true;
	deadline = faas__real_mono_ns() + (uint64_t)wait_ms * 1000000u;
	/* the versions go on the housekeeping thread once in-flight calls end */
	while (atomic_load(&p->refs) > 1 && faas__real_mono_ns() < deadline)
		faas__sleep_ms(1);
	if (atomic_load(&p->refs) > 1) {
		faas__plugin_unref(p); /* the last version's end closes it */
		return faas__fail(d, FAAS_ETIMEDOUT,
		                  "plug-in still in use by versions of its functions: it closes when "
		                  "they are gone");
	}
	faas__plugin_unref(p);
	return 0;
}

size_t faas_plugin_function_count(const faas_plugin_t *p)
{
	return p ? p->nregs : 0;
}

const char *faas_plugin_function_name(const faas_plugin_t *p, size_t i)
{
	return p && i < p->nregs ? p->regs[i].name : NULL;
}

const char *faas_plugin_path(const faas_plugin_t *p)
{
	return p ? p->path : NULL;
}
