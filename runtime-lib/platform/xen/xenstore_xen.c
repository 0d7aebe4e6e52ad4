/* A xenstore client over the domain's xenstore ring: read, write, watch (one request at a time,
 * replies and watch events parsed from the ring, which the backend writes: outside input). */
#include "platform/xen/xen.h"
#include <string.h>

#define XS_RING 1024
#define XS_REPLY_SPINS 1000000 /* yields while waiting for a reply (about 20 s under TCG) */

/* struct xenstore_domain_interface: the shared ring page. */
struct xs_iface {
	char req[XS_RING];
	char rsp[XS_RING];
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
};

static volatile struct xs_iface *xs;
static uint32_t xs_port;
static uint32_t next_id = 1;
static int xs_broken;                    /* a malformed message arrived: the ring is out of step */
static int watch_fired;                  /* a watch event arrived while waiting for a reply */
static char watch_path[XS_PATH_MAX];     /* the path of the last one */
static char payload[XS_PAYLOAD_MAX + 1]; /* the reply being read (one request at a time) */

int uk_xs_attach(void *page, uint32_t port)
{
	xs = page;
	xs_port = port;
	xs_broken = 0;
	watch_fired = 0;
	return xs ? 0 : -1;
}

/* Copies (n) bytes into the request ring; 0 on success. */
static int req_put(const void *src, size_t n)
{
	return uk_xen_ring_put(xs->req, XS_RING, &xs->req_cons, &xs->req_prod, xs_port, src, n);
}

/* Bytes the backend has put in the reply ring and we have not taken; -1 if the indexes are
 * inconsistent. */
static int64_t rsp_avail(void)
{
	uint32_t avail = xs->rsp_prod - xs->rsp_cons;

	__asm__ volatile("" ::: "memory");
	return avail > XS_RING ? -1 : (int64_t)avail;
}

static void rsp_copy(void *dst, uint32_t off, uint32_t n)
{
	char *d = dst;
	uint32_t i, cons = xs->rsp_cons + off;

	for (i = 0; i < n; i++)
		d[i] = xs->rsp[(cons + i) & (XS_RING - 1)];
}

int uk_xs_parse_header(const void *raw, struct uk_xs_msg *m)
{
	uint32_t w[4];

	memcpy(w, raw, sizeof(w)); /* (raw) may be unaligned */
	m->type = w[0];
	m->req_id = w[1];
	m->tx_id = w[2];
	m->len = w[3];
	return m->len > XS_PAYLOAD_MAX ? -1 : 0;
}

int uk_xs_watch_event_path(const char *payload, uint32_t len, char *path, size_t cap)
{
	uint32_t i;

	/* "PATH\0TOKEN\0": the path must end inside the payload and fit (path). */
	for (i = 0; i < len && payload[i]; i++)
		;
	if (i == len || i + 1 > cap)
		return -1;
	for (uint32_t j = 0; j <= i; j++)
		path[j] = payload[j];
	return (int)i;
}

/* Takes one whole message off the reply ring into (m) and (payload) (XS_PAYLOAD_MAX + 1 bytes,
 * NUL-terminated). Returns 1 when it took one, 0 when none is complete yet, -1 when the ring holds
 * a malformed message (the ring is then unusable: every later call returns -1). */
int uk_xs_recv(struct uk_xs_msg *m, char *out)
{
	char hdr[16];
	int64_t avail;

	if (xs_broken || !xs)
		return -1;
	avail = rsp_avail();
	if (avail < 0)
		goto broken;
	if (avail < 16)
		return 0;
	rsp_copy(hdr, 0, 16);
	if (uk_xs_parse_header(hdr, m) < 0)
		goto broken;
	if (16 + m->len > XS_RING)
		goto broken; /* can never fit the ring */
	if ((uint64_t)avail < 16 + m->len)
		return 0;
	rsp_copy(out, 16, m->len);
	out[m->len] = '\0';
	__asm__ volatile("" ::: "memory"); /* read the data before freeing the space */
	xs->rsp_cons += 16 + m->len;
	uk_xen_notify(xs_port);
	if (m->type == XS_WATCH_EVENT &&
	    uk_xs_watch_event_path(out, m->len, watch_path, sizeof(watch_path)) >= 0)
		watch_fired = 1;
	return 1;

broken:
	xs_broken = 1;
	return -1;
}

/* Sends request (type) with the (n) strings of (parts), each with its NUL when (nul) says so,
 * and waits for its reply into (payload). Returns the reply's length, -1 on failure or when
 * xenstored answers XS_ERROR. */
static int xs_call(uint32_t type, const char *const *parts, const int *nul, int n)
{
	struct uk_xs_msg m = {type, next_id++, 0, 0};
	uint32_t lens[4], spins = 0;
	int i, r;

	if (!xs || xs_broken || n > 4)
		return -1;
	for (i = 0; i < n; i++) {
		const char *s = parts[i];
		uint32_t l = 0;

		while (s[l])
			l++;
		lens[i] = l + (nul[i] ? 1 : 0);
		m.len += lens[i];
	}
	if (m.len > XS_PAYLOAD_MAX)
		return -1;
	{
		uint32_t hdr[4] = {m.type, m.req_id, m.tx_id, m.len};

		if (req_put(hdr, sizeof(hdr)) < 0)
			return -1;
	}
	for (i = 0; i < n; i++)
		if (req_put(parts[i], lens[i]) < 0)
			return -1;
	uk_xen_notify(xs_port);
	for (;;) {
		struct uk_xs_msg reply;

		r = uk_xs_recv(&reply, payload);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (++spins > XS_REPLY_SPINS)
				return -1;
			uk_xen_hypercall(XEN_HC_SCHED_OP, XEN_SCHEDOP_YIELD, 0, 0);
			continue;
		}
		if (reply.type == XS_WATCH_EVENT || reply.req_id != m.req_id)
			continue; /* an event (recorded by uk_xs_recv) or a stale reply */
		return reply.type == XS_ERROR ? -1 : (int)reply.len;
	}
}

/* Request (type) on (path), its reply copied into (buf) (cap bytes) and NUL-terminated (a
 * directory's last name ends inside (buf) even if the reply lacks its NUL): its length or -1. */
static int xs_fetch(uint32_t type, const char *path, char *buf, size_t cap)
{
	const char *parts[1] = {path};
	const int nul[1] = {1};
	int n = xs_call(type, parts, nul, 1), i;

	if (n < 0 || (size_t)n + 1 > cap)
		return -1;
	for (i = 0; i < n; i++)
		buf[i] = payload[i];
	buf[n] = '\0';
	return n;
}

int uk_xs_read(const char *path, char *buf, size_t cap)
{
	return xs_fetch(XS_READ, path, buf, cap);
}

int uk_xs_directory(const char *path, char *buf, size_t cap)
{
	return xs_fetch(XS_DIRECTORY, path, buf, cap);
}

int uk_xs_write(const char *path, const char *value)
{
	const char *parts[2] = {path, value};
	const int nul[2] = {1, 0};

	return xs_call(XS_WRITE, parts, nul, 2) < 0 ? -1 : 0;
}

int uk_xs_watch(const char *path, const char *token)
{
	const char *parts[2] = {path, token};
	const int nul[2] = {1, 1};

	return xs_call(XS_WATCH, parts, nul, 2) < 0 ? -1 : 0;
}

int uk_xs_take_watch_event(char *path, size_t cap)
{
	struct uk_xs_msg m;
	size_t i;

	while (!watch_fired && uk_xs_recv(&m, payload) > 0)
		;
	if (!watch_fired)
		return 0;
	watch_fired = 0;
	for (i = 0; i + 1 < cap && watch_path[i]; i++)
		path[i] = watch_path[i];
	if (cap)
		path[i] = '\0';
	return 1;
}
