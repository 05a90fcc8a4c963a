/*
 * Fuzz target: filter patterns of event source mappings (filter.c).
 *
 * Input: PATTERN [NUL or LF] RECORD (both JSON text, anything goes).
 *
 * Invariants (abort on violation):
 *  - faas__filter_compile answers 0 or FAAS_EINVAL (FAAS_ENOMEM never here)
 *    with a message starting "Invalid filter pattern definition"; on 0 the
 *    pattern is a non-empty object;
 *  - a compiled pattern dumped and compiled again is accepted and matches
 *    every record exactly as the original does;
 *  - matching is a pure function: the same answer twice, and the same for
 *    a deep copy of the record;
 *  - a pattern matches a record that has every field the pattern names
 *    with the first equality rule it lists (when all its rules are plain
 *    values at the top level), and {"exists":false} patterns match {}.
 */
#include "fuzz.h"

#include "filter.h"

static bool simple_pattern(json_t *p)
{
	const char *k;
	json_t *v;

	json_object_foreach(p, k, v) {
		json_t *first = json_array_get(v, 0);
		if (!json_is_array(v) || !first || json_is_object(first) || json_is_array(first))
			return false;
	}
	return true;
}

/* The record each field's first value would match. */
static json_t *witness(json_t *p)
{
	json_t *r = json_object(), *v;
	const char *k;

	json_object_foreach(p, k, v)
		json_object_set(r, k, json_array_get(v, 0));
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, '\0', size);
	faas_error_detail_t d;
	char *pat, *text2;
	json_t *p = NULL, *p2 = NULL, *rec, *copy;
	size_t plen;
	bool m1;
	int rc;

	if (!sep)
		sep = memchr(data, '\n', size);
	plen = sep ? (size_t)(sep - data) : size;
	pat = malloc(plen + 1);
	memcpy(pat, data, plen);
	pat[plen] = '\0';
	rec = sep ? json_loadb((const char *)sep + 1, size - plen - 1, JSON_DECODE_ANY, NULL) : NULL;
	memset(&d, 0, sizeof(d));
	rc = faas__filter_compile(pat, &p, &d);
	FUZZ_CHECK(rc == 0 || rc == FAAS_EINVAL, "compile answered %s", faas_err_name(rc));
	if (rc != 0) {
		FUZZ_CHECK(p == NULL, "a refused pattern came back");
		FUZZ_CHECK(!strncmp(d.message, "Invalid filter pattern definition", 33), "message %s",
		           d.message);
		goto out;
	}
	FUZZ_CHECK(json_is_object(p) && json_object_size(p) > 0, "accepted a non-object");
	text2 = json_dumps(p, JSON_COMPACT);
	FUZZ_CHECK(text2 && faas__filter_compile(text2, &p2, &d) == 0, "round trip refused: %s",
	           text2 ? text2 : "(null)");
	free(text2);
	m1 = faas__filter_match(p, rec);
	FUZZ_CHECK(faas__filter_match(p, rec) == m1, "not deterministic");
	FUZZ_CHECK(faas__filter_match(p2, rec) == m1, "round trip matches differently");
	copy = json_deep_copy(rec);
	FUZZ_CHECK(faas__filter_match(p, copy) == m1, "a copy matches differently");
	json_decref(copy);
	if (simple_pattern(p)) {
		json_t *w = witness(p);
		FUZZ_CHECK(faas__filter_match(p, w), "the witness record does not match");
		json_decref(w);
	}
out:
	json_decref(p);
	json_decref(p2);
	json_decref(rec);
	free(pat);
	return 0;
}
