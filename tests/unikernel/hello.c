/* The smallest unikernel test: prints a greeting and SUCCESS. */
#include <stdio.h>

int main(void)
{
	printf("Hello from a uk unikernel!\n");
	printf("SUCCESS\n");
	return 0;
}
