/* uk info: the daemon's root, backend, accelerator (and why) and counts. */
#include "cli.h"

static int info_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_object *res = NULL;
	json_object *backend = NULL, *v;
	uk_err_t err = {0};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_info);
		return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage_error(cli, "takes no arguments (got '%s')", argv[optind]);
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "GET", "/v1/info", NULL, NULL, &res, &err) < 0)
		return cli_fail(&err);
	if (!res) {
		cli_warn("info: the daemon's answer is not JSON");
		return CLI_EXIT_FAIL;
	}
	if (cli->json) {
		cli_print_json(res);
		return 0;
	}
	json_object_object_get_ex(res, "backend", &backend);
	printf("Host:         %s\n", uk_client_host(cli->client));
	printf("Root:         %s\n", cli_jstr(res, "root"));
	/* "libvirt (qemu:///embed?root=...)", "qemu (qemu-system-x86_64)" */
	if (*cli_jstr(backend, "name"))
		printf("Backend:      %s (%s)\n", cli_jstr(backend, "name"),
		       cli_jstr(backend, "uri"));
	else
		printf("Backend:      %s\n", cli_jstr(backend, "uri"));
	/* "QEMU/TCG 7.2.0", "QEMU/KVM 7.2.0", "Xen 4.17.7" */
	if (*cli_jstr(backend, "hypervisor"))
		printf("Hypervisor:   %s\n", cli_jstr(backend, "hypervisor"));
	printf("Accelerator:  %s", cli_jstr(backend, "accelerator"));
	if (*cli_jstr(backend, "accelerator_reason"))
		printf(" (%s)", cli_jstr(backend, "accelerator_reason"));
	printf("\n");
	printf("Images:       %lld\n", (long long)cli_jint(res, "images", 0));
	printf("Instances:    %lld\n", (long long)cli_jint(res, "instances", 0));
	printf(" Running:     %lld\n", (long long)cli_jint(res, "running", 0));
	printf("ukcc:         %s\n", cli_jstr(res, "ukcc"));
	if (json_object_object_get_ex(res, "live_restore", &v))
		printf("Live restore: %s\n", json_object_get_boolean(v) ? "true" : "false");
	/* as docker info: what keeps the daemon from working as it should, on stderr */
	if (json_object_object_get_ex(res, "warnings", &v))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			cli_warn("WARNING: %s",
			         json_object_get_string(json_object_array_get_idx(v, i)));
	return 0;
}

const struct cli_cmd cli_cmd_info = {
        .name = "info",
        .summary = "Show the daemon's configuration and counts",
        .help = "Usage: uk info [OPTIONS]\n"
                "\n"
                "Print the daemon's root directory, default backend (libvirt and its URI, or\n"
                "qemu and its binary), accelerator (KVM or TCG, and why), how many images and\n"
                "instances it holds, and the ukcc it builds with.\n"
                "Warnings (e.g. guests that cannot start, and why) go to stderr.\n"
                "\n"
                "Options:\n"
                "      --format FMT   table (default) or json (the daemon's answer)\n"
                "  -h, --help         print this help\n",
        .run = info_run,
};
