/* virtio 1.0 transports (PCI modern, MMIO v2 and legacy v1) and split virtqueues, for the drivers.
 */
#ifndef UK_DRIVERS_VIRTIO_H
#define UK_DRIVERS_VIRTIO_H

#include <stddef.h>
#include <stdint.h>
#include "drivers/pci.h"

/* Device types (virtio 1.0 section 5). */
#define UK_VIRTIO_NET 1
#define UK_VIRTIO_BLK 2
#define UK_VIRTIO_RNG 4

/* Device status bits. */
#define UK_VIRTIO_S_ACK 1
#define UK_VIRTIO_S_DRIVER 2
#define UK_VIRTIO_S_DRIVER_OK 4
#define UK_VIRTIO_S_FEATURES_OK 8
#define UK_VIRTIO_S_FAILED 128

#define UK_VIRTIO_F_VERSION_1 (1ull << 32)
/* used_event/avail_event instead of the flags: "notify me when the index passes N" */
#define UK_VIRTIO_F_EVENT_IDX (1ull << 29)

/* Descriptor flags. */
#define UK_VIRTQ_DESC_F_NEXT 1
#define UK_VIRTQ_DESC_F_WRITE 2
#define UK_VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define UK_VIRTQ_USED_F_NO_NOTIFY 1

struct uk_virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct uk_virtq_avail {
	uint16_t flags, idx;
	uint16_t ring[];
};

struct uk_virtq_used_elem {
	uint32_t id, len;
};

struct uk_virtq_used {
	uint16_t flags, idx;
	struct uk_virtq_used_elem ring[];
};

/*
 * A split virtqueue. The drivers bind descriptor i to buffer i once and then
 * only move descriptor ids through the rings: no chains, no free list here.
 */
struct uk_virtq {
	uint16_t index;     /* queue number on the device */
	uint16_t size;      /* descriptors (a power of two) */
	uint16_t avail_idx; /* our copy of avail->idx */
	uint16_t used_seen; /* used entries consumed so far */
	struct uk_virtq_desc *desc;
	struct uk_virtq_avail *avail;
	struct uk_virtq_used *used;
	uintptr_t notify;  /* PCI: the queue's notify address; MMIO: QueueNotify */
	uint16_t pending;  /* descriptors made available since the last kick */
	uint16_t kicked;   /* avail_idx when we last decided about a kick (EVENT_IDX) */
	uint8_t event_idx; /* EVENT_IDX negotiated: the ring's event fields, not its flags */
	uint8_t irq_off;   /* the driver asked for no interrupts (uk_virtq_irq) */
};

/*
 * EVENT_IDX's test (virtio 1.1 2.7.7.2, Linux's vring_need_event): the index moved from (old)
 * to (new_idx); nonzero when it passed (event), i.e. event in [old, new_idx) modulo 2^16.
 */
static inline int uk_virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* The event fields after the rings: used_event ends the avail ring, avail_event the used. */
static inline volatile uint16_t *uk_virtq_used_event(struct uk_virtq *q)
{
	return (volatile uint16_t *)&q->avail->ring[q->size];
}
static inline volatile uint16_t *uk_virtq_avail_event(struct uk_virtq *q)
{
	return (volatile uint16_t *)&q->used->ring[q->size];
}

enum uk_virtio_transport {
	UK_VIRTIO_PCI,         /* virtio 1.0 over PCI (vendor capabilities) */
	UK_VIRTIO_MMIO,        /* virtio-mmio version 2 */
	UK_VIRTIO_MMIO_LEGACY, /* virtio-mmio version 1 (QEMU's default force-legacy=on) */
};

struct uk_virtio_dev {
	enum uk_virtio_transport transport;
	uint16_t type;     /* UK_VIRTIO_NET, ... */
	uint64_t features; /* negotiated */
	int vector;        /* interrupt vector (33..47), 0 for none */
	uintptr_t mmio;    /* MMIO: register base */
	int gsi;           /* MMIO: interrupt line (IOAPIC GSI), -1 if unknown */
	struct uk_pci_dev pci;
	uintptr_t common, isr, devcfg, notify_base; /* PCI: mapped structures */
	uint32_t notify_mult;
	volatile unsigned irqs; /* interrupts taken (the handler counts) */
	unsigned kicks;         /* notifications sent (uk_virtq_kick), for tests and measuring */
	const char *where;      /* "pci 00:02.0", "mmio 0xfeb00e00" */
};

/* uk_drivers_init() (platform/bindings.h) finds and starts every virtio device the runtime
 * drives: PCI bus 0 (and bridges), else (no PCI: microvm) the virtio-mmio devices named by
 * `virtio_mmio.device=` words in the kernel command line, else those the DSDT lists, else the
 * MMIO slots probed one register read each. */

/* The devices found at boot, (i) from 0; NULL past the last. For tests and messages. */
const struct uk_virtio_dev *uk_virtio_device(int i);

/*
 * Resets (dev), acknowledges it and negotiates features: (want) ANDed with
 * what the device offers, plus VERSION_1, which modern transports require.
 * Returns 0, or -1 (status FAILED set) when the device refuses.
 */
int uk_virtio_negotiate(struct uk_virtio_dev *dev, uint64_t want);

/*
 * Allocates queue (index) with at most (max) descriptors (the device's size
 * if smaller), zeroed, and tells the device where it is. (msix) is the
 * MSI-X table entry for the queue's interrupts on PCI (-1: none). Returns 0,
 * -1 when the queue does not exist or memory runs out.
 */
int uk_virtio_queue_init(struct uk_virtio_dev *dev, struct uk_virtq *q, uint16_t index,
                         uint16_t max, int msix);

/* Sets DRIVER_OK: the device may now use the queues. */
void uk_virtio_driver_ok(struct uk_virtio_dev *dev);

/* Reads (len) bytes of the device-specific configuration at (off). */
void uk_virtio_config_read(struct uk_virtio_dev *dev, uint32_t off, void *buf, uint32_t len);

/*
 * Connects the device's interrupt to a fresh vector: MSI-X table entry 0 on
 * PCI (give its queues msix 0), the IOAPIC pin (gsi) on MMIO. Call before
 * uk_virtio_queue_init. Returns 0, or -1 (no vector left, no MSI-X, no
 * known line): the driver then polls.
 */
int uk_virtio_irq_setup(struct uk_virtio_dev *dev);

/* Makes descriptor (id) available to the device (no kick). */
void uk_virtq_post(struct uk_virtq *q, uint16_t id);

/* Tells the device about what was posted, unless it asked not to be told. */
void uk_virtq_kick(struct uk_virtio_dev *dev, struct uk_virtq *q);

/*
 * Asks the device for interrupts on (q) when used entries come (on), or for none (off). With
 * EVENT_IDX "none" is used_event kept just behind what was taken (the device's index never
 * passes it again), refreshed by each take; without, the NO_INTERRUPT flag. After (on), read
 * the ring once more: an entry that came before the request raised nothing.
 */
void uk_virtq_irq(struct uk_virtq *q, int on);

/* Takes the next used descriptor: sets (*id), (*len) and returns 1; 0 when none. */
int uk_virtq_take(struct uk_virtq *q, uint16_t *id, uint32_t *len);

/* UK_VIRTIO_F_EVENT_IDX for the drivers to ask for, or 0 with UK_VIRTIO_EVENT_IDX=0 in the
 * guest's environment (uk run -e: to compare the two). */
uint64_t uk_virtio_event_idx_want(void);

/* Nonzero when the image links a network stack, so virtio-net devices are worth starting. */
int uk_virtio_net_wanted(void);

/* Nonzero when the image links the block API (uk/block.h), so disks are worth starting. */
int uk_virtio_blk_wanted(void);

/* The drivers' probes (virtio_net.c, virtio_rng.c, virtio_blk.c). Return 0 when they took the
 * device. */
int uk_virtio_net_probe(struct uk_virtio_dev *dev);
int uk_virtio_rng_probe(struct uk_virtio_dev *dev);
int uk_virtio_blk_probe(struct uk_virtio_dev *dev);

/* Bytes of host entropy the virtio-rng device gave at boot (0: none); for tests. */
unsigned uk_virtio_rng_bytes(void);

#endif
