/*
 * libfaas — the error table and error details.
 */
#include "faas_int.h"

#include <stdio.h>

struct errinfo {
	int code;
	const char *name;
	const char *text;
	const char *lambda;
	int status;
};

static const struct errinfo errtab[] = {
#define XX(name, value, text, lambda, status) { value, "FAAS_" #name, text, lambda, status },
	FAAS_ERRNO_MAP(XX)
#undef XX
};

static const struct errinfo *lookup(int code)
{
	if (code >= 0 || code < FAAS_ERRNO_MIN_)
		return NULL;
	/* The table lists codes -1, -2, ... in order. */
	return &errtab[-code - 1];
}

const char *faas_strerror(int code)
{
	const struct errinfo *e = lookup(code);

	if (code == 0)
		return "success";
	return e ? e->text : "unknown error";
}

const char *faas_err_name(int code)
{
	const struct errinfo *e = lookup(code);

	if (code == 0)
		return "FAAS_OK";
	return e ? e->name : "FAAS_EUNKNOWN";
}

const char *faas_error_lambda_name(int code)
{
	const struct errinfo *e = lookup(code);

	return e ? e->lambda : NULL;
}

int faas_error_http_status(int code)
{
	const struct errinfo *e = lookup(code);

	if (code == 0)
		return 200;
	return e ? e->status : 500;
}

void faas__detail_reset(faas_error_detail_t *d)
{
	if (!d)
		return;
	d->code = 0;
	d->http_status = 200;
	d->lambda_name = NULL;
	d->message[0] = '\0';
}

static void set_code(faas_error_detail_t *d, int code)
{
	d->code = code;
	d->http_status = faas_error_http_status(code);
	d->lambda_name = faas_error_lambda_name(code);
	if (!d->lambda_name)
		d->lambda_name = "ServiceException";
}

int faas__fail(faas_error_detail_t *d, int code, const char *fmt, ...)
{
	va_list ap;

	if (!d || d->code != 0)
		return code;
	set_code(d, code);
	if (!fmt || !strchr(fmt, '%')) { /* constant text: no formatting needed */
		const char *text = fmt ? fmt : faas_strerror(code);
		size_t n = strlen(text);
		if (n >= sizeof(d->message))
			n = sizeof(d->message) - 1;
		memcpy(d->message, text, n);
		d->message[n] = '\0';
		return code;
	}
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
	return code;
}

int faas_error_set(faas_error_detail_t *d, int code, const char *fmt, ...)
{
	va_list ap;

	faas__detail_reset(d);
	if (!d || code == 0)
		return code;
	set_code(d, code);
	if (!fmt) {
		snprintf(d->message, sizeof(d->message), "%s", faas_strerror(code));
		return code;
	}
	va_start(ap, fmt);
	vsnprintf(d->message, sizeof(d->message), fmt, ap);
	va_end(ap);
	return code;
}

int faas__fail_validation(faas_error_detail_t *d, const char *value, size_t value_len,
                          const char *field, const char *constraint)
{
	/* Long values are cut so the constraint still fits in the message, and
	 * control characters shown as '?' so the message stays one line. */
	char shown[65];
	size_t i, n = value_len > 64 ? 64 : value_len;

	for (i = 0; i < n; i++)
		shown[i] = (unsigned char)value[i] < 0x20 || value[i] == 0x7f ? '?' : value[i];
	shown[n] = '\0';
	return faas__fail(d, FAAS_EINVAL,
	                  "1 validation error detected: Value '%s%s' at '%s' failed to satisfy "
	                  "constraint: %s",
	                  shown, value_len > 64 ? "..." : "", field, constraint);
}
