/* website: serves the files embedded at /www (the Ukfile's FILES site/ /www) over HTTP/1.1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/files.h>
#include <uk/http.h>
#include <uk/net.h>
#include <uk/uk.h>

static void usage(void)
{
	fprintf(stderr, "usage: website [--port=N] [--root=DIR]\n"
	                "  serves the embedded files under DIR (default /www) on TCP port N "
	                "(default 80)\n");
}

int main(int argc, char **argv)
{
	static struct uk_http_files files = {"/www", "/www/404.html", "no-cache"};
	static char notfound[256];
	struct uk_http_server *srv;
	long port = 80;
	uint32_t ip;
	uk_result_t rc;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strncmp(argv[i], "--port=", 7)) {
			port = strtol(argv[i] + 7, &end, 10);
			if (*end || port < 1 || port > 65535) {
				fprintf(stderr, "website: bad port \"%s\" (1-65535)\n",
				        argv[i] + 7);
				return 2;
			}
		} else if (!strncmp(argv[i], "--root=", 7) && argv[i][7] == '/') {
			files.root = argv[i] + 7;
			snprintf(notfound, sizeof(notfound), "%s/404.html", files.root);
			files.not_found = notfound;
		} else {
			usage();
			return 2;
		}
	}
	if (!uk_file_is_dir(files.root))
		fprintf(stderr,
		        "website: warning: nothing is embedded under %s (build with "
		        "FILES site/ %s, or ukcc --embed site/:%s)\n",
		        files.root, files.root, files.root);
	rc = uk_net_configure_from_options();
	if (rc != UK_OK) {
		fprintf(stderr, "website: no network (%d): is there a NIC? see docs/net.md\n", rc);
		return 1;
	}
	while (!uk_net_ready())
		uk_net_poll(100000000ull);
	srv = uk_http_server_new((uint16_t)port, uk_http_serve_files, &files);
	if (!srv) {
		fprintf(stderr, "website: cannot listen on port %ld\n", port);
		return 1;
	}
	uk_net_address(&ip, NULL, NULL);
	printf("website: serving %s on http://%u.%u.%u.%u:%ld/\n", files.root, ip >> 24,
	       (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, port);
	fflush(stdout);
	rc = uk_http_server_run(srv);
	fprintf(stderr, "website: event loop failed (%d)\n", rc);
	uk_http_server_free(srv);
	return 1;
}
