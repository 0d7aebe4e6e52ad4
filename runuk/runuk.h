/* runuk: an OCI runtime with runc's command line that boots uk kernels under QEMU (docs/fleet.md).
 */
#ifndef RUNUK_H
#define RUNUK_H

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "uk/error.h"

#define RUNUK_VERSION "0.1.0"
#define RUNUK_OCI_VERSION "1.1.0"
#define RUNUK_KERNEL "/uk/kernel" /* where a uk image's layer puts the kernel */
#define RUNUK_MAX_ARGS 256
#define RUNUK_MAX_ENV 64 /* runtime-lib's limit (docs/runtime.md) */
#define RUNUK_DEFAULT_MEMORY (32ULL << 20)

static inline void runuk_freep(void *p)
{
	free(*(void **)p);
}
static inline void runuk_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void runuk_json_putp(json_object **o)
{
	json_object_put(*o);
}
#define _cleanup_free_ __attribute__((cleanup(runuk_freep)))
#define _cleanup_close_ __attribute__((cleanup(runuk_closep)))
#define _cleanup_json_ __attribute__((cleanup(runuk_json_putp)))

/* ---- config.json (spec.c): the outside input, parsed once into this ---- */

/* An OCI hook: run by the runtime with the container's state JSON on its stdin. */
struct runuk_hook {
	char *path;
	char **args; /* NULL-terminated; may be empty (then argv = {path}) */
	size_t n_args;
	char **env;
	size_t n_env;
	int timeout; /* seconds, 0 = none given */
};

struct runuk_hooks {
	struct runuk_hook *v;
	size_t n;
};

struct runuk_spec {
	char *root_path; /* root.path as written (relative to the bundle or absolute) */
	char **args;     /* process.args, NULL-terminated, n_args >= 1 */
	size_t n_args;
	char **env; /* process.env, NULL-terminated */
	size_t n_env;
	int terminal;    /* process.terminal */
	uint64_t memory; /* linux.resources.memory.limit, 0 = none */
	unsigned vcpus;  /* from linux.resources.cpu quota/period or cpus; 0 = none */
	char *netns;     /* the network namespace's path (linux.namespaces), NULL = none given */
	int new_netns;   /* a network namespace without a path: a new, empty one */
	json_object *annotations; /* owned; an object (maybe empty) */
	/* hooks.prestart + hooks.createRuntime, run at create once the network namespace exists
	 * (dockerd configures the container's network from one). poststart/poststop: not yet. */
	struct runuk_hooks create_hooks;
	char *resolv_conf; /* the source of the mount on /etc/resolv.conf (the engine's DNS), or
	                      NULL */
};

/* Parses config.json's bytes (buf, len) into (spec). 400 naming the field on anything a runtime
 * cannot take: not one JSON object, no ociVersion, no root.path, no process.args, values of the
 * wrong type, more than RUNUK_MAX_ARGS args or RUNUK_MAX_ENV env entries, control characters in
 * args or env. */
int runuk_spec_parse(const char *buf, size_t len, struct runuk_spec *spec, uk_err_t *err);
void runuk_spec_free(struct runuk_spec *spec);
/* Only root.path, leniently: what decides whether the bundle is runuk's or runc's, before the
 * strict parse (a Linux bundle runuk would refuse still goes to runc). */
int runuk_spec_root_path(const char *buf, size_t len, char **path, uk_err_t *err);

/* ---- bundle and state (state.c) ---- */

enum runuk_status {
	RUNUK_CREATING = 0,
	RUNUK_CREATED,
	RUNUK_RUNNING,
	RUNUK_STOPPED,
};
const char *runuk_status_name(enum runuk_status s);

/* 1 if (id) is a container id runuk accepts: [A-Za-z0-9_+.-]{1,128}, not "." or "..". */
int runuk_id_valid(const char *id);

/* Opens the uk kernel of the rootfs (rootfs) (/uk/kernel, symlinks resolved inside the rootfs);
 * -1 and 404 when there is none: the bundle is not a uk bundle. */
int runuk_kernel_open(const char *rootfs, uk_err_t *err);

/* What runuk keeps of a container in <root>/<id>/runuk.json. */
struct runuk_state {
	char id[160];
	char bundle[4096];
	char created[40];
	pid_t pid;                /* the supervisor (the container's process) */
	unsigned long long start; /* its start time (/proc/PID/stat field 22), to spot pid reuse */
	json_object *annotations; /* owned */
};

/* <root>/<id> (len >= PATH_MAX). */
int runuk_state_dir(const char *root, const char *id, char *out, size_t len, uk_err_t *err);
/* Locks <dir>/runuk.lock (exclusive, waits); the fd, -1 and 404 when the container is not
 * runuk's (no such file). */
int runuk_state_lock(const char *dir, uk_err_t *err);
int runuk_state_write(const char *dir, const struct runuk_state *st, uk_err_t *err);
int runuk_state_read(const char *dir, struct runuk_state *st, uk_err_t *err);
void runuk_state_clear(struct runuk_state *st);
/* The container's status from its record and the processes alive. */
enum runuk_status runuk_state_status(const char *dir, const struct runuk_state *st);
/* 1 if (pid) is alive and started at (start). */
int runuk_pid_is(pid_t pid, unsigned long long start);
unsigned long long runuk_pid_start(pid_t pid);
/* Removes the state directory (dir) and everything in it. */
int runuk_state_remove(const char *dir, uk_err_t *err);

/* The guest's command line: env=... seed=... -- args (guest_cmdline.c, ukd's quoting). */
int runuk_guest_cmdline(char *buf, size_t len, const char *const *env, const char *const *args,
                        uk_err_t *err);

/* ---- the container's network (net.c) ---- */

struct runuk_net {
	int present;     /* the namespace has an Ethernet link with IPv4: the guest gets a NIC */
	char ifname[16]; /* eth0 */
	char mac[18];    /* eth0's MAC: the guest's */
	char ip[64];     /* "10.88.0.5/16" */
	char gw[64];     /* "10.88.0.1", "" without a default route */
	char tap[16];
};

/* In the container's network namespace: finds eth0 (or the first Ethernet link with an IPv4
 * address), creates a tap, redirects eth0 <-> tap with tc mirred and removes eth0's address so
 * the guest alone answers for it. (net)->present 0: no such link, nothing done. */
int runuk_net_takeover(struct runuk_net *net, uk_err_t *err);

/* ---- the container's process (supervise.c) ---- */

struct runuk_launch {
	const char *dir;    /* the state directory */
	const char *kernel; /* the kernel copied there */
	const struct runuk_spec *spec;
	int console_fd; /* the container's stdout or the pty's slave */
	int ready_fd; /* write end: "ns\n" once in the network namespace, "ok\n" once QEMU is up and
	                 paused, else the error */
	int go_fd;    /* read end: "go\n" once create ran the hooks that set the namespace up */
};

/* The supervisor (forked by create): starts QEMU paused, reports on (l)->ready_fd, lets the guest
 * run when `runuk start` writes to start.fifo, presses the power button on SIGTERM/SIGINT, and
 * exits with the guest's exit status. Never returns. */
void runuk_supervise(const struct runuk_launch *l) __attribute__((noreturn));

#endif
