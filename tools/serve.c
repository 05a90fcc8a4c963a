/*
 * faas-serve — `faas serve MANIFEST [--listen HOST:PORT] [--no-auth]`:
 * the functions of a manifest behind Lambda's HTTP API (libfaas-http), for
 * the aws command line and the AWS SDKs (--endpoint-url). Credentials come
 * from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; --no-auth turns checking
 * off (local use) and says so. Prints "listening on HOST:PORT" once ready
 * (--listen ...:0 picks a free port); SIGINT or SIGTERM stops it.
 */
#include <faas.h>
#include <faas/http.h>

#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void log_line(const char *line, void *ud)
{
	(void)ud;
	fprintf(stderr, "%s\n", line);
}

int main(int argc, char **argv)
{
	faas_http_options_t ho = FAAS_HTTP_OPTIONS_INIT;
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	faas_http_server_t *srv;
	const char *manifest = NULL;
	char host[64] = "127.0.0.1";
	json_t *report = NULL;
	int i;

	ho.port = 9001;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			const char *colon = strrchr(argv[++i], ':');
			if (!colon || colon == argv[i] || (size_t)(colon - argv[i]) >= sizeof(host)) {
				fprintf(stderr, "faas serve: --listen wants HOST:PORT\n");
				return 2;
			}
			char *end;
			unsigned long port;
			snprintf(host, sizeof(host), "%.*s", (int)(colon - argv[i]), argv[i]);
			errno = 0;
			port = strtoul(colon + 1, &end, 10);
			if (!colon[1] || *end || errno || port > 65535) {
				fprintf(stderr, "faas serve: --listen: the port must be 0 to 65535\n");
				return 2;
			}
			ho.port = (uint16_t)port;
		} else if (!strcmp(argv[i], "--no-auth")) {
			ho.no_auth = 1;
		} else if (!manifest && argv[i][0] != '-') {
			manifest = argv[i];
		} else {
			fprintf(stderr, "usage: faas serve MANIFEST [--listen HOST:PORT] [--no-auth]\n");
			return 2;
		}
	}
	if (!manifest) {
		fprintf(stderr, "usage: faas serve MANIFEST [--listen HOST:PORT] [--no-auth]\n");
		return 2;
	}
	{ /* the manifest's "runtime" section, as the faas command reads it */
		json_t *m = json_load_file(manifest, 0, NULL);
		int rc = m ? faas_manifest_runtime_options(m, &ro, &d) : 0;
		json_decref(m);
		if (rc != 0) {
			fprintf(stderr, "faas serve: %s\n", d.message);
			return 1;
		}
	}
	if (faas_runtime_new(&rt, &ro, &d) != 0) {
		fprintf(stderr, "faas serve: runtime: %s\n", d.message);
		return 1;
	}
	if (faas_manifest_load(rt, manifest, &report, &d) != 0) {
		fprintf(stderr, "faas serve: %s\n", d.message);
		faas_runtime_free(rt);
		return 1;
	}
	json_decref(report);
	ho.listen_host = host;
	ho.log = log_line;
	if (faas_http_server_start(rt, &ho, &srv, &d) != 0) {
		fprintf(stderr, "faas serve: %s\n", d.message);
		faas_runtime_free(rt);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("listening on %s:%u\n", host, (unsigned)faas_http_server_port(srv));
	fflush(stdout);
	while (!stop)
		pause();
	faas_http_server_stop(srv);
	faas_runtime_shutdown(rt, 2000);
	faas_runtime_free(rt);
	return 0;
}
