/*
 * Fuzz target: an async store's envelope (faas/async.h), as a runtime reads
 * what another host (or anyone with write access to the store) put there.
 *
 * Input: JSON text. A runtime with function "f" ($LATEST and version 1)
 * parses it as a taken event.
 *
 * Invariants (abort on violation):
 *  - text that is not JSON, or not an object with the required members of
 *    the right types, is malformed: NULL and bad;
 *  - an event comes back only for "f" at $LATEST or version 1, with its
 *    token copied, `stored` set, a request id that fits, attempts <= 100,
 *    and a due time no earlier than now;
 *  - nothing leaks (ASan) and nothing crashes on hostile sizes or types.
 */
#include "fuzz.h"

#include "async_int.h"

static faas_runtime_t *rt;

static int handler(faas_context_t *ctx, json_t *event, json_t **response, void *ud)
{
	(void)ctx;
	(void)event;
	(void)ud;
	*response = NULL;
	return 0;
}

static void setup(void)
{
	faas_function_config_t fc = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d;
	uint32_t v;

	if (faas_runtime_new(&rt, NULL, &d) != 0)
		abort();
	fc.handler = handler;
	if (faas_function_create(rt, "f", &fc, &d) != 0 ||
	    faas_function_publish(rt, "f", NULL, &v, &d) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	faas_async_stored_t st;
	struct faas_aevent *ev;
	bool bad = false;
	uint64_t now;

	if (!rt)
		setup();
	memset(&st, 0, sizeof(st));
	snprintf(st.token, sizeof(st.token), "1700000000000-%zu 1", size);
	st.envelope = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!st.envelope)
		return 0; /* a store hands out JSON; its text is the store's business */
	now = faas__clock_mono_ns(&rt->clock);
	ev = faas__astore_parse(rt, &st, &bad);
	FUZZ_CHECK(!(ev && bad), "an event and malformed at once");
	FUZZ_CHECK(json_is_object(st.envelope) || bad, "a non-object envelope is malformed");
	if (ev) {
		FUZZ_CHECK(ev->stored, "a taken event is marked stored");
		FUZZ_CHECK(strcmp(ev->token, st.token) == 0, "the token is copied");
		FUZZ_CHECK(strlen(ev->request_id) < FAAS_REQUEST_ID_SIZE, "the request id fits");
		FUZZ_CHECK(ev->attempts <= 100, "attempts %u", ev->attempts);
		FUZZ_CHECK(ev->due_ns >= now, "due before it was read");
		FUZZ_CHECK(strcmp(ev->version->fn->name, "f") == 0 && ev->version->number <= 1,
		           "only f's versions run here");
		faas__aevent_free(ev);
	}
	json_decref(st.envelope);
	return 0;
}
