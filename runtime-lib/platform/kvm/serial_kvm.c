/* 16550 UART: init, probe, and FIFO-sized string writes (few port exits per line). */
#include "platform/kvm/serial.h"
#include "arch/x86_64/x86.h"

#define THR 0
#define IER 1
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define SCR 7
#define LSR_THRE 0x20
#define FIFO_DEPTH 16

int uk_serial_probe(uint16_t port)
{
	outb(port + SCR, 0x5a);
	if (inb(port + SCR) != 0x5a)
		return 0;
	outb(port + SCR, 0xa5);
	return inb(port + SCR) == 0xa5;
}

void uk_serial_init(uint16_t port)
{
	outb(port + IER, 0x00);
	outb(port + LCR, 0x80); /* DLAB: divisor 1 = 115200 baud */
	outb(port + 0, 0x01);
	outb(port + 1, 0x00);
	outb(port + LCR, 0x03); /* 8N1 */
	outb(port + FCR, 0x07); /* FIFO on, both cleared */
	outb(port + MCR, 0x03); /* DTR, RTS */
}

void uk_serial_write(uint16_t port, const char *buf, size_t len)
{
	/* When THRE is set the 16-byte FIFO is empty: fill it with one string
	 * instruction (one exit under KVM) instead of one exit per byte. */
	while (len) {
		size_t n = len < FIFO_DEPTH ? len : FIFO_DEPTH;
		unsigned spins = 0;

		while (!(inb(port + LSR) & LSR_THRE) && ++spins < 1000000)
			;
		outsb(port + THR, buf, (uint32_t)n);
		buf += n;
		len -= n;
	}
}
