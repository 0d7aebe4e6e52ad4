/* IOAPIC redirection entries: route a global system interrupt (GSI) to a LAPIC vector. */
#include "platform/bindings.h"
#include "arch/x86_64/x86.h"
#include <stdint.h>

#define IOAPIC0 0xfec00000u
#define IOAPIC1 0xfec10000u /* microvm with ACPI: its second IOAPIC, GSIs 24-47 */
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPICVER 0x01

static uint32_t ioapic_read(uintptr_t base, uint32_t reg)
{
	mmio_write32(base + IOREGSEL, reg);
	return mmio_read32(base + IOWIN);
}

static void ioapic_write(uintptr_t base, uint32_t reg, uint32_t v)
{
	mmio_write32(base + IOREGSEL, reg);
	mmio_write32(base + IOWIN, v);
}

/*
 * Fixed delivery, physical destination APIC id 0. GSIs 0-23 live on the IOAPIC at 0xfec00000,
 * 24-47 on microvm's second IOAPIC at 0xfec10000.
 */
int uk_plat_irq_route(int gsi, int vector)
{
	uintptr_t base = gsi < 24 ? IOAPIC0 : IOAPIC1;
	int pin = gsi % 24;
	uint32_t ver;

	if (gsi < 0 || gsi >= 48 || vector < 32 || vector > 255)
		return -1;
	ver = ioapic_read(base, IOAPICVER);
	if (ver == 0xffffffffu || (int)((ver >> 16) & 0xff) < pin)
		return -1;                                    /* nothing there, or fewer pins */
	ioapic_write(base, 0x10 + 2 * pin + 1, 0);            /* destination: APIC id 0 */
	ioapic_write(base, 0x10 + 2 * pin, (uint32_t)vector); /* fixed, physical, high, edge */
	return 0;
}
