/* ukd's hypervisor backend interface: start/shutdown/destroy/state of one guest per instance. */
#ifndef UKD_BACKEND_H
#define UKD_BACKEND_H

#include <stdint.h>

#include "ukd.h"

/* What a guest is made of. */
struct ukd_domain_spec {
	const char *name;        /* "uk-<id12>" */
	const char *type;        /* "kvm" or "qemu" (TCG) */
	const char *kernel;      /* ELF path */
	const char *cmdline;     /* kernel command line */
	uint64_t memory;         /* bytes */
	const char *console_log; /* COM1 → this file */
	const char *status_log;  /* COM2 (exit status channel) → this file */
	/* QEMU user networking: the -netdev value ("user,id=uknet0,restrict=on,hostfwd=...") of a
	 * virtio-net NIC with MAC (net_mac), or NULL for no NIC. libvirt 9.0 cannot express
	 * port forwards in domain XML, so this goes through <qemu:commandline>. */
	const char *net_user;
	const char *net_mac;
};

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

/* Who QEMU runs as under the embedded driver (docs/security.md); uid -1: ukd's own user. */
struct ukd_qemu_user {
	long uid, gid;
};

/* Connects to (uri) (for qemu:///embed, prepares <root>/etc/qemu.conf first, with QEMU running
 * as (qemu); NULL: as ukd). */
struct ukd_backend *ukd_backend_open(const char *uri, const struct ukd_qemu_user *qemu,
                                     ukd_backend_stopped_fn stopped, void *opaque, uk_err_t *err);
void ukd_backend_close(struct ukd_backend *b);

/* Creates and starts a transient guest. (info) receives its uuid and pid. A guest of the same
 * name still being torn down is destroyed first. */
int ukd_backend_start(struct ukd_backend *b, const struct ukd_domain_spec *spec,
                      struct ukd_domain_info *info, uk_err_t *err);
/* Destroys what is left of a previous run of (name) and waits until libvirt has forgotten it
 * (its QEMU, and the host ports it held, are gone). 409 after 10 s. */
int ukd_backend_wait_gone(struct ukd_backend *b, const char *name, uk_err_t *err);
/* Asks the guest to power off (ACPI). 404 if it is not running. */
int ukd_backend_shutdown(struct ukd_backend *b, const char *name, uk_err_t *err);
/* Stops the guest at once. 404 if it is not running. */
int ukd_backend_destroy(struct ukd_backend *b, const char *name, uk_err_t *err);
/* The starts under way (inside libvirt's create), for the shutdown's bound. */
int ukd_backend_starting(struct ukd_backend *b);

/* Shutdown: refuses new starts (503) and kills the QEMU of every start in progress and libvirt's
 * probes of QEMU for this root, so a start libvirt waits on (a QEMU that never answers, a probe)
 * ends now; returns how many it killed. Called again and again while ukd stops: a start may only
 * now have a QEMU. Safe from any thread. */
int ukd_backend_abort_starts(struct ukd_backend *b);
/* Shutdown's last resort, with libvirt stuck: kills every QEMU of this root by its pid file. */
void ukd_backend_kill_guests(struct ukd_backend *b);
/* 1 running, 0 not (or unknown to the hypervisor), -1 error. (pid) MAY be NULL. */
int ukd_backend_state(struct ukd_backend *b, const char *name, int *pid, uk_err_t *err);
/* As ukd_backend_state, and fills (info) (uuid, pid) of a running guest: what a restarted ukd
 * needs to re-attach to a guest that outlived its predecessor. */
int ukd_backend_lookup(struct ukd_backend *b, const char *name, struct ukd_domain_info *info,
                       uk_err_t *err);
/* Names of the running guests starting with (prefix); NULL-terminated, caller frees all. */
char **ukd_backend_list(struct ukd_backend *b, const char *prefix, uk_err_t *err);

/* libvirt's probe of QEMU (its capabilities, cached per root): checked in the background after
 * connecting and before each start, which waits for it at most (seconds) (default 60), then
 * fails with 503. */
enum { UKD_PROBE_UNKNOWN, UKD_PROBE_READY, UKD_PROBE_FAILED };
void ukd_backend_set_probe_timeout(struct ukd_backend *b, int seconds);
/* "probing" (a check or probe under way since (since_ns), unix ns), "ready", "failed" (the last
 * one failed; the next start tries again) or "unknown" (none yet). */
const char *ukd_backend_probe_state(struct ukd_backend *b, int64_t *since_ns);

const char *ukd_backend_uri(struct ukd_backend *b);
/* "9.0.0" (libvirt) */
const char *ukd_backend_version(struct ukd_backend *b);
/* Writes the domain XML for (spec) into a malloc'ed string (exposed for tests and docs). */
char *ukd_backend_domain_xml(const struct ukd_domain_spec *spec);

#endif
