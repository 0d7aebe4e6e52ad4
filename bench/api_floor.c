/* bench/api.sh's floor: libmicrohttpd in ukd's threading mode answering every request with one
 * fixed body (a small JSON object, or the bytes of a file), on a unix socket and a TCP port. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char small[] = "{\"message\":\"fixed body\"}\n";

static char *read_body(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(16 << 20);

	if (!f || !buf)
		return NULL;
	*len = fread(buf, 1, 16 << 20, f);
	fclose(f);
	return buf;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls)
{
	struct MHD_Response *r = cls;

	(void)url, (void)method, (void)version, (void)upload_data, (void)upload_size;
	if (!*con_cls) { /* headers first, like ukd: answer on the second call */
		*con_cls = conn;
		return MHD_YES;
	}
	return MHD_queue_response(conn, 200, r);
}

static int listen_on(const char *where)
{
	int fd;

	if (!strncmp(where, "unix:", 5)) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", where + 5);
		unlink(sa.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -1;
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(where))};
		int one = 1;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -1;
	}
	return listen(fd, 128) < 0 ? -1 : fd;
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *mhd[2];
	struct MHD_Response *r;
	sigset_t set;
	int sig;
	char *body = small;
	size_t len = sizeof(small) - 1;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: api_floor unix:PATH TCP_PORT [BODY_FILE]\n");
		return 2;
	}
	if (argc == 4 && !(body = read_body(argv[3], &len))) {
		fprintf(stderr, "api_floor: read %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	/* Blocked before MHD's threads start, so they inherit it and sigwait() gets the signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	for (int i = 0; i < 2; i++) {
		int fd = listen_on(argv[1 + i]);
		if (fd < 0) {
			fprintf(stderr, "api_floor: listen on %s: %s\n", argv[1 + i],
			        strerror(errno));
			return 1;
		}
		mhd[i] = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
		                                  MHD_USE_INTERNAL_POLLING_THREAD,
		                          0, NULL, NULL, answer, r, MHD_OPTION_LISTEN_SOCKET, fd,
		                          MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
		if (!mhd[i]) {
			fprintf(stderr, "api_floor: libmicrohttpd did not start on %s\n",
			        argv[1 + i]);
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	for (int i = 0; i < 2; i++)
		MHD_stop_daemon(mhd[i]);
	MHD_destroy_response(r);
	return 0;
}
