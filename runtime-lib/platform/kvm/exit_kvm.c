/* Ending the guest: report the status on COM2 and isa-debug-exit, then ACPI power-off, then reset.
 */
#include "platform/kvm/kvm.h"
#include "arch/x86_64/x86.h"
#include "platform/kvm/serial.h"
#include <uk/uk.h>

#define DEBUG_EXIT_PORT 0xf4

size_t uk_status_line(char line[24], int status)
{
	char digits[12];
	int n = 0, d = 0;
	unsigned v = (unsigned)status & 0xff; /* modulo 256, as a Linux process's: -1 is 255 */

	for (; n < 8; n++)
		line[n] = "UK_EXIT="[n];
	do {
		digits[d++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (d)
		line[n++] = digits[--d];
	line[n++] = '\n';
	return (size_t)n;
}

_Noreturn void uk_kvm_exit(int status)
{
	__asm__ volatile("cli");
	/* 1. The supervisor's channel: a line on COM2 when a UART is there. */
	if (uk_serial_probe(UK_COM2)) {
		char line[24];

		uk_serial_init(UK_COM2);
		uk_serial_write(UK_COM2, line, uk_status_line(line, status));
	}
	/* 2. QEMU's isa-debug-exit ends QEMU with (status << 1) | 1; without the
	 * device the write goes nowhere. */
	outl(DEBUG_EXIT_PORT, (uint32_t)status);
	/* 3. A clean ACPI power-off, which libvirt reports as a shutdown. */
	uk_kvm_acpi_poweroff();
	/* 4. Reset by triple fault: an empty IDT and an exception. */
	{
		struct {
			uint16_t limit;
			uint64_t base;
		} __attribute__((packed)) none = {0, 0};
		__asm__ volatile("lidt %0; int3" : : "m"(none));
	}
	cpu_halt_forever();
	__builtin_unreachable();
}
