/* Xen events for a domU: the upcall vector (wakes the CPU from hlt; pending bits cleared, nothing
 * dispatched per port) and the stop request, a xenstore watch on control/shutdown. */
#include "platform/xen/xen.h"
#include "arch/x86_64/cpu.h"
#include <uk/uk.h>
#include <uk/internal.h>

/* struct shared_info (64-bit): vcpu_info[32] of 64 bytes, then the 2-level pending and mask
 * bitmaps; vcpu_info: upcall_pending u8 @0, upcall_mask u8 @1, pending_sel unsigned long @8. */
#define SHINFO_PENDING 2048
#define SHINFO_MASK 2560
#define VCPU_PENDING_SEL 8
#define CALLBACK_TYPE_VECTOR (2ULL << 56)

static volatile uint8_t *shinfo;
static int watching; /* control/shutdown is watched */

static void upcall(int vec)
{
	volatile uint64_t *pending = (volatile uint64_t *)(shinfo + SHINFO_PENDING);
	uint64_t sel;

	(void)vec;
	shinfo[0] = 0; /* vCPU 0's upcall_pending */
	sel = __atomic_exchange_n((uint64_t *)(uintptr_t)(shinfo + VCPU_PENDING_SEL), 0,
	                          __ATOMIC_SEQ_CST);
	/* Clear what is pending so that the next event on a port raises the upcall again; the
	 * waiters (console, xenstore) read their rings after every wakeup. */
	while (sel) {
		int i = __builtin_ctzll(sel);

		sel &= sel - 1;
		__atomic_and_fetch((uint64_t *)(uintptr_t)&pending[i], 0, __ATOMIC_SEQ_CST);
	}
}

void uk_xen_events_init(volatile uint8_t *shared_info, int vector)
{
	uint64_t pfn = uk_xen_hvm_param(XEN_HVM_PARAM_STORE_PFN);
	long rc;

	shinfo = shared_info;
	if (!pfn || pfn >= (1ULL << 20)) /* the ring must sit in the identity-mapped first 4 GiB */
		return;
	uk_arch_irq_register(vector, upcall);
	/* Xen injects the callback vector itself, past the LAPIC (nothing is in service): an EOI
	 * would only cost an emulated MMIO write per event. */
	uk_arch_irq_no_eoi(vector);
	/* Also tells the toolstack this guest takes PV control requests (`xl shutdown`). */
	rc = uk_xen_hvm_param_set(XEN_HVM_PARAM_CALLBACK_IRQ,
	                          CALLBACK_TYPE_VECTOR | (uint64_t)vector);
	if (rc < 0) {
		uk_printk("xen: setting the event upcall vector failed (%ld): no stop requests\n",
		          rc);
		return;
	}
	uk_xs_attach((void *)(uintptr_t)(pfn << 12),
	             (uint32_t)uk_xen_hvm_param(XEN_HVM_PARAM_STORE_EVTCHN));
	if (uk_xs_watch("control/shutdown", "uk-stop") < 0) {
		uk_printk("xen: xenstore does not answer: no stop requests\n");
		return;
	}
	watching = 1;
}

static int is_stop(const char *v)
{
	static const char *const words[] = {"poweroff", "halt", "reboot"};
	unsigned i, j;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		for (j = 0; words[i][j] && v[j] == words[i][j]; j++)
			;
		if (!words[i][j] && !v[j])
			return 1;
	}
	return 0;
}

int uk_xen_stop_requested(void)
{
	char path[XS_PATH_MAX], val[32];

	if (!watching || !uk_xs_take_watch_event(path, sizeof(path)))
		return 0;
	if (uk_xs_read("control/shutdown", val, sizeof(val)) < 0 || !is_stop(val))
		return 0;
	uk_xs_write("control/shutdown", ""); /* acknowledged, as Linux does */
	return 1;
}
