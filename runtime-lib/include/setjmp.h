/* Non-local jumps for x86_64: setjmp() saves callee-saved registers, longjmp() restores them. */
#ifndef UK_LIBC_SETJMP_H
#define UK_LIBC_SETJMP_H

/* rbx, rbp, r12, r13, r14, r15, rsp, return address. */
typedef long jmp_buf[8];

int setjmp(jmp_buf env) __attribute__((returns_twice));
__attribute__((__noreturn__)) void longjmp(jmp_buf env, int val);

#endif
