/* Test-only LD_PRELOAD shim for libvirtd in the Xen harness: hides Xen's CPU feature words from
 * libvirt's libxl driver, which cannot name QEMU TCG's emulated CPU (docs/xen.md). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

/*
 * libvirt 9.0's libxl driver turns libxl_physinfo.hw_cap (Xen's CPUID feature words) into a
 * CPU model and refuses to load when none fits. Under QEMU TCG (-cpu max) Xen on the emulated
 * AMD CPU clears SEP and TCG has no VME, and every model in libvirt's cpu_map needs one of the
 * two. libvirt skips the CPU model when hw_cap[0] is 0 (as on ARM): that is what this shim
 * reports. libxl_physinfo (Xen 4.17): five uint32, seven uint64, nr_nodes, then hw_cap[8] at
 * byte 84; checked below (FPU in word 0, LM in word 2) before anything is changed.
 */
#define HW_CAP_OFF 84

int libxl_get_physinfo(void *ctx, void *physinfo)
{
	static int (*real)(void *, void *);
	uint32_t *cap;
	int r;

	if (!real)
		real = (int (*)(void *, void *))dlsym(RTLD_NEXT, "libxl_get_physinfo");
	if (!real)
		return -1;
	r = real(ctx, physinfo);
	cap = (uint32_t *)((char *)physinfo + HW_CAP_OFF);
	if (r == 0 && (cap[0] & 1) && (cap[2] & (1u << 29)))
		cap[0] = 0;
	return r;
}
