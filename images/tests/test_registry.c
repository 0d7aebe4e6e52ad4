/* Registry tests. `test_registry ref`: the reference parser (unit). `test_registry fake`: the
 * Bearer token flow against an in-process fake registry (unit). `test_registry`: push and pull
 * against Debian's docker-registry started on 127.0.0.1 (integration; skipped without it). */
#include "testutil.h"
#include "testreg.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "uk/registry.h"
#include "uk/trust.h"

/* ------------------------------------------------------------------------------------------ */
/* References                                                                                  */

static const struct {
	const char *in, *registry, *repository, *tag, *digest;
} good_refs[] = {
        {"hello", "docker.io", "library/hello", "latest", ""},
        {"hello:1.2", "docker.io", "library/hello", "1.2", ""},
        {"team/site", "docker.io", "team/site", "latest", ""},
        {"team/site:v1", "docker.io", "team/site", "v1", ""},
        {"registry.example:5000/team/site:1.2", "registry.example:5000", "team/site", "1.2", ""},
        {"127.0.0.1:5000/hello", "127.0.0.1:5000", "hello", "latest", ""},
        {"localhost/hello:x", "localhost", "hello", "x", ""},
        {"localhost:5000/a/b/c", "localhost:5000", "a/b/c", "latest", ""},
        {"ghcr.io/o/r", "ghcr.io", "o/r", "latest", ""},
        {"a/b.c-d__e--f_g", "docker.io", "a/b.c-d__e--f_g", "latest", ""},
        {"Example.COM/x", "Example.COM", "x", "latest", ""},
        {"hello:_A.b-9", "docker.io", "library/hello", "_A.b-9", ""},
        {"hello@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "docker.io", "library/hello", "",
         "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
        {"h:5000/x:t@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
         "h:5000", "x", "t",
         "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
        {"localhost:5000", "docker.io", "library/localhost", "5000", ""}, /* as Docker reads it */
};

static const struct {
	const char *in, *msg;
} bad_refs[] = {
        {"", "empty"},
        {"Hello", "must be lowercase"},
        {"team/Site", "must be lowercase"},
        {"hello:", "empty tag"},
        {":tag", "empty name"},
        {"hello:-x", "tag must start"},
        {"hello:a/b", "invalid registry port"}, /* "hello:a" is read as host:port */
        {"hello:a+b", "invalid character in tag"},
        {"a//b", "empty path component"},
        {"/a", "empty path component"},
        {"a/", "empty path component"},
        {"-a", "must start and end"},
        {"a-", "must end"},
        {"a..b", "must start and end"},
        {"a___b", "must start and end"},
        {"a b", "blank"},
        {"a\tb", "blank"},
        {"h\xc3\xa9llo", "non-ASCII"},
        {"hello@sha256:abc", "digest must be"},
        {"hello@md5:0123456789abcdef0123456789abcdef", "digest must be"},
        {"hello@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
         "digest must be"},
        {"reg:99999/x", "port out of range"},
        {"reg:0/x", "port out of range"},
        {"reg:ab/x", "invalid registry port"},
        {"-reg.io/x", "invalid registry host"},
        {"reg..io/x", "invalid registry host"},
        {"reg.io./x", "invalid registry host"},
        {"reg.io/a:b/c", "':' only separates"},
        {"a$b", "invalid character"},
};

static void test_ref_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good_refs) / sizeof(good_refs[0]); i++) {
		ukimg_regref_t r;
		uk_err_t err = {0};
		char back[1024];

		if (ukimg_ref_parse(good_refs[i].in, &r, &err) != 0)
			fail_msg("%s: %s", good_refs[i].in, err.message);
		assert_string_equal(r.registry, good_refs[i].registry);
		assert_string_equal(r.repository, good_refs[i].repository);
		assert_string_equal(r.tag, good_refs[i].tag);
		assert_string_equal(r.digest, good_refs[i].digest);
		/* formatting and reparsing is stable */
		assert_int_equal(ukimg_ref_format(&r, back, sizeof(back)), 0);
		if (strchr(good_refs[i].in, '/') && strcmp(r.registry, "docker.io")) {
			ukimg_regref_t r2;
			assert_int_equal(ukimg_ref_parse(back, &r2, &err), 0);
			assert_memory_equal(&r, &r2, sizeof(r));
		}
	}
}

static void test_ref_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_refs) / sizeof(bad_refs[0]); i++) {
		ukimg_regref_t r;
		uk_err_t err = {0};

		memset(&r, 0x5a, sizeof(r));
		if (ukimg_ref_parse(bad_refs[i].in, &r, &err) == 0)
			fail_msg("%s: accepted", bad_refs[i].in);
		assert_int_equal(err.status, 400);
		if (!strstr(err.message, bad_refs[i].msg))
			fail_msg("%s: message \"%s\" lacks \"%s\"", bad_refs[i].in, err.message,
			         bad_refs[i].msg);
		assert_int_equal(((unsigned char *)&r)[0], 0x5a); /* untouched */
	}
}

static void test_ref_limits(void **state)
{
	char s[2048];
	ukimg_regref_t r;
	uk_err_t err = {0};

	(void)state;
	/* tag: 128 characters accepted, 129 refused */
	memcpy(s, "x:", 2);
	memset(s + 2, 'a', 128);
	s[130] = 0;
	assert_int_equal(ukimg_ref_parse(s, &r, &err), 0);
	assert_int_equal(strlen(r.tag), 128);
	s[130] = 'a';
	s[131] = 0;
	assert_int_equal(ukimg_ref_parse(s, &r, &err), -1);
	assert_non_null(strstr(err.message, "tag longer than 128"));
	/* repository: 255 accepted, 256 refused */
	memset(s, 'a', 255);
	memcpy(s, "h.io/", 5);
	s[255 + 5] = 0;
	memset(s + 5, 'b', 255);
	assert_int_equal(ukimg_ref_parse(s, &r, &err), 0);
	s[260] = 'b';
	s[261] = 0;
	assert_int_equal(ukimg_ref_parse(s, &r, &err), -1);
	assert_non_null(strstr(err.message, "longer than 255"));
	/* whole reference too long */
	memset(s, 'a', 1500);
	s[1500] = 0;
	assert_int_equal(ukimg_ref_parse(s, &r, &err), -1);
	assert_int_equal(err.status, 400);
	assert_int_equal(ukimg_ref_parse(NULL, &r, &err), -1);
}

/* ------------------------------------------------------------------------------------------ */
/* A docker-registry on 127.0.0.1                                                              */

static struct registry regs[2]; /* [0] open, [1] htpasswd */

static void kill_all(void)
{
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		registry_kill(&regs[i]);
}

static void on_signal(int sig)
{
	kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int have_tools(void)
{
	const char *path = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin";
	char buf[PATH_MAX], *dup = strdup(path), *save = NULL;
	int found = 0;

	if (access("/usr/bin/docker-registry", X_OK) != 0) {
		printf("SKIP: /usr/bin/docker-registry not found: install Debian's "
		       "docker-registry\n");
		free(dup);
		return 0;
	}
	for (char *d = strtok_r(dup, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/htpasswd", d);
		found = access(buf, X_OK) == 0;
	}
	free(dup);
	if (!found)
		printf("SKIP: htpasswd not found: install apache2-utils\n");
	return found;
}

/* ------------------------------------------------------------------------------------------ */
/* Push and pull                                                                               */

struct counts {
	int exists, uploaded, manifest, have, downloaded, mounted;
	char uploaded_digests[16][UKIMG_DIGEST_SIZE];
};

static void on_xfer(void *ctx, ukimg_xfer_event_t ev, const char *digest, int64_t size)
{
	struct counts *c = ctx;

	assert_true(ukimg_digest_valid(digest));
	assert_true(size >= 0);
	switch (ev) {
	case UKIMG_XFER_EXISTS:
		c->exists++;
		break;
	case UKIMG_XFER_UPLOADED:
		if (c->uploaded < 16)
			snprintf(c->uploaded_digests[c->uploaded], UKIMG_DIGEST_SIZE, "%s", digest);
		c->uploaded++;
		break;
	case UKIMG_XFER_MANIFEST:
		c->manifest++;
		break;
	case UKIMG_XFER_HAVE:
		c->have++;
		break;
	case UKIMG_XFER_DOWNLOADED:
		c->downloaded++;
		break;
	case UKIMG_XFER_MOUNTED:
		c->mounted++;
		break;
	}
}

struct fixture {
	char *dir;
	char *ukcc;
	char ctx[PATH_MAX];
	int n_stores;
};

static ukimg_store_t *new_store(struct fixture *f, char *root, size_t len)
{
	uk_err_t err = {0};
	ukimg_store_t *s;

	snprintf(root, len, "%s/store%d", f->dir, f->n_stores++);
	s = ukimg_store_open(root, &err);
	assert_non_null(s);
	return s;
}

static void build(struct fixture *f, ukimg_store_t *s, const char *marker, ukimg_build_result_t *r)
{
	ukimg_build_opts_t o;
	uk_err_t err = {0};

	tu_write(f->ctx, "Ukfile", "FROM uk/runtime:1\nSOURCES main.c\nCMD [\"x\"]\n");
	tu_write(f->ctx, "main.c", "int main(void) { return 0; } /* %s */\n", marker);
	ukimg_build_opts_init(&o);
	o.context_dir = f->ctx;
	o.ukcc_path = f->ukcc;
	o.created = 1700000000;
	if (ukimg_build(s, &o, r, &err) != 0)
		fail_msg("build: %s", err.message);
}

static void ref_for(const struct registry *r, const char *repo_tag, ukimg_regref_t *ref)
{
	char s[512];
	uk_err_t err = {0};

	snprintf(s, sizeof(s), "%s/%s", r->addr, repo_tag);
	if (ukimg_ref_parse(s, ref, &err) != 0)
		fail_msg("%s: %s", s, err.message);
}

static int blob_count(const char *root)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/blobs/sha256", root);
	return tu_count(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	f->ukcc = tu_fake_ukcc(f->dir);
	snprintf(f->ctx, sizeof(f->ctx), "%s/ctx", f->dir);
	mkdir(f->ctx, 0755);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_rm_rf(f->dir);
	free(f->dir);
	free(f->ukcc);
	free(f);
	return 0;
}

static void test_push_pull(void **state)
{
	struct fixture *f = *state;
	char ra[PATH_MAX], rb[PATH_MAX], got[UKIMG_DIGEST_SIZE];
	ukimg_store_t *a = new_store(f, ra, sizeof(ra)), *b = new_store(f, rb, sizeof(rb));
	ukimg_build_result_t res;
	ukimg_regref_t ref;
	struct counts c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0};
	ukimg_registry_opts_t o = {.progress = on_xfer};
	uk_err_t err = {0};
	char **blobs;
	size_t n;

	build(f, a, "push-pull", &res);
	ref_for(&regs[0], "team/hello:v1", &ref);
	o.progress_ctx = &c1;
	if (ukimg_push(a, res.manifest_digest, &ref, &o, &err) != 0)
		fail_msg("push: %s", err.message);
	assert_int_equal(c1.uploaded, 2); /* config + layer */
	assert_int_equal(c1.exists, 0);
	assert_int_equal(c1.manifest, 1);

	o.progress_ctx = &c2;
	if (ukimg_pull(b, &ref, &o, got, &err) != 0)
		fail_msg("pull: %s", err.message);
	assert_string_equal(got, res.manifest_digest);
	assert_int_equal(c2.downloaded, 2);
	blobs = ukimg_image_blobs(a, res.manifest_digest, &n, &err);
	assert_non_null(blobs);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		char *x, *y;
		size_t lx, ly;

		assert_int_equal(ukimg_store_read(a, blobs[i], 1 << 26, &x, &lx, &err), 0);
		assert_int_equal(ukimg_store_read(b, blobs[i], 1 << 26, &y, &ly, &err), 0);
		assert_int_equal(lx, ly);
		assert_memory_equal(x, y, lx);
		assert_int_equal(ukimg_store_verify(b, blobs[i], &err), 0);
		free(x);
		free(y);
	}
	ukimg_strv_free(blobs);
	assert_int_equal(blob_count(rb), 3);

	/* re-push: nothing uploaded again; a new tag in the same repository also uploads nothing */
	o.progress_ctx = &c3;
	assert_int_equal(ukimg_push(a, res.manifest_digest, &ref, &o, &err), 0);
	ref_for(&regs[0], "team/hello:v2", &ref);
	assert_int_equal(ukimg_push(a, res.manifest_digest, &ref, &o, &err), 0);
	assert_int_equal(c3.uploaded, 0);
	assert_int_equal(c3.exists, 4);
	assert_int_equal(c3.manifest, 2);

	/* pull by digest into the store that has it all: nothing downloaded */
	ref_for(&regs[0], "team/hello", &ref);
	snprintf(ref.digest, sizeof(ref.digest), "%s", res.manifest_digest);
	ref.tag[0] = 0;
	o.progress_ctx = &c4;
	assert_int_equal(ukimg_pull(b, &ref, &o, got, &err), 0);
	assert_int_equal(c4.have, 2);
	assert_int_equal(c4.downloaded, 0);

	/* a tag that does not exist: 404 naming the repository */
	ref_for(&regs[0], "team/hello:nope", &ref);
	assert_int_equal(ukimg_pull(b, &ref, &o, got, &err), -1);
	assert_int_equal(err.status, 404);
	assert_non_null(strstr(err.message, "team/hello"));

	ukimg_store_free(a);
	ukimg_store_free(b);
}

/* A layer, then the manifest, changed on the registry's disk: refused, nothing stored. */
static void test_tampered_blob(void **state)
{
	struct fixture *f = *state;
	char ra[PATH_MAX], rc[PATH_MAX], got[UKIMG_DIGEST_SIZE], path[PATH_MAX * 2];
	ukimg_store_t *a = new_store(f, ra, sizeof(ra)), *c = new_store(f, rc, sizeof(rc));
	ukimg_build_result_t res;
	ukimg_regref_t ref;
	uk_err_t err = {0};
	FILE *fp;
	int ch;

	build(f, a, "tamper", &res);
	ref_for(&regs[0], "team/tamper:v1", &ref);
	if (ukimg_push(a, res.manifest_digest, &ref, NULL, &err) != 0)
		fail_msg("push: %s", err.message);
	/* flip the last byte of the layer in the registry's storage, keeping its size */
	snprintf(path, sizeof(path), "%s/data/docker/registry/v2/blobs/sha256/%.2s/%s/data",
	         regs[0].dir, res.layer_digest + 7, res.layer_digest + 7);
	fp = fopen(path, "r+");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, -1, SEEK_END), 0);
	ch = fgetc(fp);
	assert_int_equal(fseek(fp, -1, SEEK_END), 0);
	fputc(ch ^ 0x55, fp);
	fclose(fp);

	assert_int_equal(ukimg_pull(c, &ref, NULL, got, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "digest mismatch"));
	assert_non_null(strstr(err.message, res.layer_digest));
	assert_int_equal(blob_count(rc), 0); /* not even the (good) config */
	snprintf(path, sizeof(path), "%s/tmp", rc);
	assert_int_equal(tu_count(path), 0);

	/* a tampered manifest (still valid JSON, same size: its config digest altered) is refused
	 * by tag and by digest */
	snprintf(path, sizeof(path), "%s/data/docker/registry/v2/blobs/sha256/%.2s/%s/data",
	         regs[0].dir, res.manifest_digest + 7, res.manifest_digest + 7);
	fp = fopen(path, "r+");
	assert_non_null(fp);
	{
		char mb[8192], *at;
		size_t mlen = fread(mb, 1, sizeof(mb) - 1, fp);

		mb[mlen] = 0;
		at = strstr(mb, res.config_digest);
		assert_non_null(at);
		at[7] = at[7] == '0' ? '1' : '0';
		rewind(fp);
		assert_int_equal(fwrite(mb, 1, mlen, fp), mlen);
	}
	fclose(fp);
	assert_int_equal(ukimg_pull(c, &ref, NULL, got, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "manifest digest mismatch"));
	snprintf(ref.digest, sizeof(ref.digest), "%s", res.manifest_digest);
	assert_int_equal(ukimg_pull(c, &ref, NULL, got, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "manifest digest mismatch"));
	assert_int_equal(blob_count(rc), 0);
	ukimg_store_free(a);
	ukimg_store_free(c);
}

static void test_auth(void **state)
{
	struct fixture *f = *state;
	char ra[PATH_MAX], rb[PATH_MAX], got[UKIMG_DIGEST_SIZE], want[256];
	ukimg_store_t *a = new_store(f, ra, sizeof(ra)), *b = new_store(f, rb, sizeof(rb));
	ukimg_build_result_t res;
	ukimg_regref_t ref;
	ukimg_auth_t good = {"user", "pass"}, bad = {"user", "wrong"};
	ukimg_registry_opts_t o = {.auth = &bad};
	uk_err_t err = {0};

	build(f, a, "auth", &res);
	ref_for(&regs[1], "private/app:1", &ref);
	snprintf(want, sizeof(want), "unauthorized: check the username and password for %s",
	         regs[1].addr);
	assert_int_equal(ukimg_push(a, res.manifest_digest, &ref, &o, &err), -1);
	assert_int_equal(err.status, 401);
	assert_non_null(strstr(err.message, want));
	assert_null(strstr(err.message, "wrong")); /* the password is never echoed */
	assert_int_equal(ukimg_push(a, res.manifest_digest, &ref, NULL, &err), -1);
	assert_int_equal(err.status, 401);

	o.auth = &good;
	if (ukimg_push(a, res.manifest_digest, &ref, &o, &err) != 0)
		fail_msg("push: %s", err.message);
	o.auth = &bad;
	assert_int_equal(ukimg_pull(b, &ref, &o, got, &err), -1);
	assert_int_equal(err.status, 401);
	assert_non_null(strstr(err.message, want));
	assert_int_equal(blob_count(rb), 0);
	o.auth = &good;
	if (ukimg_pull(b, &ref, &o, got, &err) != 0)
		fail_msg("pull: %s", err.message);
	assert_string_equal(got, res.manifest_digest);
	ukimg_store_free(a);
	ukimg_store_free(b);
}

/* Runs last: kills the open registry. */
static void test_registry_down(void **state)
{
	struct fixture *f = *state;
	char ra[PATH_MAX], got[UKIMG_DIGEST_SIZE];
	ukimg_store_t *a = new_store(f, ra, sizeof(ra));
	ukimg_build_result_t res;
	ukimg_regref_t ref;
	uk_err_t err = {0};

	build(f, a, "down", &res);
	ref_for(&regs[0], "team/down:v1", &ref);
	registry_kill(&regs[0]);
	assert_int_equal(ukimg_push(a, res.manifest_digest, &ref, NULL, &err), -1);
	assert_int_equal(err.status, 502);
	assert_non_null(strstr(err.message, regs[0].addr));
	assert_non_null(strstr(err.message, "team/down"));
	printf("# push error: %s\n", err.message);
	assert_int_equal(ukimg_pull(a, &ref, NULL, got, &err), -1);
	assert_int_equal(err.status, 502);
	ukimg_store_free(a);
}

/* Lines of the registry's access log naming (method) on an upload URL. */
static int log_count(const struct registry *r, const char *method)
{
	char cmd[PATH_MAX + 128];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "grep -c '\"%s /v2/[^ ]*/blobs/uploads/' '%s/registry.log'",
	         method, r->dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/* Blobs above the threshold go up in PATCH chunks; the result pulls back byte for byte. */
static void test_chunked(void **state)
{
	struct fixture *f = *state;
	char ra[PATH_MAX], rb[PATH_MAX], got[UKIMG_DIGEST_SIZE];
	ukimg_store_t *a = new_store(f, ra, sizeof(ra)), *b = new_store(f, rb, sizeof(rb));
	ukimg_build_result_t res;
	ukimg_regref_t ref;
	struct counts c = {0};
	ukimg_registry_opts_t o = {.progress = on_xfer, .progress_ctx = &c};
	uk_err_t err = {0};
	int before = log_count(&regs[0], "PATCH");

	build(f, a, "chunked", &res);
	assert_true(res.size > 2048);
	ref_for(&regs[0], "team/chunked:v1", &ref);
	o.chunk_threshold = 1000; /* the layer goes in chunks, the config (smaller) in one PUT */
	o.chunk_size = 700;
	if (ukimg_push(a, res.manifest_digest, &ref, &o, &err) != 0)
		fail_msg("chunked push: %s", err.message);
	assert_int_equal(c.uploaded, 2);
	/* one PATCH per 700 bytes of the layer (docker-registry logs each request) */
	assert_int_equal(log_count(&regs[0], "PATCH") - before, (int)((res.size + 699) / 700));
	if (ukimg_pull(b, &ref, NULL, got, &err) != 0)
		fail_msg("pull: %s", err.message);
	assert_string_equal(got, res.manifest_digest);
	assert_int_equal(ukimg_store_verify(b, res.layer_digest, &err), 0);
	assert_int_equal(blob_count(rb), 3);
	ukimg_store_free(a);
	ukimg_store_free(b);
}

/* mount_from: the registry links blobs from another repository (201) instead of an upload;
 * a source that lacks them makes it answer 202 and the blobs are uploaded. */
static void test_mount(void **state)
{
	struct fixture *f = *state;
	char ra[PATH_MAX], rb[PATH_MAX], got[UKIMG_DIGEST_SIZE];
	ukimg_store_t *a = new_store(f, ra, sizeof(ra)), *b = new_store(f, rb, sizeof(rb));
	ukimg_build_result_t res;
	ukimg_regref_t ref;
	struct counts c1 = {0}, c2 = {0}, c3 = {0};
	ukimg_registry_opts_t o = {.progress = on_xfer};
	uk_err_t err = {0};

	build(f, a, "mount", &res);
	ref_for(&regs[0], "team/source:v1", &ref);
	o.progress_ctx = &c1;
	if (ukimg_push(a, res.manifest_digest, &ref, &o, &err) != 0)
		fail_msg("push: %s", err.message);
	assert_int_equal(c1.uploaded, 2);

	ref_for(&regs[0], "other/copy:v1", &ref);
	o.progress_ctx = &c2;
	o.mount_from = "team/source";
	if (ukimg_push(a, res.manifest_digest, &ref, &o, &err) != 0)
		fail_msg("push with mount: %s", err.message);
	assert_int_equal(c2.mounted, 2);
	assert_int_equal(c2.uploaded, 0);
	if (ukimg_pull(b, &ref, NULL, got, &err) != 0)
		fail_msg("pull of the mounted copy: %s", err.message);
	assert_string_equal(got, res.manifest_digest);

	/* a source repository without the blobs: 202, plain upload */
	build(f, a, "mount-fallback", &res);
	ref_for(&regs[0], "other/fresh:v1", &ref);
	o.progress_ctx = &c3;
	o.mount_from = "team/empty";
	if (ukimg_push(a, res.manifest_digest, &ref, &o, &err) != 0)
		fail_msg("push with a useless mount: %s", err.message);
	assert_int_equal(c3.mounted, 0);
	assert_int_equal(c3.uploaded, 2);
	ukimg_store_free(a);
	ukimg_store_free(b);
}

/* A pull for platforms the image is not built for is refused before any layer comes down,
 * from the manifest's annotation, or, without one, from the config's label. */
static void test_platform(void **state)
{
	struct fixture *f = *state;
	char ra[PATH_MAX], rb[PATH_MAX], got[UKIMG_DIGEST_SIZE], d[UKIMG_DIGEST_SIZE], m[2048];
	ukimg_store_t *a = new_store(f, ra, sizeof(ra)), *b = new_store(f, rb, sizeof(rb));
	ukimg_build_result_t res;
	ukimg_regref_t ref;
	struct counts c = {0};
	const char *xen[] = {"xen", NULL}, *ok[] = {"hosted", "kvm", NULL};
	ukimg_registry_opts_t o = {.progress = on_xfer, .progress_ctx = &c, .platforms = xen};
	uk_err_t err = {0};
	char *cfg;
	size_t clen;

	build(f, a, "platform", &res);
	ref_for(&regs[0], "team/plat:v1", &ref);
	if (ukimg_push(a, res.manifest_digest, &ref, NULL, &err) != 0)
		fail_msg("push: %s", err.message);
	assert_int_equal(ukimg_pull(b, &ref, &o, got, &err), -1);
	assert_int_equal(err.status, 400);
	if (!strstr(err.message, "team/plat:v1 is built for platform kvm; this daemon runs xen"))
		fail_msg("message: %s", err.message);
	assert_int_equal(c.downloaded, 0);
	assert_int_equal(blob_count(rb), 0);

	/* the same image without manifest annotations: the config (only) is fetched to tell */
	assert_int_equal(ukimg_store_read(a, res.config_digest, 1 << 20, &cfg, &clen, &err), 0);
	free(cfg);
	snprintf(m, sizeof(m),
	         "{\"schemaVersion\":2,\"mediaType\":\"" UKIMG_MT_MANIFEST "\","
	         "\"config\":{\"mediaType\":\"" UKIMG_MT_CONFIG
	         "\",\"digest\":\"%s\",\"size\":%zu},"
	         "\"layers\":[{\"mediaType\":\"" UKIMG_MT_LAYER "\",\"digest\":\"%s\","
	         "\"size\":%lld}]}",
	         res.config_digest, clen, res.layer_digest, (long long)res.size);
	assert_int_equal(ukimg_store_put_buf(a, m, strlen(m), NULL, d, &err), 0);
	ref_for(&regs[0], "team/plat:bare", &ref);
	assert_int_equal(ukimg_push(a, d, &ref, NULL, &err), 0);
	assert_int_equal(ukimg_pull(b, &ref, &o, got, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "is built for platform kvm; this daemon runs xen"));
	assert_int_equal(blob_count(rb), 0);

	o.platforms = ok;
	if (ukimg_pull(b, &ref, &o, got, &err) != 0)
		fail_msg("pull for kvm: %s", err.message);
	assert_string_equal(got, d);
	ukimg_store_free(a);
	ukimg_store_free(b);
}

/* Signatures through the registry: sign, put, fetch, verify; a second key appends; re-signing
 * replaces; the wrong key, an unsigned image and a tampered payload are refused. */
static void test_trust(void **state)
{
	struct fixture *f = *state;
	char ra[PATH_MAX], priv[2][PATH_MAX + 16], pub[2][PATH_MAX + 16], dref[520], id[65];
	ukimg_store_t *a = new_store(f, ra, sizeof(ra));
	ukimg_build_result_t res, other;
	ukimg_regref_t ref;
	ukimg_trust_sig_t s0, s1, bad;
	ukimg_trust_sigs_t *l;
	const char *k0[1], *k1[1];
	uk_err_t err = {0};

	for (int i = 0; i < 2; i++) {
		snprintf(priv[i], sizeof(priv[i]), "%s/k%d.key", f->dir, i);
		snprintf(pub[i], sizeof(pub[i]), "%s/k%d.pub", f->dir, i);
		assert_int_equal(ukimg_trust_keygen(priv[i], pub[i], NULL, &err), 0);
	}
	k0[0] = pub[0];
	k1[0] = pub[1];
	build(f, a, "trust", &res);
	build(f, a, "trust-other", &other);
	ref_for(&regs[0], "team/signed:v1", &ref);
	assert_int_equal(ukimg_push(a, res.manifest_digest, &ref, NULL, &err), 0);
	ref_for(&regs[0], "team/signed:v2", &ref);
	assert_int_equal(ukimg_push(a, other.manifest_digest, &ref, NULL, &err), 0);
	snprintf(dref, sizeof(dref), "%s/%s", ref.registry, ref.repository);

	/* unsigned: no .sig manifest is zero signatures */
	l = ukimg_trust_fetch(&ref, res.manifest_digest, NULL, &err);
	if (!l)
		fail_msg("fetch: %s", err.message);
	assert_int_equal(l->n, 0);
	assert_int_equal(ukimg_trust_verify(res.manifest_digest, l, k0, 1, NULL, &err),
	                 UKIMG_TRUST_UNSIGNED);
	ukimg_trust_sigs_free(l);

	/* key 0 signs; fetch + verify with key 0: ok; with key 1 only: no trusted key */
	assert_int_equal(ukimg_trust_sign_payload(priv[0], res.manifest_digest, dref, &s0, &err),
	                 0);
	if (ukimg_trust_put(&ref, res.manifest_digest, &s0, NULL, &err) != 0)
		fail_msg("put: %s", err.message);
	l = ukimg_trust_fetch(&ref, res.manifest_digest, NULL, &err);
	assert_non_null(l);
	assert_int_equal(l->n, 1);
	assert_int_equal(ukimg_trust_verify(res.manifest_digest, l, k0, 1, id, &err),
	                 UKIMG_TRUST_OK);
	assert_string_equal(id, s0.keyid);
	assert_int_equal(ukimg_trust_verify(res.manifest_digest, l, k1, 1, NULL, &err),
	                 UKIMG_TRUST_NO_TRUSTED_KEY);
	assert_int_equal(err.status, 403);
	/* the other image is still unsigned, and this signature does not vouch for it */
	assert_int_equal(ukimg_trust_verify(other.manifest_digest, l, k0, 1, NULL, &err),
	                 UKIMG_TRUST_BAD_SIGNATURE);
	ukimg_trust_sigs_free(l);

	/* key 1 signs too: two signatures; key 0 again: replaced, still two; both verify */
	assert_int_equal(ukimg_trust_sign_payload(priv[1], res.manifest_digest, dref, &s1, &err),
	                 0);
	assert_int_equal(ukimg_trust_put(&ref, res.manifest_digest, &s1, NULL, &err), 0);
	assert_int_equal(ukimg_trust_put(&ref, res.manifest_digest, &s0, NULL, &err), 0);
	l = ukimg_trust_fetch(&ref, res.manifest_digest, NULL, &err);
	assert_non_null(l);
	assert_int_equal(l->n, 2);
	assert_int_equal(ukimg_trust_verify(res.manifest_digest, l, k1, 1, NULL, &err),
	                 UKIMG_TRUST_OK);
	assert_int_equal(ukimg_trust_verify(res.manifest_digest, l, k0, 1, NULL, &err),
	                 UKIMG_TRUST_OK);
	ukimg_trust_sigs_free(l);

	/* a payload changed after signing (another identity, same digest) replaces key 0's
	 * signature: fetched and refused */
	bad = s0;
	bad.payload = strdup(s0.payload);
	memcpy(strstr(bad.payload, "team/signed"), "team/forged", 11);
	assert_int_equal(ukimg_trust_put(&ref, res.manifest_digest, &bad, NULL, &err), 0);
	l = ukimg_trust_fetch(&ref, res.manifest_digest, NULL, &err);
	assert_non_null(l);
	assert_int_equal(ukimg_trust_verify(res.manifest_digest, l, k0, 1, NULL, &err),
	                 UKIMG_TRUST_BAD_SIGNATURE);
	assert_non_null(strstr(err.message, "does not verify"));
	ukimg_trust_sigs_free(l);

	/* a signature for one image cannot be stored for another */
	assert_int_equal(ukimg_trust_put(&ref, other.manifest_digest, &s0, NULL, &err), -1);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.message, "its payload is for"));
	ukimg_trust_sig_clear(&bad);
	ukimg_trust_sig_clear(&s0);
	ukimg_trust_sig_clear(&s1);
	ukimg_store_free(a);
}

/* ------------------------------------------------------------------------------------------ */
/* A fake registry with the Bearer token flow (docker-registry's token auth needs a JWT issuer) */

struct fake {
	int lfd, port;
	pthread_t thread;
	int n_blobs;
	char digests[8][UKIMG_DIGEST_SIZE];
	char *blobs[8];
	size_t lens[8];
	char *manifest;
	size_t mlen;
	char manifest_type[256];
	char scope[512];
	int token_requests, unauthorized, absolute_puts;
	volatile int stop;
};

static struct fake *fake_find_blob(struct fake *fk, const char *d, int *idx)
{
	for (int i = 0; i < fk->n_blobs; i++)
		if (!strcmp(fk->digests[i], d)) {
			*idx = i;
			return fk;
		}
	return NULL;
}

static void fake_reply(int fd, const char *status, const char *extra, const void *body, size_t len,
                       int head)
{
	char h[2048];
	int n = snprintf(h, sizeof(h),
	                 "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
	                 status, len, extra ? extra : "");

	assert_int_equal(write(fd, h, (size_t)n), n);
	if (len && !head)
		assert_int_equal(write(fd, body, len), (ssize_t)len);
}

/* Handles one request on (fd). */
static void fake_serve(struct fake *fk, int fd)
{
	static char req[1 << 20];
	char method[16], target[2048], extra[1024], *hdr_end, *body, *p;
	size_t got = 0, clen = 0;
	int idx;

	for (;;) {
		ssize_t k = read(fd, req + got, sizeof(req) - 1 - got);
		if (k <= 0)
			return;
		got += (size_t)k;
		req[got] = 0;
		hdr_end = strstr(req, "\r\n\r\n");
		if (!hdr_end)
			continue;
		p = strcasestr(req, "\r\nContent-Length:");
		clen = p && p < hdr_end ? strtoul(p + 17, NULL, 10) : 0;
		if (got >= (size_t)(hdr_end + 4 - req) + clen)
			break;
	}
	body = hdr_end + 4;
	*hdr_end = 0;
	assert_int_equal(sscanf(req, "%15s %2047s", method, target), 2);

	if (!strncmp(target, "/token?", 7)) {
		fk->token_requests++;
		p = strstr(target, "scope=");
		snprintf(fk->scope, sizeof(fk->scope), "%s", p ? p + 6 : "");
		if (!strstr(req, "Authorization: Basic dXNlcjpwYXNz")) /* user:pass */
			return fake_reply(fd, "401 Unauthorized", NULL, "", 0, 0);
		return fake_reply(fd, "200 OK", "Content-Type: application/json\r\n",
		                  "{\"token\":\"tok123\"}", 18, 0);
	}
	if (!strstr(req, "Authorization: Bearer tok123")) {
		fk->unauthorized++;
		snprintf(extra, sizeof(extra),
		         "WWW-Authenticate: Bearer "
		         "realm=\"http://127.0.0.1:%d/token\",service=\"fake\","
		         "scope=\"repository:team/app:pull,push\"\r\n",
		         fk->port);
		return fake_reply(fd, "401 Unauthorized", extra, "{\"errors\":[]}", 13, 0);
	}
	if (!strncmp(target, "/v2/team/app/blobs/sha256:", 26)) {
		if (!fake_find_blob(fk, target + 19, &idx))
			return fake_reply(fd, "404 Not Found", NULL, "", 0, 0);
		return fake_reply(fd, "200 OK", NULL, fk->blobs[idx], fk->lens[idx],
		                  !strcmp(method, "HEAD"));
	}
	if (!strcmp(method, "POST") && !strcmp(target, "/v2/team/app/blobs/uploads/")) {
		snprintf(extra, sizeof(extra),
		         "Location: http://127.0.0.1:%d/upload/u1?state=abc\r\n", fk->port);
		return fake_reply(fd, "202 Accepted", extra, "", 0, 0);
	}
	if (!strcmp(method, "PUT") && !strncmp(target, "/upload/u1?state=abc&digest=", 28)) {
		assert_true(fk->n_blobs < 8);
		fk->absolute_puts++;
		snprintf(fk->digests[fk->n_blobs], UKIMG_DIGEST_SIZE, "%.71s", target + 28);
		fk->blobs[fk->n_blobs] = malloc(clen + 1);
		memcpy(fk->blobs[fk->n_blobs], body, clen);
		fk->lens[fk->n_blobs++] = clen;
		return fake_reply(fd, "201 Created", NULL, "", 0, 0);
	}
	if (!strcmp(target, "/v2/team/app/manifests/v1")) {
		char d[UKIMG_DIGEST_SIZE];

		if (!strcmp(method, "PUT")) {
			p = strcasestr(req, "\r\nContent-Type: ");
			assert_non_null(p);
			snprintf(fk->manifest_type, sizeof(fk->manifest_type), "%.*s",
			         (int)strcspn(p + 16, "\r"), p + 16);
			free(fk->manifest);
			fk->manifest = malloc(clen + 1);
			memcpy(fk->manifest, body, clen);
			fk->mlen = clen;
			ukimg_digest_buf(body, clen, d);
			snprintf(extra, sizeof(extra), "Docker-Content-Digest: %s\r\n", d);
			return fake_reply(fd, "201 Created", extra, "", 0, 0);
		}
		if (!fk->manifest)
			return fake_reply(fd, "404 Not Found", NULL, "", 0, 0);
		snprintf(extra, sizeof(extra), "Content-Type: %s\r\n", fk->manifest_type);
		return fake_reply(fd, "200 OK", extra, fk->manifest, fk->mlen, 0);
	}
	fake_reply(fd, "400 Bad Request", NULL, "", 0, 0);
}

static void *fake_main(void *arg)
{
	struct fake *fk = arg;

	while (!fk->stop) {
		int fd = accept(fk->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		fake_serve(fk, fd);
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *fk)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	memset(fk, 0, sizeof(*fk));
	fk->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fk->lfd >= 0);
	assert_int_equal(bind(fk->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fk->lfd, 16), 0);
	assert_int_equal(getsockname(fk->lfd, (struct sockaddr *)&a, &len), 0);
	fk->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&fk->thread, NULL, fake_main, fk), 0);
}

static void fake_stop(struct fake *fk)
{
	fk->stop = 1;
	shutdown(fk->lfd, SHUT_RDWR);
	close(fk->lfd);
	pthread_join(fk->thread, NULL);
	for (int i = 0; i < fk->n_blobs; i++)
		free(fk->blobs[i]);
	free(fk->manifest);
}

static void test_bearer_flow(void **state)
{
	struct fixture *f = *state;
	char ra[PATH_MAX], rb[PATH_MAX], got[UKIMG_DIGEST_SIZE], s[128], want[256];
	ukimg_store_t *a = new_store(f, ra, sizeof(ra)), *b = new_store(f, rb, sizeof(rb));
	ukimg_build_result_t res;
	ukimg_regref_t ref;
	ukimg_auth_t good = {"user", "pass"}, bad = {"user", "nope"};
	struct counts c = {0};
	ukimg_registry_opts_t o = {.auth = &good, .progress = on_xfer, .progress_ctx = &c};
	uk_err_t err = {0};
	struct fake fk;

	build(f, a, "bearer", &res);
	fake_start(&fk);
	snprintf(s, sizeof(s), "127.0.0.1:%d/team/app:v1", fk.port);
	assert_int_equal(ukimg_ref_parse(s, &ref, &err), 0);
	if (ukimg_push(a, res.manifest_digest, &ref, &o, &err) != 0)
		fail_msg("push: %s", err.message);
	assert_int_equal(c.uploaded, 2);
	assert_int_equal(fk.absolute_puts, 2);
	assert_string_equal(fk.manifest_type, UKIMG_MT_MANIFEST);
	assert_int_equal(fk.token_requests, 1); /* the token is reused */
	assert_non_null(strstr(fk.scope, "repository%3Ateam%2Fapp%3Apull%2Cpush"));
	if (ukimg_pull(b, &ref, &o, got, &err) != 0)
		fail_msg("pull: %s", err.message);
	assert_string_equal(got, res.manifest_digest);
	assert_int_equal(blob_count(rb), 3);

	/* wrong password: the token endpoint refuses it */
	o.auth = &bad;
	snprintf(want, sizeof(want),
	         "unauthorized: check the username and password for "
	         "127.0.0.1:%d",
	         fk.port);
	assert_int_equal(ukimg_push(a, res.manifest_digest, &ref, &o, &err), -1);
	assert_int_equal(err.status, 401);
	assert_non_null(strstr(err.message, want));
	fake_stop(&fk);
	ukimg_store_free(a);
	ukimg_store_free(b);
}

/* A registry that fails a chunk: the push stops there with the offset in the message, and no
 * manifest is put. */
static void test_chunk_error(void **state)
{
	struct fixture *f = *state;
	char ra[PATH_MAX], s[128];
	ukimg_store_t *a = new_store(f, ra, sizeof(ra));
	ukimg_build_result_t res;
	ukimg_regref_t ref;
	ukimg_auth_t good = {"user", "pass"};
	ukimg_registry_opts_t o = {.auth = &good, .chunk_threshold = 100, .chunk_size = 100};
	uk_err_t err = {0};
	struct fake fk;

	build(f, a, "chunk-error", &res);
	fake_start(&fk); /* it answers PATCH with 400 */
	snprintf(s, sizeof(s), "127.0.0.1:%d/team/app:v1", fk.port);
	assert_int_equal(ukimg_ref_parse(s, &ref, &err), 0);
	assert_int_equal(ukimg_push(a, res.manifest_digest, &ref, &o, &err), -1);
	assert_int_equal(err.status, 502);
	if (!strstr(err.message, "chunk at byte 0: HTTP 400"))
		fail_msg("message: %s", err.message);
	assert_null(fk.manifest);
	fake_stop(&fk);
	ukimg_store_free(a);
}

static int group_setup(void **state)
{
	(void)state;
	atexit(kill_all);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGABRT, on_signal);
	registry_start(&regs[0], 0);
	registry_start(&regs[1], 1);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	kill_all();
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (regs[i].dir[0])
			tu_rm_rf(regs[i].dir);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest ref_tests[] = {
	        cmocka_unit_test(test_ref_good),
	        cmocka_unit_test(test_ref_bad),
	        cmocka_unit_test(test_ref_limits),
	};
	const struct CMUnitTest reg_tests[] = {
	        cmocka_unit_test_setup_teardown(test_push_pull, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tampered_blob, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_chunked, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_mount, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_platform, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_trust, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_registry_down, setup, teardown), /* last */
	};

	const struct CMUnitTest fake_tests[] = {
	        cmocka_unit_test_setup_teardown(test_bearer_flow, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_chunk_error, setup, teardown),
	};

	if (argc > 1 && !strcmp(argv[1], "ref"))
		return cmocka_run_group_tests_name("ref", ref_tests, NULL, NULL);
	if (argc > 1 && !strcmp(argv[1], "fake"))
		return cmocka_run_group_tests_name("fake registry", fake_tests, NULL, NULL);
	if (!have_tools())
		return 77;
	return cmocka_run_group_tests_name("registry", reg_tests, group_setup, group_teardown);
}
