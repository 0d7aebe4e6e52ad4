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

/* A leaf faults before it has a frame of its own: the report names its caller's caller (the
 * frame pointer chain), here main. */
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
