/* Accelerator choice: KVM only where it is hardware-assisted (not PVM), else TCG. */
#ifndef UKD_ACCEL_H
#define UKD_ACCEL_H

#include <stddef.h>

#include "ukd.h"

/* Decides what "auto" means on this host: (type) "kvm" or "qemu", (reason) says why. */
void ukd_accel_detect(char type[8], char *reason, size_t len);
/* Maps a requested accelerator ("auto", "kvm", "tcg", or "" = the daemon's) to a libvirt domain
 * type; 400 on anything else. */
int ukd_accel_resolve(struct ukd *d, const char *requested, char type[8], uk_err_t *err);
/* Nonzero when /dev/vhost-net opens read-write here: a KVM guest's tap NICs then go through the
 * host kernel's vhost-net (no QEMU I/O thread per frame). Never used under TCG. */
int ukd_vhost_net_usable(void);

#endif
