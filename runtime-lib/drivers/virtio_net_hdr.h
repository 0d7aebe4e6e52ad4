/* The virtio-net header in front of each frame (virtio 1.0 5.1.6): checked on receive, filled on
 * send. Header-only so the unit tests and the fuzz target check the very code the driver runs. */
#ifndef UK_DRIVERS_VIRTIO_NET_HDR_H
#define UK_DRIVERS_VIRTIO_NET_HDR_H

#include <stddef.h>
#include <stdint.h>
#include "../include/uk/netdev.h" /* quoted: the unit tests and fuzz target include this */

#define UK_VNET_F_CSUM (1ull << 0)       /* the device completes checksums we leave partial */
#define UK_VNET_F_GUEST_CSUM (1ull << 1) /* we accept frames with partial checksums */
#define UK_VNET_F_MAC (1ull << 5)
#define UK_VNET_F_GUEST_TSO4 (1ull << 7) /* we accept TCP/IPv4 frames not yet cut (needs 1) */
#define UK_VNET_F_HOST_TSO4 (1ull << 11) /* the device cuts our TCP/IPv4 frames (needs 0) */
#define UK_VNET_F_MRG_RXBUF (1ull << 15) /* a received frame MAY span several buffers */
#define UK_VNET_HDR_F_NEEDS_CSUM 1
#define UK_VNET_HDR_F_DATA_VALID 2
#define UK_VNET_HDR_GSO_NONE 0
#define UK_VNET_HDR_GSO_TCPV4 1
/* The smallest csum_start of a TCP or UDP checksum: after the Ethernet and an IPv4 header. */
#define UK_VNET_CSUM_START_MIN (14u + 20u)
/* The longest frame without GSO (MTU 1500): anything longer MUST come as GSO_TCPV4. */
#define UK_VNET_FRAME_MAX 1514u
/* At most this many buffers per received frame (MRG_RXBUF): 64 KiB in 2 KiB buffers is 33. */
#define UK_VNET_RX_BUFS_MAX 64u

static inline uint16_t uk_vnet_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * Checks the header (h) the device wrote in front of a received frame of (len) bytes (header
 * excluded) and fills (*m). (features) are the negotiated ones: without GUEST_CSUM the device
 * MUST leave flags 0; gso_type MUST be NONE, or TCPV4 when we took GUEST_TSO4 (then with a
 * nonzero gso_size and a checksum left partial or vouched for: the whole frame's checksum is
 * never valid as it stands); we never take UFO or ECN. Only a GSO frame MAY be longer than
 * UK_VNET_FRAME_MAX. A frame with a partial checksum MUST place it inside the frame, after an
 * IPv4 header. Returns 0 to take the frame, -1 to drop it (the driver counts it): a malformed
 * header never reaches the stack.
 */
static inline int uk_vnet_hdr_rx(const uint8_t *h, size_t len, uint64_t features,
                                 struct uk_netdev_meta *m)
{
	unsigned flags = h[0], gso = h[1];
	size_t start = uk_vnet_le16(h + 6), off = uk_vnet_le16(h + 8);

	m->flags = 0;
	m->csum_start = m->csum_offset = m->gso_size = 0;
	if (uk_vnet_le16(h + 2) > len || len > UK_NETDEV_GSO_MAX)
		return -1; /* hdr_len beyond the frame */
	if (gso == UK_VNET_HDR_GSO_TCPV4 && (features & UK_VNET_F_GUEST_TSO4)) {
		if (!uk_vnet_le16(h + 4) || !flags)
			return -1;
		m->gso_size = uk_vnet_le16(h + 4);
	} else if (gso != UK_VNET_HDR_GSO_NONE || len > UK_VNET_FRAME_MAX) {
		return -1; /* gso_type we never asked for; too long for one segment */
	}
	if (!flags)
		return 0;
	if (!(features & UK_VNET_F_GUEST_CSUM) ||
	    (flags & ~(unsigned)(UK_VNET_HDR_F_NEEDS_CSUM | UK_VNET_HDR_F_DATA_VALID)))
		return -1;
	if (flags & UK_VNET_HDR_F_NEEDS_CSUM) {
		/* A local sender left the checksum to us: the field holds only the pseudo
		 * header's sum, and nothing on the way could have corrupted the data. */
		if (start < UK_VNET_CSUM_START_MIN || off > len || start + off + 2 > len)
			return -1;
		m->csum_start = (uint16_t)start;
		m->csum_offset = (uint16_t)off;
	}
	m->flags = UK_NETDEV_M_L4_CSUM_OK | (m->gso_size ? UK_NETDEV_M_GSO_TCPV4 : 0);
	return 0;
}

/* Fills the header (h) of (hdr) bytes (10 or 12) for a frame sent with offloads (m) (NULL:
 * none). A GSO frame's hdr_len is its Ethernet, IPv4 and TCP headers: the stack's segments
 * carry no TCP options. */
static inline void uk_vnet_hdr_tx(uint8_t *h, uint32_t hdr, const struct uk_netdev_meta *m)
{
	for (uint32_t i = 0; i < hdr; i++)
		h[i] = 0; /* GSO_NONE, hdr_len 0, num_buffers 0 */
	if (m && (m->flags & UK_NETDEV_M_CSUM_PARTIAL)) {
		h[0] = UK_VNET_HDR_F_NEEDS_CSUM;
		h[6] = (uint8_t)m->csum_start;
		h[7] = (uint8_t)(m->csum_start >> 8);
		h[8] = (uint8_t)m->csum_offset;
		h[9] = (uint8_t)(m->csum_offset >> 8);
		if (m->flags & UK_NETDEV_M_GSO_TCPV4) {
			uint32_t hl = (uint32_t)m->csum_start + 20;

			h[1] = UK_VNET_HDR_GSO_TCPV4;
			h[2] = (uint8_t)hl;
			h[3] = (uint8_t)(hl >> 8);
			h[4] = (uint8_t)m->gso_size;
			h[5] = (uint8_t)(m->gso_size >> 8);
		}
	}
}

/* The next used receive buffer for uk_vnet_rx_gather: sets (*p), (*len) (what the device
 * wrote) and returns 1; 0 when the ring has no more; -1 when the device broke the ring. */
typedef int (*uk_vnet_next_fn)(void *ctx, const uint8_t **p, uint32_t *len);

/*
 * Takes one received frame out of the used buffers (next) gives, each of (bufsize) bytes, the
 * first starting with the (hdr)-byte header: one buffer, or with MRG_RXBUF in (features) the
 * header's num_buffers of them (1..UK_VNET_RX_BUFS_MAX). The frame goes to (buf) of (cap)
 * bytes; the header is checked (uk_vnet_hdr_rx) and (*m) filled. Every buffer of the frame is
 * taken from (next) even when the frame is dropped, so the next frame starts at its header.
 * Returns the frame's length; 0 when no buffer was used; -1 when a frame was dropped (runt,
 * too long for (cap), a bad header, num_buffers out of bounds or more than the ring holds);
 * -2 when (next) said the device broke the ring.
 */
static inline int uk_vnet_rx_gather(uint8_t *buf, size_t cap, uint32_t hdr, uint32_t bufsize,
                                    uint64_t features, uk_vnet_next_fn next, void *ctx,
                                    struct uk_netdev_meta *m)
{
	const uint8_t *p;
	uint8_t h[12];
	uint32_t len, nb = 1, i;
	size_t total;
	int r = next(ctx, &p, &len), bad = 0;

	if (r <= 0)
		return r < 0 ? -2 : 0;
	if (len < hdr || len > bufsize)
		return -1;
	for (i = 0; i < hdr; i++)
		h[i] = p[i];
	if (features & UK_VNET_F_MRG_RXBUF) {
		nb = uk_vnet_le16(h + 10);
		if (!nb || nb > UK_VNET_RX_BUFS_MAX)
			return -1; /* we cannot tell which buffers are its: this one goes */
	}
	total = len - hdr;
	if (total <= cap)
		__builtin_memcpy(buf, p + hdr, total);
	for (i = 1; i < nb; i++) {
		r = next(ctx, &p, &len);
		if (r < 0)
			return -2;
		if (!r)
			return -1; /* fewer than it said: the device publishes a frame's all at once
			            */
		if (len > bufsize) {
			bad = 1;
			continue;
		}
		if (total + len <= cap)
			__builtin_memcpy(buf + total, p, len);
		total += len;
	}
	if (bad || total < 14 || total > cap || uk_vnet_hdr_rx(h, total, features, m))
		return -1;
	return (int)total;
}

#endif
