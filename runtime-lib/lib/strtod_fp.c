/* strtod(), strtof(), atof(): correctly rounded decimal and hex input, inf, nan, glibc's ERANGE. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * The value is made exact as a ratio of big integers N/S times a power of two
 * and its bits are found by long division, so every input rounds correctly
 * (to nearest, ties to even) without tables. A decimal needs at most 768
 * significant digits to decide its rounding; digits past MAXDIG only count as
 * a sticky non-zero digit.
 */
#define MAXDIG 800
#define NW 96 /* 32-bit words: 5^1125 and D < 10^801 need at most 85 */

struct big {
	int n; /* words in use, no leading zero word */
	uint32_t w[NW];
};

/* A binary floating-point format: bits of precision and exponent range. */
struct fpfmt {
	int mbits, emin, emax;
};

static const struct fpfmt fmt_double = {53, -1022, 1023};
static const struct fpfmt fmt_float = {24, -126, 127};

static void big_set(struct big *b, uint64_t v)
{
	b->n = 0;
	while (v) {
		b->w[b->n++] = (uint32_t)v;
		v >>= 32;
	}
}

/* (b) = (b) * (m) + (a). */
static void big_muladd(struct big *b, uint32_t m, uint32_t a)
{
	uint64_t carry = a;

	for (int i = 0; i < b->n; i++) {
		uint64_t t = (uint64_t)b->w[i] * m + carry;
		b->w[i] = (uint32_t)t;
		carry = t >> 32;
	}
	if (carry)
		b->w[b->n++] = (uint32_t)carry;
}

static void big_mulpow5(struct big *b, long e)
{
	for (; e >= 13; e -= 13)
		big_muladd(b, 1220703125u, 0); /* 5^13 */
	if (e > 0) {
		uint32_t m = 1;
		while (e-- > 0)
			m *= 5;
		big_muladd(b, m, 0);
	}
}

static void big_shl(struct big *b, int s)
{
	int words = s / 32, bits = s % 32;

	if (b->n == 0)
		return;
	if (bits) {
		uint32_t top = b->w[b->n - 1] >> (32 - bits);
		for (int i = b->n - 1; i > 0; i--)
			b->w[i] = b->w[i] << bits | b->w[i - 1] >> (32 - bits);
		b->w[0] <<= bits;
		if (top)
			b->w[b->n++] = top;
	}
	if (words) {
		memmove(b->w + words, b->w, b->n * sizeof(uint32_t));
		memset(b->w, 0, words * sizeof(uint32_t));
		b->n += words;
	}
}

static int big_cmp(const struct big *a, const struct big *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (int i = a->n - 1; i >= 0; i--) {
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	}
	return 0;
}

/* (a) -= (b), where (a) >= (b). */
static void big_sub(struct big *a, const struct big *b)
{
	int64_t borrow = 0;

	for (int i = 0; i < a->n; i++) {
		int64_t t = (int64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
		borrow = t < 0;
		a->w[i] = (uint32_t)(t + (borrow << 32));
	}
	while (a->n > 0 && a->w[a->n - 1] == 0)
		a->n--;
}

static int big_bits(const struct big *b)
{
	return b->n ? 32 * b->n - __builtin_clz(b->w[b->n - 1]) : 0;
}

/*
 * The bits (sign excluded) of (n)/(s) * 2^(b) rounded to (f), where n > 0.
 * Sets ERANGE on overflow, and on underflow when the result is inexact and
 * below the smallest normal after rounding (x86's tininess rule, as glibc).
 */
static uint64_t round_ratio(struct big *n, struct big *s, long b, const struct fpfmt *f)
{
	uint64_t inf = (uint64_t)(2 * f->emax + 1) << (f->mbits - 1), mant = 0;
	int k = big_bits(n) - big_bits(s), nbits, c;
	long x;

	if (k > 0)
		big_shl(s, k);
	else
		big_shl(n, -k);
	if (big_cmp(n, s) < 0) {
		big_shl(n, 1);
		k--;
	}
	x = k + b; /* now 1 <= n/s < 2 and the value is n/s * 2^(x) */
	if (x > f->emax) {
		errno = ERANGE;
		return inf;
	}
	nbits = x >= f->emin ? f->mbits : f->mbits - (int)(f->emin - x);
	if (nbits < 0) {
		errno = ERANGE;
		return 0;
	}
	for (int i = 0; i < nbits; i++) {
		mant <<= 1;
		if (big_cmp(n, s) >= 0) {
			big_sub(n, s);
			mant |= 1;
		}
		big_shl(n, 1);
	}
	/* n/s is now twice the remainder in units of the last bit. */
	c = big_cmp(n, s);
	int inexact = n->n != 0;
	if (c > 0 || (c == 0 && (mant & 1)))
		mant++;
	if (x >= f->emin) {
		if (mant >> f->mbits) {
			mant >>= 1;
			if (++x > f->emax) {
				errno = ERANGE;
				return inf;
			}
		}
		return (uint64_t)(x + f->emax) << (f->mbits - 1) |
		       (mant & (((uint64_t)1 << (f->mbits - 1)) - 1));
	}
	if (inexact) {
		/* Just below the smallest normal, rounding to full precision may reach it. */
		int tiny = 1;
		if (x == f->emin - 1 && mant == (uint64_t)1 << (f->mbits - 1) && c >= 0) {
			big_sub(n, s);
			big_shl(n, 1);
			tiny = big_cmp(n, s) < 0;
		}
		if (tiny)
			errno = ERANGE;
	}
	return mant; /* subnormal, or exactly the smallest normal after rounding up */
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 32;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Case-insensitive match of the lower-case word (w) at (s). */
static int word(const char *s, const char *w)
{
	for (; *w; s++, w++) {
		if ((*s | 32) != *w)
			return 0;
	}
	return 1;
}

/* An optional exponent: (c) or its capital, a sign, digits; clamped. *(pp) moves past it. */
static long exponent(const char **pp, char c)
{
	const char *p = *pp;
	long e = 0;
	int neg = 0;

	if ((*p | 32) != c)
		return 0;
	p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (e < 100000000)
			e = e * 10 + (*p - '0');
	}
	*pp = p;
	return neg ? -e : e;
}

/* Hex digits after "0x" at (p): the value's bits, or 0 with *(end) unset if there are no digits. */
static uint64_t parse_hex(const char *p, const char **end, const struct fpfmt *f)
{
	uint64_t h = 0;
	long bexp = 0;
	int any = 0, sticky = 0, point = 0, nd = 0;
	struct big n, s;

	for (;; p++) {
		int v = hexval(*p);
		if (*p == '.' && !point) {
			point = 1;
			continue;
		}
		if (v < 0)
			break;
		any = 1;
		if (nd < 15) {
			/* up to 60 significant bits kept exactly */
			h = h << 4 | (uint64_t)v;
			nd += h != 0;
			bexp -= point ? 4 : 0;
		} else {
			sticky |= v != 0;
			bexp += point ? 0 : 4;
		}
	}
	if (!any)
		return 0;
	bexp += exponent(&p, 'p');
	*end = p;
	if (!h)
		return 0;
	if (sticky) {
		h = h << 1 | 1;
		bexp--;
	}
	long x = 63 - __builtin_clzll(h) + bexp;
	if (x > f->emax) {
		errno = ERANGE;
		return (uint64_t)(2 * f->emax + 1) << (f->mbits - 1);
	}
	if (x < f->emin - f->mbits - 1) {
		errno = ERANGE;
		return 0;
	}
	big_set(&n, h);
	big_set(&s, 1);
	return round_ratio(&n, &s, bexp, f);
}

/* Decimal digits at (p); like parse_hex(). */
static uint64_t parse_dec(const char *p, const char **end, const struct fpfmt *f)
{
	struct big n, s;
	uint32_t chunk = 0;
	int nchunk = 0, nd = 0, any = 0, point = 0, sticky = 0;
	long dexp = 0, e;

	big_set(&n, 0);
	for (;; p++) {
		if (*p == '.' && !point) {
			point = 1;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		any = 1;
		if (nd == 0 && *p == '0') {
			dexp -= point; /* leading zero */
		} else if (nd < MAXDIG) {
			chunk = chunk * 10 + (uint32_t)(*p - '0');
			if (++nchunk == 9) {
				big_muladd(&n, 1000000000u, chunk);
				chunk = 0;
				nchunk = 0;
			}
			nd++;
			dexp -= point;
		} else {
			sticky |= *p != '0';
			dexp += !point;
		}
	}
	if (!any)
		return 0;
	dexp += exponent(&p, 'e');
	*end = p;
	if (nd == 0)
		return 0;
	if (sticky) {
		chunk = chunk * 10 + 1;
		nchunk++;
		nd++;
		dexp--;
	}
	if (nchunk) {
		uint32_t m = 1;
		for (int i = 0; i < nchunk; i++)
			m *= 10;
		big_muladd(&n, m, chunk);
	}
	e = dexp; /* value = n * 10^e, and 10^(nd - 1 + e) <= value < 10^(nd + e) */
	if (nd + e > (f->mbits > 24 ? 310 : 40)) {
		errno = ERANGE;
		return (uint64_t)(2 * f->emax + 1) << (f->mbits - 1);
	}
	if (nd + e < (f->mbits > 24 ? -324 : -46)) {
		errno = ERANGE;
		return 0;
	}
	/* 10^e = 5^e * 2^e: the power of two goes into the exponent. */
	big_set(&s, 1);
	if (e >= 0)
		big_mulpow5(&n, e);
	else
		big_mulpow5(&s, -e);
	return round_ratio(&n, &s, e, f);
}

/* "nan(chars)": glibc reads the chars as an unsigned number for the payload. */
static uint64_t nan_payload(const char *p, const char **end)
{
	const char *q = p + 1;
	char *numend;
	uint64_t v;

	if (*p != '(')
		return 0;
	while (isalnum((unsigned char)*q) || *q == '_')
		q++;
	if (*q != ')')
		return 0;
	*end = q + 1;
	v = strtoull(p + 1, &numend, 0); /* like glibc, an ERANGE from here stays */
	return numend == q ? v : 0;
}

/* Parses a number in format (f); returns its bits with the sign. */
static uint64_t parse(const char *s, char **endp, const struct fpfmt *f)
{
	const char *p = s, *end = s;
	uint64_t bits = 0, sign = (uint64_t)1 << (f->mbits + (f->emax > 127 ? 11 : 8) - 1);
	int neg = 0;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (word(p, "inf")) {
		end = p + (word(p, "infinity") ? 8 : 3);
		bits = (uint64_t)(2 * f->emax + 1) << (f->mbits - 1);
	} else if (word(p, "nan")) {
		uint64_t quiet = (uint64_t)1 << (f->mbits - 2);
		end = p + 3;
		bits = (uint64_t)(2 * f->emax + 1) << (f->mbits - 1) | quiet |
		       (nan_payload(p + 3, &end) & (quiet - 1));
	} else if (p[0] == '0' && (p[1] | 32) == 'x') {
		end = p + 1; /* "0x" without hex digits is the number 0 */
		bits = parse_hex(p + 2, &end, f);
	} else {
		bits = parse_dec(p, &end, f);
	}
	if (endp)
		*endp = (char *)end;
	return end == s ? 0 : bits | (neg ? sign : 0);
}

double strtod(const char *restrict s, char **restrict end)
{
	uint64_t bits = parse(s, end, &fmt_double);
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

float strtof(const char *restrict s, char **restrict end)
{
	uint32_t bits = (uint32_t)parse(s, end, &fmt_float);
	float x;

	memcpy(&x, &bits, sizeof(x));
	return x;
}

double atof(const char *s)
{
	return strtod(s, NULL);
}
