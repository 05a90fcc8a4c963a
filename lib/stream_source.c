/*
 * libfaas — the built-in stream's event source: Lambda's stream semantics
 * for a mapping, written against the source vtable (faas/source.h).
 *
 * DESIGN
 * - A lane is a shard, or with a parallelization factor F one of F parts
 *   of a shard (records by partition-key hash % F, so a key stays in one
 *   lane and in order). A lane hands out one chunk at a time: the records
 *   of one receive, all of one group (the lane), so a batch never mixes
 *   lanes and a lane is blocked until its chunk is settled.
 * - When every record of the chunk is settled the lane moves: all acked ->
 *   past the chunk (the checkpoint); some nacked -> an attempt is counted
 *   and the lane goes back to the lowest nacked sequence (partial batch
 *   responses: records after it come again) after a backoff (1 s doubling
 *   to 1 min, times async_delay_scale); a whole chunk failing with bisect
 *   on -> its halves are done one after the other (recursively), which is
 *   not counted as a retry;
 *   attempts past maximum_retry_attempts -> the chunk is discarded to the
 *   on-failure destination (RetryAttemptsExhausted); released records
 *   (never processed) -> back to the lowest of them, no attempt counted.
 *   Records older than maximum_record_age are discarded at the next
 *   receive (RecordAgeExceeded), which unblocks a lane stuck on them.
 * - One receiver at a time (the mapping steps one thread at a time) and
 *   only settles touch a lane that is out: receive reads the stream with
 *   the source's lock released (never two library locks at once).
 */
#include "dispatch.h"
#include "mapping_int.h"
#include "stream_int.h"

#include <stdio.h>

#define AGE_MIN_MS 1
#define AGE_MAX_MS 604800000LL
#define RETRY_MAX 10000
#define FACTOR_MAX 10u
#define SPLITS_MAX 40 /* bisect depth x 2: 10 000 records need 28 */

struct lane {
	uint32_t shard, idx;
	uint64_t next; /* the next sequence to hand out */
	bool busy;     /* a chunk is out */
	uint64_t first, last, mid; /* mid: the last sequence of the chunk's first half */
	uint32_t count, settled, failed, skipped, attempts;
	uint64_t low_fail, low_back; /* UINT64_MAX: none */
	uint64_t not_before_ns;      /* a retry waits until then (runtime clock) */
	int64_t first_ms, last_ms;
	/* bisect: the ends of the halves still to do, innermost on top; a
	 * chunk never goes past the top one */
	uint64_t ends[SPLITS_MAX];
	uint32_t nends;
};

struct ssrc {
	faas_stream_t *s; /* referenced */
	faas_source_t *src; /* the source wrapping this one (for the function's ARN) */
	pthread_mutex_t lock;
	struct lane *lanes;
	uint32_t nlanes, factor, rr;
	int32_t max_retry;
	int64_t max_age_ms;
	bool bisect;
	faas_destination_t on_failure; /* a queue is referenced */
};

/* What a discard sends to the on-failure destination. */
struct discard {
	const char *condition;
	uint32_t shard, attempts, count;
	uint64_t first, last;
	int64_t first_ms, last_ms;
};

/* ---- the on-failure record ------------------------------------------------------------ */

static json_t *failure_record(struct ssrc *ss, const struct discard *x)
{
	faas_runtime_t *rt = faas__stream_runtime(ss->s);
	const char *arn = ss->src->function_arn, *q = strrchr(arn, ':');
	char ts[32], a0[32], a1[32], rid[FAAS_REQUEST_ID_SIZE], s0[FAAS_STREAM_SEQ_MAX],
	        s1[FAAS_STREAM_SEQ_MAX], shard[FAAS_STREAM_SHARD_ID_MAX];
	json_t *rec;

	faas__format_iso_ms(faas__clock_wall_ms(&rt->clock), ts, sizeof(ts));
	faas__format_iso_ms(x->first_ms, a0, sizeof(a0));
	faas__format_iso_ms(x->last_ms, a1, sizeof(a1));
	faas__request_id(rid);
	faas__stream_seq_text(x->first, s0);
	faas__stream_seq_text(x->last, s1);
	faas__shard_id(x->shard, shard);
	rec = json_pack("{s:{s:s,s:s,s:s,s:i},s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:i,s:s}}",
	                "requestContext", "requestId", rid, "functionArn", arn, "condition",
	                x->condition, "approximateInvokeCount", (int)x->attempts, "version", "1.0",
	                "timestamp", ts, "KinesisBatchInfo", "shardId", shard,
	                "startSequenceNumber", s0, "endSequenceNumber", s1,
	                "approximateArrivalOfFirstRecord", a0, "approximateArrivalOfLastRecord", a1,
	                "batchSize", (int)x->count, "streamArn", faas_stream_arn(ss->s));
	if (rec && x->attempts > 0) { /* it ran and failed */
		bool number = q && q[1] >= '0' && q[1] <= '9';
		json_object_set_new(rec, "responseContext",
		                    json_pack("{s:i,s:s,s:s}", "statusCode", 200, "executedVersion",
		                              number ? q + 1 : "$LATEST", "functionError", "Unhandled"));
	}
	return rec;
}

static void deliver(struct ssrc *ss, const struct discard *x)
{
	json_t *rec;
	char *text;

	if (ss->on_failure.kind == FAAS_DESTINATION_NONE)
		return; /* Lambda: discarded records are gone */
	if (!(rec = failure_record(ss, x)))
		return;
	if (ss->on_failure.kind == FAAS_DESTINATION_CALLBACK) {
		ss->on_failure.callback(rec, ss->on_failure.user_data);
	} else if ((text = faas_json_dumps(rec, JSON_COMPACT)) != NULL) {
		faas__queue_put(ss->on_failure.queue, text, strlen(text));
		faas__json_text_free(text);
	}
	json_decref(rec);
}

/* ---- receive ---------------------------------------------------------------------------- */

struct reader {
	struct ssrc *ss;
	struct lane *lane;
	faas_source_record_t *out;
	size_t n;
	int64_t now_ms;
	struct discard old; /* records past the age limit, skipped */
	size_t bytes;       /* of the chunk, as JSON text */
	bool oom;
};

static json_t *kinesis_record(struct reader *rd, const struct srec *r)
{
	faas_runtime_t *rt = faas__stream_runtime(rd->ss->s);
	char seq[FAAS_STREAM_SEQ_MAX], shard[FAAS_STREAM_SHARD_ID_MAX], id[64], role[96];
	char *data = faas__base64(faas__srec_data(r), r->len);
	json_t *rec;

	if (!data)
		return NULL;
	faas__stream_seq_text(r->seq, seq);
	faas__shard_id(rd->lane->shard, shard);
	snprintf(id, sizeof(id), "%s:%s", shard, seq);
	snprintf(role, sizeof(role), "arn:aws:iam::%s:role/lambda-role", rt->account);
	rec = json_pack("{s:{s:s,s:s,s:s,s:s,s:f},s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kinesis",
	                "kinesisSchemaVersion", "1.0", "partitionKey", faas__srec_key(r),
	                "sequenceNumber", seq, "data", data, "approximateArrivalTimestamp",
	                (double)r->arrival_ms / 1000.0, "eventSource", "aws:kinesis",
	                "eventVersion", "1.0", "eventID", id, "eventName", "aws:kinesis:record",
	                "invokeIdentityArn", role, "awsRegion", rt->region, "eventSourceARN",
	                faas_stream_arn(rd->ss->s));
	faas__free(data);
	return rec;
}

/* Under the stream's lock: one record of the lane. */
static int visit(const struct srec *r, void *arg)
{
	struct reader *rd = arg;
	struct lane *l = rd->lane;
	faas_source_record_t *o;

	if (rd->ss->max_age_ms >= 0 && rd->n == 0 && rd->now_ms - r->arrival_ms > rd->ss->max_age_ms) {
		if (!rd->old.count++) { /* too old: skipped, reported as one range */
			rd->old.first = r->seq;
			rd->old.first_ms = r->arrival_ms;
		}
		rd->old.last = r->seq;
		rd->old.last_ms = r->arrival_ms;
		return 0;
	}
	/* bisect: halves that nothing is left of (aged out, trimmed) are done */
	while (rd->n == 0 && l->nends && r->seq > l->ends[l->nends - 1])
		l->nends--;
	if (l->nends && r->seq > l->ends[l->nends - 1])
		return -1; /* the half being done ends here */
	o = &rd->out[rd->n];
	if (!(o->record = kinesis_record(rd, r))) {
		rd->oom = true;
		return -1;
	}
	o->size = faas__json_text_size(o->record);
	if (rd->n > 0 && rd->bytes + o->size + 1 > FAAS_MAPPING_BATCH_BYTES_MAX) {
		/* a chunk stays within one batch's 6 MB: this one starts the next */
		json_decref(o->record);
		o->record = NULL;
		return -1;
	}
	rd->bytes += o->size + 1;
	o->lineage = r->lineage;
	o->group = (uint32_t)(l - rd->ss->lanes) + 1;
	faas__stream_seq_text(r->seq, o->id);
	snprintf(o->handle, sizeof(o->handle), "%u:%llu", (unsigned)(l - rd->ss->lanes),
	         (unsigned long long)r->seq);
	if (rd->n == 0) {
		l->first = r->seq;
		l->first_ms = r->arrival_ms;
	}
	l->last = r->seq;
	l->last_ms = r->arrival_ms;
	rd->n++;
	return 1;
}

static int ss_receive(void *ud, uint32_t max, uint32_t visibility_ms, faas_source_record_t *out,
                      size_t *n)
{
	struct ssrc *ss = ud;
	faas_runtime_t *rt = faas__stream_runtime(ss->s);
	uint32_t k;

	(void)visibility_ms; /* nothing else reads this lane: it waits for us */
	*n = 0;
	for (k = 0; k < ss->nlanes; k++) {
		struct reader rd = { ss, NULL, out, 0, faas__clock_wall_ms(&rt->clock),
			             { "RecordAgeExceeded", 0, 0, 0, 0, 0, 0, 0 }, 14, false };
		uint64_t from, now = faas__clock_mono_ns(&rt->clock), mid = 0;
		uint32_t i;
		bool idle;

		pthread_mutex_lock(&ss->lock);
		i = (ss->rr + k) % ss->nlanes;
		rd.lane = &ss->lanes[i];
		from = rd.lane->next;
		idle = !rd.lane->busy && now >= rd.lane->not_before_ns;
		pthread_mutex_unlock(&ss->lock);
		if (!idle) /* settles make it idle; only this receiver makes it busy */
			continue;
		faas__stream_read(ss->s, rd.lane->shard, from, ss->factor, rd.lane->idx, max, visit,
		                  &rd);
		if (rd.n)
			faas__stream_seq_parse(out[(rd.n + 1) / 2 - 1].id, &mid);
		pthread_mutex_lock(&ss->lock);
		if (rd.old.count) { /* discarded: the lane moves past them, a new count starts */
			if (rd.old.first == from) /* what it was retrying: its attempts so far */
				rd.old.attempts = rd.lane->attempts;
			rd.lane->next = rd.old.last + 1;
			rd.lane->attempts = 0;
			rd.lane->not_before_ns = 0;
		}
		if (rd.n) {
			rd.lane->mid = mid;
			rd.lane->busy = true;
			rd.lane->count = (uint32_t)rd.n;
			rd.lane->settled = rd.lane->failed = rd.lane->skipped = 0;
			rd.lane->low_fail = rd.lane->low_back = UINT64_MAX;
			ss->rr = i + 1;
		}
		pthread_mutex_unlock(&ss->lock);
		if (rd.old.count) {
			rd.old.shard = rd.lane->shard;
			deliver(ss, &rd.old);
		}
		if (rd.n || rd.oom) {
			*n = rd.n;
			return rd.n ? 0 : FAAS_ENOMEM;
		}
	}
	return 0;
}

/* ---- settling ------------------------------------------------------------------------ */

/* Under lock: the chunk is done with (processed or discarded): on past it,
 * and out of the halves it completes. */
static void move_past(struct lane *l)
{
	l->next = l->last + 1;
	l->attempts = 0;
	l->not_before_ns = 0;
	while (l->nends && l->ends[l->nends - 1] <= l->last)
		l->nends--;
}

/* Under lock: the lane's chunk is settled; *x filled when it is discarded. */
static bool finish(struct ssrc *ss, struct lane *l, struct discard *x)
{
	faas_runtime_t *rt = faas__stream_runtime(ss->s);
	double ms;

	l->busy = false;
	if (l->low_fail == UINT64_MAX) {
		/* all processed (past the chunk), or some never processed (back to them) */
		if (l->low_back == UINT64_MAX)
			move_past(l);
		else
			l->next = l->low_back;
		return false;
	}
	/* a whole batch failed (filtered records never were in it) */
	if (ss->bisect && l->failed == l->count - l->skipped && l->failed > 1 &&
	    l->nends + 2 <= SPLITS_MAX) {
		l->ends[l->nends++] = l->last; /* the second half, after ... */
		l->ends[l->nends++] = l->mid;  /* ... the first: a split, not a retry */
		l->next = l->first;
		return false;
	}
	l->attempts++;
	if (ss->max_retry >= 0 && l->attempts > (uint32_t)ss->max_retry) {
		*x = (struct discard){ "RetryAttemptsExhausted", l->shard, l->attempts, l->count,
			               l->first, l->last, l->first_ms, l->last_ms };
		move_past(l);
		return true;
	}
	l->next = l->low_back < l->low_fail ? l->low_back : l->low_fail; /* the checkpoint */
	ms = 1000.0 * (double)(1u << (l->attempts < 7 ? l->attempts - 1 : 6));
	l->not_before_ns = faas__clock_mono_ns(&rt->clock) +
	                   (uint64_t)((ms < 60000.0 ? ms : 60000.0) * rt->delay_scale * 1e6);
	return false;
}

enum how { ACK, NACK, RELEASE, SKIP };

static void ss_settle(struct ssrc *ss, const faas_source_record_t *r, enum how how)
{
	unsigned long long seq;
	unsigned idx;
	struct discard x;
	struct lane *l;
	bool discard = false;

	if (sscanf(r->handle, "%u:%llu", &idx, &seq) != 2 || idx >= ss->nlanes)
		return;
	pthread_mutex_lock(&ss->lock);
	l = &ss->lanes[idx];
	if (l->busy && seq >= l->first && seq <= l->last) {
		l->settled++;
		if (how == SKIP) {
			l->skipped++;
		} else if (how == NACK) {
			l->failed++;
			if (seq < l->low_fail)
				l->low_fail = seq;
		} else if (how == RELEASE && seq < l->low_back) {
			l->low_back = seq;
		}
		if (l->settled == l->count)
			discard = finish(ss, l, &x);
	}
	pthread_mutex_unlock(&ss->lock);
	if (discard)
		deliver(ss, &x);
}

static void ss_ack(void *ud, const faas_source_record_t *r)
{
	ss_settle(ud, r, ACK);
}

static void ss_nack(void *ud, const faas_source_record_t *r)
{
	ss_settle(ud, r, NACK);
}

static void ss_release(void *ud, const faas_source_record_t *r)
{
	ss_settle(ud, r, RELEASE);
}

static void ss_skip(void *ud, const faas_source_record_t *r)
{
	ss_settle(ud, r, SKIP);
}

static void ss_close(void *ud)
{
	struct ssrc *ss = ud;

	if (ss->on_failure.kind == FAAS_DESTINATION_QUEUE)
		faas__queue_unref(ss->on_failure.queue);
	faas__stream_unref(ss->s);
	pthread_mutex_destroy(&ss->lock);
	faas__free(ss->lanes);
	faas__free(ss);
}

/* ---- creation ------------------------------------------------------------------------- */

static int check(faas_stream_t *s, const faas_stream_source_options_t *o, faas_error_detail_t *d)
{
	if (o->version != FAAS_STREAM_SOURCE_OPTIONS_VERSION)
		return faas__fail(d, FAAS_EINVAL, "unsupported faas_stream_source_options_t version %u",
		                  o->version);
	if (o->starting_position < FAAS_START_TRIM_HORIZON ||
	    o->starting_position > FAAS_START_AT_TIMESTAMP)
		return faas__fail(d, FAAS_EINVAL,
		                  "starting_position must be TRIM_HORIZON, LATEST or AT_TIMESTAMP");
	if (o->parallelization_factor > FACTOR_MAX)
		return faas__fail(d, FAAS_EINVAL,
		                  "1 validation error detected: Value '%u' at 'parallelizationFactor' "
		                  "failed to satisfy constraint: Member must have value less than or "
		                  "equal to 10",
		                  o->parallelization_factor);
	if (o->maximum_retry_attempts < -1 || o->maximum_retry_attempts > RETRY_MAX)
		return faas__fail(d, FAAS_EINVAL, "maximum_retry_attempts must be -1 to %d", RETRY_MAX);
	if (o->maximum_record_age_ms != -1 &&
	    (o->maximum_record_age_ms < AGE_MIN_MS || o->maximum_record_age_ms > AGE_MAX_MS))
		return faas__fail(d, FAAS_EINVAL,
		                  "maximum_record_age_ms must be -1 or 1 to 604800000 (7 days)");
	switch (o->on_failure.kind) {
	case FAAS_DESTINATION_NONE:
		return 0;
	case FAAS_DESTINATION_CALLBACK:
		return o->on_failure.callback ? 0
		                              : faas__fail(d, FAAS_EINVAL,
		                                           "on_failure: a callback destination needs a "
		                                           "callback");
	case FAAS_DESTINATION_QUEUE:
		if (!o->on_failure.queue || faas__queue_runtime(o->on_failure.queue) !=
		                                    faas__stream_runtime(s))
			return faas__fail(d, FAAS_EINVAL,
			                  "on_failure: a queue of the stream's runtime is needed");
		return 0;
	default:
		return faas__fail(d, FAAS_EINVAL,
		                  "on_failure: a stream's failures go to a callback or a queue");
	}
}

static void start_lanes(struct ssrc *ss, const faas_stream_source_options_t *o)
{
	uint64_t latest = faas__stream_next_seq(ss->s);
	uint32_t i;

	for (i = 0; i < ss->nlanes; i++) {
		struct lane *l = &ss->lanes[i];
		l->shard = i / ss->factor;
		l->idx = i % ss->factor;
		l->next = o->starting_position == FAAS_START_LATEST        ? latest
		          : o->starting_position == FAAS_START_AT_TIMESTAMP ? faas__stream_seq_at(
		                                                                      ss->s, l->shard,
		                                                                      o->timestamp_ms)
		                                                            : 0;
	}
}

int faas_stream_source_new(faas_stream_t *s, const faas_stream_source_options_t *o,
                           faas_source_t **out, faas_error_detail_t *d)
{
	faas_stream_source_options_t def = FAAS_STREAM_SOURCE_OPTIONS_INIT;
	faas_source_ops_t ops = { FAAS_SOURCE_OPS_VERSION, "aws:kinesis", NULL, "data", ss_receive,
		                  ss_ack, ss_nack, ss_release, ss_close, 1, 1, "kinesis", ss_skip, 0, NULL };
	struct ssrc *ss;
	int rc;

	faas__detail_reset(d);
	if (!s || !out)
		return faas__fail(d, FAAS_EINVAL, "stream and out must not be NULL");
	*out = NULL;
	o = o ? o : &def;
	if ((rc = check(s, o, d)) != 0)
		return rc;
	if (!(ss = faas__calloc(1, sizeof(*ss))))
		return faas__fail(d, FAAS_ENOMEM, NULL);
	ss->factor = o->parallelization_factor ? o->parallelization_factor : 1;
	ss->nlanes = faas_stream_shard_count(s) * ss->factor;
	if (!(ss->lanes = faas__calloc(ss->nlanes, sizeof(*ss->lanes)))) {
		faas__free(ss);
		return faas__fail(d, FAAS_ENOMEM, NULL);
	}
	pthread_mutex_init(&ss->lock, NULL);
	ss->s = s;
	ss->max_retry = o->maximum_retry_attempts;
	ss->max_age_ms = o->maximum_record_age_ms;
	ss->bisect = o->bisect_batch_on_function_error != 0;
	ss->on_failure = o->on_failure;
	ss->on_failure.function = NULL;
	start_lanes(ss, o);
	ops.arn = faas_stream_arn(s);
	if ((rc = faas_source_new(out, &ops, ss, d)) != 0) {
		pthread_mutex_destroy(&ss->lock);
		faas__free(ss->lanes);
		faas__free(ss);
		return rc;
	}
	faas__stream_ref(s);
	if (ss->on_failure.kind == FAAS_DESTINATION_QUEUE)
		faas__queue_ref(ss->on_failure.queue);
	ss->src = *out;
	atomic_store(&(*out)->rt, faas__stream_runtime(s));
	return 0;
}
