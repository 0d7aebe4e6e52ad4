/* Hosted netdev over a Linux tap device (UK_TAP=NAME): frames read from and written to
 * /dev/net/tun. */
#include <uk/uk.h>
#include <uk/internal.h>
#include <uk/netdev.h>
#include <stdlib.h>
#include <string.h>

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_ioctl 16
#define SYS_getrandom 318
#define O_RDWR_ 2
#define O_NONBLOCK_ 04000
#define O_CLOEXEC_ 02000000
#define TUNSETIFF_ 0x400454caul
#define IFF_TAP_ 0x0002
#define IFF_NO_PI_ 0x1000
#define EINTR_ 4
#define EAGAIN_ 11
#define FRAME_MAX 65536u /* a tap never hands over more than its MTU + 14 without vnet headers */

long uk_hosted_syscall(long n, long a, long b, long c, long d, long e, long f);

/*
 * Linked in only with the stack, as the virtio-net driver is: without
 * libuk-net.a an app never opens the tap.
 */
uk_result_t uk_netdev_register(struct uk_netdev *dev) __attribute__((weak));

/* The open tap's descriptor, or -1: uk_time_block_until() also wakes when it is readable. */
int uk_hosted_tap_fd = -1;

static struct uk_netdev tap_dev;
static char tap_name[16];
static unsigned char rxbuf[FRAME_MAX];

static uk_result_t tap_tx(struct uk_netdev *dev, const void *frame, size_t len)
{
	long n;

	if (len < UK_NETDEV_ETH_HLEN || len > (size_t)(dev->mtu ? dev->mtu : 1500) + 14)
		return UK_EINVAL;
	do
		n = uk_hosted_syscall(SYS_write, uk_hosted_tap_fd, (long)frame, (long)len, 0, 0, 0);
	while (n == -EINTR_);
	/* A full tap queue (or the interface being down) loses the frame, as a wire would. */
	return n == (long)len ? UK_OK : UK_EAGAIN;
}

static int tap_rx(struct uk_netdev *dev, void *buf, size_t cap)
{
	(void)dev;
	for (;;) {
		long n = uk_hosted_syscall(SYS_read, uk_hosted_tap_fd, (long)rxbuf, FRAME_MAX, 0, 0,
		                           0);

		if (n == -EINTR_)
			continue;
		if (n == -EAGAIN_)
			return 0;
		if (n < 0)
			return UK_EUNSPEC;
		if (n == 0)
			return 0;
		if ((size_t)n > cap)
			continue; /* too long for the stack: dropped, never truncated */
		memcpy(buf, rxbuf, (size_t)n);
		return (int)n;
	}
}

static const struct uk_netdev_ops tap_ops = {.tx = tap_tx, .rx = tap_rx};

/*
 * Called once at start-up, after the runtime options: when UK_TAP names a tap
 * device (and the stack is linked in), opens it and registers it as a netdev
 * with a random locally administered MAC. Failures are reported on stderr and
 * leave the app without that device (uk_net_configure_from_options() then
 * says there is no NIC).
 */
void uk_hosted_tap_init(void)
{
	struct {
		char name[16];
		short flags;
		char pad[22];
	} ifr;
	const char *name = getenv("UK_TAP");
	long fd, r;

	if (!name || !*name || !uk_netdev_register)
		return;
	if (strlen(name) >= sizeof(ifr.name)) {
		uk_printk("uk: UK_TAP=%s: interface names have at most 15 characters\n", name);
		return;
	}
	fd = uk_hosted_syscall(SYS_open, (long)"/dev/net/tun", O_RDWR_ | O_NONBLOCK_ | O_CLOEXEC_,
	                       0, 0, 0, 0);
	if (fd < 0) {
		uk_printk("uk: UK_TAP=%s: cannot open /dev/net/tun (errno %ld)\n", name, -fd);
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.name, name);
	ifr.flags = IFF_TAP_ | IFF_NO_PI_;
	r = uk_hosted_syscall(SYS_ioctl, fd, (long)TUNSETIFF_, (long)&ifr, 0, 0, 0);
	if (r < 0) {
		uk_printk("uk: UK_TAP=%s: TUNSETIFF failed (errno %ld%s)\n", name, -r,
		          r == -1    ? ": not permitted"
		          : r == -16 ? ": busy"
		                     : "");
		uk_hosted_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
		return;
	}
	strcpy(tap_name, name);
	if (uk_hosted_syscall(SYS_getrandom, (long)tap_dev.mac, 6, 0, 0, 0, 0) != 6)
		memcpy(tap_dev.mac, "\x02\x75\x6b\x00\x00\x02", 6);
	tap_dev.mac[0] = (uint8_t)((tap_dev.mac[0] & 0xfe) | 0x02); /* unicast, local */
	tap_dev.ops = &tap_ops;
	tap_dev.mtu = UK_NETDEV_MTU_DEFAULT;
	tap_dev.name = tap_name;
	tap_dev.flags = UK_NETDEV_F_IRQ; /* uk_time_block_until() wakes on the fd */
	uk_hosted_tap_fd = (int)fd;
	if (uk_netdev_register(&tap_dev) != UK_OK) {
		uk_hosted_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
		uk_hosted_tap_fd = -1;
	}
}
