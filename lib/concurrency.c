/*
 * libfaas — concurrency tokens (DESIGN §4, §9.1–9.2).
 *
 * DESIGN
 * - The account has max_concurrency tokens. Each lives in exactly one
 *   place: the `avail` of the unreserved pool U, the `avail` of a function's
 *   reservation pool, or an invocation that holds it from admission until
 *   its execution environment is released. So in-use = max - sum(avail),
 *   computed when read; no counter is touched per invoke.
 * - Admission is one CAS-decrement on one pool: the function's own pool
 *   when it has a reservation, else U. The invocation remembers the pool it
 *   charged and returns the token there.
 * - Reconfiguration (reserve, change, remove, delete) runs under `lock`. It
 *   moves free tokens between pools at once and records the rest as a debt
 *   of the giving pool to the receiving one. A pool with debt sends each
 *   returned token to its creditors before keeping any, and admits nothing
 *   until its debt is paid, so no pool ever holds more tokens than the
 *   capacity in force, and the account never more than max.
 * - Fast paths: admit/release read `debt` (same cache line as `avail`); only
 *   when it is non-zero do they take the lock. Invocations already running
 *   when a reservation is set keep the token of the pool they charged.
 * - Waiting for a token (throttle_wait_ms) is a debt too: the waiter is a
 *   creditor appended to the list, so releases hand tokens to waiters in
 *   FIFO order, and a newcomer cannot barge past them (a pool with debt
 *   admits only through the lock, after its creditors are paid).
 */
#include "dispatch.h"

#include <stdio.h>

/* A caller waiting for a token (its stack holds it while it waits). */
struct faas_token_waiter {
	_Atomic uint32_t wake;
	_Atomic bool granted;
	_Atomic bool cancelled; /* the runtime is shutting down */
};

struct faas_debt {
	struct faas_pool *from, *to;     /* to == NULL: owed to `waiter` */
	struct faas_token_waiter *waiter;
	int64_t n;
	struct faas_debt *next;
};

static const char reason_reserved[] = "ReservedFunctionConcurrentInvocationLimitExceeded";
static const char reason_account[] = "ConcurrentInvocationLimitExceeded";

int faas__conc_init(struct faas_conc *c, uint32_t max, uint32_t unreserved_min)
{
	atomic_init(&c->unreserved.avail, max);
	atomic_init(&c->unreserved.debt, 0);
	c->unreserved.reserved = false;
	c->max = max;
	c->unreserved_min = unreserved_min;
	return pthread_mutex_init(&c->lock, NULL) == 0 ? 0 : FAAS_ENOMEM;
}

void faas__conc_destroy(struct faas_conc *c)
{
	struct faas_debt *d, *next;
	size_t i;

	for (d = c->debts; d; d = next) {
		next = d->next;
		faas__free(d);
	}
	for (i = 0; i < c->nreserved; i++)
		faas__fn_unref(c->reserved_fns[i]);
	faas__free(c->reserved_fns);
	pthread_mutex_destroy(&c->lock);
}

/* ---- slow path (lock held) --------------------------------------------- */

static void settle(struct faas_conc *c, struct faas_pool *p);

/* Hand one token of `from` to its oldest creditor. A pool that receives a
 * token pays its own creditors (its waiters) at once: credits only flow
 * between the unreserved pool and function pools, never both ways at once
 * (cancel_reverse), so this recursion is at most two deep. */
static void pay_one(struct faas_conc *c, struct faas_pool *from)
{
	struct faas_debt **pp, *d;

	for (pp = &c->debts; (d = *pp) != NULL; pp = &d->next)
		if (d->from == from)
			break;
	atomic_fetch_sub(&from->debt, 1);
	if (!d) /* cannot happen: debt is recorded with its entries */
		return;
	if (d->waiter) {
		atomic_store_explicit(&d->waiter->granted, true, memory_order_release);
		atomic_fetch_add(&d->waiter->wake, 1);
		faas__futex_wake(&d->waiter->wake, 1);
		if (--d->n == 0) {
			*pp = d->next;
			faas__free(d);
		}
		return;
	}
	atomic_fetch_add(&d->to->avail, 1);
	{
		struct faas_pool *to = d->to;
		if (--d->n == 0) {
			*pp = d->next;
			faas__free(d);
		}
		settle(c, to);
	}
}

/* Pay debts of p out of its free tokens. */
static void settle(struct faas_conc *c, struct faas_pool *p)
{
	for (;;) {
		int64_t a = atomic_load(&p->avail);
		if (atomic_load(&p->debt) <= 0 || a <= 0)
			return;
		if (atomic_compare_exchange_weak(&p->avail, &a, a - 1))
			pay_one(c, p);
	}
}

/* Cancel up to n tokens that `to` owes `from`; returns what is left of n. */
static int64_t cancel_reverse(struct faas_conc *c, struct faas_pool *from, struct faas_pool *to,
                              int64_t n)
{
	struct faas_debt **pp = &c->debts, *d;

	while (n > 0 && (d = *pp) != NULL) {
		if (d->from == to && d->to == from) {
			int64_t k = d->n < n ? d->n : n;
			d->n -= k;
			atomic_fetch_sub(&to->debt, k);
			n -= k;
			if (d->n == 0) {
				*pp = d->next;
				faas__free(d);
				continue;
			}
		}
		pp = &d->next;
	}
	return n;
}

/*
 * Move n tokens from one pool to another: free ones now, the rest as debt.
 * A debt entry, when one is needed, comes from *spare (allocated by the
 * caller before anything changed), so moving never fails.
 */
static void move_tokens(struct faas_conc *c, struct faas_pool *from, struct faas_pool *to,
                        int64_t n, struct faas_debt **spare)
{
	struct faas_debt *d;
	int64_t a;

	n = cancel_reverse(c, from, to, n);
	while (n > 0) {
		a = atomic_load(&from->avail);
		if (a <= 0)
			break;
		if (atomic_compare_exchange_weak(&from->avail, &a, a - 1)) {
			atomic_fetch_add(&to->avail, 1);
			n--;
		}
	}
	settle(c, to); /* waiters on `to` get what just arrived */
	if (n == 0)
		return;
	d = *spare;
	*spare = NULL;
	d->from = from;
	d->to = to;
	d->waiter = NULL;
	d->n = n;
	d->next = NULL;
	/* append: creditors are paid in the order they were promised */
	{
		struct faas_debt **pp = &c->debts;
		while (*pp)
			pp = &(*pp)->next;
		*pp = d;
	}
	atomic_fetch_add(&from->debt, n); /* seq_cst: a release racing with us sees it ... */
	settle(c, from);                   /* ... or we see its token here */
}

/* ---- admission and release --------------------------------------------- */

static bool take(struct faas_pool *p)
{
	int64_t a = atomic_load_explicit(&p->avail, memory_order_relaxed);

	while (a > 0)
		if (atomic_compare_exchange_weak_explicit(&p->avail, &a, a - 1, memory_order_acquire,
		                                          memory_order_relaxed))
			return true;
	return false;
}

/* Under the lock: queue w as the last creditor of p. */
static void enqueue_waiter(struct faas_conc *c, struct faas_pool *p, struct faas_debt *d,
                           struct faas_token_waiter *w)
{
	struct faas_debt **pp = &c->debts;

	d->from = p;
	d->to = NULL;
	d->waiter = w;
	d->n = 1;
	d->next = NULL;
	while (*pp)
		pp = &(*pp)->next;
	*pp = d;
	atomic_fetch_add(&p->debt, 1); /* seq_cst, as in move_tokens */
	settle(c, p);
}

/* Under the lock: take w out of the queue; false if it was granted meanwhile. */
static bool dequeue_waiter(struct faas_conc *c, struct faas_pool *p, struct faas_token_waiter *w)
{
	struct faas_debt **pp, *d;

	for (pp = &c->debts; (d = *pp) != NULL; pp = &d->next) {
		if (d->waiter == w) {
			*pp = d->next;
			faas__free(d);
			atomic_fetch_sub(&p->debt, 1);
			return true;
		}
	}
	return false;
}

/*
 * Wait up to wait_ms on the runtime clock for a token of p, in FIFO order.
 * Returns 0 with the token, FAAS_ETHROTTLED at the deadline, FAAS_ESHUTDOWN
 * when the runtime stops meanwhile. Never called on a runtime thread.
 */
static int wait_token(faas_runtime_t *rt, struct faas_pool *p, uint32_t wait_ms)
{
	struct faas_conc *c = rt->conc;
	struct faas_token_waiter w;
	struct faas_vwaiter vw;
	struct faas_debt *d = faas__malloc(sizeof(*d));
	bool virt = rt->clock.kind == FAAS_CLOCK_VIRTUAL, got;
	uint64_t deadline = faas__clock_mono_ns(&rt->clock) + (uint64_t)wait_ms * 1000000u;

	if (!d)
		return FAAS_ETHROTTLED;
	atomic_init(&w.wake, 0);
	atomic_init(&w.granted, false);
	atomic_init(&w.cancelled, false);
	pthread_mutex_lock(&c->lock);
	settle(c, p);
	if (take(p)) {
		pthread_mutex_unlock(&c->lock);
		faas__free(d);
		return 0;
	}
	if (c->closed) { /* shutdown already cancelled the queue */
		pthread_mutex_unlock(&c->lock);
		faas__free(d);
		return FAAS_ESHUTDOWN;
	}
	enqueue_waiter(c, p, d, &w);
	pthread_mutex_unlock(&c->lock);
	vw.wake = &w.wake;
	if (virt)
		faas__vwait_add(rt, &vw);
	for (;;) {
		uint32_t seen = atomic_load_explicit(&w.wake, memory_order_acquire);
		if (atomic_load_explicit(&w.granted, memory_order_acquire) ||
		    atomic_load(&w.cancelled) || faas__clock_mono_ns(&rt->clock) >= deadline)
			break;
		faas__futex_wait(&w.wake, seen, virt ? 0 : deadline);
	}
	if (virt)
		faas__vwait_remove(rt, &vw);
	pthread_mutex_lock(&c->lock);
	got = atomic_load(&w.granted) || (!atomic_load(&w.cancelled) && !dequeue_waiter(c, p, &w));
	pthread_mutex_unlock(&c->lock);
	if (got)
		return 0;
	return atomic_load(&w.cancelled) ? FAAS_ESHUTDOWN : FAAS_ETHROTTLED;
}

void faas__conc_close(faas_runtime_t *rt)
{
	struct faas_conc *c = rt->conc;
	struct faas_debt **pp = &c->debts, *d;

	pthread_mutex_lock(&c->lock);
	c->closed = true;
	while ((d = *pp) != NULL) {
		if (!d->waiter) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		atomic_fetch_sub(&d->from->debt, 1);
		atomic_store(&d->waiter->cancelled, true);
		atomic_fetch_add(&d->waiter->wake, 1);
		faas__futex_wake(&d->waiter->wake, 1);
		faas__free(d);
	}
	pthread_mutex_unlock(&c->lock);
}

int faas__conc_admit_wait(faas_runtime_t *rt, struct faas_fn *fn, uint32_t wait_ms,
                          struct faas_pool **pool, const char **reason)
{
	int rc = faas__conc_admit(rt, fn, pool, reason);
	struct faas_pool *p;

	if (rc == 0 || wait_ms == 0)
		return rc;
	p = atomic_load(&fn->reserved) >= 0 ? &fn->pool : &rt->conc->unreserved;
	if ((rc = wait_token(rt, p, wait_ms)) != 0)
		return rc;
	*pool = p;
	return 0;
}

bool faas__conc_take(faas_runtime_t *rt, struct faas_pool *p)
{
	bool ok;

	if (FAAS_LIKELY(atomic_load(&p->debt) == 0))
		return take(p);
	pthread_mutex_lock(&rt->conc->lock); /* creditors first: no barging */
	settle(rt->conc, p);
	ok = take(p);
	pthread_mutex_unlock(&rt->conc->lock);
	return ok;
}

int faas__conc_admit(faas_runtime_t *rt, struct faas_fn *fn, struct faas_pool **pool,
                     const char **reason)
{
	struct faas_pool *p =
	        atomic_load_explicit(&fn->reserved, memory_order_acquire) >= 0 ? &fn->pool
	                                                                        : &rt->conc->unreserved;

	if (FAAS_UNLIKELY(!faas__conc_take(rt, p))) {
		*reason = p->reserved ? reason_reserved : reason_account;
		return FAAS_ETHROTTLED;
	}
	*pool = p;
	return 0;
}

void faas__conc_release(faas_runtime_t *rt, struct faas_pool *p)
{
	if (FAAS_LIKELY(atomic_load_explicit(&p->debt, memory_order_relaxed) == 0)) {
		/* seq_cst pair with the locked side's debt++ then settle(): either
		 * it sees this token or we see its debt */
		atomic_fetch_add(&p->avail, 1);
		if (FAAS_LIKELY(atomic_load(&p->debt) == 0))
			return;
	} else {
		atomic_fetch_add(&p->avail, 1);
	}
	pthread_mutex_lock(&rt->conc->lock);
	settle(rt->conc, p);
	pthread_mutex_unlock(&rt->conc->lock);
}

uint32_t faas__conc_in_use(faas_runtime_t *rt)
{
	struct faas_conc *c = rt->conc;
	int64_t free_tokens;
	size_t i;

	const struct faas_pc *pc;

	pthread_mutex_lock(&c->lock);
	free_tokens = atomic_load(&c->unreserved.avail);
	for (i = 0; i < c->nreserved; i++)
		free_tokens += atomic_load(&c->reserved_fns[i]->pool.avail);
	for (pc = c->pcs; pc; pc = pc->next)
		free_tokens += atomic_load(&pc->pool.avail);
	pthread_mutex_unlock(&c->lock);
	return free_tokens >= (int64_t)c->max ? 0 : (uint32_t)((int64_t)c->max - free_tokens);
}

uint32_t faas__conc_unreserved_in_use(faas_runtime_t *rt)
{
	struct faas_conc *c = rt->conc;
	int64_t reserved_used = 0, all = faas__conc_in_use(rt);
	size_t i;

	/* exact while no reservation change is settling its debts */
	pthread_mutex_lock(&c->lock);
	const struct faas_pc *pc;

	for (i = 0; i < c->nreserved; i++) {
		const struct faas_fn *fn = c->reserved_fns[i];
		int64_t u = atomic_load(&fn->reserved) - fn->provisioned - atomic_load(&fn->pool.avail);
		reserved_used += u > 0 ? u : 0;
	}
	/* provisioned tokens of reserved functions are theirs too */
	for (pc = c->pcs; pc; pc = pc->next) {
		int64_t u = (int64_t)pc->capacity - atomic_load(&pc->pool.avail);
		if (atomic_load(&pc->version->fn->reserved) >= 0 && u > 0)
			reserved_used += u;
	}
	pthread_mutex_unlock(&c->lock);
	return all > reserved_used ? (uint32_t)(all - reserved_used) : 0;
}

uint32_t faas_runtime_concurrent_executions(faas_runtime_t *rt)
{
	return rt ? faas__conc_in_use(rt) : 0;
}

uint32_t faas_runtime_concurrency_limit(const faas_runtime_t *rt)
{
	return rt ? rt->conc->max : 0;
}

/* ---- reservations ------------------------------------------------------ */

static long reserved_index(const struct faas_conc *c, const struct faas_fn *fn)
{
	size_t i;

	for (i = 0; i < c->nreserved; i++)
		if (c->reserved_fns[i] == fn)
			return (long)i;
	return -1;
}

/* Under the lock: give a reservation back to U and forget it. The debt
 * entry this may need was set aside when the reservation was made. */
static void unreserve(struct faas_conc *c, struct faas_fn *fn, int32_t old)
{
	long i = reserved_index(c, fn);
	struct faas_debt *spare = fn->conc_spare;

	fn->conc_spare = NULL;
	atomic_store(&fn->reserved, -1); /* new admissions go to U from now on */
	/* its provisioned tokens stay carved out, counted without a reservation */
	move_tokens(c, &fn->pool, &c->unreserved, old - fn->provisioned, &spare);
	faas__free(spare);
	c->reserved_total -= old - fn->provisioned;
	if (i >= 0) {
		c->reserved_fns[i] = c->reserved_fns[--c->nreserved];
		faas__fn_unref(fn);
	}
}

/* Under the lock; *spare is a free debt entry (NULL afterwards if used). */
static int reserve(struct faas_conc *c, struct faas_fn *fn, int32_t old, int32_t n,
                   struct faas_debt **spare, struct faas_debt **keep, faas_error_detail_t *d)
{
	if (old < 0) {
		if (!faas__array_reserve(&c->reserved_fns, c->nreserved, &c->cap_reserved))
			return faas__fail(d, FAAS_ENOMEM, NULL);
		fn->conc_spare = *keep; /* for the day the reservation goes */
		*keep = NULL;
		move_tokens(c, &c->unreserved, &fn->pool, n - fn->provisioned, spare);
		faas__fn_ref(fn);
		c->reserved_fns[c->nreserved++] = fn;
	} else if (n > old) {
		move_tokens(c, &c->unreserved, &fn->pool, n - old, spare);
	} else if (n < old) {
		move_tokens(c, &fn->pool, &c->unreserved, old - n, spare);
	}
	atomic_store(&fn->reserved, n); /* publish after the pool is funded */
	c->reserved_total += n - (old < 0 ? fn->provisioned : old);
	return 0;
}

int faas_function_set_reserved_concurrency(faas_runtime_t *rt, const char *name, int32_t n,
                                           faas_error_detail_t *d)
{
	struct faas_ident id;
	struct faas_stripe *s;
	struct faas_entry *e;
	struct faas_conc *c;
	struct faas_fn *fn = NULL;
	struct faas_debt *spare, *keep;
	int32_t old;
	int64_t total;
	int rc = 0;

	if ((rc = faas__api_begin(rt, d)) != 0 ||
	    (rc = faas__ident_parse(rt, name, NULL, FAAS_IDENT_UNQUALIFIED, &id, d)) != 0)
		return rc;
	c = rt->conc;
	if (n < -1) {
		char val[16];
		snprintf(val, sizeof(val), "%d", (int)n);
		return faas__fail_validation(d, val, strlen(val), "reservedConcurrentExecutions",
		                             "Member must have value greater than or equal to 0");
	}
	spare = faas__malloc(sizeof(*spare));
	keep = faas__malloc(sizeof(*keep));
	if (!spare || !keep) {
		faas__free(spare);
		faas__free(keep);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	/* Stripe lock then conc lock: the only place both are held; the order is fixed. */
	e = faas__entry_lock(rt, id.name, id.name_len, &s);
	if (!e) {
		faas__stripe_unlock(s);
		faas__free(spare);
		faas__free(keep);
		return faas__fail_fn_not_found(rt, d, id.name, id.name_len, NULL, 0);
	}
	fn = e->fn;
	pthread_mutex_lock(&c->lock);
	old = atomic_load(&fn->reserved);
	/* what the function holds out of the account: its reservation, or
	 * without one what its provisioned configs carved out */
	total = c->reserved_total - (old < 0 ? fn->provisioned : old) + (n < 0 ? fn->provisioned : n);
	if (n >= 0 && n < fn->provisioned)
		rc = faas__fail(d, FAAS_EINVAL,
		                "Specified ReservedConcurrentExecutions (%d) is less than the function's "
		                "provisioned concurrency (%lld)",
		                (int)n, (long long)fn->provisioned);
	else if (n >= 0 && (int64_t)c->max - total < (int64_t)c->unreserved_min)
		rc = faas__fail(d, FAAS_EINVAL,
		                "Specified ReservedConcurrentExecutions for function decreases account's "
		                "UnreservedConcurrentExecution below its minimum value of [%u].",
		                c->unreserved_min);
	else if (n < 0 && old >= 0)
		unreserve(c, fn, old);
	else if (n >= 0)
		rc = reserve(c, fn, old, n, &spare, &keep, d);
	pthread_mutex_unlock(&c->lock);
	faas__stripe_unlock(s);
	faas__free(spare);
	faas__free(keep);
	return rc;
}

int faas_function_get_reserved_concurrency(faas_runtime_t *rt, const char *name, int32_t *out,
                                           faas_error_detail_t *d)
{
	struct faas_ident id;
	struct faas_stripe *s;
	struct faas_entry *e;
	int rc;

	faas__detail_reset(d);
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	*out = -1;
	if ((rc = faas__api_begin(rt, d)) != 0 ||
	    (rc = faas__ident_parse(rt, name, NULL, FAAS_IDENT_UNQUALIFIED, &id, d)) != 0)
		return rc;
	e = faas__entry_lock(rt, id.name, id.name_len, &s);
	if (e)
		*out = atomic_load(&e->fn->reserved);
	faas__stripe_unlock(s);
	return e ? 0 : faas__fail_fn_not_found(rt, d, id.name, id.name_len, NULL, 0);
}

void faas__conc_function_gone(faas_runtime_t *rt, struct faas_fn *fn)
{
	struct faas_conc *c = rt->conc;
	int32_t old;

	pthread_mutex_lock(&c->lock);
	old = atomic_load(&fn->reserved);
	if (old >= 0)
		unreserve(c, fn, old);
	pthread_mutex_unlock(&c->lock);
}

/* ---- provisioned concurrency ------------------------------------------- */

void faas__conc_lock(faas_runtime_t *rt)
{
	pthread_mutex_lock(&rt->conc->lock);
}

void faas__conc_unlock(faas_runtime_t *rt)
{
	pthread_mutex_unlock(&rt->conc->lock);
}

struct faas_debt *faas__conc_spare(void)
{
	return faas__malloc(sizeof(struct faas_debt));
}

/*
 * Under the lock: hand up to @p max of what other pools still owe `from`
 * over to `to` (what `to` owes `from` is simply forgiven); returns how many.
 * A provisioned pool gives its credits away with its capacity, so nothing
 * is ever owed to a pool whose version may be destroyed.
 */
static int64_t give_credits(struct faas_conc *c, struct faas_pool *from, struct faas_pool *to,
                            int64_t max)
{
	struct faas_debt **pp = &c->debts, *d;
	int64_t moved = 0;

	while (moved < max && (d = *pp) != NULL) {
		if (d->to != from || d->waiter) {
			pp = &d->next;
			continue;
		}
		if (d->n > max - moved) { /* part of this one: split it */
			struct faas_debt *rest = faas__malloc(sizeof(*rest));
			if (!rest)
				break; /* what is left stays owed to `from`, as it was */
			*rest = *d;
			rest->n = d->n - (max - moved);
			d->n = max - moved;
			d->next = rest;
		}
		moved += d->n;
		if (d->from == to) { /* `to` owed it: forgiven */
			atomic_fetch_sub(&to->debt, d->n);
			*pp = d->next;
			faas__free(d);
			continue;
		}
		d->to = to;
		pp = &d->next;
	}
	return moved;
}

int faas__conc_provision(faas_runtime_t *rt, struct faas_fn *fn, struct faas_pc *pc,
                         int64_t delta, struct faas_debt **spare, faas_error_detail_t *d)
{
	struct faas_conc *c = rt->conc;
	int32_t r = atomic_load(&fn->reserved);
	struct faas_pool *home = r >= 0 ? &fn->pool : &c->unreserved;

	if (delta > 0 && r >= 0 && fn->provisioned + delta > r)
		return faas__fail(d, FAAS_EINVAL,
		                  "Requested provisioned concurrency exceeds the function's reserved "
		                  "concurrency: %lld provisioned of %d reserved",
		                  (long long)(fn->provisioned + delta), (int)r);
	if (delta > 0 && r < 0 &&
	    (int64_t)c->max - (c->reserved_total + delta) < (int64_t)c->unreserved_min)
		return faas__fail(d, FAAS_EINVAL,
		                  "Specified ConcurrentExecutions for function decreases account's "
		                  "UnreservedConcurrentExecution below its minimum value of [%u].",
		                  c->unreserved_min);
	if (delta > 0)
		move_tokens(c, home, &pc->pool, delta, spare);
	else if (delta < 0)
		move_tokens(c, &pc->pool, home, -delta - give_credits(c, &pc->pool, home, -delta),
		            spare);
	fn->provisioned += delta;
	if (r < 0)
		c->reserved_total += delta;
	return 0;
}

void faas__conc_pc_move(faas_runtime_t *rt, struct faas_pc *from, struct faas_pc *to, int64_t n,
                        struct faas_debt **spare)
{
	move_tokens(rt->conc, &from->pool, &to->pool,
	            n - give_credits(rt->conc, &from->pool, &to->pool, n), spare);
}

void faas__conc_pc_link(faas_runtime_t *rt, struct faas_pc *pc)
{
	pc->next = rt->conc->pcs;
	rt->conc->pcs = pc;
}

void faas__conc_pc_unlink(faas_runtime_t *rt, struct faas_pc *pc)
{
	struct faas_pc **pp;

	for (pp = &rt->conc->pcs; *pp; pp = &(*pp)->next)
		if (*pp == pc) {
			*pp = pc->next;
			return;
		}
}
