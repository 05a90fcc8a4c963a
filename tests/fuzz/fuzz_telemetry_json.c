/*
 * Fuzz target: telemetry records rendered as JSON text.
 *
 * Input: TYPE STATUS FLAGS REAL[8] REAL[8], then error type, name (and
 * qualifier), reason and request id separated by NUL, then the text of a
 * function record: the rest of the input, NULs included. Missing fields
 * are NULL (a function record without text uses the error type's).
 *
 * Invariants (abort on violation):
 *  - faas_telemetry_record_format returns the same length for a NULL
 *    buffer, a large one (where it is strlen of the output) and every
 *    smaller size, where the output is that many bytes of the full text
 *    minus one, NUL-terminated;
 *  - the text is valid JSON (jansson, JSON_ALLOW_NUL): an object with
 *    exactly "time", "type" and "record", "type" the type's name, "time"
 *    24 characters ending in 'Z';
 *  - a function record's string decodes to its text byte for byte when the
 *    text is valid UTF-8 (NULs included);
 *  - faas_telemetry_record_json gives a value equal to that parse.
 */
#include "fuzz.h"

#include <math.h>

#define MAX_INPUT 4096

static double real_of(const uint8_t *p)
{
	double v;

	memcpy(&v, p, sizeof(v));
	return isfinite(v) ? v : 1.5; /* the library never produces inf or NaN */
}

/* Next NUL-separated field, or NULL when none is left. */
static const char *field(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *start = *p, *nul;

	if (start >= end)
		return NULL;
	nul = memchr(start, 0, (size_t)(end - start));
	*len = nul ? (size_t)(nul - start) : (size_t)(end - start);
	*p = nul ? nul + 1 : end;
	return (const char *)start;
}

static int valid_utf8(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len); /* jansson refuses invalid UTF-8 */
	int ok = j != NULL;

	json_decref(j);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	faas_telemetry_record_t r;
	char fields[5][MAX_INPUT + 1];
	const char *f[5] = { NULL, NULL, NULL, NULL, NULL };
	size_t flen[5] = { 0 }, n, k, len;
	const uint8_t *p, *end = data + size;
	char *text, *small;
	json_t *parsed, *made = NULL, *rec;
	json_error_t err;
	int i;

	if (size < 19 || size > MAX_INPUT)
		return 0;
	memset(&r, 0, sizeof(r));
	r.version = FAAS_TELEMETRY_RECORD_VERSION;
	r.type = (faas_telemetry_type_t)(data[0] % 10);
	r.status = (faas_ext_status_t)(data[1] % 3);
	r.time_ms = 1700000000000 + (int64_t)data[2] * 86400007;
	r.duration_ms = real_of(data + 3);
	r.init_duration_ms = real_of(data + 11);
	r.has_init_duration = data[2] & 1;
	r.billed_duration_ms = data[1];
	r.memory_size_mb = r.max_memory_used_mb = 128u << (data[2] % 4);
	r.produced_bytes = r.dropped_bytes = data[0] * 1000u;
	r.dropped_records = data[1];
	r.events = data[2] & 7;
	p = data + 19;
	for (i = 0; i < 4 && (f[i] = field(&p, end, &len)) != NULL; i++) {
		memcpy(fields[i], f[i], len);
		fields[i][len] = '\0';
		f[i] = fields[i];
		flen[i] = len;
	}
	if (p < end) { /* the text: the rest, NULs included */
		flen[4] = (size_t)(end - p);
		memcpy(fields[4], p, flen[4]);
		fields[4][flen[4]] = '\0';
		f[4] = fields[4];
	}
	r.error_type = f[0];
	r.name = r.qualifier = f[1];
	r.reason = f[2];
	r.request_id = f[3];
	r.function_name = "fn";
	r.function_version = "$LATEST";
	r.initialization_type = "on-demand";
	r.phase = data[2] & 2 ? "invoke" : "init";
	r.state = "Ready";
	r.text = f[4] ? f[4] : f[0];
	r.text_len = f[4] ? flen[4] : flen[0];

	n = faas_telemetry_record_format(&r, NULL, 0);
	FUZZ_CHECK(n > 0, "type %d rendered to nothing", (int)r.type);
	text = malloc(n + 1);
	small = malloc(n + 1);
	FUZZ_CHECK(text && small, "out of memory");
	FUZZ_CHECK(faas_telemetry_record_format(&r, text, n + 1) == n && strlen(text) == n,
	           "length %zu, text of %zu", n, strlen(text));
	for (k = 1; k <= n; k += 1 + k / 4) {
		memset(small, 'Z', n + 1);
		FUZZ_CHECK(faas_telemetry_record_format(&r, small, k) == n, "size %zu", k);
		FUZZ_CHECK(memcmp(small, text, k - 1) == 0 && small[k - 1] == '\0',
		           "truncated at %zu is not a prefix", k);
	}
	parsed = json_loadb(text, n, JSON_ALLOW_NUL, &err);
	FUZZ_CHECK(parsed != NULL, "not JSON: %s (column %d): %s", err.text, err.column, text);
	FUZZ_CHECK(json_is_object(parsed) && json_object_size(parsed) == 3, "%s", text);
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(parsed, "type")),
	                  faas_telemetry_type_name(r.type)) == 0, "%s", text);
	FUZZ_CHECK(json_string_length(json_object_get(parsed, "time")) == 24 &&
	                   json_string_value(json_object_get(parsed, "time"))[23] == 'Z',
	           "%s", text);
	rec = json_object_get(parsed, "record");
	if (r.type == FAAS_TEL_FUNCTION) {
		FUZZ_CHECK(json_is_string(rec), "%s", text);
		if (valid_utf8(r.text, r.text_len))
			FUZZ_CHECK(json_string_length(rec) == r.text_len &&
			                   memcmp(json_string_value(rec), r.text, r.text_len) == 0,
			           "the line did not survive: %s", text);
	} else {
		FUZZ_CHECK(json_is_object(rec), "%s", text);
	}
	FUZZ_CHECK(faas_telemetry_record_json(&r, &made) == 0 && json_equal(made, parsed),
	           "json_t form differs: %s", text);
	json_decref(made);
	json_decref(parsed);
	free(text);
	free(small);
	return 0;
}
