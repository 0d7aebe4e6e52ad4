/* uk volume: create, ls, inspect, rm, prune, export and import named volumes. */
#include "cli.h"
#include "uk/io.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int vol_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"opt", required_argument, NULL, 'o'},
	                                     {"label", required_argument, NULL, 'l'},
	                                     {NULL, 0, NULL, 0}};
	json_object *body = json_object_new_object(), *o = json_object_new_object();
	json_object *labels = json_object_new_object(), *out = NULL;
	uk_err_t err = {0};
	int c, r = CLI_EXIT_USAGE;

	json_object_object_add(body, "options", o);
	json_object_object_add(body, "labels", labels);
	while ((c = cli_getopt(cli, argc, argv, "o:l:", opts)) != -1) {
		const char *eq = optarg ? strchr(optarg, '=') : NULL;
		_cleanup_free_ char *key = NULL;

		if (c == 'h') {
			r = cli_help(&cli_cmd_volume);
			goto out;
		}
		if (c == '?')
			goto out;
		if (!eq || eq == optarg) {
			cli_usage_error(cli, "--%s wants KEY=VALUE (got '%s')",
			                c == 'o' ? "opt" : "label", optarg);
			goto out;
		}
		key = cli_sprintf("%.*s", (int)(eq - optarg), optarg);
		json_object_object_add(c == 'o' ? o : labels, key, json_object_new_string(eq + 1));
	}
	if (argc - optind != 1) {
		cli_usage_error(cli, "create needs one volume NAME");
		goto out;
	}
	json_object_object_add(body, "name", json_object_new_string(argv[optind]));
	r = CLI_EXIT_FAIL;
	if (!cli_client(cli))
		goto out;
	const char *s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	uk_body_t b = UK_BODY_JSON(s);
	if (uk_client_call(cli->client, "POST", "/v1/volumes", &b, NULL, &out, &err) < 0) {
		cli_warn("volume create %s: %s", argv[optind], err.message);
		goto out;
	}
	if (cli->json)
		cli_print_json(out);
	else
		puts(argv[optind]);
	r = 0;
out:
	json_object_put(body);
	json_object_put(out);
	return r;
}

/* One volume with --format field names (Docker's Name, Driver, Scope, Mountpoint, Labels, Size;
 * uk's UsedBy); the default table shows four of them. */
static json_object *vol_row(json_object *v)
{
	json_object *row = json_object_new_object(), *users, *labels;
	char size[32], used[256] = "", lab[1024];

	cli_human_size((double)cli_jint(v, "size", 0), size, sizeof(size));
	if (json_object_object_get_ex(v, "used_by", &users))
		for (size_t j = 0; j < json_object_array_length(users); j++)
			snprintf(used + strlen(used), sizeof(used) - strlen(used), "%s%s",
			         j ? "," : "",
			         json_object_get_string(json_object_array_get_idx(users, j)));
	cli_labels_column(json_object_object_get_ex(v, "labels", &labels) ? labels : NULL, lab,
	                  sizeof(lab));
	json_object_object_add(row, "Name", json_object_new_string(cli_jstr(v, "name")));
	json_object_object_add(row, "Driver", json_object_new_string(cli_jstr(v, "driver")));
	json_object_object_add(row, "Scope", json_object_new_string("local"));
	json_object_object_add(row, "Mountpoint",
	                       json_object_new_string(cli_jstr(v, "mountpoint")));
	json_object_object_add(row, "Labels", json_object_new_string(lab));
	json_object_object_add(row, "Size", json_object_new_string(size));
	json_object_object_add(row, "UsedBy", json_object_new_string(used));
	return row;
}

static int vol_ls(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
	                                     {"filter", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	static const char *const hdr_kv[] = {
	        "Name",       "VOLUME NAME", "Driver", "DRIVER", "Scope", "SCOPE",  "Mountpoint",
	        "MOUNTPOINT", "Labels",      "LABELS", "Size",   "SIZE",  "UsedBy", "USED BY"};
	_cleanup_json_ json_object *filters = NULL, *out = NULL, *rows = json_object_new_array();
	_cleanup_free_ char *fq = NULL, *path = NULL;
	uk_err_t err = {0};
	int c, quiet = 0;

	while ((c = cli_getopt(cli, argc, argv, "qf:", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_volume);
		if (c == 'f' && cli_filter_add(cli, &filters, optarg))
			return CLI_EXIT_USAGE;
		if (c == '?')
			return CLI_EXIT_USAGE;
		quiet |= c == 'q';
	}
	if (optind < argc)
		return cli_usage_error(cli, "ls takes no arguments");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	fq = cli_filter_query(filters, 0);
	path = cli_sprintf("/v1/volumes%s", fq);
	if (uk_client_call(cli->client, "GET", path, NULL, NULL, &out, &err) < 0) {
		cli_warn("volume ls: %s", err.message);
		return CLI_EXIT_FAIL;
	}
	if (cli->json) {
		cli_print_json(out);
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(out); i++)
		json_object_array_add(rows, vol_row(json_object_array_get_idx(out, i)));
	if (cli->tmpl && !quiet) {
		_cleanup_json_ json_object *hdr =
		        cli_format_header(hdr_kv, sizeof(hdr_kv) / sizeof(hdr_kv[0]));
		return cli_format_rows(cli, rows, hdr);
	}
	struct cli_table *t = cli_table_new(4, "DRIVER", "VOLUME NAME", "SIZE", "USED BY");
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *r = json_object_array_get_idx(rows, i);

		if (quiet)
			puts(cli_jstr(r, "Name"));
		else
			cli_table_row(t, cli_jstr(r, "Driver"), cli_jstr(r, "Name"),
			              cli_jstr(r, "Size"), cli_jstr(r, "UsedBy"));
	}
	if (!quiet)
		cli_table_print(t, stdout);
	cli_table_free(t);
	return 0;
}

static int vol_inspect(struct cli *cli, int argc, char **argv)
{
	json_object *all = json_object_new_array();
	int c, ret = 0;

	while ((c = cli_getopt(cli, argc, argv, "f:", NULL)) != -1) {
		if (c == 'f' && cli_set_format(cli, optarg) == 0) /* -f is --format, as Docker's */
			continue;
		return json_object_put(all), c == 'h' ? cli_help(&cli_cmd_volume) : CLI_EXIT_USAGE;
	}
	if (optind >= argc) {
		json_object_put(all);
		return cli_usage_error(cli, "inspect needs at least one volume NAME");
	}
	if (!cli_client(cli)) {
		json_object_put(all);
		return CLI_EXIT_FAIL;
	}
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *path = cli_path("volumes", argv[i], "");
		json_object *out = NULL;
		uk_err_t err = {0};

		if (uk_client_call(cli->client, "GET", path, NULL, NULL, &out, &err) < 0) {
			cli_warn("volume inspect %s: %s", argv[i], err.message);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		json_object_array_add(all, out);
	}
	if ((c = cli_inspect_print(cli, all, vol_row)))
		ret = c;
	json_object_put(all);
	return ret;
}

static int vol_rm(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	int c, force = 0, ret = 0;

	while ((c = cli_getopt(cli, argc, argv, "f", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_volume);
		if (c == '?')
			return CLI_EXIT_USAGE;
		force = 1;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "rm needs at least one volume NAME");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *path =
		        cli_path("volumes", argv[i], force ? "?force=1" : "?force=0");
		uk_err_t err = {0};

		if (uk_client_call(cli->client, "DELETE", path, NULL, NULL, NULL, &err) < 0) {
			cli_warn("volume rm %s: %s", argv[i], err.message);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		puts(argv[i]);
	}
	return ret;
}

static int vol_prune(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	json_object *out = NULL, *names;
	uk_err_t err = {0};
	char size[32];
	int c;

	while ((c = cli_getopt(cli, argc, argv, "f", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_volume);
		if (c == '?')
			return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(cli, "prune takes no arguments");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "POST", "/v1/volumes/prune", NULL, NULL, &out, &err) < 0) {
		cli_warn("volume prune: %s", err.message);
		return CLI_EXIT_FAIL;
	}
	if (cli->json) {
		cli_print_json(out);
	} else {
		if (json_object_object_get_ex(out, "volumes_deleted", &names) &&
		    json_object_array_length(names)) {
			puts("Deleted Volumes:");
			for (size_t i = 0; i < json_object_array_length(names); i++)
				puts(json_object_get_string(json_object_array_get_idx(names, i)));
			puts("");
		}
		cli_human_size((double)cli_jint(out, "space_reclaimed", 0), size, sizeof(size));
		printf("Total reclaimed space: %s\n", size);
	}
	json_object_put(out);
	return 0;
}

static int write_out(const char *data, size_t len, void *ud)
{
	return uk_write_all(*(int *)ud, data, len) < 0;
}

static int vol_export(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	_cleanup_free_ char *path = NULL, *tmp = NULL;
	const char *out = NULL;
	uk_err_t err = {0};
	int c, fd = STDOUT_FILENO, r;

	while ((c = cli_getopt(cli, argc, argv, "o:", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_volume);
		if (c == '?')
			return CLI_EXIT_USAGE;
		out = optarg;
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "export needs one volume NAME");
	if (!out && isatty(STDOUT_FILENO))
		return cli_usage_error(cli, "refusing to write a tar archive to a terminal: "
		                            "use -o FILE or redirect standard output");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	path = cli_path("volumes", argv[optind], "/export");
	if (out) {
		/* FILE appears whole or not at all */
		tmp = cli_sprintf("%s.uk-tmp-%d", out, (int)getpid());
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
			cli_warn("volume export: create %s: %s", tmp, strerror(errno));
			return CLI_EXIT_FAIL;
		}
	}
	r = uk_client_stream(cli->client, "GET", path, NULL, write_out, &fd, &err);
	if (r == 0 && out && (fsync(fd) < 0 || rename(tmp, out) < 0))
		r = uk_err_errno(&err, errno, "write %s", out);
	if (out) {
		close(fd);
		if (r < 0)
			unlink(tmp);
	}
	if (r < 0) {
		cli_warn("volume export %s: %s", argv[optind], err.message);
		return CLI_EXIT_FAIL;
	}
	return 0;
}

static int vol_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
	                                     {NULL, 0, NULL, 0}};
	_cleanup_free_ char *path = NULL;
	const char *in = NULL;
	uk_err_t err = {0};
	uk_body_t body;
	int c, fd, r;

	while ((c = cli_getopt(cli, argc, argv, "i:", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_volume);
		if (c == '?')
			return CLI_EXIT_USAGE;
		in = optarg;
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "import needs one volume NAME");
	if ((fd = cli_tar_input(cli, "volume import", in, &body)) < 0)
		return -fd;
	path = cli_path("volumes", argv[optind], "/import");
	r = uk_client_call(cli->client, "POST", path, &body, NULL, NULL, &err);
	if (in)
		close(fd);
	if (r < 0) {
		cli_warn("volume import %s: %s", argv[optind], err.message);
		return CLI_EXIT_FAIL;
	}
	return 0;
}

static int volume_run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	        {"create", vol_create, NULL, 0},   {"ls", vol_ls, NULL, 1},
	        {"inspect", vol_inspect, NULL, 1}, {"rm", vol_rm, NULL, 0},
	        {"prune", vol_prune, NULL, 0},     {"export", vol_export, NULL, 0},
	        {"import", vol_import, NULL, 0},   {"list", vol_ls, NULL, 1},
	        {"remove", vol_rm, NULL, 0}};

	return cli_run_sub(cli, &cli_cmd_volume, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}

const struct cli_cmd cli_cmd_volume = {
        .name = "volume",
        .summary = "Manage volumes (state that outlives instances)",
        .help = "Usage: uk volume create [--opt size=SIZE] [--label K=V] NAME\n"
                "       uk volume ls [-q] [-f name=NAME|label=KEY[=VALUE]]...\n"
                "       uk volume inspect [-f FORMAT] NAME...\n"
                "       uk volume rm [-f] NAME...\n"
                "       uk volume prune\n"
                "       uk volume export [-o FILE] NAME > x.tar\n"
                "       uk volume import [-i FILE] NAME < x.tar\n"
                "\n"
                "A volume is a disk image kept by the daemon (64m unless --opt size=), mounted\n"
                "into instances with uk run -v NAME:/data[:ro] (made on first use) or --mount\n"
                "type=volume,src=NAME,dst=/data[,readonly]. Guests see its files through stdio\n"
                "under the mount point (docs/storage.md). It outlives uk rm and daemon restarts.\n"
                "rm refuses a volume an instance uses (running or not; -f removes it when only\n"
                "stopped ones do) and -f ignores missing ones. prune removes every volume no\n"
                "instance uses. export writes the files as a tar (other keys of the store as\n"
                ".ukkv/NAME); import adds a tar's files and keys (all or none) and refuses\n"
                "links, absolute paths and '..'. Both refuse while a running instance writes\n"
                "the volume (import: while one mounts it at all); meanwhile rm and writers of\n"
                "that volume are refused, everything else goes on.\n"
                "\n"
                "Options:\n"
                "  -o, --opt size=SIZE  create: the volume's size (k, m, g, t; 1m to 1t)\n"
                "  -l, --label K=V      create: a label (repeatable)\n"
                "  -f, --filter K=V     ls: keep volumes matching name=NAME, label=KEY[=VALUE]\n"
                "  -q, --quiet          ls: names only\n"
                "  -f, --force          rm: see above\n"
                "  -o, --output FILE    export: write FILE (whole or not at all)\n"
                "  -i, --input FILE     import: read FILE\n"
                "      --format FMT     table, json, or for ls a Go template over Name, Driver,\n"
                "                       Mountpoint, Labels, Size, UsedBy (inspect -f: the\n"
                "                       same beside the JSON's own keys)\n"
                "  -h, --help           print this help\n",
        .run = volume_run,
        .templates = CLI_TEMPLATES_SUB,
};
