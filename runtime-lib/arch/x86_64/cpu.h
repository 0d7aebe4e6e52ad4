/* x86_64 CPU setup shared between arch/ and platform/kvm: traps, IRQ registration, memory map
 * setup. */
#ifndef UK_ARCH_CPU_H
#define UK_ARCH_CPU_H

#include <stdint.h>
#include <stddef.h>

/* The registers uk_arch_trap() sees; layout fixed by traps.S. */
struct uk_trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Interrupt vectors, handed out here only. */
#define UK_IRQ_TIMER 32     /* LAPIC timer */
#define UK_IRQ_DEV_FIRST 33 /* device interrupts (virtio MSI-X, IOAPIC pins) */
#define UK_IRQ_DEV_LAST 40
#define UK_IRQ_SCI 41 /* ACPI system control interrupt (power button) */
#define UK_IRQ_XEN 42 /* Xen's event channel upcall */
#define UK_IRQ_SPURIOUS 255

/* Loads the GDT (with a TSS and interrupt stacks) and the IDT; masks the 8259 PICs. */
void uk_arch_cpu_init(void);

/* Registers (fn) for interrupt vector (vec) in 32..47. Called with interrupts disabled. */
void uk_arch_irq_register(int vec, void (*fn)(int vec));

/* Marks vector (vec) (32..47) as one the LAPIC does not deliver (Xen's event upcall, injected
 * by the hypervisor without an in-service bit): its interrupts end without an EOI. */
void uk_arch_irq_no_eoi(int vec);

/*
 * Finishes the page tables the entry code made: unmaps page 0 (null
 * dereferences fault) and the boot stack's guard page, and maps RAM above
 * 4 GiB up to (ram_top). Takes page-table pages from *(alloc_cursor), which it
 * advances (4 KiB-aligned memory the caller has not given to the heap yet).
 */
void uk_arch_mm_init(uint64_t ram_top, uintptr_t *alloc_cursor);

/* The status a fault on (vector) ends the guest with, like a Linux signal under Docker. */
int uk_arch_fault_status(uint64_t vector);

#endif
