/* Unit tests of runtime-lib/drivers/virtio.c's split rings: EVENT_IDX kicks and interrupts across
 * the 16-bit index wrap, against a simulated device that follows virtio 1.1 2.7.7 and 2.7.10. */
#include "drivers/virtio.c"

#include <stdio.h>
#include "ukt_check.h"

/* What virtio.c calls outside the rings: never reached by these tests. */
int uk_pci_scan(void (*fn)(const struct uk_pci_dev *, void *), void *arg)
{
	(void)fn;
	(void)arg;
	return 0;
}
uint8_t uk_pci_read8(const struct uk_pci_dev *p, uint8_t off)
{
	(void)p;
	(void)off;
	return 0;
}
uint16_t uk_pci_read16(const struct uk_pci_dev *p, uint8_t off)
{
	(void)p;
	(void)off;
	return 0;
}
uint32_t uk_pci_read32(const struct uk_pci_dev *p, uint8_t off)
{
	(void)p;
	(void)off;
	return 0;
}
uint8_t uk_pci_find_cap(const struct uk_pci_dev *p, uint8_t id, uint8_t start)
{
	(void)p;
	(void)id;
	(void)start;
	return 0;
}
uint64_t uk_pci_bar(const struct uk_pci_dev *p, int bar)
{
	(void)p;
	(void)bar;
	return 0;
}
int uk_pci_msix_route(const struct uk_pci_dev *p, int entry, int vec)
{
	(void)p;
	(void)entry;
	(void)vec;
	return -1;
}
int uk_plat_irq_route(int gsi, int vec)
{
	(void)gsi;
	(void)vec;
	return -1;
}
const void *uk_plat_acpi_dsdt(uint32_t *len)
{
	(void)len;
	return NULL;
}
int uk_plat_has_acpi(void)
{
	return 0;
}
void uk_arch_irq_register(int vec, void (*fn)(int))
{
	(void)vec;
	(void)fn;
}
int uk_virtio_net_wanted(void)
{
	return 0;
}
int uk_virtio_blk_wanted(void)
{
	return 0;
}
int uk_virtio_net_probe(struct uk_virtio_dev *dev)
{
	(void)dev;
	return -1;
}
int uk_virtio_rng_probe(struct uk_virtio_dev *dev)
{
	(void)dev;
	return -1;
}
int uk_virtio_blk_probe(struct uk_virtio_dev *dev)
{
	(void)dev;
	return -1;
}
void uk_printk(const char *fmt, ...)
{
	(void)fmt;
}

#define QSIZE 8

/* The device's side of one queue: what it has read of avail, what it has written to used. */
struct sim {
	struct uk_virtio_dev dev;
	struct uk_virtq q;
	uint16_t notify; /* the queue's notify register: written by uk_virtq_kick */
	uint16_t dev_avail, dev_used;
	unsigned notifies, irqs;
};

/* A ring of QSIZE entries in the legacy layout, every index starting at (start). */
static void sim_init(struct sim *s, int event_idx, uint16_t start)
{
	static _Alignas(4096) uint8_t mem[2][8192];
	static int which;
	uint8_t *m = mem[which++ & 1];

	memset(s, 0, sizeof(*s));
	memset(m, 0, sizeof(mem[0]));
	s->dev.transport = UK_VIRTIO_PCI;
	s->dev.features = event_idx ? UK_VIRTIO_F_EVENT_IDX : 0;
	s->q.size = QSIZE;
	s->q.event_idx = (uint8_t)event_idx;
	s->q.desc = (struct uk_virtq_desc *)m;
	s->q.avail = (struct uk_virtq_avail *)(m + 16 * QSIZE);
	s->q.used = (struct uk_virtq_used *)(m + 4096);
	s->q.notify = (uintptr_t)&s->notify;
	s->q.avail_idx = s->q.kicked = s->q.used_seen = start;
	s->q.avail->idx = s->q.used->idx = start;
	s->dev_avail = s->dev_used = start;
	*uk_virtq_avail_event(&s->q) = *uk_virtq_used_event(&s->q) = start; /* as at a reset */
	s->notify = 0xffff;
}

/* Posts (n) descriptors and kicks; returns whether the device was notified. */
static int post_kick(struct sim *s, int n)
{
	s->notify = 0xffff;
	for (int i = 0; i < n; i++)
		uk_virtq_post(&s->q, (uint16_t)(i % QSIZE));
	uk_virtq_kick(&s->dev, &s->q);
	if (s->notify == s->q.index)
		s->notifies++;
	return s->notify == s->q.index;
}

/* The device reads what was posted; with EVENT_IDX it then asks to be told of the next entry
 * (avail_event = what it has seen), or of none (before what it has seen) when (quiet). */
static void dev_consume(struct sim *s, int quiet)
{
	s->dev_avail = s->q.avail->idx;
	if (s->q.event_idx)
		*uk_virtq_avail_event(&s->q) = (uint16_t)(s->dev_avail - (quiet ? 1 : 0));
	else
		s->q.used->flags = quiet ? UK_VIRTQ_USED_F_NO_NOTIFY : 0;
}

/* The device uses (n) entries; returns whether it interrupts (2.7.7.2 / 2.7.10). */
static int dev_use(struct sim *s, int n)
{
	uint16_t old = s->dev_used;
	int irq;

	for (int i = 0; i < n; i++) {
		s->q.used->ring[s->dev_used % QSIZE].id = (uint32_t)(s->dev_used % QSIZE);
		s->q.used->ring[s->dev_used % QSIZE].len = 100;
		s->dev_used++;
	}
	s->q.used->idx = s->dev_used;
	if (s->q.event_idx)
		irq = uk_virtq_need_event(*uk_virtq_used_event(&s->q), s->dev_used, old);
	else
		irq = !(s->q.avail->flags & UK_VIRTQ_AVAIL_F_NO_INTERRUPT);
	s->irqs += (unsigned)irq;
	return irq;
}

static int take_all(struct sim *s)
{
	uint16_t id;
	uint32_t len;
	int n = 0;

	while (uk_virtq_take(&s->q, &id, &len))
		n++;
	return n;
}

/* The arithmetic: event in [old, new) modulo 2^16, against a plain reference. */
static void test_need_event(void)
{
	unsigned bad = 0;
	uint32_t x = 12345;

	CHECK(uk_virtq_need_event(0, 1, 0), "0 -> 1 passes 0");
	CHECK(!uk_virtq_need_event(1, 1, 0), "0 -> 1 does not pass 1");
	CHECK(!uk_virtq_need_event(5, 7, 7), "no move passes nothing");
	CHECK(uk_virtq_need_event(65535, 1, 65534), "65534 -> 1 passes 65535 (wrap)");
	CHECK(uk_virtq_need_event(0, 1, 65534), "65534 -> 1 passes 0 (wrap)");
	CHECK(!uk_virtq_need_event(1, 1, 65534), "65534 -> 1 does not pass 1");
	CHECK(!uk_virtq_need_event(65533, 1, 65534), "65534 -> 1 does not pass 65533");
	for (int i = 0; i < 1000000; i++) {
		uint16_t old, step, ev;
		x = x * 1103515245u + 12345u;
		old = (uint16_t)(x >> 8);
		x = x * 1103515245u + 12345u;
		step = (uint16_t)((x >> 8) % 600);
		x = x * 1103515245u + 12345u;
		ev = (i & 1) ? (uint16_t)(old + (x >> 8) % 700 - 50) : (uint16_t)(x >> 8);
		int want = (uint16_t)(ev - old) < step;
		bad += uk_virtq_need_event(ev, (uint16_t)(old + step), old) != want;
	}
	CHECK(bad == 0, "a million random (event, new, old) agree with the reference: %u wrong",
	      bad);
}

/* Kicks with EVENT_IDX: once per "tell me" the device gives, none while it said "not now",
 * across the wrap of the avail index. */
static void test_kicks(uint16_t start)
{
	struct sim s;

	sim_init(&s, 1, start);
	CHECK(post_kick(&s, 3), "start %u: the first kick notifies (avail_event %u)", start,
	      (unsigned)*uk_virtq_avail_event(&s.q));
	CHECK(!post_kick(&s, 2),
	      "start %u: the device has not read the first: no second "
	      "notification",
	      start);
	dev_consume(&s, 0);
	CHECK(post_kick(&s, 1), "start %u: the device read them and asked again: notified", start);
	dev_consume(&s, 1);
	CHECK(!post_kick(&s, 4), "start %u: the device said not now: not notified", start);
	CHECK(s.q.avail->idx == (uint16_t)(start + 10) && s.q.kicked == s.q.avail->idx,
	      "start %u: avail idx %u, kicked %u", start, s.q.avail->idx, s.q.kicked);
	dev_consume(&s, 0);
	for (int i = 0; i < 20000; i++) { /* many rounds: through the wrap more than once */
		if (!post_kick(&s, 1 + i % 3))
			break;
		dev_consume(&s, 0);
	}
	CHECK(s.notifies == 2 + 20000, "start %u: one notification per request in 20000: %u", start,
	      s.notifies);
	uk_virtq_kick(&s.dev, &s.q);
	CHECK(s.dev.kicks == s.notifies, "nothing posted: no kick (%u, %u)", s.dev.kicks,
	      s.notifies);
}

/* Interrupts with EVENT_IDX: on, each batch of used entries interrupts once; off, none, however
 * many entries come and across the wrap of the used index; on again, the next one does. */
static void test_irqs(uint16_t start)
{
	struct sim s;
	unsigned got = 0, irqs;

	sim_init(&s, 1, start);
	uk_virtq_irq(&s.q, 1);
	CHECK(dev_use(&s, 1), "start %u: on: the first entry interrupts", start);
	CHECK(!dev_use(&s, 2), "start %u: not taken yet: no second interrupt", start);
	got += (unsigned)take_all(&s);
	CHECK(dev_use(&s, 1), "start %u: taken: the next entry interrupts", start);
	uk_virtq_irq(&s.q, 0);
	irqs = s.irqs;
	for (int i = 0; i < 30000; i++) {
		dev_use(&s, 1 + i % QSIZE);
		got += (unsigned)take_all(&s);
	}
	CHECK(s.irqs == irqs, "start %u: off: no interrupt in 30000 batches: %u", start,
	      s.irqs - irqs);
	CHECK(!dev_use(&s, 3), "start %u: off, entries not taken: none", start);
	uk_virtq_irq(&s.q, 1);
	/* (on) after entries came: the driver MUST look again (virtio_net.c does) */
	got += (unsigned)take_all(&s);
	CHECK(dev_use(&s, 1), "start %u: on again: the next entry interrupts", start);
	got += (unsigned)take_all(&s);
	CHECK(s.q.used_seen == s.dev_used && (uint16_t)got == (uint16_t)(s.dev_used - start),
	      "start %u: every entry taken once (%u; used_seen %u, device %u)", start, got,
	      s.q.used_seen, s.dev_used);
}

/* Without EVENT_IDX the same calls drive the flags. */
static void test_flags(void)
{
	struct sim s;

	sim_init(&s, 0, 65530);
	uk_virtq_irq(&s.q, 0);
	CHECK(s.q.avail->flags == UK_VIRTQ_AVAIL_F_NO_INTERRUPT && !dev_use(&s, 2),
	      "off: NO_INTERRUPT, no interrupt");
	uk_virtq_irq(&s.q, 1);
	CHECK(s.q.avail->flags == 0 && dev_use(&s, 1), "on: flag clear, interrupts");
	CHECK(*uk_virtq_used_event(&s.q) == 65530, "used_event untouched without EVENT_IDX");
	CHECK(post_kick(&s, 2), "kick notifies");
	dev_consume(&s, 1);
	CHECK(!post_kick(&s, 2), "NO_NOTIFY: no notification");
	dev_consume(&s, 0);
	CHECK(post_kick(&s, 9), "flag clear: notifies, across the wrap");
}

int main(void)
{
	test_need_event();
	test_kicks(0);
	test_kicks(65530);
	test_irqs(0);
	test_irqs(65533);
	test_flags();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
