/*
 * Fuzz target: the control plane as a program.
 *
 * The input is a little program: a header byte (runtime sizes and seed),
 * then up to MAX_STEPS operations, each an opcode byte and its operands
 * read from the following bytes (reads past the end give zeros). It runs
 * against a fresh inline runtime that is freed at the end. Function names
 * come mostly from a table of three ("f0".."f2", sometimes as ARNs), whose
 * existence is modelled; other names start with 'r' so they can never
 * name a table function. Weights include NaN, infinities, negative zero,
 * denormals and values just outside [0, 1]; reservations include negative
 * and huge values; user_data is heap memory with a counting free function.
 *
 * Invariants (abort on violation):
 *  - every call returns 0 or a known negative code, with the detail filled
 *    to match (fuzz_check_detail);
 *  - the model: create succeeds for an absent table function with a valid
 *    config and fails for a present one; update, publish and reservations
 *    of an absent one are not found; deleting a function releases every
 *    user_data it held at once (inline mode); list shows exactly the table
 *    functions that exist; a function reserved at 0 is throttled;
 *  - an alias configuration with a weight outside [0, 1] (NaN, infinities)
 *    is refused; an accepted one reads back from describe exactly (target,
 *    weight) and routes only to its versions (weight 0: the primary,
 *    weight 1: the additional one; a routing key: the same version twice);
 *  - publishing twice without a change answers the same version; a deleted
 *    version or alias no longer resolves or describes;
 *  - describe, list and metrics JSON serialize and parse back;
 *  - faas_runtime_concurrent_executions is 0 after every invocation and at
 *    the end; each user_data_free runs exactly once, only for user_data a
 *    successful call handed over (ASan catches a double free).
 */
#include "fuzz.h"

#include <math.h>

#define NFN 3
#define MAX_STEPS 64
#define RAW_MAX 80
#define ACCOUNT "123456789012"
#define REGION "us-east-1"

static const char *const fn_names[NFN] = { "f0", "f1", "f2" };
static const char *const alias_names[] = { "live", "beta", "x-1", "_" };

struct state;

struct ud {
	struct state *st;
	int slot; /* table function it belongs to, or -1 */
	bool free_b;
};

struct state {
	faas_runtime_t *rt;
	struct fuzz_in in;
	uint32_t max, umin;
	bool exists[NFN];
	bool zero_reserved[NFN];
	struct ud *live_ud[NFN]; /* the latest user_data the runtime holds, if any */
	long ud_alive[NFN];      /* handed over and not yet released */
	long ud_given, ud_released;
};

/* ---- handlers and callbacks ---------------------------------------------- */

static int marker;

static void ud_release(struct ud *u, bool free_b)
{
	struct state *st = u->st;

	FUZZ_CHECK(u->free_b == free_b, "user_data released by the other free function");
	if (u->slot >= 0) {
		if (st->live_ud[u->slot] == u)
			st->live_ud[u->slot] = NULL;
		st->ud_alive[u->slot]--;
	}
	st->ud_released++;
	free(u);
}

static void ud_free_a(void *p)
{
	ud_release(p, false);
}

static void ud_free_b(void *p)
{
	ud_release(p, true);
}

static int h_ok(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	const char *v = faas_context_getenv(ctx, "KEY");

	(void)event;
	(void)user_data;
	*response = json_pack("{s:s,s:s?}", "version", faas_context_function_version(ctx), "key", v);
	return 0;
}

static int h_fail(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)event;
	(void)response;
	(void)user_data;
	return faas_context_fail(ctx, "FuzzError", "failed on purpose");
}

static int h_fatal(faas_context_t *ctx, json_t *event, json_t **response, void *user_data)
{
	(void)event;
	(void)response;
	(void)user_data;
	return faas_context_fail_fatal(ctx, "FuzzFatal", "fatal on purpose");
}

static int i_ok(faas_context_t *ctx, void **state, void *user_data)
{
	(void)ctx;
	(void)user_data;
	*state = &marker;
	return 0;
}

static int i_fail(faas_context_t *ctx, void **state, void *user_data)
{
	(void)state;
	(void)user_data;
	return faas_context_fail(ctx, "FuzzInit", "init failed on purpose");
}

static void s_down(void *state, faas_shutdown_reason_t why, void *user_data)
{
	(void)user_data;
	FUZZ_CHECK(state == &marker, "shutdown with state %p", state);
	FUZZ_CHECK(why == FAAS_SHUTDOWN_SPINDOWN || why == FAAS_SHUTDOWN_TIMEOUT ||
	                   why == FAAS_SHUTDOWN_FAILURE,
	           "shutdown reason %d", (int)why);
}

/* ---- operands ------------------------------------------------------------ */

/* A function name: a table one (bare or as an ARN), NULL, or 'r' + bytes. */
static const char *pick_fn(struct state *st, int *slot, char *buf, size_t size)
{
	uint8_t b = fuzz_u8(&st->in);

	*slot = (int)(b % NFN);
	if (b < 0xc0)
		return fn_names[*slot];
	switch (b % 4) {
	case 0:
		snprintf(buf, size, "arn:aws:lambda:" REGION ":" ACCOUNT ":function:%s", fn_names[*slot]);
		return buf;
	case 1:
		snprintf(buf, size, ACCOUNT ":function:%s", fn_names[*slot]);
		return buf;
	case 2:
		*slot = -1;
		buf[0] = 'r';
		fuzz_str(&st->in, buf + 1, RAW_MAX);
		return buf;
	default:
		*slot = -1;
		return NULL;
	}
}

static const char *pick_alias(struct state *st, char *buf)
{
	uint8_t b = fuzz_u8(&st->in);

	if (b < 0xe0)
		return alias_names[b % FUZZ_COUNT(alias_names)];
	switch (b % 4) {
	case 0:
		return "123"; /* all digits: not an alias name */
	case 1:
		return "";
	case 2:
		return fuzz_str(&st->in, buf, RAW_MAX);
	default:
		return NULL;
	}
}

/* A version number: mostly small, sometimes any. */
static uint32_t pick_version(struct state *st)
{
	uint8_t b = fuzz_u8(&st->in);

	return b < 0xc0 ? b % 6 : fuzz_u32(&st->in);
}

/* A weight; *valid says whether it is in [0, 1]. */
static double pick_weight(struct state *st)
{
	static const double special[] = {
		0.0, 1.0, 0.5, 0.25, -0.0, 0.1, 0.9999999999999999, 1.0000000000000002, 5e-324,
		2.2250738585072014e-308, 0x1p-64, 0x1p-65, 1e-300, -1e-300, -1.0, 2.0,
	};
	uint8_t b = fuzz_u8(&st->in);
	uint64_t bits;
	double w;

	if (b < 0xa0)
		return special[b % FUZZ_COUNT(special)];
	switch (b % 4) {
	case 0:
		return NAN;
	case 1:
		return INFINITY;
	case 2:
		return -INFINITY;
	default:
		bits = fuzz_u64(&st->in);
		memcpy(&w, &bits, sizeof(w));
		return w;
	}
}

static const char *pick_description(struct state *st, char *buf, bool *valid)
{
	static char long_ok[2 * 256 + 1], too_long[258];
	uint8_t b = fuzz_u8(&st->in);
	int i;

	if (!long_ok[0]) {
		for (i = 0; i < 256; i++)
			memcpy(long_ok + 2 * i, "\xc3\xa9", 2); /* 256 characters, 512 bytes */
		memset(too_long, 'd', 257);
	}
	switch (b % 8) {
	case 0:
	case 1:
		return NULL;
	case 2:
		return "";
	case 3:
		return "a description";
	case 4:
		return long_ok;
	case 5:
		*valid = false;
		return too_long;
	case 6:
		*valid = false;
		return "bad \xff utf-8";
	default:
		*valid = false; /* unknown: may be valid */
		return fuzz_str(&st->in, buf, RAW_MAX);
	}
}

/* A function configuration; *valid is cleared when a choice may be invalid. */
struct cfg_buf {
	faas_function_config_t cfg;
	faas_env_var_t env[3];
	char desc[RAW_MAX + 1], val[RAW_MAX + 1];
	struct ud *fresh; /* user_data to free if the call fails */
	bool mismatch;    /* the function's user_data with another free function */
};

/* user_data: none, fresh (free a or b), or the function's current one (same or other free). */
static void pick_user_data(struct state *st, int slot, bool update, uint8_t u, struct cfg_buf *c,
                           bool *valid)
{
	switch (u % 6) {
	case 1:
	case 2:
		c->fresh = malloc(sizeof(*c->fresh));
		if (!c->fresh)
			abort();
		c->fresh->st = st;
		c->fresh->slot = slot;
		c->fresh->free_b = u % 6 == 2;
		c->cfg.user_data = c->fresh;
		c->cfg.user_data_free = c->fresh->free_b ? ud_free_b : ud_free_a;
		break;
	case 3:
	case 4:
		if (update && slot >= 0 && st->live_ud[slot]) {
			struct ud *cur = st->live_ud[slot];
			bool same = u % 6 == 3;
			c->cfg.user_data = cur;
			c->cfg.user_data_free = cur->free_b == same ? ud_free_b : ud_free_a;
			if (!same) {
				*valid = false;
				c->mismatch = true;
			}
		}
		break;
	default:
		break;
	}
}

static void pick_config(struct state *st, int slot, bool update, struct cfg_buf *c, bool *valid)
{
	static const char *const keys[] = { "KEY", "A1", "Z_9", "AWS_REGION", "1BAD", "K", "" };
	static char big_value[4097];
	static const uint32_t timeouts[] = { 0, 1000, 3000, 900000, 999, 900001, UINT32_MAX };
	static const uint32_t memories[] = { 0, 128, 10240, 127, 10241 };
	faas_function_config_t init = FAAS_FUNCTION_CONFIG_INIT;
	uint8_t b = fuzz_u8(&st->in), t = fuzz_u8(&st->in), m = fuzz_u8(&st->in);
	uint8_t e = fuzz_u8(&st->in), u = fuzz_u8(&st->in);
	size_t i;

	memset(big_value, 'v', sizeof(big_value) - 1);
	c->cfg = init;
	c->fresh = NULL;
	c->mismatch = false;
	*valid = true;
	c->cfg.handler = (b & 7) == 1 ? h_fail : (b & 7) == 2 ? h_fatal : h_ok;
	if ((b & 7) == 3 || (b & 7) == 4) {
		c->cfg.init = (b & 7) == 3 ? i_ok : i_fail;
		c->cfg.shutdown = s_down;
	}
	if ((b & 7) == 7) {
		c->cfg.handler = NULL;
		*valid = false;
	}
	if (b & 0x80) {
		c->cfg.version = 99;
		*valid = false;
	}
	c->cfg.timeout_ms = t < 0xf0 ? timeouts[t % 4] : timeouts[t % FUZZ_COUNT(timeouts)];
	*valid = *valid && (t < 0xf0 || t % FUZZ_COUNT(timeouts) < 4);
	c->cfg.memory_mb = m < 0xf0 ? memories[m % 3] : memories[m % FUZZ_COUNT(memories)];
	*valid = *valid && (m < 0xf0 || m % FUZZ_COUNT(memories) < 3);
	c->cfg.description = pick_description(st, c->desc, valid);
	c->cfg.environment_count = e % 4;
	c->cfg.environment = c->env;
	for (i = 0; i < c->cfg.environment_count; i++) {
		uint8_t k = fuzz_u8(&st->in);
		c->env[i].key = keys[k % FUZZ_COUNT(keys)];
		c->env[i].value = k & 0x80 ? fuzz_str(&st->in, c->val, RAW_MAX) : "value";
		if (k % FUZZ_COUNT(keys) >= 3 || (k & 0x80) || (i && c->env[i].key == c->env[0].key) ||
		    (i == 2 && c->env[2].key == c->env[1].key))
			*valid = false;
	}
	if ((e & 0x70) == 0x70 && c->cfg.environment_count) {
		c->env[0].value = big_value;
		*valid = false;
	}
	if (update && (e & 0x80)) {
		c->cfg.expected_revision = fuzz_u8(&st->in) + 1;
		*valid = false;
	}
	pick_user_data(st, slot, update, u, c, valid);
}

/* After a create or update: who owns a fresh user_data now. */
static void settle_ud(struct state *st, struct cfg_buf *c, int rc)
{
	if (!c->fresh)
		return;
	if (rc != 0) {
		free(c->fresh);
		return;
	}
	st->ud_given++;
	if (c->fresh->slot >= 0) {
		st->ud_alive[c->fresh->slot]++;
		st->live_ud[c->fresh->slot] = c->fresh;
	}
}

/* ---- checks -------------------------------------------------------------- */

static void check_json(const char *what, json_t *j)
{
	char *text = faas_json_dumps(j, JSON_COMPACT);
	json_t *back;

	FUZZ_CHECK(text != NULL, "%s does not serialize", what);
	back = json_loads(text, 0, NULL);
	FUZZ_CHECK(back != NULL, "%s text does not parse back: %s", what, text);
	json_decref(back);
	free(text);
}

static const char *version_label(uint32_t v, char *buf)
{
	if (v == FAAS_VERSION_LATEST)
		return "$LATEST";
	snprintf(buf, 12, "%u", v);
	return buf;
}

static uint32_t label_version(const char *s)
{
	return strcmp(s, "$LATEST") == 0 ? FAAS_VERSION_LATEST : (uint32_t)strtoul(s, NULL, 10);
}

/* GetAlias: returns 0 and the target, or the call's code. */
static int alias_target(struct state *st, const char *fn, const char *alias, uint32_t *primary,
                        uint32_t *secondary, double *weight)
{
	faas_error_detail_t d;
	json_t *j = NULL, *fv, *w;
	const char *key;
	int rc;

	fuzz_detail_poison(&d);
	rc = faas_alias_describe(st->rt, fn, alias, &j, &d);
	fuzz_check_detail("faas_alias_describe", rc, &d);
	if (rc != 0)
		return rc;
	check_json("GetAlias", j);
	fv = json_object_get(j, "FunctionVersion");
	FUZZ_CHECK(json_is_string(fv), "alias without FunctionVersion");
	*primary = label_version(json_string_value(fv));
	*secondary = 0;
	*weight = 0.0;
	w = json_object_get(json_object_get(j, "RoutingConfig"), "AdditionalVersionWeights");
	if (w) {
		FUZZ_CHECK(json_object_size(w) == 1, "%zu additional versions", json_object_size(w));
		key = json_object_iter_key(json_object_iter(w));
		*secondary = (uint32_t)strtoul(key, NULL, 10);
		*weight = json_real_value(json_object_iter_value(json_object_iter(w)));
		FUZZ_CHECK(isfinite(*weight) && *weight >= 0.0 && *weight <= 1.0, "weight %g",
		           *weight);
		FUZZ_CHECK(*secondary != 0 && *secondary != *primary && *primary != 0,
		           "routing %u -> %u", *primary, *secondary);
	}
	json_decref(j);
	return 0;
}

static int resolve(struct state *st, const char *ident, const char *qual, const char *key,
                   uint32_t *v)
{
	faas_error_detail_t d;
	int rc;

	fuzz_detail_poison(&d);
	rc = faas_function_resolve(st->rt, ident, qual, key, v, &d);
	fuzz_check_detail("faas_function_resolve", rc, &d);
	return rc;
}

/* Resolve an alias that describes fine and check where it routes. */
static void check_routing(struct state *st, const char *fn, const char *alias, const char *key)
{
	uint32_t p, s, v = 0, again = 0;
	double w;
	int rc;

	if (!alias || alias_target(st, fn, alias, &p, &s, &w) != 0)
		return;
	rc = resolve(st, fn, alias, key, &v);
	FUZZ_CHECK(rc == 0, "alias %s describes but does not resolve: %s", alias, faas_err_name(rc));
	if (s == 0 || w == 0.0)
		FUZZ_CHECK(v == p, "alias %s (%u) resolved to %u", alias, p, v);
	else if (w == 1.0)
		FUZZ_CHECK(v == s, "alias %s (all to %u) resolved to %u", alias, s, v);
	else
		FUZZ_CHECK(v == p || v == s, "alias %s (%u, %u) resolved to %u", alias, p, s, v);
	if (key) {
		rc = resolve(st, fn, alias, key, &again);
		FUZZ_CHECK(rc == 0 && again == v, "routing key gave %u then %u", v, again);
	}
}

/* ---- operations ---------------------------------------------------------- */

static void op_create(struct state *st, bool update)
{
	char buf[RAW_MAX + 64];
	struct cfg_buf c;
	faas_error_detail_t d;
	const char *name;
	bool valid;
	int slot, rc;

	name = pick_fn(st, &slot, buf, sizeof(buf));
	pick_config(st, slot, update, &c, &valid);
	FUZZ_TRACE("%s %s (config %s)\n", update ? "update" : "create", name ? name : "(null)",
	           valid ? "valid" : "maybe invalid");
	fuzz_detail_poison(&d);
	if (update)
		rc = faas_function_update(st->rt, name, &c.cfg, &d);
	else
		rc = faas_function_create(st->rt, name, &c.cfg, &d);
	fuzz_check_detail(update ? "faas_function_update" : "faas_function_create", rc, &d);
	settle_ud(st, &c, rc);
	FUZZ_CHECK(!c.mismatch || rc == FAAS_EINVAL ||
	                   (rc == FAAS_EPRECONDITION && c.cfg.expected_revision),
	           "user_data with another free function: %s",
	           faas_err_name(rc));
	if (slot < 0)
		return;
	if (update) {
		if (!st->exists[slot])
			FUZZ_CHECK(rc == FAAS_ENOTFOUND, "update of absent %s: %s (%s)", name,
			           faas_err_name(rc), d.message);
		else if (valid)
			FUZZ_CHECK(rc == 0, "valid update of %s: %s (%s)", name, faas_err_name(rc),
			           d.message);
		return;
	}
	if (st->exists[slot])
		FUZZ_CHECK(rc == FAAS_EEXIST || (rc == FAAS_EINVAL && !valid),
		           "create of present %s: %s (%s)", name, faas_err_name(rc), d.message);
	else if (valid)
		FUZZ_CHECK(rc == 0, "valid create of %s: %s (%s)", name, faas_err_name(rc), d.message);
	if (rc == 0)
		st->exists[slot] = true;
}

static void op_publish(struct state *st)
{
	faas_publish_options_t o = FAAS_PUBLISH_OPTIONS_INIT;
	char buf[RAW_MAX + 64], desc[RAW_MAX + 1], num[12];
	faas_error_detail_t d;
	const char *name;
	uint32_t v = 0, again = 0, got = 0;
	uint8_t b;
	bool valid = true, plain;
	int slot, rc;

	name = pick_fn(st, &slot, buf, sizeof(buf));
	b = fuzz_u8(&st->in);
	plain = (b & 3) == 0;
	if (b & 4)
		o.description = pick_description(st, desc, &valid);
	if (b & 8)
		o.expected_revision = fuzz_u8(&st->in) + 1;
	FUZZ_TRACE("publish %s\n", name ? name : "(null)");
	fuzz_detail_poison(&d);
	rc = faas_function_publish(st->rt, name, plain ? NULL : &o, &v, &d);
	fuzz_check_detail("faas_function_publish", rc, &d);
	if (slot >= 0 && !st->exists[slot])
		FUZZ_CHECK(rc == FAAS_ENOTFOUND || (rc == FAAS_EINVAL && !valid),
		           "publish of absent %s: %s (%s)", name, faas_err_name(rc), d.message);
	if (rc != 0)
		return;
	FUZZ_CHECK(v >= 1, "published version %u", v);
	rc = faas_function_publish(st->rt, name, NULL, &again, &d);
	fuzz_check_detail("faas_function_publish", rc, &d);
	FUZZ_CHECK(rc == 0 && again == v, "publish without a change: %u then %u", v, again);
	rc = resolve(st, name, version_label(v, num), NULL, &got);
	FUZZ_CHECK(rc == 0 && got == v, "published %u resolves to %u (%s)", v, got,
	           faas_err_name(rc));
}

static void op_alias_set(struct state *st, bool update)
{
	faas_alias_config_t cfg = FAAS_ALIAS_CONFIG_INIT;
	char buf[RAW_MAX + 64], abuf[RAW_MAX + 1], desc[RAW_MAX + 1], key[RAW_MAX + 1];
	faas_error_detail_t d;
	const char *name, *alias, *k;
	uint32_t p, s;
	double w;
	bool valid = true;
	int slot, rc;

	name = pick_fn(st, &slot, buf, sizeof(buf));
	alias = pick_alias(st, abuf);
	cfg.function_version = pick_version(st);
	cfg.additional_version = fuzz_u8(&st->in) & 1 ? pick_version(st) : 0;
	cfg.additional_weight = cfg.additional_version || (fuzz_u8(&st->in) & 1) ? pick_weight(st) : 0;
	cfg.description = pick_description(st, desc, &valid);
	if (update && fuzz_u8(&st->in) & 1)
		cfg.expected_revision = fuzz_u8(&st->in) + 1;
	k = fuzz_u8(&st->in) & 1 ? fuzz_str(&st->in, key, RAW_MAX) : NULL;
	FUZZ_TRACE("alias %s %s:%s -> %u + %u @ %a\n", update ? "update" : "create",
	           name ? name : "(null)", alias ? alias : "(null)", cfg.function_version,
	           cfg.additional_version, cfg.additional_weight);
	fuzz_detail_poison(&d);
	if (update)
		rc = faas_alias_update(st->rt, name, alias, &cfg, &d);
	else
		rc = faas_alias_create(st->rt, name, alias, &cfg, &d);
	fuzz_check_detail(update ? "faas_alias_update" : "faas_alias_create", rc, &d);
	w = cfg.additional_weight;
	if (!(isfinite(w) && w >= 0.0 && w <= 1.0))
		FUZZ_CHECK(rc == FAAS_EINVAL, "weight %a accepted: %s", w, faas_err_name(rc));
	if (slot >= 0 && !st->exists[slot])
		FUZZ_CHECK(rc == FAAS_ENOTFOUND || rc == FAAS_EINVAL, "alias on absent %s: %s", name,
		           faas_err_name(rc));
	if (rc != 0)
		return;
	FUZZ_CHECK(cfg.additional_version == 0 ||
	                   (cfg.additional_version != cfg.function_version &&
	                    cfg.function_version != FAAS_VERSION_LATEST),
	           "routing %u -> %u accepted", cfg.function_version, cfg.additional_version);
	FUZZ_CHECK(cfg.additional_version || w == 0.0, "weight %a without a version accepted", w);
	rc = alias_target(st, name, alias, &p, &s, &w);
	FUZZ_CHECK(rc == 0, "alias %s set but not described: %s", alias, faas_err_name(rc));
	FUZZ_CHECK(p == cfg.function_version && s == cfg.additional_version &&
	                   (s == 0 || w == cfg.additional_weight),
	           "alias %s reads back %u/%u/%a, set %u/%u/%a", alias, p, s, w, cfg.function_version,
	           cfg.additional_version, cfg.additional_weight);
	check_routing(st, name, alias, k);
}

static void op_alias_delete(struct state *st)
{
	char buf[RAW_MAX + 64], abuf[RAW_MAX + 1];
	faas_error_detail_t d;
	const char *name, *alias;
	json_t *j = NULL;
	int slot, rc;

	name = pick_fn(st, &slot, buf, sizeof(buf));
	alias = pick_alias(st, abuf);
	FUZZ_TRACE("alias delete %s:%s\n", name ? name : "(null)", alias ? alias : "(null)");
	fuzz_detail_poison(&d);
	rc = faas_alias_delete(st->rt, name, alias, &d);
	fuzz_check_detail("faas_alias_delete", rc, &d);
	if (rc != 0)
		return;
	rc = faas_alias_describe(st->rt, name, alias, &j, &d);
	fuzz_check_detail("faas_alias_describe", rc, &d);
	FUZZ_CHECK(rc == FAAS_ENOTFOUND && j == NULL, "deleted alias %s: %s", alias,
	           faas_err_name(rc));
}

static void op_delete(struct state *st)
{
	char buf[RAW_MAX + 64], qbuf[RAW_MAX + 1], num[12];
	faas_error_detail_t d;
	const char *name, *qual;
	uint32_t v;
	uint8_t b;
	int slot, rc;

	name = pick_fn(st, &slot, buf, sizeof(buf));
	b = fuzz_u8(&st->in);
	switch (b % 6) {
	case 0:
		qual = NULL;
		break;
	case 1:
		qual = "$LATEST";
		break;
	case 2:
		qual = pick_alias(st, qbuf);
		break;
	case 3:
		qual = fuzz_str(&st->in, qbuf, RAW_MAX);
		break;
	default:
		qual = version_label(pick_version(st), num);
		break;
	}
	FUZZ_TRACE("delete %s qualifier %s\n", name ? name : "(null)", qual ? qual : "(null)");
	fuzz_detail_poison(&d);
	rc = faas_function_delete(st->rt, name, qual, &d);
	fuzz_check_detail("faas_function_delete", rc, &d);
	if (qual && strcmp(qual, "$LATEST") == 0)
		FUZZ_CHECK(rc == FAAS_EINVAL, "deleting $LATEST alone: %s", faas_err_name(rc));
	if (slot >= 0 && !qual)
		FUZZ_CHECK((rc == 0) == st->exists[slot], "delete of %s %s: %s", st->exists[slot] ?
		           "present" : "absent", name, faas_err_name(rc));
	if (rc != 0)
		return;
	if (qual && *qual) {
		rc = resolve(st, name, qual, NULL, &v);
		FUZZ_CHECK(rc == FAAS_ENOTFOUND, "deleted version %s resolves: %s", qual,
		           faas_err_name(rc));
		return;
	}
	rc = resolve(st, name, NULL, NULL, &v);
	FUZZ_CHECK(rc == FAAS_ENOTFOUND, "deleted function %s resolves: %s", name, faas_err_name(rc));
	if (slot < 0)
		return;
	FUZZ_CHECK(st->ud_alive[slot] == 0, "%ld user_data of deleted %s still held",
	           st->ud_alive[slot], name);
	st->exists[slot] = false;
	st->zero_reserved[slot] = false;
}

static void op_reserve(struct state *st)
{
	static const int32_t values[] = { -1, 0, 1, 2, 5, -2, INT32_MAX, INT32_MIN };
	char buf[RAW_MAX + 64];
	faas_error_detail_t d;
	const char *name;
	uint8_t b;
	int32_t n;
	int slot, rc;

	name = pick_fn(st, &slot, buf, sizeof(buf));
	b = fuzz_u8(&st->in);
	n = b < 0xf0 ? values[b % FUZZ_COUNT(values)] : (int32_t)fuzz_u32(&st->in);
	FUZZ_TRACE("reserve %s %d\n", name ? name : "(null)", n);
	fuzz_detail_poison(&d);
	rc = faas_function_set_reserved_concurrency(st->rt, name, n, &d);
	fuzz_check_detail("faas_function_set_reserved_concurrency", rc, &d);
	if (n < -1 || (n >= 0 && (int64_t)n > (int64_t)st->max - st->umin))
		FUZZ_CHECK(rc == FAAS_EINVAL || (rc == FAAS_ENOTFOUND && slot >= 0 && !st->exists[slot]) ||
		                   (rc == FAAS_ENOTFOUND && slot < 0),
		           "reservation %d accepted: %s", n, faas_err_name(rc));
	if (slot >= 0 && !st->exists[slot])
		FUZZ_CHECK(rc != 0, "reservation on absent %s accepted", name);
	if (rc == 0 && slot >= 0)
		st->zero_reserved[slot] = n == 0;
}

/* An identifier for describe, resolve and invoke: a name, maybe qualified. */
static const char *pick_ident(struct state *st, int *slot, char *buf, size_t size,
                              const char **qual, char *qbuf, char *num)
{
	const char *name = pick_fn(st, slot, buf, size);
	uint8_t b = fuzz_u8(&st->in);

	switch (b % 5) {
	case 0:
		*qual = NULL;
		break;
	case 1:
		*qual = "$LATEST";
		break;
	case 2:
		*qual = pick_alias(st, qbuf);
		break;
	default:
		*qual = version_label(pick_version(st), num);
		break;
	}
	return name;
}

static void op_describe(struct state *st)
{
	char buf[RAW_MAX + 64], qbuf[RAW_MAX + 1], num[12], ident[2 * RAW_MAX + 96];
	faas_error_detail_t d;
	const char *name, *qual;
	json_t *j = NULL, *cfgv;
	int slot, rc;

	name = pick_ident(st, &slot, buf, sizeof(buf), &qual, qbuf, num);
	if (name && qual && *qual)
		snprintf(ident, sizeof(ident), "%s:%s", name, qual);
	else
		snprintf(ident, sizeof(ident), "%s", name ? name : "");
	FUZZ_TRACE("describe %s\n", name ? ident : "(null)");
	fuzz_detail_poison(&d);
	rc = faas_function_describe(st->rt, name ? ident : NULL, &j, &d);
	fuzz_check_detail("faas_function_describe", rc, &d);
	if (slot >= 0 && !st->exists[slot])
		FUZZ_CHECK(rc == FAAS_ENOTFOUND || rc == FAAS_EINVAL, "describe of absent %s: %s",
		           ident, faas_err_name(rc));
	if (rc != 0) {
		FUZZ_CHECK(j == NULL, "failed describe with a result");
		return;
	}
	check_json("GetFunction", j);
	cfgv = json_object_get(j, "Configuration");
	FUZZ_CHECK(json_is_object(cfgv) && json_is_array(json_object_get(j, "Versions")) &&
	                   json_is_array(json_object_get(j, "Aliases")),
	           "GetFunction shape");
	if (slot >= 0)
		FUZZ_CHECK(strcmp(json_string_value(json_object_get(cfgv, "FunctionName")),
		                  fn_names[slot]) == 0,
		           "described the wrong function");
	json_decref(j);
	if (qual && *qual && slot >= 0 && strcmp(qual, "$LATEST") != 0 &&
	    (qual[0] < '0' || qual[0] > '9'))
		check_routing(st, name, qual, NULL);
}

static void op_list(struct state *st)
{
	faas_error_detail_t d;
	json_t *j = NULL, *fns, *f;
	bool seen[NFN] = { false };
	const char *prev = "", *name;
	size_t i, k;
	int rc;

	fuzz_detail_poison(&d);
	rc = faas_function_list(st->rt, &j, &d);
	fuzz_check_detail("faas_function_list", rc, &d);
	FUZZ_CHECK(rc == 0, "list failed: %s", d.message);
	check_json("ListFunctions", j);
	fns = json_object_get(j, "Functions");
	FUZZ_CHECK(json_is_array(fns), "ListFunctions shape");
	json_array_foreach(fns, i, f) {
		name = json_string_value(json_object_get(f, "FunctionName"));
		FUZZ_CHECK(name && strcmp(prev, name) < 0, "list not sorted: %s after %s", name, prev);
		for (k = 0; k < NFN; k++)
			if (strcmp(name, fn_names[k]) == 0)
				seen[k] = true;
		prev = name;
	}
	for (k = 0; k < NFN; k++)
		FUZZ_CHECK(seen[k] == st->exists[k], "%s %s but %s listed", fn_names[k],
		           st->exists[k] ? "exists" : "does not exist", seen[k] ? "is" : "is not");
	json_decref(j);
}

static void op_resolve(struct state *st)
{
	char buf[RAW_MAX + 64], qbuf[RAW_MAX + 1], num[12], key[RAW_MAX + 1];
	const char *name, *qual, *k = NULL;
	uint32_t v = 0;
	int slot, rc;

	name = pick_ident(st, &slot, buf, sizeof(buf), &qual, qbuf, num);
	if (fuzz_u8(&st->in) & 1)
		k = fuzz_str(&st->in, key, RAW_MAX);
	FUZZ_TRACE("resolve %s qualifier %s key %s\n", name ? name : "(null)", qual ? qual : "(null)",
	           k ? k : "(null)");
	rc = resolve(st, name, qual, k, &v);
	if (slot >= 0 && !st->exists[slot])
		FUZZ_CHECK(rc != 0, "absent %s resolved to %u", name, v);
	if (rc == 0 && slot >= 0 && qual && *qual && strcmp(qual, "$LATEST") != 0 &&
	    (qual[0] < '0' || qual[0] > '9'))
		check_routing(st, name, qual, k);
}

static void op_invoke(struct state *st)
{
	char buf[RAW_MAX + 64], qbuf[RAW_MAX + 1], num[12], key[RAW_MAX + 1];
	faas_invoke_options_t o = FAAS_INVOKE_OPTIONS_INIT;
	faas_result_t r = FAAS_RESULT_INIT;
	const char *name, *qual;
	json_t *event;
	uint8_t b;
	int slot, rc;

	name = pick_ident(st, &slot, buf, sizeof(buf), &qual, qbuf, num);
	b = fuzz_u8(&st->in);
	o.type = b % 8 == 1 ? FAAS_INVOKE_DRY_RUN : b % 8 == 2 ? FAAS_INVOKE_EVENT
	                                                      : FAAS_INVOKE_REQUEST_RESPONSE;
	o.qualifier = qual;
	o.log_type = b & 8 ? FAAS_LOG_TAIL : FAAS_LOG_NONE;
	o.throttle_wait_ms = 0; /* inline: never wait for a token */
	o.response_text = (b & 16) != 0;
	if (b & 32)
		o.routing_key = fuzz_str(&st->in, key, RAW_MAX);
	event = json_integer(fuzz_u8(&st->in));
	rc = faas_invoke(st->rt, name, event, &o, &r);
	json_decref(event);
	FUZZ_TRACE("invoke %s qualifier %s type %d -> %s%s%s\n", name ? name : "(null)",
	           qual ? qual : "(null)", (int)o.type, faas_err_name(rc),
	           r.function_error ? " function error: " : " ", r.message);
	FUZZ_CHECK(fuzz_known_rc(rc) && r.code == rc, "invoke returned %d, result %d", rc, r.code);
	FUZZ_CHECK(faas_runtime_concurrent_executions(st->rt) == 0, "%u executions after invoke",
	           faas_runtime_concurrent_executions(st->rt));
	if (rc != 0) {
		FUZZ_CHECK(r.payload == NULL && r.message[0] && r.error_type &&
		                   r.status_code == faas_error_http_status(rc),
		           "API error %s: status %d, message \"%s\"", faas_err_name(rc), r.status_code,
		           r.message);
	} else if (o.type == FAAS_INVOKE_DRY_RUN) {
		FUZZ_CHECK(r.status_code == 204 && r.payload == NULL, "DryRun status %d",
		           r.status_code);
	} else if (o.type == FAAS_INVOKE_EVENT) { /* queued (and, inline, already run) */
		FUZZ_CHECK(r.status_code == 202 && r.payload == NULL && r.request_id[0],
		           "Event status %d", r.status_code);
	} else {
		FUZZ_CHECK(r.status_code == 200 && r.payload != NULL, "invoke status %d",
		           r.status_code);
		FUZZ_CHECK(slot < 0 || !st->zero_reserved[slot], "%s reserved at 0 ran", name);
		FUZZ_CHECK(!o.response_text || r.function_error || r.payload_text,
		           "response_text without text");
		FUZZ_CHECK(o.log_type != FAAS_LOG_TAIL || r.log_tail, "FAAS_LOG_TAIL without a tail");
	}
	if (slot >= 0 && !st->exists[slot])
		FUZZ_CHECK(rc != 0, "absent %s invoked", name);
	faas_result_clear(&r);
}

static void op_clock(struct state *st)
{
	static const uint64_t steps[] = { 0, 1000, 300001, 3600000 };
	uint8_t b = fuzz_u8(&st->in);
	int rc = faas_clock_advance(st->rt, steps[b % FUZZ_COUNT(steps)]);

	FUZZ_CHECK(rc == 0, "faas_clock_advance: %s", faas_err_name(rc));
}

static void op_metrics(struct state *st)
{
	faas_error_detail_t d;
	json_t *j = NULL;
	char *text = NULL;
	int rc;

	fuzz_detail_poison(&d);
	rc = faas_metrics_json(st->rt, &j, &d);
	fuzz_check_detail("faas_metrics_json", rc, &d);
	FUZZ_CHECK(rc == 0, "metrics: %s", d.message);
	check_json("metrics", j);
	json_decref(j);
	fuzz_detail_poison(&d);
	rc = faas_metrics_prometheus(st->rt, &text, &d);
	fuzz_check_detail("faas_metrics_prometheus", rc, &d);
	FUZZ_CHECK(rc == 0 && text, "prometheus: %s", d.message);
	free(text);
}

/* ---- the program ----------------------------------------------------------- */

static void step(struct state *st)
{
	switch (fuzz_u8(&st->in) % 16) {
	case 0:
	case 1:
		op_create(st, false);
		break;
	case 2:
		op_create(st, true);
		break;
	case 3:
		op_publish(st);
		break;
	case 4:
	case 5:
		op_alias_set(st, false);
		break;
	case 6:
		op_alias_set(st, true);
		break;
	case 7:
		op_alias_delete(st);
		break;
	case 8:
		op_delete(st);
		break;
	case 9:
		op_reserve(st);
		break;
	case 10:
		op_describe(st);
		break;
	case 11:
		op_list(st);
		break;
	case 12:
		op_resolve(st);
		break;
	case 13:
		op_invoke(st);
		break;
	case 14:
		op_clock(st);
		break;
	default:
		op_metrics(st);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	faas_runtime_options_t o = FAAS_RUNTIME_OPTIONS_INIT;
	faas_error_detail_t d;
	struct state st;
	uint8_t h;
	int i, rc;

	memset(&st, 0, sizeof(st));
	st.in.p = data;
	st.in.n = size;
	h = fuzz_u8(&st.in);
	st.max = 10u * (1 + h % 4);
	st.umin = h & 0x10 ? 1 : st.max / 10;
	o.max_concurrency = st.max;
	o.unreserved_min = st.umin;
	o.seed = 1 + (h >> 5);
	o.inline_mode = 1;
	o.clock = FAAS_CLOCK_VIRTUAL;
	fuzz_detail_poison(&d);
	rc = faas_runtime_new(&st.rt, &o, &d);
	fuzz_check_detail("faas_runtime_new", rc, &d);
	FUZZ_CHECK(rc == 0, "runtime: %s", d.message);

	for (i = 0; i < MAX_STEPS && fuzz_more(&st.in); i++)
		step(&st);

	FUZZ_CHECK(faas_runtime_concurrent_executions(st.rt) == 0, "%u executions at the end",
	           faas_runtime_concurrent_executions(st.rt));
	op_list(&st);
	faas_runtime_free(st.rt);
	FUZZ_CHECK(st.ud_released == st.ud_given, "%ld user_data handed over, %ld released",
	           st.ud_given, st.ud_released);
	return 0;
}
