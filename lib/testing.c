/*
 * libfaas — the handler test harness (faas/testing.h): one invocation on a
 * runtime of its own, a JSON diff that names the first difference, and
 * sample events of Lambda's documented shapes.
 */
#include "dispatch.h"

#include "faas/testing.h"

#include <math.h>
#include <stdio.h>

#define TEST_EPOCH_MS 1700000000000LL

/* ---- one invocation ------------------------------------------------------------------- */

static int test_runtime(const faas_test_options_t *o, faas_handler_fn handler,
                        faas_runtime_t **rt, faas_error_detail_t *d)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	int rc;

	ro.inline_mode = 1;
	ro.clock = FAAS_CLOCK_VIRTUAL;
	ro.virtual_epoch_ms = o->epoch_ms ? o->epoch_ms : TEST_EPOCH_MS;
	ro.seed = 1;
	if ((rc = faas_runtime_new(rt, &ro, d)) != 0)
		return rc;
	fc.handler = handler;
	fc.init = o->init;
	fc.shutdown = o->shutdown;
	fc.user_data = o->user_data;
	fc.timeout_ms = o->timeout_ms;
	fc.memory_mb = o->memory_mb;
	fc.environment = o->environment;
	fc.environment_count = o->environment_count;
	if ((rc = faas_function_create(*rt, o->function_name ? o->function_name : "handler-under-test",
	                               &fc, d)) != 0) {
		faas_runtime_free(*rt);
		*rt = NULL;
	}
	return rc;
}

int faas_test_invoke(faas_handler_fn handler, const char *event_json,
                     const faas_test_options_t *o, faas_result_t *r)
{
	faas_test_options_t def = FAAS_TEST_OPTIONS_INIT;
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt = NULL;
	json_t *cc = NULL;
	int rc;

	if (!r)
		return FAAS_EINVAL;
	*r = (faas_result_t)FAAS_RESULT_INIT;
	o = o ? o : &def;
	faas__detail_reset(&d);
	if (!handler || o->version != FAAS_TEST_OPTIONS_VERSION)
		rc = faas__fail(&d, FAAS_EINVAL, !handler ? "handler must not be NULL"
		                                          : "unsupported faas_test_options_t version");
	else if (o->client_context_json && /* json_is_object evaluates its argument twice */
	         (cc = json_loads(o->client_context_json, 0, NULL), !json_is_object(cc)))
		rc = faas__fail(&d, FAAS_EINVAL, "client_context_json must be a JSON object");
	else
		rc = test_runtime(o, handler, &rt, &d);
	if (rc != 0) {
		json_decref(cc);
		r->code = rc;
		r->status_code = faas_error_http_status(rc);
		r->error_type = faas_error_lambda_name(rc);
		snprintf(r->message, sizeof(r->message), "%s", d.message);
		return rc;
	}
	io.log_type = FAAS_LOG_TAIL;
	io.client_context = cc;
	rc = faas_invoke_json(rt, o->function_name ? o->function_name : "handler-under-test",
	                      event_json, event_json ? strlen(event_json) : 0, &io, r);
	json_decref(cc);
	faas_runtime_free(rt);
	return rc;
}

/* ---- JSON diff ---------------------------------------------------------------------------- */

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* A short rendering of a value for the message. */
static void brief(const json_t *j, char *buf, size_t size)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));

	if (!text) {
		snprintf(buf, size, "%s", type_name(j));
		return;
	}
	if (strlen(text) > 60)
		snprintf(buf, size, "%.57s...", text);
	else
		snprintf(buf, size, "%s", text);
	faas__json_text_free(text);
}

static bool numbers_equal(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) /* exactly, past 2^53 too */
		return json_integer_value(a) == json_integer_value(b);
	return json_is_number(a) && json_is_number(b) &&
	       json_number_value(a) == json_number_value(b);
}

static int diff(const json_t *e, const json_t *a, char *path, size_t plen, size_t psize, char *buf,
                size_t size)
{
	char x[80], y[80];
	const char *key;
	json_t *v;
	size_t i;

	if (numbers_equal(e, a))
		return 0;
	if (json_typeof(e) != json_typeof(a) &&
	    !(json_is_boolean(e) && json_is_boolean(a))) {
		brief(e, x, sizeof(x));
		brief(a, y, sizeof(y));
		snprintf(buf, size, "%s: expected %s, got %s", path, x, y);
		return 1;
	}
	if (json_is_object(e)) {
		json_object_foreach((json_t *)e, key, v) {
			json_t *av = json_object_get(a, key);
			snprintf(path + plen, psize - plen, ".%s", key);
			if (!av) {
				snprintf(buf, size, "%s: missing", path);
				return 1;
			}
			if (diff(v, av, path, strlen(path), psize, buf, size))
				return 1;
		}
		json_object_foreach((json_t *)a, key, v)
			if (!json_object_get(e, key)) {
				snprintf(path + plen, psize - plen, ".%s", key);
				snprintf(buf, size, "%s: unexpected", path);
				return 1;
			}
		path[plen] = '\0';
		return 0;
	}
	if (json_is_array(e)) {
		for (i = 0; i < json_array_size(e) && i < json_array_size(a); i++) {
			snprintf(path + plen, psize - plen, "[%zu]", i);
			if (diff(json_array_get(e, i), json_array_get(a, i), path, strlen(path), psize,
			         buf, size))
				return 1;
		}
		path[plen] = '\0';
		if (json_array_size(e) != json_array_size(a)) {
			snprintf(buf, size, "%s: expected %zu elements, got %zu", path, json_array_size(e),
			         json_array_size(a));
			return 1;
		}
		return 0;
	}
	if (json_equal((json_t *)e, (json_t *)a))
		return 0;
	brief(e, x, sizeof(x));
	brief(a, y, sizeof(y));
	snprintf(buf, size, "%s: expected %s, got %s", path, x, y);
	return 1;
}

int faas_test_json_diff(const json_t *expected, const json_t *actual, char *buf, size_t size)
{
	char path[512] = "$", scratch[2];

	if (!buf || !size) {
		buf = scratch;
		size = sizeof(scratch);
	}
	buf[0] = '\0';
	if (!expected || !actual) {
		if (expected == actual)
			return 0;
		snprintf(buf, size, "$: expected %s, got %s", expected ? "a value" : "nothing",
		         actual ? "a value" : "nothing");
		return 1;
	}
	return diff(expected, actual, path, 1, sizeof(path), buf, size);
}

/* ---- sample events ------------------------------------------------------------------------------ */

static const struct {
	const char *kind;
	const char *json;
} samples[] = {
	{ "sqs",
	  "{\"Records\":[{\"messageId\":\"3f1a7c1e-8d1b-4c55-9a61-0d4c7f2e9b10\",\"receiptHandle\":"
	  "\"3f1a7c1e-8d1b-4c55-9a61-0d4c7f2e9b10.1\",\"body\":\"{\\\"order\\\":1234}\","
	  "\"attributes\":{\"ApproximateReceiveCount\":\"1\",\"SentTimestamp\":\"1700000000000\","
	  "\"SenderId\":\"123456789012\",\"ApproximateFirstReceiveTimestamp\":\"1700000000001\"},"
	  "\"messageAttributes\":{},\"md5OfBody\":\"2fe9620b8b494f506df12baa76dffe38\","
	  "\"eventSource\":\"aws:sqs\",\"eventSourceARN\":\"arn:aws:sqs:us-east-1:123456789012:"
	  "orders\",\"awsRegion\":\"us-east-1\"}]}" },
	{ "sns",
	  "{\"Records\":[{\"EventSource\":\"aws:sns\",\"EventVersion\":\"1.0\","
	  "\"EventSubscriptionArn\":\"arn:aws:sns:us-east-1:123456789012:alerts:7d2b1a90-2c3e-4b8f-"
	  "9d6a-5e4f3c2b1a09\",\"Sns\":{\"Type\":\"Notification\",\"MessageId\":\"5a6b7c8d-1e2f-"
	  "4a3b-8c9d-0e1f2a3b4c5d\",\"TopicArn\":\"arn:aws:sns:us-east-1:123456789012:alerts\","
	  "\"Subject\":\"disk usage\",\"Message\":\"{\\\"host\\\":\\\"db-1\\\",\\\"used\\\":0.91}\","
	  "\"Timestamp\":\"2023-11-14T22:13:20.000Z\",\"SignatureVersion\":\"1\",\"Signature\":"
	  "\"EXAMPLE\",\"SigningCertUrl\":\"https://sns.us-east-1.amazonaws.com/cert.pem\","
	  "\"UnsubscribeUrl\":\"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe\","
	  "\"MessageAttributes\":{}}}]}" },
	{ "s3",
	  "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"awsRegion\":"
	  "\"us-east-1\",\"eventTime\":\"2023-11-14T22:13:20.000Z\",\"eventName\":"
	  "\"ObjectCreated:Put\",\"userIdentity\":{\"principalId\":\"AWS:EXAMPLE\"},"
	  "\"requestParameters\":{\"sourceIPAddress\":\"127.0.0.1\"},\"responseElements\":"
	  "{\"x-amz-request-id\":\"EXAMPLE123456789\",\"x-amz-id-2\":\"EXAMPLE/abc\"},\"s3\":"
	  "{\"s3SchemaVersion\":\"1.0\",\"configurationId\":\"uploads\",\"bucket\":{\"name\":"
	  "\"photos\",\"ownerIdentity\":{\"principalId\":\"EXAMPLE\"},\"arn\":\"arn:aws:s3:::photos\"},"
	  "\"object\":{\"key\":\"2023/cat.jpg\",\"size\":1024,\"eTag\":"
	  "\"0123456789abcdef0123456789abcdef\",\"sequencer\":\"0A1B2C3D4E5F678901\"}}}]}" },
	{ "apigateway",
	  "{\"resource\":\"/orders/{id}\",\"path\":\"/orders/42\",\"httpMethod\":\"GET\",\"headers\":"
	  "{\"Accept\":\"application/json\",\"Host\":\"example.execute-api.us-east-1.amazonaws.com\"},"
	  "\"multiValueHeaders\":{\"Accept\":[\"application/json\"],\"Host\":"
	  "[\"example.execute-api.us-east-1.amazonaws.com\"]},\"queryStringParameters\":"
	  "{\"verbose\":\"1\"},\"multiValueQueryStringParameters\":{\"verbose\":[\"1\"]},"
	  "\"pathParameters\":{\"id\":\"42\"},\"stageVariables\":null,\"requestContext\":"
	  "{\"accountId\":\"123456789012\",\"resourceId\":\"abc123\",\"stage\":\"prod\","
	  "\"requestId\":\"c6af9ac6-7b61-11e6-9a41-93e8deadbeef\",\"extendedRequestId\":"
	  "\"c6af9ac6-example\",\"path\":\"/prod/orders/42\",\"requestTime\":"
	  "\"14/Nov/2023:22:13:20 +0000\",\"domainName\":"
	  "\"example.execute-api.us-east-1.amazonaws.com\",\"identity\":{\"sourceIp\":"
	  "\"127.0.0.1\",\"userAgent\":\"curl/8.0\"},\"resourcePath\":\"/orders/{id}\","
	  "\"httpMethod\":\"GET\",\"apiId\":\"example\",\"protocol\":\"HTTP/1.1\","
	  "\"requestTimeEpoch\":1700000000000},\"body\":null,\"isBase64Encoded\":false}" },
	{ "kinesis",
	  "{\"Records\":[{\"kinesis\":{\"kinesisSchemaVersion\":\"1.0\",\"partitionKey\":\"user-42\","
	  "\"sequenceNumber\":\"49590000000000000000000001\",\"data\":\"eyJjbGljayI6MX0=\","
	  "\"approximateArrivalTimestamp\":1700000000.0},\"eventSource\":\"aws:kinesis\","
	  "\"eventVersion\":\"1.0\",\"eventID\":\"shardId-000000000000:49590000000000000000000001\","
	  "\"eventName\":\"aws:kinesis:record\",\"invokeIdentityArn\":\"arn:aws:iam::123456789012:"
	  "role/lambda-role\",\"awsRegion\":\"us-east-1\",\"eventSourceARN\":\"arn:aws:kinesis:"
	  "us-east-1:123456789012:stream/clicks\"}]}" },
	{ "eventbridge",
	  "{\"version\":\"0\",\"id\":\"6a7e8feb-b491-4cf7-a9f1-bf3703467718\",\"detail-type\":"
	  "\"Order Placed\",\"source\":\"com.example.orders\",\"account\":\"123456789012\",\"time\":"
	  "\"2023-11-14T22:13:20Z\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":"
	  "{\"order\":1234,\"total\":19.5}}" },
};

json_t *faas_test_sample_event(const char *kind)
{
	size_t i;

	for (i = 0; kind && i < sizeof(samples) / sizeof(samples[0]); i++)
		if (!strcmp(samples[i].kind, kind))
			return json_loads(samples[i].json, 0, NULL);
	return NULL;
}
