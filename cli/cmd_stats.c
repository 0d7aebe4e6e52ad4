/* uk stats (CPU %, memory, network and block I/O per instance, like docker stats) and uk top. */
#include "cli.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STATS_PERIOD_MS 1000

/* One instance followed from one round to the next. */
struct stats_inst {
	char id[65];
	char name[128];
	json_object *prev; /* its last sample, or NULL */
	json_object *cur;
};

/* Docker's memory sizes: binary units, 4 significant digits ("1.5MiB"). */
static void stats_mem_size(double bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, len, "%.4g%s", bytes, units[u]);
}

/* "1.2kB / 648B", or "--" when (key) is null: a slirp NIC has no counters ukd can read. */
static void stats_io(json_object *s, const char *key, const char *a, const char *b, char *buf,
                     size_t len)
{
	json_object *o;
	char x[16], y[16];

	if (!json_object_object_get_ex(s, key, &o) || !o) {
		snprintf(buf, len, "--");
		return;
	}
	cli_human_size((double)cli_jint(o, a, 0), x, sizeof(x));
	cli_human_size((double)cli_jint(o, b, 0), y, sizeof(y));
	snprintf(buf, len, "%s / %s", x, y);
}

/* The row of (in): Docker's stats template keys (.ID, .Name, .CPUPerc, .MemUsage, ...). */
static json_object *stats_row(const struct stats_inst *in)
{
	json_object *r = json_object_new_object(), *mem = NULL;
	json_object *s = in->cur;
	char cpu[16] = "--", usage[48], perc[16] = "0.00%", net[40], blk[40], u[16], l[16];
	int64_t used = 0, limit = 0;

	if (in->prev && cli_jbool(s, "running") && cli_jbool(in->prev, "running")) {
		double dt = (double)(cli_jint(s, "read_ns", 0) - cli_jint(in->prev, "read_ns", 0));
		double dc = (double)(cli_jint(s, "cpu_ns", 0) - cli_jint(in->prev, "cpu_ns", 0));

		snprintf(cpu, sizeof(cpu), "%.2f%%", dt > 0 && dc > 0 ? 100.0 * dc / dt : 0.0);
	} else if (!cli_jbool(s, "running")) {
		snprintf(cpu, sizeof(cpu), "0.00%%");
	}
	if (json_object_object_get_ex(s, "memory", &mem) && mem) {
		used = cli_jint(mem, "usage", 0);
		limit = cli_jint(mem, "limit", 0);
	}
	stats_mem_size((double)used, u, sizeof(u));
	stats_mem_size((double)limit, l, sizeof(l));
	snprintf(usage, sizeof(usage), "%s / %s", u, l);
	if (limit > 0)
		snprintf(perc, sizeof(perc), "%.2f%%", 100.0 * (double)used / (double)limit);
	stats_io(s, "network", "rx_bytes", "tx_bytes", net, sizeof(net));
	stats_io(s, "block", "read_bytes", "write_bytes", blk, sizeof(blk));
	json_object_object_add(r, "ID", json_object_new_string_len(in->id, 12));
	json_object_object_add(r, "Container", json_object_new_string(in->name));
	json_object_object_add(r, "Name", json_object_new_string(in->name));
	json_object_object_add(r, "CPUPerc", json_object_new_string(cpu));
	json_object_object_add(r, "MemUsage", json_object_new_string(usage));
	json_object_object_add(r, "MemPerc", json_object_new_string(perc));
	json_object_object_add(r, "NetIO", json_object_new_string(net));
	json_object_object_add(r, "BlockIO", json_object_new_string(blk));
	return r;
}

static json_object *stats_header(void)
{
	static const char *const kv[] = {"ID",        "INSTANCE ID",       "Name",    "NAME",
	                                 "Container", "INSTANCE",          "CPUPerc", "CPU %",
	                                 "MemUsage",  "MEM USAGE / LIMIT", "MemPerc", "MEM %",
	                                 "NetIO",     "NET I/O",           "BlockIO", "BLOCK I/O"};
	return cli_format_header(kv, sizeof(kv) / sizeof(kv[0]));
}

/* (insts) as a table, a template's rows or JSON (the samples as ukd gave them). */
static int stats_print(struct cli *cli, struct stats_inst *insts, size_t n)
{
	_cleanup_json_ json_object *rows = json_object_new_array();
	struct cli_table *t;

	if (cli->json) {
		_cleanup_json_ json_object *all = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(all, json_object_get(insts[i].cur));
		cli_print_json(all);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		json_object_array_add(rows, stats_row(&insts[i]));
	if (cli->tmpl) {
		_cleanup_json_ json_object *hdr = stats_header();
		return cli_format_rows(cli, rows, hdr);
	}
	t = cli_table_new(7, "INSTANCE ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
	                  "NET I/O", "BLOCK I/O");
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(rows, i);
		cli_table_row(t, cli_jstr(r, "ID"), cli_jstr(r, "Name"), cli_jstr(r, "CPUPerc"),
		              cli_jstr(r, "MemUsage"), cli_jstr(r, "MemPerc"), cli_jstr(r, "NetIO"),
		              cli_jstr(r, "BlockIO"));
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	return 0;
}

static void stats_free(struct stats_inst *insts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_object_put(insts[i].prev);
		json_object_put(insts[i].cur);
	}
	free(insts);
}

/* The instances to follow: those named, else the running ones (all with -a), in ukd's order.
 * Keeps the samples of those already followed. */
static int stats_list(struct cli *cli, char **names, int nnames, int all, struct stats_inst **insts,
                      size_t *n, uk_err_t *err)
{
	_cleanup_json_ json_object *res = NULL;
	struct stats_inst *next;
	size_t m = 0;

	if (nnames) {
		if (*insts)
			return 0;
		*insts = calloc((size_t)nnames, sizeof(**insts));
		for (int i = 0; *insts && i < nnames; i++)
			snprintf((*insts)[i].id, sizeof((*insts)[i].id), "%s", names[i]);
		*n = *insts ? (size_t)nnames : 0;
		return *insts ? 0 : uk_err_internal(err, "out of memory");
	}
	_cleanup_free_ char *path = cli_sprintf("/v1/instances?all=%d", all);
	if (uk_client_call(cli->client, "GET", path, NULL, NULL, &res, err) < 0)
		return -1;
	if (!json_object_is_type(res, json_type_array))
		return uk_err_internal(err, "the daemon's answer is not a list");
	next = calloc(json_object_array_length(res) + 1, sizeof(*next));
	if (!next)
		return uk_err_internal(err, "out of memory");
	for (size_t i = 0; i < json_object_array_length(res); i++) {
		const char *id = cli_jstr(json_object_array_get_idx(res, i), "id");

		snprintf(next[m].id, sizeof(next[m].id), "%s", id);
		for (size_t k = 0; k < *n; k++)
			if (!strcmp((*insts)[k].id, id)) {
				next[m].prev = (*insts)[k].prev;
				next[m].cur = (*insts)[k].cur;
				(*insts)[k].prev = (*insts)[k].cur = NULL;
			}
		m++;
	}
	stats_free(*insts, *n);
	*insts = next;
	*n = m;
	return 0;
}

/* A new sample of each instance (ukd's one-shot: no wait); the CPU % comes from two. */
static int stats_round(struct cli *cli, struct stats_inst *insts, size_t n, uk_err_t *err)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = cli_path("instances", insts[i].id, "/stats?one-shot=1");
		json_object *s = NULL;

		if (uk_client_call(cli->client, "GET", path, NULL, NULL, &s, err) < 0)
			return uk_err_wrap(err, "stats %s", insts[i].id);
		json_object_put(insts[i].prev);
		insts[i].prev = insts[i].cur;
		insts[i].cur = s;
		snprintf(insts[i].name, sizeof(insts[i].name), "%s", cli_jstr(s, "name"));
		snprintf(insts[i].id, sizeof(insts[i].id), "%s", cli_jstr(s, "id"));
	}
	return 0;
}

static void stats_sleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0)
		;
}

static int stats_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"all", no_argument, NULL, 'a'},
	        {"no-stream", no_argument, NULL, 'S'},
	        {"no-trunc", no_argument, NULL, 'T'},
	        {NULL, 0, NULL, 0},
	};
	struct stats_inst *insts = NULL;
	uk_err_t err = {0};
	size_t n = 0;
	int c, all = 0, stream = 1, tty = isatty(STDOUT_FILENO), ret = 0;

	while ((c = cli_getopt(cli, argc, argv, "a", opts)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cli_cmd_stats);
		case 'a':
			all = 1;
			break;
		case 'S':
			stream = 0;
			break;
		case 'T':
			break; /* names are never cut; IDs are (12) as in ps */
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	/* two rounds a second apart before the first table: CPU % needs both */
	for (int round = 0;; round++) {
		if (stats_list(cli, argv + optind, argc - optind, all, &insts, &n, &err) < 0 ||
		    stats_round(cli, insts, n, &err) < 0) {
			ret = cli_fail(&err);
			break;
		}
		if (round == 0) {
			stats_sleep(STATS_PERIOD_MS);
			continue;
		}
		if (stream && tty)
			fputs("\033[2J\033[H", stdout); /* redraw in place, as docker stats does */
		if ((ret = stats_print(cli, insts, n)) != 0 || !stream)
			break;
		fflush(stdout);
		stats_sleep(STATS_PERIOD_MS);
	}
	stats_free(insts, n);
	return ret;
}

const struct cli_cmd cli_cmd_stats = {
        .name = "stats",
        .summary = "Show instances' CPU, memory, network and block I/O",
        .help = "Usage: uk stats [OPTIONS] [INSTANCE...]\n"
                "\n"
                "Show the resource usage of instances (default: the running ones), redrawn\n"
                "each second until ^C, like docker stats:\n"
                "  CPU %              the guest's VMM (QEMU) process, of one host CPU\n"
                "  MEM USAGE / LIMIT  the VMM's resident memory / the guest's memory\n"
                "  NET I/O            bytes received / sent over the guest's network\n"
                "                     (\"--\": the default user-mode NIC has no counters)\n"
                "  BLOCK I/O          bytes its volumes read / wrote\n"
                "A stopped instance shows a row of zeros.\n"
                "\n"
                "Options:\n"
                "  -a, --all          all instances, not only the running ones\n"
                "      --no-stream    print one table and exit\n"
                "      --no-trunc     accepted for docker's sake (names are never cut)\n"
                "      --format FMT   table, json, or a Go template over .ID, .Name,\n"
                "                     .CPUPerc, .MemUsage, .MemPerc, .NetIO, .BlockIO\n",
        .run = stats_run,
        .templates = 1,
};

static int top_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_object *res = NULL;
	_cleanup_free_ char *path = NULL;
	json_object *titles, *procs;
	uk_err_t err = {0};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_top);
		return CLI_EXIT_USAGE;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "an INSTANCE is required");
	if (argc - optind > 1)
		return cli_usage_error(cli,
		                       "takes one INSTANCE (ps options are not supported; "
		                       "got '%s')",
		                       argv[optind + 1]);
	path = cli_path("instances", argv[optind], "/top");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "GET", path, NULL, NULL, &res, &err) < 0)
		return cli_fail(&err);
	if (cli->json) {
		cli_print_json(res);
		return 0;
	}
	if (!json_object_object_get_ex(res, "Titles", &titles) ||
	    !json_object_object_get_ex(res, "Processes", &procs) ||
	    json_object_array_length(titles) != 5) {
		cli_warn("top: the daemon's answer has no process table");
		return CLI_EXIT_FAIL;
	}
	struct cli_table *t = cli_table_new(5, "PID", "USER", "%CPU", "RSS", "COMMAND");
	for (size_t i = 0; i < json_object_array_length(procs); i++) {
		json_object *r = json_object_array_get_idx(procs, i);
		const char *cell[5];

		for (size_t k = 0; k < 5; k++)
			cell[k] = json_object_get_string(json_object_array_get_idx(r, k));
		cli_table_row(t, cell[0] ? cell[0] : "", cell[1] ? cell[1] : "",
		              cell[2] ? cell[2] : "", cell[3] ? cell[3] : "",
		              cell[4] ? cell[4] : "");
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	printf("guest: %s\n", cli_jstr(res, "Guest"));
	return 0;
}

const struct cli_cmd cli_cmd_top = {
        .name = "top",
        .summary = "Show what an instance runs",
        .help = "Usage: uk top INSTANCE\n"
                "\n"
                "Show the process that runs INSTANCE's guest on the host (its VMM, QEMU):\n"
                "PID, USER, %CPU (over its life), RSS (KiB) and COMMAND, then one line on\n"
                "the guest's own view (a unikernel has no process table to list).\n",
        .run = top_run,
};
