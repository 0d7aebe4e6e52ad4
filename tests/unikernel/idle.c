/* Sleeps 2 s in nanosleep: the host CPU time QEMU uses meanwhile tells hlt from a busy loop
 * (idle.sh checks). */
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec req = {2, 0};

	nanosleep(&req, NULL);
	printf("SUCCESS\n");
	return 0;
}
