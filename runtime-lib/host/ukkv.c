/* ukkv: reads and writes a uk volume's key-value store (uk/kv.h) from the host, without booting
 * anything. */
#include "kv_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
        "usage: ukkv COMMAND FILE [ARGS]\n"
        "\n"
        "Reads and writes the key-value store (runtime-lib's uk/kv.h, docs/storage.md) on a "
        "volume\n"
        "file, the same code a unikernel runs. Do not use it on a volume a running instance has.\n"
        "\n"
        "commands:\n"
        "  format FILE SIZE     create FILE (or truncate it) to SIZE bytes (k, m, g suffixes) and "
        "make\n"
        "                       an empty store on it\n"
        "  ls FILE [PREFIX]     list keys (starting with PREFIX) and their value sizes\n"
        "  get FILE KEY         write KEY's value to standard output\n"
        "  put FILE KEY [VALUE] set KEY to VALUE, or to standard input without one (one commit)\n"
        "  rm FILE KEY          delete KEY (one commit)\n"
        "  check FILE           mount the store and print what it holds; exit 1 if it cannot\n"
        "\n"
        "Exit status: 0 success, 1 failure (a message on standard error), 2 usage.\n";

static int fail(const char *what, const char *file, uk_result_t r)
{
	fprintf(stderr, "ukkv: %s %s: %s\n", what, file, uk_kv_strerror(r));
	return 1;
}

/* Parses SIZE with an optional k/m/g suffix (powers of 1024); 0 when malformed. */
static unsigned long long parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return 0;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10, end++;
		break;
	case 'm':
	case 'M':
		v <<= 20, end++;
		break;
	case 'g':
	case 'G':
		v <<= 30, end++;
		break;
	}
	return *end ? 0 : v;
}

static int print_key(const char *key, size_t len, void *arg)
{
	(void)arg;
	printf("%zu\t%s\n", len, key);
	return 0;
}

static int do_format(const char *file, const char *size_arg)
{
	unsigned long long size = parse_size(size_arg);
	struct uk_block *dev;
	uk_result_t r;
	int fd;

	if (size < 16 * 512 || size % 512) {
		fprintf(stderr,
		        "ukkv: format: SIZE must be a multiple of 512 bytes, at least 8k: %s\n",
		        size_arg);
		return 2;
	}
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		fprintf(stderr, "ukkv: format %s: %s\n", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	r = uk_kv_file_open(file, 0, &dev);
	if (r != UK_OK) {
		fprintf(stderr, "ukkv: open %s: %s\n", file, strerror(errno));
		return 1;
	}
	r = uk_kv_format(dev);
	uk_kv_file_close(dev);
	return r == UK_OK ? 0 : fail("format", file, r);
}

/* Reads standard input whole (at most UK_KV_VALUE_MAX bytes) into (*buf). */
static int read_stdin(char **buf, size_t *len)
{
	size_t cap = 65536;
	char *b = malloc(cap);

	*len = 0;
	while (b) {
		ssize_t n;

		if (*len == cap) {
			char *nb = cap >= UK_KV_VALUE_MAX ? NULL : realloc(b, cap * 2);

			if (!nb) {
				fprintf(stderr, "ukkv: put: the value is over %u bytes\n",
				        UK_KV_VALUE_MAX);
				free(b);
				return -1;
			}
			b = nb;
			cap *= 2;
		}
		n = read(0, b + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "ukkv: put: read standard input: %s\n", strerror(errno));
			free(b);
			return -1;
		}
		if (n == 0) {
			*buf = b;
			return 0;
		}
		*len += (size_t)n;
	}
	fprintf(stderr, "ukkv: out of memory\n");
	return -1;
}

int main(int argc, char **argv)
{
	const char *cmd, *file;
	struct uk_block *dev;
	struct uk_kv *kv;
	uk_result_t r;
	int writes, rc = 0;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 3) {
		fputs(usage, stderr);
		return 2;
	}
	cmd = argv[1];
	file = argv[2];
	if (!strcmp(cmd, "format"))
		return argc == 4 ? do_format(file, argv[3]) : (fputs(usage, stderr), 2);
	if ((!strcmp(cmd, "ls") && argc > 4) || (!strcmp(cmd, "get") && argc != 4) ||
	    (!strcmp(cmd, "put") && argc != 4 && argc != 5) || (!strcmp(cmd, "rm") && argc != 4) ||
	    (!strcmp(cmd, "check") && argc != 3)) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(cmd, "ls") && strcmp(cmd, "get") && strcmp(cmd, "put") && strcmp(cmd, "rm") &&
	    strcmp(cmd, "check")) {
		fprintf(stderr, "ukkv: unknown command '%s' (see ukkv --help)\n", cmd);
		return 2;
	}
	writes = !strcmp(cmd, "put") || !strcmp(cmd, "rm");
	r = uk_kv_file_open(file, !writes, &dev);
	if (r != UK_OK) {
		fprintf(stderr, "ukkv: open %s: %s\n", file, strerror(errno));
		return 1;
	}
	r = uk_kv_mount(dev, &kv);
	if (r != UK_OK) {
		uk_kv_file_close(dev);
		if (r == UK_ENOENT) {
			fprintf(stderr, "ukkv: mount %s: no store on it (ukkv format makes one)\n",
			        file);
			return 1;
		}
		return fail("mount", file, r);
	}
	if (!strcmp(cmd, "ls")) {
		uk_kv_list(kv, argc == 4 ? argv[3] : "", print_key, NULL);
	} else if (!strcmp(cmd, "get")) {
		size_t len = 0;
		char *buf;

		r = uk_kv_exists(kv, argv[3], &len);
		buf = r == UK_OK ? malloc(len ? len : 1) : NULL;
		if (r == UK_OK && !buf)
			r = UK_ENOMEM;
		if (r == UK_OK)
			r = uk_kv_get(kv, argv[3], buf, len, NULL);
		if (r == UK_OK && fwrite(buf, 1, len, stdout) != len)
			r = UK_EUNSPEC;
		free(buf);
		if (r != UK_OK)
			rc = fail("get", argv[3], r);
	} else if (!strcmp(cmd, "put")) {
		char *val = NULL;
		size_t len;

		if (argc == 5) {
			r = uk_kv_put(kv, argv[3], argv[4], strlen(argv[4]));
		} else if (read_stdin(&val, &len) < 0) {
			r = UK_EINVAL;
		} else {
			r = uk_kv_put(kv, argv[3], val, len);
		}
		free(val);
		if (r == UK_OK)
			r = uk_kv_commit(kv);
		if (r != UK_OK)
			rc = fail("put", argv[3], r);
	} else if (!strcmp(cmd, "rm")) {
		r = uk_kv_delete(kv, argv[3]);
		if (r == UK_OK)
			r = uk_kv_commit(kv);
		if (r != UK_OK)
			rc = fail("rm", argv[3], r);
	} else {
		struct uk_kv_stats st;

		uk_kv_stats(kv, &st);
		printf("keys %llu\nlive bytes %llu\nlog bytes %llu of %llu\ngeneration %llu\n"
		       "commits %llu\ntorn records ignored %llu\n",
		       (unsigned long long)st.keys, (unsigned long long)st.live_bytes,
		       (unsigned long long)st.log_bytes, (unsigned long long)st.half_bytes,
		       (unsigned long long)st.generation, (unsigned long long)st.commits,
		       (unsigned long long)st.torn);
	}
	uk_kv_unmount(kv);
	uk_kv_file_close(dev);
	return rc;
}
