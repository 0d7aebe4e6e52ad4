/* exit() and atexit(), abort(), the environment, and integer arithmetic helpers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>

#define MAX_ATEXIT 32

static void (*handlers[MAX_ATEXIT])(void);
static int nhandlers;

int atexit(void (*fn)(void))
{
	if (nhandlers == MAX_ATEXIT)
		return -1;
	handlers[nhandlers++] = fn;
	return 0;
}

_Noreturn void exit(int status)
{
	/* A handler may call atexit() or exit() itself; each one still runs once. */
	while (nhandlers > 0)
		handlers[--nhandlers]();
	fflush(NULL);
	uk_exit(status);
}

_Noreturn void _Exit(int status)
{
	uk_exit(status);
}

_Noreturn void abort(void)
{
	uk_panic("abort()");
}

/* The value of (name) in the "KEY=VALUE" string (entry), or NULL if the key differs. */
static char *match(char *entry, const char *name, size_t len)
{
	return strncmp(entry, name, len) == 0 && entry[len] == '=' ? entry + len + 1 : NULL;
}

char *getenv(const char *name)
{
	size_t len = strlen(name);
	char *v;

	if (!environ || strchr(name, '='))
		return NULL;
	for (char **e = environ; *e; e++) {
		if ((v = match(*e, name, len)))
			return v;
	}
	return NULL;
}

static int bad_name(const char *name)
{
	if (!name || !*name || strchr(name, '=')) {
		errno = EINVAL;
		return 1;
	}
	return 0;
}

int unsetenv(const char *name)
{
	size_t len;
	char **e, **out;

	if (bad_name(name))
		return -1;
	if (!environ)
		return 0;
	len = strlen(name);
	for (e = out = environ; *e; e++) {
		if (!match(*e, name, len))
			*out++ = *e;
	}
	*out = NULL;
	return 0;
}

int setenv(const char *name, const char *value, int overwrite)
{
	/* The array setenv() last allocated (startup's own array is never freed). */
	static char **owned;
	size_t len, vlen, n = 0;
	char *entry, **e, **grown;

	if (bad_name(name))
		return -1;
	len = strlen(name);
	for (e = environ; e && *e; e++, n++) {
		if (match(*e, name, len)) {
			if (!overwrite)
				return 0;
			break;
		}
	}
	vlen = strlen(value);
	entry = malloc(len + vlen + 2);
	if (!entry) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(entry, name, len);
	entry[len] = '=';
	memcpy(entry + len + 1, value, vlen + 1);
	if (e && *e) {
		*e = entry; /* the old string may belong to startup: left alone */
		return 0;
	}
	grown = malloc((n + 2) * sizeof(*grown));
	if (!grown) {
		free(entry);
		errno = ENOMEM;
		return -1;
	}
	if (n)
		memcpy(grown, environ, n * sizeof(*grown));
	grown[n] = entry;
	grown[n + 1] = NULL;
	free(owned);
	environ = owned = grown;
	return 0;
}

int abs(int x)
{
	return x < 0 ? -x : x;
}

long labs(long x)
{
	return x < 0 ? -x : x;
}

long long llabs(long long x)
{
	return x < 0 ? -x : x;
}

intmax_t imaxabs(intmax_t x)
{
	return x < 0 ? -x : x;
}

div_t div(int num, int den)
{
	return (div_t){num / den, num % den};
}

ldiv_t ldiv(long num, long den)
{
	return (ldiv_t){num / den, num % den};
}

lldiv_t lldiv(long long num, long long den)
{
	return (lldiv_t){num / den, num % den};
}

imaxdiv_t imaxdiv(intmax_t num, intmax_t den)
{
	return (imaxdiv_t){num / den, num % den};
}
