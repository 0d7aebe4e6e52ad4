/* xen platform boot (PVH dom0 or domU): hypercall page, console, shared info page for the clocks,
 * memory map, then the same command line, memory and LAPIC timer setup as kvm. */
#include "platform/xen/xen.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "platform/kvm/kvm.h"
#include <uk/uk.h>
#include <uk/internal.h>

/* struct shared_info, the parts read: vCPU 0's time info and the wall clock at system time 0. */
#define SHINFO_VCPU0_TIME 32
#define SHINFO_WC_VERSION 3072
#define SHINFO_WC_SEC 3076
#define SHINFO_WC_NSEC 3080
#define SHINFO_WC_SEC_HI 3084
/* Xen's emulated LAPIC timer counts at 100 MHz (10 ns a tick, divide by 1); it offers no TSC
 * deadline mode to PVH guests here (seen: a 50 ms sleep took 539 ms at QEMU's 1 GHz rate). */
#define XEN_LAPIC_TICKS_PER_MS 100000

/* One e820 entry as XENMEM_memory_map returns it (packed, 20 bytes). */
struct xen_e820 {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

/* Xen maps its shared info frame over this page (its RAM frame is given back). */
static uint8_t shared_info[4096] __attribute__((aligned(4096)));

static uint32_t shinfo32(unsigned off)
{
	return *(volatile uint32_t *)(shared_info + off);
}

/* Maps the shared info page and hands vCPU 0's time info to the clocks; 0, -1 without it. */
static int clock_setup(void)
{
	struct {
		uint16_t domid, size;
		uint32_t space;
		uint64_t idx, gpfn;
	} xatp = {XEN_DOMID_SELF, 0, XEN_MAPSPACE_SHARED_INFO, 0, (uintptr_t)shared_info >> 12};
	uint32_t v;
	uint64_t sec, nsec;
	long rc = uk_xen_hypercall(XEN_HC_MEMORY_OP, XEN_MEM_ADD_TO_PHYSMAP, (uintptr_t)&xatp, 0);

	if (rc < 0) {
		uk_printk("xen: mapping the shared info page failed (%ld); clocks fall back to the "
		          "TSC\n",
		          rc);
		return -1;
	}
	do {
		v = shinfo32(SHINFO_WC_VERSION);
		__asm__ volatile("" ::: "memory");
		sec = shinfo32(SHINFO_WC_SEC) | (uint64_t)shinfo32(SHINFO_WC_SEC_HI) << 32;
		nsec = shinfo32(SHINFO_WC_NSEC);
		__asm__ volatile("" ::: "memory");
	} while ((v & 1) || v != shinfo32(SHINFO_WC_VERSION));
	uk_clock_use_pvclock((const volatile struct uk_pvclock *)(shared_info + SHINFO_VCPU0_TIME),
	                     sec * 1000000000ULL + nsec, XEN_LAPIC_TICKS_PER_MS,
	                     "xen vcpu time info");
	return 0;
}

/* The memory map: the one in start_info when it has one (PVH start_info version 1 on), else
 * XENMEM_memory_map's, converted into (buf). Sets (*n) to its number of entries. */
static const struct hvm_memmap_entry *memory_map(const struct hvm_start_info *si,
                                                 struct hvm_memmap_entry *buf, uint32_t *n)
{
	struct xen_e820 e820[UK_PVH_MEMMAP_MAX];
	struct {
		uint32_t nr_entries, pad;
		uint64_t buffer;
	} mm = {UK_PVH_MEMMAP_MAX, 0, (uintptr_t)e820};
	uint32_t i;

	if (si->magic == HVM_START_MAGIC && si->version >= 1 && si->memmap_entries) {
		*n = si->memmap_entries;
		return (const void *)(uintptr_t)si->memmap_paddr;
	}
	/* Xen 4.17 boots a PVH dom0 with a version 0 start_info: no map there. */
	if (uk_xen_hypercall(XEN_HC_MEMORY_OP, XEN_MEM_MEMORY_MAP, (uintptr_t)&mm, 0) < 0)
		uk_panic("xen: XENMEM_memory_map failed and start_info has no memory map");
	for (i = 0; i < mm.nr_entries && i < UK_PVH_MEMMAP_MAX; i++) {
		buf[i].addr = e820[i].addr;
		buf[i].size = e820[i].size;
		buf[i].type = e820[i].type;
		buf[i].reserved = 0;
	}
	*n = i;
	return buf;
}

_Noreturn void uk_xen_boot(uint32_t start_info, uint64_t tsc)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)start_info;
	struct hvm_memmap_entry buf[UK_PVH_MEMMAP_MAX];
	const struct hvm_memmap_entry *map;
	uint32_t n;
	char *cmdline;
	int initdomain = si->magic == HVM_START_MAGIC && (si->flags & XEN_SIF_INITDOMAIN);

	uk_boot_tsc = tsc;
	uk_boot_stamps[0] = uk_rdtsc();
	uk_xen_console_init(initdomain);
	uk_arch_cpu_init();
	uk_boot_stamps[1] = uk_rdtsc();
	map = memory_map(si, buf, &n);
	cmdline = uk_pvh_setup(si, start_info, map, n);
	uk_boot_stamps[2] = uk_rdtsc();
	if (clock_setup() == 0 && !initdomain)
		uk_xen_events_init(shared_info, UK_IRQ_XEN);
	uk_kvm_timer_init(); /* PVH guests have a LAPIC (no PIT, no IOAPIC) */
	uk_boot_stamps[3] = uk_rdtsc();
	/* No uk_drivers_init(): Xen's devices are netfront/blkfront, not PCI or virtio. */
	if (!initdomain && uk_xen_netfront_init)
		uk_xen_netfront_init();
	if (!initdomain)
		uk_xen_blkfront_init();
	uk_start_cmdline(cmdline);
}
