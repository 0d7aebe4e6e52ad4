/* x86_64 CPU tables (GDT, TSS with interrupt stacks, IDT), trap dispatch and fault reports. */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include "arch/x86_64/lapic.h"
#include <uk/uk.h>
#include <uk/internal.h>

#define IST_FAULT 1
#define IST_IRQ 2
#define IST_DOUBLE 3
#define IST_SIZE 16384

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct idt_entry {
	uint16_t off0;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off1;
	uint32_t off2;
	uint32_t reserved;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static uint64_t gdt[5];
static struct tss tss;
static struct idt_entry idt[256];
/* Not in .bss: interrupt stacks need no clearing at boot. */
static uint8_t ist_stacks[3][IST_SIZE] __attribute__((section(".boot.stacks.ist"), aligned(16)));
static void (*irq_handlers[16])(int vec);
static uint16_t irq_no_eoi; /* bit (vec - 32): not a LAPIC interrupt, no EOI */
#define RFLAGS_IF 0x200     /* interrupts enabled */

extern char uk_trap_stubs[];
extern char uk_boot_stack_guard[]; /* entry.S: unmapped by uk_arch_mm_init() */

static void idt_set(int vec, uintptr_t stub, int ist)
{
	idt[vec].off0 = stub & 0xffff;
	idt[vec].sel = 0x08;
	idt[vec].ist = ist;
	idt[vec].type = 0x8e; /* present, ring 0, 64-bit interrupt gate (IF cleared) */
	idt[vec].off1 = (stub >> 16) & 0xffff;
	idt[vec].off2 = stub >> 32;
	idt[vec].reserved = 0;
}

void uk_arch_cpu_init(void)
{
	struct desc_ptr gp, ip;
	uintptr_t t = (uintptr_t)&tss;
	int i;

	tss.ist[IST_FAULT - 1] = (uintptr_t)ist_stacks[0] + IST_SIZE;
	tss.ist[IST_IRQ - 1] = (uintptr_t)ist_stacks[1] + IST_SIZE;
	tss.ist[IST_DOUBLE - 1] = (uintptr_t)ist_stacks[2] + IST_SIZE;
	tss.iomap_base = sizeof(tss);

	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffULL; /* 0x08 code */
	gdt[2] = 0x00cf92000000ffffULL; /* 0x10 data */
	gdt[3] = (sizeof(tss) - 1) | ((t & 0xffffff) << 16) | (0x89ULL << 40) |
	         (((t >> 24) & 0xff) << 56); /* 0x18 available 64-bit TSS */
	gdt[4] = t >> 32;
	gp.limit = sizeof(gdt) - 1;
	gp.base = (uintptr_t)gdt;
	__asm__ volatile("lgdt %0" : : "m"(gp));
	__asm__ volatile("ltr %w0" : : "r"(0x18));

	/* Every vector gets a stub on an interrupt stack of its own, so a fault on a
	 * bad stack still reports and an interrupt never touches the interrupted
	 * code's stack (red zone included). */
	for (i = 0; i < 32; i++)
		idt_set(i, (uintptr_t)uk_trap_stubs + 16 * i, i == 8 ? IST_DOUBLE : IST_FAULT);
	for (i = 32; i < 48; i++)
		idt_set(i, (uintptr_t)uk_trap_stubs + 16 * i, IST_IRQ);
	idt_set(255, (uintptr_t)uk_trap_stubs + 16 * 48, IST_IRQ);
	ip.limit = sizeof(idt) - 1;
	ip.base = (uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(ip));

	/* The legacy PICs stay masked: the LAPIC and IOAPIC deliver what we use. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void uk_arch_irq_register(int vec, void (*fn)(int vec))
{
	if (vec < 32 || vec >= 48)
		uk_panic("irq_register: vector %d out of range", vec);
	irq_handlers[vec - 32] = fn;
}

void uk_arch_irq_no_eoi(int vec)
{
	if (vec < 32 || vec >= 48)
		uk_panic("irq_no_eoi: vector %d out of range", vec);
	irq_no_eoi |= (uint16_t)(1u << (vec - 32));
}

int uk_arch_fault_status(uint64_t vector)
{
	switch (vector) {
	case 0:             /* #DE divide error */
	case 16:            /* #MF x87 */
	case 19:            /* #XM SIMD */
		return 136; /* 128 + SIGFPE */
	case 6:             /* #UD */
		return 132; /* 128 + SIGILL */
	case 3:             /* breakpoint */
		return 133; /* 128 + SIGTRAP */
	default:
		return 139; /* 128 + SIGSEGV */
	}
}

static const char *const fault_names[32] = {
        "divide error",
        "debug",
        "NMI",
        "breakpoint",
        "overflow",
        "bound range",
        "invalid opcode",
        "device not available",
        "double fault",
        "coprocessor overrun",
        "invalid TSS",
        "segment not present",
        "stack fault",
        "general protection",
        "page fault",
        "reserved",
        "x87 floating point",
        "alignment check",
        "machine check",
        "SIMD floating point",
        "virtualization",
        "control protection",
};

static void trap_fault(struct uk_trap_frame *f)
{
	const char *name = f->vector < 32 && fault_names[f->vector] ? fault_names[f->vector] : "?";
	uint64_t rsp = f->rsp, guard = (uintptr_t)uk_boot_stack_guard;

	uk_printk("\npanic: CPU exception %llu (%s), error code 0x%llx\n",
	          (unsigned long long)f->vector, name, (unsigned long long)f->error);
	if (f->vector == 14) {
		uint64_t cr2 = read_cr2();
		const char *why = cr2 < 0x1000 ? " (null pointer dereference)" : "";

		if (cr2 >= (uintptr_t)uk_boot_stack_guard &&
		    cr2 < (uintptr_t)uk_boot_stack_guard + 4096)
			why = " (stack overflow: the boot stack's guard page)";
		uk_printk("fault address 0x%016llx%s\n", (unsigned long long)cr2, why);
		if (cr2 >> 12 == rsp >> 12) /* the stack top itself is not mapped */
			rsp = 0;
	}
	if (f->vector == 8 || (rsp >= guard && rsp < guard + 4096))
		rsp = 0;
	uk_printk("rip %016llx rsp %016llx rflags %016llx\n", (unsigned long long)f->rip,
	          (unsigned long long)f->rsp, (unsigned long long)f->rflags);
	uk_printk("rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", (unsigned long long)f->rax,
	          (unsigned long long)f->rbx, (unsigned long long)f->rcx,
	          (unsigned long long)f->rdx);
	uk_printk("rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n", (unsigned long long)f->rsi,
	          (unsigned long long)f->rdi, (unsigned long long)f->rbp,
	          (unsigned long long)f->r8);
	uk_printk("r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n", (unsigned long long)f->r9,
	          (unsigned long long)f->r10, (unsigned long long)f->r11,
	          (unsigned long long)f->r12);
	uk_printk("r13 %016llx r14 %016llx r15 %016llx\n", (unsigned long long)f->r13,
	          (unsigned long long)f->r14, (unsigned long long)f->r15);
	/* Frames live in RAM we mapped (below 16 TiB). */
	uk_backtrace_print(f->rip, rsp, f->rbp, 0x100000000000ULL);
	uk_exit(uk_arch_fault_status(f->vector));
}

void uk_arch_trap(struct uk_trap_frame *f)
{
	static int in_fault;

	if (f->vector < 32) {
		if (in_fault++) /* a fault while reporting one: stop here */
			uk_exit(uk_arch_fault_status(f->vector));
		trap_fault(f);
	}
	/*
	 * Interrupts are only enabled in the idle wait's "sti; hlt; cli": return there with them
	 * disabled, so that one interrupt ends the wait. Returning with IF set, an interrupt that
	 * is pending again at once (Xen injected its event upcall vector hundreds of thousands
	 * of times with no event pending: docs/xen.md) is taken again before the cli, forever,
	 * and the program never runs again.
	 */
	f->rflags &= ~RFLAGS_IF;
	if (f->vector == UK_IRQ_SPURIOUS)
		return;
	if (irq_handlers[f->vector - 32])
		irq_handlers[f->vector - 32]((int)f->vector);
	if (!(irq_no_eoi >> (f->vector - 32) & 1))
		uk_lapic_eoi();
}
