/* Fuzz target: the VMM's /proc/PID/stat and /proc/PID/status, and /proc/net/dev, as ukd's stats
 * read them. */
#include "stats.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	uint64_t cpu = 0, start = 0;
	int64_t v;

	if (ukd_stats_parse_stat(buf, size, &cpu, &start) == 0 && size < 40)
		abort(); /* 20 numbers after "(x)" need more than 40 bytes */
	v = ukd_stats_parse_status(buf, size, "VmRSS");
	if (v < -1)
		abort();
	v = ukd_stats_parse_status(buf, size, "Uid");
	if (v < -1)
		abort();
	int64_t rx, tx;
	int links = ukd_stats_parse_netdev(buf, size, "uk", &rx, &tx);
	if (links > 0 && (rx < 0 || tx < 0))
		abort();
	if (links == 0 && (rx != -1 || tx != -1))
		abort();
	return 0;
}
