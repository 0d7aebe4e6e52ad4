/* The socket-style network API of runtime-lib: configuration, the event loop, TCP and UDP. */
#ifndef UK_NET_H
#define UK_NET_H

#include <stddef.h>
#include <stdint.h>
/* Quoted so the unit tests can include these headers without runtime-lib's libc headers. */
#include "netdev.h"
#include "uk.h"

/*
 * Contract. The stack (runtime-lib/net, archive libuk-net.a, `-lnet`) is
 * single-threaded and event-loop driven, like Redis's ae: nothing happens
 * behind the application's back. Frames are read from the device, timers
 * (retransmission, delayed ACK, TIME_WAIT, ARP expiry, DHCP) fire and
 * callbacks run only inside uk_net_poll(). Every other function here is
 * non-blocking: it returns at once with a result or UK_EAGAIN. None of them
 * may be called from an interrupt handler.
 *
 * Addresses are IPv4 in host byte order (UK_IP4(10,0,2,15)); ports are in
 * host byte order.
 *
 * Functions returning `long` return a byte count (>= 0) or a negative
 * uk_result_t. Handles (struct uk_tcp, struct uk_udp) are owned by the
 * application from the call that returns them until the call that releases
 * them (uk_tcp_close, uk_tcp_abort, uk_udp_close); after that the handle MUST
 * NOT be used again.
 *
 * Limits (documented in docs/net.md): IPv4 only; IP fragments are dropped (we
 * never fragment and do not reassemble: TCP's MSS keeps segments whole, UDP
 * datagrams are limited to mtu - 28 bytes); IP options are skipped; one
 * interface.
 */

#define UK_IP4(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* --- configuration --- */

struct uk_net_config {
	uint32_t ip;      /* our address; 0 with (dhcp) set */
	uint32_t netmask; /* e.g. UK_IP4(255,255,255,0) */
	uint32_t gateway; /* 0: no default route (on-link only) */
	int dhcp;         /* nonzero: obtain ip/netmask/gateway by DHCP (RFC 2131) */
};

/*
 * Starts the stack on (dev) (NULL: uk_netdev_first()) with (cfg). Returns
 * UK_OK; UK_EINVAL when there is no device, (cfg) is NULL, or it has neither
 * an address nor (dhcp); UK_ENOMEM. Calling it again replaces the address
 * configuration (connections keep running). With (dhcp) set the address is 0
 * until a lease is bound inside uk_net_poll(): see uk_net_ready().
 */
uk_result_t uk_net_init(struct uk_netdev *dev, const struct uk_net_config *cfg);

/*
 * Starts the stack on the first device from the environment (the runtime's
 * env=KEY=VALUE options, until the option parser grows native ip=/gw=):
 *   UK_IP=10.0.2.15/24   static address and prefix length (default /24)
 *   UK_GW=10.0.2.2       default gateway (optional)
 *   UK_IP=dhcp or unset  DHCP
 *   UK_MAC=52:54:00:..   the device to use: the one with this MAC (optional)
 * and for NIC k = 1..3 UK_IPk, UK_GWk, UK_MACk (static only); a NIC without a
 * UK_MAC* (or whose MAC no device has) is the k-th in probe order not taken.
 * Returns what uk_net_init() returns, UK_EINVAL for a malformed value.
 */
uk_result_t uk_net_configure_from_options(void);

/*
 * Parses the UK_IP/UK_GW forms above from (ip) and (gw) (either MAY be NULL)
 * into (cfg). Returns UK_OK or UK_EINVAL.
 */
uk_result_t uk_net_parse_config(const char *ip, const char *gw, struct uk_net_config *cfg);

/* Nonzero once the stack has an address (at once for static, after DHCP's ACK). */
int uk_net_ready(void);

/* Our address, netmask and gateway (0 until ready); any pointer MAY be NULL. */
void uk_net_address(uint32_t *ip, uint32_t *netmask, uint32_t *gateway);

/*
 * The event loop's one step. Reads every waiting frame, runs every due timer,
 * then calls the callbacks of handles whose events changed. If nothing
 * happened, idles in uk_time_block_until() until the next timer, an interrupt
 * or (timeout_ns) from now, whichever is first, and tries once more.
 * (timeout_ns) 0 never blocks. Returns the number of frames and timers
 * processed (0 on timeout); UK_EINVAL before uk_net_init().
 */
int uk_net_poll(uint64_t timeout_ns);

/* --- TCP (RFC 9293) --- */

struct uk_tcp; /* a listener or a connection */

/* Readiness bits (uk_tcp_events, callbacks). */
#define UK_NET_READABLE 0x1u /* read returns data or EOF; on a listener: accept has one */
#define UK_NET_WRITABLE 0x2u /* write accepts at least one byte */
#define UK_NET_HUP 0x4u      /* the peer sent FIN (reads drain, then return 0) */
#define UK_NET_ERROR 0x8u    /* reset, refused or timed out: see uk_tcp_state() */

typedef enum {
	UK_TCP_CLOSED = 0,
	UK_TCP_LISTEN,
	UK_TCP_SYN_SENT,
	UK_TCP_SYN_RECEIVED,
	UK_TCP_ESTABLISHED,
	UK_TCP_FIN_WAIT_1,
	UK_TCP_FIN_WAIT_2,
	UK_TCP_CLOSE_WAIT,
	UK_TCP_CLOSING,
	UK_TCP_LAST_ACK,
	UK_TCP_TIME_WAIT,
	UK_TCP_RESET,     /* the peer reset the connection (or refused a connect) */
	UK_TCP_TIMED_OUT, /* retransmissions or the handshake gave up */
} uk_tcp_state_t;

/*
 * Listens on (port) (1..65535) of our address. At most (backlog) (1..1024)
 * connections wait for uk_tcp_accept(), counting half-open ones; SYNs beyond
 * that are dropped (the peer retries). Returns the listener, or NULL when the
 * port is in use, (port) or (backlog) is out of range, or memory is short.
 */
struct uk_tcp *uk_tcp_listen(uint16_t port, int backlog);

/*
 * Takes one established connection from (listener)'s queue. Returns it (the
 * caller owns it), or NULL when none is waiting (not an error) or (listener)
 * is not a listener.
 */
struct uk_tcp *uk_tcp_accept(struct uk_tcp *listener);

/*
 * Opens a connection to (ip):(port) from an ephemeral port. Returns at once
 * with a connection in UK_TCP_SYN_SENT (owned by the caller); it becomes
 * writable when established, or reports UK_NET_ERROR with state
 * UK_TCP_RESET (refused) or UK_TCP_TIMED_OUT. Returns NULL when the stack is
 * not ready, (ip) or (port) is 0, or memory or ports are short.
 */
struct uk_tcp *uk_tcp_connect(uint32_t ip, uint16_t port);

/*
 * Copies up to (len) received bytes into (buf). Returns the count (> 0); 0 at
 * end of stream (the peer's FIN, after all data); UK_EAGAIN when nothing is
 * buffered yet; UK_EUNSPEC when the connection was reset or timed out;
 * UK_EINVAL for a listener.
 */
long uk_tcp_read(struct uk_tcp *c, void *buf, size_t len);

/*
 * Queues up to (len) bytes of (buf) for sending (copied). Returns the count
 * accepted (> 0, MAY be short of (len)); UK_EAGAIN when the send buffer is
 * full or the handshake is still going on; UK_EINVAL after uk_tcp_shutdown()
 * or for a listener; UK_EUNSPEC when the connection was reset or timed out.
 * (len) 0 returns 0.
 */
long uk_tcp_write(struct uk_tcp *c, const void *buf, size_t len);

/* Sends FIN once the queued data is sent; reading goes on. Returns UK_OK or UK_EINVAL. */
uk_result_t uk_tcp_shutdown(struct uk_tcp *c);

/*
 * Releases (c). A connection is closed gracefully: queued data is still sent,
 * then FIN, and the stack finishes the close (FIN_WAIT, TIME_WAIT) on its own.
 * If unread data was waiting, the peer gets a RST instead (RFC 9293 3.6). A
 * listener stops listening and resets its not-yet-accepted connections.
 * NULL is a no-op.
 */
void uk_tcp_close(struct uk_tcp *c);

/* Releases (c) at once, sending RST for a connection. NULL is a no-op. */
void uk_tcp_abort(struct uk_tcp *c);

/* Current UK_NET_* readiness of (c). */
unsigned uk_tcp_events(struct uk_tcp *c);

/* The state of (c). */
uk_tcp_state_t uk_tcp_state(struct uk_tcp *c);

/* The peer's (for a listener: our) address and port; any pointer MAY be NULL. */
void uk_tcp_peer(struct uk_tcp *c, uint32_t *ip, uint16_t *port);

/*
 * Calls (fn)(c, events, arg) from uk_net_poll() after (c)'s readiness may have
 * changed (new data, buffer space, FIN, error, a connection to accept). (fn)
 * MAY call any function here except uk_net_poll(), including uk_tcp_close(c).
 * A connection taken from uk_tcp_accept() inherits its listener's callback.
 * (fn) NULL removes it.
 */
typedef void (*uk_tcp_callback_t)(struct uk_tcp *c, unsigned events, void *arg);
void uk_tcp_set_callback(struct uk_tcp *c, uk_tcp_callback_t fn, void *arg);

/* --- UDP (RFC 768) --- */

struct uk_udp;

/*
 * Opens a UDP endpoint on (port) (0: an ephemeral port). Returns NULL when
 * the port is in use or memory is short.
 */
struct uk_udp *uk_udp_open(uint16_t port);

/*
 * Sends one datagram of (len) bytes to (ip):(port). Returns (len); UK_EINVAL
 * when it does not fit one frame (len > mtu - 28), (port) is 0, or there is
 * no route (off-link without a gateway, or our own address); UK_EAGAIN
 * when the stack is not ready or the ARP queue is full; UK_ENOMEM.
 * 255.255.255.255 is sent as an Ethernet broadcast.
 */
long uk_udp_sendto(struct uk_udp *u, uint32_t ip, uint16_t port, const void *buf, size_t len);

/*
 * Takes the oldest received datagram: copies min(len, its size) bytes into
 * (buf) (the rest is discarded) and stores its source in (ip) and (port)
 * (either MAY be NULL). Returns the datagram's full size; UK_EAGAIN when none
 * is queued. At most 64 datagrams are queued per endpoint; more are dropped.
 */
long uk_udp_recvfrom(struct uk_udp *u, void *buf, size_t len, uint32_t *ip, uint16_t *port);

/* Nonzero when a datagram is waiting. */
int uk_udp_readable(struct uk_udp *u);

/* Closes (u), dropping queued datagrams. NULL is a no-op. */
void uk_udp_close(struct uk_udp *u);

/* --- statistics --- */

struct uk_net_stats {
	uint64_t rx_frames, tx_frames, rx_bad; /* bad: failed a length or checksum check */
	uint64_t tcp_conns, tcp_refused_mem;   /* open connections; refused for memory */
	uint64_t tcp_retransmits, tcp_fast_retransmits;
	size_t mem_used, mem_limit; /* bytes held by TCP buffers and queues */
	/* checksum offload (a virtio-net device on a tap): TCP segments sent with the checksum
	 * left to the device; TCP/UDP segments received whose checksum the device vouched for */
	uint64_t tx_csum_offloaded, rx_csum_offloaded;
	/* TSO (virtio-net HOST_TSO4/GUEST_TSO4 on a tap): TCP segments longer than the MSS sent
	 * for the device to cut; received ones a peer's NIC did not cut */
	uint64_t tx_tso_frames, rx_gso_frames;
};
void uk_net_get_stats(struct uk_net_stats *st);

#endif
