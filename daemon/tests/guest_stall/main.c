/* uktest-stall: a guest whose service hangs: it answers the first --answer=N connections on
 * --port=P with "HTTP/1.1 200 OK", then accepts every connection and never writes a byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/net.h>
#include <uk/uk.h>

#define HELD_MAX 64

static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

int main(int argc, char **argv)
{
	struct uk_tcp *lst, *held[HELD_MAX] = {0};
	long port = 8080, answer = 0, n = 0;
	unsigned next = 0;

	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--port=", 7))
			port = atol(argv[i] + 7);
		else if (!strncmp(argv[i], "--answer=", 9))
			answer = atol(argv[i] + 9);
	}
	if (uk_net_configure_from_options() != UK_OK || port < 1 || port > 65535) {
		fprintf(stderr, "stall: no network or bad --port\n");
		return 1;
	}
	while (!uk_net_ready())
		uk_net_poll(100000000ull);
	if (!(lst = uk_tcp_listen((uint16_t)port, 16))) {
		fprintf(stderr, "stall: cannot listen on %ld\n", port);
		return 1;
	}
	printf("stall: listening on %ld, answering %ld connections\n", port, answer);
	fflush(stdout);
	for (;;) {
		struct uk_tcp *c;

		uk_net_poll(100000000ull);
		while ((c = uk_tcp_accept(lst))) {
			if (n++ < answer) {
				char buf[512];
				/* FIN after the answer; closing with the request unread would RST
				 */
				uk_tcp_read(c, buf, sizeof(buf));
				uk_tcp_write(c, ok, sizeof(ok) - 1);
				uk_tcp_shutdown(c);
			} else if (n == answer + 1) {
				printf("stall: from now on, silence\n");
				fflush(stdout);
			}
			/* keep it open and say nothing; drop the oldest when full */
			uk_tcp_abort(held[next]);
			held[next] = c;
			next = (next + 1) % HELD_MAX;
		}
	}
}
