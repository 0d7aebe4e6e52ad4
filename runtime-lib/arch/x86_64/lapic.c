/* The local APIC's enable sequence (the registers and EOI are inline in lapic.h). */
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/cpu.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1u << 11)
#define APIC_BASE_BSP 0x100

void uk_lapic_init(void)
{
	uint64_t msr = rdmsr(MSR_APIC_BASE);

	wrmsr(MSR_APIC_BASE,
	      (msr & ~0xfffULL) | LAPIC_BASE | APIC_BASE_ENABLE | (msr & APIC_BASE_BSP));
	uk_lapic_write(LAPIC_SVR, 0x100 | UK_IRQ_SPURIOUS);
	uk_lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | UK_IRQ_TIMER);
}
