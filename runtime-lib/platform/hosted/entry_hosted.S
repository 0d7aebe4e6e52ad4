/* Linux process entry for the hosted platform: hands the initial stack (argc, argv, envp) to C. */
	.text
	.globl _start
_start:
	xor %ebp, %ebp
	mov %rsp, %rdi
	and $-16, %rsp
	call uk_hosted_main
	ud2

/* Signal-return trampoline: rt_sigreturn must see the kernel's frame at %rsp as the
 * handler left it, so no C prologue may run here. */
	.globl uk_hosted_restorer
uk_hosted_restorer:
	mov $15, %eax
	syscall
	ud2

	.section .note.GNU-stack, "", @progbits
