/* The guest takes over the container's eth0 (as urunc and Kata do): a tap, tc mirred redirects
 * both ways between eth0 and the tap, eth0's address handed to the guest (UK_IP, UK_GW). Runs in
 * the container's network namespace, through iproute2's ip and tc. */
#include "runuk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* Runs (argv) (PATH lookup), its stdout into (out) (len) when given; 0 when it exited 0. */
static int run(char *const argv[], char *out, size_t len, uk_err_t *err)
{
	int fds[2], ws;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return uk_err_errno(err, errno, "pipe");
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], out ? out + used : (char[256]){0}, out ? len - 1 - used : 256)) >
	       0)
		if (out && (used += (size_t)n) >= len - 1)
			break;
	close(fds[0]);
	if (out)
		out[used] = 0;
	if (pid < 0 || waitpid(pid, &ws, 0) < 0)
		return uk_err_errno(err, errno, "run %s", argv[0]);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws))
		return uk_err_internal(err, "%s %s %s ... failed (status %d)%s%s", argv[0], argv[1],
		                       argv[2] ? argv[2] : "", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1,
		                       out ? ": " : "", out ? out : "");
	return 0;
}

#define RUN(err, ...) run((char *[]){__VA_ARGS__, NULL}, (char[512]){0}, 512, err)

/* Picks eth0 (else the first Ethernet link with an IPv4 address) from `ip -j addr`. */
static int pick(struct runuk_net *net, uk_err_t *err)
{
	static char buf[1 << 16];
	_cleanup_json_ json_object *links = NULL;

	if (run((char *[]){"ip", "-j", "addr", "show", NULL}, buf, sizeof(buf), err) < 0)
		return uk_err_wrap(err, "list the network namespace's links");
	links = json_tokener_parse(buf);
	if (!links || !json_object_is_type(links, json_type_array))
		return uk_err_internal(err, "ip -j addr show: not a JSON array");
	for (int pass = 0; pass < 2 && !net->present; pass++)
		for (size_t i = 0; i < json_object_array_length(links); i++) {
			json_object *l = json_object_array_get_idx(links, i), *v, *ai;
			const char *name, *type, *mac;

			name = json_object_object_get_ex(l, "ifname", &v)
			               ? json_object_get_string(v)
			               : "";
			type = json_object_object_get_ex(l, "link_type", &v)
			               ? json_object_get_string(v)
			               : "";
			mac = json_object_object_get_ex(l, "address", &v)
			              ? json_object_get_string(v)
			              : "";
			if (strcmp(type, "ether") || (pass == 0 && strcmp(name, "eth0")) ||
			    strlen(name) >= sizeof(net->ifname) || strlen(mac) != 17 ||
			    !json_object_object_get_ex(l, "addr_info", &ai))
				continue;
			for (size_t j = 0; j < json_object_array_length(ai); j++) {
				json_object *a = json_object_array_get_idx(ai, j), *fam, *loc, *pl;

				if (!json_object_object_get_ex(a, "family", &fam) ||
				    strcmp(json_object_get_string(fam), "inet") ||
				    !json_object_object_get_ex(a, "local", &loc) ||
				    !json_object_object_get_ex(a, "prefixlen", &pl))
					continue;
				snprintf(net->ifname, sizeof(net->ifname), "%s", name);
				snprintf(net->mac, sizeof(net->mac), "%s", mac);
				snprintf(net->ip, sizeof(net->ip), "%s/%d",
				         json_object_get_string(loc), json_object_get_int(pl));
				net->present = 1;
				break;
			}
			if (net->present)
				break;
		}
	return 0;
}

static int gateway(struct runuk_net *net, uk_err_t *err)
{
	char buf[4096];
	_cleanup_json_ json_object *routes = NULL;

	if (run((char *[]){"ip", "-j", "-4", "route", "show", "default", NULL}, buf, sizeof(buf),
	        err) < 0)
		return uk_err_wrap(err, "read the default route");
	routes = json_tokener_parse(buf);
	for (size_t i = 0; routes && json_object_is_type(routes, json_type_array) &&
	                   i < json_object_array_length(routes);
	     i++) {
		json_object *r = json_object_array_get_idx(routes, i), *gw, *dev;

		if (json_object_object_get_ex(r, "gateway", &gw) &&
		    json_object_object_get_ex(r, "dev", &dev) &&
		    !strcmp(json_object_get_string(dev), net->ifname))
			snprintf(net->gw, sizeof(net->gw), "%s", json_object_get_string(gw));
	}
	return 0;
}

int runuk_net_takeover(struct runuk_net *net, uk_err_t *err)
{
	char path[128];
	int fd;

	memset(net, 0, sizeof(*net));
	if (pick(net, err) < 0)
		return -1;
	if (!net->present)
		return 0; /* no NIC: the guest gets none */
	if (gateway(net, err) < 0)
		return -1;
	snprintf(net->tap, sizeof(net->tap), "uktap0");
	/* the host side stays quiet on eth0: no address, no IPv6 of its own */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", net->ifname);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
	if (RUN(err, "ip", "tuntap", "add", "dev", net->tap, "mode", "tap") < 0 ||
	    RUN(err, "ip", "link", "set", "dev", net->tap, "up") < 0 ||
	    RUN(err, "ip", "addr", "flush", "dev", net->ifname) < 0 ||
	    RUN(err, "tc", "qdisc", "add", "dev", net->ifname, "ingress") < 0 ||
	    RUN(err, "tc", "filter", "add", "dev", net->ifname, "parent", "ffff:", "protocol",
	        "all", "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect",
	        "dev", net->tap) < 0 ||
	    RUN(err, "tc", "qdisc", "add", "dev", net->tap, "ingress") < 0 ||
	    RUN(err, "tc", "filter", "add", "dev", net->tap, "parent", "ffff:", "protocol", "all",
	        "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev",
	        net->ifname) < 0)
		return uk_err_wrap(err, "hand %s to the guest", net->ifname);
	return 0;
}
