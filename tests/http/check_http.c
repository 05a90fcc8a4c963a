/*
 * libfaas-http: Signature Version 4 against AWS's published example (the
 * IAM ListUsers request of the SigV4 documentation), the verifier's
 * refusals, and the server's own limits over a raw socket (413 before the
 * body is read, malformed HTTP, start-up errors). The real clients (boto3,
 * the aws command line) are in tests/http/clients.sh.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "faas.h"
#include "faas/http.h"
#include "sigv4.h"

static const char *const iam_names[] = { "Content-Type", "Host", "X-Amz-Date", "Authorization" };
static const char *iam_values[] = {
	"application/x-www-form-urlencoded; charset=utf-8", "iam.amazonaws.com", "20150830T123600Z",
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
	"SignedHeaders=content-type;host;x-amz-date, "
	"Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
};
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

START_TEST(sigv4_published_vector)
{
	struct sv4_request r = { "GET", "/", "Version=2010-05-08&Action=ListUsers", 3, iam_names,
		                 iam_values, "", 0 };
	char hash[65], body[65], sig[65], *canon;
	unsigned char key[32];
	char keyhex[65];

	sv4_sha256_hex("", 0, body);
	ck_assert_str_eq(body, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	canon = sv4_canonical_request(&r, "content-type;host;x-amz-date", body);
	ck_assert_str_eq(canon, "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
	                        "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
	                        "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	                        "content-type;host;x-amz-date\n"
	                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sv4_sha256_hex(canon, strlen(canon), hash);
	free(canon);
	ck_assert_str_eq(hash, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
	sv4_signing_key(SECRET, "20150830", "us-east-1", "iam", key);
	for (int i = 0; i < 32; i++)
		sprintf(keyhex + 2 * i, "%02x", key[i]);
	ck_assert_str_eq(keyhex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
	sv4_hmac_hex(key, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
	                  "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59", sig);
	ck_assert_str_eq(sig, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}
END_TEST

/* The verifier on the same request scoped to lambda: a signature made
 * here, then every way of getting it wrong. */
START_TEST(sigv4_verify_refusals)
{
	const char *names[] = { "Host", "X-Amz-Date", "Authorization" };
	const char *values[3] = { "127.0.0.1:9001", "20150830T123600Z", NULL };
	struct sv4_request r = { "POST", "/2015-03-31/functions/f%3A1/invocations", "", 3, names,
		                 values, "{}", 2 };
	struct sv4_refusal why;
	char auth[512], body[65], hash[65], sig[65], sts[512], *canon;
	unsigned char key[32];
	time_t t = 1440938160; /* 2015-08-30T12:36:00Z */

	sv4_sha256_hex("{}", 2, body);
	canon = sv4_canonical_request(&r, "host;x-amz-date", body);
	ck_assert_ptr_nonnull(strstr(canon, "/2015-03-31/functions/f%253A1/invocations\n"));
	sv4_sha256_hex(canon, strlen(canon), hash);
	free(canon);
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/lambda/"
	                           "aws4_request\n%s", hash);
	sv4_signing_key(SECRET, "20150830", "us-east-1", "lambda", key);
	sv4_hmac_hex(key, sts, sig);
	snprintf(auth, sizeof(auth), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
	                             "lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=%s",
	         sig);
	values[2] = auth;
	ck_assert_int_eq(sv4_verify(&r, "AKIDEXAMPLE", SECRET, "us-east-1", t + 10, 300, &why), 0);
	ck_assert_int_eq(sv4_verify(&r, "AKIDEXAMPLE", "wrong", "us-east-1", t, 300, &why), -1);
	ck_assert_str_eq(why.type, "InvalidSignatureException");
	ck_assert_int_eq(sv4_verify(&r, "AKIDOTHER", SECRET, "us-east-1", t, 300, &why), -1);
	ck_assert_str_eq(why.type, "UnrecognizedClientException");
	ck_assert_int_eq(sv4_verify(&r, "AKIDEXAMPLE", SECRET, "us-east-1", t + 301, 300, &why), -1);
	ck_assert_str_eq(why.type, "InvalidSignatureException");
	ck_assert_ptr_nonnull(strstr(why.message, "expired"));
	ck_assert_int_eq(sv4_verify(&r, "AKIDEXAMPLE", SECRET, "eu-west-1", t, 300, &why), -1);
	ck_assert_ptr_nonnull(strstr(why.message, "region"));
	/* a signed header that merely contains "host" is not Host */
	snprintf(auth, sizeof(auth), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
	                             "lambda/aws4_request, SignedHeaders=x-host;x-amz-date, Signature=%s",
	         sig);
	ck_assert_int_eq(sv4_verify(&r, "AKIDEXAMPLE", SECRET, "us-east-1", t, 300, &why), -1);
	ck_assert_ptr_nonnull(strstr(why.message, "'Host' must be a signed header"));
	snprintf(auth, sizeof(auth), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
	                             "lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=%s",
	         sig);
	r.body = "{ }"; /* the body changed after signing */
	r.body_len = 3;
	ck_assert_int_eq(sv4_verify(&r, "AKIDEXAMPLE", SECRET, "us-east-1", t, 300, &why), -1);
	ck_assert_str_eq(why.type, "InvalidSignatureException");
	r.nheaders = 2; /* no Authorization */
	ck_assert_int_eq(sv4_verify(&r, "AKIDEXAMPLE", SECRET, "us-east-1", t, 300, &why), -1);
	ck_assert_str_eq(why.type, "MissingAuthenticationTokenException");
	values[2] = "AWS4-HMAC-SHA256 Credential=garbage";
	r.nheaders = 3;
	ck_assert_int_eq(sv4_verify(&r, "AKIDEXAMPLE", SECRET, "us-east-1", t, 300, &why), -1);
	ck_assert_str_eq(why.type, "IncompleteSignatureException");
}
END_TEST

/* ---- the server over a raw socket ----------------------------------------------------- */

static int echo(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)ud;
	*response = json_incref(event);
	return 0;
}

static faas_runtime_t *rt;
static faas_http_server_t *srv;

static void serve(int no_auth, uint32_t max_body)
{
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_http_options_t ho = FAAS_HTTP_OPTIONS_INIT;
	faas_error_detail_t d;

	ck_assert_int_eq(faas_runtime_new(&rt, NULL, &d), 0);
	fc.handler = echo;
	ck_assert_int_eq(faas_function_create(rt, "echo", &fc, &d), 0);
	ho.no_auth = no_auth;
	ho.access_key_id = "AKIDEXAMPLE";
	ho.secret_access_key = SECRET;
	ho.max_body_bytes = max_body;
	ck_assert_msg(faas_http_server_start(rt, &ho, &srv, &d) == 0, "%s", d.message);
	ck_assert_uint_gt(faas_http_server_port(srv), 0);
}

static void unserve(void)
{
	faas_http_server_stop(srv);
	faas_runtime_free(rt);
}

/* Send raw bytes, read the whole answer (the server closes). */
static char *exchange(const char *raw)
{
	size_t len = strlen(raw);
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	static char buf[65536];
	size_t n = 0;
	ssize_t k;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(faas_http_server_port(srv));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(write(fd, raw, len), (ssize_t)len);
	shutdown(fd, SHUT_WR);
	while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	close(fd);
	return buf;
}

START_TEST(http_invoke_no_auth)
{
	const char req[] = "POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\n"
	                   "Content-Length: 11\r\nConnection: close\r\n\r\n{\"a\":[1,2]}";
	char *rep;

	serve(1, 0);
	rep = exchange(req);
	ck_assert_msg(strncmp(rep, "HTTP/1.1 200", 12) == 0, "%s", rep);
	ck_assert_ptr_nonnull(strstr(rep, "X-Amz-Executed-Version: $LATEST"));
	ck_assert_ptr_nonnull(strstr(rep, "{\"a\":[1,2]}"));
	rep = exchange("POST /2015-03-31/functions/nope/invocations HTTP/1.1\r\nHost: x\r\n"
	               "Content-Length: 2\r\nConnection: close\r\n\r\n{}");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 404", 12) == 0, "%s", rep);
	ck_assert_ptr_nonnull(strstr(rep, "x-amzn-ErrorType: ResourceNotFoundException"));
	ck_assert_ptr_nonnull(strstr(rep, "\"Type\":\"User\""));
	unserve();
}
END_TEST

/* One request with a JSON body; the answer. */
static char *call(const char *method, const char *path, const char *body)
{
	static char req[2048];

	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
	         "Connection: close\r\n\r\n%s", method, path, strlen(body), body);
	return exchange(req);
}

/* Numbers out of range are refused or reach the library's own check, never
 * cut to fit; a version is "$LATEST" or digits; GetFunction reads ?Qualifier. */
START_TEST(http_control_plane_values_checked)
{
	char *rep;

	serve(1, 0);
	rep = call("PUT", "/2017-10-31/functions/echo/concurrency",
	           "{\"ReservedConcurrentExecutions\":4294967297}");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 400", 12) == 0, "%s", rep);
	rep = call("PUT", "/2017-10-31/functions/echo/concurrency", "{\"ReservedConcurrentExecutions\":-5}");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 400", 12) == 0 && strstr(rep, "greater than or equal to 0"),
	              "%s", rep);
	rep = exchange("GET /2019-09-30/functions/echo/concurrency HTTP/1.1\r\nHost: x\r\n"
	               "Connection: close\r\n\r\n");
	ck_assert_msg(strstr(rep, "\"ReservedConcurrentExecutions\":1") == NULL, "%s", rep);
	rep = call("POST", "/2015-03-31/functions/echo/versions", "{}");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 201", 12) == 0, "%s", rep);
	rep = call("POST", "/2015-03-31/functions/echo/aliases",
	           "{\"Name\":\"a\",\"FunctionVersion\":\"4294967297\"}");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 400", 12) == 0 && strstr(rep, "functionVersion"), "%s", rep);
	rep = call("POST", "/2015-03-31/functions/echo/aliases",
	           "{\"Name\":\"a\",\"FunctionVersion\":\"abc\"}");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 400", 12) == 0, "%s", rep);
	rep = call("POST", "/2015-03-31/functions/echo/aliases",
	           "{\"Name\":\"a\",\"FunctionVersion\":\"1\",\"RoutingConfig\":"
	           "{\"AdditionalVersionWeights\":{\"$LATEST\":\"half\"}}}");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 400", 12) == 0, "%s", rep);
	rep = call("PUT", "/2019-09-25/functions/echo/event-invoke-config",
	           "{\"MaximumRetryAttempts\":4294967297}");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 400", 12) == 0 && strstr(rep, "less than or equal to 2"),
	              "%s", rep);
	rep = exchange("GET /2015-03-31/functions/echo?Qualifier=1 HTTP/1.1\r\nHost: x\r\n"
	               "Connection: close\r\n\r\n");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 200", 12) == 0 && strstr(rep, "\"Version\":\"1\""), "%s",
	              rep);
	/* an empty qualifier is not $LATEST; a %00 does not cut the name short */
	rep = call("POST", "/2015-03-31/functions/echo/invocations?Qualifier=", "{}");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 400", 12) == 0 && strstr(rep, "'qualifier'"), "%s", rep);
	rep = call("POST", "/2015-03-31/functions/echo%00junk/invocations", "{}");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 200", 12) != 0, "%s", rep);
	unserve();
}
END_TEST

static pthread_mutex_t held_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t held_c = PTHREAD_COND_INITIALIZER;
static int held_in, held_open;

/* Waits until the test opens it, then answers "done". */
static int held(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)ud;
	pthread_mutex_lock(&held_m);
	held_in = 1;
	pthread_cond_broadcast(&held_c);
	while (!held_open)
		pthread_cond_wait(&held_c, &held_m);
	pthread_mutex_unlock(&held_m);
	*response = json_string("done");
	return 0;
}

static char held_reply[4096];

static void *held_call(void *arg)
{
	(void)arg;
	snprintf(held_reply, sizeof(held_reply), "%s",
	         exchange("POST /2015-03-31/functions/held/invocations HTTP/1.1\r\nHost: x\r\n"
	                  "Content-Length: 2\r\nConnection: close\r\n\r\n{}"));
	return NULL;
}

static void *stopper(void *arg)
{
	(void)arg;
	faas_http_server_stop(srv);
	return NULL;
}

/* Stop with a request in progress: no new connections, and the request
 * gets its answer before the sockets close. */
START_TEST(http_stop_answers_requests_in_progress)
{
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	pthread_t caller, stop;
	faas_error_detail_t d;

	serve(1, 0);
	fc.handler = held;
	fc.timeout_ms = 30000;
	ck_assert_int_eq(faas_function_create(rt, "held", &fc, &d), 0);
	pthread_create(&caller, NULL, held_call, NULL);
	pthread_mutex_lock(&held_m);
	while (!held_in)
		pthread_cond_wait(&held_c, &held_m);
	pthread_mutex_unlock(&held_m);
	pthread_create(&stop, NULL, stopper, NULL);
	/* real sockets, real time: the stop is under way well within 100 ms
	 * (and were it not, the test would pass without showing anything) */
	usleep(100000);
	pthread_mutex_lock(&held_m);
	held_open = 1;
	pthread_cond_broadcast(&held_c);
	pthread_mutex_unlock(&held_m);
	pthread_join(caller, NULL);
	pthread_join(stop, NULL);
	ck_assert_msg(strncmp(held_reply, "HTTP/1.1 200", 12) == 0, "%s", held_reply);
	ck_assert_ptr_nonnull(strstr(held_reply, "\"done\""));
	faas_runtime_free(rt);
}
END_TEST

START_TEST(http_limits_and_garbage)
{
	const char big[] = "POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\n"
	                   "Content-Length: 5000\r\nConnection: close\r\n\r\n";
	char *rep;

	serve(0, 1000);
	/* over the limit: refused on the headers, the body never read */
	rep = exchange(big);
	ck_assert_msg(strncmp(rep, "HTTP/1.1 413", 12) == 0, "%s", rep);
	ck_assert_ptr_nonnull(strstr(rep, "RequestEntityTooLargeException"));
	/* unsigned: 403 */
	rep = exchange("GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 403", 12) == 0, "%s", rep);
	ck_assert_ptr_nonnull(strstr(rep, "MissingAuthenticationTokenException"));
	/* not HTTP at all: an error or a closed connection, and the server lives on */
	exchange("\x01\x02garbage\r\n\r\n");
	exchange("GET / HTTP/9.9\r\n\r\n");
	rep = exchange("GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	ck_assert_msg(strncmp(rep, "HTTP/1.1 403", 12) == 0, "%s", rep);
	unserve();
}
END_TEST

/* A body that trickles in past request_timeout_s: the connection is cut. */
START_TEST(http_slow_body_cut_off)
{
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_http_options_t ho = FAAS_HTTP_OPTIONS_INIT;
	faas_error_detail_t d;
	struct sockaddr_in a;
	const char head[] = "POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\n"
	                    "Content-Length: 100\r\n\r\n";
	char buf[256];
	int fd;
	ssize_t k = 1;

	ck_assert_int_eq(faas_runtime_new(&rt, NULL, &d), 0);
	fc.handler = echo;
	ck_assert_int_eq(faas_function_create(rt, "echo", &fc, &d), 0);
	ho.no_auth = 1;
	ho.request_timeout_s = 1;
	ck_assert_int_eq(faas_http_server_start(rt, &ho, &srv, &d), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(faas_http_server_port(srv));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(write(fd, head, sizeof(head) - 1), (ssize_t)(sizeof(head) - 1));
	for (int i = 0; i < 40 && k > 0; i++) { /* a byte every 100 ms, 4 s at most */
		if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) {
			k = 0; /* closed under us: cut off */
			break;
		}
		usleep(100000);
		struct timeval tv = { 0, 1000 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		k = read(fd, buf, sizeof(buf));
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			k = 1; /* nothing yet */
		else if (k < 0)
			k = 0; /* reset: cut off */
	}
	ck_assert_msg(k <= 0, "the trickling request was never cut off");
	close(fd);
	unserve();
}
END_TEST

START_TEST(http_start_errors)
{
	faas_http_options_t ho = FAAS_HTTP_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_http_server_t *s = (faas_http_server_t *)&d, *s2;

	ck_assert_int_eq(faas_runtime_new(&rt, NULL, &d), 0);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	ck_assert_int_eq(faas_http_server_start(NULL, &ho, &s, &d), FAAS_EINVAL);
	ck_assert_int_eq(faas_http_server_start(rt, &ho, NULL, &d), FAAS_EINVAL);
	ck_assert_int_eq(faas_http_server_start(rt, &ho, &s, &d), FAAS_EINVAL); /* no credentials */
	ck_assert_ptr_nonnull(strstr(d.message, "no_auth"));
	ck_assert_ptr_null(s);
	ho.no_auth = 1;
	ho.listen_host = "not-an-address";
	ck_assert_int_eq(faas_http_server_start(rt, &ho, &s, &d), FAAS_EINVAL);
	ho.listen_host = NULL;
	ho.version = 9;
	ck_assert_int_eq(faas_http_server_start(rt, &ho, &s, &d), FAAS_EINVAL);
	ho.version = FAAS_HTTP_OPTIONS_VERSION;
	ck_assert_int_eq(faas_http_server_start(rt, &ho, &s, &d), 0);
	ho.port = faas_http_server_port(s); /* taken now */
	ck_assert_int_eq(faas_http_server_start(rt, &ho, &s2, &d), FAAS_EEXIST);
	faas_http_server_stop(s);
	faas_http_server_stop(NULL);
	ck_assert_uint_eq(faas_http_server_port(NULL), 0);
	faas_runtime_free(rt);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, sigv4_published_vector);
	tcase_add_test(tc, sigv4_verify_refusals);
	tcase_add_test(tc, http_invoke_no_auth);
	tcase_add_test(tc, http_control_plane_values_checked);
	tcase_add_test(tc, http_stop_answers_requests_in_progress);
	tcase_add_test(tc, http_limits_and_garbage);
	tcase_add_test(tc, http_slow_body_cut_off);
	tcase_add_test(tc, http_start_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
