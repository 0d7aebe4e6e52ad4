/* ukd configuration: defaults, then the JSON config file, then flags (flags win). */
#include "config.h"
#include "log_opts.h"
#include "spec.h"
#include "log.h"
#include "trust.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <uk/regauth.h>

#include "uk/io.h"

#define DEFAULT_CONFIG "/etc/uk/daemon.json"
#define DEFAULT_CERTS_DIR "/etc/uk/certs.d"
#define DEFAULT_CERTS "/etc/uk/certs"
#define TLS_FILE_MAX (1 << 20)
#define SHUTDOWN_TIMEOUT_MAX 300

static const char usage[] =
        "Usage: ukd [OPTIONS]\n"
        "The uk daemon: builds, stores and runs unikernels behind a REST API.\n\n"
        "  --root DIR            state directory (default /var/lib/uk)\n"
        "  --host unix://PATH|tcp://IP:PORT\n"
        "                        where to listen; repeatable (default unix:///run/uk/ukd.sock)\n"
        "  --libvirt-uri URI     libvirt connection (default qemu:///embed?root=ROOT/libvirt)\n"
        "  --backend libvirt|qemu  what runs guests unless `uk run --backend` says (default\n"
        "                        libvirt; qemu: ukd runs QEMU itself, docs/backends.md)\n"
        "  --config FILE         JSON config with the same keys (default " DEFAULT_CONFIG
        " if present)\n"
        "  --accelerator auto|kvm|tcg  default accelerator (default auto)\n"
        "  --log-level error|warn|info|debug  (default info)\n"
        "  --log-format text|json  one text or JSON object line per message (default text)\n"
        "  --insecure-registry HOST[:PORT]  allow plain http to this registry (repeatable;\n"
        "                        daemon.json: \"insecure-registries\": [...])\n"
        "  --registry-certs-dir DIR  HOST:PORT/ca.crt under DIR verifies that registry's TLS\n"
        "                        (default " DEFAULT_CERTS_DIR ")\n"
        "  --tlsverify           serve tcp:// hosts over TLS, only to clients whose certificate\n"
        "                        --tlscacert signed (required for a non-loopback tcp:// host)\n"
        "  --tlscacert FILE      CA for client certificates (default " DEFAULT_CERTS "/ca.pem)\n"
        "  --tlscert FILE        server certificate (default " DEFAULT_CERTS "/cert.pem)\n"
        "  --tlskey FILE         server key (default " DEFAULT_CERTS "/key.pem)\n"
        "  --group GROUP         group of unix sockets, mode 0660 (default uk, if it exists)\n"
        "  --live-restore[=true|false]  guests keep running when ukd stops (default true)\n"
        "  --userland-proxy[=true|false]  published ports on uk networks through ukd's proxy\n"
        "                        instead of the kernel's DNAT (default false;\n"
        "                        docs/networking.md)\n"
        "  --shutdown-timeout SECONDS  without live restore, guests get this long to power\n"
        "                        off when ukd stops, then are destroyed (default 3, max 300)\n"
        "  --version             print the version and exit\n"
        "  --help                print this help and exit\n";

static int config_add_host(struct ukd_config *cfg, const char *h, uk_err_t *err)
{
	if (strncmp(h, "unix://", 7) && strncmp(h, "tcp://", 6))
		return uk_err_bad(err, "host %s: expected unix://PATH or tcp://IP:PORT", h);
	if (cfg->nhosts == UKD_MAX_HOSTS)
		return uk_err_bad(err, "host %s: at most %d hosts", h, UKD_MAX_HOSTS);
	cfg->hosts[cfg->nhosts] = strdup(h);
	if (!cfg->hosts[cfg->nhosts])
		return uk_err_errno(err, ENOMEM, "host %s", h);
	cfg->nhosts++;
	return 0;
}

static int config_add_insecure(struct ukd_config *cfg, const char *h, uk_err_t *err)
{
	char norm[UK_REGAUTH_SERVER_MAX];
	int http;

	if (uk_regauth_server(h, norm, &http, err) < 0)
		return uk_err_wrap(err, "insecure-registries");
	if (cfg->ninsecure == UKD_MAX_INSECURE)
		return uk_err_bad(err, "insecure-registries %s: at most %d", h, UKD_MAX_INSECURE);
	if (!(cfg->insecure_registries[cfg->ninsecure] = strdup(norm)))
		return uk_err_errno(err, ENOMEM, "insecure-registries %s", h);
	cfg->ninsecure++;
	return 0;
}

static void config_clear_hosts(struct ukd_config *cfg)
{
	for (int i = 0; i < cfg->nhosts; i++)
		free(cfg->hosts[i]);
	cfg->nhosts = 0;
}

static int config_set(struct ukd_config *cfg, const char *key, const char *val, uk_err_t *err)
{
	size_t n = strlen(val);

	if (!strcmp(key, "root")) {
		if (n == 0 || n >= 80 || val[0] != '/')
			return uk_err_bad(
			        err,
			        "root %s: need an absolute path under 80 bytes (libvirt puts "
			        "unix sockets under it)",
			        val);
		snprintf(cfg->root, sizeof(cfg->root), "%s", val);
		while (n > 1 && cfg->root[n - 1] == '/')
			cfg->root[--n] = 0;
	} else if (!strcmp(key, "host")) {
		return config_add_host(cfg, val, err);
	} else if (!strcmp(key, "libvirt-uri")) {
		if (n >= sizeof(cfg->libvirt_uri))
			return uk_err_bad(err, "libvirt-uri: too long");
		snprintf(cfg->libvirt_uri, sizeof(cfg->libvirt_uri), "%s", val);
	} else if (!strcmp(key, "backend")) {
		enum ukd_backend_kind k;
		if (ukd_backend_kind_parse(val, &k) < 0 || k == UKD_BACKEND_DEFAULT)
			return uk_err_bad(err, "backend %s: expected libvirt or qemu", val);
		cfg->default_backend = (int)k;
	} else if (!strcmp(key, "accelerator")) {
		if (strcmp(val, "auto") && strcmp(val, "kvm") && strcmp(val, "tcg"))
			return uk_err_bad(err, "accelerator %s: expected auto, kvm or tcg", val);
		snprintf(cfg->accelerator, sizeof(cfg->accelerator), "%s", val);
	} else if (!strcmp(key, "insecure-registry")) {
		return config_add_insecure(cfg, val, err);
	} else if (!strcmp(key, "registry-certs-dir")) {
		if (n == 0 || n >= sizeof(cfg->registry_certs_dir) - 300 || val[0] != '/')
			return uk_err_bad(err, "registry-certs-dir %s: need an absolute path", val);
		snprintf(cfg->registry_certs_dir, sizeof(cfg->registry_certs_dir), "%s", val);
	} else if (!strcmp(key, "tlsverify")) {
		if (strcmp(val, "true") && strcmp(val, "false"))
			return uk_err_bad(err, "tlsverify %s: expected true or false", val);
		cfg->tlsverify = !strcmp(val, "true");
	} else if (!strcmp(key, "tlscacert") || !strcmp(key, "tlscert") || !strcmp(key, "tlskey")) {
		char *dst = !strcmp(key, "tlscacert") ? cfg->tlscacert
		            : !strcmp(key, "tlscert") ? cfg->tlscert
		                                      : cfg->tlskey;
		if (n == 0 || n >= PATH_MAX)
			return uk_err_bad(err, "%s: expected a file name", key);
		memcpy(dst, val, n + 1);
	} else if (!strcmp(key, "group")) {
		if (n == 0 || n >= sizeof(cfg->group))
			return uk_err_bad(err, "group %s: expected a group name", val);
		memcpy(cfg->group, val, n + 1);
	} else if (!strcmp(key, "log-level")) {
		if ((cfg->log_level = ukd_log_parse_level(val)) < 0)
			return uk_err_bad(err, "log-level %s: expected error, warn, info or debug",
			                  val);
	} else if (!strcmp(key, "log-format")) {
		if ((cfg->log_json = ukd_log_parse_format(val)) < 0)
			return uk_err_bad(err, "log-format %s: expected text or json", val);
	} else if (!strcmp(key, "live-restore") || !strcmp(key, "userland-proxy")) {
		if (strcmp(val, "true") && strcmp(val, "false"))
			return uk_err_bad(err, "%s %s: expected true or false", key, val);
		*(key[0] == 'l' ? &cfg->live_restore : &cfg->userland_proxy) = !strcmp(val, "true");
	} else if (!strcmp(key, "shutdown-timeout")) {
		char *end;
		long t = strtol(val, &end, 10);
		if (!*val || *end || t < 0 || t > SHUTDOWN_TIMEOUT_MAX)
			return uk_err_bad(err, "shutdown-timeout %s: expected seconds from 0 to %d",
			                  val, SHUTDOWN_TIMEOUT_MAX);
		cfg->shutdown_timeout_s = (unsigned)t;
	} else {
		return uk_err_bad(err, "unknown setting %s", key);
	}
	return 0;
}

/* A string or an array of strings, each handed to (add). */
static int config_file_list(struct ukd_config *cfg, const char *key, json_object *v,
                            int (*add)(struct ukd_config *, const char *, uk_err_t *),
                            uk_err_t *err)
{
	if (json_object_is_type(v, json_type_string))
		return add(cfg, json_object_get_string(v), err);
	if (!json_object_is_type(v, json_type_array))
		return uk_err_bad(err, "%s: expected a string or an array of strings", key);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *h = json_object_array_get_idx(v, i);
		if (!json_object_is_type(h, json_type_string))
			return uk_err_bad(err, "%s[%zu]: expected a string", key, i);
		if (add(cfg, json_object_get_string(h), err) < 0)
			return -1;
	}
	return 0;
}

/* A numeric setting inside one of daemon.json's limit objects. */
struct limit_key {
	const char *section, *name;
	size_t off; /* of an unsigned in struct ukd_config */
	unsigned min, max;
};

static const struct limit_key limit_keys[] = {
        {"http-limits", "timeout-s", offsetof(struct ukd_config, http.timeout_s), 1, 86400},
        {"http-limits", "max-connections", offsetof(struct ukd_config, http.max_connections), 1,
         65536},
        {"http-limits", "max-connections-per-ip", offsetof(struct ukd_config, http.max_per_ip), 1,
         65536},
        {"http-limits", "handshake-timeout-s",
         offsetof(struct ukd_config, http.handshake_timeout_s), 1, 3600},
        {"http-limits", "max-handshakes", offsetof(struct ukd_config, http.max_handshakes), 1,
         65536},
        {"http-limits", "max-handshakes-per-ip",
         offsetof(struct ukd_config, http.max_handshakes_per_ip), 1, 65536},
        {"build-limits", "cpu-s", offsetof(struct ukd_config, build.cpu_s), 1, 86400},
        {"build-limits", "memory-mb", offsetof(struct ukd_config, build.memory_mb), 64, 1 << 20},
        {"build-limits", "file-size-mb", offsetof(struct ukd_config, build.file_size_mb), 1,
         1 << 20},
        {"build-limits", "timeout-s", offsetof(struct ukd_config, build.timeout_s), 1, 86400},
        {"backend-limits", "probe-timeout-s", offsetof(struct ukd_config, backend.probe_timeout_s),
         1, 3600},
};

static int config_limit(struct ukd_config *cfg, const char *section, const char *key,
                        json_object *v, uk_err_t *err)
{
	for (size_t i = 0; i < sizeof(limit_keys) / sizeof(limit_keys[0]); i++) {
		const struct limit_key *k = &limit_keys[i];
		int64_t n = json_object_get_int64(v);

		if (strcmp(k->section, section) || strcmp(k->name, key))
			continue;
		if (!json_object_is_type(v, json_type_int) || n < k->min || n > k->max)
			return uk_err_bad(err, "%s.%s: expected an integer from %u to %u", section,
			                  key, k->min, k->max);
		*(unsigned *)((char *)cfg + k->off) = (unsigned)n;
		return 0;
	}
	return uk_err_bad(err, "%s.%s: unknown setting (see docs/daemon.md)", section, key);
}

static int config_file_entry(struct ukd_config *cfg, const char *key, json_object *v, uk_err_t *err)
{
	if (!strcmp(key, "hosts") || !strcmp(key, "host"))
		return config_file_list(cfg, key, v, config_add_host, err);
	if (!strcmp(key, "insecure-registries"))
		return config_file_list(cfg, key, v, config_add_insecure, err);
	if (!strcmp(key, "trust"))
		return ukd_trust_config(cfg, v, err);
	if (!strcmp(key, "tlsverify")) {
		if (!json_object_is_type(v, json_type_boolean))
			return uk_err_bad(err, "%s: expected true or false", key);
		return config_set(cfg, key, json_object_get_boolean(v) ? "true" : "false", err);
	}
	if (!strcmp(key, "http-limits") || !strcmp(key, "build-limits") ||
	    !strcmp(key, "backend-limits")) {
		if (!json_object_is_type(v, json_type_object))
			return uk_err_bad(err, "%s: expected an object", key);
		json_object_object_foreach(v, k, val)
		{
			if (config_limit(cfg, key, k, val, err) < 0)
				return -1;
		}
		return 0;
	}
	if (!strcmp(key, "log-opts"))
		return ukd_log_opts_parse(v, &cfg->log, key, &cfg->log, err);
	if (!strcmp(key, "live-restore") || !strcmp(key, "userland-proxy")) {
		if (!json_object_is_type(v, json_type_boolean))
			return uk_err_bad(err, "%s: expected true or false", key);
		return config_set(cfg, key, json_object_get_boolean(v) ? "true" : "false", err);
	}
	if (!strcmp(key, "shutdown-timeout")) {
		char n[24];
		if (!json_object_is_type(v, json_type_int))
			return uk_err_bad(err, "%s: expected seconds from 0 to %d", key,
			                  SHUTDOWN_TIMEOUT_MAX);
		snprintf(n, sizeof(n), "%lld", (long long)json_object_get_int64(v));
		return config_set(cfg, key, n, err);
	}
	if (!json_object_is_type(v, json_type_string))
		return uk_err_bad(err, "%s: expected a string", key);
	return config_set(cfg, key, json_object_get_string(v), err);
}

static int config_read_file(struct ukd_config *cfg, const char *path, uk_err_t *err)
{
	json_object *root = json_object_from_file(path);

	if (!root)
		return uk_err_bad(err, "config %s: %s", path, json_util_get_last_err());
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return uk_err_bad(err, "config %s: expected a JSON object", path);
	}
	json_object_object_foreach(root, key, val)
	{
		if (config_file_entry(cfg, key, val, err) < 0) {
			json_object_put(root);
			return uk_err_wrap(err, "config %s", path);
		}
	}
	json_object_put(root);
	return 0;
}

/* Finds --config in argv before the real parse, so flags can override the file. */
static const char *config_find_file(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--config=", 9))
			return argv[i] + 9;
	}
	return NULL;
}

/* Reads the PEM file (path) (at most TLS_FILE_MAX bytes) into *(out), NUL-terminated. */
static int config_read_pem(const char *flag, const char *path, char **out, uk_err_t *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	uk_err_t rerr = {0};

	if (fd < 0)
		return uk_err_bad(err, "--%s %s: %s", flag, path, strerror(errno));
	if (uk_read_fd(fd, TLS_FILE_MAX, &buf, NULL, &rerr) < 0) {
		if (rerr.status == 413)
			return uk_err_bad(err, "--%s %s: larger than %d bytes", flag, path,
			                  TLS_FILE_MAX);
		return uk_err_bad(err, "--%s %s: %s", flag, path, rerr.message);
	}
	if (!strstr(buf, "-----BEGIN "))
		return uk_err_bad(err, "--%s %s: not a PEM file", flag, path);
	*out = steal_ptr(buf);
	return 0;
}

/* A tcp:// host on 127.0.0.0/8; anything else (other addresses, names) counts as exposed. */
static int config_host_loopback(const char *host)
{
	const char *addr = host + 6, *colon = strrchr(addr, ':');
	struct in_addr in;
	char ip[64];

	if (!colon || (size_t)(colon - addr) >= sizeof(ip))
		return 0;
	snprintf(ip, sizeof(ip), "%.*s", (int)(colon - addr), addr);
	return inet_pton(AF_INET, ip, &in) == 1 && (ntohl(in.s_addr) >> 24) == 127;
}

/* Refuses a non-loopback tcp:// host without TLS; reads the TLS files when TLS is on. */
static int config_check_tls(struct ukd_config *cfg, uk_err_t *err)
{
	for (int i = 0; i < cfg->nhosts && !cfg->tlsverify; i++)
		if (!strncmp(cfg->hosts[i], "tcp://", 6) && !config_host_loopback(cfg->hosts[i]))
			return uk_err_bad(
			        err,
			        "host %s is not loopback: ukd serves it only with "
			        "--tlsverify (and --tlscacert, --tlscert, --tlskey; see "
			        "docs/security.md), since whoever reaches a plain listener "
			        "controls ukd and its guests",
			        cfg->hosts[i]);
	if (!cfg->tlsverify)
		return 0;
	if (!cfg->tlscacert[0])
		snprintf(cfg->tlscacert, sizeof(cfg->tlscacert), DEFAULT_CERTS "/ca.pem");
	if (!cfg->tlscert[0])
		snprintf(cfg->tlscert, sizeof(cfg->tlscert), DEFAULT_CERTS "/cert.pem");
	if (!cfg->tlskey[0])
		snprintf(cfg->tlskey, sizeof(cfg->tlskey), DEFAULT_CERTS "/key.pem");
	if (config_read_pem("tlscacert", cfg->tlscacert, &cfg->tls_ca_pem, err) < 0 ||
	    config_read_pem("tlscert", cfg->tlscert, &cfg->tls_cert_pem, err) < 0 ||
	    config_read_pem("tlskey", cfg->tlskey, &cfg->tls_key_pem, err) < 0)
		return -1;
	return 0;
}

/* The unix sockets' group: --group must exist; by default "uk" when it does. */
static int config_resolve_group(struct ukd_config *cfg, uk_err_t *err)
{
	struct group gr, *res = NULL;
	char buf[16384];
	const char *name = cfg->group[0] ? cfg->group : "uk";

	cfg->sock_gid = -1;
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 && res) {
		cfg->sock_gid = (long)res->gr_gid;
		return 0;
	}
	if (cfg->group[0])
		return uk_err_bad(err,
		                  "group %s: no such group (create it with groupadd --system %s)",
		                  name, name);
	return 0;
}

static void config_defaults(struct ukd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->root, sizeof(cfg->root), "/var/lib/uk");
	snprintf(cfg->accelerator, sizeof(cfg->accelerator), "auto");
	snprintf(cfg->registry_certs_dir, sizeof(cfg->registry_certs_dir), DEFAULT_CERTS_DIR);
	cfg->log_level = UKD_LOG_INFO;
	cfg->http.timeout_s = 60;
	cfg->http.max_connections = 1024;
	cfg->http.max_per_ip = 512;
	cfg->http.handshake_timeout_s = 10;
	cfg->http.max_handshakes = 64;
	cfg->http.max_handshakes_per_ip = 8;
	cfg->build.cpu_s = 300;
	cfg->build.memory_mb = 4096;
	cfg->build.file_size_mb = 64;
	cfg->build.timeout_s = 300;
	cfg->backend.probe_timeout_s = 60;
	cfg->live_restore = 1;
	cfg->default_backend = UKD_BACKEND_LIBVIRT;
	cfg->log = (struct ukd_log_opts){UKD_LOG_MAX_SIZE_DEFAULT, UKD_LOG_MAX_FILE_DEFAULT};
	cfg->shutdown_timeout_s = 3; /* and 1.5 s for the rest: ukd is gone within 5 s */
}

int ukd_config_load(struct ukd_config *cfg, int argc, char **argv, uk_err_t *err)
{
	static const struct option opts[] = {{"root", required_argument, 0, 'r'},
	                                     {"host", required_argument, 0, 'H'},
	                                     {"libvirt-uri", required_argument, 0, 'u'},
	                                     {"config", required_argument, 0, 'c'},
	                                     {"accelerator", required_argument, 0, 'a'},
	                                     {"backend", required_argument, 0, 'b'},
	                                     {"log-level", required_argument, 0, 'l'},
	                                     {"log-format", required_argument, 0, 'F'},
	                                     {"insecure-registry", required_argument, 0, 'I'},
	                                     {"registry-certs-dir", required_argument, 0, 'R'},
	                                     {"tlsverify", no_argument, 0, 't'},
	                                     {"tlscacert", required_argument, 0, 'A'},
	                                     {"tlscert", required_argument, 0, 'C'},
	                                     {"tlskey", required_argument, 0, 'K'},
	                                     {"group", required_argument, 0, 'G'},
	                                     {"live-restore", optional_argument, 0, 'L'},
	                                     {"userland-proxy", optional_argument, 0, 'P'},
	                                     {"shutdown-timeout", required_argument, 0, 'T'},
	                                     {"version", no_argument, 0, 'V'},
	                                     {"help", no_argument, 0, 'h'},
	                                     {0, 0, 0, 0}};
	const char *file = config_find_file(argc, argv);
	struct stat st;
	int c, file_hosts;

	config_defaults(cfg);
	if (!file && stat(DEFAULT_CONFIG, &st) == 0)
		file = DEFAULT_CONFIG;
	if (file && config_read_file(cfg, file, err) < 0)
		return -1;
	file_hosts = cfg->nhosts;
	optind = 1;
	opterr = 0; /* we word the message */
	while ((c = getopt_long(argc, argv, "H:h", opts, NULL)) != -1) {
		const char *key = NULL;
		switch (c) {
		case 'r':
			key = "root";
			break;
		case 'H':
			if (file_hosts) { /* hosts on the command line replace the file's */
				config_clear_hosts(cfg);
				file_hosts = 0;
			}
			key = "host";
			break;
		case 'u':
			key = "libvirt-uri";
			break;
		case 'a':
			key = "accelerator";
			break;
		case 'b':
			key = "backend";
			break;
		case 'l':
			key = "log-level";
			break;
		case 'F':
			key = "log-format";
			break;
		case 'I':
			key = "insecure-registry";
			break;
		case 'R':
			key = "registry-certs-dir";
			break;
		case 't':
			cfg->tlsverify = 1;
			continue;
		case 'A':
			key = "tlscacert";
			break;
		case 'C':
			key = "tlscert";
			break;
		case 'K':
			key = "tlskey";
			break;
		case 'G':
			key = "group";
			break;
		case 'L':
		case 'P':
			if (config_set(cfg, c == 'L' ? "live-restore" : "userland-proxy",
			               optarg ? optarg : "true", err) < 0)
				return -1;
			continue;
		case 'T':
			key = "shutdown-timeout";
			break;
		case 'c':
			continue;
		case 'V':
			printf("ukd version %s (API %s)\n", UKD_VERSION, UKD_API_VERSION);
			return UKD_CONFIG_EXIT_OK;
		case 'h':
			fputs(usage, stdout);
			return UKD_CONFIG_EXIT_OK;
		default:
			return uk_err_bad(err, "bad option %s (see ukd --help)", argv[optind - 1]);
		}
		if (config_set(cfg, key, optarg, err) < 0)
			return -1;
	}
	if (optind < argc)
		return uk_err_bad(err, "unexpected argument %s (see ukd --help)", argv[optind]);
	if (!cfg->nhosts && config_add_host(cfg, "unix:///run/uk/ukd.sock", err) < 0)
		return -1;
	if (config_check_tls(cfg, err) < 0 || config_resolve_group(cfg, err) < 0)
		return -1;
	if (!cfg->libvirt_uri[0])
		snprintf(cfg->libvirt_uri, sizeof(cfg->libvirt_uri),
		         "qemu:///embed?root=%s/libvirt", cfg->root);
	return UKD_CONFIG_RUN;
}

void ukd_config_free(struct ukd_config *cfg)
{
	config_clear_hosts(cfg);
	for (int i = 0; i < cfg->ninsecure; i++)
		free(cfg->insecure_registries[i]);
	cfg->ninsecure = 0;
	ukd_trust_config_free(cfg);
	free(cfg->tls_ca_pem);
	free(cfg->tls_cert_pem);
	if (cfg->tls_key_pem) /* the private key does not outlive us in freed memory */
		explicit_bzero(cfg->tls_key_pem, strlen(cfg->tls_key_pem));
	free(cfg->tls_key_pem);
	cfg->tls_ca_pem = cfg->tls_cert_pem = cfg->tls_key_pem = NULL;
}
