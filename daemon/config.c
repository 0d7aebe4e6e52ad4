/* ukd configuration: defaults, then the JSON config file, then flags (flags win). */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_CONFIG "/etc/uk/daemon.json"

static const char usage[] =
        "Usage: ukd [OPTIONS]\n"
        "The uk daemon: builds, stores and runs unikernels behind a REST API.\n\n"
        "  --root DIR            state directory (default /var/lib/uk)\n"
        "  --host unix://PATH|tcp://IP:PORT\n"
        "                        where to listen; repeatable (default unix:///run/uk/ukd.sock)\n"
        "  --libvirt-uri URI     libvirt connection (default qemu:///embed?root=ROOT/libvirt)\n"
        "  --config FILE         JSON config with the same keys (default " DEFAULT_CONFIG
        " if present)\n"
        "  --accelerator auto|kvm|tcg  default accelerator (default auto)\n"
        "  --log-level error|warn|info|debug  (default info)\n"
        "  --live-restore[=true|false]  guests keep running when ukd stops (default true)\n"
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
	} else if (!strcmp(key, "accelerator")) {
		if (strcmp(val, "auto") && strcmp(val, "kvm") && strcmp(val, "tcg"))
			return uk_err_bad(err, "accelerator %s: expected auto, kvm or tcg", val);
		snprintf(cfg->accelerator, sizeof(cfg->accelerator), "%s", val);
	} else if (!strcmp(key, "log-level")) {
		if ((cfg->log_level = ukd_log_parse_level(val)) < 0)
			return uk_err_bad(err, "log-level %s: expected error, warn, info or debug",
			                  val);
	} else if (!strcmp(key, "live-restore")) {
		if (strcmp(val, "true") && strcmp(val, "false"))
			return uk_err_bad(err, "live-restore %s: expected true or false", val);
		cfg->live_restore = !strcmp(val, "true");
	} else {
		return uk_err_bad(err, "unknown setting %s", key);
	}
	return 0;
}

static int config_file_entry(struct ukd_config *cfg, const char *key, json_object *v, uk_err_t *err)
{
	if (!strcmp(key, "hosts") || !strcmp(key, "host")) {
		if (json_object_is_type(v, json_type_string))
			return config_add_host(cfg, json_object_get_string(v), err);
		if (!json_object_is_type(v, json_type_array))
			return uk_err_bad(err, "%s: expected a string or an array of strings", key);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *h = json_object_array_get_idx(v, i);
			if (!json_object_is_type(h, json_type_string))
				return uk_err_bad(err, "%s[%zu]: expected a string", key, i);
			if (config_add_host(cfg, json_object_get_string(h), err) < 0)
				return -1;
		}
		return 0;
	}
	if (!strcmp(key, "live-restore")) {
		if (!json_object_is_type(v, json_type_boolean))
			return uk_err_bad(err, "%s: expected true or false", key);
		return config_set(cfg, key, json_object_get_boolean(v) ? "true" : "false", err);
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

static void config_defaults(struct ukd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->root, sizeof(cfg->root), "/var/lib/uk");
	snprintf(cfg->accelerator, sizeof(cfg->accelerator), "auto");
	cfg->log_level = UKD_LOG_INFO;
	cfg->live_restore = 1;
}

int ukd_config_load(struct ukd_config *cfg, int argc, char **argv, uk_err_t *err)
{
	static const struct option opts[] = {{"root", required_argument, 0, 'r'},
	                                     {"host", required_argument, 0, 'H'},
	                                     {"libvirt-uri", required_argument, 0, 'u'},
	                                     {"config", required_argument, 0, 'c'},
	                                     {"accelerator", required_argument, 0, 'a'},
	                                     {"log-level", required_argument, 0, 'l'},
	                                     {"live-restore", optional_argument, 0, 'L'},
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
		case 'l':
			key = "log-level";
			break;
		case 'L':
			if (config_set(cfg, "live-restore", optarg ? optarg : "true", err) < 0)
				return -1;
			continue;
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
	if (!cfg->libvirt_uri[0])
		snprintf(cfg->libvirt_uri, sizeof(cfg->libvirt_uri),
		         "qemu:///embed?root=%s/libvirt", cfg->root);
	return UKD_CONFIG_RUN;
}

void ukd_config_free(struct ukd_config *cfg)
{
	config_clear_hosts(cfg);
}
