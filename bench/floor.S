/* The boot floor: a PVH kernel that only writes "ok\n" to COM1 and exits through isa-debug-exit. */
	.section .note.pvh, "a"
	.p2align 2
	.long 4, 4, 18
	.asciz "Xen"
	.long floor_start

	.section .text.boot, "ax"
	.code32
	.globl _pvh_start32
_pvh_start32:
floor_start:
	mov $0x3f8, %dx
	mov $'o', %al
	out %al, %dx
	mov $'k', %al
	out %al, %dx
	mov $'\n', %al
	out %al, %dx
	mov $0xf4, %dx
	xor %eax, %eax
	out %eax, %dx
	cli
1:	hlt
	jmp 1b
