/* irq_storm: an interrupt that is pending again as soon as its handler returns (its handler raises
 * it anew, as Xen's event upcall stays asserted while an event port keeps firing) must not livelock
 * the idle wait: each uk_time_block_until() returns to the program after one interrupt. */
#include <stdint.h>
#include <stdio.h>
#include <uk/uk.h>

/* runtime-lib's arch layer (arch/x86_64/cpu.h): a handler for an interrupt vector. */
void uk_arch_irq_register(int vec, void (*fn)(int vec));

#define VEC 33 /* UK_IRQ_DEV_FIRST: no device uses it in this program */
#define LAPIC ((volatile uint32_t *)0xfee00000)
#define WAITS 20

static volatile unsigned long fired;
static volatile int storm = 1;

/* A fixed interrupt to this CPU (ICR destination shorthand "self"). */
static void self_ipi(void)
{
	LAPIC[0x310 / 4] = 0;
	LAPIC[0x300 / 4] = (1u << 18) | VEC;
}

static void handler(int vec)
{
	(void)vec;
	fired++;
	if (storm)
		self_ipi(); /* pending again before the handler has returned */
}

int main(void)
{
	uk_arch_irq_register(VEC, handler);
	self_ipi(); /* pending; delivered at the first wait */
	for (int i = 0; i < WAITS; i++)
		uk_time_block_until(uk_time_monotonic_ns() + 1000000);
	storm = 0;
	printf("irq_storm: %d waits returned under an interrupt that stays pending (%lu taken)\n",
	       WAITS, fired);
	if (fired < WAITS) {
		printf("irq_storm: FAILED: fewer interrupts than waits: the storm never started\n");
		return 1;
	}
	printf("SUCCESS\n");
	return 0;
}
