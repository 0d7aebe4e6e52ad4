/* virtio 1.0 transports (PCI modern, MMIO v2 and legacy v1), split virtqueues and device discovery.
 */
#include "drivers/virtio.h"
#include "drivers/pci.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "platform/bindings.h"
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>
#include <uk/internal.h>

/* virtio-mmio registers. */
#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_DEV_FEATURES 0x010
#define MMIO_DEV_FEATURES_SEL 0x014
#define MMIO_DRV_FEATURES 0x020
#define MMIO_DRV_FEATURES_SEL 0x024
#define MMIO_GUEST_PAGE_SIZE 0x028 /* legacy */
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_ALIGN 0x03c /* legacy */
#define MMIO_QUEUE_PFN 0x040   /* legacy */
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INT_STATUS 0x060
#define MMIO_INT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC 0x080
#define MMIO_QUEUE_DRIVER 0x090
#define MMIO_QUEUE_DEVICE 0x0a0
#define MMIO_CONFIG 0x100
#define MMIO_MAGIC_VALUE 0x74726976 /* "virt" */
#define MMIO_BASE 0xfeb00000u
#define MMIO_SLOT 512u

/* virtio-pci common configuration structure. */
#define PCI_DEV_FEATURE_SEL 0x00
#define PCI_DEV_FEATURE 0x04
#define PCI_DRV_FEATURE_SEL 0x08
#define PCI_DRV_FEATURE 0x0c
#define PCI_MSIX_CONFIG 0x10
#define PCI_STATUS 0x14
#define PCI_QUEUE_SEL 0x16
#define PCI_QUEUE_SIZE 0x18
#define PCI_QUEUE_MSIX 0x1a
#define PCI_QUEUE_ENABLE 0x1c
#define PCI_QUEUE_NOTIFY_OFF 0x1e
#define PCI_QUEUE_DESC 0x20
#define PCI_QUEUE_DRIVER 0x28
#define PCI_QUEUE_DEVICE 0x30
#define PCI_NO_VECTOR 0xffff
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4

#define MAX_DEVS 8
#define VEC_FIRST UK_IRQ_DEV_FIRST
#define VEC_LAST UK_IRQ_DEV_LAST
#define RING_ALIGN 4096u

static struct uk_virtio_dev devs[MAX_DEVS];
static int ndevs;
static int no_event_idx; /* UK_VIRTIO_EVENT_IDX=0 in the environment: the flags instead */

uint64_t uk_virtio_event_idx_want(void)
{
	return no_event_idx ? 0 : UK_VIRTIO_F_EVENT_IDX;
}
static struct uk_virtio_dev *vec_owner[VEC_LAST + 1];
static int next_vec = VEC_FIRST;
static char where_buf[MAX_DEVS][24];

static inline uint8_t rd8(uintptr_t a)
{
	return *(volatile uint8_t *)a;
}
static inline void wr8(uintptr_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}
static inline uint16_t rd16(uintptr_t a)
{
	return *(volatile uint16_t *)a;
}
static inline void wr16(uintptr_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}
static inline void wr64(uintptr_t a, uint64_t v)
{
	mmio_write32(a, (uint32_t)v);
	mmio_write32(a + 4, (uint32_t)(v >> 32));
}

static int is_pci(const struct uk_virtio_dev *d)
{
	return d->transport == UK_VIRTIO_PCI;
}

static uint8_t status_get(struct uk_virtio_dev *d)
{
	return is_pci(d) ? rd8(d->common + PCI_STATUS)
	                 : (uint8_t)mmio_read32(d->mmio + MMIO_STATUS);
}

static void status_set(struct uk_virtio_dev *d, uint8_t s)
{
	if (is_pci(d))
		wr8(d->common + PCI_STATUS, s);
	else
		mmio_write32(d->mmio + MMIO_STATUS, s);
}

static uint32_t features_get(struct uk_virtio_dev *d, uint32_t sel)
{
	if (is_pci(d)) {
		mmio_write32(d->common + PCI_DEV_FEATURE_SEL, sel);
		return mmio_read32(d->common + PCI_DEV_FEATURE);
	}
	mmio_write32(d->mmio + MMIO_DEV_FEATURES_SEL, sel);
	return mmio_read32(d->mmio + MMIO_DEV_FEATURES);
}

static void features_set(struct uk_virtio_dev *d, uint32_t sel, uint32_t v)
{
	if (is_pci(d)) {
		mmio_write32(d->common + PCI_DRV_FEATURE_SEL, sel);
		mmio_write32(d->common + PCI_DRV_FEATURE, v);
		return;
	}
	mmio_write32(d->mmio + MMIO_DRV_FEATURES_SEL, sel);
	mmio_write32(d->mmio + MMIO_DRV_FEATURES, v);
}

int uk_virtio_negotiate(struct uk_virtio_dev *d, uint64_t want)
{
	uint64_t offer;
	int i;

	status_set(d, 0);
	for (i = 0; i < 1000 && status_get(d); i++) /* reset completes when status reads 0 */
		__asm__ volatile("pause");
	status_set(d, UK_VIRTIO_S_ACK);
	status_set(d, UK_VIRTIO_S_ACK | UK_VIRTIO_S_DRIVER);
	offer = features_get(d, 0);
	if (d->transport != UK_VIRTIO_MMIO_LEGACY) {
		offer |= (uint64_t)features_get(d, 1) << 32;
		if (!(offer & UK_VIRTIO_F_VERSION_1))
			goto fail;
		want |= UK_VIRTIO_F_VERSION_1;
	} else {
		want &= 0xffffffffu; /* a legacy device has no VERSION_1 and no high bits */
	}
	d->features = offer & want;
	features_set(d, 0, (uint32_t)d->features);
	if (d->transport == UK_VIRTIO_MMIO_LEGACY) {
		mmio_write32(d->mmio + MMIO_GUEST_PAGE_SIZE, 4096);
		return 0;
	}
	features_set(d, 1, (uint32_t)(d->features >> 32));
	status_set(d, UK_VIRTIO_S_ACK | UK_VIRTIO_S_DRIVER | UK_VIRTIO_S_FEATURES_OK);
	if (!(status_get(d) & UK_VIRTIO_S_FEATURES_OK))
		goto fail;
	return 0;
fail:
	status_set(d, UK_VIRTIO_S_FAILED);
	return -1;
}

void uk_virtio_driver_ok(struct uk_virtio_dev *d)
{
	uint8_t s = UK_VIRTIO_S_ACK | UK_VIRTIO_S_DRIVER | UK_VIRTIO_S_DRIVER_OK;

	if (d->transport != UK_VIRTIO_MMIO_LEGACY)
		s |= UK_VIRTIO_S_FEATURES_OK;
	status_set(d, s);
}

void uk_virtio_config_read(struct uk_virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	uintptr_t base = is_pci(d) ? d->devcfg : d->mmio + MMIO_CONFIG;
	uint8_t *p = buf;
	uint32_t i;

	/* Byte reads: fields are naturally aligned, and the devices we drive read
	 * their configuration once at start (config generation is not needed). */
	for (i = 0; i < len; i++)
		p[i] = rd8(base + off + i);
}

int uk_virtio_queue_init(struct uk_virtio_dev *d, struct uk_virtq *q, uint16_t index, uint16_t max,
                         int msix)
{
	uint32_t dev_max, n = 1;
	size_t used_off, total;
	uint8_t *mem;

	if (is_pci(d)) {
		wr16(d->common + PCI_QUEUE_SEL, index);
		dev_max = rd16(d->common + PCI_QUEUE_SIZE);
	} else {
		mmio_write32(d->mmio + MMIO_QUEUE_SEL, index);
		dev_max = mmio_read32(d->mmio + MMIO_QUEUE_NUM_MAX);
	}
	if (!dev_max)
		return -1;
	while (n * 2 <= dev_max && n * 2 <= max) /* a power of two, as split rings require */
		n *= 2;
	/* One block in the legacy layout (used ring on the next page), which modern devices accept
	 * too. */
	used_off = (16 * n + 6 + 2 * n + RING_ALIGN - 1) & ~(size_t)(RING_ALIGN - 1);
	total = used_off + 6 + 8 * n;
	mem = aligned_alloc(RING_ALIGN, total);
	if (!mem)
		return -1;
	memset(mem, 0, total);
	memset(q, 0, sizeof(*q));
	q->index = index;
	q->size = (uint16_t)n;
	q->event_idx = (d->features & UK_VIRTIO_F_EVENT_IDX) != 0;
	q->desc = (struct uk_virtq_desc *)mem;
	q->avail = (struct uk_virtq_avail *)(mem + 16 * n);
	q->used = (struct uk_virtq_used *)(mem + used_off);
	switch (d->transport) {
	case UK_VIRTIO_PCI:
		wr16(d->common + PCI_QUEUE_SIZE, (uint16_t)n);
		wr64(d->common + PCI_QUEUE_DESC, (uintptr_t)q->desc);
		wr64(d->common + PCI_QUEUE_DRIVER, (uintptr_t)q->avail);
		wr64(d->common + PCI_QUEUE_DEVICE, (uintptr_t)q->used);
		if (msix >= 0 && d->vector) {
			wr16(d->common + PCI_QUEUE_MSIX, (uint16_t)msix);
			if (rd16(d->common + PCI_QUEUE_MSIX) != msix)
				d->vector = 0; /* refused: the driver polls */
		} else {
			wr16(d->common + PCI_QUEUE_MSIX, PCI_NO_VECTOR);
		}
		q->notify =
		        d->notify_base + rd16(d->common + PCI_QUEUE_NOTIFY_OFF) * d->notify_mult;
		wr16(d->common + PCI_QUEUE_ENABLE, 1);
		break;
	case UK_VIRTIO_MMIO:
		mmio_write32(d->mmio + MMIO_QUEUE_NUM, n);
		wr64(d->mmio + MMIO_QUEUE_DESC, (uintptr_t)q->desc);
		wr64(d->mmio + MMIO_QUEUE_DRIVER, (uintptr_t)q->avail);
		wr64(d->mmio + MMIO_QUEUE_DEVICE, (uintptr_t)q->used);
		mmio_write32(d->mmio + MMIO_QUEUE_READY, 1);
		q->notify = d->mmio + MMIO_QUEUE_NOTIFY;
		break;
	case UK_VIRTIO_MMIO_LEGACY:
		mmio_write32(d->mmio + MMIO_QUEUE_NUM, n);
		mmio_write32(d->mmio + MMIO_QUEUE_ALIGN, RING_ALIGN);
		mmio_write32(d->mmio + MMIO_QUEUE_PFN, (uint32_t)((uintptr_t)mem / 4096));
		q->notify = d->mmio + MMIO_QUEUE_NOTIFY;
		break;
	}
	return 0;
}

void uk_virtq_post(struct uk_virtq *q, uint16_t id)
{
	q->avail->ring[q->avail_idx & (q->size - 1)] = id;
	q->avail_idx++;
	q->pending++;
	/* The entry is visible before the index that publishes it (x86 keeps
	 * stores in order; the compiler must too). */
	__asm__ volatile("" ::: "memory");
	*(volatile uint16_t *)&q->avail->idx = q->avail_idx;
}

void uk_virtq_kick(struct uk_virtio_dev *d, struct uk_virtq *q)
{
	uint16_t old = q->kicked;

	if (!q->pending)
		return;
	q->pending = 0;
	q->kicked = q->avail_idx;
	/* The index store must be globally visible before we read the device's
	 * flag (or event), or both sides may skip the notification. */
	__asm__ volatile("mfence" ::: "memory");
	if (q->event_idx ? !uk_virtq_need_event(*uk_virtq_avail_event(q), q->avail_idx, old)
	                 : *(volatile uint16_t *)&q->used->flags & UK_VIRTQ_USED_F_NO_NOTIFY)
		return;
	d->kicks++;
	if (is_pci(d))
		wr16(q->notify, q->index);
	else
		mmio_write32(q->notify, q->index);
}

int uk_virtq_take(struct uk_virtq *q, uint16_t *id, uint32_t *len)
{
	const struct uk_virtq_used_elem *e;

	if (*(volatile uint16_t *)&q->used->idx == q->used_seen)
		return 0;
	__asm__ volatile("" ::: "memory"); /* read the entry after the index */
	e = &q->used->ring[q->used_seen & (q->size - 1)];
	*id = (uint16_t)e->id;
	*len = e->len;
	q->used_seen++;
	if (q->event_idx)
		*uk_virtq_used_event(q) = (uint16_t)(q->used_seen - q->irq_off);
	return 1;
}

void uk_virtq_irq(struct uk_virtq *q, int on)
{
	q->irq_off = (uint8_t)!on;
	if (q->event_idx)
		*uk_virtq_used_event(q) = (uint16_t)(q->used_seen - q->irq_off);
	else
		*(volatile uint16_t *)&q->avail->flags = on ? 0 : UK_VIRTQ_AVAIL_F_NO_INTERRUPT;
}

/* Interrupt handler: counts, and acknowledges MMIO devices so their (level) line drops. */
static void virtio_irq(int vec)
{
	struct uk_virtio_dev *d = vec_owner[vec];
	uint32_t st;

	if (!d)
		return;
	d->irqs++;
	if (!is_pci(d)) {
		st = mmio_read32(d->mmio + MMIO_INT_STATUS);
		if (st)
			mmio_write32(d->mmio + MMIO_INT_ACK, st);
	}
}

int uk_virtio_irq_setup(struct uk_virtio_dev *d)
{
	int vec = next_vec;

	if (vec > VEC_LAST)
		return -1;
	if (is_pci(d) ? uk_pci_msix_route(&d->pci, 0, vec)
	              : (d->gsi < 0 || uk_plat_irq_route(d->gsi, vec)))
		return -1;
	next_vec++;
	vec_owner[vec] = d;
	uk_arch_irq_register(vec, virtio_irq);
	d->vector = vec;
	return 0;
}

const struct uk_virtio_dev *uk_virtio_device(int i)
{
	return i >= 0 && i < ndevs ? &devs[i] : NULL;
}

/* Devices we have a driver for; a NIC only when a stack is linked, a disk only when the block
 * API is (no accesses wasted on them). */
static int driven(uint16_t type)
{
	return (type == UK_VIRTIO_NET && uk_virtio_net_wanted()) ||
	       (type == UK_VIRTIO_BLK && uk_virtio_blk_wanted()) || type == UK_VIRTIO_RNG;
}

static void hex2(char *p, unsigned v)
{
	p[0] = "0123456789abcdef"[(v >> 4) & 15];
	p[1] = "0123456789abcdef"[v & 15];
}

/* Finds the virtio 1.0 structures through the vendor capabilities of a PCI function. */
static void pci_found(const struct uk_pci_dev *p, void *arg)
{
	struct uk_virtio_dev *d = &devs[ndevs];
	uint16_t type;
	uint8_t off;
	int guard = 48;
	char *w;

	(void)arg;
	if (p->vendor != 0x1af4 || ndevs == MAX_DEVS)
		return;
	if (p->device >= 0x1040 && p->device <= 0x107f)
		type = p->device - 0x1040; /* modern */
	else if (p->device >= 0x1000 && p->device <= 0x103f)
		type = uk_pci_read16(p, 0x2e); /* transitional: the subsystem id says */
	else
		return;
	if (!driven(type))
		return;
	memset(d, 0, sizeof(*d));
	d->transport = UK_VIRTIO_PCI;
	d->type = type;
	d->pci = *p;
	d->gsi = -1;
	for (off = uk_pci_find_cap(p, UK_PCI_CAP_VENDOR, 0); off && guard--;) {
		uint32_t h = uk_pci_read32(p, off);
		uint8_t cfg = (uint8_t)(h >> 24), next = (uint8_t)(h >> 8) & 0xfc;
		uintptr_t *slot = cfg == CAP_COMMON   ? &d->common
		                  : cfg == CAP_NOTIFY ? &d->notify_base
		                  : cfg == CAP_ISR    ? &d->isr
		                  : cfg == CAP_DEVICE ? &d->devcfg
		                                      : NULL;

		if ((h & 0xff) == UK_PCI_CAP_VENDOR && slot && !*slot) {
			uint64_t base = uk_pci_bar(p, uk_pci_read8(p, off + 4) & 7);

			if (base) {
				*slot = (uintptr_t)(base + uk_pci_read32(p, off + 8));
				if (cfg == CAP_NOTIFY)
					d->notify_mult = uk_pci_read32(p, off + 16);
			}
		}
		off = next;
	}
	if (!d->common || !d->notify_base || !d->devcfg) {
		uk_printk("virtio: pci %02x:%02x.%x has no usable virtio 1.0 structures (legacy "
		          "only?)\n",
		          p->bus, p->dev, p->fn);
		return;
	}
	w = where_buf[ndevs];
	memcpy(w, "pci 00:00.0", 12);
	hex2(w + 4, p->bus);
	hex2(w + 7, p->dev);
	w[10] = (char)('0' + p->fn);
	d->where = w;
	ndevs++;
}

static void mmio_found(uintptr_t base, int gsi, int known)
{
	struct uk_virtio_dev *d = &devs[ndevs];
	uint32_t type, version;
	char *w;
	int i;

	if (ndevs == MAX_DEVS)
		return;
	/* An empty slot reads device id 0: one access per slot when probing. */
	type = mmio_read32(base + MMIO_DEVICE_ID);
	if (!type || !driven((uint16_t)type))
		return;
	if (!known && mmio_read32(base + MMIO_MAGIC) != MMIO_MAGIC_VALUE)
		return;
	version = mmio_read32(base + MMIO_VERSION);
	if (version != 1 && version != 2)
		return;
	memset(d, 0, sizeof(*d));
	d->transport = version == 2 ? UK_VIRTIO_MMIO : UK_VIRTIO_MMIO_LEGACY;
	d->type = (uint16_t)type;
	d->mmio = base;
	d->gsi = gsi;
	w = where_buf[ndevs];
	memcpy(w, "mmio 0x", 7);
	for (i = 0; i < 8; i++)
		w[7 + i] = "0123456789abcdef"[(base >> (28 - 4 * i)) & 15];
	w[15] = 0;
	d->where = w;
	ndevs++;
}

/* A number in C syntax (0x hex or decimal) with an optional K/M suffix; advances (*s). */
static uint64_t parse_num(const char **s)
{
	const char *p = *s;
	uint64_t v = 0;
	int base = 10, dig;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (;; p++) {
		if (*p >= '0' && *p <= '9')
			dig = *p - '0';
		else if (base == 16 && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			dig = (*p | 0x20) - 'a' + 10;
		else
			break;
		v = v * base + dig;
	}
	if (*p == 'K' || *p == 'k')
		v <<= 10, p++;
	else if (*p == 'M' || *p == 'm')
		v <<= 20, p++;
	*s = p;
	return v;
}

/*
 * The `virtio_mmio.device=SIZE@BASE:IRQ` words QEMU's microvm appends with
 * acpi=off (Linux's syntax). Only bases in the uncached 3-4 GiB window the
 * page tables map, below the IOAPIC, are taken. Returns how many were found.
 */
static int mmio_from_cmdline(const char *line)
{
	static const char key[] = "virtio_mmio.device=";
	const char *c;
	int n = 0;

	for (c = line; c && *c; c++) {
		const char *p = c;
		uint64_t base, irq;

		if ((c != line && c[-1] != ' ' && c[-1] != '\t') ||
		    strncmp(p, key, sizeof(key) - 1))
			continue;
		p += sizeof(key) - 1;
		parse_num(&p); /* size */
		if (*p++ != '@')
			continue;
		base = parse_num(&p);
		if (*p++ != ':')
			continue;
		irq = parse_num(&p);
		n++;
		if (base >= 0xc0000000ull && base + MMIO_SLOT <= 0xfec00000ull && !(base & 0xff) &&
		    irq < 48)
			mmio_found((uintptr_t)base, (int)irq, 0);
	}
	return n;
}

static uint32_t le32_at(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * microvm with ACPI lists exactly its populated virtio-mmio slots in the DSDT:
 * Device (VRnn) { _HID "LNRO0005", _CRS { Memory32Fixed (base, 512),
 * Interrupt (gsi) } }. Reading that costs no VM exit, unlike probing 24 slots.
 * Returns the number of devices listed, -1 without a DSDT.
 */
static int mmio_from_dsdt(void)
{
	uint32_t len = 0, i, j;
	const uint8_t *d = uk_plat_acpi_dsdt(&len);
	int n = 0;

	if (!d || len < 36)
		return -1;
	for (i = 36; i + 8 <= len; i++) {
		uint64_t base = 0;
		int gsi = -1;

		if (memcmp(d + i, "LNRO0005", 8))
			continue;
		/* The resource template follows within the same small device body. */
		for (j = i + 8; j + 12 <= len && j < i + 96; j++) {
			if (!base && d[j] == 0x86 && d[j + 1] == 9 && d[j + 2] == 0)
				base = le32_at(d + j + 4); /* Memory32Fixed: info, base, length */
			else if (base && d[j] == 0x89 && d[j + 1] == 6 && d[j + 2] == 0 &&
			         d[j + 4] == 1)
				gsi = (int)le32_at(d + j +
				                   5); /* Extended Interrupt: flags, count, irq */
			if (base && gsi >= 0)
				break;
		}
		if (base >= 0xc0000000ull && base + MMIO_SLOT <= 0xfec00000ull && gsi >= 0 &&
		    gsi < 48) {
			mmio_found((uintptr_t)base, gsi, 0);
			n++;
		}
	}
	return n;
}

/*
 * No command-line words and no DSDT to read: probe microvm's slots. With
 * ACPI, QEMU adds a second IOAPIC and 24 slots (GSI 24 + slot); a machine
 * with ioapic2=off has 8 (GSI 16 + slot), and with acpi=off 8 (GSI 5 + slot).
 */
static void mmio_probe_slots(void)
{
	int slots = 8, gsi_base = uk_plat_has_acpi() ? 16 : 5, i;

	if (mmio_read32(MMIO_BASE + 8 * MMIO_SLOT + MMIO_MAGIC) == MMIO_MAGIC_VALUE) {
		slots = 24;
		gsi_base = 24;
	} else if (mmio_read32(MMIO_BASE + MMIO_MAGIC) != MMIO_MAGIC_VALUE) {
		return; /* no virtio-mmio at all */
	}
	for (i = 0; i < slots; i++)
		mmio_found(MMIO_BASE + MMIO_SLOT * (uintptr_t)i, gsi_base + i, 1);
}

void uk_drivers_init(const char *cmdline)
{
	int i;

	/* UK_VIRTIO_EVENT_IDX=0 in the environment (`env=` words) turns EVENT_IDX off */
	for (const char *c = cmdline; c && (c = strstr(c, "env=UK_VIRTIO_EVENT_IDX=0")); c++)
		if ((c == cmdline || c[-1] == ' ') && (c[25] == ' ' || !c[25]))
			no_event_idx = 1;
	if (!uk_pci_scan(pci_found, NULL) && !mmio_from_cmdline(cmdline) && mmio_from_dsdt() < 0)
		mmio_probe_slots();
	for (i = 0; i < ndevs; i++) {
		int r = -1;

		if (devs[i].type == UK_VIRTIO_NET)
			r = uk_virtio_net_probe(&devs[i]);
		else if (devs[i].type == UK_VIRTIO_RNG)
			r = uk_virtio_rng_probe(&devs[i]);
		else if (devs[i].type == UK_VIRTIO_BLK)
			r = uk_virtio_blk_probe(&devs[i]);
		(void)r;
	}
}
