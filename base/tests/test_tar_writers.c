/* The one ustar writer serves both callers byte for byte as their own writers did: images' sorted
 * archives (ukimg_tar_*) and the CLI's build context (cli_tar_context), checked against golden
 * SHA-256s taken from the writers before they were folded, and listed back with tar -tvf. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "uk/images.h"

static int failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			failures++;                                          \
		}                                                            \
	} while (0)

static void put(const char *dir, const char *rel, const char *text, mode_t mode)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(path, 0755);
			*p = '/';
		}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) < 0) {
		fprintf(stderr, "fixture %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
}

static void sha256_file(const char *path, char out[65])
{
	unsigned char buf[65536], md[32];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* tar -tvf (path) must print exactly (want): names, modes, owners, sizes, mtime 0 */
static void check_listing(const char *path, const char *want)
{
	char cmd[4200], got[16384];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd),
	         "TZ=UTC tar --numeric-owner -tvf '%s' | awk '{print $1, $2, $3, $4, $5, $6}'",
	         path);
	p = popen(cmd, "r");
	n = p ? fread(got, 1, sizeof(got) - 1, p) : 0;
	got[n] = 0;
	CHECK(p && pclose(p) == 0, "tar -tvf %s failed", path);
	CHECK(!strcmp(got, want), "tar -tvf %s:\n%s\nwant:\n%s", path, got, want);
}

/* (n) 'd's: a directory name for paths over ustar's 100 bytes */
static const char *long_dir(size_t n)
{
	static char d[200];

	memset(d, 0, sizeof(d));
	memset(d, 'd', n);
	return d;
}

int main(int argc, char **argv)
{
	char dir[4096], ctx[4200], img[4200], ctar[4200], path[8192], hash[65], longname[512],
	        pax[512];
	int print = argc > 1 && !strcmp(argv[1], "--print");
	const char *tmp = getenv("TMPDIR");
	ukimg_tar_t *t;
	uk_err_t err = {0};
	int fd;

	snprintf(dir, sizeof(dir), "%s/tarw.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	snprintf(ctx, sizeof(ctx), "%s/ctx", dir);
	mkdir(ctx, 0755);
	put(ctx, "Ukfile", "FROM scratch\nSRC main.c\n", 0644);
	put(ctx, "main.c", "int main(void) { return 0; }\n", 0644);
	put(ctx, "run.sh", "#!/bin/sh\necho hi\n", 0755);
	put(ctx, "site/index.html", "<p>hello</p>\n", 0644);
	put(ctx, "site/b/empty", "", 0644);
	put(ctx, "skip.o", "object\n", 0644);
	put(ctx, ".ukignore", "*.o\n", 0644);
	/* one slash: the prefix/name split has one choice (main's writers chose differently when
	 * several fitted, the first fitting slash (GNU tar's) is now the choice of both) */
	snprintf(longname, sizeof(longname), "%s/%s", long_dir(90), "f.txt");
	put(ctx, longname, "long\n", 0644);

	/* images: entries added out of order, a directory twice, a long and a pax name */
	snprintf(img, sizeof(img), "%s/images.tar", dir);
	memset(pax, 'p', 300);
	pax[300] = 0;
	memcpy(pax + 100, "/", 1);
	memcpy(pax + 250, "/", 1);
	snprintf(path, sizeof(path), "%s/run.sh", ctx);
	t = ukimg_tar_new();
	CHECK(t && ukimg_tar_add_buf(t, "uk/config.json", "{\"a\":1}", 7, 0, &err) == 0 &&
	              ukimg_tar_add_dir(t, "uk", &err) == 0 &&
	              ukimg_tar_add_file(t, "uk/run.sh", path, 1, &err) == 0 &&
	              ukimg_tar_add_dir(t, "uk", &err) == 0 &&
	              ukimg_tar_add_buf(t, longname, "long\n", 5, 0, &err) == 0 &&
	              ukimg_tar_add_buf(t, pax, "", 0, 0, &err) == 0,
	      "ukimg_tar_add: %s", err.message);
	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && ukimg_tar_write(t, fd, &err) == 0, "ukimg_tar_write: %s", err.message);
	close(fd);
	ukimg_tar_free(t);

	snprintf(ctar, sizeof(ctar), "%s/context.tar", dir);
	fd = open(ctar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && cli_tar_context(ctx, fd, &err) == 0, "cli_tar_context: %s", err.message);
	close(fd);

	/* golden: the SHA-256s main's two writers produced for these inputs (commit 5d44333) */
	sha256_file(img, hash);
	if (print)
		printf("images  %s\n", hash);
	else
		CHECK(!strcmp(hash,
		              "41820115b6a8ac037e8d34bc97f98cb37bcc95f20bf36806489b54141e8af810"),
		      "images.tar sha256 %s", hash);
	sha256_file(ctar, hash);
	if (print)
		printf("context %s\n", hash);
	else
		CHECK(!strcmp(hash,
		              "f118a92d18723531bd413c1ba70e17b45f01f04d4e3c863bf2cb1228ab72babc"),
		      "context.tar sha256 %s", hash);

	if (!print) {
		char want[4096];

		snprintf(want, sizeof(want),
		         "-rw-r--r-- 0/0 5 1970-01-01 00:00 %s\n"
		         "-rw-r--r-- 0/0 0 1970-01-01 00:00 %s\n"
		         "drwxr-xr-x 0/0 0 1970-01-01 00:00 uk/\n"
		         "-rw-r--r-- 0/0 7 1970-01-01 00:00 uk/config.json\n"
		         "-rwxr-xr-x 0/0 18 1970-01-01 00:00 uk/run.sh\n",
		         longname, pax);
		check_listing(img, want);
		snprintf(want, sizeof(want),
		         "-rw-r--r-- 0/0 4 1970-01-01 00:00 .ukignore\n"
		         "-rw-r--r-- 0/0 24 1970-01-01 00:00 Ukfile\n"
		         "drwxr-xr-x 0/0 0 1970-01-01 00:00 %s/\n"
		         "-rw-r--r-- 0/0 5 1970-01-01 00:00 %s\n"
		         "-rw-r--r-- 0/0 29 1970-01-01 00:00 main.c\n"
		         "-rwxr-xr-x 0/0 18 1970-01-01 00:00 run.sh\n"
		         "drwxr-xr-x 0/0 0 1970-01-01 00:00 site/\n"
		         "drwxr-xr-x 0/0 0 1970-01-01 00:00 site/b/\n"
		         "-rw-r--r-- 0/0 0 1970-01-01 00:00 site/b/empty\n"
		         "-rw-r--r-- 0/0 13 1970-01-01 00:00 site/index.html\n",
		         long_dir(90), longname);
		check_listing(ctar, want);

		/* a directory name over 100 bytes: the context writer refused it ("too long for a
		 * ustar archive") where images' wrote a pax header; now both write one */
		snprintf(ctx, sizeof(ctx), "%s/ctx2", dir);
		mkdir(ctx, 0755);
		put(ctx, "Ukfile", "FROM scratch\n", 0644);
		snprintf(longname, sizeof(longname), "%s/%s", long_dir(120), "f.txt");
		put(ctx, longname, "long\n", 0644);
		fd = open(ctar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		CHECK(fd >= 0 && cli_tar_context(ctx, fd, &err) == 0, "cli_tar_context: %s",
		      err.message);
		close(fd);
		snprintf(want, sizeof(want),
		         "-rw-r--r-- 0/0 13 1970-01-01 00:00 Ukfile\n"
		         "drwxr-xr-x 0/0 0 1970-01-01 00:00 %s/\n"
		         "-rw-r--r-- 0/0 5 1970-01-01 00:00 %s\n",
		         long_dir(120), longname);
		check_listing(ctar, want);
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
