/* ukd's shared types: the daemon context every subsystem receives, config, cleanup helpers. */
#ifndef UKD_H
#define UKD_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "uk/cleanup.h"
#include "uk/error.h"
#include "uk/json.h"
#include "uk/time.h"

#define UKD_MAX_HOSTS 8
#define UKD_MAX_INSECURE 32
#define UKD_API_VERSION "1"

/* An instance's console log bounds (daemon/log_opts.h): rotate at max_size, keep max_file. */
struct ukd_log_opts {
	uint64_t max_size; /* bytes of console.log (with its timestamps) before it rotates */
	unsigned max_file; /* console.log and its rotated console.log.N kept */
};

struct ukd_config {
	char root[128]; /* < 80 bytes: libvirt puts unix sockets under it */
	char *hosts[UKD_MAX_HOSTS];
	int nhosts;
	char libvirt_uri[PATH_MAX + 64];
	char accelerator[8]; /* auto, kvm, tcg */
	int log_level;
	int log_json;                                /* --log-format json */
	char *insecure_registries[UKD_MAX_INSECURE]; /* "host[:port]": plain http allowed */
	int ninsecure;
	char registry_certs_dir[PATH_MAX]; /* HOST:PORT/ca.crt under it (default /etc/uk/certs.d) */
	/* daemon.json "trust" (daemon/trust.c): refuse unsigned images on pull and run */
	int trust_require_signed;
	char **trust_keys; /* public key files */
	size_t trust_nkeys;
	/* TLS on tcp:// listeners (docs/security.md): client certificates signed by tls_ca_pem */
	int tlsverify;
	char tlscacert[PATH_MAX], tlscert[PATH_MAX], tlskey[PATH_MAX];
	char *tls_ca_pem, *tls_cert_pem, *tls_key_pem; /* the files, read at load */
	char group[64];             /* unix sockets' group; "" = "uk" when that group exists */
	long sock_gid;              /* resolved (group), -1 = leave the socket's group alone */
	struct {                    /* daemon.json "http-limits" */
		unsigned timeout_s; /* idle seconds before a connection is closed */
		unsigned max_connections; /* per listener */
		unsigned max_per_ip;      /* per client address (TCP listeners) */
		/* TLS listeners, from accept to the first certified request (http_gate.h) */
		unsigned handshake_timeout_s, max_handshakes, max_handshakes_per_ip;
	} http;
	struct { /* daemon.json "build-limits": the compiler's sandbox */
		unsigned cpu_s, memory_mb, file_size_mb, timeout_s;
	} build;
	struct {                          /* daemon.json "backend-limits" */
		unsigned probe_timeout_s; /* a start waits this long for libvirt's QEMU probe */
	} backend;
	int live_restore;    /* 1: guests outlive a normal stop (docs/daemon.md, live restore) */
	int userland_proxy;  /* 1: published ports on networks by ukd's proxy, 0: DNAT (nat.h) */
	int default_backend; /* enum ukd_backend_kind (spec.h): --backend, LIBVIRT unless set */
	struct ukd_log_opts log;     /* daemon.json "log-opts": the default of new instances */
	unsigned shutdown_timeout_s; /* guests' grace to power off when ukd stops them */
};

struct ukd_store;
struct ukd_backend;
struct ukd_events;
struct ukd_super;
struct ukd_http;
struct ukd_nets;

struct ukd {
	struct ukd_config cfg;
	char ukcc[PATH_MAX + 8]; /* the compiler beside ukd */
	char bindir[PATH_MAX];   /* dirname(/proc/self/exe) */
	char accel_type[8];      /* resolved default: "kvm" or "qemu" */
	char accel_reason[256];  /* why */
	struct ukd_store *store;
	struct ukd_backend *backend; /* the default backend (cfg.default_backend) */
	/* every backend by enum ukd_backend_kind, opened when first needed (backends.c) */
	struct ukd_backend *backends[3];
	struct ukd_events *events;
	struct ukd_super *super;
	struct ukd_nets *nets; /* uk networks (network.h); NULL without CAP_NET_ADMIN */
	struct ukd_http *http[UKD_MAX_HOSTS];
	int nhttp;
	void *images;            /* struct uk_images *, when the images library is built in */
	long qemu_uid, qemu_gid; /* who QEMU runs as (qemu_user.c); -1: ukd's own user */
	pthread_mutex_t lock;    /* serializes instance lifecycle transitions */
	pthread_cond_t changed;  /* broadcast whenever an instance's state changes */
	volatile int stopping;
};

/* Now, in nanoseconds since the epoch. */
int64_t ukd_now_ns(void);
/* Milliseconds from now until (ns) (ukd_now_ns's clock), 0 if that is past. */
int ukd_ms_until(int64_t ns);

#endif
