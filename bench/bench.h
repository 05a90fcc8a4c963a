/*
 * libfaas bench — declarations shared by the benchmark's files.
 *
 * bench_dispatch.c  the driver: CPU set, child processes, table, targets
 * latency.c         timed round trips (libfaas, GThreadPool, uv_queue_work)
 * count.c           callgrind instruction counts by the difference method
 */
#ifndef FAAS_BENCH_H
#define FAAS_BENCH_H

#include <faas.h>
#include <jansson.h>

#include <stdint.h>

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

/* The no-op handler every system runs, reached through a volatile pointer
 * so the direct call stays a real call the compiler cannot fold away. */
int bench_noop(faas_context_t *ctx, json_t *event, json_t **response, void *user_data);
extern faas_handler_fn volatile bench_handler;

/* Format a CPU set as "0-1" or "0,2"; returns the number of CPUs. */
int bench_cpuset_text(char *buf, size_t size);

/* latency.c: fill *out in this process (pin first when @p pin >= 0). */
void bench_latency(struct bench_mode *out, int pin, int runs, long calls);

/* count.c: the loop callgrind runs (mode "direct", "inline", "throttle"). */
int bench_count_loop(const char *mode, long n);

/* count.c: is valgrind on the PATH? */
int bench_have_valgrind(void);

/* count.c: instructions per call of @p mode, from two callgrind runs of
 * @p self writing into directory @p dir. Returns 0, or -1 (see err). */
int bench_count(const char *self, const char *dir, const char *mode, double *per_call, char *err,
                size_t errsize);

#endif /* FAAS_BENCH_H */
