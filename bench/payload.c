/*
 * libfaas bench — the loops counted for payloads: JSON text in and out,
 * and an event of 6 MB against a small one.
 *
 * JSON text: faas_invoke_json on an SNS notification (~1 KB) in inline
 * mode, the handler returning its event and the caller asking for the
 * response as text, against jansson alone doing what that call cannot
 * avoid: parse the text, dump the value, free both. What libfaas adds over
 * that should be no more than one no-op invoke (bench_dispatch.c sets the
 * target from the "inline" count).
 *
 * Large event: a json_t event is borrowed and shared by reference, never
 * copied or measured (DESIGN §9.9), so an invoke with a 6 MB event should
 * cost what one with a 50-byte event costs. Both events are built before
 * bench_measured runs, so only the invokes are counted.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAYLOAD_WARMUP 100L

/* Records in the large event: each is ~1.6 KB of text, ~6 MB in all, under
 * Lambda's 6 MB request limit (6 291 456 bytes) as a real one would be. */
#define BIG_RECORDS 3840L
#define BIG_BODY 1000

/* An SNS notification as Lambda delivers it, compact, made-up values. The
 * dump of its parse is the same text byte for byte (jansson keeps key
 * order and does not escape '/'), which the warm-up checks. */
const char bench_sns_event[] =
	"{\"Records\":[{\"EventSource\":\"aws:sns\",\"EventVersion\":\"1.0\","
	"\"EventSubscriptionArn\":\"arn:aws:sns:us-east-1:123456789012:orders:"
	"1a358ca0-0d75-485d-99c9-4309570dc195\",\"Sns\":{\"Type\":\"Notification\","
	"\"MessageId\":\"895fd7b3-26b9-4c7f-9118-bb16000f49c8\","
	"\"TopicArn\":\"arn:aws:sns:us-east-1:123456789012:orders\",\"Subject\":\"Order shipped\","
	"\"Message\":\"{\\\"orderId\\\":\\\"A-1042\\\",\\\"status\\\":"
	"\\\"SHIPPED\\\",\\\"items\\\":3}\","
	"\"Timestamp\":\"2024-05-14T09:21:37.412Z\",\"SignatureVersion\":\"1\",\"Signature\":\""
	"UvImZaYMEtKJGF2VDuiBNgkWb2sRPReNbA/TkB/yOaGglfIPk5VlDPk4C47bIkprJIoekk6P0K4uGpSSozBfGIy2"
	"EJAPnjR/rohtxlB3lex0XEw/yy6yxz4Uk0yGfuBXunJJm/oSHoNrKsFXJu59awr2qxPDjpLK4NFQV7FZmH+UzHQR"
	"1xfxRXmyqhAPu7NPpZP+rtJySLdi46tYBfB2WiucHX4PN8RJIb0/ZWTq338UKnJmjEfiI9Fu3YxHtGr8W67iYfU7"
	"JhUtJjuoOwN81JYuQ0gBJWuIXpyQUfMgsNuD856nrb0NdObex/PfrsyPZGVmZBp7omYPMBH8NXApHA==\","
	"\"SigningCertUrl\":\"https://sns.us-east-1.amazonaws.com/"
	"SimpleNotificationService-3b026c48bbf33feff9243a8f506b4092.pem\","
	"\"UnsubscribeUrl\":\"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&"
	"SubscriptionArn=arn:aws:sns:us-east-1:123456789012:orders:"
	"1a358ca0-0d75-485d-99c9-4309570dc195\","
	"\"MessageAttributes\":{\"eventType\":{\"Type\":\"String\",\"Value\":\"order.shipped\"}}}}]}";

size_t bench_sns_event_len(void)
{
	return sizeof(bench_sns_event) - 1;
}

/* The flags faas_invoke_json and response_text use (lib/invoke.c), so
 * jansson alone does the same parse and the same dump. */
#define PARSE_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)
#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

/* ---- the 6 MB event ------------------------------------------------------ */

/* One SQS-style record; the body differs from record to record. */
static json_t *big_record(long i)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char id[40], body[BIG_BODY + 1];
	int k;

	for (k = 0; k < BIG_BODY; k++)
		body[k] = digits[(i * 7 + k * 13) % 36];
	body[BIG_BODY] = '\0';
	snprintf(id, sizeof(id), "5f1c2d3e-0a4b-4c6d-8e9f-%012ld", i);
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{},s:s,s:s,s:s,s:s}", "messageId", id,
	                 "receiptHandle",
	                 "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a3Oq8KQ7pRmbe9XQ8TjlxqJPIb5Y8T0vVRZ"
	                 "4R2p1cS9b0jH1TG1TfVwQ0YAbpMCeTHs3OYcgCqGdA4uRR0sE09bOIr3dvf3SsDMkZlBa",
	                 "body", body, "attributes", "ApproximateReceiveCount", "1", "SentTimestamp",
	                 "1715678497412", "SenderId", "AIDAIENQZJOLO23YVJ4VO",
	                 "ApproximateFirstReceiveTimestamp", "1715678497419", "messageAttributes",
	                 "md5OfBody", "e4e68fb7bd0e697a0ae8f1bb342846b3", "eventSource", "aws:sqs",
	                 "eventSourceARN", "arn:aws:sqs:us-east-1:123456789012:orders", "awsRegion",
	                 "us-east-1");
}

json_t *bench_big_event(void)
{
	json_t *records = json_array(), *r;
	long i;

	if (!records)
		return NULL;
	for (i = 0; i < BIG_RECORDS; i++) {
		if (!(r = big_record(i)) || json_array_append_new(records, r) != 0) {
			json_decref(records);
			return NULL;
		}
	}
	return json_pack("{s:o}", "Records", records);
}

/* ---- the loops ------------------------------------------------------------ */

struct pl {
	faas_runtime_t *rt;
	const char *function;
	json_t *event;
	faas_invoke_options_t opts;
	faas_result_t result;
};

static int step_json_faas(void *arg, long i)
{
	struct pl *p = arg;
	int rc = faas_invoke_json(p->rt, p->function, bench_sns_event, bench_sns_event_len(), &p->opts,
	                          &p->result);
	int ok = rc == 0 && p->result.payload_text != NULL;

	(void)i;
	faas_result_clear(&p->result);
	return ok ? 0 : -1;
}

static int step_json_jansson(void *arg, long i)
{
	json_error_t err;
	json_t *j = json_loadb(bench_sns_event, bench_sns_event_len(), PARSE_FLAGS, &err);
	char *text = j ? json_dumps(j, DUMP_FLAGS) : NULL;
	int ok = text != NULL;

	(void)arg;
	(void)i;
	free(text); /* jansson's default allocator; the bench never changes it */
	json_decref(j);
	return ok ? 0 : -1;
}

static int step_event(void *arg, long i)
{
	struct pl *p = arg;
	int rc = faas_invoke(p->rt, p->function, p->event, NULL, &p->result);
	int ok = rc == 0 && json_is_null(p->result.payload);

	(void)i;
	faas_result_clear(&p->result);
	return ok ? 0 : -1;
}

/* The warm-up proves the loop does what it says: the response text is the
 * event text again, so it was really dumped. */
static int check_json_faas(struct pl *p)
{
	size_t len = bench_sns_event_len();
	int rc = faas_invoke_json(p->rt, p->function, bench_sns_event, len, &p->opts, &p->result);
	int ok = rc == 0 && p->result.payload_text && p->result.payload_text_len == len &&
	         memcmp(p->result.payload_text, bench_sns_event, len) == 0;

	if (!ok)
		fprintf(stderr, "bench: faas_invoke_json answered %d (%s), text %s\n", rc,
		        p->result.message, p->result.payload_text ? p->result.payload_text : "(none)");
	faas_result_clear(&p->result);
	return ok ? 0 : -1;
}

/* An inline runtime with "noop" (returns its event) and "null" (returns nothing). */
static faas_runtime_t *payload_runtime(void)
{
	faas_runtime_options_t opts = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_runtime_t *rt;

	opts.inline_mode = 1;
	opts.seed = 1;
	if (faas_runtime_new(&rt, &opts, NULL) != 0)
		return NULL;
	cfg.handler = bench_noop;
	if (faas_function_create(rt, "noop", &cfg, NULL) == 0) {
		cfg.handler = bench_null;
		if (faas_function_create(rt, "null", &cfg, NULL) == 0)
			return rt;
	}
	faas_runtime_free(rt);
	return NULL;
}

/* Warm up outside what is collected (lazy binding of jansson's symbols,
 * the cold start, first allocations), then the measured steps. */
static int run_steps(int (*step)(void *arg, long i), struct pl *p, long n)
{
	long i;

	for (i = 0; i < PAYLOAD_WARMUP; i++)
		if (step(p, i) != 0)
			return -1;
	return bench_measured(step, p, n);
}

int bench_payload_loop(const char *mode, long n)
{
	faas_result_t init = FAAS_RESULT_INIT;
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	struct pl p;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	p.result = init;
	p.opts = o;
	p.opts.response_text = 1;
	if (strcmp(mode, "json-jansson") == 0)
		return run_steps(step_json_jansson, &p, n);
	if (!(p.rt = payload_runtime()))
		return -1;
	if (strcmp(mode, "json-faas") == 0) {
		p.function = "noop";
		if (check_json_faas(&p) == 0)
			rc = run_steps(step_json_faas, &p, n);
	} else if (strcmp(mode, "event-small") == 0 || strcmp(mode, "event-large") == 0) {
		p.function = "null";
		p.event = strcmp(mode, "event-large") == 0 ? bench_big_event() : bench_small_event();
		if (p.event)
			rc = run_steps(step_event, &p, n);
	}
	faas_runtime_free(p.rt);
	json_decref(p.event);
	return rc;
}
