/* Tiny HTTP/1.0 client (tests/net/posix): GET http://HOST:PORT/PATH, print the status line,
 * the body's length and an FNV-1a hash. Builds unchanged with ukcc and with the host's libc. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *host = argc > 1 ? argv[1] : "localhost", *port = argc > 2 ? argv[2] : "80";
	const char *path = argc > 3 ? argv[3] : "/";
	struct addrinfo hints, *res, *ai;
	char req[512], buf[4096], status[128] = "";
	size_t slen = 0;
	unsigned long long body = 0;
	unsigned hash = 2166136261u;
	int fd = -1, rc, in_body = 0, seen_cr = 0;
	unsigned last4 = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		printf("getaddrinfo %s: %s\n", host, gai_strerror(rc));
		return 2;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		perror("connect");
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return 1;
	int n = snprintf(req, sizeof(req),
	                 "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
	if (write(fd, req, (size_t)n) != n) {
		perror("write");
		return 1;
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0) {
			perror("read");
			return 1;
		}
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			unsigned char ch = (unsigned char)buf[i];
			if (in_body) {
				body++;
				hash = (hash ^ ch) * 16777619u;
				continue;
			}
			if (!seen_cr && ch != '\r' && slen + 1 < sizeof(status))
				status[slen++] = (char)ch;
			seen_cr |= ch == '\r';
			last4 = last4 << 8 | ch;
			in_body = last4 == 0x0d0a0d0au; /* the blank line after the headers */
		}
	}
	close(fd);
	status[slen] = 0;
	printf("%s\nbody %llu bytes, fnv1a %08x\n", status, body, hash);
	return 0;
}
