/*
 * libfaas bench — instructions per call, counted by callgrind.
 *
 * Difference method: the same loop runs under callgrind with N1 and then
 * N2 iterations; (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one
 * iteration, with start-up, runtime creation, the cold start and exit
 * cancelling out. Instruction counts do not depend on the machine's load,
 * which is why they count toward the targets (DESIGN §9.15).
 *
 * Modes whose set-up dwarfs what is measured (100 000 registrations, a
 * 6 MB event) also collect only inside bench_measured (--toggle-collect):
 * a set-up that varies by a few instructions from run to run would
 * otherwise leak into the difference.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define COUNT_WARMUP 100L

/* ---- the loops (run under callgrind) ------------------------------------ */

static int loop_direct(json_t *event, long n)
{
	json_t *response;
	faas_handler_fn h;
	long i;

	for (i = 0; i < n; i++) {
		h = bench_handler;
		response = NULL;
		h(NULL, event, &response, NULL);
		json_decref(response);
	}
	return 0;
}

/* Invoke n times, expecting @p want; the result is cleared each time, as
 * the API asks of a caller reusing it. */
static int loop_invoke(faas_runtime_t *rt, json_t *event, long n, int want)
{
	faas_result_t r = FAAS_RESULT_INIT;
	long i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = faas_invoke(rt, "noop", event, NULL, &r);
		faas_result_clear(&r);
		if (rc != want) {
			fprintf(stderr, "bench: faas_invoke answered %d, expected %d\n", rc, want);
			return -1;
		}
	}
	return 0;
}

/* A runtime with the no-op function; reserved concurrency 0 when @p throttle. */
static faas_runtime_t *count_runtime(int inline_mode, int throttle)
{
	faas_runtime_options_t opts = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_runtime_t *rt;

	opts.inline_mode = inline_mode;
	opts.seed = 1;
	cfg.handler = bench_noop;
	if (faas_runtime_new(&rt, &opts, NULL) != 0)
		return NULL;
	if (faas_function_create(rt, "noop", &cfg, NULL) != 0 ||
	    (throttle && faas_function_set_reserved_concurrency(rt, "noop", 0, NULL) != 0)) {
		faas_runtime_free(rt);
		return NULL;
	}
	return rt;
}

/* The dispatch loops: "direct", "inline", "throttle". */
static int count_dispatch(const char *mode, long n)
{
	json_t *event = bench_small_event();
	faas_runtime_t *rt = NULL;
	int rc = -1, want = 0;

	if (!event)
		return -1;
	if (strcmp(mode, "direct") == 0) {
		rc = loop_direct(event, n);
	} else if (strcmp(mode, "inline") == 0 || strcmp(mode, "throttle") == 0) {
		/* The throttled function sits on a pooled runtime: the default
		 * configuration; admission fails before any worker is asked. */
		int throttle = mode[0] == 't';
		want = throttle ? FAAS_ETHROTTLED : 0;
		if ((rt = count_runtime(!throttle, throttle)) != NULL &&
		    loop_invoke(rt, event, COUNT_WARMUP, want) == 0)
			rc = loop_invoke(rt, event, n, want);
		faas_runtime_free(rt);
	}
	json_decref(event);
	return rc;
}

int bench_measured(int (*step)(void *arg, long i), void *arg, long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (step(arg, i) != 0)
			return -1;
	return 0;
}

/* What --toggle-collect names: bench_measured and any clone the compiler
 * makes of it (bench_measured.constprop.0 ...). Its callers are in other
 * files and the bench is built without LTO, so it is never inlined away. */
#define MEASURED_PATTERN "bench_measured*"

/* Every count mode: its loop, its two iteration counts, and whether only
 * bench_measured is collected. A JSON text loop costs ~150 times a no-op
 * invoke and repeats to the instruction (jansson seeded, one thread), so
 * 200 iterations measure it as well as 10 000 would, in a fiftieth of the
 * time. */
static const struct count_mode {
	const char *name;
	int (*loop)(const char *mode, long n);
	long n1, n2;
	int toggle;
} modes[] = {
	{ "direct", count_dispatch, 1000, 11000, 0 },
	{ "inline", count_dispatch, 1000, 11000, 0 },
	{ "throttle", count_dispatch, 1000, 11000, 0 },
	{ "json-faas", bench_payload_loop, 20, 220, 1 },
	{ "json-jansson", bench_payload_loop, 20, 220, 1 },
	{ "event-small", bench_payload_loop, 1000, 11000, 1 },
	{ "event-large", bench_payload_loop, 1000, 11000, 1 },
	{ "resolve-small", bench_resolve_loop, 1000, 11000, 1 },
	{ "resolve-large", bench_resolve_loop, 1000, 11000, 1 },
	{ "async-accept", bench_async_loop, 1000, 11000, 1 },
	{ "gtp-push", bench_async_loop, 1000, 11000, 1 },
};

static const struct count_mode *mode_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(modes[i].name, name) == 0)
			return &modes[i];
	return NULL;
}

int bench_count_loop(const char *mode, long n)
{
	const struct count_mode *m = mode_of(mode);

	/* Before the first object: jansson's default seed comes from
	 * /dev/urandom, and hashing costs would differ between the runs. */
	json_object_seed(1);
	if (!m) {
		fprintf(stderr, "bench: unknown count mode '%s'\n", mode);
		return -1;
	}
	return m->loop(mode, n);
}

/* ---- running callgrind ---------------------------------------------------- */

int bench_have_valgrind(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	while (path && *path) {
		size_t len = strcspn(path, ":");
		if (len > 0 && len < sizeof(buf) - 10) {
			snprintf(buf, sizeof(buf), "%.*s/valgrind", (int)len, path);
			if (access(buf, X_OK) == 0)
				return 1;
		}
		path += len + (path[len] == ':');
	}
	return 0;
}

/* Total Ir of a callgrind output file: its `totals:` (or older `summary:`) line. */
static int read_total(const char *file, unsigned long long *ir)
{
	char line[4096];
	FILE *f = fopen(file, "r");
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "totals:", 7) == 0)
			found = sscanf(line + 7, "%llu", ir) == 1;
		else if (strncmp(line, "summary:", 8) == 0)
			found = sscanf(line + 8, "%llu", ir) == 1;
	}
	fclose(f);
	return found ? 0 : -1;
}

static void exec_callgrind(const char *self, const char *out, const char *log,
                           const struct count_mode *m, long n)
{
	char outopt[4200], logopt[4200], nbuf[32];
	char *argv[12];
	int fd = open("/dev/null", O_WRONLY), i = 0;

	if (fd >= 0) { /* the loop prints nothing worth seeing; valgrind logs to a file */
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	snprintf(outopt, sizeof(outopt), "--callgrind-out-file=%s", out);
	snprintf(logopt, sizeof(logopt), "--log-file=%s", log);
	snprintf(nbuf, sizeof(nbuf), "%ld", n);
	argv[i++] = (char *)"valgrind";
	argv[i++] = (char *)"--tool=callgrind";
	if (m->toggle) { /* collection off until bench_measured is entered */
		argv[i++] = (char *)"--collect-atstart=no";
		argv[i++] = (char *)"--toggle-collect=" MEASURED_PATTERN;
	}
	argv[i++] = outopt;
	argv[i++] = logopt;
	argv[i++] = (char *)self;
	argv[i++] = (char *)"--count";
	argv[i++] = (char *)m->name;
	argv[i++] = nbuf;
	argv[i] = NULL;
	execvp("valgrind", argv);
	_exit(127);
}

/* Total Ir of one run of the @p m loop with @p n iterations. */
static int callgrind_total(const char *self, const char *dir, const struct count_mode *m, long n,
                           unsigned long long *ir, char *err, size_t errsize)
{
	char out[4096], log[4096];
	pid_t pid;
	int status;

	snprintf(out, sizeof(out), "%s/callgrind.%s.%ld", dir, m->name, n);
	snprintf(log, sizeof(log), "%s/valgrind.%s.%ld.log", dir, m->name, n);
	fflush(NULL); /* the child must not inherit unwritten output */
	if ((pid = fork()) < 0) {
		snprintf(err, errsize, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		exec_callgrind(self, out, log, m, n);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errsize, "callgrind run '%s %ld' failed (see %s)", m->name, n, log);
		return -1;
	}
	if (read_total(out, ir) != 0) {
		snprintf(err, errsize, "no total in %s", out);
		return -1;
	}
	unlink(out);
	unlink(log);
	return 0;
}

int bench_count(const char *self, const char *dir, const char *mode, double *per_call, char *err,
                size_t errsize)
{
	const struct count_mode *m = mode_of(mode);
	unsigned long long a, b;

	if (!m) {
		snprintf(err, errsize, "unknown count mode '%s'", mode);
		return -1;
	}
	if (callgrind_total(self, dir, m, m->n1, &a, err, errsize) != 0 ||
	    callgrind_total(self, dir, m, m->n2, &b, err, errsize) != 0)
		return -1;
	*per_call = ((double)b - (double)a) / (double)(m->n2 - m->n1);
	return 0;
}
