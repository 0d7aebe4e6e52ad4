/* uk port: list an instance's published ports ("80/tcp -> 127.0.0.1:8080", like docker port). */
#include "cli.h"

#include <string.h>

static int port_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	_cleanup_json_ json_object *res = NULL;
	_cleanup_free_ char *path = NULL;
	uk_err_t err = {0};
	char want_proto[8] = "";
	long want = 0;
	int c, shown = 0;

	while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_port);
		return CLI_EXIT_USAGE;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "an INSTANCE is required");
	if (argc - optind > 2)
		return cli_usage_error(cli, "takes INSTANCE [GUESTPORT[/PROTO]] (got '%s' too)",
		                       argv[optind + 2]);
	if (optind + 1 < argc) {
		const char *s = argv[optind + 1];
		char *end;

		want = strtol(s, &end, 10);
		if (end == s || want < 1 || want > 65535 ||
		    (*end && strcmp(end, "/tcp") && strcmp(end, "/udp")))
			return cli_usage_error(
			        cli, "bad port '%s': expected GUESTPORT[/tcp|/udp], e.g. 80/tcp",
			        s);
		snprintf(want_proto, sizeof(want_proto), "%s", *end ? end + 1 : "tcp");
	}
	path = cli_path("instances", argv[optind], "/port");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "GET", path, NULL, NULL, &res, &err) < 0)
		return cli_fail(&err);
	if (!res || !json_object_is_type(res, json_type_array)) {
		cli_warn("port: the daemon's answer is not a list");
		return CLI_EXIT_FAIL;
	}
	if (cli->json) {
		cli_print_json(res);
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(res); i++) {
		json_object *p = json_object_array_get_idx(res, i);
		const char *proto = *cli_jstr(p, "protocol") ? cli_jstr(p, "protocol") : "tcp";
		const char *ip = *cli_jstr(p, "host_ip") ? cli_jstr(p, "host_ip") : "127.0.0.1";
		long gp = (long)cli_jint(p, "guest_port", 0),
		     hp = (long)cli_jint(p, "host_port", 0);

		if (want && (gp != want || strcmp(proto, want_proto)))
			continue;
		if (want)
			printf("%s:%ld\n", ip, hp);
		else
			printf("%ld/%s -> %s:%ld\n", gp, proto, ip, hp);
		shown++;
	}
	if (want && !shown) {
		cli_warn("no public port '%ld/%s' published for %s", want, want_proto,
		         argv[optind]);
		return CLI_EXIT_FAIL;
	}
	return 0;
}

const struct cli_cmd cli_cmd_port = {
        .name = "port",
        .summary = "List an instance's published ports",
        .help = "Usage: uk port INSTANCE [GUESTPORT[/PROTO]]\n"
                "\n"
                "List the ports INSTANCE publishes on the host, one a line:\n"
                "GUESTPORT/PROTO -> HOSTIP:HOSTPORT. With GUESTPORT, print only the host\n"
                "addresses it is published on (exit 1 if none).\n"
                "\n"
                "Options:\n"
                "      --format FMT      table (default) or json (the daemon's list)\n"
                "  -h, --help            print this help\n",
        .run = port_run,
};
