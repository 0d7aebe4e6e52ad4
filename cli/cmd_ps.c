/* uk ps: list instances as a table (or ids, or JSON). */
#include "cli.h"

#include <ctype.h>
#include <string.h>

/* Docker's COMMAND column: the words joined, quoted, cut to 20 characters with an ellipsis. */
static void ps_command(json_object *item, char *buf, size_t len)
{
	json_object *cmd;
	char words[512] = "";
	size_t n = 0, chars = 0, i;

	if (json_object_object_get_ex(item, "command", &cmd) && cmd) {
		if (json_object_is_type(cmd, json_type_array)) {
			for (i = 0; i < json_object_array_length(cmd) && n < sizeof(words) - 1; i++)
				n += (size_t)snprintf(
				        words + n, sizeof(words) - n, "%s%s", i ? " " : "",
				        json_object_get_string(json_object_array_get_idx(cmd, i)));
		} else {
			snprintf(words, sizeof(words), "%s", json_object_get_string(cmd));
		}
	}
	/* more than 20 code points: keep 19 and an ellipsis */
	for (i = 0; words[i]; i++)
		if (((unsigned char)words[i] & 0xc0) != 0x80)
			chars++;
	if (chars > 20) {
		for (i = 0, chars = 0; words[i]; i++) {
			if (((unsigned char)words[i] & 0xc0) != 0x80 && ++chars == 20)
				break;
		}
		snprintf(words + i, sizeof(words) - i, "\u2026");
	}
	snprintf(buf, len, "\"%s\"", words);
}

/* STATUS: the daemon's human text if it sends one, else built from the state. */
static void ps_status(json_object *item, char *buf, size_t len)
{
	const char *status = cli_jstr(item, "status");
	const char *state = cli_jstr(item, "state");
	char ago[64];
	double t;

	if (isupper((unsigned char)status[0])) {
		snprintf(buf, len, "%s", status);
		return;
	}
	if (!*state)
		state = status;
	if (strcmp(state, "running") == 0) {
		t = cli_parse_rfc3339(cli_jstr(item, "started_at"));
		if (t > 0) {
			cli_human_since(t, ago, sizeof(ago));
			ago[strlen(ago) - 4] = '\0'; /* " ago" */
			snprintf(buf, len, "Up %s", ago);
		} else {
			snprintf(buf, len, "Up");
		}
	} else if (strcmp(state, "exited") == 0) {
		int code = (int)cli_jint(item, "exit_code", 0);
		t = cli_parse_rfc3339(cli_jstr(item, "finished_at"));
		if (t > 0) {
			cli_human_since(t, ago, sizeof(ago));
			snprintf(buf, len, "Exited (%d) %s", code, ago);
		} else {
			snprintf(buf, len, "Exited (%d)", code);
		}
	} else if (*state) {
		snprintf(buf, len, "%c%s", toupper((unsigned char)state[0]), state + 1);
	} else {
		snprintf(buf, len, "Unknown");
	}
}

/* One instance with Docker's --format field names (ID, Image, Command, CreatedAt, RunningFor,
 * Ports, State, Status, Names, Labels); the default table shows six of them. */
static json_object *ps_row(json_object *item, int notrunc)
{
	json_object *row = json_object_new_object(), *names, *ports, *labels;
	char id[80], cmd[600], created[64], at[64], status[96], namebuf[512] = "",
	                                                        portbuf[1024] = "", lab[1024] = "";
	size_t k, n = 0;

	snprintf(id, sizeof(id), "%.*s", notrunc ? 64 : 12, cli_jstr(item, "id"));
	ps_command(item, cmd, sizeof(cmd));
	cli_human_since((double)cli_jint(item, "created", 0), created, sizeof(created));
	cli_docker_time((double)cli_jint(item, "created", 0), at, sizeof(at));
	ps_status(item, status, sizeof(status));
	if (json_object_object_get_ex(item, "names", &names) &&
	    json_object_is_type(names, json_type_array))
		for (k = 0; k < json_object_array_length(names) && n < sizeof(namebuf) - 1; k++)
			n += (size_t)snprintf(
			        namebuf + n, sizeof(namebuf) - n, "%s%s", k ? "," : "",
			        json_object_get_string(json_object_array_get_idx(names, k)));
	else
		snprintf(namebuf, sizeof(namebuf), "%s", cli_jstr(item, "name"));
	/* like Docker: published ports show while the instance runs */
	if (!strcmp(cli_jstr(item, "state"), "running") &&
	    json_object_object_get_ex(item, "ports", &ports))
		cli_ports_column(ports, portbuf, sizeof(portbuf));
	cli_labels_column(json_object_object_get_ex(item, "labels", &labels) ? labels : NULL, lab,
	                  sizeof(lab));
	json_object_object_add(row, "ID", json_object_new_string(id));
	json_object_object_add(row, "Image", json_object_new_string(cli_jstr(item, "image")));
	json_object_object_add(row, "Command", json_object_new_string(cmd));
	json_object_object_add(row, "CreatedAt", json_object_new_string(at));
	json_object_object_add(row, "RunningFor", json_object_new_string(created));
	json_object_object_add(row, "Ports", json_object_new_string(portbuf));
	json_object_object_add(row, "State", json_object_new_string(cli_jstr(item, "state")));
	json_object_object_add(row, "Status", json_object_new_string(status));
	json_object_object_add(row, "Names", json_object_new_string(namebuf));
	json_object_object_add(row, "Labels", json_object_new_string(lab));
	return row;
}

/* The column titles of `--format 'table ...'`. */
static json_object *ps_header(void)
{
	static const char *const kv[] = {
	        "ID",         "INSTANCE ID", "Image",   "IMAGE", "Command", "COMMAND", "CreatedAt",
	        "CREATED AT", "RunningFor",  "CREATED", "Ports", "PORTS",   "State",   "STATE",
	        "Status",     "STATUS",      "Names",   "NAMES", "Labels",  "LABELS"};
	return cli_format_header(kv, sizeof(kv) / sizeof(kv[0]));
}

static int ps_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"all", no_argument, NULL, 'a'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"no-trunc", no_argument, NULL, 'T'},
	        {"filter", required_argument, NULL, 'f'},
	        {NULL, 0, NULL, 0},
	};
	_cleanup_json_ json_object *filters = NULL, *res = NULL, *rows = NULL;
	_cleanup_free_ char *path = NULL, *fq = NULL;
	uk_err_t err = {0};
	int c, all = 0, quiet = 0, notrunc = 0;
	size_t i;

	while ((c = cli_getopt(cli, argc, argv, "aqf:", opts)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cli_cmd_ps);
		case 'a':
			all = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'T':
			notrunc = 1;
			break;
		case 'f':
			if (cli_filter_add(cli, &filters, optarg))
				return CLI_EXIT_USAGE;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "takes no arguments (got '%s')", argv[optind]);
	fq = cli_filter_query(filters, 1);
	path = cli_sprintf("/v1/instances?all=%d%s", all, fq);
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "GET", path, NULL, NULL, &res, &err) < 0)
		return cli_fail(&err);
	if (!res || !json_object_is_type(res, json_type_array)) {
		cli_warn("ps: the daemon's answer is not a list");
		return CLI_EXIT_FAIL;
	}
	if (cli->json) {
		cli_print_json(res);
		return 0;
	}
	if (quiet) {
		for (i = 0; i < json_object_array_length(res); i++) {
			const char *id = cli_jstr(json_object_array_get_idx(res, i), "id");
			printf("%.*s\n", notrunc ? 64 : 12, id);
		}
		return 0;
	}
	rows = json_object_new_array();
	for (i = 0; i < json_object_array_length(res); i++)
		json_object_array_add(rows, ps_row(json_object_array_get_idx(res, i), notrunc));
	if (cli->tmpl) {
		_cleanup_json_ json_object *hdr = ps_header();
		return cli_format_rows(cli, rows, hdr);
	}
	struct cli_table *t = cli_table_new(7, "INSTANCE ID", "IMAGE", "COMMAND", "CREATED",
	                                    "STATUS", "PORTS", "NAMES");
	for (i = 0; i < json_object_array_length(rows); i++) {
		json_object *r = json_object_array_get_idx(rows, i);
		cli_table_row(t, cli_jstr(r, "ID"), cli_jstr(r, "Image"), cli_jstr(r, "Command"),
		              cli_jstr(r, "RunningFor"), cli_jstr(r, "Status"),
		              cli_jstr(r, "Ports"), cli_jstr(r, "Names"));
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	return 0;
}

const struct cli_cmd cli_cmd_ps = {
        .name = "ps",
        .summary = "List instances",
        .help = "Usage: uk ps [OPTIONS]\n"
                "\n"
                "List running instances (all with -a) as a table:\n"
                "INSTANCE ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES.\n"
                "\n"
                "Options:\n"
                "  -a, --all             show all instances, not only running ones\n"
                "  -q, --quiet           print only ids\n"
                "      --no-trunc        print full 64-digit ids\n"
                "  -f, --filter K=V      keep instances matching: "
                "status=created|running|exited|dead,\n"
                "                        name=NAME, health=starting|healthy|unhealthy|none,\n"
                "                        label=KEY[=VALUE], ancestor=IMAGE, id=PREFIX\n"
                "                        (repeatable: values of one key OR, keys AND)\n"
                "      --format FMT      table (default), json (the daemon's list) or a Go\n"
                "                        template: '{{.Names}} {{.Status}}', 'table {{.ID}}\\t\n"
                "                        {{.Ports}}'; fields ID, Image, Command, CreatedAt,\n"
                "                        RunningFor, Ports, State, Status, Names, Labels\n"
                "  -h, --help            print this help\n",
        .run = ps_run,
        .templates = 1,
};
