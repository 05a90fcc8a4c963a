/*
 * libfaas — extensions: registration and internal hooks (DESIGN §5, §9.12).
 *
 * The registered extensions form an immutable, refcounted set; register
 * and unregister build a new set and swap it under `ext_lock`. An execution
 * environment takes a reference on the set current when it is created and
 * calls that set's hooks for its whole life, so a phase costs one NULL test
 * when no extension was registered. An extension's `release` runs when no
 * set holds it any more (and, for an external one, its thread has exited:
 * extext.c).
 */
#include "ext_int.h"

#include <stdio.h>

void faas__ext_let_go(struct faas_ext *e)
{
	if (atomic_fetch_sub(&e->holders, 1) != 1)
		return;
	if (e->cfg.release)
		e->cfg.release(e->cfg.user_data);
	if (e->cfg.kind == FAAS_EXT_KIND_EXTERNAL) {
		pthread_mutex_destroy(&e->qlock);
		pthread_cond_destroy(&e->qcond);
	}
	faas__free(e);
}

static void ext_unref(struct faas_ext *e)
{
	if (atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	if (e->cfg.kind == FAAS_EXT_KIND_EXTERNAL)
		faas__extext_stop(e); /* its thread lets go once it has drained its queue */
	faas__ext_let_go(e);
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
	s->ext_invoke = s->ext_shutdown = 0;
	for (i = 0; i < k; i++) {
		const faas_extension_t *x = &s->ext[i]->cfg;
		if (x->kind != FAAS_EXT_KIND_EXTERNAL)
			continue;
		s->ext_invoke += (x->events & FAAS_EXT_INVOKE) != 0;
		s->ext_shutdown += (x->events & FAAS_EXT_SHUTDOWN) != 0;
	}
	return s;
}

/* A set that was never published: only the references it took go. */
static void set_discard(struct faas_ext_set *s, const struct faas_ext *added)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->ext[i] != added)
			atomic_fetch_sub(&s->ext[i]->refs, 1); /* the old set still holds each */
	faas__free(s);
}

static int check_external(const faas_runtime_t *rt, const faas_extension_t *x,
                          faas_error_detail_t *d)
{
	if (x->kind != FAAS_EXT_KIND_EXTERNAL)
		return 0;
	if (rt->inline_mode)
		return faas__fail(d, FAAS_EINVAL, "external extensions need library threads: an "
		                                  "inline-mode runtime has none");
	if (!x->on_event)
		return faas__fail(d, FAAS_EINVAL, "an external extension needs on_event");
	if (x->events & FAAS_EXT_INIT)
		return faas__fail(d, FAAS_EINVAL, "an external extension takes INVOKE and SHUTDOWN "
		                                  "events only");
	if (x->on_init_start || x->on_init_done || x->on_invoke_start || x->on_invoke_end ||
	    x->on_shutdown)
		return faas__fail(d, FAAS_EINVAL, "an external extension gets its events through "
		                                  "on_event, not hooks");
	return 0;
}

static int check_ext(const faas_runtime_t *rt, const faas_extension_t *x, faas_error_detail_t *d)
{
	size_t len, i;

	if (!x)
		return faas__fail(d, FAAS_EINVAL, "extension must not be NULL");
	if (x->version != FAAS_EXTENSION_VERSION && x->version != 1)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_extension_t version %u", x->version);
	if (!x->name || !(len = strlen(x->name)) || len > FAAS_NAME_MAX)
		return faas__fail(d, FAAS_EINVAL, "extension name must be 1 to 64 characters");
	for (i = 0; i < len; i++)
		if ((unsigned char)x->name[i] <= 0x20 || (unsigned char)x->name[i] >= 0x7f)
			return faas__fail(d, FAAS_EINVAL, "extension name must be printable ASCII without spaces");
	if (x->events & ~(FAAS_EXT_INIT | FAAS_EXT_INVOKE | FAAS_EXT_SHUTDOWN))
		return faas__fail(d, FAAS_EINVAL, "unknown extension events 0x%x", x->events);
	if (x->version >= 2 && x->kind != FAAS_EXT_KIND_INTERNAL && x->kind != FAAS_EXT_KIND_EXTERNAL)
		return faas__fail(d, FAAS_EINVAL, "unknown extension kind %d", (int)x->kind);
	return x->version >= 2 ? check_external(rt, x, d) : 0;
}

/* The caller's struct as a current one: a version 1 struct ends before `kind`. */
static void copy_config(faas_extension_t *to, const faas_extension_t *x)
{
	memset(to, 0, sizeof(*to));
	memcpy(to, x, x->version == 1 ? offsetof(faas_extension_t, kind) : sizeof(*to));
	to->version = FAAS_EXTENSION_VERSION;
}

/* Under ext_lock: why e cannot join the set `old`, or 0. */
static int check_room(faas_runtime_t *rt, const struct faas_ext_set *old, const struct faas_ext *e,
                      faas_error_detail_t *d)
{
	size_t i;

	if (old && old->n >= rt->max_extensions)
		return faas__fail(d, FAAS_EINVAL, "a runtime takes at most %u extensions",
		                  rt->max_extensions);
	for (i = 0; old && i < old->n; i++)
		if (strcmp(old->ext[i]->name, e->name) == 0)
			return faas__fail(d, FAAS_EEXIST, "extension %s is already registered", e->name);
	return 0;
}

int faas_extension_register(faas_runtime_t *rt, const faas_extension_t *x, uint32_t *id_out,
                            faas_error_detail_t *d)
{
	struct faas_ext_set *old, *s = NULL;
	struct faas_ext *e;
	bool external;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0 || (rc = check_ext(rt, x, d)) != 0)
		return rc;
	if (!(e = faas__calloc(1, sizeof(*e))))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	atomic_init(&e->refs, 1);
	copy_config(&e->cfg, x);
	external = e->cfg.kind == FAAS_EXT_KIND_EXTERNAL;
	atomic_init(&e->holders, external ? 2 : 1); /* the sets, and its thread */
	snprintf(e->name, sizeof(e->name), "%s", x->name);
	e->cfg.name = e->name;
	pthread_mutex_lock(&rt->ext_lock);
	old = rt->exts;
	if ((rc = check_room(rt, old, e, d)) == 0 && !(s = set_with(old, NULL, e)))
		rc = faas__fail(d, FAAS_ENOMEM, NULL);
	if (rc == 0 && external && (rc = faas__extext_start(rt, e)) != 0) {
		set_discard(s, e);
		faas__fail(d, rc, rc == FAAS_ETHREAD ? "could not start the extension's thread" : NULL);
	}
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

void faas__ext_shutdown(faas_runtime_t *rt, const struct faas_ext_set *s, faas_ext_event_t *ev)
{
	size_t i;

	/* Lambda: 2,000 ms in all with an external extension, else 500 ms */
	ev->deadline_ms = faas__clock_wall_ms(&rt->clock) + (s->ext_shutdown ? rt->ext_shutdown_ms : 500);
	for (i = 0; i < s->n; i++) {
		const faas_extension_t *x = &s->ext[i]->cfg;
		if ((x->events & FAAS_EXT_SHUTDOWN) && x->on_shutdown)
			x->on_shutdown(ev, x->user_data);
	}
	if (s->ext_shutdown)
		faas__extext_shutdown(s, ev);
}
