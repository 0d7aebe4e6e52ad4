/* Tar tests: every unsafe entry refused with a clear message and nothing written outside; the
 * writer round-trips. */
#include "testutil.h"

/* A fresh layout: base/ holds dest/ (the extraction dir) and nothing else. */
struct fixture {
	char *base;
	char dest[PATH_MAX];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->base = tu_mkdtemp();
	snprintf(f->dest, sizeof(f->dest), "%s/dest", f->base);
	mkdir(f->dest, 0700);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_rm_rf(f->base);
	free(f->base);
	free(f);
	return 0;
}

/* Extracts (t) into dest with (lim); returns the result and the error. */
static int extract(struct fixture *f, struct rawtar *t, const ukimg_tar_limits_t *lim,
                   uk_err_t *err)
{
	int fd = rawtar_fd(t, f->base), rc;

	uk_err_clear(err);
	rc = ukimg_tar_extract(fd, f->dest, lim, err);
	close(fd);
	rawtar_free(t);
	/* The archive file was unlinked: base must hold dest/ only, whatever happened. */
	assert_int_equal(tu_count(f->base), 1);
	return rc;
}

static void expect_refused(struct fixture *f, struct rawtar *t, const ukimg_tar_limits_t *lim,
                           int status, const char *want)
{
	uk_err_t err;

	if (extract(f, t, lim, &err) == 0) {
		fprintf(stderr, "extraction succeeded, want refusal: %s\n", want);
		fail();
	}
	if (err.status != status || !strstr(err.message, want)) {
		fprintf(stderr, "want %d \"%s\"\ngot  %d \"%s\"\n", status, want, err.status,
		        err.message);
		fail();
	}
}

static void test_traversal(void **state)
{
	struct fixture *f = *state;
	struct rawtar t = {0};

	rawtar_add(&t, "../x", '0', NULL, "evil", 4);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400,
	               "tar entry \"../x\": path with a \"..\" component refused");

	rawtar_add(&t, "ok/../../x", '0', NULL, "evil", 4);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"ok/../../x\": path with a \"..\"");

	/* ".." inside the tree is refused too: it's never needed */
	rawtar_add(&t, "a/../b", '0', NULL, "x", 1);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "\"..\" component refused");

	/* hidden behind a pax path or a GNU long name */
	rawtar_pax(&t, "path", "innocent/../../../x");
	rawtar_add(&t, "innocent", '0', NULL, "x", 1);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"innocent/../../../x\"");
	rawtar_gnu_longname(&t, "../long");
	rawtar_add(&t, "short", '0', NULL, "x", 1);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"../long\"");
	assert_int_equal(tu_count(f->dest), 0);
}

static void test_absolute(void **state)
{
	struct fixture *f = *state;
	struct rawtar t = {0};

	rawtar_add(&t, "/etc/x", '0', NULL, "evil", 4);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"/etc/x\": absolute path refused");
	rawtar_add(&t, "/", '5', NULL, NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "absolute path refused");
}

static void test_symlink_escape(void **state)
{
	struct fixture *f = *state;
	struct rawtar t = {0};
	char p[PATH_MAX * 2];
	struct stat st;

	rawtar_add(&t, "l", '2', "../outside", NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"l\": symlink to \"../outside\" refused");
	rawtar_add(&t, "l", '2', "/etc", NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "symlink to \"/etc\" refused");
	rawtar_add(&t, "a/b/l", '2', "../../../x", NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "symlink to \"../../../x\" refused");
	/* "sub/up" -> ".." is inside, but "t" -> "sub/up/.." would be the parent of dest */
	rawtar_add(&t, "sub/up", '2', "..", NULL, 0);
	rawtar_add(&t, "t", '2', "sub/up/..", NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"t\": symlink to \"sub/up/..\" refused");
	tu_rm_rf(f->dest);
	mkdir(f->dest, 0700);

	/* A symlink inside is fine, but nothing is written through it. */
	rawtar_add(&t, "dir/", '5', NULL, NULL, 0);
	rawtar_add(&t, "link", '2', "dir", NULL, 0);
	rawtar_add(&t, "link/x", '0', NULL, "x", 1);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400,
	               "tar entry \"link/x\": path goes through \"link\", which is a symlink");
	snprintf(p, sizeof(p), "%s/dir/x", f->dest);
	assert_false(tu_exists(p));
	tu_rm_rf(f->dest);
	mkdir(f->dest, 0700);

	/* A file entry replaces an earlier symlink instead of writing through it. */
	rawtar_add(&t, "f", '2', "g", NULL, 0);
	rawtar_add(&t, "f", '0', NULL, "data", 4);
	rawtar_end(&t);
	uk_err_t err;
	assert_int_equal(extract(f, &t, NULL, &err), 0);
	snprintf(p, sizeof(p), "%s/f", f->dest);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	snprintf(p, sizeof(p), "%s/g", f->dest);
	assert_false(tu_exists(p));
}

static void test_hardlink_escape(void **state)
{
	struct fixture *f = *state;
	struct rawtar t = {0};
	char a[PATH_MAX * 2], b[PATH_MAX * 2];
	struct stat sa, sb;
	uk_err_t err;

	rawtar_add(&t, "h", '1', "../outside", NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"h\": hard link to \"../outside\" refused");
	rawtar_add(&t, "h", '1', "/etc/passwd", NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "hard link to \"/etc/passwd\" refused");
	rawtar_add(&t, "h", '1', "missing", NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "hard link to \"missing\" refused");
	/* a hard link to a symlink would re-point it from another directory */
	rawtar_add(&t, "d/s", '2', "../x", NULL, 0);
	rawtar_add(&t, "h", '1', "d/s", NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"h\": hard link to \"d/s\" refused");
	tu_rm_rf(f->dest);
	mkdir(f->dest, 0700);

	rawtar_add(&t, "real", '0', NULL, "content", 7);
	rawtar_add(&t, "sub/h", '1', "real", NULL, 0);
	rawtar_end(&t);
	assert_int_equal(extract(f, &t, NULL, &err), 0);
	snprintf(a, sizeof(a), "%s/real", f->dest);
	snprintf(b, sizeof(b), "%s/sub/h", f->dest);
	assert_int_equal(stat(a, &sa), 0);
	assert_int_equal(stat(b, &sb), 0);
	assert_int_equal(sa.st_ino, sb.st_ino);
}

static void test_special_files(void **state)
{
	struct fixture *f = *state;
	struct rawtar t = {0};

	rawtar_add(&t, "dev", '3', NULL, NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"dev\": device nodes are refused");
	rawtar_add(&t, "blk", '4', NULL, NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "device nodes are refused");
	rawtar_add(&t, "fifo", '6', NULL, NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"fifo\": fifos are refused");
	rawtar_add(&t, "sparse", 'S', NULL, NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "unsupported entry type 'S'");
	assert_int_equal(tu_count(f->dest), 0);
}

static void test_limits(void **state)
{
	struct fixture *f = *state;
	struct rawtar t = {0};
	ukimg_tar_limits_t lim = {.max_entries = 5, .max_bytes = 1000};
	char big[2000];

	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		rawtar_add(&t, name, '0', NULL, "x", 1);
	}
	rawtar_end(&t);
	expect_refused(f, &t, &lim, 413, "tar: more than 5 entries: the archive is too large");

	memset(big, 'a', sizeof(big));
	rawtar_add(&t, "big", '0', NULL, big, sizeof(big));
	rawtar_end(&t);
	expect_refused(f, &t, &lim, 413,
	               "tar entry \"big\": the archive holds more than 1000 bytes of file data");
	{
		char p[PATH_MAX * 2];
		snprintf(p, sizeof(p), "%s/big", f->dest);
		assert_false(tu_exists(p));
	}
	/* the sum counts, not each file */
	rawtar_add(&t, "a", '0', NULL, big, 600);
	rawtar_add(&t, "b", '0', NULL, big, 600);
	rawtar_end(&t);
	expect_refused(f, &t, &lim, 413, "tar entry \"b\": the archive holds more than 1000 bytes");
	/* a meta header cannot be abused to allocate without bound */
	{
		unsigned char h[512];
		rawtar_header(&t, "PaxHeader", 'x', NULL, 1ULL << 30, 0);
		memset(h, 0, sizeof(h));
		rawtar_bytes(&t, h, 512);
		expect_refused(f, &t, &lim, 400,
		               "extended header of 1073741824 bytes is too large");
	}
	/* the defaults apply with zero limits: 10000 entries */
	for (int i = 0; i < 10001; i++)
		rawtar_add(&t, "same", '0', NULL, NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 413, "more than 10000 entries");
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	struct rawtar t = {0};

	rawtar_header(&t, "x", '0', NULL, 0, 1);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar: bad header checksum");
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar: empty archive");
	rawtar_add(&t, "x", '0', NULL, "abc", 3);
	expect_refused(f, &t, NULL, 400, "tar: truncated archive (no end-of-archive blocks)");
	rawtar_header(&t, "y", '0', NULL, 5000, 0);
	rawtar_bytes(&t, "short", 5);
	expect_refused(f, &t, NULL, 400, "tar entry \"y\": truncated archive");
	rawtar_pax(&t, "path", "a");
	t.buf[512] = 'x'; /* break the record length */
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "malformed pax extended header");
	/* control characters are escaped in messages */
	rawtar_add(&t, "/\x1b[2J", '0', NULL, NULL, 0);
	rawtar_end(&t);
	expect_refused(f, &t, NULL, 400, "tar entry \"/\\x1b[2J\"");
}

static void test_long_names(void **state)
{
	struct fixture *f = *state;
	struct rawtar t = {0};
	char longp[400], p[PATH_MAX * 2];
	uk_err_t err;

	/* 300 characters: 3 directories of 90 + a file name */
	snprintf(longp, sizeof(longp), "%090d/%090d/%090d/file.txt", 1, 2, 3);
	rawtar_pax(&t, "path", longp);
	rawtar_add(&t, "truncated", '0', NULL, "pax", 3);
	rawtar_gnu_longname(&t, "gnu/very/long/name/that/does/not/fit/in/one/hundred/characters/"
	                        "of/the/ustar/name/field/at/all.txt");
	rawtar_add(&t, "short", '0', NULL, "gnu", 3);
	rawtar_add(&t, "./plain", '0', NULL, "p", 1);
	rawtar_add(&t, "./", '5', NULL, NULL, 0);
	rawtar_end(&t);
	if (extract(f, &t, NULL, &err) != 0) {
		fprintf(stderr, "%s\n", err.message);
		fail();
	}
	snprintf(p, sizeof(p), "%s/%s", f->dest, longp);
	assert_true(tu_exists(p));
	snprintf(p, sizeof(p),
	         "%s/gnu/very/long/name/that/does/not/fit/in/one/hundred/characters/"
	         "of/the/ustar/name/field/at/all.txt",
	         f->dest);
	assert_true(tu_exists(p));
	snprintf(p, sizeof(p), "%s/plain", f->dest);
	assert_true(tu_exists(p));
	snprintf(p, sizeof(p), "%s/truncated", f->dest);
	assert_false(tu_exists(p));
}

static void test_writer_roundtrip(void **state)
{
	struct fixture *f = *state;
	char longname[300], path[PATH_MAX * 2], src[PATH_MAX];
	ukimg_tar_t *tar = ukimg_tar_new();
	uk_err_t err = {0};
	struct stat st;
	int fd1, fd2;
	size_t n1, n2;
	char *b1, *b2;

	snprintf(src, sizeof(src), "%s/src.bin", f->base);
	tu_write(f->base, "src.bin", "file content\n");
	snprintf(longname, sizeof(longname), "d/%0200d/%060d.txt", 7, 8); /* > 255: pax */
	assert_int_equal(ukimg_tar_add_buf(tar, "z.txt", "zed", 3, 0, &err), 0);
	assert_int_equal(ukimg_tar_add_dir(tar, "d", &err), 0);
	assert_int_equal(ukimg_tar_add_file(tar, "d/exe", src, 1, &err), 0);
	assert_int_equal(ukimg_tar_add_buf(tar, longname, "long", 4, 0, &err), 0);
	assert_int_equal(ukimg_tar_add_dir(tar, "d", &err), 0); /* a dir twice is fine */
	assert_int_equal(ukimg_tar_add_buf(tar, "../bad", "x", 1, 0, &err), -1);
	assert_int_equal(ukimg_tar_add_buf(tar, "/abs", "x", 1, 0, &err), -1);
	assert_int_equal(ukimg_tar_add_buf(tar, "a//b", "x", 1, 0, &err), -1);

	snprintf(path, sizeof(path), "%s/out1.tar", f->base);
	fd1 = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(ukimg_tar_write(tar, fd1, &err), 0);
	snprintf(path, sizeof(path), "%s/out2.tar", f->base);
	fd2 = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(ukimg_tar_write(tar, fd2, &err), 0);
	ukimg_tar_free(tar);

	/* deterministic: the same bytes twice */
	n1 = (size_t)lseek(fd1, 0, SEEK_END);
	n2 = (size_t)lseek(fd2, 0, SEEK_END);
	assert_int_equal(n1, n2);
	assert_int_equal(n1 % 512, 0);
	b1 = malloc(n1);
	b2 = malloc(n2);
	assert_int_equal(pread(fd1, b1, n1, 0), (ssize_t)n1);
	assert_int_equal(pread(fd2, b2, n2, 0), (ssize_t)n2);
	assert_memory_equal(b1, b2, n1);
	/* sorted: "d/" comes first, mtime 0 */
	assert_string_equal(b1, "d/");
	assert_memory_equal(b1 + 136, "00000000000", 11);
	free(b1);
	free(b2);
	close(fd2);

	/* read back with our reader */
	lseek(fd1, 0, SEEK_SET);
	assert_int_equal(ukimg_tar_extract(fd1, f->dest, NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/%s", f->dest, longname);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4);
	snprintf(path, sizeof(path), "%s/d/exe", f->dest);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	snprintf(path, sizeof(path), "%s/z.txt", f->dest);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	close(fd1);

	/* and with GNU tar, if present */
	if (system("tar --version >/dev/null 2>&1") == 0) {
		char cmd[PATH_MAX * 3];
		snprintf(cmd, sizeof(cmd), "tar -tf %s/out1.tar | grep -q '^d/exe$'", f->base);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "tar -tf %s/out1.tar | grep -q '%s'", f->base, longname);
		assert_int_equal(system(cmd), 0);
	}
	unlink(src);
	snprintf(path, sizeof(path), "%s/out1.tar", f->base);
	unlink(path);
	snprintf(path, sizeof(path), "%s/out2.tar", f->base);
	unlink(path);
}

static void test_writer_duplicate(void **state)
{
	ukimg_tar_t *tar = ukimg_tar_new();
	uk_err_t err = {0};
	int fd = open("/dev/null", O_WRONLY);

	(void)state;
	ukimg_tar_add_buf(tar, "a", "1", 1, 0, &err);
	ukimg_tar_add_dir(tar, "a", &err);
	assert_int_equal(ukimg_tar_write(tar, fd, &err), -1);
	assert_string_equal(err.message, "tar: \"a\" added twice");
	close(fd);
	ukimg_tar_free(tar);
}

static void test_gnu_tar_input(void **state)
{
	struct fixture *f = *state;
	char cmd[PATH_MAX * 3], p[PATH_MAX * 2];
	uk_err_t err = {0};
	int fd;

	if (system("tar --version >/dev/null 2>&1") != 0)
		skip();
	tu_write(f->base, "src/a.c", "int a;\n");
	tu_write(f->base, "src/sub/b.h", "#define B\n");
	/* posix format with a long name, as `uk build` clients may produce */
	snprintf(cmd, sizeof(cmd),
	         "cd %s/src && mkdir -p %0120d && echo hi > %0120d/f && ln -s a.c link.c && "
	         "tar --format=posix -cf ../ctx.tar . && tar --format=gnu -cf ../ctx-gnu.tar .",
	         f->base, 1, 1);
	assert_int_equal(system(cmd), 0);
	snprintf(p, sizeof(p), "%s/ctx.tar", f->base);
	fd = open(p, O_RDONLY);
	assert_int_equal(ukimg_tar_extract(fd, f->dest, NULL, &err), 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/sub/b.h", f->dest);
	assert_true(tu_exists(p));
	snprintf(p, sizeof(p), "%s/%0120d/f", f->dest, 1);
	assert_true(tu_exists(p));
	tu_rm_rf(f->dest);
	mkdir(f->dest, 0700);
	snprintf(p, sizeof(p), "%s/ctx-gnu.tar", f->base);
	fd = open(p, O_RDONLY);
	assert_int_equal(ukimg_tar_extract(fd, f->dest, NULL, &err), 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/%0120d/f", f->dest, 1);
	assert_true(tu_exists(p));
	snprintf(cmd, sizeof(cmd), "rm -rf %s/src %s/ctx.tar %s/ctx-gnu.tar", f->base, f->base,
	         f->base);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_traversal),        T(test_absolute),      T(test_symlink_escape),
	        T(test_hardlink_escape),  T(test_special_files), T(test_limits),
	        T(test_malformed),        T(test_long_names),    T(test_writer_roundtrip),
	        T(test_writer_duplicate), T(test_gnu_tar_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
