/*
 * libfaas — filter patterns of event source mappings (Lambda's
 * FilterCriteria, EventBridge syntax; reference §9 "Filtering").
 *
 * A pattern is a JSON object. Each key names a field of the record; its
 * value is either an object (the field is an object: match inside it) or
 * an array of rules, any of which may match (OR). All keys of a pattern
 * must match (AND); fields the pattern does not name are ignored. A field
 * holding an array matches when any of its elements does. Rules:
 *   "s", 5, true, null         equal (same JSON type; 300 and 300.0 differ)
 *   {"prefix":"s"}             a string starting with s
 *   {"anything-but":v|[v...]}  present and equal to none (v may be {"prefix":..})
 *   {"numeric":[op,n(,op,n)]}  a number within the bounds (= < <= > >=)
 *   {"exists":true|false}      present (null included) / absent
 * Patterns are checked when a mapping is created; matching never fails.
 */
#include "faas_int.h"

#include "filter.h"

#include <math.h>

static int bad(faas_error_detail_t *d, const char *what)
{
	return faas__fail(d, FAAS_EINVAL, "Invalid filter pattern definition: %s", what);
}

static bool is_scalar(const json_t *v)
{
	return json_is_string(v) || json_is_number(v) || json_is_boolean(v) || json_is_null(v);
}

static int check_numeric(const json_t *spec, faas_error_detail_t *d)
{
	size_t n = json_array_size(spec), i;

	if (!json_is_array(spec) || (n != 2 && n != 4))
		return bad(d, "\"numeric\" takes [op, number] or [op, number, op, number]");
	for (i = 0; i < n; i += 2) {
		const char *op = json_string_value(json_array_get(spec, i));
		if (!op || (strcmp(op, "=") && strcmp(op, "<") && strcmp(op, "<=") && strcmp(op, ">") &&
		            strcmp(op, ">=")))
			return bad(d, "unknown \"numeric\" operator");
		if (!json_is_number(json_array_get(spec, i + 1)))
			return bad(d, "\"numeric\" bounds must be numbers");
	}
	return 0;
}

static int check_anything_but(const json_t *v, faas_error_detail_t *d)
{
	size_t i;

	if (json_is_object(v)) {
		if (json_object_size(v) != 1 || !json_is_string(json_object_get(v, "prefix")))
			return bad(d, "\"anything-but\" takes values or {\"prefix\":\"...\"}");
		return 0;
	}
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++)
			if (!is_scalar(json_array_get(v, i)))
				return bad(d, "\"anything-but\" values must be strings, numbers or booleans");
		return 0;
	}
	return is_scalar(v) ? 0 : bad(d, "\"anything-but\" takes values or {\"prefix\":\"...\"}");
}

static int check_rule(const json_t *rule, faas_error_detail_t *d)
{
	const char *op;
	json_t *arg;

	if (is_scalar(rule))
		return 0;
	if (!json_is_object(rule) || json_object_size(rule) != 1)
		return bad(d, "a rule is a value or an object with one operator");
	op = json_object_iter_key(json_object_iter((json_t *)rule));
	arg = json_object_iter_value(json_object_iter((json_t *)rule));
	if (!strcmp(op, "prefix"))
		return json_is_string(arg) ? 0 : bad(d, "\"prefix\" takes a string");
	if (!strcmp(op, "exists"))
		return json_is_boolean(arg) ? 0 : bad(d, "\"exists\" takes true or false");
	if (!strcmp(op, "numeric"))
		return check_numeric(arg, d);
	if (!strcmp(op, "anything-but"))
		return check_anything_but(arg, d);
	return faas__fail(d, FAAS_EINVAL, "Invalid filter pattern definition: unknown operator \"%s\"",
	                  op);
}

static int check_pattern(const json_t *p, int depth, faas_error_detail_t *d)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > 32)
		return bad(d, "nested too deeply");
	if (!json_is_object(p) || json_object_size(p) == 0)
		return bad(d, "a pattern is a non-empty JSON object");
	json_object_foreach((json_t *)p, key, v) {
		if (json_is_object(v)) {
			if (check_pattern(v, depth + 1, d) != 0)
				return FAAS_EINVAL;
			continue;
		}
		if (!json_is_array(v) || json_array_size(v) == 0)
			return faas__fail(d, FAAS_EINVAL,
			                  "Invalid filter pattern definition: the value of \"%s\" must be "
			                  "an object or a non-empty array of rules",
			                  key);
		for (i = 0; i < json_array_size(v); i++)
			if (check_rule(json_array_get(v, i), d) != 0)
				return FAAS_EINVAL;
	}
	return 0;
}

int faas__filter_compile(const char *text, json_t **out, faas_error_detail_t *d)
{
	json_error_t e;
	json_t *p;

	*out = NULL;
	if (!text)
		return faas__fail(d, FAAS_EINVAL, "a filter pattern must not be NULL");
	/* duplicate keys: the last one wins, as in Lambda */
	memset(&e, 0, sizeof(e)); /* jansson leaves it untouched when it fails at once */
	if (!(p = json_loads(text, 0, &e)) && faas__json_oom(&e))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	if (!p)
		return faas__fail(d, FAAS_EINVAL,
		                  "Invalid filter pattern definition: %s (line %d, column %d)", e.text,
		                  e.line, e.column);
	if (check_pattern(p, 0, d) != 0) {
		json_decref(p);
		return FAAS_EINVAL;
	}
	*out = p;
	return 0;
}

/* ---- matching ----------------------------------------------------------------- */

static bool same_value(const json_t *a, const json_t *b)
{
	if (json_typeof(a) != json_typeof(b))
		return false; /* 300 (integer) and 300.0 (real) differ, as in Lambda */
	return json_equal((json_t *)a, (json_t *)b);
}

static bool numeric_ok(const json_t *spec, double x)
{
	size_t i;

	for (i = 0; i < json_array_size(spec); i += 2) {
		const char *op = json_string_value(json_array_get(spec, i));
		double b = json_number_value(json_array_get(spec, i + 1));
		bool ok = !strcmp(op, "=")    ? x == b
		          : !strcmp(op, "<")  ? x < b
		          : !strcmp(op, "<=") ? x <= b
		          : !strcmp(op, ">")  ? x > b
		                              : x >= b;
		if (!ok)
			return false;
	}
	return true;
}

static bool has_prefix(const json_t *v, const json_t *prefix)
{
	const char *s = json_string_value(v), *p = json_string_value(prefix);

	return s && p && strncmp(s, p, strlen(p)) == 0;
}

static bool anything_but(const json_t *arg, const json_t *v)
{
	size_t i;

	if (json_is_object(arg))
		return json_is_string(v) && !has_prefix(v, json_object_get(arg, "prefix"));
	if (!json_is_array(arg))
		return !same_value(arg, v);
	for (i = 0; i < json_array_size(arg); i++)
		if (same_value(json_array_get(arg, i), v))
			return false;
	return true;
}

/* One rule against one present value (never an array). */
static bool rule_matches(const json_t *rule, const json_t *v)
{
	const char *op;
	json_t *arg;

	if (is_scalar(rule))
		return same_value(rule, v);
	op = json_object_iter_key(json_object_iter((json_t *)rule));
	arg = json_object_iter_value(json_object_iter((json_t *)rule));
	if (!strcmp(op, "prefix"))
		return has_prefix(v, arg);
	if (!strcmp(op, "numeric"))
		return json_is_number(v) && numeric_ok(arg, json_number_value(v));
	if (!strcmp(op, "anything-but"))
		return anything_but(arg, v);
	return json_is_true(arg); /* exists: the value is here */
}

static bool rules_match(const json_t *rules, const json_t *v)
{
	size_t i, j;

	for (i = 0; i < json_array_size(rules); i++) {
		const json_t *rule = json_array_get(rules, i);
		if (!v) { /* absent: only {"exists":false} */
			if (json_is_object(rule) && json_is_false(json_object_get(rule, "exists")))
				return true;
			continue;
		}
		if (json_is_array(v)) { /* any element */
			for (j = 0; j < json_array_size(v); j++)
				if (rule_matches(rule, json_array_get(v, j)))
					return true;
			continue;
		}
		if (rule_matches(rule, v))
			return true;
	}
	return false;
}

bool faas__filter_match(const json_t *pattern, const json_t *event)
{
	const char *key;
	json_t *rule;

	json_object_foreach((json_t *)pattern, key, rule) {
		const json_t *v = json_is_object(event) ? json_object_get(event, key) : NULL;
		if (json_is_object(rule)) {
			if (!faas__filter_match(rule, v))
				return false;
		} else if (!rules_match(rule, v)) {
			return false;
		}
	}
	return true;
}
