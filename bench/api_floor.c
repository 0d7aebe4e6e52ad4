/* bench/api.sh's floor: libmicrohttpd in ukd's threading mode answering every request with one
 * fixed body (a small JSON object, or the bytes of a file), on a unix socket, a TCP port and
 * optionally a TLS port that checks client certificates once per connection as ukd does. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include "peer.h"
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char small[] = "{\"message\":\"fixed body\"}\n";

/* The bytes of (path), NUL-terminated (PEM options are strings), at most 16 MiB. */
static char *read_body(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc((16 << 20) + 1);

	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, 16 << 20, f);
	buf[*len] = 0;
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

/* Per TLS connection: whether its client certificate was checked, and the verdict. */
struct tls_conn {
	int checked, ok;
};

static void tls_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode toe)
{
	(void)cls, (void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_context = calloc(1, sizeof(struct tls_conn));
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		free(*socket_context);
}

/* What ukd pays over TLS: its own client certificate check (ukd_peer_tls), once per connection. */
static enum MHD_Result answer_tls(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tls_conn *tc = ci ? ci->socket_context : NULL;

	if (!tc)
		return MHD_NO;
	if (!tc->checked) {
		struct ukd_peer peer;
		uk_err_t err = {0};
		tc->ok = ukd_peer_tls(conn, &peer, &err) == 0;
		tc->checked = 1;
		if (!tc->ok)
			fprintf(stderr, "api_floor: %s\n", err.message);
	}
	if (!tc->ok)
		return MHD_NO;
	return answer(cls, conn, url, method, version, upload_data, upload_size, con_cls);
}

/* A TLS listener on loopback (port) with ukd's options: certificate, key, the clients' CA. */
static struct MHD_Daemon *start_tls(const char *port, const char *cert_file, const char *key_file,
                                    const char *ca_file, struct MHD_Response *r)
{
	size_t n;
	char *cert = read_body(cert_file, &n), *key = read_body(key_file, &n),
	     *ca = read_body(ca_file, &n);
	int fd = listen_on(port);

	if (!cert || !key || !ca || fd < 0) {
		fprintf(stderr, "api_floor: TLS on port %s with %s, %s, %s: %s\n", port, cert_file,
		        key_file, ca_file, strerror(errno));
		return NULL;
	}
	return MHD_start_daemon(
	        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0,
	        NULL, NULL, answer_tls, r, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_HTTPS_MEM_KEY,
	        key, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_TRUST, ca,
	        MHD_OPTION_NOTIFY_CONNECTION, tls_notify, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
	        MHD_OPTION_END);
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *mhd[3] = {NULL};
	struct MHD_Response *r;
	sigset_t set;
	int sig;
	char *body = small;
	size_t len = sizeof(small) - 1;

	if (argc != 3 && argc != 4 && argc != 8) {
		fprintf(stderr, "usage: api_floor unix:PATH TCP_PORT [BODY_FILE [TLS_PORT CERT KEY "
		                "CA]]\n");
		return 2;
	}
	if (argc >= 4 && !(body = read_body(argv[3], &len))) {
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
	if (argc == 8 && !(mhd[2] = start_tls(argv[4], argv[5], argv[6], argv[7], r))) {
		fprintf(stderr, "api_floor: libmicrohttpd did not start TLS on port %s\n", argv[4]);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	for (int i = 0; i < 3; i++)
		if (mhd[i])
			MHD_stop_daemon(mhd[i]);
	MHD_destroy_response(r);
	return 0;
}
