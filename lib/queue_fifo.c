/*
 * libfaas — what a FIFO queue keeps besides its messages (queue.c):
 * message groups with messages in flight, and deduplication ids seen in
 * the last five minutes. Both are small hash tables; the caller holds the
 * queue's lock around every call.
 */
#include "dispatch.h"
#include "queue_fifo.h"

#include <stdio.h>

struct fgroup {
	struct fgroup *next;
	uint32_t inflight;
	uint64_t epoch; /* the receive that took its messages last */
	char id[];
};

struct fdedup {
	struct fdedup *next;  /* hash chain */
	struct fdedup *newer; /* by expiry: the list runs oldest to newest */
	uint64_t expires_ns;
	char message_id[FAAS_REQUEST_ID_SIZE];
	char id[];
};

struct faas_fifo {
	struct fgroup **groups;
	size_t ngroups, cap_groups;
	struct fdedup **dedup;
	size_t ndedup, cap_dedup;
	struct fdedup *oldest, *newest;
};

static size_t slot(const char *id, size_t cap)
{
	return (size_t)faas__hash64(id, strlen(id), 0) & (cap - 1);
}

struct faas_fifo *faas__fifo_new(void)
{
	struct faas_fifo *f = faas__calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->cap_groups = f->cap_dedup = 64;
	f->groups = faas__calloc(f->cap_groups, sizeof(*f->groups));
	f->dedup = faas__calloc(f->cap_dedup, sizeof(*f->dedup));
	if (!f->groups || !f->dedup) {
		faas__fifo_free(f);
		return NULL;
	}
	return f;
}

void faas__fifo_free(struct faas_fifo *f)
{
	struct fdedup *d, *dn;
	size_t i;

	if (!f)
		return;
	for (i = 0; f->groups && i < f->cap_groups; i++)
		for (struct fgroup *g = f->groups[i], *gn; g; g = gn) {
			gn = g->next;
			faas__free(g);
		}
	for (d = f->oldest; d; d = dn) {
		dn = d->newer;
		faas__free(d);
	}
	faas__free(f->groups);
	faas__free(f->dedup);
	faas__free(f);
}

/* ---- groups --------------------------------------------------------------------- */

static struct fgroup *group_find(struct faas_fifo *f, const char *id)
{
	struct fgroup *g;

	for (g = f->groups[slot(id, f->cap_groups)]; g; g = g->next)
		if (!strcmp(g->id, id))
			return g;
	return NULL;
}

static bool groups_grow(struct faas_fifo *f)
{
	size_t cap = f->cap_groups * 2, i;
	struct fgroup **t = faas__calloc(cap, sizeof(*t)), *g, *next;

	if (!t)
		return false;
	for (i = 0; i < f->cap_groups; i++)
		for (g = f->groups[i]; g; g = next) {
			size_t k = slot(g->id, cap);
			next = g->next;
			g->next = t[k];
			t[k] = g;
		}
	faas__free(f->groups);
	f->groups = t;
	f->cap_groups = cap;
	return true;
}

bool faas__fifo_group_locked(struct faas_fifo *f, const char *id, uint64_t epoch)
{
	struct fgroup *g = group_find(f, id);

	return g && g->inflight > 0 && g->epoch != epoch;
}

int faas__fifo_group_take(struct faas_fifo *f, const char *id, uint64_t epoch)
{
	struct fgroup *g = group_find(f, id);
	size_t len;

	if (!g) {
		if (f->ngroups + 1 > f->cap_groups && !groups_grow(f))
			return FAAS_ENOMEM;
		len = strlen(id);
		if (!(g = faas__calloc(1, sizeof(*g) + len + 1)))
			return FAAS_ENOMEM;
		memcpy(g->id, id, len + 1);
		g->next = f->groups[slot(id, f->cap_groups)];
		f->groups[slot(id, f->cap_groups)] = g;
		f->ngroups++;
	}
	g->inflight++;
	g->epoch = epoch;
	return 0;
}

void faas__fifo_group_done(struct faas_fifo *f, const char *id)
{
	struct fgroup **pp, *g;

	for (pp = &f->groups[slot(id, f->cap_groups)]; (g = *pp) != NULL; pp = &g->next)
		if (!strcmp(g->id, id)) {
			if (--g->inflight == 0) { /* nothing in flight: the group is free again */
				*pp = g->next;
				faas__free(g);
				f->ngroups--;
			}
			return;
		}
}

/* ---- deduplication ------------------------------------------------------------------ */

static void dedup_unlink(struct faas_fifo *f, struct fdedup *d)
{
	struct fdedup **pp;

	for (pp = &f->dedup[slot(d->id, f->cap_dedup)]; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			f->ndedup--;
			return;
		}
}

/* Ids older than the window go (the list is in expiry order). */
static void dedup_expire(struct faas_fifo *f, uint64_t now)
{
	struct fdedup *d;

	while ((d = f->oldest) != NULL && d->expires_ns <= now) {
		f->oldest = d->newer;
		if (!f->oldest)
			f->newest = NULL;
		dedup_unlink(f, d);
		faas__free(d);
	}
}

const char *faas__fifo_dedup_find(struct faas_fifo *f, const char *id, uint64_t now)
{
	struct fdedup *d;

	dedup_expire(f, now);
	for (d = f->dedup[slot(id, f->cap_dedup)]; d; d = d->next)
		if (!strcmp(d->id, id))
			return d->message_id;
	return NULL;
}

static bool dedup_grow(struct faas_fifo *f)
{
	size_t cap = f->cap_dedup * 2, i;
	struct fdedup **t = faas__calloc(cap, sizeof(*t)), *d, *next;

	if (!t)
		return false;
	for (i = 0; i < f->cap_dedup; i++)
		for (d = f->dedup[i]; d; d = next) {
			size_t k = slot(d->id, cap);
			next = d->next;
			d->next = t[k];
			t[k] = d;
		}
	faas__free(f->dedup);
	f->dedup = t;
	f->cap_dedup = cap;
	return true;
}

int faas__fifo_dedup_add(struct faas_fifo *f, const char *id, const char *message_id,
                         uint64_t expires_ns)
{
	size_t len = strlen(id), k;
	struct fdedup *d;

	if (f->ndedup + 1 > f->cap_dedup && !dedup_grow(f))
		return FAAS_ENOMEM;
	if (!(d = faas__calloc(1, sizeof(*d) + len + 1)))
		return FAAS_ENOMEM;
	memcpy(d->id, id, len + 1);
	snprintf(d->message_id, sizeof(d->message_id), "%s", message_id);
	d->expires_ns = expires_ns;
	k = slot(id, f->cap_dedup);
	d->next = f->dedup[k];
	f->dedup[k] = d;
	f->ndedup++;
	if (f->newest) /* every id gets the same window: appending keeps the order */
		f->newest->newer = d;
	else
		f->oldest = d;
	f->newest = d;
	return 0;
}
