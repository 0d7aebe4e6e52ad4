/* Parsers of the VMM's /proc/PID/stat and /proc/PID/status (stats.h), apart from stats.c so the
 * fuzz target links them alone. */
#include "stats.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ukd_stats_parse_stat(const char *buf, size_t len, uint64_t *cpu_ticks, uint64_t *start_ticks)
{
	const char *end = buf + len, *p = NULL;
	uint64_t v[20];
	int field = 3; /* the state, after "pid (comm) " */

	/* comm may hold anything, ")" too: the fields start after the last one */
	for (const char *q = buf; q < end; q++)
		if (*q == ')')
			p = q + 1;
	if (!p)
		return -1;
	while (field <= 22) {
		char num[24];
		size_t n = 0;

		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			return -1;
		while (p < end && *p != ' ' && *p != '\n' && n < sizeof(num) - 1)
			num[n++] = *p++;
		num[n] = 0;
		if (field >= 14) {
			char *e;

			errno = 0;
			v[field - 14] = strtoull(num, &e, 10);
			if (!n || *e || errno || num[0] == '-')
				return -1;
		}
		field++;
	}
	*cpu_ticks = v[0] + v[1]; /* fields 14, 15: utime, stime */
	*start_ticks = v[22 - 14];
	return 0;
}

int64_t ukd_stats_parse_status(const char *buf, size_t len, const char *key)
{
	size_t klen = strlen(key);
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		if ((size_t)(le - p) > klen && !memcmp(p, key, klen) && p[klen] == ':') {
			char line[64];
			size_t n = (size_t)(le - p - (ptrdiff_t)klen - 1);
			unsigned long long v;
			char unit[8] = "";
			int got;

			if (n >= sizeof(line))
				return -1;
			memcpy(line, p + klen + 1, n);
			line[n] = 0;
			got = sscanf(line, "%llu %7s", &v, unit);
			if (got < 1 || strchr(line, '-') || v > INT64_MAX / 1024)
				return -1;
			return got == 2 && !strcmp(unit, "kB") ? (int64_t)v * 1024 : (int64_t)v;
		}
		p = le + 1;
	}
	return -1;
}

int ukd_stats_parse_netdev(const char *buf, size_t len, const char *prefix, int64_t *rx,
                           int64_t *tx)
{
	size_t plen = strlen(prefix);
	const char *p = buf, *end = buf + len;
	int found = 0;

	*rx = *tx = -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *colon;
		char line[512], name[32];
		unsigned long long v[9];
		size_t n = (size_t)(le - p), k;

		p = le + 1;
		if (n >= sizeof(line))
			continue;
		memcpy(line, le - n, n);
		line[n] = 0;
		if (!(colon = strchr(line, ':')))
			continue; /* the two header lines */
		for (k = 0; line[k] == ' '; k++)
			;
		if ((size_t)(colon - line) - k >= sizeof(name))
			continue;
		memcpy(name, line + k, (size_t)(colon - line) - k);
		name[(size_t)(colon - line) - k] = 0;
		/* ours: the prefix, then the NIC's number (digits only) */
		if (strncmp(name, prefix, plen) || !name[plen] ||
		    strspn(name + plen, "0123456789") != strlen(name + plen))
			continue;
		/* rx bytes packets errs drop fifo frame compressed multicast, then tx bytes */
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		           &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) != 9 ||
		    v[0] > INT64_MAX / 2 || v[8] > INT64_MAX / 2)
			continue;
		if (!found++)
			*rx = *tx = 0;
		/* the host side of a tap receives what the guest sent */
		*rx += (int64_t)v[8];
		*tx += (int64_t)v[0];
		if (*rx > INT64_MAX / 2 || *tx > INT64_MAX / 2)
			return -1;
	}
	return found;
}
