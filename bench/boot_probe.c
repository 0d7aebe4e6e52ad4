/* Boot benchmark guest: reports cycles from the PVH entry to main, then converts them with the
 * calibrated clock. */
#include <stdio.h>
#include <uk/uk.h>

int main(void)
{
	uint64_t cycles = uk_rdtsc() - uk_boot_tsc;
	uint64_t t0 = uk_time_monotonic_ns(); /* calibrates the clock */
	uint64_t c0 = uk_rdtsc();
	uint64_t t1, c1;

	while ((t1 = uk_time_monotonic_ns()) - t0 < 2000000)
		;
	c1 = uk_rdtsc();
	printf("entry_to_main_cycles=%llu\n", (unsigned long long)cycles);
	printf("entry_to_main_ns=%llu\n",
	       (unsigned long long)(cycles * (t1 - t0) / (c1 - c0 ? c1 - c0 : 1)));
	for (int i = 0; i < UK_BOOT_STAMPS; i++)
		printf("stage%d_ns=%llu\n", i,
		       (unsigned long long)((uk_boot_stamps[i] - uk_boot_tsc) * (t1 - t0) /
		                            (c1 - c0 ? c1 - c0 : 1)));
	return 0;
}
