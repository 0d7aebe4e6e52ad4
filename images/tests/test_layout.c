/* Save/load tests: OCI layout round trip into a second store, and archives that must be refused
 * whole. */
#include "testutil.h"

#include <json-c/json.h>

struct fixture {
	char *dir;
	char root_a[PATH_MAX], root_b[PATH_MAX], ctx[PATH_MAX], tarpath[PATH_MAX];
	char *ukcc;
	ukimg_store_t *a, *b;
	ukimg_build_result_t img1, img2;
};

static void build(struct fixture *f, const char *src, ukimg_build_result_t *r)
{
	ukimg_build_opts_t o;
	uk_err_t err = {0};

	tu_write(f->ctx, "Ukfile", "SOURCES main.c\nCMD hello\nFILES data.txt /data.txt\n");
	tu_write(f->ctx, "data.txt", "some data\n");
	tu_write(f->ctx, "main.c", "%s", src);
	ukimg_build_opts_init(&o);
	o.context_dir = f->ctx;
	o.ukcc_path = f->ukcc;
	if (ukimg_build(f->a, &o, r, &err) < 0) {
		fprintf(stderr, "%s\n", err.message);
		fail();
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uk_err_t err = {0};

	f->dir = tu_mkdtemp();
	snprintf(f->root_a, sizeof(f->root_a), "%s/a", f->dir);
	snprintf(f->root_b, sizeof(f->root_b), "%s/b", f->dir);
	snprintf(f->ctx, sizeof(f->ctx), "%s/ctx", f->dir);
	snprintf(f->tarpath, sizeof(f->tarpath), "%s/saved.tar", f->dir);
	mkdir(f->ctx, 0755);
	f->ukcc = tu_fake_ukcc(f->dir);
	f->a = ukimg_store_open(f->root_a, &err);
	f->b = ukimg_store_open(f->root_b, &err);
	assert_non_null(f->a);
	assert_non_null(f->b);
	build(f, "int main(void) { return 1; }\n", &f->img1);
	build(f, "int main(void) { return 2; }\n", &f->img2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ukimg_store_free(f->a);
	ukimg_store_free(f->b);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f->ukcc);
	free(f);
	return 0;
}

static int blob_count(const char *root)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/blobs/sha256", root);
	return tu_count(p);
}

struct loaded {
	char names[8][64];
	char digests[8][UKIMG_DIGEST_SIZE];
	int n;
};

static int on_load(void *ctx, const char *name, const char *digest, uk_err_t *err)
{
	struct loaded *l = ctx;

	(void)err;
	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name ? name : "(none)");
	snprintf(l->digests[l->n], sizeof(l->digests[0]), "%s", digest);
	l->n++;
	return 0;
}

static void save(struct fixture *f, const ukimg_ref_t *refs, size_t n)
{
	uk_err_t err = {0};
	int fd = open(f->tarpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	if (ukimg_save(f->a, refs, n, fd, &err) < 0) {
		fprintf(stderr, "%s\n", err.message);
		fail();
	}
	close(fd);
}

static int load(struct fixture *f, struct loaded *l, uk_err_t *err)
{
	int fd = open(f->tarpath, O_RDONLY), rc;

	assert_true(fd >= 0);
	memset(l, 0, sizeof(*l));
	uk_err_clear(err);
	rc = ukimg_load(f->b, fd, NULL, on_load, l, err);
	close(fd);
	return rc;
}

static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	ukimg_ref_t refs[] = {{"hello:latest", f->img1.manifest_digest},
	                      {"hello:v1", f->img1.manifest_digest},
	                      {"other:2", f->img2.manifest_digest},
	                      {NULL, f->img2.manifest_digest}};
	struct loaded l;
	uk_err_t err = {0};
	ukimg_info_t ia, ib;
	char cmd[PATH_MAX * 5], ka[PATH_MAX], kb[PATH_MAX];

	save(f, refs, 4);
	/* GNU tar sees the OCI layout */
	snprintf(cmd, sizeof(cmd),
	         "tar -tf %s | grep -qx oci-layout && tar -tf %s | grep -qx index.json && "
	         "tar -xOf %s index.json | grep -q '\"io.containerd.image.name\":\"hello:v1\"' && "
	         "tar -xOf %s manifest.json | grep -q "
	         "'\"RepoTags\":\\[\"hello:latest\",\"hello:v1\"\\]'",
	         f->tarpath, f->tarpath, f->tarpath, f->tarpath);
	assert_int_equal(system(cmd), 0);

	if (load(f, &l, &err) < 0) {
		fprintf(stderr, "%s\n", err.message);
		fail();
	}
	assert_int_equal(l.n, 4);
	assert_string_equal(l.names[0], "hello:latest");
	assert_string_equal(l.digests[0], f->img1.manifest_digest);
	assert_string_equal(l.names[1], "hello:v1");
	assert_string_equal(l.names[2], "other:2");
	assert_string_equal(l.digests[2], f->img2.manifest_digest);
	assert_string_equal(l.names[3], "(none)");

	/* identical digests, identical content; blobs shared between images stored once */
	assert_int_equal(blob_count(f->root_b), blob_count(f->root_a));
	assert_int_equal(ukimg_inspect(f->a, f->img2.manifest_digest, &ia, &err), 0);
	assert_int_equal(ukimg_inspect(f->b, f->img2.manifest_digest, &ib, &err), 0);
	assert_string_equal(ia.config_digest, ib.config_digest);
	assert_string_equal(ia.created_rfc3339, ib.created_rfc3339);
	assert_string_equal(ib.cmd[0], "hello");
	ukimg_info_clear(&ia);
	ukimg_info_clear(&ib);
	{
		size_t n;
		char **v = ukimg_image_blobs(f->b, f->img1.manifest_digest, &n, &err);
		assert_non_null(v);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(ukimg_store_verify(f->b, v[i], &err), 0);
		ukimg_strv_free(v);
	}
	assert_int_equal(ukimg_kernel_path(f->a, f->img1.manifest_digest, ka, sizeof(ka), &err), 0);
	assert_int_equal(ukimg_kernel_path(f->b, f->img1.manifest_digest, kb, sizeof(kb), &err), 0);
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", ka, kb);
	assert_int_equal(system(cmd), 0);

	/* loading again is harmless */
	assert_int_equal(load(f, &l, &err), 0);
	snprintf(cmd, sizeof(cmd), "%s/tmp", f->root_b);
	assert_int_equal(tu_count(cmd), 0);
}

/* Rewrites the saved archive with sed-like byte replacement of (from) by (to) (same length). */
static void tamper(struct fixture *f, const char *from, const char *to)
{
	FILE *fp = fopen(f->tarpath, "r+");
	char *buf;
	long len;
	char *hit;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	buf = malloc((size_t)len);
	fseek(fp, 0, SEEK_SET);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	hit = memmem(buf, (size_t)len, from, strlen(from));
	assert_non_null(hit);
	memcpy(hit, to, strlen(to));
	fseek(fp, 0, SEEK_SET);
	assert_int_equal(fwrite(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	free(buf);
}

static void test_tampered_blob(void **state)
{
	struct fixture *f = *state;
	ukimg_ref_t refs[] = {{"hello:latest", f->img1.manifest_digest}};
	struct loaded l;
	uk_err_t err;

	save(f, refs, 1);
	tamper(f, "some data", "SOME DATA"); /* inside the layer blob */
	assert_int_equal(load(f, &l, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "is corrupt: its content hashes to sha256:"));
	assert_non_null(strstr(err.message, f->img1.layer_digest));
	assert_int_equal(l.n, 0);
	assert_int_equal(blob_count(f->root_b), 0);
}

static void test_refused_archives(void **state)
{
	struct fixture *f = *state;
	ukimg_ref_t refs[] = {{"hello:latest", f->img1.manifest_digest}};
	struct loaded l;
	uk_err_t err;
	ukimg_tar_t *tar;
	int fd;
	char missing[] = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	ukimg_ref_t bad[] = {{"x", missing}};

	/* saving an unknown image fails and names it */
	fd = open("/dev/null", O_WRONLY);
	assert_int_equal(ukimg_save(f->a, bad, 1, fd, &err), -1);
	assert_int_equal(err.status, 404);
	close(fd);

	/* not an OCI layout */
	tar = ukimg_tar_new();
	ukimg_tar_add_buf(tar, "manifest.json", "[]", 2, 0, &err);
	fd = open(f->tarpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(ukimg_tar_write(tar, fd, &err), 0);
	close(fd);
	ukimg_tar_free(tar);
	assert_int_equal(load(f, &l, &err), -1);
	assert_non_null(
	        strstr(err.message, "a Docker archive without oci-layout is not supported"));

	/* a manifest listed in index.json whose blob is missing */
	save(f, refs, 1);
	tamper(f, f->img1.manifest_digest, "sha256:0000000000"); /* in index.json */
	assert_int_equal(load(f, &l, &err), -1);
	assert_non_null(strstr(err.message, "is missing from the archive"));

	/* an archive that isn't tar at all */
	fd = open(f->tarpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "{\"hello\": 1}\n", 13), 13);
	close(fd);
	assert_int_equal(load(f, &l, &err), -1);
	assert_non_null(strstr(err.message, "load: tar:"));

	/* a name annotation holding \u0000: json-c would hand "hello" to the tag callback */
	{
		ukimg_ref_t nul_ref[] = {{"hello:abcdefg", f->img1.manifest_digest}};
		save(f, nul_ref, 1);
		tamper(f, "hello:abcdefg", "hello\\u0000xy");
		assert_int_equal(load(f, &l, &err), -1);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, "\\u0000"));
	}

	/* a key twice (json-c keeps the last): the tag a reader sees first is not the one loaded */
	{
		static const char from[] =
		        "\"org.opencontainers.image.ref.name\":\"hello:abcdefg\"";
		char to[sizeof(from)];
		ukimg_ref_t dup_ref[] = {{"hello:abcdefg", f->img1.manifest_digest}};

		memset(to, ' ', sizeof(to) - 1);
		to[sizeof(to) - 1] = 0;
		memcpy(to, "\"io.containerd.image.name\":\"evil:v1\"", 36);
		save(f, dup_ref, 1);
		tamper(f, from, to);
		assert_int_equal(load(f, &l, &err), -1);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, "index.json"));
	}

	/* a bad layout version */
	save(f, refs, 1);
	tamper(f, "\"1.0.0\"", "\"2.0.0\"");
	assert_int_equal(load(f, &l, &err), -1);
	assert_non_null(strstr(err.message, "unsupported imageLayoutVersion \"2.0.0\""));

	assert_int_equal(l.n, 0);
	assert_int_equal(blob_count(f->root_b), 0);
	{
		char p[PATH_MAX + 16];
		snprintf(p, sizeof(p), "%s/tmp", f->root_b);
		assert_int_equal(tu_count(p), 0);
	}
}

/* A callback error aborts the load and is reported as is. */
static int refuse(void *ctx, const char *name, const char *digest, uk_err_t *err)
{
	(void)ctx;
	(void)digest;
	return uk_err_conflict(err, "tag %s is taken", name);
}

static void test_callback_error(void **state)
{
	struct fixture *f = *state;
	ukimg_ref_t refs[] = {{"hello:latest", f->img1.manifest_digest}};
	uk_err_t err = {0};
	int fd;

	save(f, refs, 1);
	fd = open(f->tarpath, O_RDONLY);
	assert_int_equal(ukimg_load(f->b, fd, NULL, refuse, NULL, &err), -1);
	close(fd);
	assert_int_equal(err.status, 409);
	assert_string_equal(err.message, "tag hello:latest is taken");
}

/* Archives made by another producer (Python's tarfile, see corpus/load/): one plain, one with
 * a nested image index whose name comes from the outer descriptor. */
static void test_foreign_archives(void **state)
{
	struct fixture *f = *state;
	struct loaded l = {0};
	uk_err_t err = {0};
	int fd;

	fd = open(UKIMG_TEST_SOURCE_DIR "/images/tests/corpus/load/simple.tar", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(ukimg_load(f->b, fd, NULL, on_load, &l, &err), 0);
	close(fd);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.names[0], "hello:latest");
	fd = open(UKIMG_TEST_SOURCE_DIR "/images/tests/corpus/load/nested.tar", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(ukimg_load(f->b, fd, NULL, on_load, &l, &err), 0);
	close(fd);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.names[1], "nested:1");
	assert_string_equal(l.digests[0], l.digests[1]);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_roundtrip),      T(test_tampered_blob),    T(test_refused_archives),
	        T(test_callback_error), T(test_foreign_archives),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
