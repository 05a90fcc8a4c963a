/*
 * libfaas bench — the dispatch core against its baselines, in one run.
 *
 *   bench_dispatch [--runs N] [--calls N] [--tasks N] [--no-callgrind]
 *   bench_dispatch --count MODE N   (the loop callgrind runs; modes in count.c)
 *
 * Latency and throughput are measured in child processes, one pinned to a
 * single CPU and one on the whole CPU set; resolve timing in a third;
 * instruction counts come from callgrind. Only figures that repeat on a
 * shared VM count toward the targets (DESIGN §9.15): pinned ratios and CPU
 * time against GThreadPool measured in the same run, and instruction
 * counts. Everything else is reported. A missed target is not a failure:
 * the exit status is non-zero only when a measurement broke.
 */
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int bench_noop(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)ctx;
	(void)user_data;
	*response = json_incref(event);
	return 0;
}

faas_handler_fn volatile bench_handler = bench_noop;

int bench_null(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)ctx;
	(void)event;
	(void)response;
	(void)user_data;
	return 0;
}

json_t *bench_small_event(void)
{
	return json_pack("{s:s,s:i,s:[i,i,i]}", "source", "bench", "id", 42, "items", 1, 2, 3);
}

int bench_cpuset_text(char *buf, size_t size)
{
	cpu_set_t set;
	size_t len = 0;
	int cpu, n = 0;

	buf[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		snprintf(buf, size, "unknown (%s)", strerror(errno));
		return 0;
	}
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		int end = cpu;
		if (!CPU_ISSET(cpu, &set))
			continue;
		while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, &set))
			end++;
		if (len < size)
			len += (size_t)snprintf(buf + len, size - len, cpu == end ? "%s%d" : "%s%d-%d",
			                        n ? "," : "", cpu, end);
		n += end - cpu + 1;
		cpu = end;
	}
	return n;
}

/* The CPU to pin to: the last of the set, as CPU 0 usually takes more of
 * the machine's interrupts. */
static int pick_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (cpu = CPU_SETSIZE - 1; cpu > 0; cpu--)
		if (CPU_ISSET(cpu, &set))
			break;
	return cpu;
}

int bench_pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

int bench_pin_child(int pin, char *cpus, size_t cpus_size, char *err, size_t err_size)
{
	int pinned = 0;

	if (pin >= 0) {
		if (bench_pin_to(pin) == 0)
			pinned = 1;
		else
			snprintf(err, err_size, "sched_setaffinity(CPU %d) failed", pin);
	}
	bench_cpuset_text(cpus, cpus_size);
	return pinned;
}

/* ---- measuring children ---------------------------------------------------- */

/* Read exactly size bytes unless the writer goes away first; bytes read. */
static size_t read_all(int fd, void *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size) {
		n = read(fd, (char *)buf + got, size - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || errno != EINTR)
			break;
	}
	return got;
}

/*
 * What a child measures: fills @p out (a struct with `int ok` first and an
 * err text) in this process. Children are forked without exec, so the
 * struct travels back through a pipe as bytes.
 */
typedef void (*child_fn)(void *out, int pin, int runs, long n);

static void latency_child(void *out, int pin, int runs, long n)
{
	bench_latency(out, pin, runs, n);
}

static void tput_child(void *out, int pin, int runs, long n)
{
	bench_throughput(out, pin, runs, n);
}

static void async_child(void *out, int pin, int runs, long n)
{
	bench_async(out, pin, runs, n);
}

static void mapping_child(void *out, int pin, int runs, long n)
{
	bench_mapping(out, pin, runs, n);
}

static void resolve_child(void *out, int pin, int runs, long n)
{
	(void)pin;
	bench_resolve_time(out, runs, n);
}

/* Measure in a child; 0, or -1 if it broke (then *err says how). */
static int run_child(void *out, size_t size, child_fn fn, int pin, int runs, long n, char *err,
                     size_t errsize)
{
	size_t got = 0;
	ssize_t w;
	pid_t pid;
	int fd[2], status = 0;

	memset(out, 0, size);
	if (pipe(fd) != 0)
		return -1;
	fflush(NULL); /* the child must not inherit unwritten output */
	if ((pid = fork()) < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		close(fd[0]);
		fn(out, pin, runs, n);
		while (got < size && (w = write(fd[1], (char *)out + got, size - got)) > 0)
			got += (size_t)w;
		_exit(got == size ? 0 : 1);
	}
	close(fd[1]);
	got = read_all(fd[0], out, size);
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != size || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		memset(out, 0, size); /* ok = 0 */
		snprintf(err, errsize, "measuring child %s",
		         WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "failed");
		return -1;
	}
	return 0;
}

/* ---- callgrind counts ------------------------------------------------------ */

static const char *const cnt_mode[CNT_N] = {
	"direct", "inline", "throttle", "json-faas", "json-jansson", "event-small", "event-large",
	"resolve-small", "resolve-large", "async-accept", "gtp-push"
};

/* Length of an event as compact text, for the labels (0 if unknown). */
static size_t text_size(json_t *event)
{
	char *text = event ? json_dumps(event, JSON_COMPACT) : NULL;
	size_t n = text ? strlen(text) : 0;

	free(text);
	json_decref(event);
	return n;
}

/* Every count, each on its own: one that fails leaves the others. */
static void measure_counts(struct bench_counts *c)
{
	char self[PATH_MAX], dir[] = "/tmp/faas-bench-XXXXXX", err[512];
	ssize_t n;
	int k;

	memset(c, 0, sizeof(*c));
	c->sns_bytes = bench_sns_event_len();
	c->small_bytes = text_size(bench_small_event());
	c->big_bytes = text_size(bench_big_event());
	if (!bench_have_valgrind()) {
		snprintf(c->err, sizeof(c->err), "valgrind is not installed");
		return;
	}
	c->have = -1;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0) {
		snprintf(c->err, sizeof(c->err), "readlink /proc/self/exe: %s", strerror(errno));
		return;
	}
	self[n] = '\0';
	if (!mkdtemp(dir)) {
		snprintf(c->err, sizeof(c->err), "mkdtemp: %s", strerror(errno));
		return;
	}
	c->have = 1;
	for (k = 0; k < CNT_N; k++) {
		c->ok[k] = bench_count(self, dir, cnt_mode[k], &c->ir[k], err, sizeof(err)) == 0;
		if (!c->ok[k] && c->have > 0) {
			snprintf(c->err, sizeof(c->err), "%s", err);
			c->have = -1;
		}
	}
	rmdir(dir); /* kept, with the logs, when a run failed */
}

/* ---- main ---------------------------------------------------------------- */

static long arg_num(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "bench_dispatch: bad number '%s' (%ld..%ld)\n", s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct bench_mode pinned, unpinned;
	struct bench_tput tp_pinned, tp_unpinned;
	struct bench_async as_pinned, as_unpinned;
	struct bench_resolve res;
	struct bench_map map;
	struct bench_counts c;
	char cpus[128];
	int runs = BENCH_RUNS_DEFAULT, callgrind = 1, i, crashed = 0, ncpu, pin;
	long calls = BENCH_CALLS_DEFAULT, tasks = BENCH_TASKS_DEFAULT;

	if (argc == 4 && strcmp(argv[1], "--count") == 0)
		return bench_count_loop(argv[2], arg_num(argv[3], 1, 100000000)) == 0 ? 0 : 1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = (int)arg_num(argv[++i], 5, BENCH_RUNS_MAX);
		else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
			calls = arg_num(argv[++i], BENCH_WARMUP, 10000000);
		else if (strcmp(argv[i], "--tasks") == 0 && i + 1 < argc)
			tasks = arg_num(argv[++i], 1000, 10000000);
		else if (strcmp(argv[i], "--no-callgrind") == 0)
			callgrind = 0;
		else {
			fprintf(stderr, "usage: %s [--runs N] [--calls N] [--tasks N] [--no-callgrind]\n",
			        argv[0]);
			return 2;
		}
	}
	ncpu = bench_cpuset_text(cpus, sizeof(cpus));
	pin = pick_cpu();
	printf("libfaas %s dispatch bench: %ld online CPUs, CPU set obtained %s (%d CPU%s)\n",
	       faas_version(), sysconf(_SC_NPROCESSORS_ONLN), cpus, ncpu, ncpu == 1 ? "" : "s");
	printf("one caller, no-op handler (returns its event), %d runs x %ld calls per system;\n"
	       "each figure is the median of the runs, [min-max] their spread\n", runs, calls);
	crashed |= run_child(&pinned, sizeof(pinned), latency_child, pin, runs, calls, pinned.err,
	                     sizeof(pinned.err)) != 0 || !pinned.ok;
	bench_print_mode("pinned: the whole process on one CPU (counted)", &pinned);
	crashed |= run_child(&unpinned, sizeof(unpinned), latency_child, -1, runs, calls, unpinned.err,
	                     sizeof(unpinned.err)) != 0 || !unpinned.ok;
	bench_print_mode("unpinned (reported, not counted)", &unpinned);
	printf("  libuv rows are reported, never counted\n");

	printf("\nthroughput: no-op handler, %ld tasks per run and system split between the callers,\n"
	       "%d runs; cpu = process CPU time (all threads) per task, csw = context switches "
	       "per task\n", tasks, runs);
	crashed |= run_child(&tp_pinned, sizeof(tp_pinned), tput_child, pin, runs, tasks,
	                     tp_pinned.err, sizeof(tp_pinned.err)) != 0 || !tp_pinned.ok;
	bench_print_tput("pinned: one CPU (cpu counted, invokes/s reported)", &tp_pinned);
	crashed |= run_child(&tp_unpinned, sizeof(tp_unpinned), tput_child, -1, runs, tasks,
	                     tp_unpinned.err, sizeof(tp_unpinned.err)) != 0 || !tp_unpinned.ok;
	bench_print_tput("unpinned (reported, not counted)", &tp_unpinned);

	printf("\nasync: %ld events per run and system, no-op handler, 2 workers each, %d runs;\n"
	       "cpu = process CPU time (all threads) from the first queued to the last completed\n",
	       (long)BENCH_EVENTS_DEFAULT, runs);
	crashed |= run_child(&as_pinned, sizeof(as_pinned), async_child, pin, runs,
	                     BENCH_EVENTS_DEFAULT, as_pinned.err, sizeof(as_pinned.err)) != 0 ||
	           !as_pinned.ok;
	bench_print_async("pinned: one CPU (cpu counted, events/s reported)", &as_pinned);
	crashed |= run_child(&as_unpinned, sizeof(as_unpinned), async_child, -1, runs,
	                     BENCH_EVENTS_DEFAULT, as_unpinned.err, sizeof(as_unpinned.err)) != 0 ||
	           !as_unpinned.ok;
	bench_print_async("unpinned (reported, not counted)", &as_unpinned);

	printf("\nmappings: %ld records per run and batch size through the built-in queue, a mapping\n"
	       "and a no-op handler (inline runtime, virtual clock), %d runs; cpu = CPU time per\n"
	       "record from the first send to the last delete (reported, not counted)\n",
	       BENCH_MAP_RECORDS_DEFAULT, runs);
	crashed |= run_child(&map, sizeof(map), mapping_child, pin, runs, BENCH_MAP_RECORDS_DEFAULT,
	                     map.err, sizeof(map.err)) != 0 || !map.ok;
	bench_print_mapping("pinned: one CPU", &map);

	crashed |= run_child(&res, sizeof(res), resolve_child, -1, runs, BENCH_LOOKUPS_DEFAULT, res.err,
	                     sizeof(res.err)) != 0 || !res.ok;
	bench_print_resolve(&res);

	memset(&c, 0, sizeof(c));
	if (callgrind) {
		measure_counts(&c);
	} else {
		c.sns_bytes = bench_sns_event_len();
		snprintf(c.err, sizeof(c.err), "--no-callgrind");
	}
	bench_print_counts(&c);
	crashed |= c.have < 0;
	bench_print_targets(&pinned, &tp_pinned, &as_pinned, &c);
	return crashed ? 1 : 0;
}
