/* strtol() and its siblings: C semantics for bases 0 and 2..36, signs, "0x", overflow, endptr. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static unsigned int digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 32;
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	return 99;
}

/*
 * Reads the magnitude of the number at (s) into *(mag), its sign into *(neg);
 * returns 1 if the magnitude does not fit in 64 bits, -1 if there is no number
 * (or the base is bad), else 0. Sets *(end) as the standard says.
 */
static int scan(const char *s, char **end, int base, uint64_t *mag, int *neg)
{
	const char *p = s, *digits;
	uint64_t v = 0;
	unsigned int d;
	int over = 0;

	*mag = 0;
	*neg = 0;
	if (base < 0 || base == 1 || base > 36) {
		/* No conversion: C says (end) gets (s). glibc leaves it untouched. */
		errno = EINVAL;
		if (end)
			*end = (char *)s;
		return -1;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '-' || *p == '+')
		*neg = *p++ == '-';
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] | 32) == 'x' && digit(p[2]) < 16) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}
	for (digits = p; (d = digit(*p)) < (unsigned int)base; p++) {
		if (v > (UINT64_MAX - d) / (unsigned int)base)
			over = 1;
		else
			v = v * (unsigned int)base + d;
	}
	if (end)
		*end = (char *)(p == digits ? s : p);
	if (p == digits)
		return -1;
	*mag = v;
	return over;
}

static int64_t to_signed(const char *s, char **end, int base)
{
	uint64_t mag;
	int neg, r = scan(s, end, base, &mag, &neg);

	if (r < 0)
		return 0;
	if (r > 0 || mag > (uint64_t)INT64_MAX + neg) {
		errno = ERANGE;
		return neg ? INT64_MIN : INT64_MAX;
	}
	return neg ? (int64_t)(0 - mag) : (int64_t)mag;
}

static uint64_t to_unsigned(const char *s, char **end, int base)
{
	uint64_t mag;
	int neg, r = scan(s, end, base, &mag, &neg);

	if (r < 0)
		return 0;
	if (r > 0) {
		errno = ERANGE;
		return UINT64_MAX;
	}
	return neg ? 0 - mag : mag;
}

long strtol(const char *restrict s, char **restrict end, int base)
{
	return to_signed(s, end, base);
}

long long strtoll(const char *restrict s, char **restrict end, int base)
{
	return to_signed(s, end, base);
}

intmax_t strtoimax(const char *restrict s, char **restrict end, int base)
{
	return to_signed(s, end, base);
}

unsigned long strtoul(const char *restrict s, char **restrict end, int base)
{
	return to_unsigned(s, end, base);
}

unsigned long long strtoull(const char *restrict s, char **restrict end, int base)
{
	return to_unsigned(s, end, base);
}

uintmax_t strtoumax(const char *restrict s, char **restrict end, int base)
{
	return to_unsigned(s, end, base);
}

int atoi(const char *s)
{
	return (int)to_signed(s, NULL, 10);
}

long atol(const char *s)
{
	return to_signed(s, NULL, 10);
}

long long atoll(const char *s)
{
	return to_signed(s, NULL, 10);
}
