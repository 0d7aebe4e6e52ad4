/* Internal structures of the network stack (one struct uk_net per interface) and hooks for tests.
 */
#ifndef UK_NET_INTERNAL_H
#define UK_NET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "../include/uk/net.h"

#define NET_ETH_HLEN 14
#define NET_IP_HLEN 20
#define NET_ETH_IP 0x0800
#define NET_ETH_ARP 0x0806
#define NET_PROTO_ICMP 1
#define NET_PROTO_TCP 6
#define NET_PROTO_UDP 17
#define NET_FRAME_MAX 1514 /* largest frame we build; received ones may be up to mtu + 14 */
#define NET_TX_CAP (UK_NETDEV_GSO_MAX + 64) /* s->tx: a TSO frame (UK_NETDEV_F_TSO4) fits */

#define NET_MS 1000000ull
#define NET_S 1000000000ull

#define NET_ARP_SIZE 64
#define NET_ARP_PENDING 32
#define NET_ARP_EXPIRE (300 * NET_S)
#define NET_ARP_RETRY NET_S
#define NET_ARP_TRIES 3

#define NET_TCP_HASH 4096

/* Big-endian loads and stores (the wire's byte order). */
static inline uint16_t net_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t net_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void net_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void net_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

struct net_arp {
	uint32_t ip;
	uint8_t mac[6];
	uint8_t state; /* 0 free, 1 resolving, 2 resolved */
	uint8_t tries;
	uint8_t ifx;      /* the NIC it is reached on (net_if) */
	uint64_t expires; /* resolved: when the entry goes; resolving: next request */
};

struct net_pending {
	uint32_t nexthop; /* 0: slot free */
	uint16_t len;
	uint8_t *frame; /* whole frame; the destination MAC is filled on resolution */
};

/* A byte ring that grows by doubling up to (max); (cap) 0 until first used. */
struct net_ring {
	uint8_t *buf;
	uint32_t cap, head, len, max;
};

/* An out-of-order segment kept for reassembly. */
struct tcp_seg {
	struct tcp_seg *next;
	uint32_t seq, len;
	uint8_t fin;
	uint8_t data[];
};

struct uk_tcp {
	struct uk_net *s;
	uk_tcp_state_t state;
	uint8_t listener, owned, hashed, queued; /* queued: in a listener's accept queue */
	uint8_t notify, fin_queued, fin_sent, fin_rcvd;
	uint8_t syn_again; /* SYN_SENT: the SYN was sent again after an old connection's ACK */
	uint8_t rcv_wscale, snd_wscale, ws_ok, in_recovery;
	uint8_t rtt_active, ack_now, persist, out_pending;
	uint32_t lip, rip;
	uint16_t lport, rport;
	struct uk_tcp *hnext;         /* hash chain, or the listener list */
	struct uk_tcp *anext, *aprev; /* every connection of the stack */
	struct uk_tcp *notify_next;
	struct uk_tcp *out_next; /* the stack's pending-output list */
	struct uk_tcp *parent;   /* the listener of a not-yet-accepted connection */
	struct uk_tcp *acc_head, *acc_tail, *acc_next;
	int backlog, children; /* listener: half-open + queued connections */

	/* send side (RFC 9293 3.3.1) */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_wnd;
	uint32_t snd_buf_seq; /* sequence number of sndbuf's first byte */
	uint32_t fin_seq;
	/* arp_wait: a segment from arp_seq on found no address and was not held (a TSO frame, or
	 * the pending queue full): sent again when an address resolves (net_tcp_arp_resolved) */
	uint32_t arp_seq;
	uint8_t arp_wait;
	uint16_t mss; /* the peer's MSS, bounded by ours */
	struct net_ring snd;

	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge last advertised */
	struct net_ring rcv;
	struct tcp_seg *ooo;
	uint32_t ooo_bytes;
	uint32_t rcv_acked; /* rcv_nxt our last ACK carried */

	/* congestion control (RFC 5681, 6582) */
	uint32_t cwnd, ssthresh, dupacks, recover;

	/* RTT and retransmission (RFC 6298) */
	uint64_t srtt, rttvar, rto, rtt_start;
	uint32_t rtt_seq;
	int retries;

	/* timers: absolute ns, 0 off */
	uint64_t t_rexmt, t_delack, t_close;

	uk_tcp_callback_t cb;
	void *cb_arg;
};

struct uk_udp {
	struct uk_net *s;
	struct uk_udp *next;
	uint16_t port;
	int count;
	struct udp_dgram *head, *tail;
};

struct net_dhcp {
	int state; /* 0 off, 1 selecting, 2 requesting, 3 bound, 4 renewing */
	uint32_t xid, offer_ip, server, lease_s;
	uint64_t next_tx, t1, expiry;
	int tries;
	struct uk_udp *sock;
};

/* A NIC: its device and address. The stack's (dev, ip, mask, gw) are those of the NIC it works
 * on now (net_if_use): the first outside of a send or a receive on another. */
#define NET_IF_MAX 4
struct net_if {
	struct uk_netdev *dev;
	uint32_t ip, mask, gw;
};

struct uk_net {
	struct uk_netdev *dev;
	uint16_t mtu;
	uint32_t ip, mask, gw;
	struct net_if ifs[NET_IF_MAX]; /* ifs[cur_if] is stale: the fields above hold it */
	int nextra, cur_if;            /* NICs after the first (UK_IP1...); the one in use */
	uint32_t dns;                  /* DHCP's first DNS server (option 6), 0 if none */
	uint64_t (*clock)(void);
	uint64_t now;
	uint8_t *rxbuf;
	size_t rxcap;
	uint8_t *tx; /* one frame: NET_FRAME_MAX + 64 bytes, NET_TX_CAP with a TSO4 NIC */
	size_t txcap;
	struct uk_netdev_meta txm; /* the offloads of the frame being built in (tx) */
	uint8_t rx_l4_ok;          /* the frame being input: UK_NETDEV_M_L4_CSUM_OK */
	uint8_t in_step;           /* inside uk_net_step: the device is flushed at its end */
	uint8_t tcp_arp_wait;      /* some connection's arp_wait is set */
	uint16_t ip_id;
	struct net_arp arp[NET_ARP_SIZE];
	struct net_pending pend[NET_ARP_PENDING];

	struct uk_tcp **hash;
	struct uk_tcp *listeners, *all, *notify_head, *notify_tail, *out_head;
	uint64_t next_timer;
	uint32_t isn_key[4];
	uint16_t eph_next;
	uint32_t sndbuf_max, rcvbuf_max;
	size_t mem_used, mem_limit;
	uint32_t ntcp;

	struct uk_udp *udps;
	struct net_dhcp dhcp;

	struct uk_net_stats st;
	uint64_t icmp_echo_replies;
	uint16_t icmp_last_id, icmp_last_seq;
	int events; /* work done in this poll */
};

/* Several NICs (docs/net.md): a packet goes out on the NIC whose address is its source, else
 * whose subnet holds its destination, else the first (its gateway is the default route). */
/* Makes NIC (k) the one the stack's fields describe. */
void net_if_use(struct uk_net *s, int k);
/* The address a packet to (dst) leaves from. */
uint32_t net_src_for(struct uk_net *s, uint32_t dst);
/* The largest TCP payload a segment from (src) to (dst) may carry given the peer's (mss): a
 * multiple of (mss) up to 64 KiB when that NIC cuts segments (UK_NETDEV_F_TSO4), else (mss). */
uint32_t net_tcp_seg_max(struct uk_net *s, uint32_t src, uint32_t dst, uint16_t mss);
/* Frames sent that (s)'s NICs have not yet taken (uk_netdev_ops.tx_pending; 0 without it). */
unsigned net_tx_pending(struct uk_net *s);

/* The stack the public functions act on (uk_net_init sets it). */
extern struct uk_net *uk_net_cur;

/* --- for tests and the fuzz target --- */

/* A new stack on (dev) (not registered), or NULL; (cfg) as for uk_net_init. */
struct uk_net *uk_net_stack_new(struct uk_netdev *dev, const struct uk_net_config *cfg);
/* Frees (s) and everything it holds, handles included. */
void uk_net_stack_free(struct uk_net *s);
/* Makes (s) the stack the public API acts on. */
void uk_net_use(struct uk_net *s);
/* Replaces the current stack's clock (NULL: uk_time_monotonic_ns). */
void uk_net_set_clock(uint64_t (*clock)(void));
/* Sets the current stack's buffer sizes and global memory cap (0 keeps a value). */
void uk_net_set_limits(uint32_t sndbuf, uint32_t rcvbuf, size_t mem_limit);
/* Fixes the ISN/port secret (deterministic runs). */
void uk_net_set_secret(uint32_t seed);
/* Processes one frame as if received. */
void uk_net_input(struct uk_net *s, const uint8_t *frame, size_t len);
/* Runs one non-blocking poll step at the stack clock's time; returns work done. */
int uk_net_step(struct uk_net *s);
/* Sends an ICMP echo request; replies counted in s->icmp_echo_replies. */
uk_result_t uk_net_ping(uint32_t ip, uint16_t id, uint16_t seq, const void *data, size_t len);
/* Echo replies received so far; the last one's id/seq in (id)/(seq) (MAY be NULL). */
uint64_t uk_net_ping_replies(uint16_t *id, uint16_t *seq);
/* Nonzero when (ip) has a resolved ARP entry. */
int uk_net_arp_resolved(uint32_t ip);

/* --- between the stack's files --- */

uint64_t net_now(struct uk_net *s);
uint32_t net_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t net_csum_fold(uint32_t sum);
uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);
/* Writes the TCP checksum at (t) (hl + len bytes from the TCP header on, (sum) the pseudo
 * header's): in full, or left partial for the device when it offers checksum offload. */
void net_tcp_csum(struct uk_net *s, uint8_t *t, uint32_t sum, size_t len);
/* Completes a checksum (m) left partial in (f) of (flen) bytes, in software. */
void net_csum_complete(uint8_t *f, size_t flen, const struct uk_netdev_meta *m);
/* Sends s->tx + 34 .. + 34 + (len) as an IP packet to (dst); (src) 0 means ours. */
uk_result_t net_ip_send(struct uk_net *s, uint32_t src, uint32_t dst, uint8_t proto, size_t len);
void net_timer_at(struct uk_net *s, uint64_t t);
void *net_alloc(struct uk_net *s, size_t n);
void net_free(struct uk_net *s, void *p, size_t n);
int net_mem_ok(struct uk_net *s, size_t n);

struct uk_udp *net_udp_open(struct uk_net *s, uint16_t port);
void net_udp_input(struct uk_net *s, uint32_t src, uint32_t dst, const uint8_t *p, size_t len);
void net_udp_free_all(struct uk_net *s);
void net_tcp_input(struct uk_net *s, uint32_t src, uint32_t dst, const uint8_t *p, size_t len);
void net_tcp_timers(struct uk_net *s);
void net_tcp_flush(struct uk_net *s);
/* An address resolved: connections whose segments went unsent for want of one send them. */
void net_tcp_arp_resolved(struct uk_net *s);
void net_tcp_notify_run(struct uk_net *s);
void net_tcp_free_all(struct uk_net *s);
int net_tcp_init(struct uk_net *s);
void net_dhcp_start(struct uk_net *s);
void net_dhcp_timers(struct uk_net *s);
void net_dhcp_input(struct uk_net *s, const uint8_t *p, size_t len);

#endif
