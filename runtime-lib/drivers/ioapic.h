/* IOAPIC redirection entries: route a global system interrupt (GSI) to a LAPIC vector. */
#ifndef UK_DRIVERS_IOAPIC_H
#define UK_DRIVERS_IOAPIC_H

/*
 * Routes (gsi) to interrupt vector (vector) on the boot CPU (APIC id 0):
 * fixed delivery, physical destination, edge-triggered, active high,
 * unmasked. GSIs 0-23 live on the IOAPIC at 0xfec00000, 24-47 on microvm's
 * second IOAPIC at 0xfec10000. Returns 0, -1 when (gsi) is out of range or no
 * IOAPIC answers there.
 */
int uk_ioapic_route(int gsi, int vector);

#endif
