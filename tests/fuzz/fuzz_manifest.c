/*
 * Fuzz target: the manifest loader (faas_manifest_apply).
 *
 * Input: a manifest as JSON text, applied to a fresh inline runtime with
 * a virtual clock. Inputs naming a shared object (".so" or a '/') are
 * skipped: the loader must never dlopen what a fuzzer makes up.
 *
 * Invariants (abort on violation):
 *  - the call returns 0 or a known negative code, with a matching detail
 *    (fuzz_check_detail); a failure's message starts with a JSON path or
 *    says what is wrong with the whole;
 *  - a failing manifest leaves the runtime unchanged: no function, and
 *    no queue or stream of any name the input mentions;
 *  - on success the report lists exactly what exists: every queue and
 *    stream ARN in it resolves, every mapping UUID is unique;
 *  - freeing the runtime afterwards is clean (ASan/LSan).
 */
#include "fuzz.h"

#include <faas/manifest.h>

/* Names the input gives to queues and streams (top-level arrays only). */
static void names_of(json_t *m, const char *key, json_t *out)
{
	json_t *item;
	size_t i;

	json_array_foreach(json_object_get(m, key), i, item)
		if (json_is_string(json_object_get(item, "name")))
			json_array_append(out, json_object_get(item, "name"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	faas_runtime_options_t ro = FAAS_RUNTIME_OPTIONS_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	json_t *m, *report = NULL, *list = NULL, *qs, *ss, *v;
	size_t i;
	int rc;

	if (memmem(data, size, ".so", 3) || memchr(data, '/', size))
		return 0;
	if (!(m = json_loadb((const char *)data, size, 0, NULL)))
		return 0;
	ro.inline_mode = 1;
	ro.clock = FAAS_CLOCK_VIRTUAL;
	FUZZ_CHECK(faas_runtime_new(&rt, &ro, &d) == 0, "runtime: %s", d.message);
	fuzz_detail_poison(&d);
	rc = faas_manifest_apply(rt, m, "nowhere", &report, &d);
	fuzz_check_detail("faas_manifest_apply", rc, &d);
	qs = json_array();
	ss = json_array();
	names_of(m, "queues", qs);
	names_of(m, "streams", ss);
	if (rc != 0) {
		FUZZ_CHECK(report == NULL, "a failed apply gave a report");
		FUZZ_CHECK(faas_function_list(rt, &list, NULL) == 0, "list");
		FUZZ_CHECK(json_array_size(json_object_get(list, "Functions")) == 0,
		           "a failed manifest left functions behind");
		json_array_foreach(qs, i, v)
			FUZZ_CHECK(!faas_queue_find(rt, json_string_value(v)), "queue %s left behind",
			           json_string_value(v));
		json_array_foreach(ss, i, v)
			FUZZ_CHECK(!faas_stream_find(rt, json_string_value(v)), "stream %s left behind",
			           json_string_value(v));
		json_decref(list);
	} else {
		json_t *uuids = json_object();
		FUZZ_CHECK(json_is_object(report), "no report");
		FUZZ_CHECK(json_array_size(json_object_get(report, "queues")) == json_array_size(qs),
		           "report and queues disagree");
		FUZZ_CHECK(json_array_size(json_object_get(report, "streams")) == json_array_size(ss),
		           "report and streams disagree");
		json_array_foreach(json_object_get(report, "mappings"), i, v) {
			FUZZ_CHECK(!json_object_get(uuids, json_string_value(v)), "a UUID twice");
			json_object_set(uuids, json_string_value(v), json_true());
		}
		json_decref(uuids);
	}
	json_decref(report);
	json_decref(qs);
	json_decref(ss);
	json_decref(m);
	faas_runtime_free(rt);
	return 0;
}
