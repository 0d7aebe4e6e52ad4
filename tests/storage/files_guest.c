/* Storage test guest: ordinary stdio, dirent and stat calls on a store mounted at /data (mount=),
 * over several boots, and the image's embedded files under /etc. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int failures;

#define CHECK(cond, ...)                                             \
	do {                                                         \
		if (!(cond)) {                                       \
			printf("FAIL: %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                         \
			printf(" (errno %d)\n", errno);              \
			failures++;                                  \
		}                                                    \
	} while (0)

/* fopen that must fail with (want). */
static void open_fails(const char *path, const char *mode, int want)
{
	FILE *f;

	errno = 0;
	f = fopen(path, mode);
	CHECK(!f && errno == want, "fopen(%s, %s): errno %d, want %d", path, mode, errno, want);
	if (f)
		fclose(f);
}

/* The whole of (path) in a static buffer, its length in (*len); NULL if it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
	static char buf[64 * 1024];
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[*len] = 0;
	CHECK(feof(f) && !ferror(f), "%s: feof %d ferror %d", path, feof(f), ferror(f));
	fclose(f);
	return buf;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

/* The names in directory (path), "name/" for directories, joined by spaces. */
static const char *listing(const char *path)
{
	static char out[512];
	struct dirent *e;
	DIR *d = opendir(path);

	out[0] = 0;
	if (!d)
		return "(opendir failed)";
	while ((e = readdir(d)))
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s%s", *out ? " " : "",
		         e->d_name, e->d_type == DT_DIR ? "/" : "");
	closedir(d);
	return out;
}

static void write_boot(void)
{
	unsigned char big[10000];
	char line[64];
	size_t len;
	struct stat st;
	FILE *f;
	char *s;

	open_fails("/data/missing", "r", ENOENT);
	open_fails("/data/missing", "r+", ENOENT);
	open_fails("/data/x", "q", EINVAL);
	open_fails("/data", "r", EISDIR);

	f = fopen("/data/notes.txt", "w");
	CHECK(f, "fopen notes.txt w");
	for (int i = 1; i <= 100; i++)
		CHECK(fprintf(f, "line %d\n", i) > 0, "fprintf %d", i);
	CHECK(fclose(f) == 0, "fclose notes.txt");

	f = fopen("/data/notes.txt", "r+");
	CHECK(f && fgets(line, sizeof(line), f) && !strcmp(line, "line 1\n"), "fgets line 1");
	CHECK(fseek(f, 0, SEEK_END) == 0 && ftell(f) == 792, "size %ld", ftell(f));
	CHECK(fseek(f, 5, SEEK_SET) == 0 && fputs("X", f) >= 0, "overwrite");
	CHECK(fclose(f) == 0, "fclose r+");

	f = fopen("/data/log", "a");
	CHECK(f && fputs("one\n", f) >= 0 && fclose(f) == 0, "append one");
	f = fopen("/data/log", "a+");
	CHECK(f && fputs("two\n", f) >= 0, "append two");
	rewind(f);
	CHECK(fread(line, 1, sizeof(line), f) == 8 && !memcmp(line, "one\ntwo\n", 8), "a+ reads");
	CHECK(fclose(f) == 0, "fclose a+");

	CHECK(mkdir("/data/dir", 0755) == 0, "mkdir");
	errno = 0;
	CHECK(mkdir("/data/dir", 0755) < 0 && errno == EEXIST, "mkdir twice");
	CHECK(!strcmp(listing("/data/dir"), ""), "empty dir lists \"%s\"", listing("/data/dir"));
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = pattern(i);
	f = fopen("/data/dir/sub/a.bin", "wb"); /* sub is implicit */
	CHECK(f && fwrite(big, 100, 100, f) == 100, "fwrite a.bin");
	CHECK(fclose(f) == 0, "fclose a.bin");

	f = fopen("/data/tmp", "w");
	CHECK(f && fputs("temp", f) >= 0 && fflush(f) == 0 && fclose(f) == 0, "tmp");
	CHECK(rename("/data/tmp", "/data/dir/renamed") == 0, "rename tmp");
	open_fails("/data/tmp", "r", ENOENT);

	f = fopen("/data/gone", "w");
	CHECK(f && fclose(f) == 0, "gone");
	CHECK(stat("/data/gone", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0, "stat gone");
	CHECK(remove("/data/gone") == 0, "remove");
	open_fails("/data/gone", "r", ENOENT);
	errno = 0;
	CHECK(remove("/data/gone") < 0 && errno == ENOENT, "remove twice");
	errno = 0;
	CHECK(remove("/data/dir") < 0 && errno == ENOTEMPTY, "remove a full directory");

	open_fails("/data/dir", "w", EISDIR);
	open_fails("/data/notes.txt/x", "w", ENOTDIR);
	open_fails("/data/log", "wx", EEXIST);

	/* A file may not grow past the store's value limit (4 MiB). */
	f = fopen("/data/huge", "w");
	CHECK(f && fseek(f, 4 * 1024 * 1024, SEEK_SET) == 0, "seek far");
	errno = 0;
	CHECK(fwrite("z", 1, 1, f) == 0 && errno == EFBIG && ferror(f), "write past 4 MiB");
	CHECK(fclose(f) == 0 && remove("/data/huge") == 0, "huge removed");

	CHECK(stat("/data/notes.txt", &st) == 0 && st.st_size == 792, "stat notes");
	CHECK(stat("/data/dir/sub", &st) == 0 && S_ISDIR(st.st_mode), "stat sub");
	CHECK(!strcmp(listing("/data"), "dir/ log notes.txt"), "/data lists \"%s\"",
	      listing("/data"));
	CHECK(!strcmp(listing("/data/./dir/../dir"), "renamed sub/"), "dir lists \"%s\"",
	      listing("/data/dir"));

	/* Never closed: exit() (main's return) flushes it. */
	f = fopen("/data/unclosed", "w");
	CHECK(f && fputs("kept at exit", f) >= 0, "unclosed");

	/* The image's embedded files: readable, listed, not writable. */
	s = slurp("/etc/hello.txt", &len);
	CHECK(s && !strcmp(s, "hello from the image\n"), "embedded file: %s", s ? s : "(none)");
	open_fails("/etc/hello.txt", "w", EROFS);
	open_fails("/etc/nope", "r", ENOENT);
	CHECK(!strcmp(listing("/etc"), "hello.txt"), "/etc lists \"%s\"", listing("/etc"));
	CHECK(stat("/etc/hello.txt", &st) == 0 && st.st_size == 21, "stat embedded");
}

/* After a reboot: everything the first boot wrote is there; then a directory rename. */
static void verify_boot(void)
{
	char want[1024] = "", *s;
	size_t len;

	for (int i = 1; i <= 100; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "line %d\n", i);
	want[5] = 'X';
	s = slurp("/data/notes.txt", &len);
	CHECK(s && len == 792 && !strcmp(s, want), "notes.txt after reboot");
	s = slurp("/data/log", &len);
	CHECK(s && !strcmp(s, "one\ntwo\n"), "log after reboot");
	s = slurp("/data/dir/renamed", &len);
	CHECK(s && !strcmp(s, "temp"), "renamed after reboot");
	s = slurp("/data/unclosed", &len);
	CHECK(s && !strcmp(s, "kept at exit"), "a file left open was flushed at exit");
	CHECK(remove("/data/unclosed") == 0, "remove unclosed");
	s = slurp("/data/dir/sub/a.bin", &len);
	CHECK(s && len == 10000, "a.bin: %zu bytes", s ? len : 0);
	for (size_t i = 0; s && i < len; i++)
		if ((unsigned char)s[i] != pattern(i)) {
			CHECK(0, "a.bin byte %zu", i);
			break;
		}
	CHECK(!strcmp(listing("/data"), "dir/ log notes.txt"), "/data lists \"%s\"",
	      listing("/data"));
	CHECK(rename("/data/dir", "/data/dir2") == 0, "rename dir");
	CHECK(!strcmp(listing("/data"), "dir2/ log notes.txt"), "/data lists \"%s\"",
	      listing("/data"));
	CHECK(!strcmp(listing("/data/dir2"), "renamed sub/"), "dir2 lists \"%s\"",
	      listing("/data/dir2"));
}

/* Mounted read-only: reads work, every write is EROFS. */
static void readonly_boot(void)
{
	size_t len;
	char *s = slurp("/data/log", &len);

	CHECK(s && !strcmp(s, "one\ntwo\n"), "log read-only");
	open_fails("/data/new", "w", EROFS);
	open_fails("/data/log", "a", EROFS);
	open_fails("/data/log", "r+", EROFS);
	open_fails("/data/missing", "r", ENOENT);
	errno = 0;
	CHECK(remove("/data/log") < 0 && errno == EROFS, "remove read-only");
	errno = 0;
	CHECK(mkdir("/data/d", 0) < 0 && errno == EROFS, "mkdir read-only");
	errno = 0;
	CHECK(rename("/data/log", "/data/log2") < 0 && errno == EROFS, "rename read-only");
}

/* On a 1 MiB disk (512 KiB of live data at most): a file that does not fit fails at fflush and
 * fclose with ENOSPC; the store keeps what it had. */
static void full_boot(void)
{
	static char buf[300 * 1024];
	FILE *f;

	memset(buf, 'a', sizeof(buf));
	f = fopen("/data/a", "w");
	CHECK(f && fwrite(buf, 1, sizeof(buf), f) == sizeof(buf) && fclose(f) == 0, "a fits");
	memset(buf, 'b', sizeof(buf));
	f = fopen("/data/b", "w");
	CHECK(f && fwrite(buf, 1, sizeof(buf), f) == sizeof(buf), "b buffered");
	errno = 0;
	CHECK(fflush(f) == EOF && errno == ENOSPC && ferror(f), "fflush b: ENOSPC");
	errno = 0;
	CHECK(fclose(f) == EOF && errno == ENOSPC, "fclose b: ENOSPC");
	open_fails("/data/b", "r", ENOENT);
	f = fopen("/data/a", "a");
	CHECK(f && fwrite(buf, 1, sizeof(buf), f) == sizeof(buf), "a grows in memory");
	errno = 0;
	CHECK(fclose(f) == EOF && errno == ENOSPC, "fclose a: ENOSPC");
}

/* After full_boot: a whole and unchanged, b absent; and the space can be used again. */
static void fullcheck_boot(void)
{
	FILE *f = fopen("/data/a", "r");
	long n = 0;
	int c;

	while (f && (c = fgetc(f)) != EOF)
		n += c == 'a' ? 1 : 1000000;
	CHECK(f && n == 300 * 1024, "a holds %ld", n);
	if (f)
		fclose(f);
	open_fails("/data/b", "r", ENOENT);
	CHECK(remove("/data/a") == 0, "remove a");
	f = fopen("/data/b", "w");
	CHECK(f && fputs("fits now", f) >= 0 && fclose(f) == 0, "b after a was removed");
}

/* On a disk that holds something other than a store: nothing is formatted, every access is EIO. */
static void nostore_boot(void)
{
	open_fails("/data/x", "w", EIO);
	open_fails("/data/x", "r", EIO);
	errno = 0;
	CHECK(opendir("/data") == NULL && errno == EIO, "opendir on a failed mount");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} modes[] = {{"write", write_boot},         {"verify", verify_boot},
	             {"readonly", readonly_boot},   {"full", full_boot},
	             {"fullcheck", fullcheck_boot}, {"nostore", nostore_boot}};

	for (size_t i = 0; argc == 2 && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name)) {
			modes[i].fn();
			if (failures)
				return 1;
			printf("SUCCESS\n");
			return 0;
		}
	printf("usage: files_guest write|verify|readonly|full|fullcheck|nostore\n");
	return 2;
}
