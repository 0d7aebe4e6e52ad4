/* The error object uk's host code fills and wraps: an HTTP-like status, a code, a message. */
#ifndef UK_ERROR_H
#define UK_ERROR_H

#include <stdarg.h>

/*
 * A function that fails returns -1 (or NULL) and fills an uk_err_t; its caller
 * adds context with uk_err_wrap() ("build hello: compile main.c: ...") and each
 * boundary converts it once: HTTP status + {"message","code"} in the daemon,
 * a line on stderr + exit status in the CLI.
 */
typedef struct uk_err {
	int status;    /* 400, 404, 409, 413, 500, ...; 0 = no error */
	char code[32]; /* "bad_request", "not_found", "conflict", "internal", ... */
	char message[2048];
} uk_err_t;

/* Sets (err) (which may be NULL) and returns -1. */
int uk_err_set(uk_err_t *err, int status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Shorthands for the common statuses; each returns -1. */
#define uk_err_bad(err, ...) uk_err_set((err), 400, "bad_request", __VA_ARGS__)
#define uk_err_notfound(err, ...) uk_err_set((err), 404, "not_found", __VA_ARGS__)
#define uk_err_conflict(err, ...) uk_err_set((err), 409, "conflict", __VA_ARGS__)
#define uk_err_internal(err, ...) uk_err_set((err), 500, "internal", __VA_ARGS__)

/* Like uk_err_set with a ": strerror(errnum)" suffix; status 500. */
int uk_err_errno(uk_err_t *err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prefixes (err)'s message with the formatted context and ": "; returns -1. */
int uk_err_wrap(uk_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears (err). */
void uk_err_clear(uk_err_t *err);

#endif
