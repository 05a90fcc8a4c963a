/*
 * faas — the libfaas command: invoke a function of a manifest, feed a
 * manifest's functions and queues with events and summarise, validate a
 * manifest, print sample events. `faas help` has the reference.
 *
 * Exit status: 0 success; 1 the function failed (invoke) or some events
 * did (run); 2 a usage, manifest or API error (one line on stderr).
 */
#include <faas.h>
#include <faas/testing.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help_text[] =
        "usage: faas COMMAND [ARGS]\n"
        "\n"
        "  faas invoke MANIFEST FUNCTION[:QUALIFIER] [--event FILE|-] [--type TYPE]\n"
        "              [--log-type Tail] [--client-context FILE]\n"
        "      Invoke once. The response goes to stdout; StatusCode, ExecutedVersion,\n"
        "      FunctionError and LogResult (base64, with --log-type Tail) go to stderr as\n"
        "      JSON, like `aws lambda invoke`. TYPE: RequestResponse (default), Event,\n"
        "      DryRun. Exit 0, 1 when the function failed, 2 on an API error.\n"
        "\n"
        "  faas run MANIFEST [--events FILE.ndjson|-] [--concurrency N]\n"
        "           [--metrics json|prometheus]\n"
        "      Feed events, one JSON object per line: {\"function\":\"f:live\",\"event\":{...},\n"
        "      \"type\":\"Event\"} or {\"queue\":\"q\",\"body\":\"text\"}; N threads send them\n"
        "      (default 1). Then drain and print a summary per function version:\n"
        "      invocations, errors, throttles, cold starts, p50 and p99 duration, and what\n"
        "      the manifest's queues hold; with --metrics the runtime's metrics too, as\n"
        "      JSON or Prometheus text. Exit 1 if any event failed.\n"
        "\n"
        "  faas validate MANIFEST\n"
        "      Load the manifest into a scratch runtime: 'ok' and what it holds, or the\n"
        "      error with the JSON path of the bad field.\n"
        "\n"
        "  faas serve MANIFEST [--listen HOST:PORT] [--no-auth]\n"
        "      Serve the manifest's functions with Lambda's HTTP API (default\n"
        "      127.0.0.1:9001) for `aws --endpoint-url` and the AWS SDKs. Requests must be\n"
        "      signed (SigV4) with $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY unless\n"
        "      --no-auth. Needs faas-serve (built with libfaas-http).\n"
        "\n"
        "  faas generate-event sqs|sns|s3|apigateway|kinesis|eventbridge\n"
        "      Print a sample event of Lambda's documented shape.\n"
        "\n"
        "  faas --version | help\n";

static int die(const char *fmt, ...) FAAS_PRINTF(1, 2);

static int die(const char *fmt, ...)
{
	va_list ap;

	fputs("faas: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 4096, n = 0, k;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap + 1);
	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			char *b = realloc(buf, cap * 2 + 1);
			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	if (buf && ferror(f)) { /* a directory, an I/O error: not an empty event */
		int e = errno ? errno : EIO;
		free(buf);
		buf = NULL;
		errno = e;
	}
	if (f != stdin)
		fclose(f);
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static int runtime_with(const char *manifest, faas_runtime_t **rt, int inline_mode,
                        json_t **made)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_error_detail_t d;
	json_t *report = NULL, *m;

	if ((m = json_load_file(manifest, 0, NULL)) != NULL) { /* not JSON: manifest_load says so */
		int rc = faas_manifest_runtime_options(m, &o, &d);
		json_decref(m);
		if (rc != 0)
			return die("%s", d.message);
	}
	o.inline_mode = inline_mode;
	if (faas_runtime_new(rt, &o, &d) != 0)
		return die("runtime: %s", d.message);
	if (faas_manifest_load(*rt, manifest, &report, &d) != 0) {
		faas_runtime_free(*rt);
		return die("%s", d.message);
	}
	if (made)
		*made = report;
	else
		json_decref(report);
	return 0;
}

/* ---- invoke ------------------------------------------------------------------------------- */

static int cmd_invoke(int argc, char **argv)
{
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	const char *event_file = NULL, *cc_file = NULL;
	char *event = NULL, *text;
	faas_result_t r = FAAS_RESULT_INIT;
	faas_runtime_t *rt;
	json_t *meta, *cc = NULL;
	size_t len = 0;
	int i, rc;

	if (argc < 2)
		return die("invoke: MANIFEST and FUNCTION are required (faas help)");
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return die("invoke: %s needs a value", a);
		if (!strcmp(a, "--event"))
			event_file = v;
		else if (!strcmp(a, "--client-context"))
			cc_file = v;
		else if (!strcmp(a, "--type"))
			io.type = !strcmp(v, "Event")             ? FAAS_INVOKE_EVENT
			          : !strcmp(v, "DryRun")          ? FAAS_INVOKE_DRY_RUN
			          : !strcmp(v, "RequestResponse") ? FAAS_INVOKE_REQUEST_RESPONSE
			                                          : (faas_invocation_type_t)-1;
		else if (!strcmp(a, "--log-type") && !strcmp(v, "Tail"))
			io.log_type = FAAS_LOG_TAIL;
		else
			return die("invoke: unknown option %s %s (faas help)", a, v);
		i++;
	}
	if ((int)io.type < 0)
		return die("invoke: --type is RequestResponse, Event or DryRun");
	if (event_file && !(event = read_all(event_file, &len)))
		return die("invoke: cannot read %s: %s", event_file, strerror(errno));
	if (cc_file) {
		json_error_t e;
		if (!(cc = json_load_file(cc_file, 0, &e)) || !json_is_object(cc)) {
			free(event);
			json_decref(cc); /* JSON, but not an object */
			return die("invoke: %s: the client context must be a JSON object", cc_file);
		}
		io.client_context = cc;
	}
	if ((rc = runtime_with(argv[0], &rt, 1, NULL)) != 0) {
		free(event);
		json_decref(cc);
		return rc;
	}
	rc = faas_invoke_json(rt, argv[1], event ? event : "", len, &io, &r);
	if (rc == 0 && r.payload) {
		text = faas_json_dumps(r.payload, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("%s\n", text ? text : "null");
		free(text);
	}
	meta = json_pack("{s:i}", "StatusCode", r.status_code);
	if (r.executed_version[0])
		json_object_set_new(meta, "ExecutedVersion", json_string(r.executed_version));
	if (r.function_error)
		json_object_set_new(meta, "FunctionError", json_string("Unhandled"));
	if (r.log_tail_base64)
		json_object_set_new(meta, "LogResult", json_string(r.log_tail_base64));
	if (rc != 0)
		json_object_set_new(meta, "Error", json_pack("{s:s,s:s}", "Type", r.error_type ? r.error_type : "",
		                                            "Message", r.message));
	text = json_dumps(meta, JSON_COMPACT);
	fprintf(stderr, "%s\n", text);
	free(text);
	json_decref(meta);
	rc = rc != 0 ? 2 : r.function_error ? 1 : 0;
	faas_result_clear(&r);
	faas_runtime_free(rt);
	json_decref(cc);
	free(event);
	return rc;
}

/* ---- run ------------------------------------------------------------------------------------- */

struct feed {
	faas_runtime_t *rt;
	char **lines;
	size_t n;
	_Atomic size_t next, done, failed;
};

static int feed_one(faas_runtime_t *rt, const char *line)
{
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	json_t *o = json_loads(line, 0, NULL);
	const char *fn = json_string_value(json_object_get(o, "function"));
	const char *q = json_string_value(json_object_get(o, "queue"));
	const char *type = json_string_value(json_object_get(o, "type"));
	int rc = 2;

	if (fn) {
		io.type = type && !strcmp(type, "Event") ? FAAS_INVOKE_EVENT : FAAS_INVOKE_REQUEST_RESPONSE;
		rc = faas_invoke(rt, fn, json_object_get(o, "event"), &io, &r);
		rc = rc != 0 ? 2 : r.function_error ? 1 : 0;
		faas_result_clear(&r);
	} else if (q && json_is_string(json_object_get(o, "body"))) {
		const char *body = json_string_value(json_object_get(o, "body"));
		rc = faas_queue_send(faas_queue_find(rt, q), body, strlen(body), NULL, NULL, NULL) ? 2 : 0;
	}
	json_decref(o);
	return rc;
}

static void *feeder(void *arg)
{
	struct feed *f = arg;
	size_t i;

	while ((i = atomic_fetch_add(&f->next, 1)) < f->n) {
		if (feed_one(f->rt, f->lines[i]) != 0)
			atomic_fetch_add(&f->failed, 1);
		atomic_fetch_add(&f->done, 1);
	}
	return NULL;
}

static size_t split_lines(char *text, char ***out)
{
	size_t n = 0, cap = 64;
	char **lines = malloc(cap * sizeof(*lines)), *save = NULL, *l;

	for (l = strtok_r(text, "\n", &save); l && lines; l = strtok_r(NULL, "\n", &save)) {
		while (*l == ' ' || *l == '\t' || *l == '\r')
			l++;
		if (!*l || *l == '#')
			continue;
		if (n == cap)
			lines = realloc(lines, (cap *= 2) * sizeof(*lines));
		if (lines)
			lines[n++] = l;
	}
	*out = lines;
	return lines ? n : 0;
}

/* Each queue the manifest made: what is left in it. */
static void print_queues(faas_runtime_t *rt, json_t *made)
{
	json_t *q;
	size_t i;

	if (!json_array_size(json_object_get(made, "queues")))
		return;
	printf("\n%-28s %9s %9s\n", "queue", "visible", "in flight");
	json_array_foreach(json_object_get(made, "queues"), i, q) {
		const char *arn = json_string_value(q), *name = strrchr(arn, ':');
		uint64_t v = 0, f = 0;
		faas_queue_counts(faas_queue_find(rt, name ? name + 1 : arn), &v, &f);
		printf("%-28s %9llu %9llu\n", name ? name + 1 : arn, (unsigned long long)v,
		       (unsigned long long)f);
	}
}

static void print_summary(faas_runtime_t *rt, int metrics_json)
{
	json_t *m = NULL, *fns, *f, *vs, *v;
	size_t i, k;

	if (faas_metrics_json(rt, &m, NULL) != 0)
		return;
	printf("%-28s %-9s %11s %7s %9s %11s %10s %10s\n", "function", "version", "invocations",
	       "errors", "throttles", "cold starts", "p50 ms", "p99 ms");
	fns = json_object_get(m, "Functions");
	json_array_foreach(fns, i, f) {
		vs = json_object_get(f, "Versions");
		json_array_foreach(vs, k, v) {
			json_t *dur = json_object_get(v, "Duration");
			printf("%-28s %-9s %11lld %7lld %9lld %11lld %10.3f %10.3f\n",
			       json_string_value(json_object_get(f, "FunctionName")),
			       json_string_value(json_object_get(v, "ExecutedVersion")),
			       (long long)json_integer_value(json_object_get(v, "Invocations")),
			       (long long)json_integer_value(json_object_get(v, "Errors")),
			       (long long)json_integer_value(json_object_get(v, "Throttles")),
			       (long long)json_integer_value(json_object_get(v, "ColdStarts")),
			       json_number_value(json_object_get(dur, "P50")),
			       json_number_value(json_object_get(dur, "P99")));
		}
	}
	if (metrics_json == 1) {
		char *text = faas_json_dumps(m, JSON_INDENT(2));
		printf("%s\n", text ? text : "{}");
		free(text);
	} else if (metrics_json == 2) {
		char *text = NULL;
		if (faas_metrics_prometheus(rt, &text, NULL) == 0)
			fputs(text, stdout);
		free(text);
	}
	json_decref(m);
}

static int cmd_run(int argc, char **argv)
{
	const char *events = NULL;
	int threads = 1, metrics_json = 0, i, rc, tty = isatty(2);
	struct feed f;
	pthread_t tid[64];
	json_t *made = NULL;
	char *text = NULL;
	size_t len;

	if (argc < 1)
		return die("run: MANIFEST is required (faas help)");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return die("run: %s needs a value", a);
		if (!strcmp(a, "--events"))
			events = v;
		else if (!strcmp(a, "--concurrency") && (threads = atoi(v)) >= 1 && threads <= 64)
			;
		else if (!strcmp(a, "--metrics") && !strcmp(v, "json"))
			metrics_json = 1;
		else if (!strcmp(a, "--metrics") && !strcmp(v, "prometheus"))
			metrics_json = 2;
		else
			return die("run: bad option %s %s (faas help)", a, v);
		i++;
	}
	memset(&f, 0, sizeof(f));
	if (events && !(text = read_all(events, &len)))
		return die("run: cannot read %s: %s", events, strerror(errno));
	f.n = text ? split_lines(text, &f.lines) : 0;
	if ((rc = runtime_with(argv[0], &f.rt, 0, &made)) != 0) {
		free(f.lines);
		free(text);
		return rc;
	}
	for (i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, feeder, &f);
	while (tty && atomic_load(&f.done) < f.n) { /* a progress line on a terminal */
		fprintf(stderr, "\r%zu/%zu events", atomic_load(&f.done), f.n);
		usleep(100000);
	}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	if (tty)
		fprintf(stderr, "\r%zu/%zu events\n", f.n, f.n);
	faas_runtime_shutdown(f.rt, 10000); /* queued events and triggers finish first */
	printf("%zu events, %zu failed\n", f.n, atomic_load(&f.failed));
	print_summary(f.rt, metrics_json);
	print_queues(f.rt, made);
	json_decref(made);
	rc = atomic_load(&f.failed) ? 1 : 0;
	faas_runtime_free(f.rt);
	free(f.lines);
	free(text);
	return rc;
}

/* ---- validate, generate-event ------------------------------------------------------------------ */

static int cmd_validate(int argc, char **argv)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	json_t *report;
	int rc;

	if (argc != 1)
		return die("validate: MANIFEST is required (faas help)");
	o.inline_mode = 1;
	o.clock = FAAS_CLOCK_VIRTUAL;
	if (faas_runtime_new(&rt, &o, &d) != 0)
		return die("runtime: %s", d.message);
	if ((rc = faas_manifest_load(rt, argv[0], &report, &d)) != 0) {
		faas_runtime_free(rt);
		return die("%s", d.message);
	}
	printf("ok: %zu functions, %zu queues, %zu streams, %zu mappings\n",
	       json_array_size(json_object_get(report, "functions")),
	       json_array_size(json_object_get(report, "queues")),
	       json_array_size(json_object_get(report, "streams")),
	       json_array_size(json_object_get(report, "mappings")));
	json_decref(report);
	faas_runtime_free(rt);
	return 0;
}

static int cmd_generate(int argc, char **argv)
{
	json_t *e;
	char *text;

	if (argc != 1)
		return die("generate-event: one of sqs, sns, s3, apigateway, kinesis, eventbridge");
	if (!(e = faas_test_sample_event(argv[0])))
		return die("generate-event: no sample for %s (sqs, sns, s3, apigateway, kinesis, "
		           "eventbridge)",
		           argv[0]);
	text = json_dumps(e, JSON_INDENT(2));
	printf("%s\n", text);
	free(text);
	json_decref(e);
	return 0;
}

/* serve: faas-serve, next to this program (or on PATH), needs libfaas-http. */
static int cmd_serve(char **argv)
{
	char self[4096], path[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *slash;
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/faas-serve", self);
			argv[1] = path;
			execv(path, argv + 1);
		}
	}
	argv[1] = (char *)"faas-serve";
	execvp("faas-serve", argv + 1);
	return die("serve needs faas-serve (libfaas-http: build with libmicrohttpd and OpenSSL)");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "help";

	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(help_text, stdout);
		return argc > 1 ? 0 : 2;
	}
	if (!strcmp(cmd, "--version")) {
		printf("faas %s\n", faas_version());
		return 0;
	}
	if (!strcmp(cmd, "invoke"))
		return cmd_invoke(argc - 2, argv + 2);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 2, argv + 2);
	if (!strcmp(cmd, "validate"))
		return cmd_validate(argc - 2, argv + 2);
	if (!strcmp(cmd, "generate-event"))
		return cmd_generate(argc - 2, argv + 2);
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argv);
	return die("unknown command %s (faas help)", cmd);
}
