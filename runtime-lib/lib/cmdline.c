/* The kernel command line: shell-like words, the runtime/app split at "--", runtime options. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <uk/uk.h>
#include <uk/internal.h>

#define ENV_MAX 64
#define VIRTIO_MAX 8
#define SEED_MAX 64
#define MOUNT_MAX 8
#define MOUNT_PATH_MAX 64

struct mount_opt {
	char dev[8];               /* "blk0" */
	char path[MOUNT_PATH_MAX]; /* "/data" */
	int ro;
};

static char *env_store[ENV_MAX + 1];
char **environ = env_store;
static int env_n;
static const char *virtio_words[VIRTIO_MAX];
static int virtio_n;
static struct mount_opt mounts[MOUNT_MAX];
static int mount_n;
/* blkcache=SIZE: the block cache's limit (lib/block_cache.c reads it); SIZE_MAX when not given. */
size_t uk_block_cache_opt = SIZE_MAX;

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

static uint64_t host_time_ns; /* time=: the host's wall clock when it started us; 0 = none */

int uk_time_parse_ns(const char *v, uint64_t *out)
{
	uint64_t ns = 0;
	int n = 0;

	for (; *v; v++, n++) {
		if (*v < '0' || *v > '9' || n == 19 || ns > (UINT64_MAX - 9) / 10)
			return UK_EINVAL;
		ns = ns * 10 + (uint64_t)(*v - '0');
	}
	if (!n || !ns)
		return UK_EINVAL;
	*out = ns;
	return UK_OK;
}

/* time=NS: the host's unix time in ns when it started the guest, 1 to 19 digits. */
static int time_set(const char *v)
{
	return uk_time_parse_ns(v, &host_time_ns);
}

static unsigned time_port; /* timesync=: the UART carrying the host's time record; 0 = none */

/* timesync=com3: ukd writes the host's time into COM3 just before the guest's CPUs first run. */
static int timesync_set(const char *v)
{
	if (strcmp(v, "com3"))
		return UK_EINVAL;
	time_port = 0x3e8;
	return UK_OK;
}

unsigned uk_cmdline_time_port(void)
{
	return time_port;
}

uint64_t uk_cmdline_host_time(void)
{
	return host_time_ns;
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

/* A mount point: "/"-rooted, not "/" itself, components of [A-Za-z0-9._-] that are not "." or
 * "..", no empty component, no trailing slash. (n) bytes at (p). */
static int mount_path_ok(const char *p, size_t n)
{
	size_t i, comp = 0;

	if (n < 2 || n >= MOUNT_PATH_MAX || p[0] != '/' || p[n - 1] == '/')
		return 0;
	for (i = 1; i <= n; i++) {
		char c = i < n ? p[i] : '/';

		if (c == '/') {
			if (comp == 0 || (comp == 1 && p[i - 1] == '.') ||
			    (comp == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
				return 0;
			comp = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') {
			comp++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* DEV:PATH[:ro|:rw]: DEV is "blk" and a number, PATH a mount point (above) that neither lies
 * inside nor contains an earlier one. */
static int mount_add(const char *v)
{
	const char *colon = strchr(v, ':'), *path, *end;
	struct mount_opt m = {0};
	size_t dlen, plen;

	if (!colon)
		return UK_EINVAL;
	dlen = (size_t)(colon - v);
	if (dlen < 4 || dlen >= sizeof(m.dev) || strncmp(v, "blk", 3))
		return UK_EINVAL;
	for (size_t i = 3; i < dlen; i++)
		if (v[i] < '0' || v[i] > '9')
			return UK_EINVAL;
	path = colon + 1;
	end = strchr(path, ':');
	if (end) {
		if (!strcmp(end, ":ro"))
			m.ro = 1;
		else if (strcmp(end, ":rw"))
			return UK_EINVAL;
	} else {
		end = path + strlen(path);
	}
	plen = (size_t)(end - path);
	if (!mount_path_ok(path, plen))
		return UK_EINVAL;
	memcpy(m.dev, v, dlen);
	memcpy(m.path, path, plen);
	for (int i = 0; i < mount_n; i++) {
		size_t n = strlen(mounts[i].path), k = n < plen ? n : plen;

		/* The same path, or one inside the other (a common prefix ending at a "/"). */
		if (!strncmp(mounts[i].path, m.path, k) &&
		    (n == plen || (n < plen ? m.path[n] : mounts[i].path[plen]) == '/'))
			return UK_EINVAL;
	}
	if (mount_n == MOUNT_MAX)
		return UK_ENOMEM;
	mounts[mount_n++] = m;
	return UK_OK;
}

int uk_cmdline_mount(int i, const char **dev, const char **path, int *ro)
{
	if (i < 0 || i >= mount_n)
		return UK_EINVAL;
	*dev = mounts[i].dev;
	*path = mounts[i].path;
	*ro = mounts[i].ro;
	return UK_OK;
}

/* SIZE: digits, then an optional k, m or g (binary units). */
static int blkcache_set(const char *v)
{
	uint64_t n = 0;
	int shift = 0;

	if (*v < '0' || *v > '9')
		return UK_EINVAL;
	for (; *v >= '0' && *v <= '9'; v++) {
		if (n > (UINT64_MAX - 9) / 10)
			return UK_EINVAL;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	if (*v == 'k' || *v == 'K')
		shift = 10;
	else if (*v == 'm' || *v == 'M')
		shift = 20;
	else if (*v == 'g' || *v == 'G')
		shift = 30;
	if (shift)
		v++;
	if (*v || n > (SIZE_MAX >> 1) >> shift)
		return UK_EINVAL;
	uk_block_cache_opt = (size_t)(n << shift);
	return UK_OK;
}

int uk_runtime_option(const char *word)
{
	const char *v;

	if ((v = after(word, "env=")))
		return env_add((char *)v);
	if ((v = after(word, "seed=")))
		return seed_add(v);
	if ((v = after(word, "time=")))
		return time_set(v);
	if ((v = after(word, "timesync=")))
		return timesync_set(v);
	if ((v = after(word, "dns=")))
		return dns_add(v);
	if ((v = after(word, "mount=")))
		return mount_add(v);
	if ((v = after(word, "blkcache=")))
		return blkcache_set(v);
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
