/* Linux process entry for the hosted platform: hands the initial stack (argc, argv, envp) to C. */
	.text
	.globl _start
_start:
	xor %ebp, %ebp
	mov %rsp, %rdi
	and $-16, %rsp
	call uk_hosted_main
	ud2
	.section .note.GNU-stack, "", @progbits
