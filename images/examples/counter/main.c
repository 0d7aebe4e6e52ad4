/* counter: prints how many times it has run, kept in /data/count (a volume) with plain stdio. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	char line[32];
	long n = 0;
	FILE *f = fopen("/data/count", "r");

	if (f) {
		if (fgets(line, sizeof(line), f))
			n = strtol(line, NULL, 10);
		fclose(f);
	}
	n++;
	f = fopen("/data/count", "w");
	if (!f) {
		perror("counter: /data/count (is a volume mounted at /data?)");
		return 1;
	}
	fprintf(f, "%ld\n", n);
	if (fclose(f) != 0) { /* the count is durable once fclose returns 0 */
		perror("counter: saving /data/count");
		return 1;
	}
	printf("%ld\n", n);
	return 0;
}
