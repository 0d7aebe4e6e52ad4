/* A failed assert() prints the expression and location and ends with status 134 (like SIGABRT). */
#include <assert.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	(void)argv;
	printf("asserting\n");
	assert(argc == 12345);
	printf("FAIL: assert returned\n");
	return 0;
}
