/* Xen detection through CPUID, the hypercall page, and the hypercall call itself. */
#include "platform/xen/xen.h"
#include "arch/x86_64/x86.h"

#define HYPERCALL_STUB_SIZE 32

/* Xen writes one call stub per hypercall here (vmcall or vmmcall, whichever the CPU has). */
static uint8_t hypercall_page[4096] __attribute__((aligned(4096)));

/* Nonzero if a hypervisor leaf's ebx, ecx, edx (r[1..3]) spell the 12 characters of (sig). */
static int vendor_is(const uint32_t r[4], const char *sig)
{
	const char *p = (const char *)&r[1];
	int i;

	for (i = 0; i < 12; i++)
		if (p[i] != sig[i])
			return 0;
	return 1;
}

int uk_xen_detect(void)
{
	uint32_t base = 0x40000000, r[4];

	/* One CPUID exit on the kvm path, not a scan: Xen sits at 0x40000000, or at 0x40000100
	 * when it shows Hyper-V's leaves (Viridian) first. */
	cpuid(base, 0, r);
	if (vendor_is(r, "Microsoft Hv")) {
		base = 0x40000100;
		cpuid(base, 0, r);
	}
	if (!vendor_is(r, "XenVMMXenVMM") || r[0] < base + 2)
		return 0;
	cpuid(base + 2, 0, r); /* eax: hypercall pages, ebx: the MSR that fills them */
	if (r[0] < 1)
		return 0;
	wrmsr(r[1], (uintptr_t)hypercall_page);
	return 1;
}

long uk_xen_hypercall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t r10 __asm__("r10") = 0;
	register uint64_t r8 __asm__("r8") = 0;
	void *stub = hypercall_page + nr * HYPERCALL_STUB_SIZE;
	long ret;

	/* Xen may clobber every argument register (debug builds do, on purpose). */
	__asm__ volatile("call *%[stub]"
	                 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
	                 : [stub] "r"(stub)
	                 : "memory");
	return ret;
}

uint64_t uk_xen_hvm_param(uint32_t index)
{
	struct {
		uint16_t domid;
		uint32_t index;
		uint64_t value;
	} p = {XEN_DOMID_SELF, index, 0};

	if (uk_xen_hypercall(XEN_HC_HVM_OP, XEN_HVMOP_GET_PARAM, (uintptr_t)&p, 0) < 0)
		return 0;
	return p.value;
}

long uk_xen_hvm_param_set(uint32_t index, uint64_t value)
{
	struct {
		uint16_t domid;
		uint32_t index;
		uint64_t value;
	} p = {XEN_DOMID_SELF, index, value};

	return uk_xen_hypercall(XEN_HC_HVM_OP, XEN_HVMOP_SET_PARAM, (uintptr_t)&p, 0);
}
