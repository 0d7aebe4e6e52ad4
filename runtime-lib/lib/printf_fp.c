/* The printf family: one format engine for streams and buffers, exact decimal and hex floats. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Small beats fast here: this is in every image that prints a number. */
#pragma GCC optimize("Os")

/*
 * This file may use floating point, but only fp_arg() (which reads a double
 * or long double argument) and the variadic entry points (whose prologue
 * saves the vector registers when the caller passed any) do: everything else
 * is compiled without SSE and x87, so the kernel can print integers and
 * strings where SSE traps. Floats are split into integer mantissa and
 * exponent and converted exactly with integer arithmetic.
 */
#define INT_ONLY __attribute__((target("general-regs-only")))

enum {
	F_MINUS = 1,
	F_PLUS = 2,
	F_SPACE = 4,
	F_HASH = 8,
	F_ZERO = 16,
	F_GROUP = 32, /* accepted; the "C" locale has no thousands separator */
};

/* Length modifiers. */
enum { L_NONE, L_HH, L_H, L_L, L_LL };

struct spec {
	int flags;
	int width;
	int prec; /* -1: none given */
	int len;
	char conv;
};

/* Where the characters go: a stream (through a small buffer) or a caller's buffer. */
struct out {
	FILE *f;
	char *tmp; /* stream staging buffer of TMP bytes */
	size_t ntmp;
	char *buf; /* caller's buffer: room for (cap) characters and the NUL */
	size_t cap;
	size_t len; /* characters produced, whether or not they fit */
};

#define TMP 128

static INT_ONLY void emit(struct out *o, const char *s, size_t n)
{
	if (o->f) {
		if (o->ntmp + n > TMP) {
			fwrite(o->tmp, 1, o->ntmp, o->f);
			o->ntmp = 0;
		}
		if (n > TMP) {
			fwrite(s, 1, n, o->f);
		} else {
			memcpy(o->tmp + o->ntmp, s, n);
			o->ntmp += n;
		}
	} else if (o->len < o->cap) {
		size_t k = o->cap - o->len < n ? o->cap - o->len : n;
		memcpy(o->buf + o->len, s, k);
	}
	o->len += n;
}

static INT_ONLY void emit_char(struct out *o, char c)
{
	emit(o, &c, 1);
}

/* Writes (n) copies of (c); nothing if (n) <= 0. */
static INT_ONLY void fill(struct out *o, char c, long n)
{
	char chunk[16];

	for (int i = 0; i < 16; i++)
		chunk[i] = c;
	for (; n > 0; n -= 16)
		emit(o, chunk, n < 16 ? (size_t)n : 16);
}

/* Padding of a field of (len) characters: spaces in front (unless '-' or zero padding). */
static INT_ONLY void pad_left(struct out *o, const struct spec *sp, long len, int zero_ok)
{
	if (!(sp->flags & F_MINUS) && !(zero_ok && (sp->flags & F_ZERO)))
		fill(o, ' ', sp->width - len);
}

/* Zeros between the sign or prefix and the digits, for the '0' flag. */
static INT_ONLY void pad_zero(struct out *o, const struct spec *sp, long len, int zero_ok)
{
	if (!(sp->flags & F_MINUS) && zero_ok && (sp->flags & F_ZERO))
		fill(o, '0', sp->width - len);
}

/* Spaces after the field, for the '-' flag. */
static INT_ONLY void pad_right(struct out *o, const struct spec *sp, long len)
{
	if (sp->flags & F_MINUS)
		fill(o, ' ', sp->width - len);
}

static INT_ONLY void fmt_str(struct out *o, const struct spec *sp, const char *s, size_t n)
{
	pad_left(o, sp, (long)n, 0);
	emit(o, s, n);
	pad_right(o, sp, (long)n);
}

/* d i u o x X p: (v) is the magnitude, (neg) its sign for d and i. */
static INT_ONLY void fmt_int(struct out *o, const struct spec *sp, uint64_t v, int neg)
{
	char c = sp->conv, digits[24], sign = 0;
	const char *xd = c == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	unsigned int base = c == 'o' ? 8 : c == 'x' || c == 'X' || c == 'p' ? 16 : 10;
	int hex = c == 'p' || (base == 16 && (sp->flags & F_HASH) && v);
	int nd = 0;
	long zeros, len;

	for (uint64_t u = v; u; u /= base)
		digits[sizeof(digits) - ++nd] = xd[u % base];
	zeros = (sp->prec < 0 ? 1 : sp->prec) - nd;
	if (zeros < 0)
		zeros = 0;
	if (c == 'o' && (sp->flags & F_HASH) && zeros == 0)
		zeros = 1; /* '#' makes the first digit of an octal number a 0 */
	if (c == 'd' || c == 'i' || c == 'p')
		sign = neg ? '-' : sp->flags & F_PLUS ? '+' : sp->flags & F_SPACE ? ' ' : 0;
	len = (sign != 0) + 2 * hex + nd;
	if ((sp->flags & F_ZERO) && !(sp->flags & F_MINUS) && sp->prec < 0 &&
	    sp->width - len > zeros)
		zeros = sp->width - len;
	len += zeros;
	pad_left(o, sp, len, 0);
	if (sign)
		emit_char(o, sign);
	if (hex)
		emit(o, c == 'X' ? "0X" : "0x", 2);
	fill(o, '0', zeros);
	emit(o, digits + sizeof(digits) - nd, nd);
	pad_right(o, sp, len);
}

/* A floating-point value as (m) * 2^(e), from a double or an x87 long double. */
struct fpv {
	uint64_t m;
	int e;
	int neg;
	int kind; /* FP_FINITE, FP_INF, FP_NAN */
	int ld;   /* long double: %a shows 4 integer bits, not 1 */
};

enum { FP_FINITE, FP_INF, FP_NAN };

/*
 * Decimal expansion in base 10^9: words w[lo..hi) hold the value, w[pt] the
 * units (10^0..10^8), w[pt + 1] the next nine digits up, w[pt - 1] the first
 * nine after the point. Digits below what the conversion can show are dropped
 * while dividing, with (sticky) recording that something non-zero went: the
 * words kept stay exact, which is all that rounding half to even needs.
 */
struct dec {
	uint32_t *w;
	int lo, hi, pt;
	int sticky;
};

#define BASE 1000000000u

static const uint32_t p10[10] = {1,      10,      100,      1000,      10000,
                                 100000, 1000000, 10000000, 100000000, 1000000000};

/* floor((p) / 9) for negative (p) too. */
static INT_ONLY int floor9(int p)
{
	return p >= 0 ? p / 9 : -((8 - p) / 9);
}

/*
 * Words needed below and above the point for m * 2^(e) (m < 2^64) when
 * digits below 10^(low) do not matter.
 */
static INT_ONLY void dec_size(int e, int low, int *below, int *above)
{
	if (e >= 0) {
		*below = 0;
		*above = (int)((64 + (long)e) * 30103 / 100000 + 1) / 9 + 3;
	} else {
		int exact = (-e + 8) / 9 + 1, need = low < 0 ? -floor9(low) + 2 : 2;
		*below = need < exact ? need : exact;
		*above = 4;
	}
}

/* Expands m * 2^(e) into (w), which has the room dec_size() asked for. */
static INT_ONLY void dec_init(struct dec *d, uint32_t *w, int below, uint64_t m, int e)
{
	d->w = w;
	d->pt = d->lo = d->hi = below;
	d->sticky = 0;
	do {
		w[d->hi++] = m % BASE;
		m /= BASE;
	} while (m);
	while (e > 0) {
		int s = e < 29 ? e : 29;
		uint32_t carry = 0;
		for (int k = d->lo; k < d->hi; k++) {
			uint64_t t = ((uint64_t)w[k] << s) + carry;
			w[k] = t % BASE;
			carry = t / BASE;
		}
		if (carry)
			w[d->hi++] = carry;
		e -= s;
	}
	for (int top = d->hi - 1; e < 0;) {
		/* 2^9 divides 10^9, so each step's remainder fits one new word exactly. */
		int s = -e < 9 ? -e : 9;
		uint32_t rem = 0;
		for (int k = top; k >= d->lo; k--) {
			uint64_t t = w[k] + (uint64_t)rem * BASE;
			w[k] = t >> s;
			rem = t & ((1u << s) - 1);
		}
		if (rem && d->lo > 0)
			w[--d->lo] = rem * (BASE >> s);
		else if (rem)
			d->sticky = 1;
		while (top > d->lo && w[top] == 0)
			top--;
		e += s;
	}
	while (d->hi > d->pt + 1 && w[d->hi - 1] == 0)
		d->hi--;
}

/* The decimal digit at 10^(p). */
static INT_ONLY int dec_digit(const struct dec *d, int p)
{
	int q = floor9(p), k = d->pt + q;

	if (k < d->lo || k >= d->hi)
		return 0;
	return d->w[k] / p10[p - 9 * q] % 10;
}

/* The position of the most significant non-zero digit; 0 for zero. */
static INT_ONLY int dec_msd(const struct dec *d)
{
	for (int k = d->hi - 1; k >= d->lo; k--) {
		if (d->w[k]) {
			int n = 1;
			while (n < 9 && d->w[k] >= p10[n])
				n++;
			return 9 * (k - d->pt) + n - 1;
		}
	}
	return 0;
}

/* Rounds to the digit at 10^(r), half to even, and clears everything below it. */
static INT_ONLY void dec_round(struct dec *d, int r)
{
	int q = floor9(r), k = d->pt + q, off = r - 9 * q, kt, up;
	uint32_t unit = p10[off], tail, half;

	if (k < d->lo)
		return; /* nothing below 10^(r) */
	if (off > 0) {
		tail = d->w[k] % unit;
		half = unit / 2;
		kt = k;
	} else {
		tail = k - 1 >= d->lo ? d->w[k - 1] : 0;
		half = BASE / 2;
		kt = k - 1;
	}
	up = tail > half;
	if (tail == half) {
		up = d->w[k] / unit % 2 || d->sticky;
		for (int j = d->lo; j < kt && !up; j++)
			up = d->w[j] != 0;
	}
	d->w[k] -= d->w[k] % unit;
	for (int j = d->lo; j < k; j++)
		d->w[j] = 0;
	if (up) {
		d->w[k] += unit;
		while (d->w[k] >= BASE) {
			d->w[k] -= BASE;
			if (++k == d->hi)
				d->w[d->hi++] = 0;
			d->w[k]++;
		}
	}
}

/* Writes the digits at 10^(from) down to 10^(to). */
static INT_ONLY void emit_digits(struct out *o, const struct dec *d, int from, int to)
{
	char buf[32];
	int n = 0;

	for (int p = from; p >= to; p--) {
		buf[n++] = '0' + dec_digit(d, p);
		if (n == sizeof(buf)) {
			emit(o, buf, n);
			n = 0;
		}
	}
	emit(o, buf, n);
}

/* More digits than any long double has after the point (16445) or in all (about 16500). */
#define PREC_MAX 20000

/* e E f F g G. */
static INT_ONLY void fmt_dec(struct out *o, const struct spec *sp, const struct fpv *v, char sign)
{
	int below, above, prec = sp->prec < 0 ? 6 : sp->prec, style = sp->conv | 32, x = 0;
	int hash = sp->flags & F_HASH, strip = 0, extra = 0;
	long len;

	/* Past PREC_MAX digits every value's expansion is zeros: write those with fill(). */
	if (prec > PREC_MAX) {
		extra = prec - PREC_MAX;
		prec = PREC_MAX;
	}

	/* The lowest digit that can show, less a margin: -prec for f, else P + 1 from the top. */
	int low = -prec - 3;
	if (style != 'f' && v->m) {
		long t = (long)(v->e + 63 - __builtin_clzll(v->m)) * 30103;
		low = (int)(t >= 0 ? t / 100000 : -((-t + 99999) / 100000)) - prec - 4;
	}
	dec_size(v->e, low, &below, &above);
	uint32_t w[below + above + 1];
	struct dec d;
	dec_init(&d, w, below, v->m, v->e);
	if (style == 'g') {
		int p = prec ? prec : 1;
		if (v->m) {
			dec_round(&d, dec_msd(&d) - p + 1);
			x = dec_msd(&d);
		}
		if (p > x && x >= -4) {
			style = 'f';
			prec = p - 1 - x;
		} else {
			style = 'e';
			prec = p - 1;
		}
		strip = !hash;
	}
	if (style == 'e' && v->m) {
		dec_round(&d, dec_msd(&d) - prec);
		x = dec_msd(&d);
	} else if (style == 'f') {
		dec_round(&d, -prec);
		x = dec_msd(&d);
	}
	if (strip) {
		int low = style == 'e' ? x - prec : -prec;
		extra = 0;
		while (prec > 0 && dec_digit(&d, low) == 0) {
			prec--;
			low++;
		}
	}

	int top = style == 'f' && x > 0 ? x : 0; /* highest digit written */
	int ax = x < 0 ? -x : x, xdigits = ax >= 1000 ? 4 : ax >= 100 ? 3 : 2;
	len = (sign != 0) + top + 1 + (prec > 0 || hash) + prec + (long)extra;
	if (style == 'e')
		len += 2 + xdigits;
	pad_left(o, sp, len, 1);
	if (sign)
		emit_char(o, sign);
	pad_zero(o, sp, len, 1);
	if (style == 'f') {
		emit_digits(o, &d, top, 0);
		if (prec > 0 || hash)
			emit_char(o, '.');
		emit_digits(o, &d, -1, -prec);
		fill(o, '0', extra);
	} else {
		char e[8];
		int n = 0;
		emit_digits(o, &d, x, x);
		if (prec > 0 || hash)
			emit_char(o, '.');
		emit_digits(o, &d, x - 1, x - prec);
		fill(o, '0', extra);
		e[n++] = sp->conv & 32 ? 'e' : 'E';
		e[n++] = x < 0 ? '-' : '+';
		for (int i = xdigits - 1; i >= 0; i--)
			e[n + i] = '0' + ax % 10, ax /= 10;
		emit(o, e, n + xdigits);
	}
	pad_right(o, sp, len);
}

/* a A: like glibc, a double shows 1 (or 0 if subnormal) before the point, a long double 4 bits. */
static INT_ONLY void fmt_hex(struct out *o, const struct spec *sp, const struct fpv *v, char sign)
{
	const char *xd = sp->conv == 'A' ? "0123456789ABCDEF" : "0123456789abcdef";
	int fbits = v->ld ? 60 : 52, nfrac = fbits / 4, ndig = nfrac, extra = 0;
	uint64_t lead = v->m >> fbits, frac = v->m & (((uint64_t)1 << fbits) - 1);
	int x = v->m ? v->e + fbits : 0;
	char buf[40];
	int n = 0;
	long len;

	if (sp->prec < 0) {
		while (ndig > 0 && !(frac & 15)) {
			frac >>= 4;
			ndig--;
		}
	} else if (sp->prec < nfrac) {
		int drop = (nfrac - sp->prec) * 4;
		uint64_t rem = frac & (((uint64_t)1 << drop) - 1), half = (uint64_t)1 << (drop - 1);
		frac >>= drop;
		ndig = sp->prec;
		if (rem > half || (rem == half && ((ndig ? frac : lead) & 1))) {
			if (++frac >> (ndig * 4)) {
				frac = 0;
				lead++;
			}
			if (lead == 16) {
				lead = 1;
				x += 4;
			}
		}
	} else {
		extra = sp->prec - nfrac;
	}
	buf[n++] = xd[lead];
	if (ndig > 0 || extra > 0 || (sp->flags & F_HASH))
		buf[n++] = '.';
	for (int i = ndig - 1; i >= 0; i--)
		buf[n++] = xd[(frac >> (4 * i)) & 15];
	len = (sign != 0) + 2 + n + extra + 2;
	{
		int ax = x < 0 ? -x : x;
		char e[8];
		int ne = 0;
		do {
			e[ne++] = '0' + ax % 10;
			ax /= 10;
		} while (ax);
		len += ne;
		pad_left(o, sp, len, 1);
		if (sign)
			emit_char(o, sign);
		emit(o, sp->conv == 'A' ? "0X" : "0x", 2);
		pad_zero(o, sp, len, 1);
		emit(o, buf, n);
		fill(o, '0', extra);
		emit_char(o, sp->conv == 'A' ? 'P' : 'p');
		emit_char(o, x < 0 ? '-' : '+');
		while (ne > 0)
			emit_char(o, e[--ne]);
	}
	pad_right(o, sp, len);
}

static INT_ONLY void fmt_float(struct out *o, const struct spec *sp, const struct fpv *v)
{
	char sign = v->neg ? '-' : sp->flags & F_PLUS ? '+' : sp->flags & F_SPACE ? ' ' : 0;

	if (v->kind != FP_FINITE) {
		int upper = !(sp->conv & 32);
		const char *s =
		        v->kind == FP_INF ? (upper ? "INF" : "inf") : (upper ? "NAN" : "nan");
		long len = 3 + (sign != 0);
		pad_left(o, sp, len, 0);
		if (sign)
			emit_char(o, sign);
		emit(o, s, 3);
		pad_right(o, sp, len);
	} else if ((sp->conv | 32) == 'a') {
		fmt_hex(o, sp, v, sign);
	} else {
		fmt_dec(o, sp, v, sign);
	}
}

/* Reads a double or long double argument and formats it: the only code here using floats. */
static void fp_arg(struct out *o, const struct spec *sp, va_list *ap)
{
	struct fpv v = {0};

	if (sp->len == L_LL) {
		long double x = va_arg(*ap, long double);
		uint16_t se;
		memcpy(&v.m, &x, 8);
		memcpy(&se, (char *)&x + 8, 2);
		int ex = se & 0x7fff;
		v.neg = se >> 15;
		v.ld = 1;
		if (ex == 0x7fff)
			v.kind = v.m << 1 ? FP_NAN : FP_INF;
		else
			v.e = ex ? ex - 16446 : -16445;
	} else {
		double x = va_arg(*ap, double);
		uint64_t b;
		memcpy(&b, &x, 8);
		int ex = (b >> 52) & 0x7ff;
		v.neg = b >> 63;
		v.m = b & (((uint64_t)1 << 52) - 1);
		if (ex == 0x7ff) {
			v.kind = v.m ? FP_NAN : FP_INF;
		} else if (ex) {
			v.m |= (uint64_t)1 << 52;
			v.e = ex - 1075;
		} else {
			v.e = -1074;
		}
	}
	fmt_float(o, sp, &v);
}

/* Unknown conversions are echoed the way glibc does: flags in its order, no length. */
static INT_ONLY void echo_spec(struct out *o, const struct spec *sp)
{
	char buf[40];
	int n = 0;

	buf[n++] = '%';
	if (sp->flags & F_HASH)
		buf[n++] = '#';
	if (sp->flags & F_GROUP)
		buf[n++] = '\'';
	if (sp->flags & (F_PLUS | F_SPACE))
		buf[n++] = sp->flags & F_PLUS ? '+' : ' ';
	if (sp->flags & F_MINUS)
		buf[n++] = '-';
	else if (sp->flags & F_ZERO)
		buf[n++] = '0';
	emit(o, buf, n);
	n = 0;
	if (sp->width) {
		struct spec num = {0, 0, -1, L_NONE, 'u'};
		fmt_int(o, &num, (uint64_t)sp->width, 0);
	}
	if (sp->prec >= 0) {
		struct spec num = {0, 0, -1, L_NONE, 'u'};
		emit_char(o, '.');
		fmt_int(o, &num, (uint64_t)sp->prec, 0);
	}
	emit_char(o, sp->conv);
}

/* %ls and %lc: the "C" locale has only ASCII; anything else is EILSEQ, like glibc. */
static INT_ONLY int fmt_wide(struct out *o, const struct spec *sp, const int *ws, int wc)
{
	char buf[64];
	size_t n = 0, max = sp->prec < 0 || sp->conv == 'c' ? (size_t)-1 : (size_t)sp->prec;

	if (sp->conv == 's' && !ws) {
		fmt_str(o, sp, "(null)", max >= 6 ? 6 : 0);
		return 0;
	}
	const int *p = sp->conv == 'c' ? &wc : ws;
	for (size_t i = 0; i < max && (sp->conv == 'c' ? i < 1 : p[i] != 0); i++, n++) {
		if ((unsigned int)p[i] > 127) {
			errno = EILSEQ;
			return -1;
		}
	}
	pad_left(o, sp, (long)n, 0);
	for (size_t i = 0; i < n; i += sizeof(buf)) {
		size_t k = n - i < sizeof(buf) ? n - i : sizeof(buf);
		for (size_t j = 0; j < k; j++)
			buf[j] = (char)p[i + j];
		emit(o, buf, k);
	}
	pad_right(o, sp, (long)n);
	return 0;
}

static INT_ONLY int parse_num(const char **pp)
{
	const char *p = *pp;
	int v = 0;

	for (; *p >= '0' && *p <= '9'; p++)
		v = v > (0x7fffffff - 9) / 10 ? 0x7fffffff : v * 10 + (*p - '0');
	*pp = p;
	return v;
}

/* The engine: returns the length of the output, or -1 with errno set. */
static INT_ONLY int format(struct out *o, const char *fmt, va_list ap0)
{
	const char *p = fmt;
	va_list ap;
	int ret = 0;

	va_copy(ap, ap0);
	while (*p) {
		if (*p != '%') {
			const char *q = p;
			while (*q && *q != '%')
				q++;
			emit(o, p, q - p);
			p = q;
			continue;
		}

		struct spec sp = {0, 0, -1, L_NONE, 0};
		for (p++;; p++) {
			int f = *p == '-'    ? F_MINUS
			        : *p == '+'  ? F_PLUS
			        : *p == ' '  ? F_SPACE
			        : *p == '#'  ? F_HASH
			        : *p == '0'  ? F_ZERO
			        : *p == '\'' ? F_GROUP
			                     : 0;
			if (!f)
				break;
			sp.flags |= f;
		}
		if (*p == '*') {
			p++;
			sp.width = va_arg(ap, int);
			if (sp.width < 0) {
				sp.flags |= F_MINUS;
				sp.width = sp.width == -0x7fffffff - 1 ? 0x7fffffff : -sp.width;
			}
		} else {
			sp.width = parse_num(&p);
		}
		if (*p == '.') {
			p++;
			if (*p == '*') {
				p++;
				sp.prec = va_arg(ap, int);
				if (sp.prec < 0)
					sp.prec = -1;
			} else {
				sp.prec = parse_num(&p);
			}
		}
		switch (*p) {
		case 'h':
			sp.len = *++p == 'h' ? (p++, L_HH) : L_H;
			break;
		case 'l':
			sp.len = *++p == 'l' ? (p++, L_LL) : L_L;
			break;
		case 'L':
		case 'q':
			p++;
			sp.len = L_LL;
			break;
		case 'j':
		case 'z':
		case 't':
			p++;
			sp.len = L_L;
			break;
		}
		sp.conv = *p;
		if (!sp.conv) {
			/* glibc fails on a format that ends inside a conversion. */
			errno = EINVAL;
			ret = -1;
			break;
		}
		p++;

		switch (sp.conv) {
		case 'd':
		case 'i': {
			int64_t v = sp.len >= L_L    ? va_arg(ap, int64_t)
			            : sp.len == L_H  ? (short)va_arg(ap, int)
			            : sp.len == L_HH ? (signed char)va_arg(ap, int)
			                             : va_arg(ap, int);
			fmt_int(o, &sp, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
			break;
		}
		case 'u':
		case 'o':
		case 'x':
		case 'X': {
			uint64_t v = sp.len >= L_L    ? va_arg(ap, uint64_t)
			             : sp.len == L_H  ? (unsigned short)va_arg(ap, unsigned int)
			             : sp.len == L_HH ? (unsigned char)va_arg(ap, unsigned int)
			                              : va_arg(ap, unsigned int);
			fmt_int(o, &sp, v, 0);
			break;
		}
		case 'p': {
			void *v = va_arg(ap, void *);
			if (v)
				fmt_int(o, &sp, (uintptr_t)v, 0);
			else
				fmt_str(o, &sp, "(nil)", 5);
			break;
		}
		case 'c':
			if (sp.len == L_L) {
				if (fmt_wide(o, &sp, NULL, va_arg(ap, int)) < 0)
					ret = -1;
			} else {
				char c = (char)va_arg(ap, int);
				fmt_str(o, &sp, &c, 1);
			}
			break;
		case 's':
			if (sp.len == L_L) {
				if (fmt_wide(o, &sp, va_arg(ap, const int *), 0) < 0)
					ret = -1;
			} else {
				const char *s = va_arg(ap, const char *);
				if (!s)
					fmt_str(o, &sp, "(null)",
					        sp.prec < 0 || sp.prec >= 6 ? 6 : 0);
				else
					fmt_str(o, &sp, s,
					        strnlen(s, sp.prec < 0 ? (size_t)-1
					                               : (size_t)sp.prec));
			}
			break;
		case 'f':
		case 'F':
		case 'e':
		case 'E':
		case 'g':
		case 'G':
		case 'a':
		case 'A':
			fp_arg(o, &sp, &ap);
			break;
		case '%':
			emit_char(o, '%');
			break;
		case 'n':
			/* Not supported: writing through an argument is a format-string attack's
			 * tool. */
			(void)va_arg(ap, void *);
			break;
		default:
			echo_spec(o, &sp);
			break;
		}
		if (ret < 0)
			break;
	}
	va_end(ap);
	if (ret == 0 && o->len > 0x7fffffff) {
		errno = EOVERFLOW;
		ret = -1;
	}
	return ret < 0 ? -1 : (int)o->len;
}

INT_ONLY int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
{
	struct out o = {0};
	int r;

	o.buf = buf;
	o.cap = size ? size - 1 : 0;
	r = format(&o, fmt, ap);
	if (size)
		buf[o.len < o.cap ? o.len : o.cap] = 0;
	return r;
}

INT_ONLY int vsprintf(char *restrict buf, const char *restrict fmt, va_list ap)
{
	return vsnprintf(buf, (size_t)-1 >> 1, fmt, ap);
}

INT_ONLY int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
{
	char tmp[TMP];
	struct out o = {0};
	int r;

	o.f = f;
	o.tmp = tmp;
	r = format(&o, fmt, ap);
	if (o.ntmp)
		fwrite(tmp, 1, o.ntmp, f);
	return r;
}

INT_ONLY int vprintf(const char *restrict fmt, va_list ap)
{
	return vfprintf(stdout, fmt, ap);
}

int printf(const char *restrict fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfprintf(stdout, fmt, ap);
	va_end(ap);
	return r;
}

int fprintf(FILE *restrict f, const char *restrict fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfprintf(f, fmt, ap);
	va_end(ap);
	return r;
}

int sprintf(char *restrict buf, const char *restrict fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsprintf(buf, fmt, ap);
	va_end(ap);
	return r;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return r;
}
