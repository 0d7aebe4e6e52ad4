/* Docker's management commands: uk container|image|system SUBCOMMAND, and the prunes and df. */
#include "cli.h"

#include <string.h>
#include <unistd.h>

/* Docker's question before a prune; -f skips it. 1 to go on. */
static int confirm(const char *what)
{
	char line[64] = "";

	fprintf(stderr, "WARNING! This will remove %s.\nAre you sure you want to continue? [y/N] ",
	        what);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

/* POST /v1/(what)/prune: prints what the daemon removed under (title) ("Deleted Images:");
 * adds the bytes it freed to (*reclaimed). (*printed) says a section came before. */
static int prune_call(struct cli *cli, const char *what, const char *query, const char *title,
                      int *printed, int64_t *reclaimed, uk_err_t *err)
{
	_cleanup_free_ char *path = cli_sprintf("/v1/%s/prune%s", what, query);
	_cleanup_json_ json_object *res = NULL;
	json_object *del = NULL;
	size_t n;

	if (uk_client_call(cli->client, "POST", path, NULL, NULL, &res, err) < 0)
		return -1;
	json_object_object_get_ex(res, "deleted", &del);
	n = json_object_is_type(del, json_type_array) ? json_object_array_length(del) : 0;
	if (n)
		printf("%s%s\n", (*printed)++ ? "\n" : "", title);
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(del, i);

		if (json_object_is_type(r, json_type_string)) /* an instance id */
			printf("%s\n", json_object_get_string(r));
		else if (*cli_jstr(r, "untagged"))
			printf("untagged: %s\n", cli_jstr(r, "untagged"));
		else if (*cli_jstr(r, "deleted"))
			printf("deleted: %s\n", cli_jstr(r, "deleted"));
	}
	*reclaimed += cli_jint(res, "space_reclaimed", 0);
	return 0;
}

/* The options of every prune: -f (no question), -a (image and system: every unused image),
 * --filter until=|label= (the daemon checks them). */
static int prune_opts(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv,
                      int takes_all, int *force, int *all, json_object **filters)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
	                                     {"all", no_argument, NULL, 'a'},
	                                     {"filter", required_argument, NULL, 'F'},
	                                     {NULL, 0, NULL, 0}};
	int c;

	while ((c = cli_getopt(cli, argc, argv, takes_all ? "fa" : "f", opts)) != -1) {
		if (c == 'h')
			return cli_help(cmd), 0;
		if (c == 'f')
			*force = 1;
		else if (c == 'a' && takes_all)
			*all = 1;
		else if (c == 'a')
			return cli_usage_error(cli, "unknown option '--all'");
		else if (c != 'F' || cli_filter_add(cli, filters, optarg))
			return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(cli, "takes no arguments (got '%s')", argv[optind]);
	return -1; /* go on */
}

/* uk container prune / image prune / system prune: (what) 1 instances, 2 images, 3 both. */
static int prune_run(struct cli *cli, const struct cli_cmd *cmd, int what, int argc, char **argv)
{
	_cleanup_json_ json_object *filters = NULL;
	_cleanup_free_ char *fq = NULL, *iq = NULL;
	int force = 0, all = 0, printed = 0, r;
	int64_t reclaimed = 0;
	uk_err_t err = {0};
	char size[32];

	if ((r = prune_opts(cli, cmd, argc, argv, what & 2, &force, &all, &filters)) >= 0)
		return r;
	if (!force && !confirm(what == 1   ? "all stopped instances"
	                       : what == 2 ? (all ? "all images without an instance"
	                                          : "all untagged images without an instance")
	                       : all       ? "all stopped instances and all images without an "
	                                     "instance"
	                                   : "all stopped instances and all untagged images "
	                                     "without an instance"))
		return 0;
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	fq = cli_filter_query(filters, 0);
	iq = all ? cli_sprintf("?all=1%s%s", *fq ? "&" : "", *fq ? fq + 1 : "")
	         : cli_sprintf("%s", fq);
	if ((what & 1) &&
	    prune_call(cli, "instances", fq, "Deleted Instances:", &printed, &reclaimed, &err) < 0)
		return cli_fail(&err);
	if ((what & 2) &&
	    prune_call(cli, "images", iq, "Deleted Images:", &printed, &reclaimed, &err) < 0)
		return cli_fail(&err);
	cli_human_size((double)reclaimed, size, sizeof(size));
	printf("%sTotal reclaimed space: %s\n", printed ? "\n" : "", size);
	return 0;
}

static int container_prune_run(struct cli *cli, int argc, char **argv);
static int image_prune_run(struct cli *cli, int argc, char **argv);
static int system_prune_run(struct cli *cli, int argc, char **argv);
static int system_df_run(struct cli *cli, int argc, char **argv);

static const struct cli_cmd container_prune = {
        .name = "prune",
        .summary = "Remove all stopped instances",
        .help = "Usage: uk container prune [OPTIONS]\n"
                "\n"
                "Remove every instance that is not running, and its logs. A running one is\n"
                "kept (the daemon refuses to remove it). Prints the ids removed and the\n"
                "space reclaimed.\n"
                "\n"
                "Options:\n"
                "      --filter K=V  only those matching until=24h|UNIX-SECONDS|RFC3339 (created\n"
                "                    before), label=KEY[=VALUE] (repeatable)\n"
                "  -f, --force       do not ask for confirmation\n"
                "  -h, --help        print this help\n",
        .run = container_prune_run,
};

static const struct cli_cmd image_prune = {
        .name = "prune",
        .summary = "Remove images no instance uses",
        .help = "Usage: uk image prune [OPTIONS]\n"
                "\n"
                "Remove untagged images that no instance uses (with -a: every image no\n"
                "instance uses, tagged or not). An image an instance uses, stopped or not, is\n"
                "kept. Prints what was untagged and deleted and the space reclaimed.\n"
                "\n"
                "Options:\n"
                "  -a, --all         also remove tagged images no instance uses\n"
                "      --filter K=V  only those matching until=24h|UNIX-SECONDS|RFC3339 (created\n"
                "                    before), label=KEY[=VALUE] (repeatable)\n"
                "  -f, --force       do not ask for confirmation\n"
                "  -h, --help        print this help\n",
        .run = image_prune_run,
};

static const struct cli_cmd system_prune = {
        .name = "prune",
        .summary = "Remove stopped instances and unused images",
        .help = "Usage: uk system prune [OPTIONS]\n"
                "\n"
                "'uk container prune', then 'uk image prune' (untagged images; with -a every\n"
                "image no instance uses). Volumes and networks are left alone.\n"
                "\n"
                "Options:\n"
                "  -a, --all         remove every image no instance uses, not only untagged\n"
                "      --filter K=V  until=DURATION|TIME, label=KEY[=VALUE] (both prunes)\n"
                "  -f, --force       do not ask for confirmation\n"
                "  -h, --help        print this help\n",
        .run = system_prune_run,
};

static const struct cli_cmd system_df = {
        .name = "df",
        .summary = "Show the daemon's disk usage",
        .help = "Usage: uk system df\n"
                "\n"
                "A table of images and instances: how many, how many active (images an\n"
                "instance uses; running instances), their size and what a prune would\n"
                "reclaim. An instance's size is its own files (console log, state): a\n"
                "unikernel writes no layer of its own.\n"
                "\n"
                "Options:\n"
                "      --format FMT   table (default), json or a Go template\n"
                "                     ({{.Type}} {{.TotalCount}} {{.Active}} {{.Size}}\n"
                "                     {{.Reclaimable}})\n"
                "  -h, --help         print this help\n",
        .run = system_df_run,
        .templates = 1,
};

static int container_prune_run(struct cli *cli, int argc, char **argv)
{
	return prune_run(cli, &container_prune, 1, argc, argv);
}

static int image_prune_run(struct cli *cli, int argc, char **argv)
{
	return prune_run(cli, &image_prune, 2, argc, argv);
}

static int system_prune_run(struct cli *cli, int argc, char **argv)
{
	return prune_run(cli, &system_prune, 3, argc, argv);
}

/* One row of system df. */
static json_object *df_row(const char *type, int total, int active, double size, double reclaim)
{
	json_object *row = json_object_new_object();
	char s[32], r[32], rr[64];

	cli_human_size(size, s, sizeof(s));
	cli_human_size(reclaim, r, sizeof(r));
	if (size > 0)
		snprintf(rr, sizeof(rr), "%s (%.0f%%)", r, 100.0 * reclaim / size);
	else
		snprintf(rr, sizeof(rr), "%s", r);
	json_object_object_add(row, "Type", json_object_new_string(type));
	json_object_object_add(row, "TotalCount", json_object_new_int(total));
	json_object_object_add(row, "Active", json_object_new_int(active));
	json_object_object_add(row, "Size", json_object_new_string(s));
	json_object_object_add(row, "Reclaimable", json_object_new_string(rr));
	return row;
}

/* A row of system df from the daemon's {"total","active","size","reclaimable"}. */
static json_object *df_row_of(json_object *res, const char *key, const char *type)
{
	json_object *o = NULL;

	json_object_object_get_ex(res, key, &o);
	return df_row(type, (int)cli_jint(o, "total", 0), (int)cli_jint(o, "active", 0),
	              (double)cli_jint(o, "size", 0), (double)cli_jint(o, "reclaimable", 0));
}

static int system_df_run(struct cli *cli, int argc, char **argv)
{
	static const char *const hdr[] = {"Type",        "TYPE",       "TotalCount", "TOTAL",
	                                  "Active",      "ACTIVE",     "Size",       "SIZE",
	                                  "Reclaimable", "RECLAIMABLE"};
	_cleanup_json_ json_object *res = NULL, *rows = NULL;
	uk_err_t err = {0};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&system_df);
		return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(cli, "takes no arguments (got '%s')", argv[optind]);
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "GET", "/v1/system/df", NULL, NULL, &res, &err) < 0)
		return cli_fail(&err);
	rows = json_object_new_array();
	json_object_array_add(rows, df_row_of(res, "images", "Images"));
	json_object_array_add(rows, df_row_of(res, "instances", "Instances"));
	if (cli->json) {
		cli_print_json(rows);
		return 0;
	}
	if (!cli->tmpl) /* the default table is the same template Docker's is */
		cli_set_format(cli, "table {{.Type}}\\t{{.TotalCount}}\\t{{.Active}}\\t{{.Size}}\\t"
		                    "{{.Reclaimable}}");
	_cleanup_json_ json_object *h = cli_format_header(hdr, sizeof(hdr) / sizeof(hdr[0]));
	return cli_format_rows(cli, rows, h);
}

static const struct cli_sub container_subs[] = {
        {"ls", NULL, &cli_cmd_ps, 0},           {"list", NULL, &cli_cmd_ps, 0},
        {"ps", NULL, &cli_cmd_ps, 0},           {"prune", NULL, &container_prune, 0},
        {"rm", NULL, &cli_cmd_rm, 0},           {"create", NULL, &cli_cmd_create, 0},
        {"run", NULL, &cli_cmd_run, 0},         {"start", NULL, &cli_cmd_start, 0},
        {"stop", NULL, &cli_cmd_stop, 0},       {"kill", NULL, &cli_cmd_kill, 0},
        {"restart", NULL, &cli_cmd_restart, 0}, {"wait", NULL, &cli_cmd_wait, 0},
        {"logs", NULL, &cli_cmd_logs, 0},       {"inspect", NULL, &cli_cmd_inspect, 0},
        {"port", NULL, &cli_cmd_port, 0},       {"rename", NULL, &cli_cmd_rename, 0},
};

static const struct cli_sub image_subs[] = {
        {"ls", NULL, &cli_cmd_images, 0},   {"list", NULL, &cli_cmd_images, 0},
        {"prune", NULL, &image_prune, 0},   {"rm", NULL, &cli_cmd_rmi, 0},
        {"build", NULL, &cli_cmd_build, 0}, {"inspect", NULL, &cli_cmd_inspect, 0},
        {"tag", NULL, &cli_cmd_tag, 0},     {"save", NULL, &cli_cmd_save, 0},
        {"load", NULL, &cli_cmd_load, 0},   {"pull", NULL, &cli_cmd_pull, 0},
        {"push", NULL, &cli_cmd_push, 0},
};

static const struct cli_sub system_subs[] = {
        {"df", NULL, &system_df, 0},
        {"prune", NULL, &system_prune, 0},
        {"info", NULL, &cli_cmd_info, 0},
        {"events", NULL, &cli_cmd_events, 0},
};

static int container_run(struct cli *cli, int argc, char **argv)
{
	return cli_run_sub(cli, &cli_cmd_container, container_subs,
	                   sizeof(container_subs) / sizeof(container_subs[0]), argc, argv);
}

static int image_run(struct cli *cli, int argc, char **argv)
{
	return cli_run_sub(cli, &cli_cmd_image, image_subs,
	                   sizeof(image_subs) / sizeof(image_subs[0]), argc, argv);
}

static int system_run(struct cli *cli, int argc, char **argv)
{
	return cli_run_sub(cli, &cli_cmd_system, system_subs,
	                   sizeof(system_subs) / sizeof(system_subs[0]), argc, argv);
}

const struct cli_cmd cli_cmd_container = {
        .name = "container",
        .summary = "Manage instances (Docker's 'container' commands)",
        .help = "Usage: uk container COMMAND\n"
                "\n"
                "Docker's container commands, for instances:\n"
                "  ls, list, ps   as 'uk ps'\n"
                "  prune          remove all stopped instances (-f: without asking)\n"
                "  create, run, start, stop, kill, restart, wait, logs, inspect, port, rm,\n"
                "  rename         as 'uk COMMAND'\n"
                "\n"
                "Run 'uk container COMMAND --help' for more information on a command.\n",
        .run = container_run,
        .templates = CLI_TEMPLATES_SUB,
};

const struct cli_cmd cli_cmd_image = {
        .name = "image",
        .summary = "Manage images (Docker's 'image' commands)",
        .help = "Usage: uk image COMMAND\n"
                "\n"
                "Docker's image commands:\n"
                "  ls, list       as 'uk images'\n"
                "  rm             as 'uk rmi'\n"
                "  prune          remove untagged images no instance uses (-a: every image\n"
                "                 no instance uses; -f: without asking)\n"
                "  build, inspect, tag, save, load, pull, push   as 'uk COMMAND'\n"
                "\n"
                "Run 'uk image COMMAND --help' for more information on a command.\n",
        .run = image_run,
        .templates = CLI_TEMPLATES_SUB,
};

const struct cli_cmd cli_cmd_system = {
        .name = "system",
        .summary = "Disk usage, pruning, daemon information",
        .help = "Usage: uk system COMMAND\n"
                "\n"
                "  df             show the daemon's disk usage\n"
                "  prune          remove stopped instances and untagged unused images\n"
                "                 (-a: every unused image; -f: without asking)\n"
                "  info, events   as 'uk info', 'uk events'\n"
                "\n"
                "Run 'uk system COMMAND --help' for more information on a command.\n",
        .run = system_run,
        .templates = CLI_TEMPLATES_SUB,
};
