/* assert(): prints the failed expression and where, then aborts; nothing under NDEBUG. */
#undef assert
#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : __assert_fail(#e, __FILE__, __LINE__, __func__))
#endif

#ifndef UK_LIBC_ASSERT_H
#define UK_LIBC_ASSERT_H

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define static_assert _Static_assert
#endif

/* Prints "Assertion failed: (expr) ((file):(line): (func))" to stderr and calls abort(). */
__attribute__((__noreturn__)) void __assert_fail(const char *expr, const char *file,
                                                 unsigned int line, const char *func);

#endif
