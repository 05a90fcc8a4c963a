/*
 * Fuzz target: identifiers, ARNs and qualifiers.
 *
 * Input: IDENTIFIER [SEP QUALIFIER [NUL ROUTING_KEY]], where SEP is the
 * first NUL or newline. Without SEP the call has no explicit qualifier.
 *
 * Invariants (abort on violation):
 *  - faas__ident_parse in each mode returns 0 or a known negative code and
 *    fills the detail to match (non-empty, NUL-terminated message on
 *    failure, nothing on success);
 *  - on success the name lies in the identifier, is 1..64 characters of
 *    the name alphabet ('.' only when invoking), the qualifier lies in the
 *    identifier or is the explicit one, and its kind and version number are
 *    what the qualifier text says;
 *  - the modes agree: a control-plane success is an invoke success with the
 *    same result, and an unqualified success is exactly a control-plane
 *    success without a qualifier;
 *  - faas_function_resolve fails exactly as the invoke-mode parse does, and
 *    otherwise succeeds exactly when the registry below has the target,
 *    answering a version the target can run (the same one for the same
 *    routing key).
 */
#include "fuzz.h"
#include "registry.h"

#define MAX_INPUT 4096

struct fn_fixture {
	const char *name;
	uint32_t versions; /* published: 1..versions */
};

struct alias_fixture {
	const char *fn;
	const char *name;
	uint32_t primary, secondary;
	double weight;
};

static const struct fn_fixture fns[] = {
	{ "fn", 3 },
	{ "my-function", 1 },
	{ "A_b-9", 0 },
	{ "x", 2 },
	{ "0123456789012345678901234567890123456789012345678901234567890123", 1 }, /* 64 */
};

static const struct alias_fixture aliases[] = {
	{ "fn", "live", 1, 2, 0.25 },
	{ "fn", "prod", 3, 0, 0.0 },
	{ "fn", "head", FAAS_VERSION_LATEST, 0, 0.0 },
	{ "fn", "canary", 2, 3, 1.0 },
	{ "fn", "never", 3, 1, 0.0 },
	{ "my-function", "v1", 1, 0, 0.0 },
	{ "x", "a-b_C", 2, 1, 0.5 },
};

static int handler(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)ctx;
	(void)event;
	(void)response;
	(void)user_data;
	return 0;
}

static void must(int rc, const faas_error_detail_t *d, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "fuzz_ident: fixture %s failed: %s\n", what, d->message);
		abort();
	}
}

static faas_runtime_t *fixture(void)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_function_config_t cfg = FAAS_FUNCTION_CONFIG_INIT;
	faas_error_detail_t d;
	faas_runtime_t *rt;
	size_t i;
	uint32_t v, got;

	o.seed = 42;
	o.inline_mode = 1;
	o.clock = FAAS_CLOCK_VIRTUAL;
	must(faas_runtime_new(&rt, &o, &d), &d, "runtime");
	cfg.handler = handler;
	for (i = 0; i < FUZZ_COUNT(fns); i++) {
		must(faas_function_create(rt, fns[i].name, &cfg, &d), &d, fns[i].name);
		for (v = 1; v <= fns[i].versions; v++) {
			cfg.description = v % 2 ? "odd" : "even"; /* a change, so publish makes one */
			must(faas_function_update(rt, fns[i].name, &cfg, &d), &d, "update");
			must(faas_function_publish(rt, fns[i].name, NULL, &got, &d), &d, "publish");
			if (got != v)
				abort();
		}
		cfg.description = NULL;
	}
	for (i = 0; i < FUZZ_COUNT(aliases); i++) {
		faas_alias_config_t a = FAAS_ALIAS_CONFIG_INIT;

		a.function_version = aliases[i].primary;
		a.additional_version = aliases[i].secondary;
		a.additional_weight = aliases[i].weight;
		must(faas_alias_create(rt, aliases[i].fn, aliases[i].name, &a, &d), &d,
		     aliases[i].name);
	}
	return rt;
}

static bool name_char(char c, bool dot_ok)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || (dot_ok && c == '.');
}

static bool within(const char *p, size_t len, const char *s)
{
	return s && p >= s && p + len <= s + strlen(s);
}

/* The qualifier's kind and number, computed independently of the library. */
static void expect_kind(const char *q, size_t len, enum faas_qual_kind *kind, uint32_t *version)
{
	uint64_t v = 0;
	size_t i;

	*version = 0;
	if (len == 7 && memcmp(q, "$LATEST", 7) == 0) {
		*kind = FAAS_QUAL_LATEST;
		return;
	}
	for (i = 0; i < len; i++)
		if (q[i] < '0' || q[i] > '9') {
			*kind = FAAS_QUAL_ALIAS;
			return;
		}
	*kind = FAAS_QUAL_VERSION;
	if (q[0] == '0' || len > 10)
		return;
	for (i = 0; i < len; i++)
		v = v * 10 + (uint64_t)(q[i] - '0');
	*version = v > UINT32_MAX ? 0 : (uint32_t)v;
}

static const char *mode_name(enum faas_ident_mode m)
{
	return m == FAAS_IDENT_INVOKE ? "invoke" : m == FAAS_IDENT_CONTROL ? "control" : "unqualified";
}

static int parse(faas_runtime_t *rt, const char *ident, const char *qual, enum faas_ident_mode mode,
                 struct faas_ident *id, faas_error_detail_t *d)
{
	enum faas_qual_kind kind;
	uint32_t version;
	size_t i;
	int rc;

	fuzz_detail_poison(d);
	d->code = 0; /* what the public calls' reset leaves */
	d->http_status = 200;
	d->message[0] = '\0';
	rc = faas__ident_parse(rt, ident, qual, mode, id, d);
	fuzz_check_detail(mode_name(mode), rc, d);
	if (rc != 0)
		return rc;
	FUZZ_CHECK(within(id->name, id->name_len, ident), "%s: name outside the identifier",
	           mode_name(mode));
	FUZZ_CHECK(id->name_len >= 1 && id->name_len <= 64, "%s: name_len %zu", mode_name(mode),
	           id->name_len);
	for (i = 0; i < id->name_len; i++)
		FUZZ_CHECK(name_char(id->name[i], mode == FAAS_IDENT_INVOKE),
		           "%s: name character 0x%02x", mode_name(mode), (unsigned char)id->name[i]);
	if (!id->qual) {
		FUZZ_CHECK(id->kind == FAAS_QUAL_NONE && id->qual_len == 0,
		           "%s: no qualifier but kind %d", mode_name(mode), (int)id->kind);
		FUZZ_CHECK(!qual || !*qual, "%s: explicit qualifier dropped", mode_name(mode));
		return 0;
	}
	FUZZ_CHECK(mode != FAAS_IDENT_UNQUALIFIED, "unqualified mode returned a qualifier");
	FUZZ_CHECK(within(id->qual, id->qual_len, ident) || within(id->qual, id->qual_len, qual),
	           "%s: qualifier outside both inputs", mode_name(mode));
	FUZZ_CHECK(id->qual_len >= 1 && id->qual_len <= 128, "%s: qual_len %zu", mode_name(mode),
	           id->qual_len);
	if (qual && *qual)
		FUZZ_CHECK(strlen(qual) == id->qual_len && memcmp(qual, id->qual, id->qual_len) == 0,
		           "%s: qualifier is not the explicit one", mode_name(mode));
	expect_kind(id->qual, id->qual_len, &kind, &version);
	FUZZ_CHECK(id->kind == kind && id->version == version, "%s: kind %d/%u, want %d/%u",
	           mode_name(mode), (int)id->kind, id->version, (int)kind, version);
	return 0;
}

static bool same_ident(const struct faas_ident *a, const struct faas_ident *b)
{
	return a->name == b->name && a->name_len == b->name_len && a->qual == b->qual &&
	       a->qual_len == b->qual_len && a->kind == b->kind && a->version == b->version;
}

static bool has_name(const struct faas_ident *id, const char *name)
{
	return strlen(name) == id->name_len && memcmp(name, id->name, id->name_len) == 0;
}

static const struct alias_fixture *find_alias(const struct faas_ident *id)
{
	size_t i;

	for (i = 0; i < FUZZ_COUNT(aliases); i++)
		if (has_name(id, aliases[i].fn) && strlen(aliases[i].name) == id->qual_len &&
		    memcmp(aliases[i].name, id->qual, id->qual_len) == 0)
			return &aliases[i];
	return NULL;
}

/* Whether the fixture has what @p id names. */
static bool exists(const struct faas_ident *id)
{
	size_t i;

	for (i = 0; i < FUZZ_COUNT(fns); i++) {
		if (!has_name(id, fns[i].name))
			continue;
		switch (id->kind) {
		case FAAS_QUAL_NONE:
		case FAAS_QUAL_LATEST:
			return true;
		case FAAS_QUAL_VERSION:
			return id->version >= 1 && id->version <= fns[i].versions;
		case FAAS_QUAL_ALIAS:
			return find_alias(id) != NULL;
		}
	}
	return false;
}

static void check_resolved(const struct faas_ident *id, uint32_t v)
{
	const struct alias_fixture *a;

	switch (id->kind) {
	case FAAS_QUAL_NONE:
	case FAAS_QUAL_LATEST:
		FUZZ_CHECK(v == FAAS_VERSION_LATEST, "unqualified resolved to %u", v);
		break;
	case FAAS_QUAL_VERSION:
		FUZZ_CHECK(v == id->version, "version %u resolved to %u", id->version, v);
		break;
	case FAAS_QUAL_ALIAS:
		a = find_alias(id);
		if (a->secondary == 0 || a->weight == 0.0)
			FUZZ_CHECK(v == a->primary, "alias %s resolved to %u", a->name, v);
		else if (a->weight == 1.0)
			FUZZ_CHECK(v == a->secondary, "alias %s resolved to %u", a->name, v);
		else
			FUZZ_CHECK(v == a->primary || v == a->secondary, "alias %s resolved to %u",
			           a->name, v);
		break;
	}
}

static void check_resolve(faas_runtime_t *rt, const char *ident, const char *qual, const char *key)
{
	struct faas_ident id;
	faas_error_detail_t pd, d;
	uint32_t v = 777, again = 778;
	int prc, rc;

	prc = parse(rt, ident, qual, FAAS_IDENT_INVOKE, &id, &pd);
	fuzz_detail_poison(&d);
	rc = faas_function_resolve(rt, ident, qual, key, &v, &d);
	fuzz_check_detail("faas_function_resolve", rc, &d);
	if (prc != 0) {
		FUZZ_CHECK(rc == prc && strcmp(d.message, pd.message) == 0,
		           "resolve %s (%s), parse %s (%s)", faas_err_name(rc), d.message,
		           faas_err_name(prc), pd.message);
		return;
	}
	if (!exists(&id)) {
		FUZZ_CHECK(rc == FAAS_ENOTFOUND, "resolve of a missing target: %s (%s)",
		           faas_err_name(rc), d.message);
		FUZZ_CHECK(strncmp(d.message, "Function not found: ", 20) == 0, "message: %s",
		           d.message);
		return;
	}
	FUZZ_CHECK(rc == 0, "resolve of an existing target: %s (%s)", faas_err_name(rc), d.message);
	check_resolved(&id, v);
	if (key) {
		rc = faas_function_resolve(rt, ident, qual, key, &again, &d);
		FUZZ_CHECK(rc == 0 && again == v, "routing key gave %u then %u", v, again);
	}
}

static faas_runtime_t *runtime(void)
{
	static faas_runtime_t *rt;

	if (!rt)
		rt = fixture();
	return rt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	faas_runtime_t *rt = runtime();
	struct faas_ident inv, ctl, unq;
	faas_error_detail_t d;
	char *buf, *ident, *qual = NULL, *key = NULL, *sep;
	int irc, crc, urc;

	if (size > MAX_INPUT)
		return 0;
	buf = malloc(size + 2);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	ident = buf;
	sep = ident + strcspn(ident, "\n");
	if (sep < buf + size) { /* a NUL or newline inside the input */
		*sep = '\0';
		qual = sep + 1;
		if (qual + strlen(qual) < buf + size)
			key = qual + strlen(qual) + 1;
	}

	irc = parse(rt, ident, qual, FAAS_IDENT_INVOKE, &inv, &d);
	crc = parse(rt, ident, qual, FAAS_IDENT_CONTROL, &ctl, &d);
	urc = parse(rt, ident, qual, FAAS_IDENT_UNQUALIFIED, &unq, &d);
	if (crc == 0)
		FUZZ_CHECK(irc == 0 && same_ident(&inv, &ctl), "control ok, invoke %s",
		           faas_err_name(irc));
	FUZZ_CHECK((urc == 0) == (crc == 0 && ctl.qual == NULL), "unqualified %s, control %s%s",
	           faas_err_name(urc), faas_err_name(crc), ctl.qual ? " (qualified)" : "");
	if (urc == 0)
		FUZZ_CHECK(same_ident(&unq, &ctl), "unqualified and control parses differ");

	check_resolve(rt, ident, qual, key);
	free(buf);
	return 0;
}
