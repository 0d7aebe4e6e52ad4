/* Unikernel test: virtio-rng seeds the entropy generator at boot (UK_ENTROPY_SEED or better). */
#include <stdio.h>
#include <string.h>
#include <uk/uk.h>

/* Driver internal (runtime-lib/drivers/virtio.h), declared here for the test. */
unsigned uk_virtio_rng_bytes(void);

/* usage: net_rng rng|none   (whether QEMU has a virtio-rng device) */
int main(int argc, char **argv)
{
	unsigned got = uk_virtio_rng_bytes();
	uk_entropy_strength_t s = uk_entropy_strength();
	uint8_t a[32], b[32];

	printf("virtio-rng gave %u bytes; entropy strength %d\n", got, (int)s);
	if (argc != 2) {
		printf("FAIL: usage: net_rng rng|none\n");
		return 2;
	}
	if (!strcmp(argv[1], "rng")) {
		if (got < 16 || s < UK_ENTROPY_SEED) {
			printf("FAIL: no host entropy from virtio-rng\n");
			return 1;
		}
	} else if (got) {
		printf("FAIL: entropy from a virtio-rng device that is not there\n");
		return 1;
	}
	uk_entropy_get(a, sizeof(a));
	uk_entropy_get(b, sizeof(b));
	if (!memcmp(a, b, sizeof(a))) {
		printf("FAIL: the generator repeats itself\n");
		return 1;
	}
	printf("SUCCESS\n");
	return 0;
}
