/* Build tests with the real ukcc: images/examples/hello becomes an x86_64 ELF kernel; compile
 * errors store nothing; a source named @FILE is compiled, never read as gcc's options. */
#include "testutil.h"

struct ctx {
	char out[65536];
	size_t len;
};

static void on_progress(void *p, const char *line)
{
	struct ctx *c = p;
	int n = snprintf(c->out + c->len, sizeof(c->out) - c->len, "%s\n", line);

	if (n > 0 && c->len + (size_t)n < sizeof(c->out))
		c->len += (size_t)n;
}

static int ukcc_usable(void)
{
	char cmd[PATH_MAX * 2];

	if (access(UKIMG_TEST_UKCC, X_OK) != 0) {
		fprintf(stderr, "SKIP: %s is absent: build the ukcc target first\n",
		        UKIMG_TEST_UKCC);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "test -f \"$(%s --print-libdir)/libukc.a\"", UKIMG_TEST_UKCC);
	if (system(cmd) != 0) {
		fprintf(stderr, "SKIP: %s has no runtime-lib beside it: build the ukcc target\n",
		        UKIMG_TEST_UKCC);
		return 0;
	}
	return 1;
}

static ukimg_store_t *store;
static char *dir;

static int build_dir(const char *ctxdir, ukimg_build_result_t *r, struct ctx *c, uk_err_t *err)
{
	ukimg_build_opts_t o;

	ukimg_build_opts_init(&o);
	o.context_dir = ctxdir;
	o.ukcc_path = UKIMG_TEST_UKCC;
	o.progress = on_progress;
	o.progress_ctx = c;
	c->len = 0;
	c->out[0] = 0;
	return ukimg_build(store, &o, r, err);
}

static void test_hello(void **state)
{
	ukimg_build_result_t r1, r2;
	struct ctx c;
	uk_err_t err = {0};
	char kp[PATH_MAX];
	unsigned char eh[64];
	ukimg_info_t info;
	FILE *k;

	(void)state;
	if (build_dir(UKIMG_TEST_EXAMPLES "/hello", &r1, &c, &err) < 0) {
		fprintf(stderr, "%s\n%s", err.message, c.out);
		fail();
	}
	assert_int_equal(ukimg_kernel_path(store, r1.manifest_digest, kp, sizeof(kp), &err), 0);
	k = fopen(kp, "r");
	assert_non_null(k);
	assert_int_equal(fread(eh, 1, sizeof(eh), k), sizeof(eh));
	fclose(k);
	assert_memory_equal(eh, "\177ELF", 4);
	assert_int_equal(eh[4], 2);                 /* ELFCLASS64 */
	assert_int_equal(eh[18] | eh[19] << 8, 62); /* EM_X86_64 */
	assert_int_equal(ukimg_inspect(store, r1.manifest_digest, &info, &err), 0);
	assert_string_equal(info.cmd[0], "world");
	ukimg_info_clear(&info);

	/* the layer is reproducible: same context, same ukcc, same bytes */
	assert_int_equal(build_dir(UKIMG_TEST_EXAMPLES "/hello", &r2, &c, &err), 0);
	assert_string_equal(r1.layer_digest, r2.layer_digest);
}

static void test_compile_error(void **state)
{
	ukimg_build_result_t r;
	struct ctx c;
	uk_err_t err = {0};
	char ctxdir[PATH_MAX + 16], blobs[PATH_MAX + 32];
	int before;

	(void)state;
	snprintf(ctxdir, sizeof(ctxdir), "%s/bad", dir);
	mkdir(ctxdir, 0755);
	tu_write(ctxdir, "Ukfile", "SOURCES main.c\n");
	tu_write(ctxdir, "main.c", "int main(void)\n{\n\treturn undeclared_thing;\n}\n");
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", dir);
	before = tu_count(blobs);
	assert_int_equal(build_dir(ctxdir, &r, &c, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "build: compile failed (exit "));
	assert_non_null(strstr(c.out, "main.c:3"));
	assert_non_null(strstr(c.out, "undeclared_thing"));
	assert_int_equal(tu_count(blobs), before);
}

/*
 * Issue 10: gcc reads an argument @opts.c as the options in the file opts.c; with
 * "-wrapper /bin/sh,./evil.sh" there, gcc ran evil.sh. Through a build and through ukcc itself,
 * @opts.c must be compiled as the C file it is and evil.sh never run.
 */
static void test_response_file(void **state)
{
	ukimg_build_result_t r;
	struct ctx c;
	uk_err_t err = {0};
	char ctxdir[PATH_MAX + 16], cmd[PATH_MAX * 3];

	(void)state;
	snprintf(ctxdir, sizeof(ctxdir), "%s/atk", dir);
	mkdir(ctxdir, 0755);
	tu_write(ctxdir, "Ukfile", "SOURCES main.c @opts.c\n");
	tu_write(ctxdir, "main.c", "int main(void)\n{\n\treturn 0;\n}\n");
	tu_write(ctxdir, "@opts.c", "int uk_opts_unused;\n");
	tu_write(ctxdir, "opts.c", "-wrapper /bin/sh,./evil.sh extra.c\n");
	tu_write(ctxdir, "extra.c", "int uk_opts_unused;\n");
	tu_write(ctxdir, "evil.sh", "echo EVIL-RAN >&2\nexec \"$@\"\n");
	if (build_dir(ctxdir, &r, &c, &err) < 0) {
		fprintf(stderr, "%s\n%s", err.message, c.out);
		fail();
	}
	assert_null(strstr(c.out, "EVIL-RAN"));
	/* ukcc on its own (a local user's command line), without the build's "./" */
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && '%s' -o '%s/atk.elf' main.c @opts.c 2>&1 | grep -q EVIL-RAN", ctxdir,
	         UKIMG_TEST_UKCC, dir);
	assert_int_not_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "test -s '%s/atk.elf'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hello),
	        cmocka_unit_test(test_compile_error),
	        cmocka_unit_test(test_response_file),
	};
	uk_err_t err = {0};
	int rc;

	if (!ukcc_usable())
		return 77;
	dir = tu_mkdtemp();
	store = ukimg_store_open(dir, &err);
	assert_non_null(store);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	ukimg_store_free(store);
	tu_rm_rf(dir);
	free(dir);
	return rc;
}
