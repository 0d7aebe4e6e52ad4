/* Unbounded recursion must hit the stack's guard page: a panic report and status 139, not silent
 * corruption. */
#include <stdio.h>

#pragma GCC diagnostic ignored "-Winfinite-recursion"

static int recurse(volatile char *prev, int depth)
{
	volatile char frame[512];

	frame[0] = prev ? prev[0] + 1 : 0;
	return recurse(frame, depth + 1) + frame[0];
}

int main(void)
{
	printf("recursing forever\n");
	printf("FAIL: %d\n", recurse(NULL, 0));
	return 0;
}
