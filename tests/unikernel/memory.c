/* The allocator over all guest RAM: most of it can be allocated, written, freed and allocated
 * again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>

#define CHUNK (1u << 20)

int main(void)
{
	size_t total = uk_heap_total();
	static void *blocks[4096];
	size_t n = 0, i, got;
	void *big;

	printf("heap %zu KiB on %s\n", total / 1024, uk_platform());
	/* The hosted heap is a large reservation; cap the walk there. */
	while (n < 4096 && (n < 48 || strcmp(uk_platform(), "hosted"))) {
		uint8_t *p = malloc(CHUNK);

		if (!p)
			break;
		memset(p, (int)(n & 0xff), CHUNK);
		blocks[n++] = p;
	}
	got = n * CHUNK;
	printf("allocated %zu MiB in 1 MiB blocks\n", got >> 20);
	if (strcmp(uk_platform(), "hosted") && got < total / 2) {
		printf("FAIL: only %zu of %zu bytes allocatable\n", got, total);
		return 1;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *p = blocks[i];

		if (p[0] != (i & 0xff) || p[CHUNK - 1] != (i & 0xff)) {
			printf("FAIL: block %zu corrupted\n", i);
			return 1;
		}
	}
	for (i = 0; i < n; i += 2)
		free(blocks[i]);
	for (i = 1; i < n; i += 2)
		free(blocks[i]);
	/* Everything freed coalesces: one block of most of the RAM fits again. */
	big = malloc(got - CHUNK);
	if (!big) {
		printf("FAIL: freed memory was not coalesced for reuse\n");
		return 1;
	}
	memset(big, 0xab, got - CHUNK);
	free(big);
	if (uk_heap_used() > 64 * 1024) {
		printf("FAIL: %zu bytes still in use\n", uk_heap_used());
		return 1;
	}
	printf("SUCCESS\n");
	return 0;
}
