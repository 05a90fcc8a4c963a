/*
 * libfaas — private base header. First include of every file in lib/.
 *
 * Allocation and thread creation go through the wrappers below so tests can
 * fail the Nth of either (DESIGN §9.14); libfaas never calls
 * json_set_alloc_funcs (it is process-global).
 */
#ifndef FAAS_INT_H
#define FAAS_INT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "faas.h"
#include "faas/testing.h"

#if !defined(JSON_HAVE_ATOMIC_BUILTINS) || !JSON_HAVE_ATOMIC_BUILTINS
#error "libfaas needs a jansson built with atomic reference counts (2.11 or newer)"
#endif

#define FAAS_INTERNAL __attribute__((visibility("hidden")))
/* Thread-locals of the library: initial-exec, so that libfaas.so reaches
 * them at a fixed offset from the thread pointer, as an executable does,
 * instead of through __tls_get_addr (they are a few words: glibc's static
 * TLS reserve covers them even when libfaas.so is dlopen()ed). */
#if defined(__GLIBC__)
#define FAAS_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else /* musl, for one, refuses to dlopen() a library with initial-exec TLS */
#define FAAS_TLS _Thread_local
#endif
#define FAAS_UNUSED(x) ((void)(x))
#define FAAS_LIKELY(x) __builtin_expect(!!(x), 1)
#define FAAS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FAAS_CACHELINE 64
#define FAAS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define faas_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- allocation (alloc.c) ---------------------------------------------- */

/*
 * A test switch that makes the nth call from now fail (1 = the next one),
 * and every later one when `sticky`; 0 disarms. Disarmed, a check costs
 * two relaxed loads.
 */
struct faas_failpoint {
	_Atomic long countdown;
	_Atomic bool sticky;
	_Atomic bool tripped;
};

FAAS_INTERNAL void faas__failpoint_arm(struct faas_failpoint *fp, long n, bool sticky);
FAAS_INTERNAL bool faas__failpoint_hit(struct faas_failpoint *fp);

FAAS_INTERNAL void *faas__malloc(size_t size);
FAAS_INTERNAL void *faas__calloc(size_t n, size_t size); /* NULL on n * size overflow */
FAAS_INTERNAL void *faas__realloc(void *ptr, size_t size);
FAAS_INTERNAL void *faas__reallocarray(void *ptr, size_t n, size_t size);
/* Zeroed, aligned to FAAS_CACHELINE; release with faas__free. */
FAAS_INTERNAL void *faas__calloc_aligned(size_t size);
FAAS_INTERNAL void faas__free(void *ptr);
FAAS_INTERNAL char *faas__strdup(const char *s);
FAAS_INTERNAL char *faas__strndup(const char *s, size_t len);

/*
 * Test switches (never set by the library itself). fail_at(n): the nth
 * allocation from now fails (1 = the next one), and so does every later one
 * when `sticky`; 0 disarms. live() counts blocks allocated and not freed.
 */
FAAS_INTERNAL void faas__alloc_fail_at(long n, bool sticky);
FAAS_INTERNAL long faas__alloc_live(void);
FAAS_INTERNAL long faas__alloc_failures(void);

/* ---- threads (thread.c) ------------------------------------------------ */

/*
 * Start a library thread named "faas-<name>" with every signal blocked.
 * Returns 0, FAAS_ETHREAD or FAAS_ENOMEM. fail_at works as for allocation.
 */
FAAS_INTERNAL int faas__thread_create(pthread_t *tid, const char *name, size_t stack_size,
                                      void *(*fn)(void *), void *arg);
FAAS_INTERNAL void faas__thread_fail_at(long n, bool sticky);

/* ---- word locks (sync.c) ----------------------------------------------- */

/*
 * A mutex of one 32-bit word (0 free, 1 held, 2 held and someone may sleep),
 * for the short critical sections of hot paths such as the registry's
 * stripes: taking and releasing it uncontended is one atomic instruction
 * each, where a pthread mutex costs some thirty instructions a side. A
 * contended taker spins briefly (when spinning can pay off), then sleeps
 * on the futex. Not recursive, no condition variables, zero-initialised.
 */
typedef struct {
	_Atomic uint32_t word;
} faas_lock_t;

FAAS_INTERNAL void faas__lock_contended(faas_lock_t *l);
/* Whether contended takers spin first (runtime creation says, from
 * faas__spin_useful(); until then they do not). */
FAAS_INTERNAL void faas__lock_spin_set(bool spin);
FAAS_INTERNAL void faas__unlock_wake(faas_lock_t *l);

static inline void faas__lock(faas_lock_t *l)
{
	uint32_t free_word = 0;

	if (FAAS_UNLIKELY(!atomic_compare_exchange_strong_explicit(
	            &l->word, &free_word, 1, memory_order_acquire, memory_order_relaxed)))
		faas__lock_contended(l);
}

static inline void faas__unlock(faas_lock_t *l)
{
	if (FAAS_UNLIKELY(atomic_exchange_explicit(&l->word, 0, memory_order_release) == 2))
		faas__unlock_wake(l);
}

/* ---- block caches (alloc.c) --------------------------------------------- */

/*
 * A few free blocks of one size kept by a runtime (invocations, async
 * events), so that a block freed on one thread serves the next allocation
 * on another without glibc's cross-thread free and arena refill. get and
 * put behave as faas__malloc and faas__free: the same failure switch, and
 * a cached block does not count as live. Zero-initialised; drained (freed)
 * when the runtime core goes.
 */
/* A cache of blocks of one size. Plain: malloc'd blocks, up to
 * FAAS_BCACHE_MAX kept for reuse. Slab (faas__bcache_slab): blocks carved
 * from FAAS_SLAB_CHUNK-aligned chunks, one malloc per chunk, so a burst
 * costs no malloc per block; a put that finds trim_at blocks free gives
 * back the chunks whose blocks are all free (keeping FAAS_BCACHE_MAX), so
 * what a burst took goes back when it has passed. A slab cache's blocks
 * must come from faas__bcache_get, never from malloc. */
struct faas_bcache {
	faas_lock_t lock;
	void *head; /* linked through each block's first word */
	uint32_t n;
	uint32_t per_chunk; /* slab: blocks per chunk; 0: plain */
	size_t size;        /* slab: the block size, a multiple of 16 */
	void *chunks;       /* slab: every chunk, linked through its first word */
	uint32_t trim_at;   /* slab: free blocks that make a put trim */
};

#define FAAS_BCACHE_MAX 64
#define FAAS_SLAB_CHUNK 16384u

/* Before first use, on a zeroed cache: slab mode for blocks of size bytes. */
FAAS_INTERNAL void faas__bcache_slab(struct faas_bcache *c, size_t size);
FAAS_INTERNAL void *faas__bcache_get(struct faas_bcache *c, size_t size);
FAAS_INTERNAL void faas__bcache_put(struct faas_bcache *c, void *p);
FAAS_INTERNAL void faas__bcache_drain(struct faas_bcache *c);

/* ---- errors (error.c) -------------------------------------------------- */

/* Reset a detail on entry to a public call (NULL-safe). */
FAAS_INTERNAL void faas__detail_reset(faas_error_detail_t *d);
/* Record a failure unless one is recorded already; returns code. */
FAAS_INTERNAL int faas__fail(faas_error_detail_t *d, int code, const char *fmt, ...) FAAS_PRINTF(3, 4);
/* Lambda's validation message: "1 validation error detected: Value '<v>' at '<field>' failed ..." */
FAAS_INTERNAL int faas__fail_validation(faas_error_detail_t *d, const char *value, size_t value_len,
                                        const char *field, const char *constraint);

/* ---- clock (clock.c) --------------------------------------------------- */

struct faas_clock {
	faas_clock_kind_t kind;
	_Atomic uint64_t virt_mono_ns; /* virtual: monotonic time */
	_Atomic int64_t virt_wall_offset_ms; /* virtual: wall = offset + mono/1e6 */
};

FAAS_INTERNAL void faas__clock_init(struct faas_clock *c, faas_clock_kind_t kind, int64_t epoch_ms);
FAAS_INTERNAL uint64_t faas__clock_mono_ns(const struct faas_clock *c);
FAAS_INTERNAL int64_t faas__clock_wall_ms(const struct faas_clock *c);
FAAS_INTERNAL uint64_t faas__real_mono_ns(void);
/* "2019-09-24T18:20:35.054+0000" (Lambda's LastModified); buf >= 29 bytes. */
FAAS_INTERNAL void faas__format_last_modified(int64_t epoch_ms, char *buf, size_t size);
/* "2019-09-24T18:20:35.054Z" (Telemetry's time); buf >= 25 bytes. */
FAAS_INTERNAL void faas__format_iso_ms(int64_t epoch_ms, char *buf, size_t size);

/* ---- small helpers (util.c) -------------------------------------------- */

FAAS_INTERNAL uint64_t faas__hash64(const void *data, size_t len, uint64_t seed);
static inline uint64_t faas__splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
/* Standard base64 with padding, NUL-terminated, from faas__malloc; NULL on ENOMEM. */
FAAS_INTERNAL char *faas__base64(const void *data, size_t len);
/* After a failed json_load* with @p e zeroed first: whether jansson ran out
 * of memory ("out of memory", or no text at all when its very first
 * allocation failed: every real parse error has a text). */
static inline bool faas__json_oom(const json_error_t *e)
{
	return json_error_code(e) == json_error_out_of_memory || !e->text[0];
}
/* The bytes of base64 text (*len set), or NULL (invalid text, no memory). */
FAAS_INTERNAL unsigned char *faas__base64_decode(const char *text, size_t *len);
/* Replace, in place, bytes that are not valid UTF-8 with '?'. */
FAAS_INTERNAL void faas__make_utf8(char *s);
/* Number of UTF-8 characters in s[0..len), or -1 if not valid UTF-8. */
FAAS_INTERNAL long faas__utf8_chars(const char *s, size_t len);

/* ---- runtime (runtime.c) ----------------------------------------------- */

struct faas_registry;
struct faas_metrics;
struct faas_conc;

/* Someone sleeping on a futex word until a virtual-clock time: each
 * faas_clock_advance bumps and wakes every registered word. */
struct faas_vwaiter {
	_Atomic uint32_t *wake;
	struct faas_vwaiter *next, *prev;
};
struct faas_workers;
struct faas_inv;
struct faas_hk;
struct faas_maps;
struct faas_ext_set;
struct faas_async;
struct faas_ext;
struct faas_ext_msg;
struct faas_tel;

/* RUNNING -> DRAINING (only runtime threads may call in) -> SHUTDOWN */
enum faas_rt_state { FAAS_RT_RUNNING = 0, FAAS_RT_DRAINING = 1, FAAS_RT_SHUTDOWN = 2 };

#define FAAS_REGION_MAX 32
#define FAAS_ACCOUNT_LEN 12

struct faas_runtime {
	_Atomic int state;
	struct faas_bcache inv_cache; /* struct faas_inv blocks */
	struct faas_bcache aev_cache; /* struct faas_aevent blocks */
	struct faas_clock clock;
	uint64_t seed;
	uint32_t min_timeout_ms;
	_Atomic uint64_t revision; /* source of RevisionIds: unique per runtime */
	char region[FAAS_REGION_MAX + 1];
	char account[FAAS_ACCOUNT_LEN + 1];
	struct faas_registry *reg;
	struct faas_conc *conc;
	struct faas_workers *workers;
	struct faas_hk *hk; /* NULL in inline mode and after shutdown */
	_Atomic long core_refs; /* the owner + each worker thread; the last frees */
	_Atomic bool freed;     /* faas_runtime_free has run */
	_Atomic long sink_users; /* threads inside a log sink call */
	bool inline_mode;
	bool legacy_handled;
	bool enforce_json_limits;
	uint32_t max_request_bytes;
	uint32_t max_response_bytes;
	uint64_t keep_alive_ns;
	uint32_t init_timeout_ms;
	_Atomic uint64_t next_reap_ns; /* earliest time an idle environment may expire */
	_Atomic bool pc_work;    /* provisioned concurrency: the provisioner has work */
	struct faas_async *async; /* the Event queue (async.c) */
	_Atomic size_t async_queued; /* events queued: a hint read without the queue's lock */
	pthread_mutex_t queue_lock; /* the built-in queues' list (queue.c) */
	struct faas_queue *queues;
	struct faas_stream *streams; /* the built-in streams' list, under queue_lock too */
	uint32_t max_async_request_bytes;
	_Atomic int pc_running;  /* provisioner passes under way */
	faas_log_fn log_fn;
	void *log_user_data;
	int log_fd; /* -1: none */
	pthread_mutex_t ext_lock;   /* swaps of `exts` */
	struct faas_ext_set *exts;  /* registered extensions, NULL when none */
	uint32_t next_ext_id;
	uint32_t max_extensions;
	/* external extensions (extext.c) */
	struct faas_ext *ext_live;    /* external extensions whose thread runs, under ext_lock */
	_Atomic long ext_threads;     /* those threads (each holds a core reference) */
	_Atomic long ext_backlog;     /* events queued or being delivered */
	_Atomic long ext_stopping;    /* threads told to stop that have not exited yet */
	_Atomic uint32_t ext_exit;    /* futex word: bumped as an extension thread exits */
	uint32_t ext_shutdown_ms;
	pthread_mutex_t post_lock;    /* the post-runtime records below */
	struct faas_ext_msg *posts;   /* invocations whose INVOKE went to external extensions */
	bool posts_closed;            /* shutdown: nothing waits for extensions any more */
	pthread_mutex_t vwait_lock; /* virtual clock: sync callers waiting for a deadline */
	struct faas_vwaiter *vwaiters;
	/* FAAS_TELEMETRY_* streams some subscriber wants: 0 when none, and
	 * then an emit point costs this one relaxed load (telemetry.c) */
	_Atomic unsigned tel_types;
	struct faas_tel *tel;
	_Atomic(struct faas_maps *) maps; /* event source mappings (mapping.c), made on first use */
	double delay_scale; /* async_delay_scale: async retries, mapping backoff */
};

static inline unsigned faas__tel_wants(const faas_runtime_t *rt, unsigned streams)
{
	return atomic_load_explicit(&rt->tel_types, memory_order_relaxed) & streams;
}

/* The start of every public control-plane call: reset the detail, refuse a
 * NULL runtime (FAAS_EINVAL) or one that is shut down (FAAS_ESHUTDOWN). */
FAAS_INTERNAL int faas__api_begin(faas_runtime_t *rt, faas_error_detail_t *d);
/* 0, or FAAS_ESHUTDOWN with the detail filled. Runtime threads may still
 * call in while the runtime drains. */
FAAS_INTERNAL int faas__rt_check_running(const faas_runtime_t *rt, faas_error_detail_t *d);
/* Drop a core reference; the last one releases the runtime's memory. */
FAAS_INTERNAL void faas__rt_core_unref(faas_runtime_t *rt);
/* Release the runtime's memory (for a caller that dropped the last reference). */
FAAS_INTERNAL void faas__rt_core_free(faas_runtime_t *rt);
FAAS_INTERNAL uint64_t faas__rt_next_revision(faas_runtime_t *rt);

#endif /* FAAS_INT_H */
