/*
 * libfaas tests — the manifest: a full one applied (functions from plug-in
 * symbols with versions, aliases, reservations, provisioned concurrency,
 * async config and destinations; queues with redrive; streams; mappings)
 * and working end to end; a table of bad manifests, each answered with the
 * JSON path of the bad field and leaving the runtime unchanged; loading
 * from a file (relative plug-in paths, missing file, invalid JSON).
 */
#include "tests.h"

#include "faas/manifest.h"

#include <stdlib.h>
#include <unistd.h>

#define SYMBOLS "symbols.so" /* relative to FAAS_TEST_PLUGIN_DIR, the base dir */

static const char *const good =
        "{\"comment\":\"everything once\","
        "\"queues\":[{\"name\":\"dlq\"},"
        "  {\"name\":\"in\",\"visibilityTimeout\":10,\"deadLetter\":{\"queue\":\"dlq\",\"maxReceiveCount\":2}},"
        "  {\"name\":\"done\"}],"
        "\"streams\":[{\"name\":\"clicks\",\"shards\":2,\"retentionHours\":48}],"
        "\"functions\":["
        "  {\"name\":\"upper\",\"plugin\":\"" SYMBOLS "\",\"handler\":\"sym_upper\",\"init\":\"sym_init\","
        "   \"timeout\":2.5,\"memorySize\":256,\"description\":\"shouts\",\"environment\":{\"MODE\":\"loud\"},"
        "   \"reservedConcurrency\":3,\"publish\":true,"
        "   \"aliases\":[{\"name\":\"live\",\"version\":1}],"
        "   \"provisionedConcurrency\":[{\"qualifier\":\"live\",\"count\":1}],"
        "   \"eventInvokeConfig\":{\"maximumRetryAttempts\":0,\"maximumEventAgeInSeconds\":60,"
        "     \"onSuccess\":{\"queue\":\"done\"},\"onFailure\":{\"function\":\"failing\"}}},"
        "  {\"name\":\"failing\",\"plugin\":\"" SYMBOLS "\",\"handler\":\"sym_fail\"}],"
        "\"mappings\":["
        "  {\"function\":\"upper:live\",\"queue\":\"in\",\"batchSize\":5,"
        "   \"functionResponseTypes\":[\"ReportBatchItemFailures\"],"
        "   \"filters\":[{\"body\":{\"text\":[{\"exists\":true}]}}]},"
        "  {\"function\":\"upper\",\"stream\":\"clicks\",\"startingPosition\":\"TRIM_HORIZON\","
        "   \"maximumRetryAttempts\":1,\"onFailure\":{\"queue\":\"dlq\"},\"enabled\":false}]}";

static faas_runtime_t *rt_inline(void)
{
	faas_runtime_options_t o = t_options();

	o.inline_mode = 1;
	return t_runtime_with(&o);
}

static int apply_text(faas_runtime_t *rt, const char *text, json_t **report, faas_error_detail_t *d)
{
	json_t *m = json_loads(text, 0, NULL);
	int rc;

	ck_assert_msg(m != NULL, "test manifest is not JSON: %s", text);
	rc = faas_manifest_apply(rt, m, FAAS_TEST_PLUGIN_DIR, report, d);
	json_decref(m);
	return rc;
}

/* Functions, queues, streams: what the runtime has, as text. */
static char *inventory(faas_runtime_t *rt)
{
	json_t *list = NULL, *all;
	char *s;

	faas_function_list(rt, &list, NULL);
	static const char *const queues[] = { "dlq", "in", "done", "q", "q1", "later" };
	static const char *const streams[] = { "clicks", "s" };
	size_t i;

	all = json_pack("{s:o}", "functions", list ? list : json_null());
	for (i = 0; i < 6; i++)
		json_object_set_new(all, queues[i], json_boolean(faas_queue_find(rt, queues[i]) != NULL));
	for (i = 0; i < 2; i++)
		json_object_set_new(all, streams[i], json_boolean(faas_stream_find(rt, streams[i]) != NULL));
	s = json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(all);
	return s;
}

START_TEST(manifest_applies_everything)
{
	faas_runtime_t *rt = rt_inline();
	faas_result_t r = FAAS_RESULT_INIT;
	faas_invoke_options_t io = FAAS_INVOKE_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_queue_message_t msg;
	json_t *report, *desc;
	size_t n;

	ck_assert_ok(apply_text(rt, good, &report, &d), d);
	ck_assert_uint_eq(json_array_size(json_object_get(report, "functions")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(report, "queues")), 3);
	ck_assert_uint_eq(json_array_size(json_object_get(report, "streams")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(report, "mappings")), 2);
	json_decref(report);
	/* the function, its config, version and alias */
	ck_assert_ok(faas_function_describe(rt, "upper", &desc, &d), d);
	ck_assert_str_eq(t_jstr(json_object_get(desc, "Configuration"), "Description"), "shouts");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(desc, "Configuration"),
	                                                    "MemorySize")),
	                 256);
	json_decref(desc);
	ck_assert_int_eq(faas_invoke_json(rt, "upper:live", "{\"text\":\"hi\"}", 13, NULL, &r), 0);
	ck_assert_str_eq(t_jstr(r.payload, "up"), "HI");
	ck_assert_str_eq(r.executed_version, "1");
	faas_result_clear(&r);
	/* the queue mapping: a message through upper:live */
	ck_assert_ok(faas_queue_send(faas_queue_find(rt, "in"), "{\"text\":\"q\"}", 12, NULL, NULL, &d), d);
	ck_assert_int_eq(faas_clock_advance(rt, 1), 0);
	t_settle(rt);
	{
		uint64_t v = 9, f = 9;
		faas_queue_counts(faas_queue_find(rt, "in"), &v, &f);
		ck_assert_uint_eq(v + f, 0); /* processed and deleted */
	}
	/* an Event invocation: its success record lands in "done" */
	io.type = FAAS_INVOKE_EVENT;
	ck_assert_int_eq(faas_invoke_json(rt, "upper", "{\"text\":\"ev\"}", 13, &io, &r), 0);
	faas_result_clear(&r);
	t_settle(rt);
	ck_assert_ok(faas_queue_receive(faas_queue_find(rt, "done"), 1, 0, &msg, &n, &d), d);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(msg.body, "\"condition\":\"Success\""));
	faas_queue_message_clear(&msg);
	{ /* provisioned concurrency on live (version 1) */
		faas_provisioned_info_t pi = FAAS_PROVISIONED_INFO_INIT;
		ck_assert_ok(faas_function_get_provisioned_concurrency(rt, "upper", "live", &pi, &d), d);
		ck_assert_uint_eq(pi.requested, 1);
		ck_assert_uint_eq(pi.function_version, 1);
	}
	{ /* the stream mapping was created disabled: a record waits */
		json_t *before, *after;
		ck_assert_ok(faas_metrics_json(rt, &before, &d), d);
		ck_assert_ok(faas_stream_put(faas_stream_find(rt, "clicks"), "k", "{}", 2, NULL, NULL, &d), d);
		ck_assert_int_eq(faas_clock_advance(rt, 1000), 0);
		t_settle(rt);
		ck_assert_ok(faas_metrics_json(rt, &after, &d), d);
		ck_assert(json_equal(json_object_get(before, "Functions"), json_object_get(after, "Functions")));
		json_decref(before);
		json_decref(after);
	}
	faas_runtime_free(rt);
}
END_TEST

struct bad_case {
	const char *manifest;
	int code;
	const char *message; /* begins with the JSON path */
};

#define FN(extra) "{\"functions\":[{\"name\":\"f\",\"plugin\":\"" SYMBOLS "\",\"handler\":\"sym_upper\"" extra "}]}"

static const struct bad_case bad_cases[] = {
	{ "[]", FAAS_EINVAL, "the manifest must be a JSON object" },
	{ "{\"functons\":[]}", FAAS_EINVAL, "functons: unknown field" },
	{ "{\"functions\":{}}", FAAS_EINVAL, "functions: must be an array" },
	{ "{\"functions\":[{\"plugin\":\"" SYMBOLS "\",\"handler\":\"sym_upper\"}]}", FAAS_EINVAL,
	  "functions[0].name: is required" },
	{ "{\"functions\":[{\"name\":\"f\",\"handler\":\"sym_upper\"}]}", FAAS_EINVAL,
	  "functions[0].plugin: is required" },
	{ "{\"functions\":[{\"name\":\"f\",\"plugin\":\"nope.so\",\"handler\":\"h\"}]}", FAAS_ENOTFOUND,
	  "functions[0].plugin: plug-in " },
	{ "{\"functions\":[{\"name\":\"f\",\"plugin\":\"" SYMBOLS "\",\"handler\":\"nope\"}]}",
	  FAAS_EINVAL, "functions[0].handler: no symbol nope in the plug-in" },
	{ FN(",\"timeout\":901"), FAAS_EINVAL, "functions[0].timeout: must be a number from 1 to 900" },
	{ FN(",\"memorySize\":100"), FAAS_EINVAL,
	  "functions[0].memorySize: must be a whole number from 128 to 10240" },
	{ FN(",\"environment\":{\"A1\":5}"), FAAS_EINVAL, "functions[0].environment.A1: must be a string" },
	{ FN(",\"environment\":{\"1bad\":\"x\"}"), FAAS_EINVAL, "functions[0]: " },
	{ FN(",\"publish\":true,\"aliases\":[{\"name\":\"live\",\"version\":1,\"additionalVersion\":1,"
	     "\"weight\":1.5}]"),
	  FAAS_EINVAL, "functions[0].aliases[0].weight: must be a number from 0 to 1" },
	{ FN(",\"aliases\":[{\"name\":\"live\",\"version\":1,\"weight\":0.5}]"), FAAS_EINVAL,
	  "functions[0].aliases[0].weight: needs additionalVersion" },
	{ FN(",\"aliases\":[{\"name\":\"live\",\"version\":7}]"), FAAS_ENOTFOUND,
	  "functions[0].aliases[0]: " },
	{ FN(",\"eventInvokeConfig\":{\"maximumRetryAttempts\":3}"), FAAS_EINVAL,
	  "functions[0].eventInvokeConfig.maximumRetryAttempts: must be a whole number from 0 to 2" },
	{ FN(",\"eventInvokeConfig\":{\"onFailure\":{\"queue\":\"nope\"}}"), FAAS_EINVAL,
	  "functions[0].eventInvokeConfig.onFailure.queue: no queue nope" },
	{ FN(",\"eventInvokeConfig\":{\"onFailure\":{}}"), FAAS_EINVAL,
	  "functions[0].eventInvokeConfig.onFailure: names either a function or a queue" },
	{ FN(",\"reservedConcurrency\":-3"), FAAS_EINVAL, "functions[0].reservedConcurrency: must be" },
	{ FN(",\"publish\":\"yes\""), FAAS_EINVAL, "functions[0].publish: must be true or false" },
	{ "{\"queues\":[{\"name\":\"q\",\"deadLetter\":{\"queue\":\"later\"}},{\"name\":\"later\"}]}",
	  FAAS_EINVAL, "queues[0].deadLetter.queue: no queue later" },
	{ "{\"queues\":[{\"name\":\"q\",\"visibilityTimeout\":-1}]}", FAAS_EINVAL,
	  "queues[0].visibilityTimeout: must be a whole number from 0 to 43200" },
	{ "{\"queues\":[{\"name\":\"bad name\"}]}", FAAS_EINVAL, "queues[0]: " },
	{ "{\"queues\":[{\"name\":\"q\"},{\"name\":\"q\"}]}", FAAS_EEXIST, "queues[1]: " },
	{ "{\"streams\":[{\"name\":\"s\",\"shards\":65}]}", FAAS_EINVAL,
	  "streams[0].shards: must be a whole number from 1 to 64" },
	/* a failure after some objects were made: they go again */
	{ "{\"queues\":[{\"name\":\"q1\"}],\"functions\":[{\"name\":\"existing\",\"plugin\":\"" SYMBOLS
	  "\",\"handler\":\"sym_upper\"}]}",
	  FAAS_EEXIST, "functions[0]: " },
	{ "{\"queues\":[{\"name\":\"q1\"}],\"streams\":[{\"name\":\"s\"}],\"functions\":[{\"name\":\"f\","
	  "\"plugin\":\"" SYMBOLS "\",\"handler\":\"sym_upper\",\"publish\":true}],"
	  "\"mappings\":[{\"function\":\"f\",\"queue\":\"q1\"},{\"function\":\"nope\",\"queue\":\"q1\"}]}",
	  FAAS_ENOTFOUND, "mappings[1]: " },
	{ "{\"mappings\":[{\"function\":\"existing\",\"queue\":\"q\",\"stream\":\"s\"}]}", FAAS_EINVAL,
	  "mappings[0]: names either a queue or a stream" },
	{ "{\"queues\":[{\"name\":\"q\"}],\"mappings\":[{\"function\":\"existing\",\"queue\":\"q\","
	  "\"batchSize\":0}]}",
	  FAAS_EINVAL, "mappings[0].batchSize: must be a whole number from 1 to 10000" },
	{ "{\"queues\":[{\"name\":\"q\"}],\"mappings\":[{\"function\":\"existing\",\"queue\":\"q\","
	  "\"functionResponseTypes\":[\"Other\"]}]}",
	  FAAS_EINVAL, "mappings[0].functionResponseTypes[0]: the only response type" },
	{ "{\"queues\":[{\"name\":\"q\"}],\"mappings\":[{\"function\":\"existing\",\"queue\":\"q\","
	  "\"filters\":[\"{\\\"a\\\":[{\\\"nope\\\":1}]}\"]}]}",
	  FAAS_EINVAL, "mappings[0]: Invalid filter pattern definition" },
	{ "{\"streams\":[{\"name\":\"s\"}],\"mappings\":[{\"function\":\"existing\",\"stream\":\"s\","
	  "\"startingPosition\":\"NOW\"}]}",
	  FAAS_EINVAL, "mappings[0].startingPosition: must be TRIM_HORIZON or LATEST" },
	{ "{\"plugins\":[{\"path\":\"failinit.so\"}]}", FAAS_EUSER, "plugins[0]: plug-in " },
	{ FN(",\"versions\":[{\"handler\":\"sym_upper\"},{\"handler\":\"nope\"}]"), FAAS_EINVAL,
	  "functions[0].versions[1].handler: no symbol nope in the plug-in" },
	{ FN(",\"versions\":[{\"timeout\":1}]"), FAAS_EINVAL, "functions[0].versions[0].timeout: unknown field" },
};

START_TEST(manifest_bad_fields)
{
	const struct bad_case *c = &bad_cases[_i];
	faas_runtime_t *rt = rt_inline();
	faas_error_detail_t d;
	char *before, *after;
	json_t *report = (json_t *)&d;
	int rc;

	t_create(rt, "existing");
	before = inventory(rt);
	rc = apply_text(rt, c->manifest, &report, &d);
	ck_assert_msg(rc == c->code, "case %d: got %s (%s)", _i, faas_err_name(rc), d.message);
	ck_assert_msg(strstr(d.message, c->message) == d.message, "case %d: message \"%s\"", _i,
	              d.message);
	ck_assert_ptr_null(report);
	after = inventory(rt);
	ck_assert_str_eq(before, after); /* unchanged */
	free(before);
	free(after);
	faas_runtime_free(rt);
}
END_TEST

/* "versions" publish one after the other; an alias splits between them. */
START_TEST(manifest_versions_and_a_canary)
{
	faas_runtime_t *rt = rt_inline();
	faas_error_detail_t d;
	int i, fails = 0;

	ck_assert_ok(apply_text(rt,
	                        "{\"functions\":[{\"name\":\"c\",\"plugin\":\"" SYMBOLS
	                        "\",\"handler\":\"sym_upper\",\"versions\":[{\"description\":\"one\"},"
	                        "{\"handler\":\"sym_fail\",\"description\":\"two\"}],\"aliases\":[{\"name\":"
	                        "\"live\",\"version\":1,\"additionalVersion\":2,\"weight\":0.5}]}]}",
	                        NULL, &d),
	             d);
	for (i = 0; i < 200; i++) {
		faas_result_t r = FAAS_RESULT_INIT;
		ck_assert_int_eq(faas_invoke_json(rt, "c:live", "{}", 2, NULL, &r), 0);
		fails += r.function_error != FAAS_FUNCTION_ERROR_NONE; /* version 2 fails */
		ck_assert_str_eq(r.executed_version, r.function_error ? "2" : "1");
		faas_result_clear(&r);
	}
	ck_assert_int_gt(fails, 60);
	ck_assert_int_lt(fails, 140);
	faas_runtime_free(rt);
}
END_TEST

START_TEST(manifest_load_from_a_file)
{
	faas_runtime_t *rt = rt_inline();
	faas_error_detail_t d;
	json_t *report;
	FILE *f;

	/* next to the plug-ins, so "symbols.so" resolves against the file's directory */
	f = fopen(FAAS_TEST_PLUGIN_DIR "/manifest-test.json", "w");
	ck_assert_ptr_nonnull(f);
	fputs(good, f);
	fclose(f);
	ck_assert_ok(faas_manifest_load(rt, FAAS_TEST_PLUGIN_DIR "/manifest-test.json", &report, &d), d);
	ck_assert_uint_eq(json_array_size(json_object_get(report, "functions")), 2);
	json_decref(report);
	ck_assert_fail(faas_manifest_load(rt, FAAS_TEST_PLUGIN_DIR "/nope.json", NULL, &d), d,
	               FAAS_ENOTFOUND, "no such file");
	f = fopen(FAAS_TEST_PLUGIN_DIR "/manifest-bad.json", "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"functions\": [\n  {\"name\": }\n]}", f);
	fclose(f);
	ck_assert_fail(faas_manifest_load(rt, FAAS_TEST_PLUGIN_DIR "/manifest-bad.json", NULL, &d), d,
	               FAAS_EBADJSON, "(line 2, column");
	f = fopen(FAAS_TEST_PLUGIN_DIR "/manifest-dup.json", "w");
	fputs("{\"queues\":[],\"queues\":[]}", f);
	fclose(f);
	ck_assert_fail(faas_manifest_load(rt, FAAS_TEST_PLUGIN_DIR "/manifest-dup.json", NULL, &d), d,
	               FAAS_EBADJSON, "duplicate");
	ck_assert_fail(faas_manifest_load(rt, NULL, NULL, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(faas_manifest_apply(rt, NULL, NULL, NULL, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(faas_manifest_load(NULL, "x", NULL, &d), d, FAAS_EINVAL, "NULL");
	unlink(FAAS_TEST_PLUGIN_DIR "/manifest-test.json");
	unlink(FAAS_TEST_PLUGIN_DIR "/manifest-bad.json");
	unlink(FAAS_TEST_PLUGIN_DIR "/manifest-dup.json");
	faas_runtime_free(rt);
}
END_TEST

/* A manifest whose plug-in swaps the code of a function that exists, then
 * fails further on: the function is not deleted by the rollback (it keeps the
 * new build: a swap is not undone, faas/plugin.h), what the manifest made is. */
START_TEST(manifest_rollback_after_a_swap_keeps_what_existed)
{
	faas_runtime_t *rt = rt_inline();
	faas_error_detail_t d;
	json_t *out = NULL;

	ck_assert_ok(apply_text(rt, "{\"plugins\":[{\"path\":\"hello_v1.so\"}]}", NULL, &d), d);
	ck_assert_fail(apply_text(rt,
	                          "{\"plugins\":[{\"path\":\"hello_v2.so\",\"swap\":true}],"
	                          "\"queues\":[{\"name\":\"q\",\"capacity\":0}]}",
	                          NULL, &d),
	               d, FAAS_EINVAL, "queues[0].capacity");
	ck_assert_ok(faas_function_describe(rt, "hello", &out, &d), d); /* still there */
	json_decref(out);
	ck_assert_ptr_null(faas_queue_find(rt, "q"));
	faas_runtime_free(rt);
}
END_TEST

/* The "runtime" section: read for whoever makes the runtime, checked like the
 * rest (a typo or a bad value is an error with its path, also when loading). */
START_TEST(manifest_runtime_section)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_runtime_t *rt = rt_inline();
	faas_error_detail_t d;
	json_t *m;

	m = json_loads("{\"runtime\":{\"maxConcurrency\":2,\"asyncDelayScale\":0.5,"
	               "\"keepAliveSeconds\":30}}", 0, NULL);
	ck_assert_ok(faas_manifest_runtime_options(m, &o, &d), d);
	ck_assert_uint_eq(o.max_concurrency, 2);
	ck_assert(o.async_delay_scale == 0.5);
	ck_assert_uint_eq(o.keep_alive_ms, 30000);
	json_decref(m);
	m = json_loads("{\"runtime\":{\"maxConcurency\":\"x\"}}", 0, NULL);
	ck_assert_fail(faas_manifest_runtime_options(m, &o, &d), d, FAAS_EINVAL,
	               "runtime.maxConcurency: unknown field");
	json_decref(m);
	m = json_loads("{\"runtime\":{\"maxConcurrency\":0}}", 0, NULL);
	ck_assert_fail(faas_manifest_runtime_options(m, &o, &d), d, FAAS_EINVAL,
	               "runtime.maxConcurrency: must be a whole number from 1 to 100000");
	json_decref(m);
	ck_assert_fail(faas_manifest_runtime_options(NULL, &o, &d), d, FAAS_EINVAL, "NULL");
	ck_assert_fail(apply_text(rt, "{\"runtime\":{\"keepAlive\":1}}", NULL, &d), d, FAAS_EINVAL,
	               "runtime.keepAlive: unknown field");
	faas_runtime_free(rt);
}
END_TEST

Suite *manifest_suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, manifest_applies_everything);
	tcase_add_test(tc, manifest_runtime_section);
	tcase_add_test(tc, manifest_rollback_after_a_swap_keeps_what_existed);
	tcase_add_loop_test(tc, manifest_bad_fields, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, manifest_versions_and_a_canary);
	tcase_add_test(tc, manifest_load_from_a_file);
	suite_add_tcase(s, tc);
	return s;
}
