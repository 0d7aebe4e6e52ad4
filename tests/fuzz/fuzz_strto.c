/* Differential fuzz target: runtime-lib's strtod/strtof/strtol/strtoull against glibc's, bit for
 * bit, endptr included. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

double ukt_strtod(const char *s, char **end);
float ukt_strtof(const char *s, char **end);
long ukt_strtol(const char *s, char **end, int base);
unsigned long long ukt_strtoull(const char *s, char **end, int base);
int ukt_errno;

static void same_double(double a, double b)
{
	if (a != a && b != b)
		return; /* both NaN: payloads may differ */
	if (memcmp(&a, &b, sizeof(a)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *e1, *e2;
	int base;

	if (size < 1 || size > 512)
		return 0;
	base = data[0] % 38; /* 0..37: 1 and 37 are invalid bases */
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;

	same_double(ukt_strtod(s, &e1), strtod(s, &e2));
	if (e1 != e2)
		abort();
	{
		float a = ukt_strtof(s, &e1), b = strtof(s, &e2);

		if (!(a != a && b != b) && memcmp(&a, &b, sizeof(a)))
			abort();
		if (e1 != e2)
			abort();
	}
	if (base != 1 && base <= 36) {
		errno = 0;
		ukt_errno = 0;
		if (ukt_strtol(s, &e1, base) != strtol(s, &e2, base) || e1 != e2)
			abort();
		if ((ukt_errno == ERANGE) != (errno == ERANGE))
			abort();
		if (ukt_strtoull(s, &e1, base) != strtoull(s, &e2, base) || e1 != e2)
			abort();
	}
	free(s);
	return 0;
}
