/* POSIX echo client (tests/net/posix): resolves HOST, sends BYTES of a pattern and checks that
 * every byte comes back. Builds unchanged with ukcc and with the host's libc. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned char pat(unsigned long long i)
{
	return (unsigned char)((i * 131 + (i >> 11) * 7 + 3) & 0xff);
}

int main(int argc, char **argv)
{
	const char *host = argc > 1 ? argv[1] : "127.0.0.1", *port = argc > 2 ? argv[2] : "7000";
	unsigned long long bytes = argc > 3 ? strtoull(argv[3], NULL, 10) : 1 << 20;
	unsigned long long sent = 0, got = 0;
	struct addrinfo hints, *res;
	unsigned char out[8192], in[8192];
	int fd, rc, err = 0;
	socklen_t len = sizeof(err);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		printf("getaddrinfo %s: %s\n", host, gai_strerror(rc));
		return 2;
	}
	printf("resolved %s\n", host);
	if ((fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol)) < 0) {
		perror("socket");
		return 1;
	}
	/* Non-blocking connect: EINPROGRESS, then poll for writable and read SO_ERROR. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS) {
		printf("connect: %s\n", strerror(errno));
		return 1;
	}
	freeaddrinfo(res);
	struct pollfd p = {fd, POLLOUT, 0};
	if (poll(&p, 1, 30000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
	    err) {
		printf("connect: %s\n", strerror(err ? err : ETIMEDOUT));
		return 1;
	}
	printf("connected\n");
	while (got < bytes) {
		p.events = POLLIN | (sent < bytes ? POLLOUT : 0);
		if (poll(&p, 1, 30000) != 1) {
			printf("stalled at %llu of %llu bytes\n", got, bytes);
			return 1;
		}
		if (sent < bytes && (p.revents & POLLOUT)) {
			size_t n =
			        bytes - sent < sizeof(out) ? (size_t)(bytes - sent) : sizeof(out);
			for (size_t i = 0; i < n; i++)
				out[i] = pat(sent + i);
			ssize_t w = send(fd, out, n, 0);
			if (w < 0 && errno != EAGAIN) {
				printf("send: %s\n", strerror(errno));
				return 1;
			}
			if (w > 0)
				sent += (unsigned long long)w;
			if (sent == bytes)
				shutdown(fd, SHUT_WR);
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(fd, in, sizeof(in), 0);
			if (r == 0)
				break;
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r < 0) {
				printf("recv: %s\n", strerror(errno));
				return 1;
			}
			for (ssize_t i = 0; i < r; i++)
				if (in[i] != pat(got + (unsigned long long)i)) {
					printf("mismatch at byte %llu\n",
					       got + (unsigned long long)i);
					return 1;
				}
			got += (unsigned long long)r;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	char extra;
	ssize_t tail = recv(fd, &extra, 1, 0); /* blocking: the server's FIN */
	close(fd);
	printf("echoed %llu of %llu bytes, byte-exact, then %s\n", got, bytes,
	       tail == 0 ? "end of stream" : "unexpected data");
	return got == bytes && tail == 0 ? 0 : 1;
}
