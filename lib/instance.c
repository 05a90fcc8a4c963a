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

	if (!set)
		return NULL;
	if (pthread_mutex_init(&set->lock, NULL) != 0) {
		faas__free(set);
		return NULL;
	}
	return set;
}

static void shutdown_instance(const struct faas_code *code, struct faas_instance *in,
                              faas_shutdown_reason_t why)
{
	if (code->shutdown)
		code->shutdown(in->state, why, code->udata->ptr);
	faas__free(in);
}

void faas__instances_free(struct faas_instances *set, const struct faas_code *code)
{
	struct faas_instance *in, *next;

	if (!set)
		return;
	for (in = set->warm; in; in = next) {
		next = in->next;
		shutdown_instance(code, in, FAAS_SHUTDOWN_SPINDOWN);
	}
	pthread_mutex_destroy(&set->lock);
	faas__free(set);
}

void faas__instances_spindown(struct faas_version *v)
{
	struct faas_instance *in, *next;

	pthread_mutex_lock(&v->instances->lock);
	in = v->instances->warm;
	v->instances->warm = NULL;
	pthread_mutex_unlock(&v->instances->lock);
	for (; in; in = next) {
		next = in->next;
		shutdown_instance(v->code, in, FAAS_SHUTDOWN_SPINDOWN);
	}
}

int faas__instance_acquire(struct faas_inv *inv, struct faas_instance **out, bool *cold)
{
	struct faas_instances *set = inv->version->instances;
	const struct faas_code *code = inv->version->code;
	struct faas_instance *in;
	int rc;

	pthread_mutex_lock(&set->lock);
	in = set->warm;
	if (in)
		set->warm = in->next;
	pthread_mutex_unlock(&set->lock);
	*cold = in == NULL;
	if (in) {
		*out = in;
		return 0;
	}
	if (!(in = faas__calloc(1, sizeof(*in))))
		return FAAS_ENOMEM;
	if (code->init && (rc = code->init(&inv->ctx, &in->state, code->udata->ptr)) != 0) {
		faas__free(in); /* a failed init leaves no environment behind */
		return FAAS_EUSER;
	}
	*out = in;
	return 0;
}

void faas__instance_release(struct faas_inv *inv, struct faas_instance *in, bool discard,
                            faas_shutdown_reason_t why)
{
	struct faas_instances *set = inv->version->instances;

	if (discard) {
		shutdown_instance(inv->version->code, in, why);
		return;
	}
	pthread_mutex_lock(&set->lock);
	in->next = set->warm;
	set->warm = in;
	pthread_mutex_unlock(&set->lock);
}
