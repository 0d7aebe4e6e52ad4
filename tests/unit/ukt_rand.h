/* The unit tests' deterministic generator (splitmix64): seed (rng), then next() and pick(n)
 * (a test may use only one of them); ukt_rand_next() for a generator with its own state. */
#ifndef UKT_RAND_H
#define UKT_RAND_H

#include <stdint.h>

static uint64_t rng;

/* The next number of the sequence whose state is (*state). */
static inline uint64_t ukt_rand_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static __attribute__((unused)) uint64_t next(void)
{
	return ukt_rand_next(&rng);
}

/* A uniform-enough integer in [0, n). */
static __attribute__((unused)) int pick(int n)
{
	return (int)(next() % (uint64_t)n);
}

#endif
