/* uk: the docker-like command line for ukd; global options, then a table of commands. */
#include "cli.h"

#include <string.h>

static const struct cli_cmd *const cli_cmds[] = {
        &cli_cmd_build,     &cli_cmd_run,     &cli_cmd_create, &cli_cmd_start, &cli_cmd_stop,
        &cli_cmd_kill,      &cli_cmd_restart, &cli_cmd_wait,   &cli_cmd_rm,    &cli_cmd_ps,
        &cli_cmd_logs,      &cli_cmd_inspect, &cli_cmd_images, &cli_cmd_rmi,   &cli_cmd_tag,
        &cli_cmd_save,      &cli_cmd_load,    &cli_cmd_events, &cli_cmd_info,  &cli_cmd_version,
        &cli_cmd_port,      &cli_cmd_push,    &cli_cmd_pull,   &cli_cmd_login, &cli_cmd_logout,
        &cli_cmd_trust,     &cli_cmd_network, &cli_cmd_volume, &cli_cmd_debug, &cli_cmd_rename,
        &cli_cmd_container, &cli_cmd_image,   &cli_cmd_system, &cli_cmd_stats, &cli_cmd_top,
};

static void main_usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: uk [OPTIONS] COMMAND [ARG...]\n"
	             "\n"
	             "Build, run and manage unikernels through the uk daemon (ukd).\n"
	             "\n"
	             "Options:\n"
	             "  -H, --host HOST     daemon to talk to: unix:///PATH or tcp://HOST:PORT\n"
	             "                      (default: $UK_HOST, else " UK_CLIENT_DEFAULT_HOST ")\n"
	             "      --format FMT    output format: table (default), json or a Go\n"
	             "                      template (ps, images, inspect, stats, system df,\n"
	             "                      network and volume ls/inspect)\n"
	             "      --tls           use TLS to a tcp:// daemon (implied by --tlsverify)\n"
	             "      --tlsverify     use TLS and verify the daemon (or UK_TLS_VERIFY=1)\n"
	             "      --tlscacert, --tlscert, --tlskey FILE\n"
	             "                      CA, client certificate and key (default ca.pem,\n"
	             "                      cert.pem, key.pem in $UK_CERT_PATH, else ~/.uk)\n"
	             "  -v, --version       print the client version and exit\n"
	             "  -h, --help          print this help and exit\n"
	             "\n"
	             "Commands:\n");
	for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		fprintf(out, "  %-9s %s\n", cli_cmds[i]->name, cli_cmds[i]->summary);
	fprintf(out, "\nRun 'uk COMMAND --help' for more information on a command.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"host", required_argument, NULL, 'H'},
	        {"format", required_argument, NULL, 'F'},
	        {"version", no_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {"tls", no_argument, NULL, 'T'},
	        {"tlsverify", no_argument, NULL, 'Y'},
	        {"tlscacert", required_argument, NULL, 'A'},
	        {"tlscert", required_argument, NULL, 'C'},
	        {"tlskey", required_argument, NULL, 'K'},
	        {NULL, 0, NULL, 0},
	};
	struct cli cli = {.cmd = "uk"};
	const struct cli_cmd *cmd = NULL;
	size_t i;
	int c, ret, idx = -1;

	cli.host = getenv("UK_HOST");
	if (cli.host && !*cli.host)
		cli.host = NULL;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+H:vh", opts, &idx)) != -1) {
		const char *typed = idx >= 0 && c != '?' ? cli_long_typed(argv, &opts[idx]) : NULL;

		idx = -1;
		if (typed) {
			fprintf(stderr, "uk: unknown option '%.*s'\nSee 'uk --help'.\n",
			        (int)strcspn(typed, "="), typed);
			return CLI_EXIT_USAGE;
		}
		switch (c) {
		case 'H':
			cli.host = optarg;
			break;
		case 'F':
			if (cli_set_format(&cli, optarg) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'T':
			cli.tls.on = 1;
			break;
		case 'Y':
			cli.tls.verify = 1;
			break;
		case 'A':
			cli.tls.ca_flag = optarg;
			break;
		case 'C':
			cli.tls.cert_flag = optarg;
			break;
		case 'K':
			cli.tls.key_flag = optarg;
			break;
		case 'v':
			printf("uk version %s\n", UK_CLI_VERSION);
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			if (optopt && optopt != '?')
				fprintf(stderr, "uk: unknown or incomplete option '-%c'\n", optopt);
			else
				fprintf(stderr, "uk: unknown or incomplete option '%s'\n",
				        argv[optind - 1]);
			fprintf(stderr, "See 'uk --help'.\n");
			return CLI_EXIT_USAGE;
		}
	}
	cli_tls_resolve(&cli);
	if (optind >= argc) {
		main_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			main_usage(stdout);
			return 0;
		}
		optind++;
		for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
			if (strcmp(cli_cmds[i]->name, argv[optind]) == 0)
				return cli_help(cli_cmds[i]);
	}
	for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		if (strcmp(cli_cmds[i]->name, argv[optind]) == 0)
			cmd = cli_cmds[i];
	if (!cmd && cli_docker_command(argv[optind])) {
		fprintf(stderr, "uk %s: not available: %s.\n", argv[optind],
		        cli_docker_command(argv[optind]));
		return CLI_EXIT_USAGE;
	}
	if (!cmd) {
		fprintf(stderr, "uk: '%s' is not a uk command.\nSee 'uk --help'.\n", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	cli.cmd = cmd->name;
	cli.templates = cmd->templates;
	if (cli.tmpl && !cli.templates) {
		ret = cli_templates_refused(&cli);
		cli_tmpl_free(cli.tmpl);
		return ret;
	}
	argc -= optind;
	argv += optind;
	optind = 0; /* GNU getopt: 0 re-initialises for the command's own options */
	ret = cmd->run(&cli, argc, argv);
	uk_client_free(cli.client);
	cli_tmpl_free(cli.tmpl);
	if (fflush(stdout) != 0 && ret == 0) {
		cli_warn("write standard output: %m");
		ret = CLI_EXIT_FAIL;
	}
	return ret;
}
