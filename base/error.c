/* uk_err_t helpers: set, wrap with context, clear. */
#include "uk/error.h"

#include <stdio.h>
#include <string.h>

static int err_vset(uk_err_t *err, int status, const char *code, const char *fmt, va_list ap)
{
	if (!err)
		return -1;
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	return -1;
}

int uk_err_set(uk_err_t *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, status, code, fmt, ap);
	va_end(ap);
	return -1;
}

int uk_err_errno(uk_err_t *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err)
		return -1;
	va_start(ap, fmt);
	err_vset(err, 500, "internal", fmt, ap);
	va_end(ap);
	n = strlen(err->message);
	snprintf(err->message + n, sizeof(err->message) - n, ": %s", strerror(errnum));
	return -1;
}

int uk_err_wrap(uk_err_t *err, const char *fmt, ...)
{
	char ctx[512], old[sizeof(err->message)];
	size_t n, m;
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* truncation is intended: the innermost detail goes first when the message is long */
	n = strlen(ctx);
	memcpy(err->message, ctx, n);
	memcpy(err->message + n, ": ", 2);
	n += 2;
	m = strlen(old);
	if (m > sizeof(err->message) - n - 1)
		m = sizeof(err->message) - n - 1;
	memcpy(err->message + n, old, m);
	err->message[n + m] = '\0';
	if (!err->status) {
		err->status = 500;
		snprintf(err->code, sizeof(err->code), "internal");
	}
	return -1;
}

void uk_err_clear(uk_err_t *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}
