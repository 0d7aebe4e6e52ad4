/* The local APIC at its default base (xAPIC, memory-mapped): registers, enable, end of interrupt.
 */
#ifndef UK_ARCH_LAPIC_H
#define UK_ARCH_LAPIC_H

#include "arch/x86_64/x86.h"
#include <stdint.h>

#define LAPIC_BASE 0xfee00000UL
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_MASKED (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)

static inline uint32_t uk_lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

static inline void uk_lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

/* Enables the LAPIC at its default base with the spurious vector; its timer stays masked. */
void uk_lapic_init(void);

/* Signals end of interrupt (every vector but the spurious one needs it). */
static inline void uk_lapic_eoi(void)
{
	uk_lapic_write(LAPIC_EOI, 0);
}

#endif
