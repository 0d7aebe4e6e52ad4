/* Ending a Xen guest: the status line on the console, then SCHEDOP_shutdown (poweroff for an exit
 * status below 128, crash for a fault, panic or abort). */
#include "platform/xen/xen.h"
#include "arch/x86_64/x86.h"
#include "platform/kvm/kvm.h"
#include <uk/uk.h>

_Noreturn void uk_xen_exit(int status)
{
	char line[24];
	/* the status modulo 256, as the line says: 263 is a clean 7, -1 (255) a crash */
	uint32_t reason = (status & 0xff) < 128 ? XEN_SHUTDOWN_POWEROFF : XEN_SHUTDOWN_CRASH;

	__asm__ volatile("cli");
	/* Xen keeps no exit code: the supervisor reads this line, a line of its own, from the
	 * console. */
	uk_xen_console_end_line();
	uk_xen_console_write(2, line, uk_status_line(line, status));
	uk_xen_console_flush();
	uk_xen_hypercall(XEN_HC_SCHED_OP, XEN_SCHEDOP_SHUTDOWN, (uintptr_t)&reason, 0);
	cpu_halt_forever(); /* not reached: Xen does not schedule a shut-down domain again */
	__builtin_unreachable();
}
