/* The unit tests' shared check macro and counters, and a stand-in for the runtime's uk_panic. */
#ifndef UKT_CHECK_H
#define UKT_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static int passed, failed;

/* Counts (cond); on failure prints where, the expression and the formatted detail. */
#define CHECK(cond, ...)                                                                \
	do {                                                                            \
		if (cond) {                                                             \
			passed++;                                                       \
		} else {                                                                \
			failed++;                                                       \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                   \
			fputc('\n', stderr);                                            \
		}                                                                       \
	} while (0)

#ifdef UKT_PANIC_STUB
/* Stands in for lib/panic.c, whose uk_panic would drag start.c (and main) in; weak, so a real
 * one wins when linked. Ends the process with 134, as a guest panic does. */
__attribute__((weak, noreturn)) void ukt_uk_panic(const char *fmt, ...)
{
	va_list ap;

	fputs("panic: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(134);
}
#endif

#endif
