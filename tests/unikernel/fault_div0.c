/* An integer divide by zero must print a panic report and end with status 136. */
#include <stdio.h>

int main(void)
{
	volatile int zero = 0;
	volatile int r;

	printf("dividing by zero\n");
	r = 10 / zero;
	printf("FAIL: still running (%d)\n", r);
	return 0;
}
