/* netclient: getaddrinfo(HOST) + connect(PORT) + GET /; prints what it got. Exit 0 with an HTTP
 * answer, 2 when the name does not resolve, 3 when the connection fails. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *host = argc > 1 ? argv[1] : "server", *port = argc > 2 ? argv[2] : "80";
	struct addrinfo hints, *res;
	char buf[512], req[300];
	int fd, rc, err = 0;
	socklen_t len = sizeof(err);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		printf("netclient: getaddrinfo %s: %s\n", host, gai_strerror(rc));
		return 2;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)res->ai_addr;
	unsigned char *ip = (unsigned char *)&a->sin_addr;
	printf("netclient: %s is %u.%u.%u.%u\n", host, ip[0], ip[1], ip[2], ip[3]);
	fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS) {
		printf("netclient: connect: %s\n", strerror(errno));
		return 3;
	}
	freeaddrinfo(res);
	struct pollfd p = {fd, POLLOUT, 0};
	if (poll(&p, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		printf("netclient: connect %s:%s: %s\n", host, port,
		       strerror(err ? err : ETIMEDOUT));
		return 3;
	}
	snprintf(req, sizeof(req), "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", host);
	if (send(fd, req, strlen(req), 0) < 0) {
		printf("netclient: send: %s\n", strerror(errno));
		return 3;
	}
	p.events = POLLIN;
	if (poll(&p, 1, 5000) != 1) {
		printf("netclient: no answer from %s:%s\n", host, port);
		return 3;
	}
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) {
		printf("netclient: recv: %s\n", n ? strerror(errno) : "closed");
		return 3;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	printf("netclient: %s answered: %s\n", host, buf);
	close(fd);
	return 0;
}
