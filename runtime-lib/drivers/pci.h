/* PCI configuration space (ports 0xcf8/0xcfc): bus 0 scan, BARs, capabilities, MSI-X. */
#ifndef UK_DRIVERS_PCI_H
#define UK_DRIVERS_PCI_H

#include <stdint.h>

struct uk_pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
};

#define UK_PCI_CAP_MSIX 0x11
#define UK_PCI_CAP_VENDOR 0x09

/* Config space reads and writes at byte offset (off) of (d). Each is two port accesses. */
uint32_t uk_pci_read32(const struct uk_pci_dev *d, uint8_t off);
uint16_t uk_pci_read16(const struct uk_pci_dev *d, uint8_t off);
uint8_t uk_pci_read8(const struct uk_pci_dev *d, uint8_t off);
void uk_pci_write32(const struct uk_pci_dev *d, uint8_t off, uint32_t v);
void uk_pci_write16(const struct uk_pci_dev *d, uint8_t off, uint16_t v);

/*
 * Calls (fn) for every function on bus 0 and on the secondary buses of the
 * PCI-to-PCI bridges found there (recursively), never the other 255 buses:
 * each access is a VM exit. Returns the number of functions found; 0 when
 * there is no PCI host (microvm), found with a single config read.
 */
int uk_pci_scan(void (*fn)(const struct uk_pci_dev *d, void *arg), void *arg);

/*
 * The physical address of memory BAR (bar) of (d); 0 for an I/O BAR, a
 * BAR that does not exist, or one above 4 GiB (only RAM is mapped there).
 * A BAR the firmware left unassigned (qboot assigns none) is sized and given
 * an address in the 32-bit MMIO window 0xe0000000-0xfe000000, free on QEMU's
 * pc and q35 machines. Also turns on memory decoding and bus mastering.
 */
uint64_t uk_pci_bar(const struct uk_pci_dev *d, int bar);

/* Offset of the first capability with id (id) after offset (after) (0: from the start); 0 if none.
 */
uint8_t uk_pci_find_cap(const struct uk_pci_dev *d, uint8_t id, uint8_t after);

/*
 * Points MSI-X table entry (entry) of (d) at the boot CPU's LAPIC with
 * interrupt vector (vector), unmasks it and enables MSI-X (legacy INTx off).
 * Returns 0, or -1 when (d) has no MSI-X capability or too few entries.
 */
int uk_pci_msix_route(const struct uk_pci_dev *d, int entry, int vector);

/* Config-space accesses made so far (each is an address write plus a data access). */
unsigned uk_pci_accesses(void);

#endif
