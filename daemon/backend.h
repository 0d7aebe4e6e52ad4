/* ukd's hypervisor backend interface: start/shutdown/destroy/state of one guest per instance. */
#ifndef UKD_BACKEND_H
#define UKD_BACKEND_H

#include <stdint.h>

#include "ports.h"
#include "ukd.h"
#include "vm.h"

/*
 * Contract. A backend runs guests described as typed devices (struct ukd_vm, daemon/vm.h) and
 * speaks its hypervisor's language itself: libvirt's domain XML (backend_libvirt.c) or QEMU's
 * argv and QMP through ukvmm (backend_qemu.c). ukd knows a guest by its name ("uk-<id12>").
 * Every backend is a struct ukd_backend whose (ops) table the ukd_backend_* functions below
 * dispatch to; a backend may leave an optional op NULL (marked so). Errors are uk_err_t with
 * the codes of vm.h where ukd acts on them.
 */

struct ukd_domain_info {
	char uuid[40];
	int pid;    /* QEMU's pid if known, else 0 */
	int paused; /* created but not resumed yet: still starting */
};

/* Called from the backend's event thread when the guest (name, uuid) finished: it powered off or
 * reset (its exit status is complete; the hypervisor may still be tearing it down) or it was
 * stopped. Called once or twice per run. It MUST NOT call back into the backend; hand the work
 * to another thread. */
typedef void (*ukd_backend_stopped_fn)(void *opaque, const char *name, const char *uuid);

/* Who QEMU runs as (docs/security.md); uid -1: ukd's own user. */
struct ukd_qemu_user {
	long uid, gid;
};

/* What only the hypervisor counts about a running guest (daemon/stats.c adds the VMM process's
 * CPU and memory and the taps' counters): its disks' bytes since it started, -1 unknown; for a
 * guest that runs in no process of the host (Xen), its CPU time and memory as the hypervisor
 * counts them, else -1. */
struct ukd_vm_stats {
	int64_t blk_read, blk_write;
	int64_t cpu_ns, mem;
};

struct ukd_backend_ops {
	const char *name; /* "libvirt", "qemu" */
	void (*close)(struct ukd_backend *b);
	int (*start)(struct ukd_backend *b, const struct ukd_vm *vm, struct ukd_domain_info *info,
	             uk_err_t *err);
	int (*wait_gone)(struct ukd_backend *b, const char *name, uk_err_t *err);
	int (*shutdown)(struct ukd_backend *b, const char *name, uk_err_t *err);
	int (*destroy)(struct ukd_backend *b, const char *name, uk_err_t *err);
	int (*starting)(struct ukd_backend *b);
	int (*abort_starts)(struct ukd_backend *b);
	void (*kill_guests)(struct ukd_backend *b);
	int (*lookup)(struct ukd_backend *b, const char *name, struct ukd_domain_info *info,
	              uk_err_t *err);
	char **(*list)(struct ukd_backend *b, const char *prefix, uk_err_t *err);
	void (*set_probe_timeout)(struct ukd_backend *b, int seconds);        /* optional */
	const char *(*probe_state)(struct ukd_backend *b, int64_t *since_ns); /* optional */
	const char *(*uri)(struct ukd_backend *b);
	const char *(*version)(struct ukd_backend *b);
	int (*stats)(struct ukd_backend *b, const char *name, struct ukd_vm_stats *st,
	             uk_err_t *err);                      /* optional */
	const char *(*hypervisor)(struct ukd_backend *b); /* optional */
};

/* The head of every backend's own struct. */
struct ukd_backend {
	const struct ukd_backend_ops *ops;
};

/* Connects to libvirt at (uri) (for qemu:///embed, prepares <root>/etc/qemu.conf first, with
 * QEMU running as (qemu); NULL: as ukd). */
struct ukd_backend *ukd_backend_open(const char *uri, const struct ukd_qemu_user *qemu,
                                     ukd_backend_stopped_fn stopped, void *opaque, uk_err_t *err);
/* ukd runs QEMU itself (backend_qemu.c): (qemu) the binary (NULL: qemu-system-x86_64 in PATH),
 * its files under (root)/qemu and the instances' directories, QEMU running as (user) (NULL or
 * uid -1: as ukd, refused when that is root). 503 "unavailable" when QEMU cannot be run. */
struct ukd_backend *ukd_backend_open_qemu(const char *root, const char *qemu,
                                          const struct ukd_qemu_user *user,
                                          ukd_backend_stopped_fn stopped, void *opaque,
                                          uk_err_t *err);
/* "libvirt" or "qemu". */
const char *ukd_backend_name(const struct ukd_backend *b);
void ukd_backend_close(struct ukd_backend *b);

/* Creates and starts a guest for (vm). (info) receives its uuid and pid. A guest of the same
 * name still being torn down is destroyed first. */
int ukd_backend_start(struct ukd_backend *b, const struct ukd_vm *vm, struct ukd_domain_info *info,
                      uk_err_t *err);
/* Destroys what is left of a previous run of (name) and waits until the hypervisor has
 * forgotten it (its QEMU, and the host ports it held, are gone). 409 after 10 s. */
int ukd_backend_wait_gone(struct ukd_backend *b, const char *name, uk_err_t *err);
/* Asks the guest to power off (ACPI). 404 if it is not running. */
int ukd_backend_shutdown(struct ukd_backend *b, const char *name, uk_err_t *err);
/* Stops the guest at once. 404 if it is not running. */
int ukd_backend_destroy(struct ukd_backend *b, const char *name, uk_err_t *err);
/* The starts under way, for the shutdown's bound. 0 for a NULL backend. */
int ukd_backend_starting(struct ukd_backend *b);

/* Shutdown: refuses new starts (503) and kills the QEMU of every start in progress (and, for
 * libvirt, its probes of QEMU for this root), so a start that waits on one ends now; returns
 * how many it killed. Called again and again while ukd stops: a start may only now have a QEMU.
 * Safe from any thread; NULL does nothing. */
int ukd_backend_abort_starts(struct ukd_backend *b);
/* Shutdown's last resort: kills every QEMU of this backend by its pid file. NULL does nothing. */
void ukd_backend_kill_guests(struct ukd_backend *b);
/* 1 running, 0 not (or unknown to the hypervisor), -1 error. (pid) MAY be NULL. */
int ukd_backend_state(struct ukd_backend *b, const char *name, int *pid, uk_err_t *err);
/* As ukd_backend_state, and fills (info) (uuid, pid) of a running guest: what a restarted ukd
 * needs to re-attach to a guest that outlived its predecessor. */
int ukd_backend_lookup(struct ukd_backend *b, const char *name, struct ukd_domain_info *info,
                       uk_err_t *err);
/* Names of the running guests starting with (prefix); NULL-terminated, caller frees all. */
char **ukd_backend_list(struct ukd_backend *b, const char *prefix, uk_err_t *err);

/* Fills (st) for the running guest (name): 0, 404 if it is not running; a backend without the op
 * leaves everything -1 (unknown). */
int ukd_backend_stats(struct ukd_backend *b, const char *name, struct ukd_vm_stats *st,
                      uk_err_t *err);

/* libvirt's probe of QEMU (its capabilities, cached per root): checked in the background after
 * connecting and before each start, which waits for it at most (seconds) (default 60), then
 * fails with 503. Backends without a probe are always "ready". */
enum { UKD_PROBE_UNKNOWN, UKD_PROBE_READY, UKD_PROBE_FAILED };
void ukd_backend_set_probe_timeout(struct ukd_backend *b, int seconds);
/* "probing" (a check or probe under way since (since_ns), unix ns), "ready", "failed" (the last
 * one failed; the next start tries again) or "unknown" (none yet). */
const char *ukd_backend_probe_state(struct ukd_backend *b, int64_t *since_ns);

const char *ukd_backend_uri(struct ukd_backend *b);
/* 1 if (uri) is one of libvirt's Xen (libxl) driver's: xen:// or libxl://. */
int ukd_xen_uri(const char *uri);
/* How a guest of (b) joins a uk network: UKD_NIC_TAP (ukd makes a tap, QEMU opens it) or
 * UKD_NIC_BRIDGE (Xen: libxl's hotplug script puts netback's vif on the bridge). */
enum ukd_nic_kind ukd_backend_nic_kind(struct ukd_backend *b);
/* "9.0.0" (libvirt's), "7.2.0" (QEMU's) */
const char *ukd_backend_version(struct ukd_backend *b);
/* What runs the guests and its version: "QEMU 7.2.0", "Xen 4.17.7"; "" if unknown. */
const char *ukd_backend_hypervisor(struct ukd_backend *b);

/* ---- the libvirt backend's rendering, exposed for tests and docs ---- */

/* The domain XML for (vm), malloc'ed; NULL on allocation failure. */
char *ukd_backend_domain_xml(const struct ukd_vm *vm);

/*
 * Maps what QEMU said when it failed to start (msg: its stderr, or libvirt's error that quotes
 * it) to the error ukd acts on: "Could not set up host forwarding rule 'tcp:IP:H-:G'" → 409
 * port_in_use naming IP:PORT; "cannot set up guest memory" → 507 no_memory for (vm)'s memory.
 * Returns -1 with (err) set if it did, 0 if (msg) is neither.
 */
int ukd_backend_qemu_error(const char *msg, const struct ukd_vm *vm, uk_err_t *err);
/* 503 "no_accel" when (vm) wants KVM and /dev/kvm cannot be used. */
int ukd_backend_check_accel(const struct ukd_vm *vm, uk_err_t *err);

#endif
