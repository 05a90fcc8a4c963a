/*
 * libfaas — the built-in stream (Kinesis-like): shards, partition keys
 * hashed to shards, sequence numbers, retention.
 *
 * DESIGN
 * - One mutex per stream guards its shards. A shard is an array of
 *   records in arrival order (so in sequence order) with a moving head:
 *   records leave only when past retention, lazily at put and read; a full
 *   shard refuses new ones.
 * - Sequence numbers come from one counter per stream, so they increase
 *   across shards too; their text is fixed-width, so text order is number
 *   order. A reader finds its place by binary search on the counter.
 * - Streams belong to the runtime (a list under rt->queue_lock, shared with
 *   the queues) and are refcounted by their sources.
 */
#include "dispatch.h"
#include "mapping_int.h"
#include "stream_int.h"

#include "faas/stream.h"

#include <stdio.h>

#define SHARDS_MAX 64u
#define RETENTION_DEFAULT_MS 86400000ull
#define RETENTION_MAX_MS 31536000000ull
#define CAPACITY_DEFAULT 100000u
#define RECORD_MAX_DEFAULT 1048576u
#define NAME_MAX_LEN 128

struct shard {
	struct srec **recs;
	size_t head, n, cap; /* live records are recs[head .. n) */
};

struct faas_stream {
	_Atomic long refs; /* the runtime's list + each source */
	faas_runtime_t *rt;
	pthread_mutex_t lock;
	struct shard *shards;
	uint32_t nshards, capacity, max_bytes;
	uint64_t retention_ns;
	uint64_t next_seq;
	bool deleted;
	struct faas_stream *next; /* rt->streams */
	char name[NAME_MAX_LEN + 1];
	char arn[FAAS_ARN_MAX];
};

/* ---- records -------------------------------------------------------------------- */

void faas__stream_seq_text(uint64_t seq, char out[FAAS_STREAM_SEQ_MAX])
{
	snprintf(out, FAAS_STREAM_SEQ_MAX, "4959%022llu", (unsigned long long)seq);
}

bool faas__stream_seq_parse(const char *text, uint64_t *seq)
{
	unsigned long long v = 0;
	size_t i;

	if (strlen(text) != 26 || strncmp(text, "4959", 4) != 0)
		return false;
	for (i = 4; i < 26; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (unsigned long long)(text[i] - '0');
	}
	*seq = v;
	return true;
}

void faas__shard_id(uint32_t shard, char out[FAAS_STREAM_SHARD_ID_MAX])
{
	snprintf(out, FAAS_STREAM_SHARD_ID_MAX, "shardId-%012u", shard);
}

/* The MD5 of the key as a 128-bit number, its top 64 bits: Kinesis splits
 * the hash-key space evenly between shards. */
static uint64_t key_hash(const char *key, size_t len)
{
	char hex[33];
	uint64_t v = 0;
	int i;

	faas__md5_hex(key, len, hex);
	for (i = 0; i < 16; i++)
		v = v << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
	return v;
}

/* Under lock: drop what is past retention. */
static void trim(faas_stream_t *s, struct shard *sh, uint64_t now)
{
	while (sh->head < sh->n && sh->recs[sh->head]->arrival_ns + s->retention_ns <= now) {
		faas__free(sh->recs[sh->head]);
		sh->recs[sh->head++] = NULL;
	}
	if (sh->head == sh->n) {
		sh->head = sh->n = 0;
	} else if (sh->head > 64 && sh->head > sh->n / 2) { /* compact */
		memmove(sh->recs, sh->recs + sh->head, (sh->n - sh->head) * sizeof(sh->recs[0]));
		sh->n -= sh->head;
		sh->head = 0;
	}
}

/* ---- lifecycle ------------------------------------------------------------------- */

static void stream_free(faas_stream_t *s)
{
	uint32_t i;
	size_t k;

	for (i = 0; s->shards && i < s->nshards; i++) {
		for (k = s->shards[i].head; k < s->shards[i].n; k++)
			faas__free(s->shards[i].recs[k]);
		faas__free(s->shards[i].recs);
	}
	faas__free(s->shards);
	pthread_mutex_destroy(&s->lock);
	faas__free(s);
}

void faas__stream_ref(faas_stream_t *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void faas__stream_unref(faas_stream_t *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		stream_free(s);
}

faas_runtime_t *faas__stream_runtime(const faas_stream_t *s)
{
	return s->rt;
}

static int check_name(const char *name, faas_error_detail_t *d)
{
	size_t i, len = name ? strlen(name) : 0;

	if (!name)
		return faas__fail(d, FAAS_EINVAL, "stream name must not be NULL");
	for (i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-' ||
		      name[i] == '.'))
			break;
	if (len == 0 || len > NAME_MAX_LEN || i < len)
		return faas__fail(d, FAAS_EINVAL,
		                  "1 validation error detected: Value '%.128s' at 'streamName' failed to "
		                  "satisfy constraint: Member must satisfy regular expression pattern: "
		                  "[a-zA-Z0-9_.-]+ and have length 1-128",
		                  name);
	return 0;
}

static int check_options(const faas_stream_options_t *o, faas_error_detail_t *d)
{
	if (o->version != FAAS_STREAM_OPTIONS_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_stream_options_t version %u",
		                  o->version);
	if (o->shards > SHARDS_MAX)
		return faas__fail(d, FAAS_EINVAL, "shards must be 1-%u", SHARDS_MAX);
	if (o->retention_ms > RETENTION_MAX_MS)
		return faas__fail(d, FAAS_EINVAL, "retention_ms must be at most %llu (365 days)",
		                  (unsigned long long)RETENTION_MAX_MS);
	return 0;
}

int faas_stream_create(faas_runtime_t *rt, const char *name, const faas_stream_options_t *o,
                       faas_stream_t **out, faas_error_detail_t *d)
{
	faas_stream_options_t def = FAAS_STREAM_OPTIONS_INIT;
	faas_stream_t *s, *it;
	int rc;

	if ((rc = faas__api_begin(rt, d)) != 0)
		return rc;
	if (!out)
		return faas__fail(d, FAAS_EINVAL, "out must not be NULL");
	*out = NULL;
	o = o ? o : &def;
	if ((rc = check_name(name, d)) != 0 || (rc = check_options(o, d)) != 0)
		return rc;
	if (!(s = faas__calloc(1, sizeof(*s))))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	s->nshards = o->shards ? o->shards : 1;
	if (!(s->shards = faas__calloc(s->nshards, sizeof(*s->shards)))) {
		faas__free(s);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->lock, NULL);
	s->rt = rt;
	s->capacity = o->capacity ? o->capacity : CAPACITY_DEFAULT;
	s->max_bytes = o->max_record_bytes ? o->max_record_bytes : RECORD_MAX_DEFAULT;
	s->retention_ns = (o->retention_ms ? o->retention_ms : RETENTION_DEFAULT_MS) * 1000000ull;
	s->next_seq = 1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->arn, sizeof(s->arn), "arn:aws:kinesis:%s:%s:stream/%s", rt->region, rt->account,
	         name);
	pthread_mutex_lock(&rt->queue_lock);
	for (it = rt->streams; it && strcmp(it->name, name) != 0; it = it->next)
		;
	if (it) {
		pthread_mutex_unlock(&rt->queue_lock);
		stream_free(s);
		return faas__fail(d, FAAS_EEXIST, "Stream %s under account %s already exists.", name,
		                  rt->account);
	}
	s->next = rt->streams;
	rt->streams = s;
	pthread_mutex_unlock(&rt->queue_lock);
	*out = s;
	return 0;
}

int faas_stream_delete(faas_stream_t *s, faas_error_detail_t *d)
{
	faas_stream_t **pp;
	bool listed;
	int rc;

	faas__detail_reset(d);
	if (!s)
		return faas__fail(d, FAAS_EINVAL, "stream must not be NULL");
	if ((rc = faas__api_begin(s->rt, d)) != 0)
		return rc;
	pthread_mutex_lock(&s->rt->queue_lock);
	for (pp = &s->rt->streams; *pp && *pp != s; pp = &(*pp)->next)
		;
	if ((listed = *pp != NULL))
		*pp = s->next;
	pthread_mutex_unlock(&s->rt->queue_lock);
	if (!listed) /* deleted already: the list's reference is gone */
		return faas__fail(d, FAAS_ENOTFOUND, "Stream %s not found.", s->name);
	pthread_mutex_lock(&s->lock);
	s->deleted = true;
	pthread_mutex_unlock(&s->lock);
	faas__stream_unref(s); /* the list's */
	return 0;
}

void faas__streams_free(faas_runtime_t *rt)
{
	faas_stream_t *s, *next;

	for (s = rt->streams; s; s = next) {
		next = s->next;
		faas__stream_unref(s);
	}
	rt->streams = NULL;
}

faas_stream_t *faas_stream_find(faas_runtime_t *rt, const char *name)
{
	faas_stream_t *s;

	if (!rt || !name)
		return NULL;
	pthread_mutex_lock(&rt->queue_lock);
	for (s = rt->streams; s && strcmp(s->name, name) != 0; s = s->next)
		;
	pthread_mutex_unlock(&rt->queue_lock);
	return s;
}

const char *faas_stream_arn(const faas_stream_t *s)
{
	return s ? s->arn : NULL;
}

uint32_t faas_stream_shard_count(const faas_stream_t *s)
{
	return s ? s->nshards : 0;
}

/* ---- put and read ------------------------------------------------------------------ */

int faas_stream_put(faas_stream_t *s, const char *key, const void *data, size_t len,
                    uint32_t *shard_out, char seq_out[FAAS_STREAM_SEQ_MAX], faas_error_detail_t *d)
{
	size_t klen = key ? strlen(key) : 0;
	struct srec *r;
	struct shard *sh;
	uint64_t hash;
	uint32_t shard;
	int rc;

	faas__detail_reset(d);
	if (!s)
		return faas__fail(d, FAAS_EINVAL, "stream must not be NULL");
	if ((rc = faas__rt_check_running(s->rt, d)) != 0)
		return rc;
	if (klen == 0 || klen > FAAS_STREAM_KEY_MAX)
		return faas__fail(d, FAAS_EINVAL,
		                  "1 validation error detected: Value at 'partitionKey' failed to "
		                  "satisfy constraint: Member must have length between 1 and 256");
	if (!data && len)
		return faas__fail(d, FAAS_EINVAL, "data must not be NULL");
	if (len > s->max_bytes)
		return faas__fail(d, FAAS_ETOOLARGE,
		                  "1 validation error detected: Value at 'data' failed to satisfy "
		                  "constraint: Member must have length less than or equal to %u",
		                  s->max_bytes);
	hash = key_hash(key, klen);
	shard = (uint32_t)(((unsigned __int128)hash * s->nshards) >> 64);
	if (!(r = faas__malloc(sizeof(*r) + klen + 1 + len)))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	r->hash = hash;
	r->len = len;
	r->key_len = klen;
	memcpy(r->bytes, key, klen + 1);
	if (len)
		memcpy(r->bytes + klen + 1, data, len);
	r->lineage = faas__current_lineage(s->rt);
	pthread_mutex_lock(&s->lock);
	/* under the lock: arrival order is sequence order (trim, AT_TIMESTAMP and
	 * the age limit rely on it) */
	r->arrival_ns = faas__clock_mono_ns(&s->rt->clock);
	r->arrival_ms = faas__clock_wall_ms(&s->rt->clock);
	sh = &s->shards[shard];
	trim(s, sh, r->arrival_ns);
	if (s->deleted || sh->n - sh->head >= s->capacity ||
	    !faas__array_reserve(&sh->recs, sh->n, &sh->cap)) {
		bool full = !s->deleted && sh->n - sh->head >= s->capacity;
		bool gone = s->deleted;
		pthread_mutex_unlock(&s->lock);
		faas__free(r);
		return gone   ? faas__fail(d, FAAS_ENOTFOUND, "Stream %s not found.", s->name)
		       : full ? faas__fail(d, FAAS_EAGAIN,
		                           "Rate exceeded for shard shardId-%012u in stream %s: "
		                           "the shard holds %u records",
		                           shard, s->name, s->capacity)
		              : faas__fail(d, FAAS_ENOMEM, NULL);
	}
	r->seq = s->next_seq++;
	sh->recs[sh->n++] = r;
	pthread_mutex_unlock(&s->lock);
	if (shard_out)
		*shard_out = shard;
	if (seq_out)
		faas__stream_seq_text(r->seq, seq_out);
	/* mappings on a real clock poll now (a virtual one steps them when it moves) */
	if (s->rt->clock.kind != FAAS_CLOCK_VIRTUAL)
		faas__mappings_kick(s->rt);
	return 0;
}

uint64_t faas_stream_shard_records(faas_stream_t *s, uint32_t shard)
{
	uint64_t n;

	if (!s || shard >= s->nshards)
		return 0;
	pthread_mutex_lock(&s->lock);
	trim(s, &s->shards[shard], faas__clock_mono_ns(&s->rt->clock));
	n = s->shards[shard].n - s->shards[shard].head;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Under lock: the index of the first live record with seq >= from. */
static size_t find_from(const struct shard *sh, uint64_t from)
{
	size_t lo = sh->head, hi = sh->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sh->recs[mid]->seq < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t faas__stream_read(faas_stream_t *s, uint32_t shard, uint64_t from, uint32_t lanes,
                         uint32_t lane, size_t max, faas__stream_visit_fn visit, void *arg)
{
	struct shard *sh;
	size_t i, n = 0;

	pthread_mutex_lock(&s->lock);
	if (s->deleted || shard >= s->nshards) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	sh = &s->shards[shard];
	trim(s, sh, faas__clock_mono_ns(&s->rt->clock));
	for (i = find_from(sh, from); i < sh->n && n < max; i++) {
		const struct srec *r = sh->recs[i];
		int v;
		if (lanes > 1 && r->hash % lanes != lane)
			continue;
		if ((v = visit(r, arg)) < 0)
			break;
		n += (size_t)v;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t faas__stream_next_seq(faas_stream_t *s)
{
	uint64_t v;

	pthread_mutex_lock(&s->lock);
	v = s->next_seq;
	pthread_mutex_unlock(&s->lock);
	return v;
}

uint64_t faas__stream_seq_at(faas_stream_t *s, uint32_t shard, int64_t wall_ms)
{
	struct shard *sh = &s->shards[shard];
	uint64_t v;
	size_t i;

	pthread_mutex_lock(&s->lock);
	v = s->next_seq;
	for (i = sh->head; i < sh->n; i++)
		if (sh->recs[i]->arrival_ms >= wall_ms) {
			v = sh->recs[i]->seq;
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return v;
}

const char *faas__stream_name(const faas_stream_t *s)
{
	return s->name;
}
