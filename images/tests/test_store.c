/* Blob store tests: put/read/verify, atomicity when a write fails midway, tamper detection, bad
 * digests. */
#include "testutil.h"

#include <sys/mman.h>

#define HELLO_DIGEST "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

struct fixture {
	char *root;
	char blobs[PATH_MAX], tmp[PATH_MAX];
	ukimg_store_t *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uk_err_t err = {0};

	f->root = tu_mkdtemp();
	f->store = ukimg_store_open(f->root, &err);
	assert_non_null(f->store);
	snprintf(f->blobs, sizeof(f->blobs), "%s/blobs/sha256", f->root);
	snprintf(f->tmp, sizeof(f->tmp), "%s/tmp", f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ukimg_store_free(f->store);
	tu_rm_rf(f->root);
	free(f->root);
	free(f);
	return 0;
}

static void test_layout_and_put(void **state)
{
	struct fixture *f = *state;
	char d[UKIMG_DIGEST_SIZE], path[PATH_MAX * 2], *buf = NULL;
	uk_err_t err = {0};
	size_t len;
	struct stat st;

	assert_int_equal(tu_count(f->blobs), 0);
	assert_int_equal(tu_count(f->tmp), 0);
	snprintf(path, sizeof(path), "%s/kernels", f->root);
	assert_int_equal(tu_count(path), 0);

	assert_int_equal(ukimg_store_put_buf(f->store, "hello", 5, NULL, d, &err), 0);
	assert_string_equal(d, HELLO_DIGEST);
	assert_true(ukimg_store_has(f->store, HELLO_DIGEST));
	assert_int_equal(ukimg_store_size(f->store, HELLO_DIGEST, &err), 5);
	assert_int_equal(ukimg_store_path(f->store, HELLO_DIGEST, path, sizeof(path), &err), 0);
	assert_non_null(strstr(path, "/blobs/sha256/2cf24dba"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(ukimg_store_read(f->store, HELLO_DIGEST, 100, &buf, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	free(buf);
	assert_int_equal(ukimg_store_read(f->store, HELLO_DIGEST, 4, &buf, &len, &err), -1);
	assert_int_equal(err.status, 413);
	assert_int_equal(ukimg_store_verify(f->store, HELLO_DIGEST, &err), 0);

	/* idempotent; expected digest checked */
	assert_int_equal(ukimg_store_put_buf(f->store, "hello", 5, HELLO_DIGEST, NULL, &err), 0);
	assert_int_equal(tu_count(f->blobs), 1);
	assert_int_equal(ukimg_store_put_buf(f->store, "hellO", 5, HELLO_DIGEST, NULL, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "digest mismatch: expected " HELLO_DIGEST));
	assert_int_equal(tu_count(f->blobs), 1);
	assert_int_equal(tu_count(f->tmp), 0);

	/* put_file and put_fd */
	tu_write(f->root, "input", "hello");
	snprintf(path, sizeof(path), "%s/input", f->root);
	int64_t size = 0;
	assert_int_equal(ukimg_store_put_file(f->store, path, HELLO_DIGEST, d, &size, &err), 0);
	assert_int_equal(size, 5);
	unlink(path);

	assert_int_equal(ukimg_store_delete(f->store, HELLO_DIGEST, &err), 0);
	assert_false(ukimg_store_has(f->store, HELLO_DIGEST));
	assert_int_equal(ukimg_store_delete(f->store, HELLO_DIGEST, &err), 0);
	assert_int_equal(ukimg_store_open_blob(f->store, HELLO_DIGEST, &err), -1);
	assert_int_equal(err.status, 404);
	assert_int_equal(ukimg_store_size(f->store, HELLO_DIGEST, &err), -1);
	assert_int_equal(err.status, 404);
}

static void test_put_fd_pipe(void **state)
{
	struct fixture *f = *state;
	char d[UKIMG_DIGEST_SIZE], big[100000];
	uk_err_t err = {0};
	int p[2];
	int64_t size;

	memset(big, 'z', sizeof(big));
	assert_int_equal(pipe(p), 0);
	if (fork() == 0) {
		close(p[0]);
		(void)!write(p[1], big, sizeof(big) / 2);
		(void)!write(p[1], big, sizeof(big) / 2);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(ukimg_store_put_fd(f->store, p[0], -1, NULL, d, &size, &err), 0);
	close(p[0]);
	assert_int_equal(size, sizeof(big));
	assert_int_equal(ukimg_store_verify(f->store, d, &err), 0);
	assert_int_equal(tu_count(f->tmp), 0);
}

/* A put whose input fails midway leaves no blob and no temp file. */
static void test_put_fails_midway(void **state)
{
	struct fixture *f = *state;
	uk_err_t err = {0};
	char big[100000];
	int p[2], fd;
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *m;

	/* 1: more bytes than allowed, after some were written */
	memset(big, 'q', sizeof(big));
	assert_int_equal(pipe(p), 0);
	if (fork() == 0) {
		close(p[0]);
		(void)!write(p[1], big, sizeof(big));
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(ukimg_store_put_fd(f->store, p[0], 70000, NULL, NULL, NULL, &err), -1);
	close(p[0]);
	assert_int_equal(err.status, 413);
	assert_non_null(strstr(err.message, "larger than 70000 bytes"));
	assert_int_equal(tu_count(f->blobs), 0);
	assert_int_equal(tu_count(f->tmp), 0);

	/* 2: a read error after the first bytes: /proc/self/mem over a mapped page followed by
	 * an unmapped one reads one page, then fails with EIO. */
	m = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	         0);
	assert_true(m != MAP_FAILED);
	memset(m, 'm', (size_t)page);
	munmap(m + page, (size_t)page);
	fd = open("/proc/self/mem", O_RDONLY);
	if (fd < 0) {
		munmap(m, (size_t)page);
		print_message("no /proc/self/mem: midway read error case not run\n");
		return;
	}
	assert_true(lseek(fd, (off_t)(uintptr_t)m, SEEK_SET) >= 0);
	uk_err_clear(&err);
	assert_int_equal(ukimg_store_put_fd(f->store, fd, -1, NULL, NULL, NULL, &err), -1);
	close(fd);
	munmap(m, (size_t)page);
	assert_int_equal(err.status, 500);
	assert_non_null(strstr(err.message, "store blob: read input"));
	assert_int_equal(tu_count(f->blobs), 0);
	assert_int_equal(tu_count(f->tmp), 0);

	/* 3: a reader that is not readable at all */
	fd = open("/dev/null", O_WRONLY);
	assert_int_equal(ukimg_store_put_fd(f->store, fd, -1, NULL, NULL, NULL, &err), -1);
	close(fd);
	assert_int_equal(tu_count(f->blobs), 0);
	assert_int_equal(tu_count(f->tmp), 0);
}

static void test_tamper(void **state)
{
	struct fixture *f = *state;
	char d[UKIMG_DIGEST_SIZE], path[PATH_MAX * 2];
	uk_err_t err = {0};
	FILE *fp;

	assert_int_equal(ukimg_store_put_buf(f->store, "precious data", 13, NULL, d, &err), 0);
	ukimg_store_path(f->store, d, path, sizeof(path), &err);
	fp = fopen(path, "r+");
	assert_non_null(fp);
	fputc('P', fp);
	fclose(fp);
	assert_int_equal(ukimg_store_verify(f->store, d, &err), -1);
	assert_int_equal(err.status, 500);
	assert_non_null(strstr(err.message, "is corrupt (its content hashes to sha256:"));
	assert_non_null(strstr(err.message, d));
}

static void test_bad_digests(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
	        "",
	        "sha256:",
	        "sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
	        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982",
	        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b98244",
	        "sha512:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
	        "sha256:../../../../../../../../../../../../../../../../../../etc/passwd0",
	};
	char path[PATH_MAX * 2];
	uk_err_t err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(ukimg_digest_valid(bad[i]));
		assert_false(ukimg_store_has(f->store, bad[i]));
		uk_err_clear(&err);
		assert_int_equal(ukimg_store_path(f->store, bad[i], path, sizeof(path), &err), -1);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, "invalid digest"));
		assert_int_equal(ukimg_store_delete(f->store, bad[i], &err), -1);
		assert_int_equal(ukimg_store_put_buf(f->store, "x", 1, bad[i], NULL, &err), -1);
		assert_int_equal(err.status, 400);
	}
	assert_true(ukimg_digest_valid(HELLO_DIGEST));
	assert_null(ukimg_store_open("relative/root", &err));
	assert_int_equal(err.status, 400);
}

static void test_stale_tmp_swept(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX * 2];
	struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
	uk_err_t err = {0};
	ukimg_store_t *s2;

	tu_write(f->tmp, "blob-old", "debris");
	tu_write(f->tmp, "blob-new", "in flight");
	snprintf(path, sizeof(path), "%s/blob-old", f->tmp);
	utimensat(AT_FDCWD, path, old, 0);
	s2 = ukimg_store_open(f->root, &err);
	assert_non_null(s2);
	assert_false(tu_exists(path));
	snprintf(path, sizeof(path), "%s/blob-new", f->tmp);
	assert_true(tu_exists(path));
	ukimg_store_free(s2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_layout_and_put), T(test_put_fd_pipe), T(test_put_fails_midway),
	        T(test_tamper),         T(test_bad_digests), T(test_stale_tmp_swept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
