/* Build pipeline tests with a stand-in ukcc: OCI output, progress, determinism, failures that store
 * nothing. */
#include "testutil.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

struct fixture {
	char *dir; /* holds root/, ctx/ and the fake ukcc */
	char root[PATH_MAX], ctx[PATH_MAX];
	char *ukcc;
	ukimg_store_t *store;
	char progress[65536];
	size_t plen;
};

static void on_progress(void *ctx, const char *line)
{
	struct fixture *f = ctx;
	int n = snprintf(f->progress + f->plen, sizeof(f->progress) - f->plen, "%s\n", line);

	assert_null(strchr(line, '\n'));
	if (n > 0 && f->plen + (size_t)n < sizeof(f->progress))
		f->plen += (size_t)n;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uk_err_t err = {0};

	f->dir = tu_mkdtemp();
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	snprintf(f->ctx, sizeof(f->ctx), "%s/ctx", f->dir);
	mkdir(f->ctx, 0755);
	f->ukcc = tu_fake_ukcc(f->dir);
	f->store = ukimg_store_open(f->root, &err);
	assert_non_null(f->store);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ukimg_store_free(f->store);
	tu_rm_rf(f->dir);
	free(f->dir);
	free(f->ukcc);
	free(f);
	return 0;
}

static void opts_init(struct fixture *f, ukimg_build_opts_t *o)
{
	ukimg_build_opts_init(o);
	o->context_dir = f->ctx;
	o->ukcc_path = f->ukcc;
	o->progress = on_progress;
	o->progress_ctx = f;
	f->plen = 0;
	f->progress[0] = 0;
}

static int blob_count(struct fixture *f)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/blobs/sha256", f->root);
	return tu_count(p);
}

static int tmp_count(struct fixture *f)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/tmp", f->root);
	return tu_count(p);
}

static json_object *blob_json(struct fixture *f, const char *digest)
{
	char *text = NULL;
	size_t len;
	uk_err_t err = {0};
	json_object *o;

	assert_int_equal(ukimg_store_read(f->store, digest, 1 << 20, &text, &len, &err), 0);
	o = json_tokener_parse(text);
	assert_non_null(o);
	free(text);
	return o;
}

static const char *jstr(json_object *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			return NULL;
	return json_object_get_string(o);
}

/* Lists the layer's entries with GNU tar ("uk/\nuk/kernel\n..."). */
static void layer_list(struct fixture *f, const char *digest, char *out, size_t outlen)
{
	char path[PATH_MAX * 2], cmd[PATH_MAX * 3];
	uk_err_t err = {0};
	FILE *p;
	size_t n;

	ukimg_store_path(f->store, digest, path, sizeof(path), &err);
	snprintf(cmd, sizeof(cmd), "tar -tf %s", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = 0;
	assert_int_equal(pclose(p), 0);
}

static void write_hello(struct fixture *f)
{
	tu_write(f->ctx, "Ukfile",
	         "FROM uk/runtime:1\nSOURCES main.c\nLIBS net\nENV MODE=test\nEXPOSE 80 "
	         "53/udp\nMEMORY 16M\nCMD [\"--port\", \"80\"]\n");
	tu_write(f->ctx, "main.c", "int main(void) { return 0; }\n");
}

static void test_build_ok(void **state)
{
	struct fixture *f = *state;
	ukimg_build_opts_t o;
	ukimg_build_result_t r;
	ukimg_info_t info;
	uk_err_t err = {0};
	json_object *m, *c;
	char list[4096], kpath[PATH_MAX], kp2[PATH_MAX], want[PATH_MAX * 2], head[5] = {0};
	int64_t before = time(NULL);
	FILE *k;

	write_hello(f);
	opts_init(f, &o);
	if (ukimg_build(f->store, &o, &r, &err) != 0) {
		fprintf(stderr, "%s\n%s", err.message, f->progress);
		fail();
	}
	assert_true(ukimg_digest_valid(r.manifest_digest));
	assert_true(ukimg_digest_valid(r.config_digest));
	assert_true(ukimg_digest_valid(r.layer_digest));
	assert_true(r.size > 0 && r.size % 512 == 0);
	assert_int_equal(blob_count(f), 3);
	assert_int_equal(tmp_count(f), 0);

	/* progress: steps, the compile command, the compiler's own output */
	assert_non_null(strstr(f->progress, "Step 1/4 : read the build context\n"));
	assert_non_null(strstr(f->progress, "Step 2/4 : parse Ukfile\n"));
	assert_non_null(
	        strstr(f->progress, "compile: ukcc --target=kvm -O2 -g -o kernel main.c -lnet\n"));
	assert_non_null(strstr(f->progress, "fake-ukcc: linked  main.c\n"));
	assert_non_null(strstr(f->progress, r.manifest_digest));

	/* manifest */
	m = blob_json(f, r.manifest_digest);
	assert_int_equal(json_object_get_int(json_object_object_get(m, "schemaVersion")), 2);
	assert_string_equal(jstr(m, "mediaType"), UKIMG_MT_MANIFEST);
	assert_string_equal(jstr(m, "config.mediaType"), UKIMG_MT_CONFIG);
	assert_string_equal(jstr(m, "config.digest"), r.config_digest);
	{
		json_object *layers = json_object_object_get(m, "layers"), *l0, *ann;
		assert_int_equal(json_object_array_length(layers), 1);
		l0 = json_object_array_get_idx(layers, 0);
		assert_string_equal(jstr(l0, "mediaType"), UKIMG_MT_LAYER);
		assert_string_equal(jstr(l0, "digest"), r.layer_digest);
		assert_int_equal(json_object_get_int64(json_object_object_get(l0, "size")), r.size);
		ann = json_object_object_get(m, "annotations");
		assert_string_equal(
		        json_object_get_string(json_object_object_get(ann, "org.uk.platform")),
		        "kvm");
		assert_string_equal(
		        json_object_get_string(json_object_object_get(ann, "org.uk.arch")),
		        "x86_64");
	}
	json_object_put(m);

	/* config */
	c = blob_json(f, r.config_digest);
	assert_string_equal(jstr(c, "architecture"), "amd64");
	assert_string_equal(jstr(c, "os"), "linux");
	assert_string_equal(jstr(c, "rootfs.type"), "layers");
	{
		json_object *cfg = json_object_object_get(c, "config"), *labels, *diff;
		diff = json_object_object_get(json_object_object_get(c, "rootfs"), "diff_ids");
		assert_string_equal(json_object_get_string(json_object_array_get_idx(diff, 0)),
		                    r.layer_digest);
		assert_string_equal(
		        json_object_to_json_string_ext(json_object_object_get(cfg, "Entrypoint"),
		                                       JSON_C_TO_STRING_PLAIN |
		                                               JSON_C_TO_STRING_NOSLASHESCAPE),
		        "[\"/uk/kernel\"]");
		assert_string_equal(
		        json_object_to_json_string_ext(json_object_object_get(cfg, "Cmd"),
		                                       JSON_C_TO_STRING_PLAIN),
		        "[\"--port\",\"80\"]");
		assert_string_equal(
		        json_object_to_json_string_ext(json_object_object_get(cfg, "Env"),
		                                       JSON_C_TO_STRING_PLAIN),
		        "[\"MODE=test\"]");
		assert_string_equal(
		        json_object_to_json_string_ext(json_object_object_get(cfg, "ExposedPorts"),
		                                       JSON_C_TO_STRING_PLAIN |
		                                               JSON_C_TO_STRING_NOSLASHESCAPE),
		        "{\"80/tcp\":{},\"53/udp\":{}}");
		labels = json_object_object_get(cfg, "Labels");
		assert_string_equal(
		        json_object_get_string(json_object_object_get(labels, "org.uk.platform")),
		        "kvm");
		assert_string_equal(json_object_get_string(json_object_object_get(
		                            labels, "org.uk.runtime.version")),
		                    "1");
		assert_string_equal(
		        json_object_get_string(json_object_object_get(labels, "org.uk.memory")),
		        "16777216");
		assert_string_equal(
		        json_object_get_string(json_object_object_get(labels, "org.uk.libs")),
		        "net");
	}
	json_object_put(c);

	/* layer */
	layer_list(f, r.layer_digest, list, sizeof(list));
	assert_string_equal(list, "uk/\nuk/kernel\n");

	/* inspect */
	assert_int_equal(ukimg_inspect(f->store, r.manifest_digest, &info, &err), 0);
	assert_string_equal(info.config_digest, r.config_digest);
	assert_int_equal(info.n_cmd, 2);
	assert_string_equal(info.cmd[1], "80");
	assert_int_equal(info.n_env, 1);
	assert_int_equal(info.n_ports, 2);
	assert_string_equal(info.exposed_ports[0], "53/udp"); /* sorted */
	assert_string_equal(info.exposed_ports[1], "80/tcp");
	assert_int_equal(info.memory, 16ULL << 20);
	assert_string_equal(info.platform, "kvm");
	assert_string_equal(info.architecture, "amd64");
	assert_string_equal(info.os, "linux");
	assert_string_equal(info.runtime_version, "1");
	assert_int_equal(info.cmdline_version, UKIMG_CMDLINE_VERSION); /* its kernel reads time= */
	assert_true(info.created >= before - 1 && info.created <= time(NULL) + 1);
	assert_int_equal(info.size, r.size);
	ukimg_info_clear(&info);

	/* kernel extraction: once, into kernels/<config hex>/kernel */
	assert_int_equal(ukimg_kernel_path(f->store, r.manifest_digest, kpath, sizeof(kpath), &err),
	                 0);
	snprintf(want, sizeof(want), "%s/kernels/%s/kernel", f->root, r.config_digest + 7);
	assert_string_equal(kpath, want);
	k = fopen(kpath, "r");
	assert_non_null(k);
	assert_int_equal(fread(head, 1, 4, k), 4);
	fclose(k);
	assert_string_equal(head, "\177ELF");
	assert_int_equal(ukimg_kernel_path(f->store, r.manifest_digest, kp2, sizeof(kp2), &err), 0);
	assert_string_equal(kp2, kpath);
	assert_int_equal(tmp_count(f), 0);

	/* image blobs and kernel removal */
	{
		size_t n;
		char **v = ukimg_image_blobs(f->store, r.manifest_digest, &n, &err);
		assert_non_null(v);
		assert_int_equal(n, 3);
		assert_string_equal(v[0], r.manifest_digest);
		assert_string_equal(v[1], r.config_digest);
		assert_string_equal(v[2], r.layer_digest);
		ukimg_strv_free(v);
	}
	assert_int_equal(ukimg_kernel_remove(f->store, r.config_digest, &err), 0);
	assert_false(tu_exists(kpath));
}

static void test_deterministic(void **state)
{
	struct fixture *f = *state;
	ukimg_build_opts_t o;
	ukimg_build_result_t r1, r2, r3;
	uk_err_t err = {0};

	write_hello(f);
	opts_init(f, &o);
	o.created = 1700000000;
	assert_int_equal(ukimg_build(f->store, &o, &r1, &err), 0);
	assert_int_equal(ukimg_build(f->store, &o, &r2, &err), 0);
	assert_string_equal(r1.manifest_digest, r2.manifest_digest);
	assert_string_equal(r1.config_digest, r2.config_digest);
	assert_string_equal(r1.layer_digest, r2.layer_digest);
	assert_int_equal(blob_count(f), 3);
	/* another time: same layer, different config */
	o.created = 1700000001;
	assert_int_equal(ukimg_build(f->store, &o, &r3, &err), 0);
	assert_string_equal(r3.layer_digest, r1.layer_digest);
	assert_string_not_equal(r3.config_digest, r1.config_digest);
	assert_int_equal(blob_count(f), 5);
}

static void test_files_and_wildcards(void **state)
{
	struct fixture *f = *state;
	ukimg_build_opts_t o;
	ukimg_build_result_t r;
	uk_err_t err = {0};
	char list[4096];

	tu_write(f->ctx, "Ukfile",
	         "SOURCES src/*.c\nFILES site /www\nFILES notes.txt /etc/\nFILES notes.txt "
	         "/doc/n.txt\nFILES site/index.html /\n");
	tu_write(f->ctx, "Ukfile.bad", "SOURCES src/*.c\nFILES notes.txt /n\nFILES site /n\n");
	tu_write(f->ctx, "src/a.c", "int a;\n");
	tu_write(f->ctx, "src/b.c", "int b;\n");
	tu_write(f->ctx, "site/index.html", "<h1>hi</h1>\n");
	tu_write(f->ctx, "site/css/s.css", "h1{}\n");
	tu_write(f->ctx, "notes.txt", "n\n");
	opts_init(f, &o);
	if (ukimg_build(f->store, &o, &r, &err) != 0) {
		fprintf(stderr, "%s\n", err.message);
		fail();
	}
	/* FILES reach ukcc as --embed SRC:DST, in order, after the sources. */
	assert_non_null(strstr(f->progress, "ukcc --target=kvm -O2 -g -o kernel src/a.c src/b.c "
	                                    "--embed site:/www --embed notes.txt:/etc/ --embed "
	                                    "notes.txt:/doc/n.txt --embed site/index.html:/\n"));
	layer_list(f, r.layer_digest, list, sizeof(list));
	assert_string_equal(list, "uk/\n"
	                          "uk/files/\n"
	                          "uk/files/doc/\n"
	                          "uk/files/doc/n.txt\n"
	                          "uk/files/etc/\n"
	                          "uk/files/etc/notes.txt\n"
	                          "uk/files/index.html\n"
	                          "uk/files/www/\n"
	                          "uk/files/www/css/\n"
	                          "uk/files/www/css/s.css\n"
	                          "uk/files/www/index.html\n"
	                          "uk/kernel\n");
	/* a file and a directory at one place */
	o.ukfile = "Ukfile.bad";
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_string_equal(err.message, "build: layer: tar: \"uk/files/n\" added twice");
}

static void test_compile_error(void **state)
{
	struct fixture *f = *state;
	ukimg_build_opts_t o;
	ukimg_build_result_t r;
	uk_err_t err = {0};

	tu_write(f->ctx, "Ukfile", "SOURCES main.c\n");
	tu_write(f->ctx, "main.c", "int main(void) { COMPILE_ERROR }\n");
	opts_init(f, &o);
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.message, "build: compile failed (exit 1)");
	assert_non_null(strstr(f->progress, "main.c:3:1: error: expected ';' before '}' token\n"));
	assert_int_equal(blob_count(f), 0);
	assert_int_equal(tmp_count(f), 0);
	assert_false(ukimg_digest_valid(r.manifest_digest));

	/* an unknown LIBS component is the compiler's error too */
	tu_write(f->ctx, "Ukfile", "SOURCES main.c\nLIBS bogus\n");
	tu_write(f->ctx, "main.c", "int main(void) { return 0; }\n");
	opts_init(f, &o);
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_string_equal(err.message, "build: compile failed (exit 1)");
	assert_non_null(strstr(f->progress, "unknown runtime-lib component 'bogus'"));
	assert_int_equal(blob_count(f), 0);
}

static void test_timeout(void **state)
{
	struct fixture *f = *state;
	ukimg_build_opts_t o;
	ukimg_build_result_t r;
	uk_err_t err = {0};
	time_t t0 = time(NULL);

	tu_write(f->ctx, "Ukfile", "SOURCES main.c\n");
	tu_write(f->ctx, "main.c", "SLEEP_FOREVER\n");
	opts_init(f, &o);
	o.timeout_sec = 1;
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_string_equal(err.message, "build exceeded its 1 s time limit "
	                                 "(build-limits.timeout-s): the compiler was killed");
	assert_true(time(NULL) - t0 < 10);
	assert_int_equal(blob_count(f), 0);
	assert_int_equal(tmp_count(f), 0);
}

static void test_bad_inputs(void **state)
{
	struct fixture *f = *state;
	ukimg_build_opts_t o;
	ukimg_build_result_t r;
	uk_err_t err = {0};

	opts_init(f, &o);
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "build: the build context has no Ukfile"));

	tu_write(f->ctx, "Ukfile", "SOURCES main.c\nSOURCS x.c\n");
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_string_equal(
	        err.message,
	        "build: Ukfile:2: unknown instruction \"SOURCS\" (did you mean SOURCES?)");

	tu_write(f->ctx, "Ukfile", "SOURCES main.c\n");
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_string_equal(err.message,
	                    "build: SOURCES \"main.c\": not found in the build context");

	tu_write(f->ctx, "Ukfile", "SOURCES nothing/*.c\n");
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_string_equal(err.message,
	                    "build: SOURCES \"nothing/*.c\" matches no file in the build context");

	/* a source that is a symlink leading out of the context */
	{
		char p[PATH_MAX * 2];
		tu_write(f->ctx, "Ukfile", "SOURCES main.c\n");
		tu_write(f->dir, "secret.c", "int secret;\n");
		snprintf(p, sizeof(p), "%s/main.c", f->ctx);
		assert_int_equal(symlink("../secret.c", p), 0);
	}
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_string_equal(err.message, "build: SOURCES \"main.c\" resolves outside the build "
	                                 "context (through a symlink)");

	tu_write(f->ctx, "Ukfile", "SOURCES ok.c\nFILES ../ /x\n");
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_non_null(strstr(err.message, "Ukfile:2: FILES: \"../\" leaves the build context"));

	tu_write(f->ctx, "ok.c", "int ok;\n");
	tu_write(f->ctx, "Ukfile", "SOURCES ok.c\nFILES main.c /x\n");
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_non_null(strstr(err.message, "FILES \"main.c\" resolves outside the build context"));

	tu_write(f->ctx, "Ukfile", "SOURCES ok.c\nCFLAGS -Imissing\n");
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_string_equal(err.message, "build: CFLAGS -I \"missing\": not found in the build "
	                                 "context");

	o.ukcc_path = "/nonexistent/ukcc";
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_int_equal(err.status, 500);
	assert_non_null(strstr(err.message, "build: ukcc not found at \"/nonexistent/ukcc\""));
	o.ukcc_path = f->ukcc;
	o.ukfile = "../Ukfile";
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(blob_count(f), 0);
	assert_int_equal(tmp_count(f), 0);
}

/* Builds from a tar on an fd and from a tar file, the way the daemon hands contexts over. */
static void test_context_tar(void **state)
{
	struct fixture *f = *state;
	ukimg_build_opts_t o;
	ukimg_build_result_t r1, r2;
	uk_err_t err = {0};
	ukimg_tar_t *tar = ukimg_tar_new();
	char path[PATH_MAX + 16];
	int fd;
	struct rawtar t = {0};

	ukimg_tar_add_buf(tar, "Ukfile", "SOURCES main.c\n", 15, 0, &err);
	ukimg_tar_add_buf(tar, "main.c", "int main;\n", 10, 0, &err);
	snprintf(path, sizeof(path), "%s/ctx.tar", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(ukimg_tar_write(tar, fd, &err), 0);
	ukimg_tar_free(tar);
	lseek(fd, 0, SEEK_SET);
	opts_init(f, &o);
	o.context_dir = NULL;
	o.context_fd = fd;
	o.created = 0;
	assert_int_equal(ukimg_build(f->store, &o, &r1, &err), 0);
	close(fd);
	o.context_fd = -1;
	o.context_tar = path;
	assert_int_equal(ukimg_build(f->store, &o, &r2, &err), 0);
	assert_string_equal(r1.manifest_digest, r2.manifest_digest);
	assert_int_equal(tmp_count(f), 0);

	/* a hostile context is refused before anything runs */
	rawtar_add(&t, "Ukfile", '0', NULL, "SOURCES main.c\n", 15);
	rawtar_add(&t, "../escape.c", '0', NULL, "x", 1);
	rawtar_end(&t);
	fd = rawtar_fd(&t, f->dir);
	rawtar_free(&t);
	o.context_tar = NULL;
	o.context_fd = fd;
	f->plen = 0;
	f->progress[0] = 0;
	assert_int_equal(ukimg_build(f->store, &o, &r1, &err), -1);
	close(fd);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "build: context: tar entry \"../escape.c\": path with "
	                                    "a \"..\" component refused"));
	assert_null(strstr(f->progress, "compile:"));
	{
		char p[PATH_MAX + 32];
		snprintf(p, sizeof(p), "%s/escape.c", f->root);
		assert_false(tu_exists(p));
	}
	assert_int_equal(tmp_count(f), 0);
}

static void test_inspect_errors(void **state)
{
	struct fixture *f = *state;
	ukimg_info_t info;
	uk_err_t err = {0};
	char d[UKIMG_DIGEST_SIZE], md[UKIMG_DIGEST_SIZE], m[1024], kp[PATH_MAX];
	const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{}}";

	assert_int_equal(
	        ukimg_inspect(
	                f->store,
	                "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	                &info, &err),
	        -1);
	assert_int_equal(err.status, 404);
	assert_int_equal(ukimg_inspect(f->store, "nonsense", &info, &err), -1);
	assert_int_equal(err.status, 400);

	/* a plain (non-uk) OCI image is refused with a reason */
	assert_int_equal(ukimg_store_put_buf(f->store, cfg, strlen(cfg), NULL, d, &err), 0);
	snprintf(m, sizeof(m),
	         "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
	         "\"digest\":\"%s\",\"size\":%zu},\"layers\":[]}",
	         UKIMG_MT_MANIFEST, UKIMG_MT_CONFIG, d, strlen(cfg));
	assert_int_equal(ukimg_store_put_buf(f->store, m, strlen(m), NULL, md, &err), 0);
	assert_int_equal(ukimg_inspect(f->store, md, &info, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "a uk image has exactly one layer, this one has 0"));
	assert_int_equal(ukimg_kernel_path(f->store, md, kp, sizeof(kp), &err), -1);
	assert_int_equal(ukimg_store_put_buf(f->store, "[1,2]", 5, NULL, md, &err), 0);
	assert_int_equal(ukimg_inspect(f->store, md, &info, &err), -1);
	assert_non_null(strstr(err.message, "not a JSON object"));
}

static void test_gc(void **state)
{
	struct fixture *f = *state;
	ukimg_build_opts_t o;
	ukimg_build_result_t r1, r2;
	uk_err_t err = {0};
	char kp[PATH_MAX];
	size_t removed = 0;
	const char *live[1];

	write_hello(f);
	opts_init(f, &o);
	assert_int_equal(ukimg_build(f->store, &o, &r1, &err), 0);
	tu_write(f->ctx, "main.c", "int main(void) { return 1; }\n");
	assert_int_equal(ukimg_build(f->store, &o, &r2, &err), 0);
	assert_int_equal(blob_count(f), 6);
	assert_int_equal(ukimg_kernel_path(f->store, r2.manifest_digest, kp, sizeof(kp), &err), 0);
	live[0] = r1.manifest_digest;
	assert_int_equal(ukimg_store_gc(f->store, live, 1, &removed, &err), 0);
	assert_int_equal(removed, 3);
	assert_int_equal(blob_count(f), 3);
	assert_false(tu_exists(kp));
	assert_true(ukimg_store_has(f->store, r1.layer_digest));
	assert_int_equal(ukimg_store_verify(f->store, r1.manifest_digest, &err), 0);
	/* a live image that's missing stops gc before it deletes anything */
	live[0] = r2.manifest_digest;
	assert_int_equal(ukimg_store_gc(f->store, live, 1, &removed, &err), -1);
	assert_int_equal(blob_count(f), 3);
}

/* A stand-in compiler that reports what it runs as and tries the network (a listener of ours
 * on loopback), then writes a kernel. */
static char *probe_ukcc(struct fixture *f, int port)
{
	char *path = malloc(PATH_MAX);

	snprintf(path, PATH_MAX, "%s/probe-ukcc", f->dir);
	tu_write(f->dir, "probe-ukcc",
	         "#!/bin/sh\n"
	         "while [ $# -gt 1 ]; do [ \"$1\" = -o ] && out=$2; shift; done\n"
	         "echo \"probe: uid=$(id -u)\"\n"
	         "echo \"probe: net=$(readlink /proc/self/ns/net)\"\n"
	         "echo \"probe: $(grep NoNewPrivs /proc/self/status | tr -d '\\t ')\"\n"
	         "echo \"probe: cpu=$(ulimit -t) fsize=$(ulimit -f) nofile=$(ulimit -n)\"\n"
	         "echo \"probe: env=$(env | cut -d= -f1 | sort | tr '\\n' ' ')\"\n"
	         "echo \"probe: tmp=$TMPDIR\"\n"
	         "echo \"probe: pid=$$ procs=$(ls -d /proc/[0-9]* | wc -l)\"\n"
	         "echo \"probe: $(grep Seccomp: /proc/self/status | tr -d '\\t ')\"\n"
	         "echo hidden > /tmp/ukt-probe-leak-%d 2>/dev/null\n"
	         "unshare -U true 2>/dev/null && echo 'probe: unshare allowed' || "
	         "echo 'probe: unshare refused'\n"
	         "python3 -c 'import socket; socket.socket(socket.AF_UNIX)' 2>/dev/null && "
	         "echo 'probe: unix socket' || echo 'probe: no unix socket'\n"
	         "echo \"probe: pwd=$(pwd)\"\n"
	         "touch new 2>/dev/null && echo 'probe: ctx writable' || echo 'probe: ctx "
	         "read-only'\n"
	         "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", %d), 2)' "
	         "2>/dev/null && echo 'probe: connected' || echo 'probe: no network'\n"
	         "printf '\\177ELF probe\\n' > \"$out\"\n",
	         port, port);
	assert_int_equal(chmod(path, 0755), 0);
	/* The build user must reach the probe: the fixture dir is mkdtemp's 0700. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	return path;
}

static int loopback_listener(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Whether this process may make the sandbox's namespaces (root, or unprivileged user
 * namespaces). */
static int can_netns(void)
{
	int status = 0;
	pid_t pid = fork();
	int ns = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;

	if (pid == 0)
		_exit(unshare(geteuid() == 0 ? ns : CLONE_NEWUSER | ns) < 0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The compiler runs without network, without our environment, under its limits, with no new
 * privileges and a seccomp filter, as the build user when we are root; in its own PID namespace
 * (the first and almost only process) with a private /tmp. */
static void test_sandbox(void **state)
{
	struct fixture *f = *state;
	ukimg_build_opts_t o;
	ukimg_build_result_t r;
	uk_err_t err = {0};
	char own_net[64] = "", want[128], leak[64], *probe;
	int port, lfd = loopback_listener(&port), leaked;
	ssize_t n = readlink("/proc/self/ns/net", own_net, sizeof(own_net) - 1);

	assert_true(n > 0);
	probe = probe_ukcc(f, port);
	setenv("UKT_CALLER_SECRET", "1", 1);
	tu_write(f->ctx, "Ukfile", "SOURCES main.c\n");
	tu_write(f->ctx, "main.c", "int main(void) { return 0; }\n");
	opts_init(f, &o);
	o.ukcc_path = probe;
	o.build_user = "uk-build";
	o.cpu_sec = 7;
	o.file_size_mb = 3;
	o.timeout_sec = 60;
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), 0);
	unsetenv("UKT_CALLER_SECRET");
	print_message("%s", f->progress);
	/* where the probe's /tmp file would be on the host: removed now, checked below */
	snprintf(leak, sizeof(leak), "/tmp/ukt-probe-leak-%d", port);
	leaked = unlink(leak) == 0;
	if (can_netns()) {
		assert_non_null(strstr(f->progress, "probe: no network"));
		assert_int_equal(accept(lfd, NULL, NULL), -1); /* nobody reached our listener */
		assert_non_null(strstr(f->progress, "probe: net=net:["));
		assert_null(strstr(f->progress, own_net));
	} else { /* said so, and built anyway */
		assert_non_null(strstr(f->progress, "ukd sandbox: no namespaces"));
	}
	assert_non_null(strstr(f->progress, "probe: NoNewPrivs:1"));
	assert_non_null(strstr(f->progress, "probe: Seccomp:2"));
	if (access("/usr/bin/unshare", X_OK) == 0) /* the filter refuses new namespaces */
		assert_non_null(strstr(f->progress, "probe: unshare refused"));
	assert_non_null(strstr(f->progress, "probe: no unix socket"));
	assert_non_null(strstr(f->progress, "probe: cpu=7 fsize=6144 nofile=1024"));
	assert_null(strstr(f->progress, "UKT_CALLER_SECRET"));
	if (can_netns()) {
		/* the context mounted read only where the compiler works; the private dir as /tmp,
		 * in which the probe's file stays; the first of a handful of processes (sh, and
		 * the ls, wc and subshell of its count) */
		assert_non_null(strstr(f->progress, "probe: ctx read-only"));
		assert_non_null(strstr(f->progress, "probe: pwd=/tmp/ctx\n"));
		assert_non_null(strstr(f->progress, "probe: tmp=/tmp\n"));
		assert_non_null(strstr(f->progress, "probe: pid=1 procs="));
		assert_true(atoi(strstr(f->progress, "procs=") + 6) <= 4);
		assert_false(leaked);
	} else {
		assert_non_null(strstr(f->progress, "probe: tmp=/tmp/uk-build."));
	}
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("uk-build");
		snprintf(want, sizeof(want), "probe: uid=%u\n", pw ? (unsigned)pw->pw_uid : 65534u);
		assert_non_null(strstr(f->progress, want));
	}
	close(lfd);
	free(probe);
}

/* As root, a build user that does not exist means nobody, said in the build's output. */
static void test_sandbox_fallback(void **state)
{
	struct fixture *f = *state;
	ukimg_build_opts_t o;
	ukimg_build_result_t r;
	uk_err_t err = {0};
	int port, lfd = loopback_listener(&port);
	char *probe = probe_ukcc(f, port);

	if (geteuid() != 0) {
		close(lfd);
		free(probe);
		skip(); /* only root switches users */
	}
	tu_write(f->ctx, "Ukfile", "SOURCES main.c\n");
	tu_write(f->ctx, "main.c", "int main(void) { return 0; }\n");
	opts_init(f, &o);
	o.ukcc_path = probe;
	o.build_user = "uk-no-such-user";
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), 0);
	assert_non_null(strstr(f->progress, "sandbox: user nobody (65534): there is no user "
	                                    "uk-no-such-user (deploy/install-deps.sh creates it)"));
	assert_non_null(strstr(f->progress, "probe: uid=65534\n"));
	close(lfd);
	free(probe);
}

/* Builds main.c (src) with a limit set by (tweak): refused with 400 (want), nothing stored. */
static void limit_refused(struct fixture *f, const char *src, void (*tweak)(ukimg_build_opts_t *),
                          const char *want)
{
	ukimg_build_opts_t o;
	ukimg_build_result_t r;
	uk_err_t err = {0};

	tu_write(f->ctx, "Ukfile", "SOURCES main.c\n");
	tu_write(f->ctx, "main.c", "%s\n", src);
	opts_init(f, &o);
	o.timeout_sec = 60;
	tweak(&o);
	assert_int_equal(ukimg_build(f->store, &o, &r, &err), -1);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.message, want);
	assert_int_equal(blob_count(f), 0);
	assert_int_equal(tmp_count(f), 0);
}

static void small_files(ukimg_build_opts_t *o)
{
	o->file_size_mb = 1;
}

static void little_cpu(ukimg_build_opts_t *o)
{
	o->cpu_sec = 1;
}

/* Each limit the compiler hits is named in the error. */
static void test_sandbox_limits(void **state)
{
	limit_refused(*state, "BIG_OUTPUT", small_files,
	              "build output exceeded 1 MiB (a file the compiler wrote hit the file size "
	              "limit, build-limits.file-size-mb)");
	limit_refused(*state, "BURN_CPU", little_cpu,
	              "build exceeded its 1 s CPU limit (build-limits.cpu-s): the compiler was "
	              "stopped");
	/* the compiler's word for it, split across two reads of its output */
	limit_refused(*state, "SAY_CPU_SPLIT", little_cpu,
	              "build exceeded its 1 s CPU limit (build-limits.cpu-s): the compiler was "
	              "stopped");
}

/* The record recovery reads after a crash: only what a build writes is taken, so that a bad
 * one never names something else to remove. */
static void test_sandbox_record(void **state)
{
	struct fixture *f = *state;
	ukimg_sandbox_record_t rec;
	static const char *const bad[] = {
	        "uk-sandbox-1 /tmp/uk-build.0123456789abcdef 12 995\n", /* short */
	        "uk-sandbox-2 /tmp/uk-build.0123456789abcdef 12 995 7\n",
	        "uk-sandbox-1 /tmp/uk-build.0123456789abcdef/.. 12 995 7\n",
	        "uk-sandbox-1 /tmp/uk-build.0123456789abcde 12 995 7\n",
	        "uk-sandbox-1 /tmp/uk-build.0123456789ABCDEF 12 995 7\n",
	        "uk-sandbox-1 /home/x/uk-build.0123456789abcdef 12 995 7\n",
	        "uk-sandbox-1 /tmp/uk-build.0123456789abcdef -3 995 7\n",
	        "uk-sandbox-1 /tmp/uk-build.0123456789abcdef 12 995 7", /* cut before its end */
	        "uk-sandbox-1 /tmp/uk-build.0123456789abcdef 12 995 7\nmore\n",
	        "",
	};

	assert_int_equal(ukimg_sandbox_record_read(f->ctx, &rec), -1); /* none */
	tu_write(f->ctx, UKIMG_SANDBOX_RECORD,
	         "uk-sandbox-1 /tmp/uk-build.0123456789abcdef 12 995 777\n");
	assert_int_equal(ukimg_sandbox_record_read(f->ctx, &rec), 0);
	assert_string_equal(rec.dir, "/tmp/uk-build.0123456789abcdef");
	assert_int_equal(rec.pgid, 12);
	assert_int_equal(rec.uid, 995);
	assert_int_equal(rec.start, 777);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tu_write(f->ctx, UKIMG_SANDBOX_RECORD, "%s", bad[i]);
		assert_int_equal(ukimg_sandbox_record_read(f->ctx, &rec), -1);
		assert_string_equal(rec.dir, "");
	}
}

static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	assert_non_null(fp = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	assert_int_equal(sscanf(strrchr(buf, ')') + 1,
	                        " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
	                        "%*d %*d %*d %llu",
	                        &start),
	                 1);
	return start;
}

/* Which processes a record owns: its group's, as its user, with the recorded leader. */
static void test_sandbox_record_owns(void **state)
{
	ukimg_sandbox_record_t rec = {.uid = geteuid()};
	pid_t child = fork();
	int st;

	(void)state;
	if (child == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	assert_true(child > 0);
	setpgid(child, child);
	rec.pgid = child;
	rec.start = start_time(child);
	assert_int_equal(ukimg_sandbox_record_owns(&rec, child), 1);
	assert_int_equal(ukimg_sandbox_record_owns(&rec, getpid()), 0); /* another group */
	rec.uid = geteuid() + 1;
	assert_int_equal(ukimg_sandbox_record_owns(&rec, child), 0); /* another user */
	rec.uid = geteuid();
	rec.start++; /* the group's number given out again: its leader started later */
	assert_int_equal(ukimg_sandbox_record_owns(&rec, child), 0);
	rec.start--;
	rec.pgid = 0; /* not started */
	assert_int_equal(ukimg_sandbox_record_owns(&rec, child), 0);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &st, 0), child);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_build_ok),
	        T(test_deterministic),
	        T(test_files_and_wildcards),
	        T(test_compile_error),
	        T(test_timeout),
	        T(test_bad_inputs),
	        T(test_context_tar),
	        T(test_inspect_errors),
	        T(test_gc),
	        T(test_sandbox),
	        T(test_sandbox_limits),
	        T(test_sandbox_fallback),
	        T(test_sandbox_record),
	        T(test_sandbox_record_owns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
