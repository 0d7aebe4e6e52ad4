/* An instance's typed configuration (what `uk run` asked for) and its lifecycle state. */
#ifndef UKD_SPEC_H
#define UKD_SPEC_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "health_parse.h"
#include "ports.h"
#include "ukd.h"

/*
 * Contract. A create request's JSON is decoded and validated once, by ukd_spec_from_body(),
 * into a struct ukd_instance_spec; the store keeps its serialized form (ukd_spec_to_json(), the
 * instances.config column) and every reader gets the fields back from ukd_spec_from_json() when
 * it loads the row (struct ukd_instance.spec). Nobody else parses the config text. Decoding a
 * stored config is lenient about fields a newer ukd added (ignored) and strict about types.
 */

/* An instance's lifecycle, stored as its name ("created", ...). */
enum ukd_state {
	UKD_STATE_CREATED = 0, /* made, never started (or its start failed) */
	UKD_STATE_RUNNING,     /* its guest runs (or is being started) */
	UKD_STATE_EXITED,      /* its guest ended; exit_code says how */
	UKD_STATE_DEAD,        /* being removed, or lost for good */
};
/* "created", "running", "exited", "dead". */
const char *ukd_state_name(enum ukd_state s);
/* -1 on an unknown name. */
int ukd_state_parse(const char *name, enum ukd_state *out);

enum ukd_restart_kind {
	UKD_RESTART_NO = 0,
	UKD_RESTART_ON_FAILURE,
	UKD_RESTART_ALWAYS,
	UKD_RESTART_UNLESS_STOPPED,
	UKD_RESTART_ON_UNHEALTHY, /* on-failure, plus a kill when its health check fails */
};
/* "no", "on-failure", "always", "unless-stopped", "on-unhealthy". */
const char *ukd_restart_kind_name(enum ukd_restart_kind k);
struct ukd_restart_policy {
	enum ukd_restart_kind kind;
	int max_retry; /* on-failure, on-unhealthy: 0 = unbounded */
};

/* Which backend runs the instance's guests (daemon/backend.h). */
enum ukd_backend_kind {
	UKD_BACKEND_DEFAULT = 0, /* the daemon's (ukd --backend), resolved at create */
	UKD_BACKEND_LIBVIRT,
	UKD_BACKEND_QEMU,
};
#define UKD_BACKEND_N 3
/* "libvirt", "qemu" ("default" for DEFAULT). */
const char *ukd_backend_kind_name(enum ukd_backend_kind k);
/* -1 on an unknown name. */
int ukd_backend_kind_parse(const char *name, enum ukd_backend_kind *out);

/* The accelerator asked for; resolved per start (daemon/accel.h). */
enum ukd_accel_want { UKD_ACCEL_WANT_AUTO = 0, UKD_ACCEL_WANT_KVM, UKD_ACCEL_WANT_TCG };
/* "auto", "kvm", "tcg": what ukd_accel_resolve() takes. */
const char *ukd_accel_want_name(enum ukd_accel_want a);

/* How the guest is networked (docs/networking.md). */
enum ukd_net_mode {
	UKD_NET_DEFAULT = 0, /* user when it needs a NIC (ports, EXPOSE, a check), else none */
	UKD_NET_NONE,        /* --network none: no NIC at all */
	UKD_NET_USER,        /* --network user: QEMU's user networking (slirp), restrict=on */
	UKD_NET_BRIDGE,      /* --network NAME: a tap on a uk network (daemon/network.h) */
};

#define UKD_NAME_MAX 64 /* network, volume, alias names: [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62} */
#define UKD_ALIASES_MAX 8
#define UKD_NETS_MAX 4
#define UKD_MOUNTS_MAX 8
#define UKD_EXPOSED_MAX 32
#define UKD_LABELS_MAX 256
#define UKD_LABEL_MAX 4096 /* bytes of one label, "K=V" */
/* An env variable's name is at most this long (and [A-Za-z_][A-Za-z0-9_]*). */
#define UKD_ENV_KEY_MAX 128

/* One network the instance joins (--network NAME [--network-alias A] [--ip IP]). */
struct ukd_net_attach {
	char network[UKD_NAME_MAX];
	char aliases[UKD_ALIASES_MAX][UKD_NAME_MAX];
	int n_aliases;
	char ip[16]; /* the address asked for (dotted IPv4), "" = ukd's IPAM picks one */
};

/* One volume mounted into the guest (-v NAME:/data[:ro], --mount type=volume,...). */
struct ukd_mount {
	char volume[UKD_NAME_MAX];
	char target[128]; /* absolute guest path, e.g. "/data" */
	int read_only;
};

struct ukd_instance_spec {
	char **cmd;      /* NULL-terminated (the image's CMD when the request had none); owned */
	char **env;      /* NULL-terminated "K=V" (the image's ENV, then the request's); owned */
	char **labels;   /* NULL-terminated "K=V"; owned */
	uint64_t memory; /* bytes (the image's default when the request had none) */
	unsigned vcpus;  /* 1 unless asked */
	struct ukd_port ports[UKD_PORTS_MAX]; /* published (-p) */
	int n_ports;
	unsigned exposed[UKD_EXPOSED_MAX];      /* the image's EXPOSEd ports */
	char exposed_proto[UKD_EXPOSED_MAX][4]; /* each one's "tcp" or "udp" */
	int n_exposed;
	enum ukd_net_mode net_mode;
	struct ukd_net_attach nets[UKD_NETS_MAX]; /* BRIDGE: the networks joined, first = eth0 */
	int n_nets;
	struct ukd_mount mounts[UKD_MOUNTS_MAX];
	int n_mounts;
	struct ukd_restart_policy restart;
	struct ukd_health_cfg health; /* kind NONE: no check */
	struct ukd_log_opts log;
	int auto_remove;
	enum ukd_accel_want accel;
	enum ukd_backend_kind backend; /* never DEFAULT once created */
	char gdb[24]; /* "IP:PORT" of QEMU's gdb stub (the guest starts paused), "" = none */
};

/* Checks that (body) is an object with a string "image" (and "name", if given); (image) and
 * (name) point into (body). 400 otherwise. The other fields are ukd_spec_from_body()'s. */
int ukd_spec_body_check(json_object *body, const char **image, const char **name, uk_err_t *err);
/* Decodes and validates a POST /v1/instances (body) against the image (img) and the daemon's
 * defaults into (out) (cleared first). 400 naming the field on bad input. */
struct ukimg_info;
int ukd_spec_from_body(struct ukd *d, json_object *body, const struct ukimg_info *img,
                       struct ukd_instance_spec *out, uk_err_t *err);
/* The stored form (a new object): the same keys the API documents for a create body. */
json_object *ukd_spec_to_json(const struct ukd_instance_spec *s);
/* Decodes a stored config (text); 500 "corrupt" on text that is not one. */
int ukd_spec_from_json(const char *text, struct ukd_instance_spec *out, uk_err_t *err);
/* Frees what (s) owns and zeroes it. */
void ukd_spec_clear(struct ukd_instance_spec *s);
/* 1 if the guest gets a NIC: a network, published or exposed ports, a health check. */
int ukd_spec_has_nic(const struct ukd_instance_spec *s);
/* The variables ukd adds to the guest's env at each start: on uk networks UK_IP, UK_GW, UK_MAC,
 * UK_DNS for the first and UK_IPk, UK_GWk, UK_MACk for each other one; behind slirp UK_IP and
 * UK_GW unless the env sets them (docs/networking.md). */
size_t ukd_spec_env_added(const struct ukd_instance_spec *s);
/* 400 unless the env with ukd_spec_env_added() fits the guest's table (UKIMG_ENV_MAX). */
int ukd_spec_env_check(const struct ukd_instance_spec *s, uk_err_t *err);
/* Does (env) (NULL-terminated "K=V", may be NULL) set (key)? */
int ukd_env_has(char *const *env, const char *key);
/* 400 naming memory when a guest of (bytes) is outside 2 MiB..64 GiB or larger than this
 * host's RAM (sysinfo's total): more than the host has can never start. */
int ukd_memory_check(int64_t bytes, uk_err_t *err);
/* The backend (s) runs on when its create asked for none: the daemon's. The one place that
 * resolves DEFAULT (at create, so a stored spec always names its backend). */
enum ukd_backend_kind ukd_spec_resolve_backend(const struct ukd *d,
                                               const struct ukd_instance_spec *s);

#endif
