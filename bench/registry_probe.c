/* Benchmark helper for bench/registry.sh: builds an image with the real ukcc, then times ukimg_push
 * and ukimg_pull (into an empty store) against a registry; prints one "key value" per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uk/images.h"
#include "uk/registry.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int die(const char *what, const uk_err_t *err)
{
	fprintf(stderr, "registry_probe: %s: %s\n", what, err->message);
	return 1;
}

int main(int argc, char **argv)
{
	ukimg_build_opts_t o;
	ukimg_build_result_t r;
	ukimg_regref_t ref;
	ukimg_store_t *src, *dst;
	uk_err_t err = {0};
	char got[UKIMG_DIGEST_SIZE], path[4096];
	double t0;

	if (argc != 5) {
		fprintf(stderr,
		        "usage: registry_probe UKCC CONTEXT_DIR WORK_DIR REGISTRY/REPO:TAG\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/src", argv[3]);
	src = ukimg_store_open(path, &err);
	if (!src)
		return die("open store", &err);
	snprintf(path, sizeof(path), "%s/dst", argv[3]);
	dst = ukimg_store_open(path, &err);
	if (!dst)
		return die("open store", &err);
	if (ukimg_ref_parse(argv[4], &ref, &err) < 0)
		return die("reference", &err);
	ukimg_build_opts_init(&o);
	o.context_dir = argv[2];
	o.ukcc_path = argv[1];
	if (ukimg_build(src, &o, &r, &err) < 0)
		return die("build", &err);
	printf("manifest %s\nconfig %s\nlayer %s\nlayer_bytes %lld\n", r.manifest_digest,
	       r.config_digest, r.layer_digest, (long long)r.size);
	t0 = now_ms();
	if (ukimg_push(src, r.manifest_digest, &ref, NULL, &err) < 0)
		return die("push", &err);
	printf("push_ms %.1f\n", now_ms() - t0);
	t0 = now_ms();
	if (ukimg_push(src, r.manifest_digest, &ref, NULL, &err) < 0)
		return die("push again", &err);
	printf("repush_ms %.1f\n", now_ms() - t0);
	t0 = now_ms();
	if (ukimg_pull(dst, &ref, NULL, got, &err) < 0)
		return die("pull", &err);
	printf("pull_ms %.1f\n", now_ms() - t0);
	ukimg_store_free(src);
	ukimg_store_free(dst);
	return 0;
}
