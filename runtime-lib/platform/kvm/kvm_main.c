/* kvm platform boot: from the PVH entry's C call to main(), via CPU, console, memory and command
 * line; its command line and memory setup serve the xen platform too. */
#include "platform/kvm/kvm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "platform/kvm/serial.h"
#include <uk/uk.h>
#include <uk/internal.h>

#define CMDLINE_MAX 4096
#define LOW_RAM_START 0x100000ULL

extern char __kernel_start[], _end[];

uint64_t uk_boot_tsc;
uint64_t uk_boot_stamps[UK_BOOT_STAMPS];
uint64_t uk_kvm_rsdp;
static char cmdline[CMDLINE_MAX];
static int console_ready;

void uk_kvm_console_write(int fd, const char *buf, size_t len)
{
	(void)fd; /* stdout and stderr share the serial console */
	if (console_ready)
		uk_serial_write(UK_COM1, buf, len);
}

int uk_plat_has_acpi(void)
{
	return uk_kvm_rsdp != 0;
}

static void copy_cmdline(const struct hvm_start_info *si)
{
	const char *src = (const char *)(uintptr_t)si->cmdline_paddr;
	size_t i = 0;

	if (si->cmdline_paddr)
		for (; i < CMDLINE_MAX - 1 && src[i]; i++)
			cmdline[i] = src[i];
	cmdline[i] = 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Hands every RAM range above 1 MiB to the heap, less the kernel image and the
 * page-table pages taken for the final mappings. */
static void setup_memory(const struct hvm_memmap_entry *map, uint32_t n)
{
	uintptr_t cursor = align_up((uintptr_t)_end, 4096);
	uint64_t top = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		if (map[i].type == 1 && map[i].addr + map[i].size > top)
			top = map[i].addr + map[i].size;
	uk_arch_mm_init(top, &cursor);
	for (i = 0; i < n; i++) {
		uint64_t start = map[i].addr, end = map[i].addr + map[i].size;

		if (map[i].type != 1 || end <= LOW_RAM_START)
			continue;
		if (start < LOW_RAM_START)
			start = LOW_RAM_START;
		/* The kernel image and page-table pages sit in the first range. */
		if (start < cursor && end > (uintptr_t)__kernel_start)
			start = cursor;
		start = align_up(start, 64);
		if (end > start + 4096)
			uk_heap_add((void *)(uintptr_t)start, end - start);
	}
}

char *uk_pvh_setup(const struct hvm_start_info *si, uint32_t start_info,
                   const struct hvm_memmap_entry *map, uint32_t n)
{
	struct hvm_memmap_entry copy[UK_PVH_MEMMAP_MAX];
	uint32_t i;

	if (si->magic != HVM_START_MAGIC)
		uk_panic("boot: bad PVH start_info magic 0x%x at 0x%x", si->magic, start_info);
	if (n > UK_PVH_MEMMAP_MAX)
		n = UK_PVH_MEMMAP_MAX;
	/* A copy: the map may sit in RAM the heap is about to take. */
	for (i = 0; i < n; i++)
		copy[i] = map[i];
	copy_cmdline(si);
	setup_memory(copy, n);
	return cmdline;
}

_Noreturn void uk_kvm_boot(uint32_t start_info, uint64_t tsc)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)start_info;

	uk_boot_tsc = tsc;
	uk_boot_stamps[0] = uk_rdtsc();
	uk_serial_init(UK_COM1);
	console_ready = 1;
	uk_arch_cpu_init();
	uk_boot_stamps[1] = uk_rdtsc();
	uk_kvm_rsdp = si->magic == HVM_START_MAGIC ? si->rsdp_paddr : 0;
	uk_pvh_setup(si, start_info, (const void *)(uintptr_t)si->memmap_paddr, si->memmap_entries);
	uk_boot_stamps[2] = uk_rdtsc();
	uk_kvm_timer_init();
	uk_kvm_acpi_power_button_init();
	uk_boot_stamps[3] = uk_rdtsc();
	/* Linked only into images that need devices, so hello boots without scanning anything. */
	if (uk_drivers_init)
		uk_drivers_init(cmdline);
	uk_start_cmdline(cmdline);
}
