/* xenbus: the device handshake both PV frontends run over xenstore (numbers read and written, the
 * other side's state awaited with a bound). */
#include "platform/xen/xen.h"
#include <stdio.h>
#include <uk/uk.h>
#include <uk/internal.h>

#define STATE_POLL_NS 10000000ull   /* 10 ms between looks at the other side's state */
#define STATE_SLOW_NS 2000000000ull /* a wait this long is said on the console */

int uk_xenbus_parse_u64(const char *s, uint64_t *v)
{
	uint64_t n = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*v = n;
	return 0;
}

int uk_xenbus_read_u64(const char *dir, const char *key, uint64_t *v)
{
	char path[XS_PATH_MAX], val[32];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >= sizeof(path) ||
	    uk_xs_read(path, val, sizeof(val)) < 0)
		return -1;
	return uk_xenbus_parse_u64(val, v);
}

int uk_xenbus_write_u32(const char *dir, const char *key, uint32_t v)
{
	char path[XS_PATH_MAX], val[12];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >= sizeof(path))
		return -1;
	snprintf(val, sizeof(val), "%u", v);
	return uk_xs_write(path, val);
}

int uk_xenbus_wait_state(const char *dir, int want, uint64_t timeout_ns)
{
	uint64_t start = uk_time_monotonic_ns(), deadline = start + timeout_ns, st = 0;
	int said = 0;

	for (;;) {
		if (uk_xenbus_read_u64(dir, "state", &st) < 0)
			st = 0;
		if (st > XENBUS_CLOSED)
			st = 0;
		if (st == (uint64_t)want || st >= XENBUS_CLOSING)
			return (int)st;
		if (uk_time_monotonic_ns() > deadline)
			return (int)st;
		if (!said && uk_time_monotonic_ns() - start > STATE_SLOW_NS) {
			uk_printk("xenbus: waiting for %s to be in state %d (it is in %d)\n", dir,
			          want, (int)st);
			said = 1;
		}
		uk_time_block_until(uk_time_monotonic_ns() + STATE_POLL_NS);
	}
}
