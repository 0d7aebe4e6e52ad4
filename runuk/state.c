/* runuk's record of each container under --root: <root>/<id>/{runuk.lock,runuk.json,...}. */
#include "runuk.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>

const char *runuk_status_name(enum runuk_status s)
{
	static const char *const names[] = {"creating", "created", "running", "stopped"};

	return names[s];
}

int runuk_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > 128 || !strcmp(id, ".") || !strcmp(id, ".."))
		return 0;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-") ==
	       n;
}

int runuk_kernel_open(const char *rootfs, uk_err_t *err)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
	                       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int dir = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	int fd;

	if (dir < 0)
		return uk_err_set(err, 404, "not_found", "rootfs %s: %s", rootfs, strerror(errno));
	fd = (int)syscall(SYS_openat2, dir, RUNUK_KERNEL + 1, &how, sizeof(how));
	if (fd < 0)
		return uk_err_set(err, 404, "not_found", "rootfs %s has no %s: not a uk bundle",
		                  rootfs, RUNUK_KERNEL);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return uk_err_set(err, 404, "not_found", "%s%s is not a regular file", rootfs,
		                  RUNUK_KERNEL);
	}
	return fd;
}

int runuk_state_dir(const char *root, const char *id, char *out, size_t len, uk_err_t *err)
{
	if (!runuk_id_valid(id))
		return uk_err_bad(
		        err,
		        "invalid container id \"%s\": use 1-128 of [A-Za-z0-9_+.-], not . "
		        "or ..",
		        id);
	if ((size_t)snprintf(out, len, "%s/%s", root, id) >= len)
		return uk_err_bad(err, "state directory %s/%s: path too long", root, id);
	return 0;
}

int runuk_state_lock(const char *dir, uk_err_t *err)
{
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/runuk.lock", dir);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return uk_err_set(err, 404, "not_found", "container %s does not exist",
		                  strrchr(dir, '/') + 1);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			return uk_err_errno(err, errno, "lock %s", path);
		}
	return fd;
}

int runuk_state_write(const char *dir, const struct runuk_state *st, uk_err_t *err)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	char path[PATH_MAX + 16], tmp[PATH_MAX + 16];
	const char *text;
	_cleanup_close_ int fd = -1;

	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "created", json_object_new_string(st->created));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "start", json_object_new_uint64(st->start));
	json_object_object_add(o, "annotations", json_object_get(st->annotations));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(path, sizeof(path), "%s/runuk.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/.runuk.json.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd) < 0 ||
	    rename(tmp, path) < 0)
		return uk_err_errno(err, errno, "write %s", path);
	return 0;
}

static void copy_str(char *dst, size_t len, json_object *o, const char *key)
{
	json_object *v;

	dst[0] = 0;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(dst, len, "%s", json_object_get_string(v));
}

int runuk_state_read(const char *dir, struct runuk_state *st, uk_err_t *err)
{
	char path[PATH_MAX + 16];
	_cleanup_json_ json_object *o = NULL;
	json_object *v;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/runuk.json", dir);
	o = json_object_from_file(path);
	if (!o || !json_object_is_type(o, json_type_object))
		return uk_err_set(err, 404, "not_found", "container %s: no state yet (%s)",
		                  strrchr(dir, '/') + 1, path);
	copy_str(st->id, sizeof(st->id), o, "id");
	copy_str(st->bundle, sizeof(st->bundle), o, "bundle");
	copy_str(st->created, sizeof(st->created), o, "created");
	if (json_object_object_get_ex(o, "pid", &v))
		st->pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "start", &v))
		st->start = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "annotations", &v) &&
	    json_object_is_type(v, json_type_object))
		st->annotations = json_object_get(v);
	else
		st->annotations = json_object_new_object();
	return 0;
}

void runuk_state_clear(struct runuk_state *st)
{
	json_object_put(st->annotations);
	st->annotations = NULL;
}

unsigned long long runuk_pid_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = 0;
	/* the command name may hold anything: fields count from the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* field 3 (state) is right after ") "; the start time is field 22 */
	if (p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

int runuk_pid_is(pid_t pid, unsigned long long start)
{
	return pid > 0 && start && runuk_pid_start(pid) == start;
}

enum runuk_status runuk_state_status(const char *dir, const struct runuk_state *st)
{
	char path[PATH_MAX + 16];

	if (!st->pid)
		return RUNUK_CREATING;
	if (!runuk_pid_is(st->pid, st->start))
		return RUNUK_STOPPED;
	snprintf(path, sizeof(path), "%s/started", dir);
	return access(path, F_OK) == 0 ? RUNUK_RUNNING : RUNUK_CREATED;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int runuk_state_remove(const char *dir, uk_err_t *err)
{
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return uk_err_errno(err, errno, "remove %s", dir);
	return 0;
}
