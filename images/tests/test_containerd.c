/* Interop test: a private containerd imports a `uk save` archive, and pulls an image pushed to a
 * docker-registry on 127.0.0.1, and unpacks /uk/kernel and /uk/files. */
#include "testutil.h"
#include "testreg.h"

#include "uk/registry.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static char *dir;
static pid_t ctrd = -1;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[PATH_MAX * 4];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void stop_containerd(void)
{
	if (ctrd > 0) {
		kill(ctrd, SIGTERM);
		waitpid(ctrd, NULL, 0);
		ctrd = -1;
	}
}

/* Starts containerd with everything under (dir); returns 0, or -1 if it cannot run here. */
static int start_containerd(void)
{
	char cfg[PATH_MAX + 32], log[PATH_MAX + 32], sock[PATH_MAX + 32];
	FILE *f;

	snprintf(cfg, sizeof(cfg), "%s/containerd.toml", dir);
	snprintf(log, sizeof(log), "%s/containerd.log", dir);
	snprintf(sock, sizeof(sock), "%s/c.sock", dir);
	f = fopen(cfg, "w");
	assert_non_null(f);
	fprintf(f,
	        "version = 2\nroot = \"%s/root\"\nstate = \"%s/state\"\n"
	        "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"%s\"\n",
	        dir, dir, sock);
	fclose(f);
	ctrd = fork();
	if (ctrd == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("containerd", "containerd", "--config", cfg, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		if (run("ctr -a %s version >/dev/null 2>&1", sock) == 0)
			return 0;
		if (waitpid(ctrd, NULL, WNOHANG) == ctrd) {
			ctrd = -1;
			break;
		}
		usleep(100000);
	}
	fprintf(stderr, "SKIP: containerd did not start here; its log:\n");
	run("tail -5 %s >&2", log);
	stop_containerd();
	return -1;
}

/* Builds an image (a fake ukcc, the Ukfile text (ukfile), a site) in a new store named
 * (name) under (dir); the kernel's path in (kp). */
static ukimg_store_t *build_site(const char *name, const char *ukfile, ukimg_build_result_t *r,
                                 char *kp, size_t kplen)
{
	char root[PATH_MAX + 16], ctx[PATH_MAX + 16];
	char *ukcc = tu_fake_ukcc(dir);
	ukimg_store_t *store;
	ukimg_build_opts_t o;
	uk_err_t err = {0};

	snprintf(root, sizeof(root), "%s/store-%s", dir, name);
	snprintf(ctx, sizeof(ctx), "%s/ctx-%s", dir, name);
	mkdir(ctx, 0755);
	tu_write(ctx, "Ukfile", "%s", ukfile);
	tu_write(ctx, "main.c", "int main(void) { return 0; } /* %s */\n", name);
	tu_write(ctx, "site/index.html", "<h1>%s</h1>\n", name);
	store = ukimg_store_open(root, &err);
	assert_non_null(store);
	ukimg_build_opts_init(&o);
	o.context_dir = ctx;
	o.ukcc_path = ukcc;
	assert_int_equal(ukimg_build(store, &o, r, &err), 0);
	assert_int_equal(ukimg_kernel_path(store, r->manifest_digest, kp, kplen, &err), 0);
	free(ukcc);
	return store;
}

static void test_import(void **state)
{
	char tarp[PATH_MAX + 16], kp[PATH_MAX];
	ukimg_store_t *store;
	ukimg_build_result_t r;
	uk_err_t err = {0};
	ukimg_ref_t ref;
	int fd;

	(void)state;
	snprintf(tarp, sizeof(tarp), "%s/saved.tar", dir);
	store = build_site("import",
	                   "SOURCES main.c\nFILES site /www\nCMD [\"--port=80\"]\nEXPOSE 80\n", &r,
	                   kp, sizeof(kp));
	ref.name = "docker.io/library/ukhello:latest";
	ref.manifest_digest = r.manifest_digest;
	fd = open(tarp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(ukimg_save(store, &ref, 1, fd, &err), 0);
	close(fd);

	/* containerd imports it under its name, with our manifest digest, and unpacks it */
	assert_int_equal(
	        run("ctr -a %s/c.sock -n uk images import --snapshotter native %s", dir, tarp), 0);
	assert_int_equal(run("ctr -a %s/c.sock -n uk images ls | grep "
	                     "'^docker.io/library/ukhello:latest .*%s'",
	                     dir, r.manifest_digest),
	                 0);
	assert_int_equal(run("ctr -a %s/c.sock -n uk images check | grep ukhello | grep -q "
	                     "complete",
	                     dir),
	                 0);
	assert_int_equal(run("k=$(find %s/root/io.containerd.snapshotter.v1.native/snapshots "
	                     "-path '*/uk/kernel' | head -1) && [ -n \"$k\" ] && cmp \"$k\" %s && "
	                     "find %s/root/io.containerd.snapshotter.v1.native/snapshots -path "
	                     "'*/uk/files/www/index.html' | grep -q .",
	                     dir, kp, dir),
	                 0);
	ukimg_store_free(store);
}

/* ukimg_push to a local docker-registry, then `ctr images pull --plain-http`: containerd takes
 * the manifest as it is (same digest), and the unpacked snapshot has our kernel. */
static void test_pull(void **state)
{
	char kp[PATH_MAX], name[512];
	struct registry reg = {0};
	ukimg_store_t *store;
	ukimg_build_result_t r;
	ukimg_regref_t ref;
	uk_err_t err = {0};
	int rc;

	(void)state;
	if (access("/usr/bin/docker-registry", X_OK) != 0) {
		skip(); /* reported by cmocka as skipped, not passed */
		return;
	}
	store = build_site("pull", "SOURCES main.c\nFILES site /www\n", &r, kp, sizeof(kp));

	registry_start(&reg, 0);
	snprintf(name, sizeof(name), "%s/uk/pulled:v1", reg.addr);
	assert_int_equal(ukimg_ref_parse(name, &ref, &err), 0);
	if (ukimg_push(store, r.manifest_digest, &ref, NULL, &err) != 0) {
		registry_kill(&reg);
		fail_msg("push: %s", err.message);
	}
	rc = run("ctr -a %s/c.sock -n uk images pull --plain-http --snapshotter native %s "
	         ">%s/pull.log 2>&1 || { cat %s/pull.log >&2; false; }",
	         dir, name, dir, dir);
	registry_kill(&reg);
	tu_rm_rf(reg.dir);
	assert_int_equal(rc, 0);
	assert_int_equal(run("ctr -a %s/c.sock -n uk images ls | grep -F '%s ' | grep -q '%s'", dir,
	                     name, r.manifest_digest),
	                 0);
	assert_int_equal(run("find %s/root/io.containerd.snapshotter.v1.native/snapshots -path "
	                     "'*/uk/kernel' -exec cmp -s {} %s \\; -print | grep -q .",
	                     dir, kp),
	                 0);
	ukimg_store_free(store);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_import),
	                                   cmocka_unit_test(test_pull)};
	int rc;

	if (run("command -v containerd >/dev/null && command -v ctr >/dev/null") != 0) {
		fprintf(stderr, "SKIP: containerd and ctr are not installed (Debian package "
		                "containerd)\n");
		return 77;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: containerd needs root\n");
		return 77;
	}
	dir = tu_mkdtemp();
	if (start_containerd() < 0) {
		tu_rm_rf(dir);
		return 77;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	stop_containerd();
	tu_rm_rf(dir);
	free(dir);
	return rc;
}
