/*
 * libfaas bench — declarations shared by the benchmark's files.
 *
 * bench_dispatch.c  the driver: CPU set, child processes, callgrind runs
 * report.c          the tables and the targets
 * latency.c         timed round trips (libfaas, GThreadPool, uv_queue_work)
 * throughput.c      CPU time per task and invokes/s, 1 and 2 caller threads
 * count.c           callgrind instruction counts by the difference method
 * payload.c         the loops counted for JSON text and large events
 * resolve.c         name resolution among 1 000 and 100 000 functions
 * mapping.c         queue -> event source mapping -> no-op handler
 * gtp.h             the GThreadPool round trip shared by latency and throughput
 */
#ifndef FAAS_BENCH_H
#define FAAS_BENCH_H

#include <faas.h>
#include <jansson.h>

#include <stdint.h>
#include <time.h>

#define BENCH_RUNS_MAX 15
#define BENCH_RUNS_DEFAULT 7
#define BENCH_CALLS_DEFAULT 20000
#define BENCH_WARMUP 2000

/* What is timed, in the order of the table. */
enum bench_sys {
	SYS_DIRECT,  /* the handler called directly: the floor */
	SYS_INLINE,  /* libfaas, runtime option inline_mode = 1 */
	SYS_FAAS,    /* libfaas sync invoke on its worker pool */
	SYS_GTP,     /* GLib GThreadPool + GMutex/GCond */
	SYS_UV,      /* libuv uv_queue_work + uv_run */
	SYS_N
};

/* One system's figures in one mode: one entry per run (ns). */
struct bench_series {
	double p50[BENCH_RUNS_MAX];
	double p99[BENCH_RUNS_MAX];
	double cpu[BENCH_RUNS_MAX]; /* process CPU time per call */
};

/*
 * What a measuring child sends back through its pipe. Parent and child are
 * the same binary (fork without exec), so the struct travels as bytes.
 */
struct bench_mode {
	int ok;
	int pinned;      /* the child asked for one CPU and got it */
	char cpus[128];  /* the CPU set the child ran on */
	int runs;
	long calls;
	double timer_ns; /* p50 of an empty timed interval */
	struct bench_series sys[SYS_N];
	char err[256];
};

/* Throughput: what runs, in the order of the table. */
enum bench_tp {
	TP_FAAS1, /* libfaas sync invoke, 1 caller thread */
	TP_GTP1,  /* GThreadPool, 1 caller thread */
	TP_FAAS2, /* libfaas sync invoke, 2 caller threads */
	TP_GTP2,  /* GThreadPool, 2 caller threads sharing the pool */
	TP_N
};

#define BENCH_TASKS_DEFAULT 40000

/* A throughput child's figures (sent through a pipe like bench_mode). */
struct bench_tput {
	int ok;
	int pinned;
	char cpus[128];
	int runs;
	long tasks;                          /* per run and configuration, all callers together */
	double cpu[TP_N][BENCH_RUNS_MAX];    /* process CPU time per task (ns) */
	double rate[TP_N][BENCH_RUNS_MAX];   /* tasks per second of wall time */
	double csw[TP_N][BENCH_RUNS_MAX];    /* context switches per task (all threads) */
	char err[256];
};

/* Resolve timing (reported): ns per faas_function_resolve, one entry per run. */
enum bench_as {
	AS_FAAS1, /* libfaas Event invokes, 1 producer thread */
	AS_GTP1,  /* g_thread_pool_push, 1 producer thread */
	AS_FAAS2, /* the same, 2 producers */
	AS_GTP2,
	AS_N
};

#define BENCH_EVENTS_DEFAULT 40000

struct bench_async {
	int ok;
	int pinned;
	char cpus[128];
	int runs;
	long events;                       /* per run and configuration */
	double cpu[AS_N][BENCH_RUNS_MAX];  /* process CPU time per completed event (ns) */
	double rate[AS_N][BENCH_RUNS_MAX]; /* events queued and completed per second */
	char err[256];
};

/* Mappings: records per batch measured. */
#define BENCH_MAP_SIZES 3
#define BENCH_MAP_RECORDS_DEFAULT 100000L

struct bench_map {
	int ok;
	int pinned;
	char cpus[128];
	int runs;
	long records;                                  /* per run and batch size */
	int sizes[BENCH_MAP_SIZES];                    /* 1, 10, 100 */
	double cpu[BENCH_MAP_SIZES][BENCH_RUNS_MAX];   /* CPU ns per record, send to delete */
	double direct[BENCH_MAP_SIZES][BENCH_RUNS_MAX]; /* the handler called on the same batches */
	char err[256];
};

/* mapping.c: fill *out in this process (pinned to @p pin unless < 0). */
void bench_mapping(struct bench_map *out, int pin, int runs, long records);
void bench_print_mapping(const char *title, const struct bench_map *m);

#define BENCH_RESOLVE_SMALL 1000L
#define BENCH_RESOLVE_LARGE 100000L
#define BENCH_LOOKUPS_DEFAULT 200000L

struct bench_resolve {
	int ok;
	int runs;
	long lookups;
	double cycled_small[BENCH_RUNS_MAX]; /* the 1 000 names, among 1 000 functions */
	double cycled_large[BENCH_RUNS_MAX]; /* the same names, among 100 000 */
	double uniform[BENCH_RUNS_MAX];      /* uniform random names, among 100 000 */
	char err[256];
};

/* Callgrind counts, in the order they run. */
enum bench_cnt {
	CNT_DIRECT,       /* the handler called directly */
	CNT_INLINE,       /* faas_invoke inline, no-op handler */
	CNT_THROTTLE,     /* faas_invoke answered FAAS_ETHROTTLED */
	CNT_JSON_FAAS,    /* faas_invoke_json inline on the SNS text, response_text */
	CNT_JSON_JANSSON, /* jansson alone: parse, dump, free the same text */
	CNT_EVENT_SMALL,  /* faas_invoke inline, small json_t event, handler returns NULL */
	CNT_EVENT_LARGE,  /* the same with the 6 MB event */
	CNT_RES_SMALL,    /* faas_function_resolve, 1 000 names among 1 000 functions */
	CNT_RES_LARGE,    /* the same names among 100 000 */
	CNT_ASYNC_ACCEPT, /* faas_invoke Event, queued (the worker busy) */
	CNT_GTP_PUSH,     /* g_thread_pool_push to a busy one-thread pool */
	CNT_N
};

struct bench_counts {
	int have;           /* 1 all measured, 0 skipped (no valgrind), -1 some failed */
	int ok[CNT_N];      /* this count was measured */
	double ir[CNT_N];   /* instructions per call */
	size_t sns_bytes;   /* the SNS event's text */
	size_t small_bytes; /* the small event as compact text */
	size_t big_bytes;   /* the 6 MB event as compact text */
	char err[512];      /* the first failure, or why skipped */
};

static inline uint64_t bench_now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The no-op handler every system runs, reached through a volatile pointer
 * so the direct call stays a real call the compiler cannot fold away. */
int bench_noop(faas_context_t *ctx, json_t *event, json_t **response, void *user_data);
extern faas_handler_fn volatile bench_handler;

/* A handler that answers nothing (the response is `null`). */
int bench_null(faas_context_t *ctx, json_t *event, json_t **response, void *user_data);

/* The small event every dispatch measurement uses (new reference). */
json_t *bench_small_event(void);

/* Format a CPU set as "0-1" or "0,2"; returns the number of CPUs. */
int bench_cpuset_text(char *buf, size_t size);

/* Pin the whole process (every thread it starts later) to one CPU; 0 or -1. */
int bench_pin_to(int cpu);
/* A measuring child's start: pinned to @p pin unless < 0 (1 when it worked;
 * the reason in err otherwise), the CPU set it got in cpus. */
int bench_pin_child(int pin, char *cpus, size_t cpus_size, char *err, size_t err_size);

/* latency.c: fill *out in this process (pin first when @p pin >= 0). */
void bench_latency(struct bench_mode *out, int pin, int runs, long calls);

/* throughput.c: fill *out in this process (pin first when @p pin >= 0). */
void bench_throughput(struct bench_tput *out, int pin, int runs, long tasks);

/* resolve.c: fill *out in this process (unpinned). */
void bench_resolve_time(struct bench_resolve *out, int runs, long lookups);

/* Async throughput in this process (pinned to @p pin unless < 0). */
void bench_async(struct bench_async *out, int pin, int runs, long events);
/* The count modes "async-accept" and "gtp-push". */
int bench_async_loop(const char *mode, long n);
void bench_print_async(const char *title, const struct bench_async *a);

/* count.c: the loop callgrind runs for a count mode (the table in count.c). */
int bench_count_loop(const char *mode, long n);

/*
 * count.c: the measured part of a loop counted with --toggle-collect:
 * callgrind collects only while this function runs, so set-up too large
 * or too variable for the difference method alone (100 000 registrations,
 * a 6 MB event) is left out. Calls step(arg, i) for i in [0, n); 0 or -1.
 */
int bench_measured(int (*step)(void *arg, long i), void *arg, long n);

/* payload.c: count loops "json-faas", "json-jansson", "event-small", "event-large". */
int bench_payload_loop(const char *mode, long n);

/* payload.c: the ~1 KB SNS notification event (JSON text) and its length. */
extern const char bench_sns_event[];
size_t bench_sns_event_len(void);

/* payload.c: build the ~6 MB event (new reference); build it outside what is measured. */
json_t *bench_big_event(void);

/* resolve.c: count loops "resolve-small", "resolve-large". */
int bench_resolve_loop(const char *mode, long n);

/* report.c: the tables, then the targets and the final line. */
void bench_print_mode(const char *title, const struct bench_mode *m);
void bench_print_tput(const char *title, const struct bench_tput *t);
void bench_print_resolve(const struct bench_resolve *r);
void bench_print_counts(const struct bench_counts *c);
void bench_print_targets(const struct bench_mode *pinned, const struct bench_tput *tput,
                         const struct bench_async *async, const struct bench_counts *c);

/* count.c: is valgrind on the PATH? */
int bench_have_valgrind(void);

/* count.c: instructions per call of @p mode, from two callgrind runs of
 * @p self writing into directory @p dir. Returns 0, or -1 (see err). */
int bench_count(const char *self, const char *dir, const char *mode, double *per_call, char *err,
                size_t errsize);

#endif /* FAAS_BENCH_H */
