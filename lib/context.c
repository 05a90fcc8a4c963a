/*
 * libfaas — the handler's context, function errors and per-invocation logs.
 * Everything here is worker-owned and valid for the duration of the call.
 */
#include "dispatch.h"

#include <stdio.h>
#include <sys/uio.h>

#define CTX_INV(ctx) ((ctx)->inv)

const char *faas_context_request_id(const faas_context_t *ctx)
{
	return ctx ? CTX_INV(ctx)->request_id : NULL;
}

const char *faas_context_function_name(const faas_context_t *ctx)
{
	return ctx ? CTX_INV(ctx)->version->fn->name : NULL;
}

const char *faas_context_function_version(const faas_context_t *ctx)
{
	return ctx ? CTX_INV(ctx)->version_label : NULL;
}

const char *faas_context_invoked_function_arn(const faas_context_t *ctx)
{
	struct faas_inv *inv;

	if (!ctx)
		return NULL;
	inv = CTX_INV(ctx);
	if (!inv->arn[0]) /* worker-owned: only this thread formats it */
		faas__format_arn(inv->rt, inv->version->fn->name, inv->version->fn->name_len,
		                 inv->has_qual ? inv->qual : NULL, inv->qual_len, inv->arn,
		                 sizeof(inv->arn));
	return inv->arn;
}

uint32_t faas_context_memory_limit_mb(const faas_context_t *ctx)
{
	return ctx ? CTX_INV(ctx)->version->memory_mb : 0;
}

int64_t faas_context_deadline_ms(const faas_context_t *ctx)
{
	return ctx ? faas__inv_deadline_wall(CTX_INV(ctx)) : 0;
}

int64_t faas_context_remaining_ms(const faas_context_t *ctx)
{
	uint64_t now, deadline;

	if (!ctx)
		return 0;
	now = faas__clock_mono_ns(&CTX_INV(ctx)->rt->clock);
	deadline = atomic_load(&CTX_INV(ctx)->deadline_ns);
	return now >= deadline ? 0 : (int64_t)((deadline - now) / 1000000u);
}

bool faas_context_cancelled(const faas_context_t *ctx)
{
	return ctx && atomic_load_explicit(&ctx->cancelled, memory_order_acquire);
}

json_t *faas_context_client_context(const faas_context_t *ctx)
{
	return ctx ? CTX_INV(ctx)->client_context : NULL;
}

const char *faas_context_getenv(const faas_context_t *ctx, const char *key)
{
	const struct faas_version *v;
	size_t i;

	if (!ctx || !key)
		return NULL;
	v = CTX_INV(ctx)->version;
	for (i = 0; i < v->env_count; i++)
		if (strcmp(v->env[i].key, key) == 0)
			return v->env[i].value;
	return NULL;
}

void *faas_context_instance_state(const faas_context_t *ctx)
{
	return ctx ? ctx->instance_state : NULL;
}

const char *faas_context_initialization_type(const faas_context_t *ctx)
{
	if (!ctx)
		return NULL;
	return ctx->init_type ? ctx->init_type : "on-demand";
}

faas_runtime_t *faas_context_runtime(const faas_context_t *ctx)
{
	return ctx ? CTX_INV(ctx)->rt : NULL;
}

/* Replace bytes that are not valid UTF-8 so jansson accepts the text. */
void faas__make_utf8(char *s)
{
	size_t len = strlen(s), i = 0, n;

	while (i < len) {
		for (n = 1; n <= 4 && i + n <= len; n++)
			if (faas__utf8_chars(s + i, n) == 1)
				break;
		if (n > 4 || i + n > len) {
			s[i++] = '?';
			continue;
		}
		i += n;
	}
}

void faas__ctx_set_message(struct faas_context *ctx, const char *msg)
{
	ctx->message_lost = false;
	if (!ctx->message_buf) {
		if (!*msg)
			return; /* "" needs no buffer */
		if (!(ctx->message_buf = faas__malloc(FAAS_RESULT_MESSAGE_MAX))) {
			ctx->message_lost = true;
			return;
		}
	}
	snprintf(ctx->message_buf, FAAS_RESULT_MESSAGE_MAX, "%s", msg);
	faas__make_utf8(ctx->message_buf);
}

const char *faas__ctx_message(const struct faas_context *ctx)
{
	if (ctx->message_buf)
		return ctx->message_buf;
	return ctx->message_lost ? "(the error message was lost: out of memory)" : "";
}

static int vfail(faas_context_t *ctx, bool fatal, const char *type, const char *fmt, va_list ap)
{
	char msg[FAAS_RESULT_MESSAGE_MAX];

	if (!ctx)
		return -1;
	if (!ctx->failed) { /* the first failure wins */
		snprintf(ctx->error_type, sizeof(ctx->error_type), "%s", type && *type ? type : "Error");
		vsnprintf(msg, sizeof(msg), fmt ? fmt : "", ap);
		faas__make_utf8(ctx->error_type);
		faas__ctx_set_message(ctx, msg);
		ctx->failed = true;
	}
	ctx->fatal |= fatal;
	return -1;
}

int faas_context_fail(faas_context_t *ctx, const char *type, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(ctx, false, type, fmt, ap);
	va_end(ap);
	return rc;
}

int faas_context_fail_fatal(faas_context_t *ctx, const char *type, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(ctx, true, type, fmt, ap);
	va_end(ap);
	return rc;
}

/* Keep the last FAAS_TAIL_MAX bytes of the log, each line ending in '\n'.
 * The buffer has FAAS_TAIL_MAX + 1 bytes. */
static void tail_append(struct faas_inv *inv, const char *line, size_t len)
{
	size_t need, drop;

	if (!inv->tail)
		return;
	if (len + 1 > FAAS_TAIL_MAX) { /* keep the end of an overlong line */
		line += len + 1 - FAAS_TAIL_MAX;
		len = FAAS_TAIL_MAX - 1;
	}
	need = len + 1;
	if (inv->tail_len + need > FAAS_TAIL_MAX) {
		drop = inv->tail_len + need - FAAS_TAIL_MAX;
		memmove(inv->tail, inv->tail + drop, inv->tail_len - drop);
		inv->tail_len -= drop;
	}
	memcpy(inv->tail + inv->tail_len, line, len);
	inv->tail[inv->tail_len + len] = '\n';
	inv->tail_len += need;
	inv->tail[inv->tail_len] = '\0';
}

void faas__log_line(struct faas_inv *inv, const char *line, size_t len)
{
	tail_append(inv, line, len);
	faas__log_sinks(inv->rt, line, len);
}

void faas__log_sinks(faas_runtime_t *rt, const char *line, size_t len)
{
	/* A handler that outlived faas_runtime_free no longer reaches the host's
	 * sinks: free sets `freed` then waits for sink_users to drain (seq_cst
	 * pair), so no call starts after free has returned. */
	atomic_fetch_add(&rt->sink_users, 1);
	if (!atomic_load(&rt->freed)) {
		if (rt->log_fn)
			rt->log_fn(line, len, rt->log_user_data);
		if (rt->log_fd >= 0) {
			struct iovec iov[2] = { { (void *)line, len }, { (void *)"\n", 1 } };
			ssize_t w = writev(rt->log_fd, iov, 2); /* one line, one write */
			(void)w; /* a log that cannot be written is not the invocation's failure */
		}
	}
	atomic_fetch_sub(&rt->sink_users, 1);
}

void faas_context_log(faas_context_t *ctx, const char *fmt, ...)
{
	char buf[1024];
	struct faas_inv *inv;
	va_list ap;
	bool sinks, tel;
	int n;

	if (!ctx || !fmt)
		return;
	inv = CTX_INV(ctx);
	sinks = inv->tail || inv->rt->log_fn || inv->rt->log_fd >= 0;
	tel = faas__tel_wants(inv->rt, FAAS_TELEMETRY_FUNCTION) != 0;
	if (!sinks && FAAS_LIKELY(!tel))
		return; /* nobody reads it: do not even format it */
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	if (sinks)
		faas__log_line(inv, buf, (size_t)n);
	if (tel)
		faas__tel_function(inv, buf, (size_t)n);
}
