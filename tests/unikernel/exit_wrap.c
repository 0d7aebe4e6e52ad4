/* main's status is taken modulo 256, as a Linux process's: 263 ends the instance with 7. */
#include <stdio.h>

int main(void)
{
	printf("returning 263\n");
	return 263;
}
