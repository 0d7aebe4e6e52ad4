/* Feeds a guest's COM3 the host's time just before the backend resumes it (clock_sync.h). */
#include "clock_sync.h"
#include "log.h"
#include "ukd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ukd_clock_pipe_make(struct ukd *d, const char *id, char *path, size_t len, uk_err_t *err)
{
	snprintf(path, len, "%s/clock", d->cfg.root);
	/* passable and readable for QEMU's group only (qemu_user.c: not ukd's user when root) */
	if (mkdir(path, 0710) < 0 && errno != EEXIST)
		return uk_err_errno(err, errno, "create %s", path);
	if (d->qemu_gid >= 0 && chown(path, (uid_t)-1, (gid_t)d->qemu_gid) < 0)
		return uk_err_errno(err, errno, "give %s to QEMU's group", path);
	snprintf(path, len, "%s/clock/%s", d->cfg.root, id);
	if (unlink(path) < 0 && errno != ENOENT)
		return uk_err_errno(err, errno, "remove %s", path);
	if (mkfifo(path, 0600) < 0)
		return uk_err_errno(err, errno, "make the clock pipe %s", path);
	/* QEMU opens it read-write (so that it never sees an end of file) */
	if (d->qemu_gid >= 0 &&
	    (chown(path, (uid_t)-1, (gid_t)d->qemu_gid) < 0 || chmod(path, 0660) < 0)) {
		uk_err_errno(err, errno, "give %s to QEMU's group", path);
		unlink(path);
		return -1;
	}
	return 0;
}

void ukd_clock_pipe_send(const char *path, const char *name)
{
	char rec[40];
	int fd, n;
	ssize_t w;

	/* QEMU holds the FIFO open read-write: without it (QEMU gone) this fails with ENXIO */
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		log_warn("clock", "%s: open %s: %s: the guest dates its clock from time=", name,
		         path, strerror(errno));
		return;
	}
	n = snprintf(rec, sizeof(rec), "time=%lld\n", (long long)ukd_now_ns());
	w = write(fd, rec, (size_t)n);
	if (w != n)
		log_warn("clock", "%s: write %s: %s", name, path,
		         w < 0 ? strerror(errno) : "short write");
	close(fd);
}
