/* What the uk CLI's command files share: the command table entry, option, output and error helpers.
 */
#ifndef UK_CLI_H
#define UK_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "uk/cleanup.h"
#include "template.h"
#include "uk/client.h"
#include "uk/io.h"

/* Exit statuses (docs/cli.md): errors of uk itself or of the daemon; bad usage. */
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_RUN_FAIL 125 /* run / start -a: an instance's own code is in 0..255 */

#define UK_CLI_VERSION "0.1.0"

/* TLS to a tcp:// daemon (cli/tls.c): the flags, then what cli_tls_resolve made of them. */
struct cli_tls {
	int on, verify;                             /* --tls, --tlsverify (or UK_TLS_VERIFY) */
	const char *ca_flag, *cert_flag, *key_flag; /* --tlscacert, --tlscert, --tlskey */
	char dir[4096], ca[4200], cert[4200], key[4200];
	uk_client_tls_t opts;
};

struct cli {
	const char *host; /* -H, else UK_HOST, else the default */
	struct cli_tls tls;
	int json;              /* --format json */
	struct cli_tmpl *tmpl; /* --format TEMPLATE (template.h), else NULL */
	int tmpl_table;        /* --format 'table TEMPLATE': a header row, cells aligned at tabs */
	const char *cmd;       /* the command's name, for messages */
	int templates;         /* the command takes --format TEMPLATE (its cli_cmd's .templates) */
	uk_client_t *client;
};

struct cli_cmd {
	const char *name;
	const char *summary; /* one line, for `uk --help` */
	const char *help;    /* `uk CMD --help`: usage line, description, options */
	int (*run)(struct cli *cli, int argc, char **argv);
	int templates; /* --format takes a Go template (cli_format_rows / cli_format_one); a
	                * group: CLI_TEMPLATES_SUB, its subcommands' table says (cli_run_sub) */
};

#define CLI_TEMPLATES_SUB 2

/* The connected client (made on first use); NULL after printing the error. */
uk_client_t *cli_client(struct cli *cli);
/* The same, filling (err) instead of printing. */
uk_client_t *cli_connect(struct cli *cli, uk_err_t *err);
/* A new client for (cli)'s host and TLS settings, owned by the caller. */
uk_client_t *cli_new_client(struct cli *cli, uk_err_t *err);
/* Fills (cli)->tls.opts from its flags, UK_TLS_VERIFY and UK_CERT_PATH (default ~/.uk). */
void cli_tls_resolve(struct cli *cli);

/* Messages on stderr, prefixed "uk: ". */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints (err)'s message, returns CLI_EXIT_FAIL. */
int cli_fail(const uk_err_t *err);
/* Prints "uk CMD: MSG" and "See 'uk CMD --help'." and returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli *cli, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Prints (cmd)'s help to stdout and returns 0. */
int cli_help(const struct cli_cmd *cmd);

/* Escaping guest output for a terminal (term.c): bytes that could drive it (ESC, other C0 and
 * C1 controls, DEL, a CR not ending a line) shown as ^X or \xNN, valid UTF-8 kept. */
struct cli_term {
	unsigned char carry[4]; /* the start of a sequence the last chunk ended in */
	size_t ncarry;
};
/* Escapes (data)[0..len) into (out), which has room for 4 * (len + 4) bytes; returns its
 * length. (final): no more input comes (a cut sequence is shown escaped). */
size_t cli_term_escape(struct cli_term *t, const char *data, size_t len, int final, char *out);

/* The options `uk create` and `uk run` share (cli_create_opts), as help text. */
#define CLI_CREATE_OPTIONS_HELP                                                              \
	"      --name NAME        give the instance a unique name\n"                         \
	"  -m, --memory SIZE      guest memory: bytes or with a unit (16m, 1g)\n"            \
	"  -e, --env KEY=VALUE    add or override an environment variable (repeatable);\n"   \
	"                         -e KEY copies KEY from this environment\n"                 \
	"      --env-file FILE    -e for each line of FILE (KEY=VALUE or KEY; # comments)\n" \
	"  -l, --label KEY=VALUE  label the instance (repeatable; inspect: Config.Labels)\n" \
	"  -p, --publish [IP:]HOSTPORT:GUESTPORT[/tcp|/udp]\n"                               \
	"                         publish a guest port on the host (repeatable);\n"          \
	"                         -p GUESTPORT or IP::GUESTPORT: a free host port\n"         \
	"                         IP defaults to 127.0.0.1 (0.0.0.0: every address)\n"       \
	"      --restart POLICY   no, on-failure[:N], always, unless-stopped or\n"           \
	"                         on-unhealthy[:N] (needs a health check)\n"                 \
	"      --health-http PORT/PATH  check: GET PATH on guest PORT answers 2xx/3xx\n"     \
	"      --health-tcp PORT  check: a connection to guest PORT is accepted\n"           \
	"      --health-interval D, --health-timeout D, --health-start-period D\n"           \
	"                         durations like 500ms, 2s, 1m (30s, 30s, 0s)\n"             \
	"      --health-retries N failures in a row that make it unhealthy (3)\n"            \
	"      --no-healthcheck   no health check\n"                                         \
	"  -P, --publish-all      publish each EXPOSEd port on a free host port\n"           \
	"      --network NET      join uk network NET, or none, or user (QEMU's user\n"      \
	"                         networking: the default with ports); repeat it to join\n"  \
	"                         up to 4 networks, a NIC each (the first gets -p)\n"        \
	"      --network-alias A  another name the instance has on the first NET\n"          \
	"                         (repeatable)\n"                                            \
	"      --ip IP            its address on the first NET (default: the first free\n"   \
	"                         one)\n"                                                    \
	"      --accel ACCEL      auto, kvm or tcg\n"                                        \
	"  -v, --volume NAME:/PATH[:ro]\n"                                                   \
	"                         mount volume NAME at /PATH (made on first use;\n"          \
	"                         repeatable); :ro mounts it read-only\n"                    \
	"      --mount type=volume,src=NAME,dst=/PATH[,readonly]\n"                          \
	"                         the same, Docker's long form\n"                            \
	"      --backend NAME     libvirt or qemu (default: the daemon's, see uk info)\n"    \
	"      --gdb [IP:]PORT    start paused, QEMU's gdb stub there (IP 127.0.0.1);\n"     \
	"                         attach with uk debug NAME (docs/debugging.md)\n"           \
	"      --log-opt KEY=VALUE  console log: max-size=SIZE (10m), max-file=N (3)\n"      \
	"                         (repeatable): rotated at SIZE, N files kept\n"             \
	"      --format FMT       table or json\n"

/* `uk stop` and `uk restart` (cmd->name): parse -t, POST /instances/ID/NAME[?t=] for each
 * INSTANCE, print each one done; the exit status of the run (cmd_stop.c). */
int cli_stop_verb(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv);

/*
 * getopt_long over a command's arguments with its (shortopts)/(longopts) plus the options
 * every command takes (-h/--help, --format). Returns the next option character, -1 at the
 * end, 'h' for help, or '?' after printing a usage error. (shortopts) starting with '+'
 * stops at the first operand (run, create: arguments after IMAGE belong to the instance).
 */
int cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
               const struct option *longopts);
/* Docker habits that cannot apply (docker_only.c): the sentence saying why and what to do
 * instead, or NULL. (flag) is "-i" or "--tty" ((n) bytes of it). */
const char *cli_docker_command(const char *name);
const char *cli_docker_flag(const char *cmd, const char *flag, size_t n);

/* After getopt_long matched long option (o): NULL when it was typed in full ("--all",
 * "--all=x"), else what was typed ("--al": getopt_long takes prefixes, Docker's CLI does not). */
const char *cli_long_typed(char **argv, const struct option *o);

/* Sets the output format from "table", "json" or a Go template ("{{.Names}}", "table
 * {{.ID}}\t{{.Status}}"); -1 after a usage message naming the template's mistake. */
int cli_set_format(struct cli *cli, const char *fmt);

/* --format TEMPLATE output (format.c). Lists: each object of (rows) (Docker's field names) run
 * through cli->tmpl and a newline; 'table ...' adds a header row, (header) standing for a row
 * (its values the column titles), and aligns cells at tabs. Returns the exit status. */
int cli_format_rows(struct cli *cli, json_object *rows, json_object *header);
/* A header object from (kv): field name, title, field name, title... ((n) strings). */
json_object *cli_format_header(const char *const *kv, size_t n);
/* Runs cli->tmpl on one value (inspect -f); the exit status. */
int cli_format_one(struct cli *cli, json_object *dot);
/* `uk network|volume inspect`: (all), an array of descriptions, as JSON; with -f/--format each
 * through cli->tmpl, (row)'s Docker-style keys (Name, Driver, ...) added beside uk's. */
int cli_inspect_print(struct cli *cli, json_object *all, json_object *(*row)(json_object *));
/* Docker's PascalCase keys (Id, Name, State.Status, Config.Env, NetworkSettings.Ports, ...)
 * added beside uk's own keys of an inspected instance or image (docs/cli.md). */
void cli_docker_keys(json_object *obj);
/* "2026-12-06 19:20:00 +0000 UTC" (Go's time.String, Docker's CreatedAt) for unix (t). */
void cli_docker_time(double t, char *buf, size_t len);

/* Output helpers. */
void cli_print_json(const json_object *obj);             /* pretty, one document, newline */
const char *cli_jstr(json_object *obj, const char *key); /* "" when missing */
int64_t cli_jint(json_object *obj, const char *key, int64_t dflt);
int cli_jbool(json_object *obj, const char *key);

/* A table printed like Docker's: columns padded to their widest cell + 3 spaces. */
struct cli_table;
struct cli_table *cli_table_new(int ncols, ...); /* the header cells */
void cli_table_row(struct cli_table *t, ...);    /* (ncols) cells, copied */
void cli_table_print(struct cli_table *t, FILE *out);
void cli_table_free(struct cli_table *t);

/* "Less than a second", "3 seconds", "About a minute", "2 hours", "3 weeks" (Docker's). */
void cli_human_duration(double seconds, char *buf, size_t len);
/* "2 minutes ago" from a unix time (0 or negative: "N/A"). */
void cli_human_since(double when, char *buf, size_t len);
/* Decimal sizes with 3 significant digits like Docker: "34.8kB", "1.2MB", "512B". */
void cli_human_size(double bytes, char *buf, size_t len);
/* Parses an RFC 3339 time ("2026-11-26T21:38:42.123456789Z") to unix seconds; -1 if bad. */
double cli_parse_rfc3339(const char *s);
/* Parses a time for --since/--until: unix seconds (fractional) or RFC 3339, or a duration
 * like 10m / 1h30m before now. Writes unix seconds to *(out). */
int cli_parse_time(const char *s, double *out, uk_err_t *err);

/* Parses a memory size like Docker: "16m", "1g", "512k", "1.5G", "1048576" (bytes); binary units.
 */
int cli_parse_memory(const char *s, int64_t *out, uk_err_t *err);

/* Percent-escaped (s) in a static-free way: the caller frees. Exits on out-of-memory. */
char *cli_escape(const char *s);
/* asprintf that exits on out-of-memory. */
char *cli_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --filter KEY=VALUE (arg) added to (*filters) (created on first use) as Docker's
 * {"KEY":["VALUE",...]}; the daemon checks the keys. 0, or CLI_EXIT_USAGE after saying why. */
int cli_filter_add(struct cli *cli, json_object **filters, const char *arg);
/* "?filters=..." (escaped; "&" as the first character with (amp)) or "" for no filter. */
char *cli_filter_query(json_object *filters, int amp);

/* The path of instance/image (ref), escaped: "/v1/instances/ID" + (suffix). Caller frees. */
char *cli_path(const char *collection, const char *ref, const char *suffix);

/* POST .../start for (ref); a start that takes over 2 s says on stderr what it waits for. */
int cli_start_instance(struct cli *cli, const char *ref, uk_err_t *err);

/* The tar archive a command (what) uploads: FILE (in) or standard input (refused on a terminal),
 * with (body) set for it and the client connected. The fd (close it when (in) is set), or a
 * negated exit status after printing why. */
int cli_tar_input(struct cli *cli, const char *what, const char *in, uk_body_t *body);

/* A command made of subcommands (uk trust keygen, uk volume ls, uk container ls): runs the one
 * argv[1] names with its own arguments (optind reset; messages say "uk GROUP SUB"); --help, -h
 * or help print (cmd)'s help and a "Subcommands:" line (the bash completion reads it); none or
 * an unknown one is a usage error naming them all. A subcommand is a function (run) or a whole
 * command (cmd: uk container ls is uk ps, --format templates and all). */
struct cli_sub {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const struct cli_cmd *cmd;
	int templates; /* (run) takes --format TEMPLATE ((cmd) says for itself) */
};
int cli_run_sub(struct cli *cli, const struct cli_cmd *cmd, const struct cli_sub *subs, size_t n,
                int argc, char **argv);
/* The usage error for a --format TEMPLATE given to (cli)->cmd, which takes none; returns the
 * exit status. */
int cli_templates_refused(struct cli *cli);

/* Shared by run and create: parse create options, POST /v1/instances, return the id. */
struct cli_create_opts {
	const char *name;
	int64_t memory;
	json_object *env;    /* array of "K=V" */
	json_object *labels; /* --label: {"K": "V"} */
	json_object *ports;  /* array of {"host_ip","host_port","guest_port","protocol"} */
	const char *restart; /* "no", "on-failure[:N]", ... */
	const char *accel;
	const char *backend; /* --backend: "libvirt" or "qemu" (the daemon checks it) */
	const char *gdb;     /* --gdb [IP:]PORT (the daemon checks it) */
	int auto_remove;
	int publish_all; /* -P */
	int detach, rm;  /* run only */
	/* --health-*: passed to the daemon as given (it validates them) */
	const char *health_http, *health_tcp, *health_interval, *health_timeout, *health_retries,
	        *health_start_period;
	int no_healthcheck;
	/* --log-opt KEY=VALUE: {"KEY": "VALUE"} (the daemon checks them) */
	json_object *log_opts;
	/* --network NAME (repeatable: one NIC each, in order), --network-alias A (repeatable),
	 * --ip IP: the "networks" entries; aliases and ip are the first network's */
	const char *network, *networks_more[3], *ip;
	int n_networks_more;
	json_object *aliases;
	/* -v NAME:/data[:ro], --mount type=volume,...: [{"type","source","target","read_only"}] */
	json_object *mounts;
	const char *image;
	char **args; /* after IMAGE */
	int nargs;
};
/* Builds the request body for (o); NULL with (err) on a bad restart policy. */
json_object *cli_create_body(const struct cli_create_opts *o, uk_err_t *err);
/* POST /v1/instances; prints warnings; returns a malloc'd id or NULL with (err). */
char *cli_create_instance(struct cli *cli, const struct cli_create_opts *o, uk_err_t *err);
/* Handles one create/run option (c, optarg); 0 if handled, 1 if not one of them, -1 bad. */
int cli_create_option(struct cli *cli, struct cli_create_opts *o, int c, const char *arg);
/* Puts the JSON values (o) holds (env, ports, log options, aliases, mounts, labels) and
 * NULLs them. */
void cli_create_opts_clear(struct cli_create_opts *o);
/*
 * Parses `uk create` or `uk run` (cmd) arguments into (o): the create options (and run's -d,
 * --rm), IMAGE and ARGs, checked by building the body once. 0 to go on; -1 when the command
 * is done (--help printed, or a usage error said) with its exit status in *(status) and (o)
 * cleared.
 */
int cli_create_parse(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv,
                     struct cli_create_opts *o, int *status);
/* The long options create and run share; short letters: m: e: p: l: */
#define CLI_CREATE_LONGOPTS                                                                       \
	{"name", required_argument, NULL, 'N'}, {"memory", required_argument, NULL, 'm'},         \
	        {"env", required_argument, NULL, 'e'}, {"restart", required_argument, NULL, 'R'}, \
	        {"publish", required_argument, NULL, 'p'},                                        \
	        {"publish-all", no_argument, NULL, 'P'}, {"accel", required_argument, NULL, 'A'}, \
	        {"log-opt", required_argument, NULL, CLI_OPT_LOG_OPT},                            \
	        {"network", required_argument, NULL, CLI_OPT_NETWORK},                            \
	        {"net", required_argument, NULL, CLI_OPT_NETWORK},                                \
	        {"network-alias", required_argument, NULL, CLI_OPT_NETWORK_ALIAS},                \
	        {"ip", required_argument, NULL, CLI_OPT_IP},                                      \
	        {"volume", required_argument, NULL, 'v'},                                         \
	        {"mount", required_argument, NULL, CLI_OPT_MOUNT},                                \
	        {"backend", required_argument, NULL, CLI_OPT_BACKEND},                            \
	        {"gdb", required_argument, NULL, CLI_OPT_GDB},                                    \
	        {"env-file", required_argument, NULL, CLI_OPT_ENV_FILE},                          \
	        {"label", required_argument, NULL, 'l'}, CLI_HEALTH_LONGOPTS

/* --health-* (cmd_create.c): option codes past the byte range */
enum {
	CLI_OPT_HEALTH_HTTP = 0x300, /* 0x100: --format (util.c) */
	CLI_OPT_HEALTH_TCP,
	CLI_OPT_HEALTH_INTERVAL,
	CLI_OPT_HEALTH_TIMEOUT,
	CLI_OPT_HEALTH_RETRIES,
	CLI_OPT_HEALTH_START_PERIOD,
	CLI_OPT_NO_HEALTHCHECK,
	CLI_OPT_LOG_OPT, /* --log-opt */
	CLI_OPT_NETWORK, /* --network, --network-alias, --ip */
	CLI_OPT_NETWORK_ALIAS,
	CLI_OPT_IP,
	CLI_OPT_MOUNT,    /* --mount */
	CLI_OPT_BACKEND,  /* --backend */
	CLI_OPT_GDB,      /* --gdb */
	CLI_OPT_ENV_FILE, /* --env-file */
};
#define CLI_HEALTH_LONGOPTS                                                                    \
	{"health-http", required_argument, NULL, CLI_OPT_HEALTH_HTTP},                         \
	        {"health-tcp", required_argument, NULL, CLI_OPT_HEALTH_TCP},                   \
	        {"health-interval", required_argument, NULL, CLI_OPT_HEALTH_INTERVAL},         \
	        {"health-timeout", required_argument, NULL, CLI_OPT_HEALTH_TIMEOUT},           \
	        {"health-retries", required_argument, NULL, CLI_OPT_HEALTH_RETRIES},           \
	        {"health-start-period", required_argument, NULL, CLI_OPT_HEALTH_START_PERIOD}, \
	{                                                                                      \
		"no-healthcheck", no_argument, NULL, CLI_OPT_NO_HEALTHCHECK                    \
	}

/* -v NAME:/PATH[:ro|:rw] and --mount type=volume,src=NAME,dst=/PATH[,readonly] (mounts.c)
 * into an API mount object (*out); 400 naming what is wrong (bind mounts are not supported). */
int cli_parse_volume(const char *spec, json_object **out, uk_err_t *err);
int cli_parse_mount(const char *spec, json_object **out, uk_err_t *err);

/* Parses -p [IP:]HOSTPORT:GUESTPORT[/tcp|/udp] into an API port object (*out); 400 if bad. */
int cli_parse_publish(const char *spec, json_object **out, uk_err_t *err);
/* "127.0.0.1:8080->80/tcp" for one API port object. */
void cli_port_format(json_object *port, char *buf, size_t len);
/* Docker's PORTS column: the ports joined by ", " ("" for none). */
void cli_ports_column(json_object *ports, char *buf, size_t len);
/* A {"K":"V",...} object (NULL or another type: empty) as "K=V,K2=V2" in (buf), cut to fit. */
void cli_labels_column(json_object *labels, char *buf, size_t len);

/* Streams /logs of (id) to stdout (follow or not); 0, or -1 with (err). */
int cli_stream_logs(struct cli *cli, const char *id, int follow, const char *tail, int timestamps,
                    uk_err_t *err);
/*
 * Attached to a started instance (run, start -a): streams its console to stdout until it
 * stops, returns its exit code; SIGINT/SIGTERM stop it first (bounded wait; a second signal or
 * the bound: 128 + the signal). (rm): remove it afterwards. Returns CLI_EXIT_RUN_FAIL after
 * printing when uk or the daemon fails.
 */
int cli_attach(struct cli *cli, const char *id, int rm);
/* Installs attach's SIGINT/SIGTERM handlers early (before create/start); cli_attach restores. */
void cli_attach_signals(void);
/* POST /wait; the exit code in *(code). */
int cli_wait_instance(struct cli *cli, const char *id, int *code, uk_err_t *err);

/*
 * The build context: writes a deterministic ustar archive of directory (dir) to (fd):
 * regular files and directories, sorted by name, mtime 0, uid/gid 0, modes 0644/0755,
 * honouring (dir)/.ukignore; symlinks to regular files inside (dir) are stored as files,
 * other symlinks and special files are skipped with a warning on stderr.
 */
int cli_tar_context(const char *dir, int fd, uk_err_t *err);
/* As cli_tar_context with (ukfile) (uk build -f; NULL for DIR/Ukfile), the Ukfile to build with,
 * anywhere; (*name) receives its name in the archive (caller frees; NULL without (ukfile)),
 * which the daemon's ukfile= takes. */
int cli_tar_context_ukfile(const char *dir, const char *ukfile, int fd, char **name, uk_err_t *err);
/* One .ukignore decision, for tests and fuzzing: is (path) excluded by (patterns)? */
int cli_ignore_match(char *const *patterns, size_t n, const char *path, int is_dir);
/* Reads and normalises .ukignore text (one pattern a line) into a malloc'd array. */
char **cli_ignore_parse(const char *text, size_t *n);
void cli_ignore_free(char **patterns, size_t n);

/* The commands (one file each). */
extern const struct cli_cmd cli_cmd_build, cli_cmd_run, cli_cmd_create, cli_cmd_start, cli_cmd_stop,
        cli_cmd_kill, cli_cmd_restart, cli_cmd_wait, cli_cmd_rm, cli_cmd_ps, cli_cmd_logs,
        cli_cmd_inspect, cli_cmd_images, cli_cmd_rmi, cli_cmd_tag, cli_cmd_save, cli_cmd_load,
        cli_cmd_events, cli_cmd_info, cli_cmd_version, cli_cmd_port, cli_cmd_trust, cli_cmd_network;
extern const struct cli_cmd cli_cmd_volume;
extern const struct cli_cmd cli_cmd_debug;

/* POST /images/(src)/tag for (dst) NAME[:TAG] (cmd_tag.c); -1 with (err) (400: a bad (dst)). */
int cli_tag_image(struct cli *cli, const char *src, const char *dst, uk_err_t *err);

/* Added for Docker's habits (issue 16): rename, and the container/image/system groups. */
extern const struct cli_cmd cli_cmd_rename, cli_cmd_container, cli_cmd_image, cli_cmd_system;
extern const struct cli_cmd cli_cmd_stats, cli_cmd_top;

/* Registries (registry.c): the credentials file $UK_CONFIG/config.json (default
 * ~/.config/uk/config.json, Docker's {"auths": {SERVER: {"auth": base64(USER:PASS)}}}). */
struct uk_regauth;
extern const struct cli_cmd cli_cmd_push, cli_cmd_pull, cli_cmd_login, cli_cmd_logout;
char *cli_config_path(void); /* the caller frees */
/* The file's object ({} when it does not exist); NULL with (err) when its mode is looser than
 * 0600, it is not a regular file or not a JSON object. */
json_object *cli_config_load(const char *path, uk_err_t *err);
/* Writes (cfg) to (path) atomically (a 0600 temp file, fsync, rename), creating its directory. */
int cli_config_save(const char *path, json_object *cfg, uk_err_t *err);
/* The stored credentials for (server) in (out): 1 found, 0 none, -1 unreadable. */
int cli_config_creds(json_object *cfg, const char *server, struct uk_regauth *out);
/* Sends (a) as X-Registry-Auth with cli->client's later requests. */
int cli_send_creds(struct cli *cli, const struct uk_regauth *a);
/* Sends the stored credentials for the registry (name) lives on, if there are any. */
int cli_registry_creds(struct cli *cli, const char *name, uk_err_t *err);
/* POST (path) for push or pull (verb) of (name) with its stored credentials; prints progress;
 * the exit status. */
int cli_registry_xfer(struct cli *cli, const char *verb, const char *name, const char *path);

#endif
