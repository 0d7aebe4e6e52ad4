/* General utilities of the libc subset: conversions, sorting, exit, environment, the heap. */
#ifndef UK_LIBC_STDLIB_H
#define UK_LIBC_STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

typedef struct {
	int quot, rem;
} div_t;
typedef struct {
	long quot, rem;
} ldiv_t;
typedef struct {
	long long quot, rem;
} lldiv_t;

/* The heap (lib/malloc.c). */
void *malloc(size_t n);
void free(void *p);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void *aligned_alloc(size_t align, size_t n);
int posix_memalign(void **out, size_t align, size_t n);

/* C semantics: base 0 or 2..36, "0x" prefix, ERANGE and the limit on overflow. */
long strtol(const char *__restrict s, char **__restrict end, int base);
unsigned long strtoul(const char *__restrict s, char **__restrict end, int base);
long long strtoll(const char *__restrict s, char **__restrict end, int base);
unsigned long long strtoull(const char *__restrict s, char **__restrict end, int base);
int atoi(const char *s);
long atol(const char *s);
long long atoll(const char *s);

/* Correctly rounded (to nearest, ties to even): decimal, hex floats, inf, nan(...). */
double strtod(const char *__restrict s, char **__restrict end);
float strtof(const char *__restrict s, char **__restrict end);
double atof(const char *s);

/* Introsort: O(n log n) comparisons at worst, bounded stack, not stable. */
void qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void *bsearch(const void *key, const void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *));

int abs(int x);
long labs(long x);
long long llabs(long long x);
div_t div(int num, int den);
ldiv_t ldiv(long num, long den);
lldiv_t lldiv(long long num, long long den);

/* Runs the atexit() handlers (last registered first), flushes stdio, ends with (status). */
__attribute__((__noreturn__)) void exit(int status);
/* Ends at once: no handlers, no flush. */
__attribute__((__noreturn__)) void _Exit(int status);
/* Registers (fn) for exit(); at most 32 handlers, then returns -1. */
int atexit(void (*fn)(void));
/* Prints "abort()" and panics (status 134). */
__attribute__((__noreturn__)) void abort(void);

char *getenv(const char *name);
/* Copies "name=value" to the heap; -1 with EINVAL for a bad name, ENOMEM when full. */
int setenv(const char *name, const char *value, int overwrite);
int unsetenv(const char *name);

#endif
