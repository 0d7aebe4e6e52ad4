/* Accelerator detection: /dev/kvm usable, not PVM (/sys/module/kvm_pvm), and CPUID VMX/SVM. */
#include "accel.h"

#include <cpuid.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int cpu_has_virt(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 5)))
		return 1; /* VMX */
	if (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 2)))
		return 1; /* SVM */
	return 0;
}

void ukd_accel_detect(char type[8], char *reason, size_t len)
{
	struct stat st;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	snprintf(type, 8, "qemu");
	if (fd < 0) {
		snprintf(reason, len, "tcg: /dev/kvm is not usable (%m)");
		return;
	}
	close(fd);
	if (stat("/sys/module/kvm_pvm", &st) == 0) {
		snprintf(reason, len,
		         "tcg: /dev/kvm is PVM (/sys/module/kvm_pvm), which emulates uk guests "
		         "instruction by instruction; TCG is faster");
		return;
	}
	if (!cpu_has_virt()) {
		snprintf(reason, len, "tcg: the CPU reports neither VMX nor SVM");
		return;
	}
	snprintf(type, 8, "kvm");
	snprintf(reason, len, "kvm: /dev/kvm usable and hardware-assisted (VMX/SVM)");
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
