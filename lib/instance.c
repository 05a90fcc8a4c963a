/*
 * libfaas — execution environments (minimal; the lifecycle issue extends
 * them). An instance belongs to one version, runs the version's init once
 * (cold start) and then serves one invocation at a time. Warm instances
 * wait in a per-version LIFO so the warmest is reused first. An instance
 * whose invocation timed out or failed fatally is shut down, never reused.
 */
#include "dispatch.h"

struct faas_instances *faas__instances_new(void)
{
	struct faas_instances *set = faas__calloc(1, sizeof(*set));

	return set; /* NULL on ENOMEM; its lock is a zeroed word */
}

/* SHUTDOWN to the environment's extensions, then to the function. */
void faas__instance_shutdown(const struct faas_version *v, struct faas_instance *in,
                             faas_shutdown_reason_t why)
{
	const struct faas_code *code = v->code;

	if (in->exts) {
		faas_ext_event_t ev;
		char label[12];
		memset(&ev, 0, sizeof(ev));
		faas__version_label(v->number, label);
		ev.function_name = v->fn->name;
		ev.function_version = label;
		ev.shutdown_reason = why;
		faas__ext_shutdown(v->fn->rt, in->exts, &ev); /* sets the deadline */
		faas__ext_set_unref(in->exts);
	}
	if (code->shutdown)
		code->shutdown(in->state, why, code->udata->ptr);
	faas__free(in);
}

void faas__instances_free(const struct faas_version *v)
{
	struct faas_instances *set = v->instances;
	struct faas_instance *in, *next;

	if (!set)
		return;
	for (in = set->warm; in; in = next) {
		next = in->next;
		faas__instance_shutdown(v, in, FAAS_SHUTDOWN_SPINDOWN);
	}
	faas__free(set);
}

void faas__instances_spindown(struct faas_version *v)
{
	struct faas_instance *in, *next;

	faas__lock(&v->instances->lock);
	in = v->instances->warm;
	v->instances->warm = NULL;
	faas__unlock(&v->instances->lock);
	for (; in; in = next) {
		next = in->next;
		faas__instance_shutdown(v, in, FAAS_SHUTDOWN_SPINDOWN);
	}
}

/*
 * One init attempt. Lambda's rule, as implemented here: an init that fails
 * or runs past init_timeout_ms is reported with INIT_REPORT (phase `init`)
 * and retried once inside the same invocation (a "suppressed init", phase
 * `invoke`) while the invocation still has time; the retry reports no Init
 * Duration. A second failure fails the invocation; the next one starts over.
 * An init that returned state but ran too long has that state shut down
 * (reason timeout); a failing init cleans up after itself.
 */
static struct faas_instance *try_init(struct faas_inv *inv, const char *phase)
{
	const struct faas_code *code = inv->version->code;
	faas_runtime_t *rt = inv->rt;
	struct faas_instance *in = faas__calloc(1, sizeof(*in));
	faas_ext_event_t ev;
	uint64_t t0, t1;
	double ms;
	bool ok, tel, retry = strcmp(phase, "invoke") == 0;
	int rc = 0;

	if (!in) {
		inv->init_oom = true; /* reported as Runtime.OutOfMemory */
		return NULL;
	}
	inv->init_oom = false;
	inv->ctx.failed = inv->ctx.fatal = false;
	in->exts = faas__ext_set_current(rt); /* bound for the environment's life */
	if (strcmp(phase, "init") == 0)
		faas__inv_logf(inv, "INIT_START Runtime Version: libfaas:%s\tRuntime Version ARN: "
		                    "arn:aws:lambda:%s::runtime:libfaas-%s",
		               FAAS_VERSION_STRING, rt->region, FAAS_VERSION_STRING);
	memset(&ev, 0, sizeof(ev));
	ev.function_name = inv->version->fn->name;
	ev.function_version = inv->version_label;
	ev.initialization_type = inv->init_type ? inv->init_type : "on-demand";
	in->init_type = ev.initialization_type;
	inv->ctx.init_type = in->init_type;
	ev.phase = phase;
	if (in->exts)
		faas__ext_init(in->exts, false, &ev);
	t0 = faas__clock_mono_ns(&rt->clock);
	tel = faas__tel_wants(rt, FAAS_TELEMETRY_PLATFORM) != 0;
	if (FAAS_UNLIKELY(tel))
		faas__tel_init(inv, FAAS_TEL_INIT_START, &ev, t0);
	if (code->init)
		rc = code->init(&inv->ctx, &in->state, code->udata->ptr);
	t1 = faas__clock_mono_ns(&rt->clock);
	ms = (double)(t1 - t0) / 1e6;
	/* the first attempt has init's own limit; the retry inside the
	 * invocation is bounded by the function's timeout, as Lambda's */
	inv->init_timed_out = retry ? t1 >= atomic_load(&inv->deadline_ns) : ms > rt->init_timeout_ms;
	ok = rc == 0 && !inv->ctx.failed && !inv->init_timed_out;
	ev.status = ok ? FAAS_EXT_SUCCESS : inv->init_timed_out ? FAAS_EXT_TIMEOUT : FAAS_EXT_ERROR;
	ev.error_type = ok ? NULL : inv->init_timed_out ? "Runtime.Unknown"
	                        : inv->ctx.failed ? inv->ctx.error_type : "Runtime.InitError";
	ev.duration_ms = ms;
	if (in->exts)
		faas__ext_init(in->exts, true, &ev);
	if (FAAS_UNLIKELY(tel)) {
		faas__tel_init(inv, FAAS_TEL_INIT_RUNTIME_DONE, &ev, t1);
		faas__tel_init(inv, FAAS_TEL_INIT_REPORT, &ev, t1);
	}
	if (ok && inv->init_type) /* Lambda reports provisioned inits even when they succeed */
		faas__inv_logf(inv, "INIT_REPORT Init Duration: %.2f ms\tPhase: %s\tStatus: success", ms,
		               phase);
	if (ok)
		return in;
	if (rc == 0 && !inv->ctx.failed && inv->init_timed_out && code->shutdown)
		code->shutdown(in->state, FAAS_SHUTDOWN_TIMEOUT, code->udata->ptr); /* built, too late */
	faas__ext_set_unref(in->exts);
	faas__free(in);
	if (inv->init_timed_out && retry) /* Lambda's line for a retry stopped at the deadline */
		faas__inv_logf(inv, "INIT_REPORT Init Duration: %.2f ms\tPhase: %s\tStatus: error\tError "
		                    "Type: Runtime.Unknown",
		               ms, phase);
	else if (inv->init_timed_out)
		faas__inv_logf(inv, "INIT_REPORT Init Duration: %.2f ms\tPhase: %s\tStatus: timeout", ms,
		               phase);
	else
		faas__inv_logf(inv, "INIT_REPORT Init Duration: %.2f ms\tPhase: %s\tStatus: error\tError "
		                    "Type: %s",
		               ms, phase, inv->ctx.failed ? inv->ctx.error_type : "Runtime.InitError");
	return NULL;
}

int faas__instance_acquire(struct faas_inv *inv, struct faas_instance **out, bool *cold,
                           double *init_ms)
{
	struct faas_instances *set = inv->version->instances;
	faas_runtime_t *rt = inv->rt;
	struct faas_instance *in;
	uint64_t t0;

	/* a provisioned token: a provisioned environment first */
	in = FAAS_UNLIKELY(inv->pc != NULL) ? faas__pc_instance_pop(inv->pc) : NULL;
	if (!in) {
		faas__lock(&set->lock);
		in = set->warm;
		if (in)
			set->warm = in->next;
		faas__unlock(&set->lock);
	}
	*cold = in == NULL;
	*init_ms = 0;
	if (in) {
		*out = in;
		return 0;
	}
	t0 = faas__clock_mono_ns(&rt->clock);
	if ((in = try_init(inv, "init")) != NULL) {
		*init_ms = (double)(faas__clock_mono_ns(&rt->clock) - t0) / 1e6;
	} else {
		/* The suppressed init runs inside the invocation: from here on the
		 * function's timeout counts, retry included. */
		faas__inv_set_deadline(inv, faas__clock_mono_ns(&rt->clock));
		/* the deadline stands, Duration counts from here; an environment it
		 * makes is a suppressed init's: its REPORT has no Init Duration */
		inv->init_retried = true;
		if ((in = try_init(inv, "invoke")) == NULL)
			return FAAS_EUSER;
	}
	if (inv->pc) /* made for a provisioned token: it joins the set */
		faas__pc_instance_join(inv->pc, in);
	*out = in;
	return 0;
}

uint64_t faas__instances_reap(struct faas_version *v, uint64_t now, uint64_t keep)
{
	struct faas_instances *set = v->instances;
	struct faas_instance **pp, *in, *dead = NULL;
	uint64_t next = UINT64_MAX;

	faas__lock(&set->lock);
	for (pp = &set->warm; (in = *pp) != NULL;) {
		if (in->idle_since_ns + keep <= now) {
			*pp = in->next;
			in->next = dead;
			dead = in;
			continue;
		}
		if (in->idle_since_ns + keep < next)
			next = in->idle_since_ns + keep;
		pp = &in->next;
	}
	faas__unlock(&set->lock);
	while (dead) {
		in = dead;
		dead = in->next;
		faas__instance_shutdown(v, in, FAAS_SHUTDOWN_SPINDOWN);
	}
	return next;
}

void faas__instance_release(struct faas_inv *inv, struct faas_instance *in, uint64_t now,
                            bool discard, faas_shutdown_reason_t why)
{
	struct faas_instances *set = inv->version->instances;

	if (FAAS_UNLIKELY(in->pc != NULL)) { /* provisioned: never reaped */
		if (!faas__pc_instance_release(in, discard))
			faas__instance_shutdown(inv->version, in, discard ? why : FAAS_SHUTDOWN_SPINDOWN);
		return;
	}
	if (discard) {
		faas__instance_shutdown(inv->version, in, why);
		return;
	}
	in->idle_since_ns = now;
	faas__lock(&set->lock);
	in->next = set->warm;
	set->warm = in; /* from here on another worker may own it: no more reads */
	faas__unlock(&set->lock);
	faas__reap_hint(inv->rt, now + inv->rt->keep_alive_ns);
}

void faas__reap_hint(faas_runtime_t *rt, uint64_t t)
{
	uint64_t cur = atomic_load_explicit(&rt->next_reap_ns, memory_order_relaxed);

	while (t < cur)
		if (atomic_compare_exchange_weak(&rt->next_reap_ns, &cur, t)) {
			faas__hk_kick(rt);
			return;
		}
}

struct faas_instance *faas__instance_provision(faas_runtime_t *rt, struct faas_version *v,
                                               char *reason, size_t size)
{
	struct faas_inv *inv = faas__inv_bare(rt, v);
	struct faas_instance *in;

	if (!inv) {
		snprintf(reason, size, "Runtime.OutOfMemory: no memory for the environment");
		return NULL;
	}
	inv->init_type = "provisioned-concurrency";
	if (!(in = try_init(inv, "init")))
		snprintf(reason, size, "%s: %s",
		         inv->init_oom          ? "Runtime.OutOfMemory"
		         : inv->init_timed_out ? "Runtime.Unknown"
		         : inv->ctx.failed     ? inv->ctx.error_type
		                               : "Runtime.InitError",
		         inv->init_timed_out ? "init timed out"
		         : inv->ctx.failed   ? faas__ctx_message(&inv->ctx)
		                             : "init returned an error");
	faas__inv_unref(inv);
	return in;
}
