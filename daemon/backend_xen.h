/* The Xen side of the libvirt backend (libvirt's libxl driver, xen:///system): a PVH domain's XML
 * and its PV console read through libvirt. */
#ifndef UKD_BACKEND_XEN_H
#define UKD_BACKEND_XEN_H

#include <libvirt/libvirt.h>
#include <stddef.h>

#include "backend.h"
#include "xen_split.h"
#include "ukd.h"

/* The domain XML of (vm) as a PVH guest, malloc'ed; NULL with (err) set when (vm) wants what
 * Xen cannot give it yet (uk networks, volumes, gdb), NULL with (err) untouched when out of
 * memory. */
char *ukd_backend_xen_domain_xml(const struct ukd_vm *vm, uk_err_t *err);
/* The namespace of the domain metadata holding the instance's files. */
#define UKD_XEN_META_URI "https://uk.invalid/xen/1"

/*
 * Opens (dom)'s console through libvirt and copies it into (console_log) and (status_log)
 * (appended) from libvirt's event loop thread, until the console closes. Nothing if one is
 * open for (name) already. The paths are also kept in the domain's metadata (see
 * ukd_xen_console_reattach).
 */
int ukd_xen_console_open(virConnectPtr conn, virDomainPtr dom, const char *console_log,
                         const char *status_log, ukd_backend_stopped_fn stopped, void *opaque,
                         uk_err_t *err);
/* After a restart of ukd: opens (dom)'s console again, its files read from its metadata. */
int ukd_xen_console_reattach(virConnectPtr conn, virDomainPtr dom, ukd_backend_stopped_fn stopped,
                             void *opaque, uk_err_t *err);
/* The domain (name, uuid) stopped. 1 if its console is still being read: the stop is reported,
 * and the domain destroyed, once its status line is in or it closes (at most 2 s later). 0:
 * report now. */
int ukd_xen_console_defer_stop(const char *name, const char *uuid);
/* 1 while (name)'s console is still being read after its domain stopped. */
int ukd_xen_console_draining(const char *name);
/*
 * Ends (name)'s console now, before its domain is destroyed: libvirt must never free a domain
 * whose console stream is open (see backend_xen.c). 1 if the domain had stopped, and was
 * destroyed and its stop reported with it.
 */
int ukd_xen_console_end(const char *name);
/* Destroys (name) if it is a domain that stopped and was kept (on_poweroff=preserve). */
void ukd_xen_destroy_stopped(virConnectPtr conn, const char *name);
/* Closes every console (the connection closes). */
void ukd_xen_console_close_all(void);

/* Adds up the blkback counters of (dom)'s disks (virDomainBlockStats of each disk in its XML:
 * libvirt's libxl driver has no bulk statistics) into (st)'s blk_read / blk_write. -1 with
 * libvirt's error when it cannot read them. */
int ukd_xen_block_stats(virDomainPtr dom, struct ukd_vm_stats *st);

/* 1 if domain XML (xml), as libvirt formats it, has a disk on file (path) that conflicts with a
 * new disk on it (read_only: the new one's mode): either of them writable. libxl's block script
 * refuses a file another domain has writable (a volume's previous guest still torn down). */
int ukd_xen_xml_holds_file(const char *xml, const char *path, int read_only);

#endif
