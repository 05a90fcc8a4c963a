/*
 * libfaas bench — Invoke over HTTP (libfaas-http, loopback, keep-alive,
 * signatures off) with wrk, against the same no-op function invoked in
 * process (faas_invoke_json, one caller thread) in the same run: requests/s,
 * latency, and the HTTP overhead per invoke. Reported; the issue sets no
 * target.
 *
 * Usage: bench_http [seconds]   (needs wrk on PATH)
 */
#include <faas.h>
#include <faas/http.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int noop(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)ud;
	*response = NULL;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 3;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_http_options_t ho = FAAS_HTTP_OPTIONS_INIT;
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	faas_http_server_t *srv;
	const char body[] = "{\"order\":42,\"items\":[1,2,3]}";
	char script[] = "/tmp/faas-bench-http-XXXXXX", cmd[512], line[256];
	double t0, inproc, rps = 0, lat_avg = 0;
	char lat_unit[8] = "";
	long n = 0;
	FILE *f;
	int fd;

	if (faas_runtime_new(&rt, NULL, &d) != 0)
		return 1;
	fc.handler = noop;
	faas_function_create(rt, "noop", &fc, &d);
	ho.no_auth = 1;
	if (faas_http_server_start(rt, &ho, &srv, &d) != 0) {
		fprintf(stderr, "bench_http: %s\n", d.message);
		return 1;
	}
	io.response_text = 1; /* as the server asks for it */
	t0 = now_s();
	while (now_s() - t0 < seconds) {
		for (int i = 0; i < 1000; i++) {
			faas_result_t res = FAAS_RESULT_INIT;
			faas_invoke_json(rt, "noop", body, sizeof(body) - 1, &io, &res);
			faas_result_clear(&res);
		}
		n += 1000;
	}
	inproc = (double)n / (now_s() - t0);
	if ((fd = mkstemp(script)) < 0)
		return 1;
	dprintf(fd, "wrk.method = \"POST\"\nwrk.body = '%s'\nwrk.headers[\"Content-Type\"] = "
	            "\"application/json\"\n", body);
	close(fd);
	snprintf(cmd, sizeof(cmd),
	         "wrk -t2 -c8 -d%ds -s %s http://127.0.0.1:%u/2015-03-31/functions/noop/invocations "
	         "2>&1", seconds, script, (unsigned)faas_http_server_port(srv));
	if (!(f = popen(cmd, "r"))) {
		unlink(script);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		double v;
		char unit[8];
		if (sscanf(line, " Requests/sec: %lf", &v) == 1)
			rps = v;
		if (sscanf(line, " Latency %lf%7s", &v, unit) == 2) {
			lat_avg = v;
			snprintf(lat_unit, sizeof(lat_unit), "%s", unit);
		}
	}
	pclose(f);
	unlink(script);
	printf("== HTTP edge (libfaas-http): Invoke over loopback with wrk (2 threads, 8 keep-alive "
	       "connections), no-op function\n");
	if (rps <= 0) {
		printf("   wrk did not run (apt-get install wrk): not measured\n");
	} else {
		printf("   HTTP %9.0f invokes/s, mean latency %.2f%s; in process (1 thread) %9.0f "
		       "invokes/s\n", rps, lat_avg, lat_unit, inproc);
		printf("   HTTP overhead: about %.1f us per invoke over the in-process call (reported)\n",
		       1e6 / rps - 1e6 / inproc);
	}
	faas_http_server_stop(srv);
	faas_runtime_free(rt);
	return 0;
}
