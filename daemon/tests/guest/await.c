/* uktest's "await PORT N" (linked with LIBS net only, see test_crash.py): exit N on a connection.
 */
#include <stdint.h>
#include <stdio.h>
#include <uk/net.h>

/* Exits with (code) once a TCP connection to (port) arrived: an exit the test decides when
 * (for instance while no ukd runs), with no timing involved. */
int await_connection(long port, int code)
{
	struct uk_tcp *l;

	if (port < 1 || port > 65535 || uk_net_configure_from_options() != UK_OK) {
		printf("await: no network\n");
		return 125;
	}
	while (!uk_net_ready())
		uk_net_poll(100000000ull);
	if (!(l = uk_tcp_listen((uint16_t)port, 4))) {
		printf("await: cannot listen on %ld\n", port);
		return 125;
	}
	printf("awaiting a connection on %ld\n", port);
	while (!uk_tcp_accept(l))
		uk_net_poll(100000000ull);
	printf("connected\n");
	return code;
}
