/* Unikernel test: an instance with a NIC up and nothing to do halts (net_run.sh measures QEMU's CPU
 * time). */
#include <stdio.h>
#include <uk/uk.h>
#include <uk/netdev.h>

/* The registry lives in libuk-net.a; this test carries its own to test the driver alone. */
static struct uk_netdev *devs;

uk_result_t uk_netdev_register(struct uk_netdev *dev)
{
	if (!dev || !dev->ops || !dev->ops->tx || !dev->ops->rx)
		return UK_EINVAL;
	dev->next = devs;
	devs = dev;
	return UK_OK;
}

int main(void)
{
	static uint8_t buf[2048];
	uint64_t now, end;
	unsigned frames = 0;
	int n;

	if (!devs) {
		printf("FAIL: no network device registered\n");
		return 1;
	}
	/* What a stack's event loop does with nothing to do: drain rx, halt until the next timer.
	 */
	printf("idle start\n");
	now = uk_time_monotonic_ns();
	end = now + 3000000000ull;
	while (now < end) {
		while ((n = devs->ops->rx(devs, buf, sizeof(buf))) > 0)
			frames++;
		now = uk_time_block_until(devs->flags & UK_NETDEV_F_IRQ ? end : now + 1000000);
	}
	printf("idle end (%u frames)\n", frames);
	printf("SUCCESS\n");
	return 0;
}
