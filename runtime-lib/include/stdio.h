/* Console streams (stdout line-buffered, stderr unbuffered) and the printf family. */
#ifndef UK_LIBC_STDIO_H
#define UK_LIBC_STDIO_H

#include <stddef.h>

#define EOF (-1)
#define BUFSIZ 1024

/* Buffering modes for setvbuf(). */
#define _IOFBF 0
#define _IOLBF 1
#define _IONBF 2

typedef struct uk_file FILE;

extern FILE *stdout;
extern FILE *stderr;
#define stdout stdout
#define stderr stderr

int fputc(int c, FILE *f);
int putc(int c, FILE *f);
int putchar(int c);
int fputs(const char *__restrict s, FILE *__restrict f);
int puts(const char *s);
size_t fwrite(const void *__restrict buf, size_t size, size_t n, FILE *__restrict f);
/* Writes out (f)'s buffer; NULL flushes every stream. */
int fflush(FILE *f);
/* Sets the buffering mode of (f); (buf) and (size) are ignored (each stream has its own buffer). */
int setvbuf(FILE *__restrict f, char *__restrict buf, int mode, size_t size);
/* Prints "(s): " (unless s is NULL or empty) and strerror(errno) to stderr. */
void perror(const char *s);

/*
 * Conversions: d i u o x X c s p % and f F e E g G a A, flags "-+ #0'", width and
 * precision (also *), lengths hh h l ll j z t L q. Output matches glibc's byte for
 * byte, doubles and long doubles converted exactly (round-half-even), except that
 * %#g keeps its trailing zeros when rounding carries into style e, as C says
 * (glibc drops them). %n is not supported: its argument is skipped. %lc and %ls
 * take ASCII only (the "C" locale); anything else fails with EILSEQ.
 */
int printf(const char *__restrict fmt, ...) __attribute__((format(printf, 1, 2)));
int fprintf(FILE *__restrict f, const char *__restrict fmt, ...)
        __attribute__((format(printf, 2, 3)));
int sprintf(char *__restrict buf, const char *__restrict fmt, ...)
        __attribute__((format(printf, 2, 3)));
int snprintf(char *__restrict buf, size_t size, const char *__restrict fmt, ...)
        __attribute__((format(printf, 3, 4)));
int vprintf(const char *__restrict fmt, __builtin_va_list ap) __attribute__((format(printf, 1, 0)));
int vfprintf(FILE *__restrict f, const char *__restrict fmt, __builtin_va_list ap)
        __attribute__((format(printf, 2, 0)));
int vsprintf(char *__restrict buf, const char *__restrict fmt, __builtin_va_list ap)
        __attribute__((format(printf, 2, 0)));
int vsnprintf(char *__restrict buf, size_t size, const char *__restrict fmt, __builtin_va_list ap)
        __attribute__((format(printf, 3, 0)));

#endif
