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
#define UK_VNET_HDR_F_NEEDS_CSUM 1
#define UK_VNET_HDR_F_DATA_VALID 2
#define UK_VNET_HDR_GSO_NONE 0
/* The smallest csum_start of a TCP or UDP checksum: after the Ethernet and an IPv4 header. */
#define UK_VNET_CSUM_START_MIN (14u + 20u)

static inline uint16_t uk_vnet_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * Checks the header (h) the device wrote in front of a received frame of (len) bytes (header
 * excluded) and fills (*m). (features) are the negotiated ones: without GUEST_CSUM the device
 * MUST leave flags 0; we negotiate no GUEST_TSO or UFO, so gso_type MUST be NONE. A frame
 * with a partial checksum MUST place it inside the frame, after an IPv4 header. Returns 0 to
 * take the frame, -1 to drop it (the driver counts it): a malformed header never reaches the
 * stack.
 */
static inline int uk_vnet_hdr_rx(const uint8_t *h, size_t len, uint64_t features,
                                 struct uk_netdev_meta *m)
{
	unsigned flags = h[0];
	size_t start = uk_vnet_le16(h + 6), off = uk_vnet_le16(h + 8);

	m->flags = 0;
	m->csum_start = m->csum_offset = 0;
	if (h[1] != UK_VNET_HDR_GSO_NONE || uk_vnet_le16(h + 2) > len)
		return -1; /* gso_type we never asked for; hdr_len beyond the frame */
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
	m->flags = UK_NETDEV_M_L4_CSUM_OK;
	return 0;
}

/* Fills the header (h) of (hdr) bytes (10 or 12) for a frame sent with offloads (m) (NULL:
 * none). */
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
	}
}

#endif
