/* The kernel command line: shell-like words, the runtime/app split at "--", runtime options. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <uk/uk.h>
#include <uk/internal.h>

#define ENV_MAX 64
#define VIRTIO_MAX 8
#define SEED_MAX 64

static char *env_store[ENV_MAX + 1];
char **environ = env_store;
static int env_n;
static const char *virtio_words[VIRTIO_MAX];
static int virtio_n;

static int is_blank(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

int uk_cmdline_split(char *line, char **words, int max_words)
{
	char *r = line, *w = line, q; /* the write end never passes the read end */
	int n = 0;

	for (;;) {
		while (is_blank(*r))
			r++;
		if (!*r)
			break;
		if (n >= max_words)
			return -1;
		words[n++] = w;
		for (q = 0; *r && (q || !is_blank(*r)); r++) {
			if (*r == '\\' && q != '\'' && r[1])
				*w++ = *++r;
			else if (q && *r == q)
				q = 0;
			else if (!q && (*r == '"' || *r == '\''))
				q = *r;
			else
				*w++ = *r;
		}
		if (q)
			return -2;
		if (*r)
			r++;
		*w++ = '\0';
	}
	words[n] = NULL;
	return n;
}

int uk_args_split(int nwords, char **words, int *app_first)
{
	int i;

	for (i = 0; i < nwords; i++) {
		if (words[i][0] == '-' && words[i][1] == '-' && !words[i][2]) {
			*app_first = i + 1;
			return i;
		}
	}
	*app_first = 0;
	return 0;
}

/* What follows (prefix) in (s), or NULL if (s) does not start with it. */
static const char *after(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return NULL;
	return s;
}

static int env_add(char *kv)
{
	const char *a, *b;
	int i;

	for (a = kv; *a != '='; a++)
		if (!*a)
			return UK_EINVAL;
	if (a == kv)
		return UK_EINVAL;
	for (i = 0; i < env_n; i++) {
		for (a = kv, b = env_store[i]; *a == *b && *a != '='; a++, b++)
			;
		if (*a == '=' && *b == '=')
			break;
	}
	if (i == env_n) {
		if (env_n == ENV_MAX)
			return UK_ENOMEM;
		env_n++;
	}
	env_store[i] = kv;
	return UK_OK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int seed_add(const char *hex)
{
	uint8_t buf[SEED_MAX];
	size_t n = 0;
	int hi, lo, rc = UK_EINVAL;

	for (; *hex; hex += 2) {
		if (n == SEED_MAX || (hi = hexval(hex[0])) < 0 || (lo = hexval(hex[1])) < 0)
			goto out;
		buf[n++] = hi << 4 | lo;
	}
	if (n) {
		uk_entropy_add_seed(buf, n);
		rc = UK_OK;
	}
out:
	memset(buf, 0, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory"); /* keep the stores: it was a secret */
	return rc;
}

/* dns=IP: the resolver getaddrinfo asks, as UK_DNS=IP in the environment (docs/net.md). */
static int dns_add(const char *ip)
{
	static char kv[sizeof("UK_DNS=255.255.255.255")];
	size_t n = strlen(ip);

	if (!n || n > sizeof(kv) - sizeof("UK_DNS="))
		return UK_EINVAL;
	memcpy(kv, "UK_DNS=", 7);
	memcpy(kv + 7, ip, n + 1);
	return env_add(kv);
}

int uk_runtime_option(const char *word)
{
	const char *v;

	if ((v = after(word, "env=")))
		return env_add((char *)v);
	if ((v = after(word, "seed=")))
		return seed_add(v);
	if ((v = after(word, "dns=")))
		return dns_add(v);
	if (after(word, "virtio_mmio.device=")) {
		if (virtio_n == VIRTIO_MAX)
			return UK_ENOMEM;
		virtio_words[virtio_n++] = word;
		return UK_OK;
	}
	return UK_EINVAL;
}

int uk_cmdline_virtio_mmio(int i, const char **word)
{
	if (i < 0 || i >= virtio_n)
		return UK_EINVAL;
	*word = virtio_words[i];
	return UK_OK;
}
