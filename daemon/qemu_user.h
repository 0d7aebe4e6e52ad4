/* Who QEMU runs as when ukd is root, and whether that user can reach ukd's root (never root). */
#ifndef UKD_QEMU_USER_H
#define UKD_QEMU_USER_H

#include "backend.h"
#include "ukd.h"

/*
 * Chooses who QEMU runs as under the embedded driver: the system user libvirt-qemu, group kvm,
 * when ukd is root; ukd's own user otherwise (q->uid -1). Makes ROOT passable for that group
 * and the store private. A directory above ROOT that keeps the user out is no reason to run
 * QEMU as root: starts are then refused (ukd_qemu_user_check), and ukd logs why.
 */
int ukd_qemu_user_setup(struct ukd *d, struct ukd_qemu_user *q, uk_err_t *err);
/* 0 when QEMU's user can pass through every directory down to ROOT (checked afresh: a fix
 * needs no restart); else -1 and a 503 in (err) naming the directory and the fix. */
int ukd_qemu_user_check(struct ukd *d, uk_err_t *err);

#endif
