/* Conntrack entries of a published UDP port dropped over ctnetlink when its DNAT rule changes. */
#include "conntrack.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uk/cleanup.h"

/*
 * Plain netlink, no library: install-deps.sh brings neither libmnl nor libnetfilter_conntrack
 * (nft is the only netfilter tool ukd uses) nor the conntrack tool, and the two requests
 * needed (dump the table, delete an entry by its original tuple) are a few attributes each.
 */

#define NL_BUF 32768

struct tuples {
	struct nlattr **v; /* each a copy of a matching entry's CTA_TUPLE_ORIG attribute */
	int n, cap;
};

/* The attribute of (type) among the (len) bytes of attributes at (a); NULL if none. */
static const struct nlattr *attr_find(const void *a, size_t len, int type)
{
	const struct nlattr *at = a;

	while (len >= NLA_HDRLEN && at->nla_len >= NLA_HDRLEN && at->nla_len <= len) {
		if ((at->nla_type & NLA_TYPE_MASK) == type)
			return at;
		size_t step = NLA_ALIGN(at->nla_len);
		if (step >= len)
			break;
		len -= step;
		at = (const struct nlattr *)((const char *)at + step);
	}
	return NULL;
}

static const struct nlattr *nested(const struct nlattr *at, int type)
{
	return at ? attr_find((const char *)at + NLA_HDRLEN, at->nla_len - NLA_HDRLEN, type) : NULL;
}

static int payload_is(const struct nlattr *at, size_t len)
{
	return at && at->nla_len == NLA_HDRLEN + len;
}

/* 1 if (ip) (network order) is one of this host's addresses (127.0.0.0/8 included). */
static int local_address(const struct ifaddrs *ifs, uint32_t ip)
{
	if ((ntohl(ip) >> 24) == 127)
		return 1;
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == ip)
			return 1;
	return 0;
}

/* Keeps entry (nlh)'s original tuple in (out) when it is UDP to (ip):(port). */
static int consider(const struct nlmsghdr *nlh, uint32_t ip, uint16_t port,
                    const struct ifaddrs *ifs, struct tuples *out)
{
	size_t hdr = NLMSG_LENGTH(sizeof(struct nfgenmsg));
	const struct nlattr *orig, *tip, *tproto, *dst, *num, *dport;
	uint32_t daddr;
	uint16_t dp;

	if (nlh->nlmsg_len < hdr)
		return 0;
	orig = attr_find((const char *)nlh + NLMSG_ALIGN(hdr), nlh->nlmsg_len - NLMSG_ALIGN(hdr),
	                 CTA_TUPLE_ORIG);
	tip = nested(orig, CTA_TUPLE_IP);
	tproto = nested(orig, CTA_TUPLE_PROTO);
	dst = nested(tip, CTA_IP_V4_DST);
	num = nested(tproto, CTA_PROTO_NUM);
	dport = nested(tproto, CTA_PROTO_DST_PORT);
	if (!payload_is(dst, 4) || !payload_is(num, 1) || !payload_is(dport, 2) ||
	    *((const uint8_t *)num + NLA_HDRLEN) != IPPROTO_UDP)
		return 0;
	memcpy(&daddr, (const char *)dst + NLA_HDRLEN, 4);
	memcpy(&dp, (const char *)dport + NLA_HDRLEN, 2);
	if (dp != port || (ip ? daddr != ip : !local_address(ifs, daddr)))
		return 0;
	if (out->n == out->cap) {
		int cap = out->cap ? out->cap * 2 : 16;
		struct nlattr **v = realloc(out->v, (size_t)cap * sizeof(*v));
		if (!v)
			return -1;
		out->v = v;
		out->cap = cap;
	}
	if (!(out->v[out->n] = malloc(orig->nla_len)))
		return -1;
	memcpy(out->v[out->n++], orig, orig->nla_len);
	return 0;
}

/* Sends (type) with (attr) (may be NULL) and reads to the end: the dump's entries go to
 * consider(), an ack's error is returned (0 or a negative errno). */
static int request(int fd, int type, int flags, const struct nlattr *attr, char *buf, uint32_t ip,
                   uint16_t port, const struct ifaddrs *ifs, struct tuples *out)
{
	static uint32_t seq;
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nfgenmsg *nfg = NLMSG_DATA(nlh);
	size_t alen = attr ? NLA_ALIGN(attr->nla_len) : 0;

	memset(buf, 0, NLMSG_SPACE(sizeof(*nfg)) + alen);
	nlh->nlmsg_len = (uint32_t)(NLMSG_SPACE(sizeof(*nfg)) + alen);
	nlh->nlmsg_type = (uint16_t)(NFNL_SUBSYS_CTNETLINK << 8 | type);
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	nlh->nlmsg_seq = ++seq;
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	if (attr)
		memcpy(buf + NLMSG_SPACE(sizeof(*nfg)), attr, attr->nla_len);
	if (send(fd, buf, nlh->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, NL_BUF, 0);
		if (n < 0)
			return -errno;
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, (size_t)n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);
				return nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) ? e->error
				                                                  : -EPROTO;
			}
			if (out && consider(nlh, ip, port, ifs, out) < 0)
				return -ENOMEM;
		}
	}
}

int ukd_conntrack_flush_udp(uint32_t ip, uint16_t port)
{
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	_cleanup_free_ char *buf = malloc(NL_BUF);
	struct ifaddrs *ifs = NULL;
	struct tuples found = {0};
	int r, deleted = 0;

	if (fd < 0 || !buf)
		return -1;
	if (!ip && getifaddrs(&ifs) < 0)
		return -1;
	r = request(fd, IPCTNL_MSG_CT_GET, NLM_F_DUMP, NULL, buf, ip, port, ifs, &found);
	for (int i = 0; r == 0 && i < found.n; i++) {
		int e = request(fd, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, found.v[i], buf, 0, 0, NULL,
		                NULL);
		if (!e)
			deleted++;
		else if (e != -ENOENT) /* gone meanwhile: fine */
			r = e;
	}
	for (int i = 0; i < found.n; i++)
		free(found.v[i]);
	free(found.v);
	if (ifs)
		freeifaddrs(ifs);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return deleted;
}
