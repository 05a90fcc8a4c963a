/*
 * libfaas — weighted alias routing.
 *
 * A draw is a uniform 64-bit number compared with a threshold fixed when
 * the alias is built (weight * 2^64), so one resolution costs a PRNG step
 * and a compare. Without a routing key the number comes from the stripe's
 * seeded splitmix64 state (under the stripe lock, so repeatable for a given
 * seed and call order); with a key it is a hash of the key and the seed,
 * so the same key keeps choosing the same version while the weights are
 * unchanged.
 */
#include "registry.h"

#include <math.h>

void faas__routing_prepare(struct faas_alias *a, double weight)
{
	a->weight = weight;
	a->all_secondary = weight >= 1.0;
	a->threshold = a->all_secondary ? UINT64_MAX : (uint64_t)ldexp(weight, 64);
}

bool faas__routing_pick_secondary(const struct faas_alias *a, uint64_t *prng, uint64_t seed,
                                  const char *key)
{
	uint64_t x;

	if (!a->secondary)
		return false;
	if (a->all_secondary)
		return true;
	if (key)
		x = faas__hash64(key, strlen(key), seed ^ 0x6c62272e07bb0142ull);
	else
		x = faas__splitmix64(prng);
	return x < a->threshold;
}
