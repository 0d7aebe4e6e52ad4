/* A Debian docker-registry on 127.0.0.1 (free port, temp storage) for the registry tests. */
#ifndef UKIMG_TESTREG_H
#define UKIMG_TESTREG_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

struct registry {
	pid_t pid;
	int port;
	char dir[PATH_MAX]; /* config, storage, log */
	char addr[64];      /* "127.0.0.1:PORT" */
};

static inline void registry_kill(struct registry *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

static inline int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* 1 once GET /v2/ answers with an HTTP status line. */
static inline int registry_answers(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                        .sin_port = htons((uint16_t)port)};
	char buf[64] = {0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;
	static const char req[] =
	        "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1 &&
	    read(fd, buf, sizeof(buf) - 1) > 0)
		ok = !strncmp(buf, "HTTP/1.1 200", 12) || !strncmp(buf, "HTTP/1.1 401", 12);
	close(fd);
	return ok;
}

static inline void registry_start(struct registry *r, int with_auth)
{
	char *tmp = tu_mkdtemp(), cmd[PATH_MAX * 2], cfg[PATH_MAX + 16], log[PATH_MAX + 16];

	snprintf(r->dir, sizeof(r->dir), "%s", tmp);
	free(tmp);
	r->port = free_port();
	snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", r->port);
	if (with_auth) {
		snprintf(cmd, sizeof(cmd), "htpasswd -Bbn user pass > '%s/htpasswd'", r->dir);
		assert_int_equal(system(cmd), 0);
	}
	tu_write(r->dir, "config.yml",
	         "version: 0.1\n"
	         "log:\n  level: warn\n"
	         "storage:\n  filesystem:\n    rootdirectory: %s/data\n"
	         "  delete:\n    enabled: true\n"
	         "http:\n  addr: %s\n"
	         "%s%s%s",
	         r->dir, r->addr, with_auth ? "auth:\n  htpasswd:\n    realm: uk\n    path: " : "",
	         with_auth ? r->dir : "", with_auth ? "/htpasswd\n" : "");
	snprintf(cfg, sizeof(cfg), "%s/config.yml", r->dir);
	snprintf(log, sizeof(log), "%s/registry.log", r->dir);
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (r->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/usr/bin/docker-registry", "docker-registry", "serve", cfg, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !registry_answers(r->port); i++) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			r->pid = 0;
			fail_msg("docker-registry exited; see %s", log);
		}
		nanosleep(&ts, NULL);
	}
	if (!registry_answers(r->port))
		fail_msg("docker-registry did not answer on %s within 10 s; see %s", r->addr, log);
}

#endif
