/* End-to-end test of ukcc --embed and uk/files.h: a temp tree embedded into a hosted program. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ukt_check.h"
static char dir[PATH_MAX], ukcc[PATH_MAX + 16];

static void put(const char *rel, const void *data, size_t n)
{
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	for (char *s = p + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	f = fopen(p, "wb");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f)) {
		perror(p);
		exit(1);
	}
}

/* Runs a shell command in the temp dir; returns its exit status; its output goes to (out). */
static int sh(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[8192];
	size_t n = 0, k;
	va_list ap;
	FILE *p;
	int st;

	n = (size_t)snprintf(cmd, sizeof(cmd), "cd '%s' && { ", dir);
	va_start(ap, fmt);
	n += (size_t)vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
	va_end(ap);
	snprintf(cmd + n, sizeof(cmd) - n, "; } 2>&1");
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = 0;
	while (cap && (k = fread(out + n, 1, cap - 1 - n, p)) > 0)
		n += k;
	if (cap)
		out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h;
}

/* The guest program: lists the table, then answers a few lookups. */
static const char prog[] =
        "#include <stdio.h>\n"
        "#include <string.h>\n"
        "#include <uk/files.h>\n"
        "static unsigned long long fnv(const unsigned char *p, size_t n)\n"
        "{ unsigned long long h = 0xcbf29ce484222325ull;\n"
        "  while (n--) h = (h ^ *p++) * 0x100000001b3ull; return h; }\n"
        "int main(void)\n"
        "{\n"
        "  printf(\"count %zu\\n\", uk_file_count());\n"
        "  for (size_t i = 0; i < uk_file_count(); i++) {\n"
        "    const struct uk_rofile *f = uk_file_at(i);\n"
        "    printf(\"%s|%zu|%s|%016llx|%d|%s\\n\", f->path, f->size, f->etag,\n"
        "           fnv(f->data, f->size), f->data[f->size] == 0, uk_file_content_type(f->path));\n"
        "    if (uk_file_lookup(f->path) != f) printf(\"lookup mismatch %s\\n\", f->path);\n"
        "  }\n"
        "  printf(\"dirs %d%d%d%d%d\\n\", uk_file_is_dir(\"/www\"), "
        "uk_file_is_dir(\"/www/sub/\"),\n"
        "         uk_file_is_dir(\"/www/sub/deeper\"), uk_file_is_dir(\"/www/index.html\"),\n"
        "         uk_file_is_dir(\"/ww\"));\n"
        "  printf(\"miss %d\\n\", uk_file_lookup(\"/www/nope\") == NULL);\n"
        "  return 0;\n"
        "}\n";

struct want {
	const char *path, *src, *type;
};

static void test_embed(void)
{
	static char out[1 << 16], exp[1 << 16], line[1024];
	unsigned char bin[256];
	static const struct want files[] = {
	        /* sorted by path, as the table must be */
	        {"/etc/note.txt", "note.txt", "text/plain; charset=utf-8"},
	        {"/n/renamed.txt", "note.txt", "text/plain; charset=utf-8"},
	        {"/www/.hidden", "site/.hidden", "application/octet-stream"},
	        {"/www/bin.dat", "site/bin.dat", "application/octet-stream"},
	        {"/www/empty.txt", "site/empty.txt", "text/plain; charset=utf-8"},
	        {"/www/index.html", "site/index.html", "text/html; charset=utf-8"},
	        {"/www/st*r", "site/st*r", "application/octet-stream"},
	        {"/www/sub/a b.txt", "site/sub/a b.txt", "text/plain; charset=utf-8"},
	        {"/www/sub/deeper/x.CSS", "site/sub/deeper/x.CSS", "text/css; charset=utf-8"},
	};
	size_t n = 0;
	int rc;

	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	put("site/index.html", "<h1>hello</h1>\n", 15);
	put("site/empty.txt", "", 0);
	put("site/bin.dat", bin, sizeof(bin));
	put("site/.hidden", "h", 1);
	put("site/st*r", "glob", 4); /* a name that must not expand as a pattern */
	put("site/sub/a b.txt", "spaces\n", 7);
	put("site/sub/deeper/x.CSS", "p{}", 3);
	put("note.txt", "note\n", 5);
	put("prog.c", prog, sizeof(prog) - 1);

	rc = sh(out, sizeof(out),
	        "'%s' --target=hosted --embed site:/www --embed note.txt:/etc/ "
	        "--embed=note.txt:/n//renamed.txt -o prog prog.c && ./prog",
	        ukcc);
	CHECK(rc == 0, "ukcc --embed and run: %d: %s", rc, out);
	n += (size_t)snprintf(exp + n, sizeof(exp) - n, "count %zu\n",
	                      sizeof(files) / sizeof(files[0]));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		static unsigned char data[4096];
		char path[PATH_MAX * 2], hash[80] = "";
		FILE *f;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i].src);
		f = fopen(path, "rb");
		len = f ? fread(data, 1, sizeof(data), f) : 0;
		if (f)
			fclose(f);
		sh(hash, sizeof(hash), "sha256sum < '%s'", files[i].src);
		n += (size_t)snprintf(exp + n, sizeof(exp) - n, "%s|%zu|\"%.16s\"|%016llx|1|%s\n",
		                      files[i].path, len, hash, (unsigned long long)fnv(data, len),
		                      files[i].type);
	}
	n += (size_t)snprintf(exp + n, sizeof(exp) - n, "dirs 11100\nmiss 1\n");
	CHECK(!strcmp(out, exp), "embedded table:\n--- got ---\n%s--- want ---\n%s", out, exp);

	/* no --embed: no files, and the weak table links */
	rc = sh(out, sizeof(out), "'%s' --target=hosted -o prog0 prog.c && ./prog0", ukcc);
	CHECK(rc == 0 && !strncmp(out, "count 0\n", 8), "no files: %d: %s", rc, out);
	/* an empty directory embeds nothing */
	mkdir(strcat(strcpy(line, dir), "/emptydir"), 0755);
	rc = sh(out, sizeof(out),
	        "'%s' --target=hosted --embed emptydir:/e -o prog1 prog.c && ./prog1", ukcc);
	CHECK(rc == 0 && !strncmp(out, "count 0\n", 8), "empty dir: %d: %s", rc, out);
	/* the kvm target links the same table; stripped builds are reproducible */
	rc = sh(out, sizeof(out),
	        "'%s' -s --embed site:/www -o k1 prog.c && '%s' -s --embed site/:/www -o k2 prog.c "
	        "&& "
	        "cmp k1 k2 && grep -c '/www/sub/deeper/x.CSS' k1",
	        ukcc, ukcc);
	CHECK(rc == 0 && !strcmp(out, "1\n"), "kvm build, reproducible: %d: %s", rc, out);
}

/* Bad --embed arguments fail the build with a message naming --embed. */
static void test_embed_errors(void)
{
	static const struct {
		const char *args, *msg;
	} bad[] = {
	        {"--embed missing:/www", "not a file or directory"},
	        {"--embed site", "expected SRC:DST"},
	        {"--embed site:www", "expected SRC:DST"},
	        {"--embed :/www", "empty SRC"},
	        {"--embed site:/www --embed site/index.html:/www/index.html", "two files at"},
	        {"--embed note.txt:/a/../b", "component"},
	        {"--embed \"note.txt:/a$(printf '\\t')b\"", "control character"},
	        {"--embed site:/www -c", "needs a link"},
	        {"--embed", "needs SRC:DST"},
	};
	static char out[8192];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sh(out, sizeof(out), "'%s' --target=hosted -o bad prog.c %s", ukcc,
		            bad[i].args);

		CHECK(rc != 0 && strstr(out, "ukcc: --embed") && strstr(out, bad[i].msg),
		      "%s: exit %d: %s", bad[i].args, rc, out);
	}
	/* a fifo is neither a file nor a directory */
	{
		char p[PATH_MAX + 32];
		int rc;

		snprintf(p, sizeof(p), "%s/site2/fifo", dir);
		put("site2/ok.txt", "ok", 2);
		mkfifo(p, 0644);
		rc = sh(out, sizeof(out), "'%s' --target=hosted --embed site2:/s -o bad prog.c",
		        ukcc);
		CHECK(rc != 0 && strstr(out, "not a regular file"), "fifo: %d: %s", rc, out);
	}
}

int main(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return 77;
	self[n] = 0;
	slash = strrchr(self, '/');
	*slash = 0;
	snprintf(ukcc, sizeof(ukcc), "%s/../bin/ukcc", self);
	if (access(ukcc, X_OK)) {
		printf("SKIP: %s not built\n", ukcc);
		return 77;
	}
	snprintf(dir, sizeof(dir), "%s/test_http_embed.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_embed();
	test_embed_errors();
	if (!failed) {
		char out[256];

		sh(out, sizeof(out), "cd / && rm -rf '%s'", dir);
	} else {
		printf("left %s for inspection\n", dir);
	}
	printf("test_http_embed: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
