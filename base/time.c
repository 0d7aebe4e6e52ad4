/* RFC 3339 times written and parsed (uk/time.h). */
#include "uk/time.h"

#include <ctype.h>
#include <stdio.h>
#include <time.h>

void uk_time_rfc3339(int64_t t, char out[UK_TIME_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, UK_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void uk_time_rfc3339_ns(int64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	char base[32];

	if (ns <= 0) {
		snprintf(buf, len, "0001-01-01T00:00:00Z");
		return;
	}
	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09lldZ", base, (long long)(ns % 1000000000));
}

int uk_time_parse_rfc3339(const char *s, double *out)
{
	struct tm tm = {0};
	const char *p;
	double frac = 0;
	long off = 0;
	time_t t;

	if (!s || !*s)
		return -1;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		double scale = 0.1;
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		/* exactly "+HH:MM" */
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
		    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
			return -1;
		int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
		if (hh > 23 || mm > 59)
			return -1;
		off = (hh * 60L + mm) * 60L * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (double)(t - off) + frac;
	return 0;
}
