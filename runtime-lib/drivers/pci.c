/* PCI configuration space (ports 0xcf8/0xcfc): bus 0 scan, BARs, capabilities, MSI-X. */
#include "drivers/pci.h"
#include "arch/x86_64/x86.h"
#include <uk/uk.h>
#include <uk/internal.h>

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc
#define PCI_COMMAND 0x04
#define PCI_CMD_MEM 0x0002
#define PCI_CMD_MASTER 0x0004
#define PCI_CMD_INTX_OFF 0x0400
#define PCI_HEADER 0x0c /* dword: cache line, latency, header type, BIST */
#define PCI_BAR0 0x10
#define PCI_SECONDARY 0x18 /* bridge: primary, secondary, subordinate bus */
#define PCI_CAP_PTR 0x34
#define MSIX_ENABLE 0x8000
#define MSIX_FMASK 0x4000
#define LAPIC_MSI_ADDR 0xfee00000u
/* Where unassigned BARs go: above q35's MMCONFIG (0xb0000000-0xbfffffff) and
 * pc's highest low-RAM top (0xe0000000), below the IOAPIC/HPET/LAPIC. */
#define WINDOW_START 0xe0000000ull
#define WINDOW_END 0xfe000000ull
#define MAX_DEPTH 4

static unsigned accesses;
static uint64_t window_next = WINDOW_START;

static void select_reg(const struct uk_pci_dev *d, uint8_t off)
{
	accesses++;
	outl(PCI_ADDR, 0x80000000u | ((uint32_t)d->bus << 16) | ((uint32_t)d->dev << 11) |
	                       ((uint32_t)d->fn << 8) | (off & 0xfc));
}

uint32_t uk_pci_read32(const struct uk_pci_dev *d, uint8_t off)
{
	select_reg(d, off);
	return inl(PCI_DATA);
}

uint16_t uk_pci_read16(const struct uk_pci_dev *d, uint8_t off)
{
	select_reg(d, off);
	return inw(PCI_DATA + (off & 2));
}

uint8_t uk_pci_read8(const struct uk_pci_dev *d, uint8_t off)
{
	select_reg(d, off);
	return inb(PCI_DATA + (off & 3));
}

void uk_pci_write32(const struct uk_pci_dev *d, uint8_t off, uint32_t v)
{
	select_reg(d, off);
	outl(PCI_DATA, v);
}

void uk_pci_write16(const struct uk_pci_dev *d, uint8_t off, uint16_t v)
{
	select_reg(d, off);
	outw(PCI_DATA + (off & 2), v);
}

unsigned uk_pci_accesses(void)
{
	return accesses;
}

static int scan_bus(uint8_t bus, int depth, void (*fn)(const struct uk_pci_dev *, void *),
                    void *arg)
{
	struct uk_pci_dev d = {.bus = bus};
	int found = 0, nfn;
	uint32_t id, hdr;

	for (d.dev = 0; d.dev < 32; d.dev++) {
		for (d.fn = 0, nfn = 1; d.fn < nfn; d.fn++) {
			id = uk_pci_read32(&d, 0);
			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
				continue;
			d.vendor = (uint16_t)id;
			d.device = (uint16_t)(id >> 16);
			hdr = uk_pci_read32(&d, PCI_HEADER) >> 16;
			if (d.fn == 0 && (hdr & 0x80))
				nfn = 8; /* multi-function device */
			found++;
			if ((hdr & 0x7f) == 1 && depth < MAX_DEPTH) {
				/* PCI-to-PCI bridge: its secondary bus, if the firmware numbered
				 * it. */
				uint8_t sec = (uint8_t)(uk_pci_read32(&d, PCI_SECONDARY) >> 8);

				if (sec > bus)
					found += scan_bus(sec, depth + 1, fn, arg);
				continue;
			}
			fn(&d, arg);
		}
	}
	return found;
}

int uk_pci_scan(void (*fn)(const struct uk_pci_dev *d, void *arg), void *arg)
{
	struct uk_pci_dev host = {0};
	uint32_t id = uk_pci_read32(&host, 0);

	/* No host bridge at 00:00.0: no PCI (microvm answers all-ones). */
	if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
		return 0;
	return scan_bus(0, 0, fn, arg);
}

uint64_t uk_pci_bar(const struct uk_pci_dev *d, int bar)
{
	uint8_t off = (uint8_t)(PCI_BAR0 + 4 * bar);
	uint32_t lo, hi = 0, size_lo, size_hi = 0xffffffffu;
	uint64_t addr, size;
	int is64;

	if (bar < 0 || bar > 5)
		return 0;
	lo = uk_pci_read32(d, off);
	if (lo & 1)
		return 0; /* I/O space */
	is64 = ((lo >> 1) & 3) == 2;
	if (is64) {
		if (bar == 5)
			return 0;
		hi = uk_pci_read32(d, off + 4);
	}
	addr = ((uint64_t)hi << 32) | (lo & ~0xfull);
	if (!addr) {
		uint16_t cmd = uk_pci_read16(d, PCI_COMMAND);

		/* Size it with decoding off, then place it, naturally aligned. */
		uk_pci_write16(d, PCI_COMMAND, cmd & ~PCI_CMD_MEM);
		uk_pci_write32(d, off, 0xffffffffu);
		size_lo = uk_pci_read32(d, off) & ~0xfu;
		if (is64) {
			uk_pci_write32(d, off + 4, 0xffffffffu);
			size_hi = uk_pci_read32(d, off + 4);
		}
		size = ~(((uint64_t)size_hi << 32) | size_lo) + 1;
		if (!size_lo && !size_hi)
			size = 0;
		addr = (window_next + size - 1) & ~(size - 1);
		if (!size || addr + size > WINDOW_END) {
			uk_printk("pci %02x:%02x.%x: BAR%d (size 0x%llx) does not fit the MMIO "
			          "window\n",
			          d->bus, d->dev, d->fn, bar, (unsigned long long)size);
			uk_pci_write32(d, off, lo);
			if (is64)
				uk_pci_write32(d, off + 4, hi);
			uk_pci_write16(d, PCI_COMMAND, cmd);
			return 0;
		}
		window_next = addr + size;
		uk_pci_write32(d, off, (uint32_t)addr | (lo & 0xf));
		if (is64)
			uk_pci_write32(d, off + 4, 0);
		uk_pci_write16(d, PCI_COMMAND, cmd | PCI_CMD_MEM | PCI_CMD_MASTER);
		return addr;
	}
	if (addr >= (1ull << 32)) {
		uk_printk("pci %02x:%02x.%x: BAR%d at 0x%llx is above 4 GiB, which is not mapped\n",
		          d->bus, d->dev, d->fn, bar, (unsigned long long)addr);
		return 0;
	}
	{
		uint16_t cmd = uk_pci_read16(d, PCI_COMMAND);

		if ((cmd & (PCI_CMD_MEM | PCI_CMD_MASTER)) != (PCI_CMD_MEM | PCI_CMD_MASTER))
			uk_pci_write16(d, PCI_COMMAND, cmd | PCI_CMD_MEM | PCI_CMD_MASTER);
	}
	return addr;
}

uint8_t uk_pci_find_cap(const struct uk_pci_dev *d, uint8_t id, uint8_t after)
{
	uint8_t off;
	int guard = 48; /* a looping list must not hang the boot */

	if (!after) {
		if (!(uk_pci_read16(d, 0x06) & 0x10)) /* status: capability list present */
			return 0;
		off = uk_pci_read8(d, PCI_CAP_PTR) & 0xfc;
	} else {
		off = (uint8_t)(uk_pci_read32(d, after) >> 8) & 0xfc;
	}
	while (off && guard--) {
		uint32_t h = uk_pci_read32(d, off);

		if ((h & 0xff) == id)
			return off;
		off = (uint8_t)(h >> 8) & 0xfc;
	}
	return 0;
}

int uk_pci_msix_route(const struct uk_pci_dev *d, int entry, int vector)
{
	uint8_t cap = uk_pci_find_cap(d, UK_PCI_CAP_MSIX, 0);
	uint32_t h, table;
	uint64_t base;
	uintptr_t e;

	if (!cap)
		return -1;
	h = uk_pci_read32(d, cap);
	if (entry > (int)((h >> 16) & 0x7ff))
		return -1;
	table = uk_pci_read32(d, cap + 4);
	base = uk_pci_bar(d, table & 7);
	if (!base)
		return -1;
	/* Mask the whole function while the entry changes. */
	uk_pci_write16(d, cap + 2, (uint16_t)(((h >> 16) | MSIX_ENABLE | MSIX_FMASK)));
	e = (uintptr_t)(base + (table & ~7u) + 16u * (unsigned)entry);
	mmio_write32(e + 0, LAPIC_MSI_ADDR); /* destination: APIC id 0, physical */
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, (uint32_t)vector); /* fixed delivery, edge */
	mmio_write32(e + 12, 0);               /* unmasked */
	uk_pci_write16(d, cap + 2, (uint16_t)(((h >> 16) | MSIX_ENABLE) & ~MSIX_FMASK));
	uk_pci_write16(d, PCI_COMMAND, uk_pci_read16(d, PCI_COMMAND) | PCI_CMD_INTX_OFF);
	return 0;
}
