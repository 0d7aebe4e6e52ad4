/* kvm platform internals shared by its files: boot info, ACPI, clocks; the PVH pieces the xen
 * platform reuses (command line, memory, status line, clocks, LAPIC timer). */
#ifndef UK_PLATFORM_KVM_H
#define UK_PLATFORM_KVM_H

#include "platform/bindings.h"
#include <stddef.h>
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
#define UK_PVH_MEMMAP_MAX 64

/* pvclock time info (KVM's kvmclock, Xen's struct vcpu_time_info): one layout. */
struct uk_pvclock {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags, pad[2];
} __attribute__((packed));

/* The kvm platform's boot, console and exit (platform/boot.c picks kvm's or xen's). */
_Noreturn void uk_kvm_boot(uint32_t start_info, uint64_t tsc);
void uk_kvm_console_write(int fd, const char *buf, size_t len);
_Noreturn void uk_kvm_exit(int status);

/*
 * Shared PVH boot step: checks (si)'s magic (panics when wrong), copies its command line and hands
 * the RAM ranges of (map) ((n) entries, at most UK_PVH_MEMMAP_MAX used) above 1 MiB to the heap.
 * Returns the command line (static storage).
 */
char *uk_pvh_setup(const struct hvm_start_info *si, uint32_t start_info,
                   const struct hvm_memmap_entry *map, uint32_t n);

/* Formats "UK_EXIT=<status modulo 256>\n" into (line); returns its length. */
size_t uk_status_line(char line[24], int status);

/*
 * Makes the clocks read (pc) (a pvclock the platform mapped, counting ns since (wall_ns_at_zero)
 * on the wall clock) under the name (name), instead of probing kvmclock or calibrating against
 * the PIT; the LAPIC timer counts (lapic_ticks_per_ms) when there is no TSC deadline mode.
 * Called at boot, before the first clock read.
 */
void uk_clock_use_pvclock(const volatile struct uk_pvclock *pc, uint64_t wall_ns_at_zero,
                          uint64_t lapic_ticks_per_ms, const char *name);

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
