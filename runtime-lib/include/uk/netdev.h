/* The narrow interface between a NIC driver (virtio-net, hosted tap/wire) and the network stack. */
#ifndef UK_NETDEV_H
#define UK_NETDEV_H

#include <stddef.h>
#include <stdint.h>
#include "uk.h"

/*
 * Contract. A driver fills a struct uk_netdev and hands it to
 * uk_netdev_register(); the stack (runtime-lib/net) finds it with
 * uk_netdev_first() and from then on is the only caller of its ops. The model
 * is poll-driven and single-threaded: the stack calls (rx) from uk_net_poll()
 * until it returns 0, and calls (tx) whenever it has a frame to send. Neither
 * op is ever called from an interrupt handler, and neither may block.
 *
 * Frames are whole Ethernet II frames: destination MAC, source MAC, EtherType,
 * payload; no preamble, no FCS, no 802.1Q tag is added or removed by the
 * stack. A frame is at most (mtu) + 14 bytes long.
 *
 * An interrupt-driven driver MAY take interrupts (uk_arch_irq_register); its
 * handler only acknowledges the device: the wake-up from `hlt` inside
 * uk_time_block_until() is what makes uk_net_poll() call (rx) again. It MAY
 * keep its interrupt off from an (rx) that returned a frame until the next
 * (rx) that returns 0 (it is being read anyway): a caller halts to wait for
 * frames only after (rx) returned 0, as uk_net_poll() does.
 */

#define UK_NETDEV_ETH_HLEN 14u /* Ethernet II header: dst, src, type */
#define UK_NETDEV_MTU_DEFAULT 1500u

/*
 * (flags): UK_NETDEV_F_IRQ says the driver raises an interrupt when a frame
 * arrives, so uk_net_poll() MAY halt until the next timer; without it the
 * stack wakes at least every millisecond to call (rx).
 */
#define UK_NETDEV_F_IRQ 0x1u
/*
 * UK_NETDEV_F_TX_CSUM says (tx_meta) accepts UK_NETDEV_M_CSUM_PARTIAL: the
 * device (or its peer) completes a TCP or UDP checksum the stack left
 * partial. Set by a driver only when the device agreed (virtio-net: CSUM
 * negotiated, which QEMU offers only with a tap-like peer, never slirp).
 */
#define UK_NETDEV_F_TX_CSUM 0x2u
/*
 * UK_NETDEV_F_TSO4 (with UK_NETDEV_F_TX_CSUM) says (tx_meta) also takes a TCP/IPv4 frame of up
 * to UK_NETDEV_GSO_MAX bytes marked UK_NETDEV_M_GSO_TCPV4 (its checksum left partial, its IP
 * total length the whole packet's): the device (or its peer) cuts it into segments of
 * (gso_size) payload bytes (virtio-net: HOST_TSO4, offered only with a tap-like peer).
 */
#define UK_NETDEV_F_TSO4 0x4u
/*
 * UK_NETDEV_F_RX_GSO says (rx) MAY return a TCP/IPv4 frame of up to UK_NETDEV_GSO_MAX bytes (a
 * peer's segments not yet cut, marked UK_NETDEV_M_GSO_TCPV4 by (rx_meta)): the stack then
 * passes a (cap) of at least UK_NETDEV_GSO_MAX and takes the frame as one TCP segment
 * (virtio-net: GUEST_TSO4 with MRG_RXBUF).
 */
#define UK_NETDEV_F_RX_GSO 0x8u
/* The largest frame with UK_NETDEV_M_GSO_TCPV4: an IPv4 packet of 65535 bytes and Ethernet. */
#define UK_NETDEV_GSO_MAX (65535u + 14u)

/* Per-frame offload metadata for (tx_meta) and (rx_meta). */
struct uk_netdev_meta {
	unsigned flags;       /* UK_NETDEV_M_* */
	uint16_t csum_start;  /* CSUM_PARTIAL: first byte summed, from the frame's start */
	uint16_t csum_offset; /* CSUM_PARTIAL: where the result goes, from (csum_start) */
	uint16_t gso_size;    /* GSO_TCPV4: TCP payload bytes per segment on the wire */
};
/* tx: sum from (csum_start) to the frame's end, the field at (csum_start) + (csum_offset)
 * holding the folded pseudo-header sum, and store the complement there. */
#define UK_NETDEV_M_CSUM_PARTIAL 0x1u
/* rx: the frame's TCP or UDP checksum need not be checked: the device checked it, or the
 * sender was a local peer that left it partial (the field then holds no valid checksum). */
#define UK_NETDEV_M_L4_CSUM_OK 0x2u
/* tx (with CSUM_PARTIAL) and rx: a TCP/IPv4 frame longer than one segment (see
 * UK_NETDEV_F_TSO4, UK_NETDEV_F_RX_GSO). */
#define UK_NETDEV_M_GSO_TCPV4 0x4u

struct uk_netdev;

struct uk_netdev_ops {
	/*
	 * Sends one frame of (len) bytes at (frame). The driver MUST copy or
	 * fully consume (frame) before returning: the caller reuses the buffer.
	 * Returns UK_OK when the frame is queued or sent; UK_EAGAIN when the
	 * transmit ring is full (the stack treats the frame as lost on the wire
	 * and lets its own retransmission recover); UK_EINVAL when (len) is
	 * below 14 or above (mtu) + 14 (UK_NETDEV_GSO_MAX for a GSO frame
	 * through (tx_meta)). MUST NOT block.
	 */
	uk_result_t (*tx)(struct uk_netdev *dev, const void *frame, size_t len);

	/*
	 * Copies the next received frame into (buf), which holds (cap) bytes
	 * (the stack always passes at least (mtu) + 14). Returns the frame's
	 * length (> 0); 0 when no frame is waiting; a negative uk_result_t on a
	 * device error. A frame longer than (cap) MUST be dropped, not
	 * truncated (return the next one, or 0). MUST NOT block.
	 */
	int (*rx)(struct uk_netdev *dev, void *buf, size_t cap);

	/*
	 * MAY be NULL. As (tx), with offload metadata (m) (MAY be NULL: none);
	 * the stack passes UK_NETDEV_M_CSUM_PARTIAL only to a device with
	 * UK_NETDEV_F_TX_CSUM. When set, the stack sends every frame through it.
	 * Unlike (tx), it MAY hold the frame back until (flush) (one device
	 * notification for a batch) when (flush) is set.
	 */
	uk_result_t (*tx_meta)(struct uk_netdev *dev, const void *frame, size_t len,
	                       const struct uk_netdev_meta *m);

	/*
	 * MAY be NULL. As (rx), and fills (*m) for the frame returned (flags 0
	 * when the device vouches for nothing). When set, the stack calls it
	 * instead of (rx).
	 */
	int (*rx_meta)(struct uk_netdev *dev, void *buf, size_t cap, struct uk_netdev_meta *m);

	/*
	 * MAY be NULL. Hands the device every frame (tx_meta) held back; the
	 * stack calls it at the end of each poll step (before it may halt) and
	 * after each frame it sends outside one.
	 */
	void (*flush)(struct uk_netdev *dev);

	/*
	 * MAY be NULL. How many frames sent (and flushed) the device has not yet
	 * taken: still in guest memory, lost if the guest stops now. The stack's
	 * exit waits (bounded) for 0, so its last frames leave.
	 */
	unsigned (*tx_pending)(struct uk_netdev *dev);
};

struct uk_netdev {
	const struct uk_netdev_ops *ops; /* MUST be set; both ops MUST be non-NULL */
	uint8_t mac[6];                  /* the device's unicast address */
	uint16_t mtu;                    /* largest IP packet; 0 means 1500 */
	const char *name;                /* for messages, e.g. "virtio-net0"; MAY be NULL */
	unsigned flags;                  /* UK_NETDEV_F_* */
	void *priv;                      /* the driver's own state */
	struct uk_netdev *next;          /* owned by the registry */
	/* Counters kept by the stack (the driver MAY read them). */
	uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
	/* Kept by the driver: frames dropped for a malformed device header (virtio-net). */
	uint64_t rx_bad_hdr;
};

/*
 * Adds (dev) to the list of devices. (dev) MUST stay valid for the rest of the
 * run (devices are never removed). Returns UK_OK; UK_EINVAL when (dev), its ops
 * or either op is NULL, or (dev) is already registered.
 */
uk_result_t uk_netdev_register(struct uk_netdev *dev);

/* The first registered device, or NULL when there is none. */
struct uk_netdev *uk_netdev_first(void);

/* The device registered after (dev), or NULL. */
struct uk_netdev *uk_netdev_next(struct uk_netdev *dev);

#endif
