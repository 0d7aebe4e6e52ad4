/* exit(n) from deep in the program ends the instance with status n, after atexit handlers and a
 * stdout flush. */
#include <stdio.h>
#include <stdlib.h>

/* deep() ends in exit(), which gcc cannot see through. */
#pragma GCC diagnostic ignored "-Winfinite-recursion"

static void bye(void)
{
	printf("atexit ran"); /* no newline: proves exit() flushes stdout */
}

static int depth;

static void deep(int n)
{
	depth++;
	if (n == 0)
		exit(42);
	deep(n - 1);
	depth--; /* not reached; keeps the call from being a tail call */
}

int main(void)
{
	atexit(bye);
	deep(10);
	printf("FAIL: exit returned\n");
	return 1;
}
