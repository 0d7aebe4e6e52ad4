/* virtio-rng driver: one request for host entropy at boot, fed to the runtime's generator. */
#include "drivers/virtio.h"
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>
#include <uk/internal.h>

#define RNG_BYTES 64u
#define RNG_WAIT_NS 200000000ull /* the host answers in microseconds; give up after 200 ms */
#define RNG_STEP_NS 1000000ull
/* TSC cycles (~1-2 ms) to watch the ring before the first clock call (a calibration). */
#define RNG_SPIN_TSC 4000000ull

static unsigned rng_bytes;

unsigned uk_virtio_rng_bytes(void)
{
	return rng_bytes;
}

int uk_virtio_rng_probe(struct uk_virtio_dev *dev)
{
	struct uk_virtq q;
	uint8_t *buf;
	uint64_t start, now;
	uint16_t id;
	uint32_t len = 0;
	int got = 0;

	if (uk_virtio_negotiate(dev, 0))
		return -1;
	uk_virtio_irq_setup(dev); /* the wait below halts; the interrupt ends it early */
	buf = aligned_alloc(64, RNG_BYTES);
	if (!buf || uk_virtio_queue_init(dev, &q, 0, 1, 0)) {
		free(buf);
		return -1;
	}
	q.desc[0].addr = (uintptr_t)buf;
	q.desc[0].len = RNG_BYTES;
	q.desc[0].flags = UK_VIRTQ_DESC_F_WRITE;
	uk_virtio_driver_ok(dev);
	uk_virtq_post(&q, 0);
	uk_virtq_kick(dev, &q);
	/*
	 * QEMU answers from its I/O thread within microseconds. Watch the ring
	 * for a moment first: the first clock call would calibrate the TSC
	 * (thousands of PIT reads under TCG). Only if the device is slow, halt
	 * in 1 ms steps, woken by its interrupt, for at most 200 ms.
	 */
	start = uk_rdtsc();
	while (!(got = uk_virtq_take(&q, &id, &len)) && uk_rdtsc() - start < RNG_SPIN_TSC)
		__asm__ volatile("pause");
	if (!got) {
		start = now = uk_time_monotonic_ns();
		while (!(got = uk_virtq_take(&q, &id, &len)) && now - start < RNG_WAIT_NS)
			now = uk_time_block_until(now + RNG_STEP_NS);
	}
	if (got && len > 0 && len <= RNG_BYTES) {
		uk_entropy_add_seed(buf, len);
		rng_bytes = len;
	}
	memset(buf, 0, RNG_BYTES);
	/* The ring stays allocated and the buffer too: a reset device could still write. */
	return got ? 0 : -1;
}
