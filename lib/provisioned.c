/*
 * libfaas — provisioned concurrency (DESIGN §4, §9.2; Lambda's
 * Put/Get/DeleteProvisionedConcurrencyConfig).
 *
 * DESIGN
 * - A configuration belongs to a qualifier (published version or alias)
 *   and lives in the function's registry entry (struct faas_pcfg, under the
 *   stripe lock). Its environments belong to the version it provisions: a
 *   version gets one `struct faas_pc` the first time a configuration targets
 *   it and keeps it until it is destroyed. So admission needs no lookup: an
 *   invocation of a version loads `v->pc` (NULL for almost every version,
 *   one predictable branch) and tries one CAS on its pool before the
 *   function's pool or the unreserved one. A version has at most one
 *   configuration (alias and version, or two aliases, conflict).
 * - Tokens: the configuration's n tokens are moved into pc->pool from the
 *   function's reservation or, without one, from the unreserved pool (then
 *   they count in the account's carve-outs like a reservation), with the
 *   debts of concurrency.c when they are in use. Changing, moving or
 *   deleting a configuration moves tokens the same way.
 * - Environments: the provisioner (the housekeeping thread; the calling
 *   thread in inline mode) initialises environments until `ninstances`
 *   reaches `capacity`, with initialization type provisioned-concurrency,
 *   and shuts idle ones down (spindown) while there are more than
 *   `capacity`. Idle provisioned environments wait in their own LIFO and
 *   are never reaped. An invocation holding a provisioned token takes an
 *   idle provisioned environment, else a warm on-demand one, else
 *   initialises one that joins the set (before READY, or after a reset).
 *   A set may briefly hold more environments than its capacity; the extra
 *   ones are shut down when they are released.
 * - Status: IN_PROGRESS until `ready` >= capacity, then READY; an init that
 *   fails makes it FAILED with a reason, and the provisioner stops (a new
 *   put starts over). An alias that moves keeps the old version's idle
 *   environments (`successor`) until the new version's set leaves
 *   IN_PROGRESS: make before break.
 * Lock order: stripe, conc->lock, pc->lock.
 */
#include "dispatch.h"

#include <stdio.h>

static const char no_config[] = "No Provisioned Concurrency Config found for this function";

static void pc_ref(struct faas_pc *pc)
{
	atomic_fetch_add_explicit(&pc->refs, 1, memory_order_relaxed);
}

void faas__pc_unref(struct faas_pc *pc)
{
	if (!pc || atomic_fetch_sub_explicit(&pc->refs, 1, memory_order_acq_rel) != 1)
		return;
	faas__pc_unref(atomic_load(&pc->successor));
	pthread_mutex_destroy(&pc->lock);
	faas__free(pc);
}

/* Wake the provisioner. In inline mode the caller runs it (control-plane
 * calls at their end, inline invocations before they start). */
static void kick(faas_runtime_t *rt)
{
	atomic_store(&rt->pc_work, true);
	faas__hk_kick(rt);
}

static void mark(struct faas_pc *pc)
{
	atomic_store(&pc->work, true);
	kick(pc->rt);
}

/* Under conc->lock: v's set, created on first use. */
static struct faas_pc *pc_of(faas_runtime_t *rt, struct faas_version *v)
{
	struct faas_pc *pc = atomic_load(&v->pc);

	if (pc)
		return pc;
	if (!(pc = faas__calloc_aligned(sizeof(*pc))))
		return NULL;
	if (pthread_mutex_init(&pc->lock, NULL) != 0) {
		faas__free(pc);
		return NULL;
	}
	atomic_init(&pc->pool.avail, 0);
	atomic_init(&pc->pool.debt, 0);
	pc->pool.reserved = true;
	atomic_init(&pc->refs, 1); /* the version's */
	atomic_init(&pc->work, false);
	atomic_init(&pc->capacity, 0);
	atomic_init(&pc->status, FAAS_PC_IN_PROGRESS);
	atomic_init(&pc->successor, NULL);
	pc->rt = rt;
	pc->version = v;
	faas__conc_pc_link(rt, pc);
	atomic_store_explicit(&v->pc, pc, memory_order_release);
	return pc;
}

/* Under pc->lock: the status once `capacity` changed or an env got ready. */
static void settle_status(struct faas_pc *pc)
{
	uint32_t cap = atomic_load(&pc->capacity);

	if (atomic_load(&pc->status) == FAAS_PC_FAILED)
		return;
	atomic_store(&pc->status, pc->ready >= cap ? FAAS_PC_READY : FAAS_PC_IN_PROGRESS);
}

/* ---- the invocation side ------------------------------------------------ */

bool faas__pc_admit(faas_runtime_t *rt, struct faas_pc *pc)
{
	if (!faas__conc_take(rt, &pc->pool))
		return false;
	pc_ref(pc);
	return true;
}

struct faas_instance *faas__pc_instance_pop(struct faas_pc *pc)
{
	struct faas_instance *in;

	pthread_mutex_lock(&pc->lock);
	if ((in = pc->idle) != NULL)
		pc->idle = in->next;
	pthread_mutex_unlock(&pc->lock);
	return in;
}

void faas__pc_instance_join(struct faas_pc *pc, struct faas_instance *in)
{
	in->pc = pc;
	pthread_mutex_lock(&pc->lock);
	pc->ninstances++;
	pc->ready++;
	settle_status(pc);
	pthread_mutex_unlock(&pc->lock);
}

bool faas__pc_instance_release(struct faas_instance *in, bool discard)
{
	struct faas_pc *pc = in->pc;
	bool keep;

	pthread_mutex_lock(&pc->lock);
	keep = !discard && !pc->gone && pc->ninstances <= atomic_load(&pc->capacity);
	if (keep) {
		in->next = pc->idle;
		pc->idle = in;
	} else {
		pc->ninstances--;
		pc->ready--;
	}
	pthread_mutex_unlock(&pc->lock);
	if (discard) /* reset: the provisioner initialises a replacement */
		mark(pc);
	return keep;
}

void faas__pc_version_gone(struct faas_version *v)
{
	struct faas_pc *pc = atomic_load(&v->pc);
	struct faas_instance *in, *next;

	if (!pc)
		return;
	faas__conc_lock(pc->rt);
	faas__conc_pc_unlink(pc->rt, pc);
	faas__conc_unlock(pc->rt);
	pthread_mutex_lock(&pc->lock);
	pc->gone = true;
	in = pc->idle;
	pc->idle = NULL;
	pthread_mutex_unlock(&pc->lock);
	for (; in; in = next) { /* nothing is busy: invocations hold the version */
		next = in->next;
		faas__instance_shutdown(v, in, FAAS_SHUTDOWN_SPINDOWN);
	}
	faas__pc_unref(pc);
}

/* ---- the provisioner ------------------------------------------------------ */

/* An alias moved away from pc's version: keep its idle environments while
 * the new version's are being initialised. */
static bool holding(struct faas_pc *pc)
{
	struct faas_pc *s = atomic_load(&pc->successor);

	return s && atomic_load(&s->status) == FAAS_PC_IN_PROGRESS && atomic_load(&s->capacity) > 0;
}

static void step(faas_runtime_t *rt, struct faas_pc *pc)
{
	struct faas_version *v = pc->version;
	struct faas_instance *in;
	char reason[256];
	bool changed = false;

	bool alive;

	/* the version may be going on another thread (inline mode): it sets
	 * `gone` under this lock before its memory goes */
	pthread_mutex_lock(&pc->lock);
	alive = !pc->gone && faas__version_tryref(v);
	pthread_mutex_unlock(&pc->lock);
	if (!alive)
		return;
	for (;;) {
		pthread_mutex_lock(&pc->lock);
		if (pc->gone)
			break;
		if (pc->idle && pc->ninstances > atomic_load(&pc->capacity) && !holding(pc)) {
			in = pc->idle;
			pc->idle = in->next;
			pc->ninstances--;
			pc->ready--;
			pthread_mutex_unlock(&pc->lock);
			faas__instance_shutdown(v, in, FAAS_SHUTDOWN_SPINDOWN);
			continue;
		}
		if (pc->ninstances < atomic_load(&pc->capacity) &&
		    atomic_load(&pc->status) != FAAS_PC_FAILED) {
			pc->ninstances++; /* its slot, while it initialises */
			pthread_mutex_unlock(&pc->lock);
			in = faas__instance_provision(rt, v, reason, sizeof(reason));
			pthread_mutex_lock(&pc->lock);
			if (in) {
				in->pc = pc;
				in->next = pc->idle;
				pc->idle = in;
				pc->ready++;
				settle_status(pc);
			} else {
				pc->ninstances--;
				atomic_store(&pc->status, FAAS_PC_FAILED);
				snprintf(pc->reason, sizeof(pc->reason), "%s", reason);
			}
			pthread_mutex_unlock(&pc->lock);
			changed = true;
			continue;
		}
		if (atomic_load(&pc->successor) && !holding(pc)) {
			struct faas_pc *s = atomic_exchange(&pc->successor, NULL);
			pthread_mutex_unlock(&pc->lock);
			faas__pc_unref(s);
			continue;
		}
		break;
	}
	pthread_mutex_unlock(&pc->lock);
	faas__version_unref(v);
	if (changed) /* sets waiting for this one to be ready look again */
		atomic_store(&rt->pc_work, true);
}

void faas__pc_work(faas_runtime_t *rt)
{
	struct faas_pc *pc, **todo = NULL;
	size_t n = 0, cap = 0, i;

	atomic_fetch_add(&rt->pc_running, 1);
	atomic_store(&rt->pc_work, false);
	faas__conc_lock(rt);
	for (pc = rt->conc->pcs; pc; pc = pc->next) {
		if (!atomic_exchange(&pc->work, false) && !atomic_load(&pc->successor))
			continue;
		if (!faas__array_reserve(&todo, n, &cap)) { /* try again on the next pass */
			atomic_store(&pc->work, true);
			atomic_store(&rt->pc_work, true);
			continue;
		}
		pc_ref(pc);
		todo[n++] = pc;
	}
	faas__conc_unlock(rt);
	for (i = 0; i < n; i++) {
		step(rt, todo[i]);
		faas__pc_unref(todo[i]);
	}
	faas__free(todo);
	atomic_fetch_sub(&rt->pc_running, 1);
}

bool faas__pc_busy(faas_runtime_t *rt)
{
	/* pc_work first: faas__pc_work raises pc_running before it clears
	 * pc_work, so one of the two loads sees the pass (read the other way
	 * round, a pass starting between them looked like no work at all) */
	bool work = atomic_load(&rt->pc_work);

	return atomic_load(&rt->pc_running) > 0 || (work && faas__hk_alive(rt));
}

/* ---- configurations (stripe lock held) ------------------------------------ */

static struct faas_pcfg *cfg_find(const struct faas_entry *e, const char *qual, size_t len)
{
	struct faas_pcfg *cfg;

	for (cfg = e->pcfgs; cfg; cfg = cfg->next)
		if (strlen(cfg->qual) == len && memcmp(cfg->qual, qual, len) == 0)
			return cfg;
	return NULL;
}

static struct faas_pcfg *cfg_for_version(const struct faas_entry *e, uint32_t number)
{
	struct faas_pcfg *cfg;

	for (cfg = e->pcfgs; cfg; cfg = cfg->next)
		if (cfg->number == number)
			return cfg;
	return NULL;
}

static void cfg_free(struct faas_pcfg *cfg)
{
	faas__free(cfg->spare);
	faas__free(cfg->move_spare);
	faas__free(cfg);
}

/* Give the config's tokens back and let its set shrink to nothing. */
static void cfg_release(faas_runtime_t *rt, struct faas_fn *fn, struct faas_pcfg *cfg)
{
	struct faas_pc *pc = cfg->pc;

	faas__conc_lock(rt);
	faas__conc_provision(rt, fn, pc, -(int64_t)cfg->requested, &cfg->spare, NULL);
	pthread_mutex_lock(&pc->lock);
	atomic_store(&pc->capacity, 0);
	pthread_mutex_unlock(&pc->lock);
	faas__conc_unlock(rt);
	mark(pc);
	cfg_free(cfg);
}

static void cfg_drop(faas_runtime_t *rt, struct faas_entry *e, struct faas_pcfg *cfg)
{
	struct faas_pcfg **pp;

	for (pp = &e->pcfgs; *pp != cfg; pp = &(*pp)->next)
		;
	*pp = cfg->next;
	cfg_release(rt, e->fn, cfg);
}

void faas__pc_qualifier_gone(faas_runtime_t *rt, struct faas_entry *e, const char *qual)
{
	struct faas_pcfg *cfg = cfg_find(e, qual, strlen(qual));

	if (cfg)
		cfg_drop(rt, e, cfg);
}

void faas__pc_entry_free(faas_runtime_t *rt, struct faas_entry *e)
{
	while (e->pcfgs)
		cfg_drop(rt, e, e->pcfgs);
}

int faas__pc_alias_check(faas_runtime_t *rt, struct faas_entry *e, const char *alias,
                         struct faas_version *primary, faas_error_detail_t *d)
{
	struct faas_pcfg *cfg = cfg_find(e, alias, strlen(alias));
	struct faas_pc *pc;

	if (!cfg)
		return 0;
	if (!primary)
		return faas__fail(d, FAAS_EINVAL,
		                  "Provisioned Concurrency Configs cannot be applied to unpublished "
		                  "function versions.");
	if (primary->number == cfg->number)
		return 0;
	if (cfg_for_version(e, primary->number))
		return faas__fail(d, FAAS_ECONFLICT,
		                  "Alias can't be used for Provisioned Concurrency configuration on an "
		                  "already Provisioned version");
	/* what the move needs, before anything changes */
	if (!cfg->move_spare && !(cfg->move_spare = faas__conc_spare()))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	faas__conc_lock(rt);
	pc = pc_of(rt, primary);
	faas__conc_unlock(rt);
	if (pc)
		return 0;
	faas__free(cfg->move_spare); /* as it was */
	cfg->move_spare = NULL;
	return faas__fail(d, FAAS_ENOMEM, NULL);
}

void faas__pc_alias_moved(faas_runtime_t *rt, struct faas_entry *e, const char *alias,
                          struct faas_version *primary)
{
	struct faas_pcfg *cfg = cfg_find(e, alias, strlen(alias));
	struct faas_pc *from, *to, *prev, *back;

	if (!cfg || !primary || primary->number == cfg->number)
		return;
	from = cfg->pc;
	to = atomic_load(&primary->pc); /* made by faas__pc_alias_check */
	faas__conc_lock(rt);
	faas__conc_pc_move(rt, from, to, cfg->requested, &cfg->move_spare);
	pthread_mutex_lock(&from->lock);
	atomic_store(&from->capacity, 0);
	pc_ref(to);
	prev = atomic_exchange(&from->successor, to);
	pthread_mutex_unlock(&from->lock);
	pthread_mutex_lock(&to->lock);
	/* moved back before it was done: `to` serves again, it waits for nobody */
	back = atomic_exchange(&to->successor, NULL);
	atomic_store(&to->capacity, cfg->requested);
	if (atomic_load(&to->status) == FAAS_PC_FAILED)
		atomic_store(&to->status, FAAS_PC_IN_PROGRESS);
	settle_status(to);
	pthread_mutex_unlock(&to->lock);
	faas__conc_unlock(rt);
	faas__pc_unref(prev); /* memory only: no lock is taken */
	faas__pc_unref(back);
	cfg->pc = to;
	cfg->number = primary->number;
	cfg->last_modified_ms = faas__clock_wall_ms(&rt->clock);
	mark(from);
	mark(to);
}

/* ---- the public calls ------------------------------------------------------ */

/* Under the stripe lock: the version a qualifier provisions. */
static int target(faas_runtime_t *rt, const struct faas_entry *e, const struct faas_ident *id,
                  struct faas_version **out, faas_error_detail_t *d)
{
	const struct faas_alias *a;
	long idx;

	*out = NULL;
	if (id->kind == FAAS_QUAL_VERSION) {
		if (!(*out = faas__entry_version(e, id->version)))
			return faas__fail_fn_not_found(rt, d, id->name, id->name_len, id->qual,
			                               id->qual_len);
		return 0;
	}
	idx = faas__entry_alias_index(e, id->qual, id->qual_len);
	if (idx < 0)
		return faas__fail_fn_not_found(rt, d, id->name, id->name_len, id->qual, id->qual_len);
	a = e->aliases[idx];
	if (!a->primary)
		return faas__fail(d, FAAS_EINVAL,
		                  "Provisioned Concurrency Configs cannot be applied to unpublished "
		                  "function versions.");
	*out = a->primary;
	return 0;
}

static int parse(faas_runtime_t *rt, const char *name, const char *qualifier, struct faas_ident *id,
                 faas_error_detail_t *d)
{
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0 ||
	    (rc = faas__ident_parse(rt, name, qualifier, FAAS_IDENT_CONTROL, id, d)) != 0)
		return rc;
	if (id->kind == FAAS_QUAL_NONE || id->kind == FAAS_QUAL_LATEST)
		return faas__fail(d, FAAS_EINVAL,
		                  "Provisioned Concurrency Configs cannot be applied to unpublished "
		                  "function versions.");
	return 0;
}

/* Under the stripe lock: change an existing config or add one. */
static int put(faas_runtime_t *rt, struct faas_entry *e, const struct faas_ident *id,
               struct faas_version *v, struct faas_pcfg *cfg, uint32_t n,
               struct faas_pcfg **fresh, struct faas_debt **spare, faas_error_detail_t *d)
{
	bool add = cfg == NULL;
	uint32_t old = add ? 0 : cfg->requested;
	struct faas_pc *pc;
	int rc;

	if (add)
		cfg = *fresh;
	faas__conc_lock(rt);
	if (!(pc = pc_of(rt, v))) {
		faas__conc_unlock(rt);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	if ((rc = faas__conc_provision(rt, e->fn, pc, (int64_t)n - old, spare, d)) != 0) {
		faas__conc_unlock(rt);
		return rc;
	}
	pthread_mutex_lock(&pc->lock);
	atomic_store(&pc->capacity, n);
	atomic_store(&pc->status, FAAS_PC_IN_PROGRESS); /* a put starts over after a failure */
	pc->reason[0] = '\0';
	settle_status(pc);
	pthread_mutex_unlock(&pc->lock);
	faas__conc_unlock(rt);
	if (add) {
		cfg->pc = pc;
		cfg->number = v->number;
		memcpy(cfg->qual, id->qual, id->qual_len);
		cfg->qual[id->qual_len] = '\0';
		cfg->next = e->pcfgs;
		e->pcfgs = cfg;
		*fresh = NULL;
	}
	cfg->requested = n;
	cfg->last_modified_ms = faas__clock_wall_ms(&rt->clock);
	mark(pc);
	return 0;
}

int faas_function_set_provisioned_concurrency(faas_runtime_t *rt, const char *name,
                                              const char *qualifier, uint32_t n,
                                              faas_error_detail_t *d)
{
	struct faas_pcfg *fresh = NULL;
	struct faas_version *v = NULL;
	struct faas_ident id;
	struct faas_stripe *s;
	struct faas_entry *e;
	struct faas_pcfg *cfg, *other;
	struct faas_debt *spare = NULL;
	int rc;

	if ((rc = parse(rt, name, qualifier, &id, d)) != 0)
		return rc;
	if (n > INT32_MAX) {
		char val[16];
		snprintf(val, sizeof(val), "%u", n);
		return faas__fail_validation(d, val, strlen(val), "provisionedConcurrentExecutions",
		                             "Member must have value less than or equal to 2147483647");
	}
	fresh = faas__calloc(1, sizeof(*fresh));
	spare = faas__conc_spare();
	if (!fresh || !spare || !(fresh->spare = faas__conc_spare())) {
		rc = faas__fail(d, FAAS_ENOMEM, NULL);
		goto out;
	}
	e = faas__entry_lock(rt, id.name, id.name_len, &s);
	if (!e) {
		rc = faas__fail_fn_not_found(rt, d, id.name, id.name_len, NULL, 0);
	} else if ((rc = target(rt, e, &id, &v, d)) != 0) {
		/* reported */
	} else if (id.kind == FAAS_QUAL_ALIAS && n > 0 &&
	           e->aliases[faas__entry_alias_index(e, id.qual, id.qual_len)]->secondary) {
		rc = faas__fail(d, FAAS_EINVAL,
		                "Alias with weights can not be used with Provisioned Concurrency");
	} else {
		cfg = cfg_find(e, id.qual, id.qual_len);
		other = cfg_for_version(e, v->number);
		if (n == 0 && !cfg)
			rc = faas__fail(d, FAAS_ENOTFOUND, "%s", no_config);
		else if (n == 0)
			cfg_drop(rt, e, cfg);
		else if (other && other != cfg)
			rc = faas__fail(d, FAAS_ECONFLICT,
			                id.kind == FAAS_QUAL_ALIAS
			                        ? "Alias can't be used for Provisioned Concurrency "
			                          "configuration on an already Provisioned version"
			                        : "Cannot configure provisioned concurrency on both alias "
			                          "and version");
		else
			rc = put(rt, e, &id, v, cfg, n, &fresh, &spare, d);
	}
	faas__stripe_unlock(s);
	if (rc == 0 && rt->inline_mode)
		faas__pc_work(rt);
out:
	if (fresh)
		cfg_free(fresh);
	faas__free(spare);
	return rc;
}

int faas_function_get_provisioned_concurrency(faas_runtime_t *rt, const char *name,
                                              const char *qualifier, faas_provisioned_info_t *out,
                                              faas_error_detail_t *d)
{
	struct faas_ident id;
	struct faas_stripe *s;
	struct faas_entry *e;
	struct faas_pc *pc;
	const struct faas_pcfg *cfg = NULL;
	int rc;

	if ((rc = parse(rt, name, qualifier, &id, d)) != 0)
		return rc;
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	if (out->version != FAAS_PROVISIONED_INFO_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_provisioned_info_t version %u",
		                  out->version);
	e = faas__entry_lock(rt, id.name, id.name_len, &s);
	if (e && (cfg = cfg_find(e, id.qual, id.qual_len)) != NULL) {
		pc = cfg->pc;
		out->requested = cfg->requested;
		out->function_version = cfg->number;
		out->last_modified_ms = cfg->last_modified_ms;
		pthread_mutex_lock(&pc->lock);
		out->available = pc->ready < cfg->requested ? pc->ready : cfg->requested;
		out->allocated = out->available;
		out->status = (faas_provisioned_status_t)atomic_load(&pc->status);
		snprintf(out->status_reason, sizeof(out->status_reason), "%s",
		         out->status == FAAS_PROVISIONED_FAILED ? pc->reason : "");
		pthread_mutex_unlock(&pc->lock);
	}
	faas__stripe_unlock(s);
	if (!e)
		return faas__fail_fn_not_found(rt, d, id.name, id.name_len, NULL, 0);
	if (!cfg)
		return faas__fail(d, FAAS_ENOTFOUND, "%s", no_config);
	return 0;
}
