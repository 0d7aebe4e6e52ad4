/* The one kernel ELF for every PVH host: picks the xen or kvm platform at boot (CPUID) and routes
 * the calls whose implementation differs between them. */
#include "platform/bindings.h"
#include "platform/kvm/kvm.h"
#include "platform/xen/xen.h"
#include <uk/uk.h>

static int on_xen;

_Noreturn void uk_plat_boot(uint32_t start_info, uint64_t tsc)
{
	on_xen = uk_xen_detect();
	if (on_xen)
		uk_xen_boot(start_info, tsc);
	uk_kvm_boot(start_info, tsc);
}

const char *uk_platform(void)
{
	return on_xen ? "xen" : "kvm";
}

void uk_console_write(int fd, const char *buf, size_t len)
{
	if (on_xen)
		uk_xen_console_write(fd, buf, len);
	else
		uk_kvm_console_write(fd, buf, len);
}

_Noreturn void uk_exit(int status)
{
	if (on_xen)
		uk_xen_exit(status);
	uk_kvm_exit(status);
}

int uk_plat_stop_requested(void)
{
	return on_xen ? uk_xen_stop_requested() : uk_kvm_power_button_pressed();
}
