/*
 * libfaas — the invoke pipeline (DESIGN §3): parse -> resolve -> admit ->
 * dispatch -> run -> complete. Sync callers wait on the invocation's futex
 * word with the function's deadline as their own watchdog (DESIGN §9.5).
 */
#include "dispatch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

FAAS_TLS faas_runtime_t *faas__current_rt;
/* The invocation whose handler or init runs on this thread, if any. */
static FAAS_TLS struct faas_inv *current_inv;

/* ---- request ids ------------------------------------------------------- */

/* The 16 lowercase hex digits of the 8 bytes of x (in memory order) at out. */
static inline void hex16(char out[16], uint64_t x)
{
#if defined(__SSE2__)
	__m128i v = _mm_cvtsi64_si128((long long)x), mask = _mm_set1_epi8(0x0f), n;

	/* each byte's high nibble, then its low one; 10-15 get 39 more ('a' - '0' - 10) */
	n = _mm_unpacklo_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), mask), _mm_and_si128(v, mask));
	n = _mm_add_epi8(n, _mm_add_epi8(_mm_set1_epi8('0'),
	                                 _mm_and_si128(_mm_cmpgt_epi8(n, _mm_set1_epi8(9)),
	                                               _mm_set1_epi8(39))));
	_mm_storeu_si128((__m128i *)(void *)out, n);
#else
	static const char digits[] = "0123456789abcdef";
	unsigned char b[8];
	int i;

	memcpy(b, &x, 8);
	for (i = 0; i < 8; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
#endif
}

void faas__request_id(char out[FAAS_REQUEST_ID_SIZE])
{
	static FAAS_TLS uint64_t state;
	char h[32];
	unsigned char c;

	if (FAAS_UNLIKELY(state == 0)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		state = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
		        ((uint64_t)(uintptr_t)&state << 7) ^ ((uint64_t)getpid() << 48);
	}
	hex16(h, faas__splitmix64(&state));
	hex16(h + 16, faas__splitmix64(&state));
	/* "8-4-4-4-12" */
	memcpy(out, h, 8);
	out[8] = '-';
	memcpy(out + 9, h + 8, 4);
	out[13] = '-';
	memcpy(out + 14, h + 12, 4);
	out[18] = '-';
	memcpy(out + 19, h + 16, 4);
	out[23] = '-';
	memcpy(out + 24, h + 20, 12);
	out[36] = '\0';
	/* version 4; variant 10, its other two bits from the digit the 4 replaces */
	c = (unsigned char)out[14];
	out[19] = "89ab"[(c <= '9' ? c - '0' : c - 'a' + 10) & 3];
	out[14] = '4';
}

void faas__version_label(uint32_t number, char out[12])
{
	char digits[10];
	int n = 0, i;

	if (number == FAAS_VERSION_LATEST) {
		memcpy(out, "$LATEST", 8);
		return;
	}
	while (number) {
		digits[n++] = (char)('0' + number % 10);
		number /= 10;
	}
	for (i = 0; i < n; i++)
		out[i] = digits[n - 1 - i];
	out[n] = '\0';
}

/* ---- payloads ---------------------------------------------------------- */

static json_t *error_object(const char *type, const char *message)
{
	json_t *o = json_pack("{s:s,s:s,s:[]}", "errorMessage", message, "errorType", type,
	                      "stackTrace");

	return o ? o : json_null();
}

static void timeout_message(const struct faas_inv *inv, char *buf, size_t size)
{
	snprintf(buf, size, "RequestId: %s Error: Task timed out after %.2f seconds", inv->request_id,
	         inv->timeout_ms / 1000.0);
}

static json_t *timeout_payload(const struct faas_inv *inv)
{
	char msg[160];

	timeout_message(inv, msg, sizeof(msg));
	return error_object("Sandbox.Timedout", msg);
}

json_t *faas__inv_timeout_payload(const struct faas_inv *inv)
{
	return timeout_payload(inv);
}

int64_t faas__inv_start_wall(const struct faas_inv *inv)
{
	struct faas_inv *w = (struct faas_inv *)inv; /* the cache of a derived value */
	int64_t t = atomic_load_explicit(&w->start_wall_ms, memory_order_relaxed), none = INT64_MIN;
	uint64_t mono;

	if (t != INT64_MIN)
		return t;
	/* real clock: the wall time now, less the monotonic time since the start */
	mono = faas__real_mono_ns();
	t = faas__clock_wall_ms(&inv->rt->clock) -
	    (int64_t)((mono > inv->start_ns ? mono - inv->start_ns : 0) / 1000000u);
	if (!atomic_compare_exchange_strong(&w->start_wall_ms, &none, t))
		t = none; /* another thread was first: one answer for everyone */
	return t;
}

int64_t faas__inv_deadline_wall(const struct faas_inv *inv)
{
	uint64_t d = atomic_load(&inv->deadline_ns);

	return faas__inv_start_wall(inv) + (int64_t)((d - inv->start_ns) / 1000000u);
}

/* ---- invocation objects ------------------------------------------------ */

void faas__inv_unref(struct faas_inv *inv)
{
	if (atomic_fetch_sub_explicit(&inv->refs, 1, memory_order_acq_rel) != 1)
		return;
	json_decref(inv->event);
	json_decref(inv->client_context);
	json_decref(inv->response);
	/* what the pipeline drops itself on its way, or a failure's buffers */
	if (FAAS_UNLIKELY(inv->version || inv->fn || inv->tail || inv->ctx.message_buf || inv->text)) {
		faas__version_unref(inv->version);
		faas__fn_unref(inv->fn);
		faas__free(inv->tail);
		faas__free(inv->ctx.message_buf);
		faas__json_text_free(inv->text);
	}
	faas__bcache_put(&inv->rt->inv_cache, inv);
}

/* ---- the pipeline (worker side) ---------------------------------------- */

static double ms_between(uint64_t a, uint64_t b)
{
	return b > a ? (double)(b - a) / 1e6 : 0.0;
}

void faas__inv_logf(struct faas_inv *inv, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (!inv->tail && !inv->rt->log_fn && inv->rt->log_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		faas__log_line(inv, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/*
 * REPORT. post_ms >= 0: the environment's external extensions got INVOKE,
 * and worked that long after the handler (billed too). to_tail false: the
 * post-runtime phase ended after the caller took the tail: sinks only.
 */
static void log_report(struct faas_inv *inv, bool created, double post_ms, bool post_timeout,
                       bool to_tail)
{
	char init[48] = "", post[56] = "", line[512];
	const char *status = "";
	double billed = inv->duration_ms + (post_ms > 0 ? post_ms : 0);
	int n;

	if (created && !inv->init_retried) /* an environment made by a first-attempt init */
		snprintf(init, sizeof(init), "Init Duration: %.2f ms\t", inv->init_ms);
	if (post_ms >= 0)
		snprintf(post, sizeof(post), "PostRuntimeExtensionsDuration: %.2f ms\t", post_ms);
	if (inv->outcome == FAAS_OUT_TIMEOUT || post_timeout)
		status = "Status: timeout";
	else if (inv->outcome != FAAS_OUT_SUCCESS)
		status = "Status: error";
	n = snprintf(line, sizeof(line),
	             "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %.0f ms\tMemory Size: "
	             "%u MB\tMax Memory Used: %u MB\t%s%s%s",
	             inv->request_id, inv->duration_ms, billed < 1 ? 1.0 : ceil(billed),
	             inv->version->memory_mb, inv->version->memory_mb, init, post, status);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (to_tail)
		faas__log_line(inv, line, (size_t)n);
	else
		faas__log_sinks(inv->rt, line, (size_t)n);
}

/* Build inv->response for a failed or timed-out invocation. */
static void set_failure(struct faas_inv *inv, int handler_rc)
{
	char msg[FAAS_RESULT_MESSAGE_MAX];
	struct faas_context *ctx = &inv->ctx;

	json_decref(inv->response);
	if (inv->outcome == FAAS_OUT_TIMEOUT) {
		inv->response = timeout_payload(inv);
	} else if (ctx->failed) {
		inv->response = error_object(ctx->error_type, faas__ctx_message(ctx));
	} else if (inv->outcome == FAAS_OUT_INIT_ERROR && inv->init_oom) {
		snprintf(msg, sizeof(msg), "RequestId: %s Error: out of memory", inv->request_id);
		inv->response = error_object("Runtime.OutOfMemory", msg);
	} else if (inv->outcome == FAAS_OUT_INIT_ERROR && inv->init_timed_out) {
		snprintf(msg, sizeof(msg), "RequestId: %s Error: init timed out after %.2f seconds",
		         inv->request_id, inv->rt->init_timeout_ms / 1000.0);
		inv->response = error_object("Runtime.Unknown", msg);
	} else if (inv->outcome == FAAS_OUT_INIT_ERROR) {
		snprintf(msg, sizeof(msg), "RequestId: %s Error: init failed", inv->request_id);
		inv->response = error_object("Runtime.InitError", msg);
	} else {
		snprintf(msg, sizeof(msg), "RequestId: %s Error: handler returned %d", inv->request_id,
		         handler_rc);
		inv->response = error_object("Runtime.HandlerError", msg);
	}
}

static int count_bytes(const char *buffer, size_t size, void *data)
{
	(void)buffer;
	*(size_t *)data += size;
	return 0;
}

size_t faas__json_text_size(const json_t *j)
{
	size_t n = 0;

	json_dump_callback(j, count_bytes, &n, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	return n;
}

/*
 * The response limit applies to JSON text: when the caller asked for the
 * text, or when enforce_json_limits makes json_t responses count too.
 * Over the limit, the response becomes Lambda's function error.
 */
static void check_response_size(struct faas_inv *inv)
{
	faas_runtime_t *rt = inv->rt;
	char msg[128];
	size_t n;

	if (!inv->want_text && !rt->enforce_json_limits)
		return;
	if (inv->want_text) {
		inv->text = faas_json_dumps(inv->response, JSON_COMPACT | JSON_ENCODE_ANY);
		n = inv->text ? strlen(inv->text) : 0;
	} else {
		n = faas__json_text_size(inv->response);
	}
	if (n <= rt->max_response_bytes)
		return;
	faas__json_text_free(inv->text);
	inv->text = NULL;
	json_decref(inv->response);
	snprintf(msg, sizeof(msg),
	         "Response payload size exceeded maximum allowed payload size (%u bytes).",
	         rt->max_response_bytes);
	inv->response = error_object("Function.ResponseSizeTooLarge", msg);
	inv->outcome = FAAS_OUT_ERROR;
	inv->oversize = true;
}

/* Publish the invoke phase's deadline; a caller asleep on the old one
 * (which allowed for a cold start) looks again. */
void faas__inv_set_deadline(struct faas_inv *inv, uint64_t now)
{
	uint64_t deadline = now + (uint64_t)inv->timeout_ms * 1000000u;

	atomic_store(&inv->deadline_ns, deadline); /* its wall time: faas__inv_deadline_wall */
	/* A caller asleep until after the new deadline must plan again. One
	 * that wakes sooner (it sleeps at most a timeout at a time, so a caller
	 * that slept before the handler started always does) reads the deadline
	 * then: no syscall here. seq_cst with wait_for(), which reads the
	 * deadline again after publishing when it means to wake. */
	if (atomic_load(&inv->sleeping) && deadline < atomic_load(&inv->sleep_until)) {
		atomic_fetch_add(&inv->wake, 1);
		faas__futex_wake(&inv->wake, 1);
	}
	if (FAAS_UNLIKELY(inv->done_cb != NULL)) { /* async, batches: housekeeping is the watchdog */
		if (inv->done_cb == faas__batch_done)
			faas__mappings_deadline(inv->rt, atomic_load(&inv->deadline_ns));
		else
			faas__async_deadline(inv->rt, atomic_load(&inv->deadline_ns));
	}
}

/* INVOKE to the environment's extensions; -1 when one vetoes (the
 * context then carries the Extension.<Reason> error). */
static int ext_invoke_start(struct faas_inv *inv, const struct faas_instance *in,
                            faas_ext_event_t *ev)
{
	char msg[FAAS_RESULT_MESSAGE_MAX];

	memset(ev, 0, sizeof(*ev));
	ev->function_name = inv->version->fn->name;
	ev->function_version = inv->version_label;
	ev->request_id = inv->request_id;
	ev->invoked_function_arn = faas_context_invoked_function_arn(&inv->ctx);
	ev->deadline_ms = faas__inv_deadline_wall(inv);
	msg[0] = '\0';
	if (faas__ext_invoke_start(in->exts, ev, inv->ctx.error_type, sizeof(inv->ctx.error_type), msg,
	                           sizeof(msg)) == 0) {
		inv->post = faas__ext_post_begin(inv->rt, in->exts, ev); /* external ones */
		return 0;
	}
	faas__ctx_set_message(&inv->ctx, msg);
	inv->ctx.failed = true;
	return -1;
}

/* The worker's references on the caller's JSON go before the caller is
 * answered, so its last decref orders after ours through `state`
 * (jansson's atomic counts are invisible to ThreadSanitizer). */
static void drop_json(struct faas_inv *inv)
{
	json_decref(inv->event);
	inv->event = NULL;
	json_decref(inv->client_context);
	inv->client_context = NULL;
}

void faas__inv_run(struct faas_inv *inv)
{
	faas_runtime_t *rt = inv->rt, *prev = faas__current_rt;
	const struct faas_code *code = inv->version->code;
	struct faas_inv *prev_inv = current_inv;
	struct faas_instance *in = NULL;
	json_t *response = NULL;
	bool cold = false, had_post, discard;
	bool logging = inv->tail || rt->log_fn || rt->log_fd >= 0;
	bool tel;
	faas_ext_event_t ev;
	uint64_t t0, t1, t2;
	int rc;

	faas__current_rt = rt;
	current_inv = inv;
	rc = faas__instance_acquire(inv, &in, &cold, &inv->init_ms);
	/* Lambda's order: INIT_START and init's own lines, then START */
	if (logging)
		faas__inv_logf(inv, "START RequestId: %s Version: %s", inv->request_id, inv->version_label);
	/* the invoke phase starts now: the function's timeout counts from here
	 * (after a retried init it already counts from the first init's end) */
	t1 = faas__clock_mono_ns(&rt->clock);
	if (!inv->init_retried)
		faas__inv_set_deadline(inv, t1);
	/* Duration's start: a retried init ran on the invocation's time, counted */
	t0 = inv->init_retried ? atomic_load(&inv->deadline_ns) - (uint64_t)inv->timeout_ms * 1000000u
	                       : t1;
	/* one load for the invocation's three records (no subscriber: a branch) */
	tel = faas__tel_wants(rt, FAAS_TELEMETRY_PLATFORM) != 0;
	if (FAAS_UNLIKELY(tel))
		faas__tel_invoke(inv, FAAS_TEL_START, t1, false);
	if (rc != 0) {
		inv->outcome = FAAS_OUT_INIT_ERROR;
	} else if (t1 >= atomic_load(&inv->deadline_ns) ||
	           atomic_load(&inv->state) == FAAS_INV_ABANDONED) {
		/* its time went on a retried init: the handler does not run, and the
		 * environment, never used, stays warm */
		inv->handler_skipped = true;
		inv->outcome = FAAS_OUT_TIMEOUT;
		rc = -1;
	} else {
		inv->ctx.instance_state = in->state;
		inv->ctx.init_type = in->init_type;
		inv->ctx.failed = inv->ctx.fatal = false; /* what init said is not the handler's */
		if (in->exts && ext_invoke_start(inv, in, &ev) != 0) /* vetoed: nothing runs */
			rc = -1;
		else
			rc = code->handler(&inv->ctx, inv->event, &response, code->udata->ptr);
		inv->outcome = rc == 0 && !inv->ctx.failed ? FAAS_OUT_SUCCESS : FAAS_OUT_ERROR;
	}
	inv->end_ns = t2 = faas__clock_mono_ns(&rt->clock);
	if (t2 >= atomic_load(&inv->deadline_ns) || atomic_load(&inv->state) == FAAS_INV_ABANDONED) {
		inv->timed_out = true;
		inv->outcome = FAAS_OUT_TIMEOUT;
	}
	inv->duration_ms = inv->timed_out ? (double)inv->version->timeout_ms : ms_between(t0, t2);
	if (!inv->timed_out) { /* a moving average; concurrent updates may lose one: fine */
		uint64_t avg = atomic_load_explicit(&inv->version->typical_ns, memory_order_relaxed);
		atomic_store_explicit(&inv->version->typical_ns, avg - avg / 8 + (t2 - t1) / 8,
		                      memory_order_relaxed);
	}
	current_inv = prev_inv;
	if (inv->outcome == FAAS_OUT_SUCCESS) {
		inv->response = response ? response : json_null();
		check_response_size(inv);
	}
	if (inv->outcome != FAAS_OUT_SUCCESS && !inv->oversize) {
		if (inv->response != response)
			json_decref(response); /* a late or failed response is discarded */
		inv->response = NULL;
		set_failure(inv, rc);
	}
	if (inv->timed_out && logging) { /* Lambda's line: <ISO time> <request id> Task timed out ... */
		char ts[32];
		faas__format_iso_ms(faas__inv_deadline_wall(inv), ts, sizeof(ts));
		faas__inv_logf(inv, "%s %s Task timed out after %.2f seconds", ts, inv->request_id,
		               inv->timeout_ms / 1000.0);
	}
	if (FAAS_UNLIKELY(atomic_load_explicit(&inv->version->pc, memory_order_relaxed) != NULL))
		faas__metrics_provisioned(inv->version, inv->pc != NULL);
	if (FAAS_UNLIKELY(tel))
		faas__tel_invoke(inv, FAAS_TEL_RUNTIME_DONE, t2, false);
	faas__metrics_invocation(inv->version, inv->outcome,
	                         inv->timed_out ? (uint64_t)inv->timeout_ms * 1000000u : t2 - t0,
	                         cold && in, cold && in && !inv->init_retried, inv->init_ms);
	if (in && in->exts) {
		ev.status = faas__outcome_status(inv->outcome);
		ev.error_type = json_string_value(json_object_get(inv->response, "errorType"));
		if (ev.status == FAAS_EXT_SUCCESS)
			ev.error_type = NULL;
		ev.duration_ms = inv->duration_ms;
		ev.response_bytes = inv->text ? strlen(inv->text) : 0;
		faas__ext_invoke_end(in->exts, &ev);
	}
	if (logging) /* before the environment may go: REPORT may follow on another thread */
		faas__inv_logf(inv, "END RequestId: %s", inv->request_id);
	had_post = inv->post != NULL;
	discard = (inv->timed_out && !inv->handler_skipped) || inv->ctx.fatal;
	/* with external extensions still at work the environment stays busy:
	 * the record then owns it, the version and the token (extext.c) */
	if (had_post)
		inv->posted = faas__ext_post_defer(inv, in, discard, cold, t2);
	if (in && !inv->posted)
		faas__instance_release(inv, in, t2, discard,
		                       inv->timed_out ? FAAS_SHUTDOWN_TIMEOUT : FAAS_SHUTDOWN_FAILURE);
	if (inv->posted) {
		faas__current_rt = prev; /* inv->version is the record's now: REPORT comes with it */
		drop_json(inv);
		return;
	}
	if (had_post)
		faas__metrics_post_runtime(inv->version, 0);
	if (logging)
		log_report(inv, cold && in, had_post ? 0.0 : -1.0, false, true);
	if (FAAS_UNLIKELY(tel))
		faas__tel_invoke(inv, FAAS_TEL_REPORT, t2, cold && in);
	/* Drop the version before the token is released: once nothing is in
	 * flight, nothing still holds code that should have been destroyed.
	 * The caller's side never needs it again. Still a runtime thread here:
	 * destruction callbacks (inline mode) cannot shut the runtime down. */
	faas__version_unref(inv->version);
	inv->version = NULL;
	drop_json(inv);
	faas__current_rt = prev;
}

/* Release the token, then answer the caller (so its next call finds it
 * free). With post-runtime work pending, the token is the record's. True
 * when a sleeping caller was woken or a continuation ran: other threads
 * were at work meanwhile (faas__inv_complete). */
static bool complete(struct faas_inv *inv)
{
	int expected = FAAS_INV_RUNNING;
	bool busy = false;

	if (!inv->posted) {
		faas__conc_release(inv->rt, inv->pool);
		if (FAAS_UNLIKELY(inv->pc != NULL)) { /* the pool lived in it */
			faas__pc_unref(inv->pc);
			inv->pc = NULL;
		}
		faas__fn_unref(inv->fn); /* the pool lived in it: nothing touches it after this */
		inv->fn = NULL;
	}
	if (atomic_compare_exchange_strong(&inv->state, &expected, FAAS_INV_DONE)) {
		if (FAAS_UNLIKELY(inv->done_cb != NULL)) { /* an async attempt: its continuation */
			inv->done_cb(inv, false);
			faas__inv_unref(inv);
			return true;
		}
		atomic_fetch_add(&inv->wake, 1);
		/* seq_cst with the caller's store of `sleeping`: either it sees DONE
		 * before it sleeps, or we see it sleeping; no syscall otherwise */
		if (atomic_load(&inv->sleeping)) {
			faas__futex_wake(&inv->wake, 1);
			busy = true;
		}
	}
	faas__inv_unref(inv);
	return busy;
}

bool faas__inv_complete(struct faas_inv *inv)
{
	return complete(inv);
}

void faas__inv_post_complete(struct faas_inv *inv, struct faas_instance *in, uint64_t post_ns,
                             bool cold, int why)
{
	faas_runtime_t *rt = inv->rt;

	faas__metrics_post_runtime(inv->version, post_ns);
	inv->post_ms = (double)post_ns / 1e6; /* REPORT's billing, the telemetry one's too */
	inv->post_timeout = why == FAAS_SHUTDOWN_TIMEOUT;
	if (rt->log_fn || rt->log_fd >= 0) /* the caller has the tail by now */
		log_report(inv, cold, inv->post_ms, inv->post_timeout, false);
	if (FAAS_UNLIKELY(faas__tel_wants(rt, FAAS_TELEMETRY_PLATFORM)))
		faas__tel_invoke(inv, FAAS_TEL_REPORT, faas__clock_mono_ns(&rt->clock), cold);
	faas__instance_release(inv, in, faas__clock_mono_ns(&rt->clock), why >= 0,
	                       why >= 0 ? (faas_shutdown_reason_t)why : FAAS_SHUTDOWN_SPINDOWN);
	faas__version_unref(inv->version);
	inv->version = NULL;
	faas__conc_release(rt, inv->pool);
	faas__pc_unref(inv->pc);
	inv->pc = NULL;
	faas__fn_unref(inv->fn);
	inv->fn = NULL;
	faas__inv_unref(inv);
}

int faas__submit(struct faas_inv *inv)
{
	if (inv->rt->inline_mode) {
		faas_runtime_t *prev = faas__current_rt;
		faas__current_rt = inv->rt;
		/* inline runtimes have no housekeeping thread */
		if (inv->start_ns >= atomic_load_explicit(&inv->rt->next_reap_ns, memory_order_relaxed))
			faas__reap_due(inv->rt);
		if (FAAS_UNLIKELY(atomic_load_explicit(&inv->rt->pc_work, memory_order_relaxed)))
			faas__pc_work(inv->rt);
		faas__current_rt = prev;
		faas__inv_run(inv);
		complete(inv);
		return 0;
	}
	return faas__workers_dispatch(inv->rt, inv);
}

/* ---- the caller's side ------------------------------------------------- */

static void result_api_error(faas_result_t *r, int code, const char *msg)
{
	r->code = code;
	r->status_code = faas_error_http_status(code);
	r->error_type = faas_error_lambda_name(code);
	if (!r->message[0]) {
		const char *text = msg ? msg : faas_strerror(code);
		size_t n = strnlen(text, sizeof(r->message) - 1);
		memcpy(r->message, text, n);
		r->message[n] = '\0';
	}
}

/* The throttle's answer, written straight into the result: the path a
 * refused call takes most often, kept to a few stores. */
static int throttle_result(faas_result_t *r, const char *reason)
{
	static const char msg[] = "Rate Exceeded.";

	r->code = FAAS_ETHROTTLED;
	r->status_code = 429;
	r->error_type = "TooManyRequestsException";
	r->throttle_reason = reason;
	if (!r->message[0])
		memcpy(r->message, msg, sizeof(msg));
	return FAAS_ETHROTTLED;
}

static int fail_result(faas_result_t *r, const faas_error_detail_t *d, int code)
{
	result_api_error(r, code, d ? d->message : NULL);
	return code;
}

/* Short handlers answer before a sleep would even begin: poll for them. */
static bool spin_for_result(struct faas_inv *inv)
{
	struct faas_workers *wp = inv->rt->workers;
	uint64_t end;
	unsigned i;

	if (!wp->spin || !inv->short_fn)
		return false;
	end = faas__real_mono_ns() + wp->spin_ns;
	for (i = 1;; i++) {
		if (atomic_load_explicit(&inv->state, memory_order_acquire) == FAAS_INV_DONE)
			return true;
		if ((i & 63) == 0 && faas__spin_tick(end, wp->spin_ns))
			return false;
		faas__cpu_relax();
	}
}

/* Wait for completion or the deadline. Returns true when the call timed out. */
static bool wait_for(struct faas_inv *inv)
{
	faas_runtime_t *rt = inv->rt;
	bool virt = rt->clock.kind == FAAS_CLOCK_VIRTUAL, timed_out = false;
	uint64_t timeout_ns = (uint64_t)inv->timeout_ms * 1000000u;
	int expected;

	if (!virt && spin_for_result(inv))
		return false;
	inv->vw.wake = &inv->wake;
	if (virt)
		faas__vwait_add(rt, &inv->vw);
	for (;;) {
		uint32_t w = atomic_load_explicit(&inv->wake, memory_order_acquire);
		if (atomic_load_explicit(&inv->state, memory_order_acquire) == FAAS_INV_DONE)
			break;
		uint64_t deadline = atomic_load(&inv->deadline_ns), until = 0;
		uint64_t now = faas__clock_mono_ns(&rt->clock);
		if (now >= deadline) {
			expected = FAAS_INV_RUNNING;
			if (atomic_compare_exchange_strong(&inv->state, &expected, FAAS_INV_ABANDONED)) {
				atomic_store_explicit(&inv->ctx.cancelled, true, memory_order_release);
				timed_out = true;
			}
			break;
		}
		/* At most one timeout at a time: the deadline the handler's start
		 * sets is never sooner, so moving it costs no wake (a long init
		 * costs a wake per timeout). */
		if (!virt)
			until = deadline - now > timeout_ns ? now + timeout_ns : deadline;
		/* virtual: woken by the clock, but a deadline stored after a clock
		 * move (one that made it due) must wake us too (UINT64_MAX) */
		atomic_store(&inv->sleep_until, virt ? UINT64_MAX : until);
		atomic_store(&inv->sleeping, true);
		if (atomic_load(&inv->state) == FAAS_INV_DONE)
			break;
		if (atomic_load(&inv->deadline_ns) < until)
			continue; /* moved sooner meanwhile: plan again */
		faas__futex_wait(&inv->wake, w, until);
	}
	if (virt)
		faas__vwait_remove(rt, &inv->vw);
	return timed_out;
}

static void fill_function_error(faas_runtime_t *rt, faas_result_t *r, json_t *payload)
{
	const char *msg = json_string_value(json_object_get(payload, "errorMessage"));

	r->function_error = rt->legacy_handled ? FAAS_FUNCTION_ERROR_HANDLED : FAAS_FUNCTION_ERROR_UNHANDLED;
	snprintf(r->message, sizeof(r->message), "%s", msg ? msg : "");
}

static void fill_result(struct faas_inv *inv, faas_result_t *r, bool abandoned)
{
	r->code = 0;
	r->status_code = 200;
	r->lineage = inv->lineage;
	if (abandoned) { /* the worker still runs: read only what it never writes */
		r->payload = timeout_payload(inv);
		r->duration_ms = inv->timeout_ms;
		fill_function_error(inv->rt, r, r->payload);
		return;
	}
	r->payload = inv->response;
	inv->response = NULL;
	r->duration_ms = inv->duration_ms;
	r->init_duration_ms = inv->init_ms;
	if (inv->outcome != FAAS_OUT_SUCCESS)
		fill_function_error(inv->rt, r, r->payload);
	if (inv->text) {
		r->payload_text = inv->text;
		r->payload_text_len = strlen(inv->text);
		inv->text = NULL;
	}
	if (inv->tail) {
		r->log_tail = inv->tail;
		r->log_tail_len = inv->tail_len;
		r->log_tail_base64 = faas__base64(inv->tail, inv->tail_len); /* NULL on ENOMEM */
		inv->tail = NULL;
	}
}

/* request_id: the event's (async attempts), or NULL for a new one; now:
 * the runtime clock's time when the caller has just read it, else 0 */
static struct faas_inv *inv_new(faas_runtime_t *rt, struct faas_resolved *res,
                                const struct faas_ident *id, json_t *event,
                                const faas_invoke_options_t *o, const char *request_id,
                                uint64_t now)
{
	struct faas_inv *inv = faas__bcache_get(&rt->inv_cache, sizeof(*inv));

	if (!inv)
		return NULL;
	/* Zero what needs it, not the context's error type buffer: an empty
	 * string is all it needs (the message buffer is allocated on failure). */
	memset(inv, 0, offsetof(struct faas_inv, ctx));
	memset(&inv->ctx, 0, offsetof(struct faas_context, error_type));
	inv->ctx.error_type[0] = '\0';
	inv->tail = NULL;
	if (o && o->log_type == FAAS_LOG_TAIL) {
		if (!(inv->tail = faas__malloc(FAAS_TAIL_MAX + 1))) {
			faas__free(inv);
			return NULL;
		}
		inv->tail[0] = '\0';
	}
	inv->want_text = o && o->response_text;
	atomic_init(&inv->refs, 2); /* caller + worker */
	atomic_init(&inv->state, FAAS_INV_RUNNING);
	atomic_init(&inv->wake, 0);
	atomic_init(&inv->sleeping, false);
	atomic_init(&inv->sleep_until, 0);
	atomic_init(&inv->ctx.cancelled, false);
	inv->rt = rt;
	inv->version = res->version; /* the resolution's reference moves here */
	res->version = NULL;
	/* its own reference on the function: the token goes back to fn->pool
	 * after the worker has dropped the version (which may be the last) */
	inv->fn = inv->version->fn;
	faas__fn_ref(inv->fn);
	inv->event = event ? json_incref(event) : json_null();
	inv->client_context = o && o->client_context ? json_incref(o->client_context) : NULL;
	inv->ctx.inv = inv;
	if (!now)
		now = faas__clock_mono_ns(&rt->clock);
	inv->start_ns = now;
	inv->timeout_ms = inv->version->timeout_ms;
	inv->short_fn = atomic_load_explicit(&inv->version->typical_ns, memory_order_relaxed) <
	                rt->workers->spin_ns;
	/* until the handler starts, a cold start's init may use its own limit too */
	atomic_init(&inv->deadline_ns,
	            now + ((uint64_t)rt->init_timeout_ms + inv->version->timeout_ms) * 1000000u);
	/* a virtual clock's wall time costs no clock read: taken now, exactly */
	atomic_init(&inv->start_wall_ms, rt->clock.kind == FAAS_CLOCK_VIRTUAL
	                                         ? faas__clock_wall_ms(&rt->clock)
	                                         : INT64_MIN);
	if (request_id)
		memcpy(inv->request_id, request_id, FAAS_REQUEST_ID_SIZE);
	else
		faas__request_id(inv->request_id);
	faas__version_label(inv->version->number, inv->version_label);
	/* the invoked ARN is formatted on first use (faas_context_invoked_function_arn) */
	inv->arn[0] = '\0';
	inv->qual_len = id->qual ? id->qual_len : 0;
	inv->has_qual = id->qual != NULL;
	memcpy(inv->qual, id->qual ? id->qual : "", inv->qual_len);
	return inv;
}

struct faas_inv *faas__inv_bare(faas_runtime_t *rt, struct faas_version *v)
{
	struct faas_inv *inv = faas__calloc(1, sizeof(*inv));
	uint64_t now;

	if (!inv)
		return NULL;
	atomic_init(&inv->refs, 1);
	atomic_init(&inv->state, FAAS_INV_RUNNING);
	atomic_init(&inv->wake, 0);
	atomic_init(&inv->sleeping, false);
	atomic_init(&inv->ctx.cancelled, false);
	inv->rt = rt;
	faas__version_ref(v);
	inv->version = v;
	inv->fn = v->fn;
	faas__fn_ref(inv->fn);
	inv->ctx.inv = inv;
	now = faas__clock_mono_ns(&rt->clock);
	inv->start_ns = now;
	inv->timeout_ms = v->timeout_ms;
	atomic_init(&inv->deadline_ns, now + (uint64_t)rt->init_timeout_ms * 1000000u);
	atomic_init(&inv->start_wall_ms, faas__clock_wall_ms(&rt->clock));
	faas__version_label(v->number, inv->version_label); /* no request id: init has none */
	return inv;
}

struct faas_inv *faas__inv_async(faas_runtime_t *rt, struct faas_version *v, const char *qual,
                                 size_t qual_len, json_t *event, const char *request_id,
                                 uint32_t lineage, uint64_t now)
{
	struct faas_resolved res = { v, v->number, NULL };
	struct faas_ident id;
	struct faas_inv *inv;

	memset(&id, 0, sizeof(id));
	id.qual = qual_len ? qual : NULL;
	id.qual_len = qual_len;
	faas__version_ref(v); /* the invocation's, as a resolution would give it */
	if (!(inv = inv_new(rt, &res, &id, event, NULL, request_id, now))) {
		faas__version_unref(v);
		return NULL;
	}
	inv->lineage = lineage;
	return inv;
}

static int check_call(faas_runtime_t *rt, const faas_invoke_options_t *o, faas_result_t *r,
                      faas_error_detail_t *d)
{
	int st;

	if (!rt)
		return faas__fail(d, FAAS_EINVAL, "runtime must not be NULL");
	if (o && o->version != FAAS_INVOKE_OPTIONS_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_invoke_options_t version %u",
		                  o->version);
	if (o && (o->type < FAAS_INVOKE_REQUEST_RESPONSE || o->type > FAAS_INVOKE_DRY_RUN))
		return faas__fail(d, FAAS_EINVAL, "unknown invocation type %d", (int)o->type);
	if (o && o->client_context && !json_is_object(o->client_context))
		return faas__fail(d, FAAS_EINVAL, "Client context must be a JSON object");
	if (r->version != FAAS_RESULT_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_result_t version %u", r->version);
	st = atomic_load_explicit(&rt->state, memory_order_acquire);
	if (st != FAAS_RT_RUNNING && !(st == FAAS_RT_DRAINING && faas__current_rt == rt))
		return faas__fail(d, FAAS_ESHUTDOWN, "the runtime is shut down");
	return 0;
}

/* Back to FAAS_RESULT_INIT, keeping `version`, without touching the buffers' tails. */
static void result_reset(faas_result_t *r)
{
	r->code = 0;
	r->status_code = 0;
	r->function_error = FAAS_FUNCTION_ERROR_NONE;
	r->payload = NULL;
	r->request_id[0] = '\0';
	r->executed_version[0] = '\0';
	r->error_type = NULL;
	r->throttle_reason = NULL;
	r->message[0] = '\0';
	r->duration_ms = 0;
	r->init_duration_ms = 0;
	r->log_tail = NULL;
	r->log_tail_base64 = NULL;
	r->log_tail_len = 0;
	r->payload_text = NULL;
	r->payload_text_len = 0;
	r->lineage = 0;
}

/* The request-side limits: client context size, json_t event size when asked. */
static int check_sizes(faas_runtime_t *rt, json_t *event, const faas_invoke_options_t *o,
                       faas_error_detail_t *d)
{
	size_t n;

	if (o && o->client_context) {
		n = faas__json_text_size(o->client_context);
		if (4 * ((n + 2) / 3) > FAAS_CLIENT_CONTEXT_MAX)
			return faas__fail(d, FAAS_EINVAL,
			                  "Client context must be at most %u bytes when base64-encoded; this "
			                  "one is %zu",
			                  FAAS_CLIENT_CONTEXT_MAX, 4 * ((n + 2) / 3));
	}
	if (rt->enforce_json_limits && event) {
		n = faas__json_text_size(event);
		if (o && o->type == FAAS_INVOKE_EVENT && n > rt->max_async_request_bytes)
			return faas__fail(d, FAAS_ETOOLARGE,
			                  "%zu byte payload is too large for the Event invocation type "
			                  "(limit %u bytes)",
			                  n, rt->max_async_request_bytes);
		if (n > rt->max_request_bytes)
			return faas__fail(d, FAAS_ETOOLARGE,
			                  "Request must be smaller than %u bytes for the InvokeFunction "
			                  "operation",
			                  rt->max_request_bytes);
	}
	return 0;
}

/* A token for the call; nested calls (from a runtime thread) never wait. */
static int admit(faas_runtime_t *rt, const struct faas_resolved *res, const faas_invoke_options_t *o,
                 bool nested, struct faas_pool **pool, struct faas_pc **pcp, const char **reason)
{
	int64_t wait = o && o->throttle_wait_ms >= 0 ? o->throttle_wait_ms
	                                              : (int64_t)res->version->throttle_wait_ms;
	struct faas_pc *pc = atomic_load_explicit(&res->version->pc, memory_order_acquire);

	if (FAAS_UNLIKELY(pc != NULL) && faas__pc_admit(rt, pc)) { /* provisioned first */
		*pool = &pc->pool;
		*pcp = pc;
		return 0;
	}

	if (nested || wait <= 0) /* runtime threads never wait for a token (DESIGN 9.4) */
		return faas__conc_admit(rt, res->version->fn, pool, reason);
	if (wait > UINT32_MAX)
		wait = UINT32_MAX;
	return faas__conc_admit_wait(rt, res->version->fn, (uint32_t)wait, pool, reason);
}

int faas__admit_now(faas_runtime_t *rt, struct faas_version *v, struct faas_pool **pool,
                    struct faas_pc **pcp, const char **reason)
{
	struct faas_resolved res = { v, v->number, NULL };

	*pcp = NULL;
	return admit(rt, &res, NULL, true, pool, pcp, reason);
}

/* Inline mode has no telemetry thread: a call from outside the runtime
 * delivers what is due when it ends (never a handler's nested call). */
static inline void inline_telemetry(faas_runtime_t *rt, const struct faas_inv *parent)
{
	if (FAAS_UNLIKELY(faas__tel_wants(rt, FAAS_TELEMETRY_ALL)) && rt->inline_mode && !parent &&
	    faas__current_rt != rt)
		faas__tel_poll(rt);
	if (FAAS_UNLIKELY(atomic_load_explicit(&rt->async_queued, memory_order_relaxed) != 0) &&
	    rt->inline_mode && !parent && faas__current_rt != rt)
		faas__async_run_inline(rt); /* events its handlers queued */
}

static int invoke(faas_runtime_t *rt, struct faas_inv *parent, const char *identifier,
                  json_t *event, const faas_invoke_options_t *o, faas_result_t *r)
{
	faas_error_detail_t d; /* only its head is reset: the message is written on failure */
	struct faas_resolved res = { NULL, 0, NULL };
	struct faas_ident id;
	struct faas_inv *inv;
	struct faas_pool *pool = NULL;
	struct faas_pc *pc = NULL;
	const char *reason = NULL;
	uint32_t lineage = parent ? parent->lineage + 1 : 1;
	bool abandoned;
	int rc;

	if (!r)
		return FAAS_EINVAL;
	result_reset(r);
	faas__detail_reset(&d);
	if ((rc = check_call(rt, o, r, &d)) != 0 ||
	    (rc = faas__ident_parse(rt, identifier, o ? o->qualifier : NULL, FAAS_IDENT_INVOKE, &id,
	                            &d)) != 0 ||
	    (rc = check_sizes(rt, event, o, &d)) != 0)
		return fail_result(r, &d, rc);
	if (o && o->type == FAAS_INVOKE_DRY_RUN) {
		/* steps 1-2 only: validate, never draw routing, never throttle */
		if ((rc = faas__registry_resolve(rt, &id, NULL, false, &res, &d)) != 0)
			return fail_result(r, &d, rc);
		faas__resolved_release(&res);
		r->status_code = 204;
		return 0;
	}
	if (o && o->type == FAAS_INVOKE_EVENT) {
		if ((rc = faas__registry_resolve_event(rt, &id, o->routing_key, &res, &d)) != 0)
			return fail_result(r, &d, rc);
		faas__version_label(res.executed, r->executed_version);
		rc = faas__async_enqueue(rt, &res, &id, event, lineage, r->request_id, &d);
		faas__resolved_release(&res);
		if (rc != 0) {
			r->executed_version[0] = '\0';
			if (rc == FAAS_EAGAIN)
				r->throttle_reason = "AsyncQueueFull";
			return fail_result(r, &d, rc);
		}
		r->status_code = 202;
		r->lineage = lineage;
		return 0;
	}
	if ((rc = faas__registry_resolve(rt, &id, o ? o->routing_key : NULL, true, &res, &d)) != 0)
		return fail_result(r, &d, rc);
	if (lineage > FAAS_RECURSION_LIMIT && !res.version->allow_recursion) {
		faas__resolved_release(&res);
		faas__fail(&d, FAAS_ERECURSION,
		           "Recursive invocation stopped: this request chain already made %u "
		           "invocations (set allow_recursion to permit it)",
		           lineage - 1);
		return fail_result(r, &d, FAAS_ERECURSION);
	}
	faas__version_label(res.executed, r->executed_version);
	r->lineage = lineage;
	/* Admission before any allocation: a throttle costs one CAS. */
	if ((rc = admit(rt, &res, o, parent != NULL || faas__current_rt == rt, &pool, &pc,
	                &reason)) != 0) {
		if (rc == FAAS_ESHUTDOWN) { /* it stopped while we waited for a slot */
			faas__resolved_release(&res);
			faas__fail(&d, rc, "the runtime is shut down");
			return fail_result(r, &d, rc);
		}
		faas__metrics_throttle(res.version);
		if (FAAS_UNLIKELY(faas__tel_wants(rt, FAAS_TELEMETRY_FAAS)))
			faas__tel_throttle(rt, res.version->fn->name, r->executed_version, id.qual,
			                   id.qual_len, reason);
		faas__resolved_release(&res);
		inline_telemetry(rt, parent);
		return throttle_result(r, reason);
	}
	if (!(inv = inv_new(rt, &res, &id, event, o, NULL, 0))) {
		faas__conc_release(rt, pool);
		faas__pc_unref(pc);
		faas__resolved_release(&res);
		faas__fail(&d, FAAS_ENOMEM, NULL);
		return fail_result(r, &d, FAAS_ENOMEM);
	}
	inv->pool = pool;
	inv->pc = pc;
	inv->lineage = lineage;
	memcpy(r->request_id, inv->request_id, sizeof(r->request_id));
	if ((rc = faas__submit(inv)) != 0) {
		faas__conc_release(rt, inv->pool);
		faas__pc_unref(inv->pc);
		inv->pc = NULL;
		atomic_store(&inv->refs, 1);
		faas__inv_unref(inv);
		faas__fail(&d, rc, rc == FAAS_ETHREAD ? "could not start a worker thread" : NULL);
		return fail_result(r, &d, rc);
	}
	abandoned = rt->inline_mode ? false : wait_for(inv);
	fill_result(inv, r, abandoned);
	faas__inv_unref(inv);
	inline_telemetry(rt, parent);
	return 0;
}

uint32_t faas__current_lineage(const faas_runtime_t *rt)
{
	return current_inv && current_inv->rt == rt ? current_inv->lineage : 0;
}

int faas_invoke(faas_runtime_t *rt, const char *identifier, json_t *event,
                const faas_invoke_options_t *o, faas_result_t *r)
{
	/* on a handler's thread, the call belongs to that handler's request chain */
	return invoke(rt, current_inv && current_inv->rt == rt ? current_inv : NULL, identifier, event,
	              o, r);
}

int faas_context_invoke(faas_context_t *ctx, const char *identifier, json_t *event,
                        const faas_invoke_options_t *o, faas_result_t *r)
{
	if (!ctx) {
		if (r) {
			result_reset(r);
			result_api_error(r, FAAS_EINVAL, "context must not be NULL");
		}
		return FAAS_EINVAL;
	}
	return invoke(ctx->inv->rt, ctx->inv, identifier, event, o, r);
}

static uint32_t rt_request_max(const faas_runtime_t *rt)
{
	return rt ? rt->max_request_bytes : FAAS_SYNC_REQUEST_MAX;
}

int faas_invoke_json(faas_runtime_t *rt, const char *identifier, const char *text, size_t len,
                     const faas_invoke_options_t *o, faas_result_t *r)
{
	json_error_t err;
	json_t *event;
	int rc;

	if (!r)
		return FAAS_EINVAL;
	result_reset(r);
	if (!text && len) {
		result_api_error(r, FAAS_EINVAL, "json must not be NULL");
		return FAAS_EINVAL;
	}
	if (rt && o && o->type == FAAS_INVOKE_EVENT && len > rt->max_async_request_bytes) {
		snprintf(r->message, sizeof(r->message),
		         "%zu byte payload is too large for the Event invocation type (limit %u bytes)",
		         len, rt->max_async_request_bytes);
		result_api_error(r, FAAS_ETOOLARGE, NULL);
		return FAAS_ETOOLARGE;
	}
	if (len > rt_request_max(rt)) {
		snprintf(r->message, sizeof(r->message),
		         "Request must be smaller than %u bytes for the InvokeFunction operation",
		         rt_request_max(rt));
		result_api_error(r, FAAS_ETOOLARGE, NULL);
		return FAAS_ETOOLARGE;
	}
	memset(&err, 0, sizeof(err)); /* jansson leaves it untouched when it fails at once */
	if (len == 0) {
		event = json_null();
	} else if (!(event = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err))) {
		if (faas__json_oom(&err)) {
			result_api_error(r, FAAS_ENOMEM, NULL);
			return FAAS_ENOMEM;
		}
		snprintf(r->message, sizeof(r->message),
		         "Could not parse request body into json: %s (line %d, column %d)", err.text,
		         err.line, err.column);
		result_api_error(r, FAAS_EBADJSON, NULL);
		return FAAS_EBADJSON;
	}
	rc = faas_invoke(rt, identifier, event, o, r);
	json_decref(event);
	return rc;
}

void faas_result_clear(faas_result_t *r)
{
	if (!r)
		return;
	json_decref(r->payload);
	if (FAAS_UNLIKELY(r->log_tail || r->log_tail_base64 || r->payload_text)) {
		faas__free(r->log_tail);
		faas__free(r->log_tail_base64);
		faas__json_text_free(r->payload_text);
	}
	result_reset(r);
}
