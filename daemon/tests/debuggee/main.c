/* debuggee: `steps N` sums step(1..N) (a gdb target); `crash ADDR` writes through ADDR (0: a
 * null pointer dereference) in fault_here() (called by crash_via()), for a
 * symbolized crash report. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile int total;

__attribute__((noinline)) int step(int n)
{
	int doubled = n * 2;

	total += doubled;
	return doubled;
}

__attribute__((noinline)) void fault_here(int *p)
{
	*p = 42;
	__asm__ volatile("" ::: "memory"); /* keep a frame after the store */
}

/* fault_here is a leaf without a frame at -O2: the frame pointer chain skips this function,
 * the report names it from the return address at rsp (runtime-lib/lib/unwind_x86_64.c). */
__attribute__((noinline)) int crash_via(int *p)
{
	fault_here(p);
	return total;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "crash"))
		return crash_via((int *)(uintptr_t)strtoull(argv[2], NULL, 0)) + 1;
	for (int i = 1; argc > 2 && i <= atoi(argv[2]); i++)
		step(i);
	printf("total %d\n", total);
	return 0;
}
