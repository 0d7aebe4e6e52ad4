/* Memory and string functions of the libc subset (gcc may also emit calls to the mem* ones). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * gcc turns copy and fill loops into calls to memcpy/memset/memmove; inside
 * those very functions that would recurse forever.
 */
#define NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

/*
 * Eight bytes per step, then the tail: as fast as byte steps on hardware with fast strings, and
 * some 15 times faster under QEMU's TCG, which emulates each step of a rep string instruction
 * (4 KiB: about 1 us instead of 17; bench/storage.sh moves 4 KiB values through here).
 */
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	void *d = dst;
	size_t q = n / 8, r = n % 8;

	__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(r) : : "memory");
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	size_t q = n / 8, r = n % 8;
	uint64_t v = (uint8_t)c * 0x0101010101010101ull;

	__asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(v) : "memory");
	return dst;
}

/* Copies backwards in C rather than with the direction flag set, which an interrupt could see. */
NO_LIBCALLS void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if ((uintptr_t)d - (uintptr_t)s >= n)
		return memcpy(dst, src, n);
	for (; n >= 8; n -= 8) {
		uint64_t w;
		__builtin_memcpy(&w, s + n - 8, 8);
		__builtin_memcpy(d + n - 8, &w, 8);
	}
	while (n > 0) {
		n--;
		d[n] = s[n];
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n > 0; n--, p++, q++) {
		if (*p != *q)
			return *p - *q;
	}
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	for (; n > 0; n--, p++) {
		if (*p == (unsigned char)c)
			return (void *)p;
	}
	return NULL;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return p - s;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

NO_LIBCALLS char *strcpy(char *restrict dst, const char *restrict src)
{
	char *d = dst;

	while ((*d++ = *src++))
		;
	return dst;
}

NO_LIBCALLS char *strncpy(char *restrict dst, const char *restrict src, size_t n)
{
	size_t i = 0;

	for (; i < n && src[i]; i++)
		dst[i] = src[i];
	for (; i < n; i++)
		dst[i] = 0;
	return dst;
}

char *strcat(char *restrict dst, const char *restrict src)
{
	strcpy(dst + strlen(dst), src);
	return dst;
}

NO_LIBCALLS char *strncat(char *restrict dst, const char *restrict src, size_t n)
{
	char *d = dst + strlen(dst);

	for (; n > 0 && *src; n--)
		*d++ = *src++;
	*d = 0;
	return dst;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

char *strrchr(const char *s, int c)
{
	const char *last = NULL;

	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (!*s)
			return (char *)last;
	}
}

char *strstr(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return (char *)haystack;
	for (; (haystack = strchr(haystack, *needle)); haystack++) {
		if (strncmp(haystack, needle, n) == 0)
			return (char *)haystack;
	}
	return NULL;
}

/* Marks the bytes of (set) in the 256-bit map (bits). */
static void byteset(uint64_t bits[4], const char *set)
{
	bits[0] = bits[1] = bits[2] = bits[3] = 0;
	for (const unsigned char *p = (const unsigned char *)set; *p; p++)
		bits[*p >> 6] |= (uint64_t)1 << (*p & 63);
}

static int inset(const uint64_t bits[4], unsigned char c)
{
	return (bits[c >> 6] >> (c & 63)) & 1;
}

size_t strspn(const char *s, const char *accept)
{
	uint64_t bits[4];
	size_t n = 0;

	byteset(bits, accept);
	while (s[n] && inset(bits, s[n]))
		n++;
	return n;
}

size_t strcspn(const char *s, const char *reject)
{
	uint64_t bits[4];
	size_t n = 0;

	byteset(bits, reject);
	while (s[n] && !inset(bits, s[n]))
		n++;
	return n;
}

char *strpbrk(const char *s, const char *accept)
{
	s += strcspn(s, accept);
	return *s ? (char *)s : NULL;
}

char *strtok_r(char *restrict s, const char *restrict delim, char **restrict save)
{
	if (!s)
		s = *save;
	s += strspn(s, delim);
	if (!*s) {
		*save = s;
		return NULL;
	}
	char *end = s + strcspn(s, delim);
	if (*end)
		*end++ = 0;
	*save = end;
	return s;
}

char *strtok(char *restrict s, const char *restrict delim)
{
	static char *save = "";

	return strtok_r(s, delim, &save);
}

char *strndup(const char *s, size_t n)
{
	n = strnlen(s, n);
	char *d = malloc(n + 1);
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

char *strdup(const char *s)
{
	return strndup(s, SIZE_MAX);
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int strncasecmp(const char *a, const char *b, size_t n)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;

	for (; n > 0; n--, p++, q++) {
		int d = lower(*p) - lower(*q);
		if (d || !*p)
			return d;
	}
	return 0;
}

int strcasecmp(const char *a, const char *b)
{
	return strncasecmp(a, b, SIZE_MAX);
}

/* Entries: a code byte, glibc's text, a NUL; an empty entry ends the list. */
static const char errtab[] = "\001Operation not permitted\0"
                             "\002No such file or directory\0"
                             "\003No such process\0"
                             "\004Interrupted system call\0"
                             "\005Input/output error\0"
                             "\006No such device or address\0"
                             "\007Argument list too long\0"
                             "\010Exec format error\0"
                             "\011Bad file descriptor\0"
                             "\012No child processes\0"
                             "\013Resource temporarily unavailable\0"
                             "\014Cannot allocate memory\0"
                             "\015Permission denied\0"
                             "\016Bad address\0"
                             "\017Block device required\0"
                             "\020Device or resource busy\0"
                             "\021File exists\0"
                             "\022Invalid cross-device link\0"
                             "\023No such device\0"
                             "\024Not a directory\0"
                             "\025Is a directory\0"
                             "\026Invalid argument\0"
                             "\027Too many open files in system\0"
                             "\030Too many open files\0"
                             "\031Inappropriate ioctl for device\0"
                             "\032Text file busy\0"
                             "\033File too large\0"
                             "\034No space left on device\0"
                             "\035Illegal seek\0"
                             "\036Read-only file system\0"
                             "\037Too many links\0"
                             "\040Broken pipe\0"
                             "\041Numerical argument out of domain\0"
                             "\042Numerical result out of range\0"
                             "\043Resource deadlock avoided\0"
                             "\044File name too long\0"
                             "\045No locks available\0"
                             "\046Function not implemented\0"
                             "\047Directory not empty\0"
                             "\050Too many levels of symbolic links\0"
                             "\052No message of desired type\0"
                             "\113Value too large for defined data type\0"
                             "\124Invalid or incomplete multibyte or wide character\0"
                             "\130Socket operation on non-socket\0"
                             "\131Destination address required\0"
                             "\132Message too long\0"
                             "\133Protocol wrong type for socket\0"
                             "\134Protocol not available\0"
                             "\135Protocol not supported\0"
                             "\137Operation not supported\0"
                             "\141Address family not supported by protocol\0"
                             "\142Address already in use\0"
                             "\143Cannot assign requested address\0"
                             "\144Network is down\0"
                             "\145Network is unreachable\0"
                             "\147Software caused connection abort\0"
                             "\150Connection reset by peer\0"
                             "\151No buffer space available\0"
                             "\152Transport endpoint is already connected\0"
                             "\153Transport endpoint is not connected\0"
                             "\156Connection timed out\0"
                             "\157Connection refused\0"
                             "\161No route to host\0"
                             "\162Operation already in progress\0"
                             "\163Operation now in progress\0"
                             "\175Operation canceled\0";

char *strerror(int errnum)
{
	static char unknown[32] = "Unknown error ";
	char digits[12], *p = unknown + 14;
	unsigned int u = errnum < 0 ? -(unsigned int)errnum : (unsigned int)errnum;
	int n = 0;

	if (errnum == 0)
		return "Success";
	for (const char *e = errtab; *e; e += strlen(e) + 1) {
		if ((unsigned char)*e == (unsigned int)errnum)
			return (char *)e + 1;
	}
	do {
		digits[n++] = '0' + u % 10;
		u /= 10;
	} while (u);
	if (errnum < 0)
		*p++ = '-';
	while (n > 0)
		*p++ = digits[--n];
	*p = 0;
	return unknown;
}
