/* A null pointer dereference must print a panic report and end with status 139, not hang. */
#include <stdio.h>

int main(void)
{
	volatile int *p = (volatile int *)0;

	printf("dereferencing NULL\n");
	*p = 1;
	printf("FAIL: still running\n");
	return 0;
}
