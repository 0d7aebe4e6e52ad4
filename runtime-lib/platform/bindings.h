/* The platform's private interface to the layers above it (drivers/): what a platform provides
 * for device discovery and interrupts. Drivers include this, never a platform's own header. */
#ifndef UK_PLATFORM_BINDINGS_H
#define UK_PLATFORM_BINDINGS_H

#include <stdint.h>

/*
 * Layering: drivers -> platform -> arch. Calls go down, through this header where they cross
 * into the platform. Two calls go up, each a single entry point declared here: arch's boot
 * entry calls uk_plat_boot(), and the platform calls uk_drivers_init(), a weak hook, so an image
 * that links no driver scans no bus.
 */

/*
 * The platform's boot, called once by arch's PVH entry (entry.S) on the boot stack, in long
 * mode, with (start_info) the physical address of struct hvm_start_info and (tsc) the time
 * stamp counter at entry. Sets up the console, CPU, memory, clocks and devices, then runs the
 * app (uk_start_cmdline) and never returns.
 */
_Noreturn void uk_plat_boot(uint32_t start_info, uint64_t tsc);

/* Nonzero once per stop request since the last call: the ACPI power button on kvm, the toolstack's
 * control/shutdown on xen (the platform's idle wait calls it after each wakeup). */
int uk_plat_stop_requested(void);

/* Nonzero if the platform booted with ACPI tables (QEMU gave an RSDP). */
int uk_plat_has_acpi(void);

/* The ACPI DSDT (its length in *(len)); NULL without ACPI. Memory reads only, no VM exit. */
const void *uk_plat_acpi_dsdt(uint32_t *len);

/*
 * Routes global system interrupt (gsi) to interrupt vector (vector) on the boot CPU (edge,
 * active high, unmasked). Returns 0, -1 when (gsi) is out of range or nothing answers there.
 */
int uk_plat_irq_route(int gsi, int vector);

/*
 * Defined by drivers/ when an image links them (ukcc pulls them in for -lvirtio and -lnet):
 * finds devices (PCI bus 0, virtio-mmio from (cmdline)'s words, the DSDT or a slot probe) and
 * probes their drivers. The platform calls it once at boot, after memory and interrupts are up.
 */
void uk_drivers_init(const char *cmdline) __attribute__((weak));

#endif
