/*
 * libfaas bench — the tables and the targets.
 *
 * Every figure is the median of the runs with [min-max] their spread.
 * Only what repeats on a shared VM counts (DESIGN §9.15): ratios pinned
 * to one CPU against GThreadPool in the same run, CPU time per task pinned,
 * and callgrind instruction counts. A target that could not be measured
 * counts as not met. The last line is always "bench: N of M targets met".
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counted targets: the acceptance figures of the dispatch and throughput issues. */
#define TARGET_P50_RATIO 1.2
#define TARGET_P99_RATIO 1.5
#define TARGET_INLINE_IR 400.0
/* The lifecycle issue's budget: its features (provisioned concurrency,
 * external extensions, telemetry) may add at most 5 % to the warm inline
 * invoke when none of them is in use. The code before them cannot be
 * measured in the same run, so the baseline is the figure this bench
 * printed for it (commit 9953b1e, callgrind, deterministic): 1,989 Ir over
 * a direct call. */
#define LIFECYCLE_BASE_IR 1989.0
#define TARGET_LIFECYCLE_RATIO 1.05
#define TARGET_THROTTLE_IR 150.0
#define TARGET_TPUT_CPU_RATIO 1.0 /* libfaas CPU per task / GThreadPool's, pinned */
#define TARGET_JSON_RATIO 1.10    /* invoke_json <= 1.10 x jansson + one inline invoke */
#define TARGET_EVENT_RATIO 1.05   /* 6 MB event / small event */
#define TARGET_RESOLVE_RATIO 1.5  /* among 100 000 / among 1 000 */
#define TARGET_ASYNC_CPU_RATIO 0.7 /* CPU per completed event / GThreadPool's per task, pinned */
#define TARGET_ASYNC_ACCEPT_RATIO 1.5 /* Ir per accepted Event call / per g_thread_pool_push */

static const char *const sys_name[SYS_N] = {
	"direct call (floor)", "libfaas inline", "libfaas sync", "GThreadPool", "libuv uv_queue_work"
};

static const char *const tp_name[TP_N] = {
	"libfaas sync, 1 caller", "GThreadPool, 1 caller", "libfaas sync, 2 callers",
	"GThreadPool, 2 callers"
};

/* ---- statistics ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[BENCH_RUNS_MAX];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void range(const double *v, int n, double *lo, double *hi)
{
	int i;

	*lo = *hi = v[0];
	for (i = 1; i < n; i++) {
		if (v[i] < *lo)
			*lo = v[i];
		if (v[i] > *hi)
			*hi = v[i];
	}
}

/* ---- formatting ------------------------------------------------------------ */

static const char *fmt_ns(char *buf, size_t size, double ns)
{
	snprintf(buf, size, ns < 100 ? "%.1f" : "%.0f", ns);
	return buf;
}

/* "median [min-max]" of one column of a series. */
static const char *fmt_cell(char *buf, size_t size, const double *v, int n)
{
	char a[32], b[32], c[32];
	double lo, hi;

	range(v, n, &lo, &hi);
	snprintf(buf, size, "%s [%s-%s]", fmt_ns(a, sizeof(a), median(v, n)),
	         fmt_ns(b, sizeof(b), lo), fmt_ns(c, sizeof(c), hi));
	return buf;
}

/* The same in thousands, for rates. */
static const char *fmt_kcell(char *buf, size_t size, const double *v, int n)
{
	double lo, hi;

	range(v, n, &lo, &hi);
	snprintf(buf, size, "%.1fk [%.1fk-%.1fk]", median(v, n) / 1e3, lo / 1e3, hi / 1e3);
	return buf;
}

/* ---- latency --------------------------------------------------------------- */

static void print_row(const struct bench_mode *m, int s)
{
	const struct bench_series *x = &m->sys[s], *g = &m->sys[SYS_GTP];
	char p50[128], p99[128], cpu[32];

	fmt_cell(p50, sizeof(p50), x->p50, m->runs);
	if (s == SYS_DIRECT) {
		printf("  %-21s %-22s %-22s %7s %7s %9s\n", sys_name[s], p50, "-", "-", "-",
		       fmt_ns(cpu, sizeof(cpu), median(x->cpu, m->runs)));
		return;
	}
	fmt_cell(p99, sizeof(p99), x->p99, m->runs);
	printf("  %-21s %-22s %-22s %7.2f %7.2f %9s\n", sys_name[s], p50, p99,
	       median(x->p50, m->runs) / median(g->p50, m->runs),
	       median(x->p99, m->runs) / median(g->p99, m->runs),
	       fmt_ns(cpu, sizeof(cpu), median(x->cpu, m->runs)));
}

/* A section's title and CPU set, then FAILED (false: nothing more to print)
 * or a warning when the measuring child left one. */
static bool print_head(const char *title, const char *cpus, int ok, const char *err)
{
	printf("\n%s — CPU set %s\n", title, cpus);
	if (!ok) {
		printf("  FAILED: %s\n", err);
		return false;
	}
	if (err[0])
		printf("  warning: %s\n", err);
	return true;
}

void bench_print_mode(const char *title, const struct bench_mode *m)
{
	char t[32];
	int s;

	if (!print_head(title, m->cpus, m->ok, m->err))
		return;
	printf("  timer: an empty timed interval reads %s ns (inside every p50/p99)\n",
	       fmt_ns(t, sizeof(t), m->timer_ns));
	printf("  %-21s %-22s %-22s %7s %7s %9s\n", "ns per call", "p50 [min-max]", "p99 [min-max]",
	       "p50/GTP", "p99/GTP", "cpu/call");
	for (s = 0; s < SYS_N; s++)
		print_row(m, s);
}

/* ---- throughput ------------------------------------------------------------ */

/* The GThreadPool configuration with as many callers as @p cfg. */
static int gtp_of(int cfg)
{
	return cfg == TP_FAAS1 || cfg == TP_GTP1 ? TP_GTP1 : TP_GTP2;
}

void bench_print_tput(const char *title, const struct bench_tput *t)
{
	char cpu[128], rate[128];
	int cfg;

	if (!print_head(title, t->cpus, t->ok, t->err))
		return;
	printf("  %-24s %-22s %-26s %8s %8s\n", "per task", "cpu ns [min-max]", "invokes/s [min-max]",
	       "cpu/GTP", "csw");
	for (cfg = 0; cfg < TP_N; cfg++) {
		fmt_cell(cpu, sizeof(cpu), t->cpu[cfg], t->runs);
		fmt_kcell(rate, sizeof(rate), t->rate[cfg], t->runs);
		printf("  %-24s %-22s %-26s %8.2f %8.2f\n", tp_name[cfg], cpu, rate,
		       median(t->cpu[cfg], t->runs) / median(t->cpu[gtp_of(cfg)], t->runs),
		       median(t->csw[cfg], t->runs));
	}
}

static const char *const as_name[AS_N] = {
	"libfaas Event, 1 producer", "GThreadPool push, 1 producer", "libfaas Event, 2 producers",
	"GThreadPool push, 2 producers"
};

static int as_gtp_of(int cfg)
{
	return cfg == AS_FAAS1 || cfg == AS_GTP1 ? AS_GTP1 : AS_GTP2;
}

void bench_print_async(const char *title, const struct bench_async *a)
{
	char cpu[128], rate[128];
	int cfg;

	if (!print_head(title, a->cpus, a->ok, a->err))
		return;
	printf("  %-30s %-22s %-26s %8s\n", "per event", "cpu ns [min-max]", "events/s [min-max]",
	       "cpu/GTP");
	for (cfg = 0; cfg < AS_N; cfg++) {
		fmt_cell(cpu, sizeof(cpu), a->cpu[cfg], a->runs);
		fmt_kcell(rate, sizeof(rate), a->rate[cfg], a->runs);
		printf("  %-30s %-22s %-26s %8.2f\n", as_name[cfg], cpu, rate,
		       median(a->cpu[cfg], a->runs) / median(a->cpu[as_gtp_of(cfg)], a->runs));
	}
}

/* ---- event source mappings ------------------------------------------------------ */

void bench_print_mapping(const char *title, const struct bench_map *m)
{
	char cpu[128], dir[128], ns[32];
	int s;

	if (!print_head(title, m->cpus, m->ok, m->err))
		return;
	printf("  %-18s %-24s %-10s %-24s %s\n", "records per batch", "cpu ns/record [min-max]",
	       "records/s", "direct loop ns/record", "overhead/record");
	for (s = 0; s < BENCH_MAP_SIZES; s++) {
		double c = median(m->cpu[s], m->runs), d = median(m->direct[s], m->runs);
		fmt_cell(cpu, sizeof(cpu), m->cpu[s], m->runs);
		fmt_cell(dir, sizeof(dir), m->direct[s], m->runs);
		printf("  %-18d %-24s %-10.0f %-24s %s\n", m->sizes[s], cpu, 1e9 / c, dir,
		       fmt_ns(ns, sizeof(ns), c - d));
	}
}

/* ---- resolve timing ---------------------------------------------------------- */

void bench_print_resolve(const struct bench_resolve *r)
{
	char c[128];

	printf("\nresolve, ns per faas_function_resolve (reported, not counted) — %ld lookups per "
	       "run, %d runs\n",
	       r->lookups, r->runs);
	if (!r->ok) {
		printf("  FAILED: %s\n", r->err);
		return;
	}
	printf("  %-44s %s\n", "1 000 names cycled, among 1 000 functions",
	       fmt_cell(c, sizeof(c), r->cycled_small, r->runs));
	printf("  %-44s %s\n", "the same names cycled, among 100 000",
	       fmt_cell(c, sizeof(c), r->cycled_large, r->runs));
	printf("  %-44s %s\n", "uniform random names, among 100 000",
	       fmt_cell(c, sizeof(c), r->uniform, r->runs));
}

/* ---- instruction counts ------------------------------------------------------ */

static void print_ir(const struct bench_counts *c, int k, const char *what, const char *note)
{
	if (c->ok[k])
		printf("  %-42s %9.1f Ir%s%s\n", what, c->ir[k], note[0] ? "  " : "", note);
	else
		printf("  %-42s %9s\n", what, "FAILED");
}

void bench_print_counts(const struct bench_counts *c)
{
	char note[128], label[64];

	printf("\ninstructions per call (callgrind, difference of 11000 and 1000 calls)\n");
	if (c->have == 0) {
		printf("  skipped: %s\n", c->err);
		return;
	}
	if (c->have < 0)
		printf("  FAILED: %s\n", c->err);
	print_ir(c, CNT_DIRECT, "direct call (floor)", "");
	snprintf(note, sizeof(note), "(%.1f over a direct call)",
	         c->ir[CNT_INLINE] - c->ir[CNT_DIRECT]);
	print_ir(c, CNT_INLINE, "libfaas inline invoke", c->ok[CNT_DIRECT] ? note : "");
	print_ir(c, CNT_THROTTLE, "libfaas throttled invoke", "(faas_invoke + faas_result_clear)");

	printf("\npayloads (callgrind, only the measured loop collected; JSON text: difference of\n"
	       "220 and 20 calls, events: of 11000 and 1000)\n");
	printf("  SNS notification, %zu bytes of JSON text, handler returns its event:\n",
	       c->sns_bytes);
	print_ir(c, CNT_JSON_FAAS, "faas_invoke_json inline, response_text", "");
	print_ir(c, CNT_JSON_JANSSON, "jansson: json_loadb + json_dumps + free", "");
	if (c->ok[CNT_JSON_FAAS] && c->ok[CNT_JSON_JANSSON])
		printf("  %-42s %9.1f Ir  (%.1f over jansson alone)\n",
		       "  limit: 1.10 x jansson + inline invoke",
		       TARGET_JSON_RATIO * c->ir[CNT_JSON_JANSSON] + c->ir[CNT_INLINE],
		       c->ir[CNT_JSON_FAAS] - c->ir[CNT_JSON_JANSSON]);
	printf("  faas_invoke inline with a json_t event, handler returns NULL:\n");
	snprintf(label, sizeof(label), "small event (%zu bytes as text)", c->small_bytes);
	print_ir(c, CNT_EVENT_SMALL, label, "");
	snprintf(label, sizeof(label), "6 MB event (%zu bytes as text)", c->big_bytes);
	snprintf(note, sizeof(note), "(%.3f x the small one)",
	         c->ir[CNT_EVENT_LARGE] / c->ir[CNT_EVENT_SMALL]);
	print_ir(c, CNT_EVENT_LARGE, label, c->ok[CNT_EVENT_SMALL] ? note : "");

	printf("\nresolve (callgrind, only the resolve loop collected; 1 000 names cycled,\n"
	       "difference of 11000 and 1000 resolves)\n");
	print_ir(c, CNT_RES_SMALL, "among 1 000 functions", "");
	snprintf(note, sizeof(note), "(%.3f x among 1 000)",
	         c->ir[CNT_RES_LARGE] / c->ir[CNT_RES_SMALL]);
	print_ir(c, CNT_RES_LARGE, "among 100 000 functions", c->ok[CNT_RES_SMALL] ? note : "");
	printf("\nasync: one accepted call, the only worker busy (callgrind, only the measured\n"
	       "loop collected; difference of 11000 and 1000 calls)\n");
	print_ir(c, CNT_ASYNC_ACCEPT, "faas_invoke Event, queued", "(its start check included)");
	print_ir(c, CNT_GTP_PUSH, "g_thread_pool_push, queued", "");
}

/* ---- targets --------------------------------------------------------------- */

struct tally {
	int met, counted, skipped;
};

static void target(struct tally *t, int available, int ok, const char *what, const char *figure)
{
	t->counted++; /* a target that could not be measured is not met */
	if (!available) {
		printf("  SKIP  %-58s %s\n", what, figure);
		t->skipped++;
		return;
	}
	printf("  %s  %-58s %s\n", ok ? "PASS" : "MISS", what, figure);
	t->met += ok;
}

/* A ratio target: @p num / @p den <= @p limit, when both were measured. */
static void ratio_target(struct tally *t, int available, double num, double den, double limit,
                         const char *what)
{
	char fig[64];
	double r = available ? num / den : 0;

	snprintf(fig, sizeof(fig), available ? "%.2f x" : "not measured", r);
	target(t, available, r <= limit, what, fig);
}

static void latency_targets(struct tally *t, const struct bench_mode *pinned)
{
	const struct bench_series *f = &pinned->sys[SYS_FAAS], *g = &pinned->sys[SYS_GTP];
	int n = pinned->runs, lat = pinned->ok && pinned->pinned;

	ratio_target(t, lat, lat ? median(f->p50, n) : 0, lat ? median(g->p50, n) : 1,
	             TARGET_P50_RATIO, "pinned sync p50 <= 1.2 x GThreadPool p50");
	ratio_target(t, lat, lat ? median(f->p99, n) : 0, lat ? median(g->p99, n) : 1,
	             TARGET_P99_RATIO, "pinned sync p99 <= 1.5 x GThreadPool p99");
}

/* One target per caller count: both must hold, and each is its own line. */
static void tput_targets(struct tally *t, const struct bench_tput *tp)
{
	int n = tp->runs, ok = tp->ok && tp->pinned;

	ratio_target(t, ok, ok ? median(tp->cpu[TP_FAAS1], n) : 0, ok ? median(tp->cpu[TP_GTP1], n) : 1,
	             TARGET_TPUT_CPU_RATIO, "pinned CPU/task, 1 caller <= 1.0 x GThreadPool");
	ratio_target(t, ok, ok ? median(tp->cpu[TP_FAAS2], n) : 0, ok ? median(tp->cpu[TP_GTP2], n) : 1,
	             TARGET_TPUT_CPU_RATIO, "pinned CPU/task, 2 callers <= 1.0 x GThreadPool");
}

static void count_targets(struct tally *t, const struct bench_counts *c)
{
	const double *ir = c->ir;
	char fig[96];
	int ok;

	ok = c->ok[CNT_DIRECT] && c->ok[CNT_INLINE];
	snprintf(fig, sizeof(fig), ok ? "%.1f Ir" : "not counted", ir[CNT_INLINE] - ir[CNT_DIRECT]);
	target(t, ok, ir[CNT_INLINE] - ir[CNT_DIRECT] <= TARGET_INLINE_IR,
	       "inline invoke <= 400 Ir over a direct call", fig);
	ratio_target(t, ok, ir[CNT_INLINE] - ir[CNT_DIRECT], LIFECYCLE_BASE_IR, TARGET_LIFECYCLE_RATIO,
	             "inline invoke <= 1.05 x before the lifecycle features");
	ok = c->ok[CNT_THROTTLE];
	snprintf(fig, sizeof(fig), ok ? "%.1f Ir" : "not counted", ir[CNT_THROTTLE]);
	target(t, ok, ir[CNT_THROTTLE] <= TARGET_THROTTLE_IR, "throttled invoke <= 150 Ir", fig);

	/* The native round trip is the whole inline no-op invoke: the JSON
	 * loop's handler and result clearing do the same work. */
	ok = c->ok[CNT_JSON_FAAS] && c->ok[CNT_JSON_JANSSON] && c->ok[CNT_INLINE];
	snprintf(fig, sizeof(fig), ok ? "%.0f <= %.0f Ir" : "not counted", ir[CNT_JSON_FAAS],
	         TARGET_JSON_RATIO * ir[CNT_JSON_JANSSON] + ir[CNT_INLINE]);
	target(t, ok, ir[CNT_JSON_FAAS] <= TARGET_JSON_RATIO * ir[CNT_JSON_JANSSON] + ir[CNT_INLINE],
	       "invoke_json SNS <= 1.10 x jansson + one inline invoke", fig);
	ratio_target(t, c->ok[CNT_EVENT_SMALL] && c->ok[CNT_EVENT_LARGE], ir[CNT_EVENT_LARGE],
	             ir[CNT_EVENT_SMALL], TARGET_EVENT_RATIO,
	             "6 MB event invoke <= 1.05 x small event");
	ratio_target(t, c->ok[CNT_RES_SMALL] && c->ok[CNT_RES_LARGE], ir[CNT_RES_LARGE],
	             ir[CNT_RES_SMALL], TARGET_RESOLVE_RATIO,
	             "resolve among 100 000 <= 1.5 x among 1 000");
}

static void async_targets(struct tally *t, const struct bench_async *a, const struct bench_counts *c)
{
	int n = a->runs, ok = a->ok && a->pinned;

	ratio_target(t, ok, ok ? median(a->cpu[AS_FAAS1], n) : 0, ok ? median(a->cpu[AS_GTP1], n) : 1,
	             TARGET_ASYNC_CPU_RATIO, "pinned async CPU/event, 1 producer <= 0.7 x GThreadPool");
	ratio_target(t, ok, ok ? median(a->cpu[AS_FAAS2], n) : 0, ok ? median(a->cpu[AS_GTP2], n) : 1,
	             TARGET_ASYNC_CPU_RATIO, "pinned async CPU/event, 2 producers <= 0.7 x GThreadPool");
	ratio_target(t, c->ok[CNT_ASYNC_ACCEPT] && c->ok[CNT_GTP_PUSH], c->ir[CNT_ASYNC_ACCEPT],
	             c->ir[CNT_GTP_PUSH], TARGET_ASYNC_ACCEPT_RATIO,
	             "async accepted call <= 1.5 x a g_thread_pool_push (Ir)");
}

void bench_print_targets(const struct bench_mode *pinned, const struct bench_tput *tput,
                         const struct bench_async *async, const struct bench_counts *c)
{
	struct tally t = { 0, 0, 0 };

	printf("\ntargets (counted: pinned ratios and CPU time against GThreadPool in this run;\n"
	       "callgrind counts)\n");
	latency_targets(&t, pinned);
	tput_targets(&t, tput);
	count_targets(&t, c);
	async_targets(&t, async, c);
	if (t.skipped)
		printf("  (%d target%s skipped: counted as not met)\n", t.skipped,
		       t.skipped > 1 ? "s" : "");
	printf("bench: %d of %d targets met\n", t.met, t.counted);
}
