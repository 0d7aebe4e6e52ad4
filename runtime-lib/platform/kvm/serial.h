/* 16550 UART on the kvm platform: its console (COM1) and exit-status channel (COM2). */
#ifndef UK_PLATFORM_KVM_SERIAL_H
#define UK_PLATFORM_KVM_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#define UK_COM1 0x3f8
#define UK_COM2 0x2f8

/* Returns nonzero if a UART answers at (port) (scratch register round trip). */
int uk_serial_probe(uint16_t port);

/* Programs (port) for 115200 8N1 with FIFOs on, interrupts off. */
void uk_serial_init(uint16_t port);

/* Writes (len) bytes unchanged, waiting for FIFO room (bounded). */
void uk_serial_write(uint16_t port, const char *buf, size_t len);

#endif
