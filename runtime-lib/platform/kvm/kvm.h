/* kvm platform internals shared by its files: boot info, ACPI, clocks. */
#ifndef UK_PLATFORM_KVM_H
#define UK_PLATFORM_KVM_H

#include "platform/bindings.h"
#include <stdint.h>

/* struct hvm_start_info (PVH boot ABI), the fields we read. */
struct hvm_start_info {
	uint32_t magic; /* 0x336ec578 */
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* 1 = RAM */
	uint32_t reserved;
};

#define HVM_START_MAGIC 0x336ec578

/* Physical address of the ACPI RSDP (0 if unknown), recorded at boot. */
extern uint64_t uk_kvm_rsdp;

/* The ACPI table with signature (sig) ("FACP", "APIC", ...) through the RSDP; NULL if none. */
const void *uk_kvm_acpi_table(const char *sig);

/* Powers the machine off through ACPI (PM1a or the HW-reduced sleep register). Returns on failure.
 */
void uk_kvm_acpi_poweroff(void);

/* Arms the ACPI power button (fixed feature, SCI through the IOAPIC); no-op without one. */
void uk_kvm_acpi_power_button_init(void);

/* Nonzero once per press of the ACPI power button since the last call. */
int uk_kvm_power_button_pressed(void);

/* Enables the LAPIC and its timer interrupt (masked until a wait arms it); called at boot. */
void uk_kvm_timer_init(void);

#endif
