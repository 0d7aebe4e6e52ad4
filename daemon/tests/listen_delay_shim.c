/* LD_PRELOAD shim for ukd_socket_ready: holds listen() on a unix socket named *ukd.sock* for
 * 300 ms, widening the window in which a bound socket could be seen before it listens. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

int listen(int fd, int backlog)
{
	static int (*real)(int, int);
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	if (!real)
		real = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && sa.sun_family == AF_UNIX &&
	    len > sizeof(sa.sun_family) && strstr(sa.sun_path, "ukd.sock")) {
		struct timespec ts = {0, 300 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return real(fd, backlog);
}
