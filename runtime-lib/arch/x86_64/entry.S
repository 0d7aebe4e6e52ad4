/* PVH entry: from 32-bit protected mode (paging off) to 64-bit long mode, then into C. */
#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define EFER_MSR 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_PS 0x80

/* The Xen ELF note QEMU and Xen look for: type 18 = XEN_ELFNOTE_PHYS32_ENTRY. */
	.section .note.pvh, "a"
	.p2align 2
	.long 4, 4, 18
	.asciz "Xen"
	.long _pvh_start32

	.section .boot.pagetables, "aw", @nobits
	.p2align 12
	.globl uk_boot_pml4, uk_boot_pdpt, uk_boot_pd
uk_boot_pml4: .skip 4096
uk_boot_pdpt: .skip 4096
uk_boot_pd:   .skip 4 * 4096	/* 2 MiB pages for the first 4 GiB */

	.section .boot.stacks, "aw", @nobits
	.p2align 12
	.globl uk_boot_stack_guard, uk_boot_stack_top
uk_boot_stack_guard: .skip 4096	/* unmapped by uk_arch_mm_init() */
	.skip 64 * 1024
uk_boot_stack_top:

	.section .text.boot, "ax"
	.code32
	.globl _pvh_start32
_pvh_start32:
	cli
	cld
	rdtsc
	mov %eax, %esi		/* TSC at entry in edx:esi, start_info in ebx */
	mov %edx, %ebp

	/* Page tables: PML4[0] -> PDPT, PDPT[0..3] -> four PDs of 2 MiB pages (identity, 0-4 GiB). */
	lea uk_boot_pml4, %edi
	xor %eax, %eax
	mov $(2 * 4096 / 4), %ecx
	rep stosl
	lea uk_boot_pdpt, %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, uk_boot_pml4
	xor %ecx, %ecx
1:	mov %ecx, %eax		/* PD i at uk_boot_pd + 4096 * i */
	shl $12, %eax
	add $uk_boot_pd, %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, uk_boot_pdpt(, %ecx, 8)
	movl $0, uk_boot_pdpt + 4(, %ecx, 8)
	inc %ecx
	cmp $4, %ecx
	jne 1b
	xor %ecx, %ecx		/* 2048 PDEs: entry i maps i * 2 MiB */
2:	mov %ecx, %eax
	shl $21, %eax
	or $(PTE_P | PTE_W | PTE_PS), %eax
	cmp $1536, %ecx		/* 3-4 GiB: MMIO (LAPIC, IOAPIC, virtio-mmio): uncached */
	jb 3f
	or $(PTE_PCD | PTE_PWT), %eax
3:	mov %eax, uk_boot_pd(, %ecx, 8)
	mov %ecx, %eax
	shr $11, %eax
	mov %eax, uk_boot_pd + 4(, %ecx, 8)
	inc %ecx
	cmp $2048, %ecx
	jne 2b

	lgdt gdt_ptr32
	mov %cr4, %eax
	or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov %eax, %cr4
	lea uk_boot_pml4, %eax
	mov %eax, %cr3
	mov $EFER_MSR, %ecx
	rdmsr
	or $(EFER_LME | EFER_NXE), %eax
	wrmsr
	mov %cr0, %eax
	and $~CR0_EM, %eax
	or $(CR0_PE | CR0_MP | CR0_WP | CR0_PG), %eax
	mov %eax, %cr0
	ljmp $0x08, $start64

	.code64
start64:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	lea uk_boot_stack_top(%rip), %rsp
	/* Clear .bss. */
	mov %ebp, %edx
	shl $32, %rdx
	mov %esi, %eax
	or %rax, %rdx		/* rdx = boot TSC */
	mov %rdx, %r12
	lea __bss_start(%rip), %rdi
	lea __bss_end(%rip), %rcx
	sub %rdi, %rcx
	shr $3, %rcx
	xor %eax, %eax
	rep stosq
	mov %ebx, %edi		/* arg 1: start_info physical address */
	mov %r12, %rsi		/* arg 2: TSC at entry */
	xor %ebp, %ebp
	call uk_plat_boot
	ud2

	.section .rodata
	.p2align 3
gdt64:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
gdt64_end:
gdt_ptr32:
	.word gdt64_end - gdt64 - 1
	.long gdt64
