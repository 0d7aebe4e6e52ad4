/* POSIX echo server (tests/net/posix): poll() over a non-blocking listener and up to 16 clients;
 * serves COUNT connections, then exits. Builds unchanged with ukcc and with the host's libc. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 16

struct client {
	int fd;
	char buf[16384];
	size_t len, off; /* bytes held, of which (off) are sent */
	unsigned long long total;
};

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int main(int argc, char **argv)
{
	struct client c[MAXC];
	struct pollfd p[MAXC + 1];
	struct sockaddr_in sa;
	int port = argc > 1 ? atoi(argv[1]) : 7000, want = argc > 2 ? atoi(argv[2]) : 1;
	int ls, one = 1, served = 0;

	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		perror("socket");
		return 1;
	}
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 16) < 0) {
		perror("bind/listen");
		return 1;
	}
	set_nonblock(ls);
	printf("listening on %d\n", port);
	fflush(stdout);
	for (int i = 0; i < MAXC; i++)
		c[i].fd = -1;
	while (served < want) {
		int n = 0;
		p[n].fd = ls;
		p[n++].events = POLLIN;
		for (int i = 0; i < MAXC; i++) {
			p[n].fd = c[i].fd;
			p[n++].events = c[i].len > c[i].off ? POLLOUT : POLLIN;
		}
		if (poll(p, (nfds_t)n, -1) < 0) {
			perror("poll");
			return 1;
		}
		if (p[0].revents & POLLIN) {
			int fd = accept(ls, NULL, NULL);
			int slot = -1;
			for (int i = 0; i < MAXC && fd >= 0; i++)
				if (c[i].fd < 0) {
					slot = i;
					break;
				}
			if (fd >= 0 && slot < 0) {
				close(fd);
			} else if (fd >= 0) {
				set_nonblock(fd);
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				c[slot].fd = fd;
				c[slot].len = c[slot].off = 0;
				c[slot].total = 0;
			} else if (errno != EAGAIN) {
				perror("accept");
			}
		}
		for (int i = 0; i < MAXC; i++) {
			struct client *k = &c[i];
			ssize_t r;
			if (k->fd < 0 || !p[i + 1].revents)
				continue;
			if (k->len > k->off) {
				r = write(k->fd, k->buf + k->off, k->len - k->off);
				if (r > 0)
					k->off += (size_t)r;
				else if (r < 0 && errno != EAGAIN)
					goto drop;
				if (k->off == k->len)
					k->len = k->off = 0;
				continue;
			}
			r = read(k->fd, k->buf, sizeof(k->buf));
			if (r > 0) {
				k->len = (size_t)r;
				k->off = 0;
				k->total += (unsigned long long)r;
				continue;
			}
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r < 0)
				perror("read");
			printf("connection done: %llu bytes echoed\n", k->total);
			fflush(stdout);
			served++;
		drop:
			close(k->fd);
			k->fd = -1;
		}
	}
	close(ls);
	return 0;
}
