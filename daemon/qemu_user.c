/* Who QEMU runs as when ukd is root, and whether that user can reach ukd's root (never root). */
#include "qemu_user.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Can (uid)/(gid) pass through the directory (st)? (mode bits, as QEMU's user and group) */
static int qemu_passes(const struct stat *st, uid_t uid, gid_t gid)
{
	return (st->st_mode & S_IXOTH) || (st->st_gid == gid && (st->st_mode & S_IXGRP)) ||
	       (st->st_uid == uid && (st->st_mode & S_IXUSR));
}

int ukd_qemu_user_check(struct ukd *d, uk_err_t *err)
{
	char path[sizeof(d->cfg.root)], dir[sizeof(d->cfg.root)];
	struct group *g;
	struct stat st;
	size_t n;

	if (d->qemu_uid < 0)
		return 0;
	/* ROOT itself ukd made passable (ukd_qemu_user_setup): the directories above it, from / */
	snprintf(path, sizeof(path), "%s", d->cfg.root);
	*strrchr(path, '/') = 0;
	n = strlen(path);
	for (size_t i = 0; i <= n; i++) {
		if (i < n && path[i] != '/')
			continue;
		snprintf(dir, sizeof(dir), "%.*s", (int)i, path);
		if (!i)
			snprintf(dir, sizeof(dir), "/");
		if (stat(dir, &st) == 0 &&
		    !qemu_passes(&st, (uid_t)d->qemu_uid, (gid_t)d->qemu_gid))
			goto blocked;
	}
	return 0;
blocked:
	g = getgrgid((gid_t)d->qemu_gid);
	return uk_err_set(
	        err, 503, "unavailable",
	        "guests cannot start: QEMU runs as user libvirt-qemu (group %s), never as "
	        "root, and that user cannot pass through %s (mode %04o) to reach ukd's "
	        "root %s: let it through (chmod o+x %s) or run ukd with a --root it can "
	        "reach (the default /var/lib/uk)",
	        g ? g->gr_name : "?", dir, (unsigned)(st.st_mode & 07777), d->cfg.root, dir);
}

/*
 * A ukd running as root gives up root for its guests under the embedded driver: QEMU runs as the
 * system user libvirt-qemu, group kvm (so /dev/kvm opens, and libvirt's cached probe of QEMU,
 * which records whether KVM is usable by that user and group, stays valid; libvirt-qemu's own
 * group where there is no kvm group). libvirt opens the console and status files and hands QEMU
 * the descriptors; QEMU itself opens the kernel under ROOT/images and its domain directory
 * under ROOT/libvirt. So ROOT becomes mode 0710, group kvm (pass through, not list) and the
 * store (every instance's environment) 0600.
 */
int ukd_qemu_user_setup(struct ukd *d, struct ukd_qemu_user *q, uk_err_t *err)
{
	static const char *const private[] = {"/ukd.db", "/ukd.db-wal", "/ukd.db-shm", NULL};
	struct passwd *pw = getpwnam("libvirt-qemu");
	struct group *kvm = getgrnam("kvm");
	char path[PATH_MAX + 16];
	uk_err_t why = {0};

	*q = (struct ukd_qemu_user){-1, -1};
	d->qemu_uid = d->qemu_gid = -1;
	if (geteuid() != 0 || strncmp(d->cfg.libvirt_uri, "qemu:///embed", 13) || !pw)
		return 0;
	q->uid = d->qemu_uid = pw->pw_uid;
	q->gid = d->qemu_gid = kvm ? kvm->gr_gid : pw->pw_gid;
	for (int i = 0; private[i]; i++) {
		snprintf(path, sizeof(path), "%s%s", d->cfg.root, private[i]);
		if (chmod(path, 0600) < 0 && errno != ENOENT)
			return uk_err_errno(err, errno, "make %s private", path);
	}
	if (chown(d->cfg.root, (uid_t)-1, (gid_t)q->gid) < 0 || chmod(d->cfg.root, 0710) < 0)
		return uk_err_errno(err, errno, "let QEMU's group %ld reach the kernels under %s",
		                    q->gid, d->cfg.root);
	if (ukd_qemu_user_check(d, &why) < 0)
		log_warn("main", "%s", why.message);
	else
		log_info("main", "QEMU runs as user libvirt-qemu, group %s",
		         kvm ? "kvm" : "libvirt-qemu");
	return 0;
}
