/* hello: the smallest uk unikernel; prints a greeting and its arguments, then exits 0. */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("Hello from a uk unikernel!\n");
	for (int i = 0; i < argc; i++)
		printf("argv[%d] = %s\n", i, argv[i]);
	return 0;
}
