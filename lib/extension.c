/*
 * libfaas — internal extensions (DESIGN §5, §9.12).
 *
 * The registered extensions form an immutable, refcounted set; register
 * and unregister build a new set and swap it under `ext_lock`. An execution
 * environment takes a reference on the set current when it is created and
 * calls that set's hooks for its whole life, so a phase costs one NULL test
 * when no extension was registered. An extension's `release` runs when no
 * set holds it any more.
 */
#include "dispatch.h"

#include <stdio.h>

struct faas_ext {
	_Atomic long refs;
	uint32_t id;
	faas_extension_t cfg;
	char name[FAAS_NAME_MAX + 1];
};

struct faas_ext_set {
	_Atomic long refs;
	size_t n;
	struct faas_ext *ext[];
};

static void ext_unref(struct faas_ext *e)
{
	if (atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	if (e->cfg.release)
		e->cfg.release(e->cfg.user_data);
	faas__free(e);
}

void faas__ext_set_unref(struct faas_ext_set *s)
{
	size_t i;

	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (i = 0; i < s->n; i++)
		ext_unref(s->ext[i]);
	faas__free(s);
}

struct faas_ext_set *faas__ext_set_current(faas_runtime_t *rt)
{
	struct faas_ext_set *s;

	pthread_mutex_lock(&rt->ext_lock);
	s = rt->exts;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&rt->ext_lock);
	return s;
}

/* A new set: `old` without `drop` (if non-NULL), plus `add` (if non-NULL). */
static struct faas_ext_set *set_with(const struct faas_ext_set *old, const struct faas_ext *drop,
                                     struct faas_ext *add)
{
	size_t n = old ? old->n : 0, i, k = 0;
	struct faas_ext_set *s = faas__malloc(sizeof(*s) + (n + 1) * sizeof(s->ext[0]));

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	for (i = 0; i < n; i++) {
		if (old->ext[i] == drop)
			continue;
		s->ext[k] = old->ext[i];
		atomic_fetch_add(&s->ext[k]->refs, 1);
		k++;
	}
	if (add)
		s->ext[k++] = add; /* the new set takes the creator's reference */
	s->n = k;
	return s;
}

static int check_ext(const faas_extension_t *x, faas_error_detail_t *d)
{
	size_t len, i;

	if (!x)
		return faas__fail(d, FAAS_EINVAL, "extension must not be NULL");
	if (x->version != FAAS_EXTENSION_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_extension_t version %u", x->version);
	if (!x->name || !(len = strlen(x->name)) || len > FAAS_NAME_MAX)
		return faas__fail(d, FAAS_EINVAL, "extension name must be 1 to 64 characters");
	for (i = 0; i < len; i++)
		if ((unsigned char)x->name[i] <= 0x20 || (unsigned char)x->name[i] >= 0x7f)
			return faas__fail(d, FAAS_EINVAL, "extension name must be printable ASCII without spaces");
	if (x->events & ~(FAAS_EXT_INIT | FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN))
		return faas__fail(d, FAAS_EINVAL, "unknown extension events 0x%x", x->events);
	return 0;
}

int faas_extension_register(faas_runtime_t *rt, const faas_extension_t *x, uint32_t *id_out,
                            faas_error_detail_t *d)
{
	struct faas_ext_set *old, *s;
	struct faas_ext *e;
	size_t i;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0 || (rc = check_ext(x, d)) != 0)
		return rc;
	if (!(e = faas__calloc(1, sizeof(*e))))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	atomic_init(&e->refs, 1);
	e->cfg = *x;
	snprintf(e->name, sizeof(e->name), "%s", x->name);
	e->cfg.name = e->name;
	pthread_mutex_lock(&rt->ext_lock);
	old = rt->exts;
	rc = old && old->n >= rt->max_extensions
	             ? faas__fail(d, FAAS_EINVAL, "a runtime takes at most %u extensions",
	                          rt->max_extensions)
	             : 0;
	for (i = 0; rc == 0 && old && i < old->n; i++)
		if (strcmp(old->ext[i]->name, e->name) == 0)
			rc = faas__fail(d, FAAS_EEXIST, "extension %s is already registered", e->name);
	if (rc == 0 && !(s = set_with(old, NULL, e)))
		rc = faas__fail(d, FAAS_ENOMEM, NULL);
	if (rc == 0) {
		e->id = ++rt->next_ext_id;
		rt->exts = s;
	}
	pthread_mutex_unlock(&rt->ext_lock);
	if (rc != 0) {
		faas__free(e); /* never shared: no release for an extension never registered */
		return rc;
	}
	if (id_out)
		*id_out = e->id;
	faas__ext_set_unref(old);
	if (FAAS_UNLIKELY(faas__tel_wants(rt, FAAS_TELEMETRY_PLATFORM)))
		faas__tel_extension(rt, x->name, x->events); /* the caller's copy: e may be gone */
	return 0;
}

int faas_extension_unregister(faas_runtime_t *rt, uint32_t id, faas_error_detail_t *d)
{
	struct faas_ext_set *old, *s = NULL;
	struct faas_ext *drop = NULL;
	size_t i;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	pthread_mutex_lock(&rt->ext_lock);
	old = rt->exts;
	for (i = 0; old && i < old->n; i++)
		if (old->ext[i]->id == id)
			drop = old->ext[i];
	if (!drop)
		rc = faas__fail(d, FAAS_ENOTFOUND, "no extension has id %u", id);
	else if (!(s = set_with(old, drop, NULL)))
		rc = faas__fail(d, FAAS_ENOMEM, NULL);
	if (rc == 0)
		rt->exts = s;
	pthread_mutex_unlock(&rt->ext_lock);
	if (rc == 0)
		faas__ext_set_unref(old); /* release runs once no environment holds it */
	return rc;
}

/* ---- the hooks ------------------------------------------------------------ */

void faas__ext_init(const struct faas_ext_set *s, bool done, const faas_ext_event_t *ev)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		const faas_extension_t *x = &s->ext[i]->cfg;
		if (!(x->events & FAAS_EXT_INIT))
			continue;
		if (done && x->on_init_done)
			x->on_init_done(ev, x->user_data);
		else if (!done && x->on_init_start)
			x->on_init_start(ev, x->user_data);
	}
}

int faas__ext_invoke_start(const struct faas_ext_set *s, const faas_ext_event_t *ev,
                           char *error_type, size_t type_size, char *message, size_t msg_size)
{
	char reason[64], msg[256];
	size_t i;

	for (i = 0; i < s->n; i++) {
		const faas_extension_t *x = &s->ext[i]->cfg;
		if (!(x->events & FAAS_EXT_INVOKE) || !x->on_invoke_start)
			continue;
		reason[0] = msg[0] = '\0';
		if (x->on_invoke_start(ev, reason, msg, x->user_data) != 0) {
			reason[sizeof(reason) - 1] = msg[sizeof(msg) - 1] = '\0';
			snprintf(error_type, type_size, "Extension.%s", reason[0] ? reason : "Veto");
			snprintf(message, msg_size, "%s", msg[0] ? msg : "the extension stopped the invocation");
			faas__make_utf8(error_type); /* cut texts may end inside a character */
			faas__make_utf8(message);
			return -1;
		}
	}
	return 0;
}

void faas__ext_invoke_end(const struct faas_ext_set *s, const faas_ext_event_t *ev)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		const faas_extension_t *x = &s->ext[i]->cfg;
		if ((x->events & FAAS_EXT_INVOKE) && x->on_invoke_end)
			x->on_invoke_end(ev, x->user_data);
	}
}

void faas__ext_shutdown(const struct faas_ext_set *s, const faas_ext_event_t *ev)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		const faas_extension_t *x = &s->ext[i]->cfg;
		if ((x->events & FAAS_EXT_SHUTDOWN) && x->on_shutdown)
			x->on_shutdown(ev, x->user_data);
	}
}
