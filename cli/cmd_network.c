/* uk network: create, ls, inspect, rm and prune uk networks (bridges ukd manages). */
#include "cli.h"

#include <string.h>

static const struct cli_cmd *self = &cli_cmd_network;

static int call(struct cli *cli, const char *method, const char *path, json_object *body,
                json_object **res, uk_err_t *err)
{
	uk_body_t b;

	if (!cli_client(cli))
		return -1;
	if (body)
		b = UK_BODY_JSON(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	return uk_client_call(cli->client, method, path, body ? &b : NULL, NULL, res, err);
}

static int net_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"subnet", required_argument, NULL, 's'},
	                                     {"gateway", required_argument, NULL, 'g'},
	                                     {"internal", no_argument, NULL, 'i'},
	                                     {"outbound", no_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	_cleanup_json_ json_object *body = json_object_new_object(), *res = NULL;
	uk_err_t err = {0};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
		const char *key = c == 's' ? "subnet" : c == 'g' ? "gateway" : NULL;
		if (key)
			json_object_object_add(body, key, json_object_new_string(optarg));
		else if (c == 'i' || c == 'o')
			json_object_object_add(body, c == 'i' ? "internal" : "outbound",
			                       json_object_new_boolean(1));
		else
			return c == 'h' ? cli_help(self) : CLI_EXIT_USAGE;
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "create needs one NAME");
	json_object_object_add(body, "name", json_object_new_string(argv[optind]));
	if (call(cli, "POST", "/v1/networks", body, &res, &err) < 0)
		return err.status ? cli_fail(&err) : CLI_EXIT_FAIL;
	if (cli->json)
		cli_print_json(res);
	else
		printf("%s\n", cli_jstr(res, "id"));
	return 0;
}

/* One network with --format field names (Docker's ID, Name, Driver, Scope, Internal, CreatedAt;
 * uk's Subnet, Gateway, Mode, Instances); the default table shows six of them. */
static json_object *net_row(json_object *n)
{
	json_object *row = json_object_new_object(), *eps;
	char id[13], count[16];

	snprintf(id, sizeof(id), "%.12s", cli_jstr(n, "id"));
	snprintf(count, sizeof(count), "%zu",
	         json_object_object_get_ex(n, "endpoints", &eps) ? json_object_array_length(eps)
	                                                         : (size_t)0);
	json_object_object_add(row, "ID", json_object_new_string(id));
	json_object_object_add(row, "Name", json_object_new_string(cli_jstr(n, "name")));
	json_object_object_add(row, "Driver", json_object_new_string("bridge"));
	json_object_object_add(row, "Scope", json_object_new_string("local"));
	json_object_object_add(row, "Subnet", json_object_new_string(cli_jstr(n, "subnet")));
	json_object_object_add(row, "Gateway", json_object_new_string(cli_jstr(n, "gateway")));
	json_object_object_add(row, "Mode",
	                       json_object_new_string(cli_jbool(n, "internal")   ? "internal"
	                                              : cli_jbool(n, "outbound") ? "outbound"
	                                                                         : "isolated"));
	json_object_object_add(row, "Internal",
	                       json_object_new_string(cli_jbool(n, "internal") ? "true" : "false"));
	json_object_object_add(row, "Instances", json_object_new_string(count));
	json_object_object_add(row, "CreatedAt", json_object_new_string(cli_jstr(n, "created")));
	return row;
}

static int net_ls(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
	                                     {"filter", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	static const char *const hdr_kv[] = {"ID",        "NETWORK ID", "Name",      "NAME",
	                                     "Driver",    "DRIVER",     "Scope",     "SCOPE",
	                                     "Subnet",    "SUBNET",     "Gateway",   "GATEWAY",
	                                     "Mode",      "MODE",       "Internal",  "INTERNAL",
	                                     "Instances", "INSTANCES",  "CreatedAt", "CREATED AT"};
	_cleanup_json_ json_object *res = NULL, *filters = NULL, *rows = json_object_new_array();
	_cleanup_free_ char *fq = NULL, *path = NULL;
	uk_err_t err = {0};
	int c, quiet = 0;

	while ((c = cli_getopt(cli, argc, argv, "qf:", opts)) != -1) {
		if (c == 'f' && cli_filter_add(cli, &filters, optarg))
			return CLI_EXIT_USAGE;
		if (c != 'q' && c != 'f')
			return c == 'h' ? cli_help(self) : CLI_EXIT_USAGE;
		quiet |= c == 'q';
	}
	if (optind != argc)
		return cli_usage_error(cli, "ls takes no arguments (got '%s')", argv[optind]);
	fq = cli_filter_query(filters, 0);
	path = cli_sprintf("/v1/networks%s", fq);
	if (call(cli, "GET", path, NULL, &res, &err) < 0)
		return err.status ? cli_fail(&err) : CLI_EXIT_FAIL;
	if (cli->json) {
		cli_print_json(res);
		return 0;
	}
	for (size_t i = 0; res && i < json_object_array_length(res); i++)
		json_object_array_add(rows, net_row(json_object_array_get_idx(res, i)));
	if (cli->tmpl && !quiet) {
		_cleanup_json_ json_object *hdr =
		        cli_format_header(hdr_kv, sizeof(hdr_kv) / sizeof(hdr_kv[0]));
		return cli_format_rows(cli, rows, hdr);
	}
	struct cli_table *t =
	        cli_table_new(6, "NETWORK ID", "NAME", "SUBNET", "GATEWAY", "MODE", "INSTANCES");
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *r = json_object_array_get_idx(rows, i);

		if (quiet)
			printf("%s\n", cli_jstr(r, "ID"));
		else
			cli_table_row(t, cli_jstr(r, "ID"), cli_jstr(r, "Name"),
			              cli_jstr(r, "Subnet"), cli_jstr(r, "Gateway"),
			              cli_jstr(r, "Mode"), cli_jstr(r, "Instances"));
	}
	if (!quiet)
		cli_table_print(t, stdout);
	cli_table_free(t);
	return 0;
}

static int net_inspect(struct cli *cli, int argc, char **argv)
{
	json_object *all = json_object_new_array();
	int c, rc = 0;

	while ((c = cli_getopt(cli, argc, argv, "f:", NULL)) != -1) {
		if (c == 'f' && cli_set_format(cli, optarg) == 0) /* -f is --format, as Docker's */
			continue;
		json_object_put(all);
		return c == 'h' ? cli_help(self) : CLI_EXIT_USAGE;
	}
	if (optind >= argc) {
		json_object_put(all);
		return cli_usage_error(cli, "inspect needs at least one NETWORK");
	}
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *path = cli_path("networks", argv[i], "");
		json_object *res = NULL;
		uk_err_t err = {0};
		if (call(cli, "GET", path, NULL, &res, &err) < 0) {
			rc = err.status ? cli_fail(&err) : CLI_EXIT_FAIL;
			continue;
		}
		json_object_array_add(all, res);
	}
	if ((c = cli_inspect_print(cli, all, net_row)))
		rc = c;
	json_object_put(all);
	return rc;
}

static int net_rm(struct cli *cli, int argc, char **argv)
{
	int c, rc = 0;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1)
		return c == 'h' ? cli_help(self) : CLI_EXIT_USAGE;
	if (optind >= argc)
		return cli_usage_error(cli, "rm needs at least one NETWORK");
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *path = cli_path("networks", argv[i], "");
		uk_err_t err = {0};
		if (call(cli, "DELETE", path, NULL, NULL, &err) < 0)
			rc = err.status ? cli_fail(&err) : CLI_EXIT_FAIL;
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

static int net_prune(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_object *res = NULL;
	uk_err_t err = {0};
	json_object *gone;
	int c;

	while ((c = cli_getopt(cli, argc, argv, "f", NULL)) != -1)
		if (c != 'f') /* -f: docker's "do not prompt"; uk never prompts */
			return c == 'h' ? cli_help(self) : CLI_EXIT_USAGE;
	if (call(cli, "POST", "/v1/networks/prune", NULL, &res, &err) < 0)
		return err.status ? cli_fail(&err) : CLI_EXIT_FAIL;
	if (cli->json) {
		cli_print_json(res);
		return 0;
	}
	if (json_object_object_get_ex(res, "networks_deleted", &gone) &&
	    json_object_array_length(gone)) {
		printf("Deleted Networks:\n");
		for (size_t i = 0; i < json_object_array_length(gone); i++)
			printf("%s\n", json_object_get_string(json_object_array_get_idx(gone, i)));
	}
	return 0;
}

/* connect [--alias A]... [--ip IP] NET INSTANCE, disconnect NET INSTANCE */
static int net_conn(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"alias", required_argument, NULL, 'a'},
	                                     {"ip", required_argument, NULL, 'i'},
	                                     {NULL, 0, NULL, 0}};
	_cleanup_json_ json_object *body = json_object_new_object();
	json_object *aliases = NULL;
	int connect = !strcmp(argv[0], "connect"), c;
	uk_err_t err = {0};

	while ((c = cli_getopt(cli, argc, argv, "", connect ? opts : NULL)) != -1) {
		if (c == 'a') {
			if (!aliases) {
				aliases = json_object_new_array();
				json_object_object_add(body, "aliases", aliases);
			}
			json_object_array_add(aliases, json_object_new_string(optarg));
		} else if (c == 'i') {
			json_object_object_add(body, "ip", json_object_new_string(optarg));
		} else {
			return c == 'h' ? cli_help(self) : CLI_EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(cli, "%s needs a NETWORK and an INSTANCE", argv[0]);
	json_object_object_add(body, "instance", json_object_new_string(argv[optind + 1]));
	_cleanup_free_ char *path =
	        cli_path("networks", argv[optind], connect ? "/connect" : "/disconnect");
	if (call(cli, "POST", path, body, NULL, &err) < 0)
		return err.status ? cli_fail(&err) : CLI_EXIT_FAIL;
	return 0;
}

static int network_run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	        {"create", net_create, NULL, 0},  {"ls", net_ls, NULL, 1},
	        {"list", net_ls, NULL, 1},        {"inspect", net_inspect, NULL, 1},
	        {"rm", net_rm, NULL, 0},          {"remove", net_rm, NULL, 0},
	        {"prune", net_prune, NULL, 0},    {"connect", net_conn, NULL, 0},
	        {"disconnect", net_conn, NULL, 0}};

	return cli_run_sub(cli, &cli_cmd_network, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}

const struct cli_cmd cli_cmd_network = {
        .name = "network",
        .summary = "Manage networks instances talk to each other on",
        .help = "Usage: uk network create [--subnet CIDR] [--gateway IP] [--internal|--outbound] "
                "NAME\n"
                "       uk network ls [-q] [-f name=NAME]...\n"
                "       uk network inspect [-f FORMAT] NETWORK...\n"
                "       uk network rm NETWORK...\n"
                "       uk network prune\n"
                "       uk network connect [--alias A]... [--ip IP] NETWORK INSTANCE\n"
                "       uk network disconnect NETWORK INSTANCE\n"
                "\n"
                "A network is a Linux bridge ukd makes (uk-<id>), with one tap per instance on\n"
                "it. Instances join at create time (uk run --network NAME [--network-alias\n"
                "A] [--ip IP], --network repeated for more) or later with connect, which like\n"
                "disconnect changes a created or stopped instance only (a running guest cannot\n"
                "gain or lose a NIC: uk stop, connect, uk start). Up to 4 networks per\n"
                "instance, a NIC each; off its last one, an instance is back in the default\n"
                "mode (slirp when it publishes ports, exposes one or has a health check, else\n"
                "no NIC).\n"
                "On a network instances reach each other by name and alias (ukd answers DNS\n"
                "on the gateway) and nothing else: two networks cannot reach each other, and\n"
                "by default nothing outside either. --outbound adds NAT to the host's networks;\n"
                "an --internal network publishes no ports either. A guest sends only from the\n"
                "MAC and address ukd gave its NIC (ukd pins each tap: no ARP for another\n"
                "address, no IPv6). rm refuses a network instances are on (409 naming them);\n"
                "prune removes every unused one.\n"
                "Needs ukd with CAP_NET_ADMIN (docs/networking.md).\n"
                "\n"
                "Options:\n"
                "      --subnet CIDR   e.g. 10.89.7.0/24 (default: the first free 10.89.N.0/24)\n"
                "      --gateway IP    the bridge's address (default: the subnet's first)\n"
                "      --internal      no way out of the network\n"
                "      --outbound      NAT to the host's networks (and nothing else in); DNS\n"
                "                      forwards outside names to the host's resolvers\n"
                "      --alias A       connect: another name on NETWORK (repeatable)\n"
                "      --ip IP         connect: the address on NETWORK (default: IPAM's)\n"
                "  -q, --quiet         ls: ids only\n"
                "  -f, --filter K=V    ls: keep networks matching name=NAME (repeatable)\n"
                "      --format FMT    table, json, or for ls a Go template over ID, Name,\n"
                "                      Driver, Subnet, Gateway, Mode, Internal, Instances\n"
                "                      (inspect -f: the same beside the JSON's own keys)\n"
                "  -h, --help          print this help\n",
        .run = network_run,
        .templates = CLI_TEMPLATES_SUB,
};
