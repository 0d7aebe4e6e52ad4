/* Accelerator detection: /dev/kvm usable, not PVM (/sys/module/kvm_pvm), and CPUID VMX/SVM. */
#include "accel.h"
#include "uk/vmm.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The one detection rule, shared with the qemu backend and runuk (vmm/). */
void ukd_accel_detect(char type[8], char *reason, size_t len)
{
	snprintf(type, 8, "%s",
	         ukvmm_accel_detect(reason, len) == UKVMM_ACCEL_KVM ? "kvm" : "qemu");
}

int ukd_accel_resolve(struct ukd *d, const char *requested, char type[8], uk_err_t *err)
{
	if (!requested || !*requested)
		requested = d->cfg.accelerator;
	if (!strcmp(requested, "auto"))
		snprintf(type, 8, "%s", d->accel_type);
	else if (!strcmp(requested, "kvm"))
		snprintf(type, 8, "kvm");
	else if (!strcmp(requested, "tcg"))
		snprintf(type, 8, "qemu");
	else
		return uk_err_bad(err, "accelerator \"%s\": expected auto, kvm or tcg", requested);
	return 0;
}

int ukd_vhost_net_usable(void)
{
	int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}
