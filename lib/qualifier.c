/*
 * libfaas — identifier, ARN and qualifier parsing (Lambda's rules, §1 of the
 * reference). Parsing never allocates: the result points into the input.
 */
#include "registry.h"

#include <stdio.h>

#define NAME_PATTERN "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+"
#define QUALIFIER_PATTERN "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
#define ALIAS_PATTERN "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
#define ARN_PATTERN                                                                          \
	"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}" \
	"(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"

/* [a-zA-Z0-9-_] as two 64-bit sets over ASCII: codes 0-63 and 64-127 */
#define NAME_CHARS_LO ((1ull << '-') | (0x3ffull << '0'))
#define NAME_CHARS_HI \
	((0x3ffffffull << ('A' - 64)) | (1ull << ('_' - 64)) | (0x3ffffffull << ('a' - 64)))

/* '.' too when dot_ok; never '\0', so a scan for name characters stops there */
static inline bool is_name_char(char c, bool dot_ok)
{
	unsigned char u = (unsigned char)c;

	if (u < 64)
		return ((NAME_CHARS_LO | (dot_ok ? 1ull << '.' : 0)) >> u) & 1;
	return u < 128 && ((NAME_CHARS_HI >> (u - 64)) & 1);
}

static bool all_of(const char *s, size_t len, bool (*pred)(char))
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!pred(s[i]))
			return false;
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_partition_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

static bool is_qual_char(char c)
{
	return is_name_char(c, false);
}

static bool is_param_qual_char(char c)
{
	return is_name_char(c, false) || c == '$';
}

/* [a-z]{2}(-gov)?-[a-z]+-\d{1} */
static bool region_ok(const char *s, size_t len)
{
	size_t i = 2, start;

	if (len < 6 || !is_lower(s[0]) || !is_lower(s[1]))
		return false;
	if (len > 6 && memcmp(s + 2, "-gov-", 5) == 0)
		i = 7;
	else if (s[i++] != '-')
		return false;
	start = i;
	while (i < len && is_lower(s[i]))
		i++;
	return i > start && i + 2 == len && s[i] == '-' && is_digit(s[i + 1]);
}

void faas__format_arn(const faas_runtime_t *rt, const char *name, size_t name_len, const char *qual,
                      size_t qual_len, char *buf, size_t size)
{
	if (qual)
		snprintf(buf, size, "arn:aws:lambda:%s:%s:function:%.*s:%.*s", rt->region, rt->account,
		         (int)name_len, name, (int)qual_len, qual);
	else
		snprintf(buf, size, "arn:aws:lambda:%s:%s:function:%.*s", rt->region, rt->account,
		         (int)name_len, name);
}

int faas__fail_fn_not_found(const faas_runtime_t *rt, faas_error_detail_t *d, const char *name,
                            size_t name_len, const char *qual, size_t qual_len)
{
	char arn[FAAS_ARN_MAX];

	faas__format_arn(rt, name, name_len, qual, qual_len, arn, sizeof(arn));
	return faas__fail(d, FAAS_ENOTFOUND, "Function not found: %s", arn);
}

/* Canonical decimal without leading zeros, 1..UINT32_MAX; 0 otherwise. */
static uint32_t parse_version(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10 || s[0] == '0')
		return 0;
	for (i = 0; i < len; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

static void classify(struct faas_ident *id)
{
	if (!id->qual) {
		id->kind = FAAS_QUAL_NONE;
	} else if (id->qual_len == 7 && memcmp(id->qual, "$LATEST", 7) == 0) {
		id->kind = FAAS_QUAL_LATEST;
	} else if (all_of(id->qual, id->qual_len, is_digit)) {
		id->kind = FAAS_QUAL_VERSION;
		id->version = parse_version(id->qual, id->qual_len);
	} else {
		id->kind = FAAS_QUAL_ALIAS;
	}
}

/* Split s at ':' into at most 9 parts; returns the count (9 = too many). */
static size_t split(const char *s, size_t len, const char **part, size_t *plen)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ':')
			continue;
		if (n == 9)
			return 9;
		part[n] = s + start;
		plen[n] = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

static bool eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/*
 * Locate name and qualifier. Returns 0, FAAS_EINVAL for a malformed
 * identifier, or FAAS_ENOTFOUND for a well-formed ARN of another
 * region/account (*foreign set).
 */
static int locate(const faas_runtime_t *rt, const char *s, size_t len, struct faas_ident *id,
                  bool *foreign)
{
	const char *p[9];
	size_t pl[9], n = split(s, len, p, pl), first;

	*foreign = false;
	if (n >= 7 && eq(p[0], pl[0], "arn")) {
		if (n > 8 || pl[1] < 3 || memcmp(p[1], "aws", 3) != 0 ||
		    !all_of(p[1], pl[1], is_partition_char) || !eq(p[2], pl[2], "lambda") ||
		    /* the runtime's own region, whatever its form, or an AWS-style one */
		    !(eq(p[3], pl[3], rt->region) || region_ok(p[3], pl[3])) || pl[4] != 12 ||
		    !all_of(p[4], 12, is_digit) ||
		    !eq(p[5], pl[5], "function"))
			return FAAS_EINVAL;
		*foreign = !eq(p[3], pl[3], rt->region) || memcmp(p[4], rt->account, 12) != 0;
		first = 6;
	} else if (n >= 3 && eq(p[1], pl[1], "function")) {
		if (n > 4 || pl[0] != 12 || !all_of(p[0], 12, is_digit))
			return FAAS_EINVAL;
		*foreign = memcmp(p[0], rt->account, 12) != 0;
		first = 2;
	} else if (n <= 2) {
		first = 0;
	} else {
		return FAAS_EINVAL;
	}
	id->name = p[first];
	id->name_len = pl[first];
	if (n == first + 2) {
		id->qual = p[first + 1];
		id->qual_len = pl[first + 1];
	}
	return 0;
}

static int check_explicit(const char *q, faas_error_detail_t *d)
{
	size_t len = strlen(q);

	if (len > FAAS_QUALIFIER_MAX)
		return faas__fail_validation(d, q, len, "qualifier",
		                             "Member must have length less than or equal to 128");
	if (!all_of(q, len, is_param_qual_char))
		return faas__fail_validation(d, q, len, "qualifier", QUALIFIER_PATTERN);
	return 0;
}

/* Everything but a bare name: qualifiers, ARNs, and every refusal. */
static __attribute__((noinline)) int
ident_parse_full(const faas_runtime_t *rt, const char *s, const char *explicit_q,
                 enum faas_ident_mode mode, struct faas_ident *id, faas_error_detail_t *d)
{
	size_t len, i, max = mode == FAAS_IDENT_INVOKE ? FAAS_IDENT_MAX_INVOKE : FAAS_IDENT_MAX_CONTROL;
	bool foreign, dot_ok = mode == FAAS_IDENT_INVOKE;
	int rc;

	if (!s)
		return faas__fail(d, FAAS_EINVAL, "function name must not be NULL");
	len = strlen(s);
	if (len == 0)
		return faas__fail_validation(d, s, len, "functionName",
		                             "Member must have length greater than or equal to 1");
	if (len > max)
		return faas__fail_validation(d, s, len, "functionName",
		                             max == FAAS_IDENT_MAX_INVOKE
		                                     ? "Member must have length less than or equal to 170"
		                                     : "Member must have length less than or equal to 140");
	if (locate(rt, s, len, id, &foreign) != 0 || id->name_len == 0 ||
	    (id->qual && id->qual_len == 0))
		return faas__fail_validation(d, s, len, "functionName", ARN_PATTERN);
	for (i = 0; i < id->name_len; i++)
		if (!is_name_char(id->name[i], dot_ok))
			return faas__fail_validation(d, s, len, "functionName", ARN_PATTERN);
	if (id->name_len > FAAS_NAME_MAX)
		return faas__fail_validation(d, id->name, id->name_len, "functionName",
		                             "Member must have length less than or equal to 64");
	if (id->qual && !(id->qual_len == 7 && memcmp(id->qual, "$LATEST", 7) == 0) &&
	    !all_of(id->qual, id->qual_len, is_qual_char))
		return faas__fail_validation(d, s, len, "functionName", ARN_PATTERN);
	if (id->qual && id->qual_len > FAAS_QUALIFIER_MAX)
		return faas__fail_validation(d, id->qual, id->qual_len, "qualifier",
		                             "Member must have length less than or equal to 128");
	if (explicit_q && *explicit_q) {
		if ((rc = check_explicit(explicit_q, d)) != 0)
			return rc;
		if (id->qual && !eq(id->qual, id->qual_len, explicit_q))
			return faas__fail(d, FAAS_EINVAL,
			                  "The derived qualifier from the function name does not match the "
			                  "specified qualifier.");
		id->qual = explicit_q;
		id->qual_len = strlen(explicit_q);
	}
	if (mode == FAAS_IDENT_UNQUALIFIED && id->qual)
		return faas__fail_validation(d, s, len, "functionName",
		                             "Member must not include a qualifier");
	classify(id);
	if (foreign)
		return faas__fail(d, FAAS_ENOTFOUND, "Function not found: %s", s);
	return 0;
}

int faas__ident_parse(const faas_runtime_t *rt, const char *s, const char *explicit_q,
                      enum faas_ident_mode mode, struct faas_ident *id, faas_error_detail_t *d)
{
	bool dot_ok = mode == FAAS_IDENT_INVOKE;
	size_t i;

	memset(id, 0, sizeof(*id));
	/* the common case, a bare name with no explicit qualifier: one pass,
	 * which is also the strlen (a name character is never '\0') */
	if (FAAS_LIKELY(s && !(explicit_q && *explicit_q))) {
		for (i = 0; i < FAAS_NAME_MAX && is_name_char(s[i], dot_ok); i++)
			;
		if (FAAS_LIKELY(s[i] == '\0' && i > 0)) {
			id->name = s;
			id->name_len = i;
			id->kind = FAAS_QUAL_NONE;
			return 0;
		}
	}
	return ident_parse_full(rt, s, explicit_q, mode, id, d);
}

int faas__alias_name_check(const char *alias, faas_error_detail_t *d)
{
	size_t len;

	if (!alias)
		return faas__fail(d, FAAS_EINVAL, "alias name must not be NULL");
	len = strlen(alias);
	if (len == 0 || len > FAAS_ALIAS_MAX)
		return faas__fail_validation(d, alias, len, "name",
		                             len ? "Member must have length less than or equal to 128"
		                                 : "Member must have length greater than or equal to 1");
	if (!all_of(alias, len, is_qual_char) || all_of(alias, len, is_digit))
		return faas__fail_validation(d, alias, len, "name", ALIAS_PATTERN);
	return 0;
}
