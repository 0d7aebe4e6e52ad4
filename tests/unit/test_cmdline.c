/* Unit tests of lib/cmdline.c: word splitting, the "--" split, runtime options. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ukt.h"
#include "../../runtime-lib/include/uk/uk.h"

#define MAXW 8

#define UKT_PANIC_STUB
#include "ukt_check.h"

struct split_case {
	const char *line;
	int n; /* expected result */
	const char *words[MAXW + 1];
};

static const struct split_case split_cases[] = {
        {"", 0, {NULL}},
        {"   ", 0, {NULL}},
        {" \t\n\r\v\f ", 0, {NULL}},
        {"a", 1, {"a"}},
        {"  hello   world  ", 2, {"hello", "world"}},
        {"a\tb\nc\rd", 4, {"a", "b", "c", "d"}},
        {"\"a b\"", 1, {"a b"}},
        {"'a b'", 1, {"a b"}},
        {"a\"b c\"d", 1, {"ab cd"}},
        {"a'b c'd e", 2, {"ab cd", "e"}},
        {"\"\"", 1, {""}},
        {"''", 1, {""}},
        {"x \"\" y", 3, {"x", "", "y"}},
        {"\"\"\"\"", 1, {""}},
        {"a\\ b", 1, {"a b"}},
        {"\\\"", 1, {"\""}},
        {"\\\\", 1, {"\\"}},
        {"\"a \\\" b\"", 1, {"a \" b"}},
        {"\"a\\\\b\"", 1, {"a\\b"}},
        {"'a\\b'", 1, {"a\\b"}},
        {"'say \"hi\"'", 1, {"say \"hi\""}},
        {"\"it's\"", 1, {"it's"}},
        {"end\\", 1, {"end\\"}},
        {"\\'x\\'", 1, {"'x'"}},
        {"a \"\tb\n\" c", 3, {"a", "\tb\n", "c"}},
        {"\"abc", -2, {NULL}},
        {"'abc", -2, {NULL}},
        {"ok \"a'", -2, {NULL}},
        {"a b c d e f g h", 8, {"a", "b", "c", "d", "e", "f", "g", "h"}},
        {"a b c d e f g h i", -1, {NULL}},
        {"env=A=1 -- app --flag", 4, {"env=A=1", "--", "app", "--flag"}},
};

static void test_split(void)
{
	char line[256], *words[MAXW + 1];
	size_t i;
	int n, j, ok;

	for (i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		const struct split_case *c = &split_cases[i];

		snprintf(line, sizeof(line), "%s", c->line);
		memset(words, 0x5a, sizeof(words));
		n = ukt_uk_cmdline_split(line, words, MAXW);
		ok = n == c->n;
		for (j = 0; ok && j < n; j++)
			ok = strcmp(words[j], c->words[j]) == 0;
		if (ok && n >= 0)
			ok = words[n] == NULL;
		CHECK(ok, "split \"%s\": got %d (%s%s), expected %d", c->line, n,
		      n > 0 ? "first " : "", n > 0 ? words[0] : "", c->n);
	}
	n = ukt_uk_cmdline_split(line, words, 0);
	CHECK(n == -1 || n == 0, "max_words 0");
	strcpy(line, "   ");
	CHECK(ukt_uk_cmdline_split(line, words, 0) == 0 && words[0] == NULL, "nothing, max 0");
}

struct args_case {
	const char *line;
	int nopts, app_first;
};

static const struct args_case args_cases[] = {
        {"app arg", 0, 0},
        {"", 0, 0},
        {"-- app", 0, 1},
        {"env=A=1 --", 1, 2},
        {"env=A=1 seed=00 -- app -x", 2, 3},
        {"a -- b -- c", 1, 2},
        {"--", 0, 1},
        {"-- --", 0, 1},
        {"--x app", 0, 0},
        {"- app", 0, 0},
        {"\"--\" app", 0, 1}, /* quotes are gone by then: a quoted -- still splits */
};

static void test_args(void)
{
	char line[128], *words[MAXW + 1];
	size_t i;
	int n, nopts, first;

	for (i = 0; i < sizeof(args_cases) / sizeof(args_cases[0]); i++) {
		const struct args_case *c = &args_cases[i];

		snprintf(line, sizeof(line), "%s", c->line);
		n = ukt_uk_cmdline_split(line, words, MAXW);
		first = -1;
		nopts = ukt_uk_args_split(n, words, &first);
		CHECK(nopts == c->nopts && first == c->app_first,
		      "args \"%s\": %d options, app from %d; expected %d, %d", c->line, nopts,
		      first, c->nopts, c->app_first);
	}
	/* the second "--" belongs to the app */
	snprintf(line, sizeof(line), "a -- b -- c");
	n = ukt_uk_cmdline_split(line, words, MAXW);
	ukt_uk_args_split(n, words, &first);
	CHECK(n - first == 3 && strcmp(words[first + 1], "--") == 0,
	      "app words after the first --");
}

static int env_count(void)
{
	int n = 0;

	while (ukt_environ[n])
		n++;
	return n;
}

static const char *env_get(const char *key)
{
	size_t k = strlen(key);
	int i;

	for (i = 0; ukt_environ[i]; i++)
		if (strncmp(ukt_environ[i], key, k) == 0 && ukt_environ[i][k] == '=')
			return ukt_environ[i] + k + 1;
	return NULL;
}

static void test_options(void)
{
	static const char *bad[] = {"env=NOEQUALS", "env==x",
	                            "env=",         "seed=",
	                            "seed=0",       "seed=abc",
	                            "seed=zz",      "seed=0g",
	                            "seed=12 34",   "nosuch=1",
	                            "verbose",      "",
	                            "ENV=A=1",      "virtio_mmio.devic=1"};
	static char names[64 + 8][64]; /* options stay referenced: environ keeps pointers */
	char big[140];
	const char *w;
	size_t i;
	int rc;

	CHECK(env_count() == 0, "environ starts empty");
	CHECK(ukt_uk_runtime_option("env=HOME=/") == UK_OK, "env=HOME=/");
	CHECK(ukt_uk_runtime_option("env=PATH=/bin:/usr/bin") == UK_OK, "env=PATH");
	CHECK(ukt_uk_runtime_option("env=EMPTY=") == UK_OK, "env=EMPTY=");
	CHECK(ukt_uk_runtime_option("env=EQ=a=b") == UK_OK, "env=EQ=a=b");
	CHECK(ukt_uk_runtime_option("env=HOMEDIR=/h") == UK_OK, "env=HOMEDIR");
	CHECK(ukt_uk_runtime_option("env=HOME=/root") == UK_OK, "env=HOME override");
	CHECK(env_count() == 5, "%d entries, expected 5", env_count());
	/* time=NS: the host's unix ns at spawn, the wall clock's origin without a pvclock */
	CHECK(ukt_uk_cmdline_host_time() == 0, "no time= yet");
	CHECK(ukt_uk_runtime_option("time=") == UK_EINVAL, "time= empty");
	CHECK(ukt_uk_runtime_option("time=0") == UK_EINVAL, "time=0");
	CHECK(ukt_uk_runtime_option("time=12x") == UK_EINVAL, "time=12x");
	CHECK(ukt_uk_runtime_option("time=-5") == UK_EINVAL, "time=-5");
	CHECK(ukt_uk_runtime_option("time=12345678901234567890") == UK_EINVAL, "time= 20 digits");
	CHECK(ukt_uk_cmdline_host_time() == 0, "refused time= values leave it unset");
	CHECK(ukt_uk_runtime_option("time=1796600000123456789") == UK_OK &&
	              ukt_uk_cmdline_host_time() == 1796600000123456789ULL,
	      "time=1796600000123456789");
	/* dns=IP is UK_DNS=IP for getaddrinfo; longer than an address is refused. */
	CHECK(ukt_uk_runtime_option("dns=") == UK_EINVAL, "dns= empty");
	CHECK(ukt_uk_runtime_option("dns=255.255.255.2555") == UK_EINVAL, "dns= too long");
	CHECK(ukt_uk_runtime_option("dns=10.0.2.3") == UK_OK && env_count() == 6, "dns=10.0.2.3");
	CHECK(ukt_uk_runtime_option("dns=255.255.255.255") == UK_OK && env_count() == 6,
	      "dns= again replaces");
	w = env_get("UK_DNS");
	CHECK(w && strcmp(w, "255.255.255.255") == 0, "UK_DNS=%s", w ? w : "(unset)");
	w = env_get("HOME");
	CHECK(w && strcmp(w, "/root") == 0, "HOME=%s", w ? w : "(unset)");
	w = env_get("HOMEDIR");
	CHECK(w && strcmp(w, "/h") == 0, "HOMEDIR=%s", w ? w : "(unset)");
	w = env_get("EMPTY");
	CHECK(w && !*w, "EMPTY");
	w = env_get("EQ");
	CHECK(w && strcmp(w, "a=b") == 0, "EQ=%s", w ? w : "(unset)");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = ukt_uk_runtime_option(bad[i]);
		CHECK(rc == UK_EINVAL, "\"%s\" -> %d, expected UK_EINVAL", bad[i], rc);
	}
	CHECK(env_count() == 6, "bad options changed environ");

	CHECK(ukt_uk_runtime_option("seed=00ff10aB") == UK_OK, "seed=00ff10aB");
	for (i = 0; i < 128; i++)
		big[i] = "0123456789abcdef"[i % 16];
	big[128] = '\0';
	memmove(big + 5, big, 129);
	memcpy(big, "seed=", 5);
	CHECK(ukt_uk_runtime_option(big) == UK_OK, "64-byte seed");
	memcpy(big + 5 + 128, "00", 3);
	CHECK(ukt_uk_runtime_option(big) == UK_EINVAL, "65-byte seed");
	rc = ukt_uk_entropy_strength();
	CHECK(rc >= UK_ENTROPY_SEED, "strength %d after seed=", rc);

	/* environ is full at 64 entries */
	for (i = env_count(); i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "env=V%zu=%zu", i, i);
		CHECK(ukt_uk_runtime_option(names[i]) == UK_OK, "%s", names[i]);
	}
	CHECK(ukt_uk_runtime_option("env=ONEMORE=1") == UK_ENOMEM, "65th variable");
	CHECK(ukt_uk_runtime_option("env=HOME=/again") == UK_OK, "override when full");
	CHECK(env_count() == 64 && strcmp(env_get("HOME"), "/again") == 0, "full environ");

	CHECK(ukt_uk_cmdline_virtio_mmio(0, &w) == UK_EINVAL, "no virtio words yet");
	for (i = 0; i < 8; i++) {
		snprintf(names[64 + i], sizeof(names[64 + i]), "virtio_mmio.device=512@0x%zx:%zu",
		         0xfeb00000 + i * 512, 12 + i);
		CHECK(ukt_uk_runtime_option(names[64 + i]) == UK_OK, "%s", names[64 + i]);
	}
	CHECK(ukt_uk_runtime_option("virtio_mmio.device=512@0x1000:5") == UK_ENOMEM, "9th device");
	CHECK(ukt_uk_cmdline_virtio_mmio(0, &w) == UK_OK &&
	              strcmp(w, "virtio_mmio.device=512@0xfeb00000:12") == 0,
	      "virtio 0");
	CHECK(ukt_uk_cmdline_virtio_mmio(7, &w) == UK_OK &&
	              strcmp(w, "virtio_mmio.device=512@0xfeb00e00:19") == 0,
	      "virtio 7");
	CHECK(ukt_uk_cmdline_virtio_mmio(8, &w) == UK_EINVAL, "virtio 8");
	CHECK(ukt_uk_cmdline_virtio_mmio(-1, &w) == UK_EINVAL, "virtio -1");
}

static void test_mount(void)
{
	static const char *bad[] = {
	        "mount=",
	        "mount=blk0",
	        "mount=blk0:",
	        "mount=blk0:/",
	        "mount=blk0:data",
	        "mount=blk0:/data/",
	        "mount=blk0:/a//b",
	        "mount=blk0:/a/./b",
	        "mount=blk0:/a/..",
	        "mount=blk:/data",
	        "mount=blkx:/data",
	        "mount=sda:/data",
	        "mount=blk0:/da ta",
	        "mount=blk0:/data:rx",
	        "mount=blk0:/data:ro:ro",
	        "mount=blk12345678:/data",
	        "mount=blk0:/0123456789012345678901234567890123456789012345678901234567890123",
	};
	const char *dev, *path;
	int ro = -1, rc;
	char word[32];

	CHECK(ukt_uk_cmdline_mount(0, &dev, &path, &ro) == UK_EINVAL, "no mounts yet");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = ukt_uk_runtime_option(bad[i]);
		CHECK(rc == UK_EINVAL, "\"%s\" -> %d, expected UK_EINVAL", bad[i], rc);
	}
	CHECK(ukt_uk_cmdline_mount(0, &dev, &path, &ro) == UK_EINVAL, "bad options added a mount");
	CHECK(ukt_uk_runtime_option("mount=blk0:/data") == UK_OK, "blk0:/data");
	CHECK(ukt_uk_runtime_option("mount=blk1:/srv/cfg-1.d:ro") == UK_OK, "blk1:/srv/cfg-1.d:ro");
	CHECK(ukt_uk_runtime_option("mount=blk2:/data2:rw") == UK_OK, "/data2 is not inside /data");
	CHECK(ukt_uk_runtime_option("mount=blk3:/data") == UK_EINVAL, "the same mount point twice");
	CHECK(ukt_uk_runtime_option("mount=blk3:/data/sub") == UK_EINVAL, "inside /data");
	CHECK(ukt_uk_runtime_option("mount=blk3:/srv") == UK_EINVAL, "around /srv/cfg-1.d");
	CHECK(ukt_uk_cmdline_mount(0, &dev, &path, &ro) == UK_OK && !strcmp(dev, "blk0") &&
	              !strcmp(path, "/data") && ro == 0,
	      "mount 0");
	CHECK(ukt_uk_cmdline_mount(1, &dev, &path, &ro) == UK_OK && !strcmp(dev, "blk1") &&
	              !strcmp(path, "/srv/cfg-1.d") && ro == 1,
	      "mount 1");
	CHECK(ukt_uk_cmdline_mount(2, &dev, &path, &ro) == UK_OK && ro == 0, "mount 2 (:rw)");
	for (int i = 3; i < 8; i++) {
		snprintf(word, sizeof(word), "mount=blk%d:/m%d", i, i);
		CHECK(ukt_uk_runtime_option(word) == UK_OK, "%s", word);
	}
	CHECK(ukt_uk_runtime_option("mount=blk9:/m9") == UK_ENOMEM, "9th mount");
	CHECK(ukt_uk_cmdline_mount(8, &dev, &path, &ro) == UK_EINVAL, "mount 8");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_split();
	test_args();
	test_options();
	test_mount();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
