/* xen platform internals shared by its files: detection, hypercalls, the ABI numbers and layouts
 * used (from Xen's public interface, written here). */
#ifndef UK_PLATFORM_XEN_H
#define UK_PLATFORM_XEN_H

#include <stddef.h>
#include <stdint.h>

/* Hypercall numbers. */
#define XEN_HC_MEMORY_OP 12
#define XEN_HC_CONSOLE_IO 18
#define XEN_HC_SCHED_OP 29
#define XEN_HC_EVENT_CHANNEL_OP 32
#define XEN_HC_HVM_OP 34

#define XEN_CONSOLEIO_WRITE 0
#define XEN_MEM_ADD_TO_PHYSMAP 7
#define XEN_MEM_MEMORY_MAP 9
#define XEN_MAPSPACE_SHARED_INFO 0
#define XEN_SCHEDOP_YIELD 0
#define XEN_SCHEDOP_SHUTDOWN 2
#define XEN_SHUTDOWN_POWEROFF 0
#define XEN_SHUTDOWN_CRASH 3
#define XEN_EVTCHNOP_SEND 4
#define XEN_HVMOP_SET_PARAM 0
#define XEN_HVMOP_GET_PARAM 1
#define XEN_HVM_PARAM_CALLBACK_IRQ 0
#define XEN_HVM_PARAM_STORE_PFN 1
#define XEN_HVM_PARAM_STORE_EVTCHN 2
#define XEN_HVM_PARAM_CONSOLE_PFN 17
#define XEN_HVM_PARAM_CONSOLE_EVTCHN 18
#define XEN_DOMID_SELF 0x7ff0

/* hvm_start_info flags. */
#define XEN_SIF_INITDOMAIN (1u << 1)

/* Nonzero if CPUID names Xen (leaf 0x40000000 or, with Viridian on, 0x40000100); sets up the
 * hypercall page then. Call once, first thing at boot. */
int uk_xen_detect(void);

/* Hypercall (nr) with up to three arguments; returns Xen's result (negative errno on failure). */
long uk_xen_hypercall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3);

/* The xen platform's boot, console and exit (platform/boot.c picks kvm's or xen's). */
_Noreturn void uk_xen_boot(uint32_t start_info, uint64_t tsc);
void uk_xen_console_write(int fd, const char *buf, size_t len);
_Noreturn void uk_xen_exit(int status);

/* Chooses the console: console_io for the initial domain (dom0), else the PV console ring. */
void uk_xen_console_init(int initdomain);

/* Ends the console's current line if the last byte written was not a newline. */
void uk_xen_console_end_line(void);

/* Waits (bounded) until the console backend has read everything written to the ring. */
void uk_xen_console_flush(void);

/* An HVM parameter of this domain (index); 0 when Xen refuses. */
uint64_t uk_xen_hvm_param(uint32_t index);

/* Yields while a ring's writer waits for room (about 2 s under TCG). */
#define XEN_RING_SPINS 100000

/* Copies (n) bytes from (src) into the ring (data) of (size) bytes (a power of two) at (*prod),
 * waiting (bounded) while it is full: notifies (port) and yields. Does not notify when done.
 * 0, or -1 when the backend does not make room or its index (*cons) is out of range. */
int uk_xen_ring_put(volatile char *data, uint32_t size, volatile uint32_t *cons,
                    volatile uint32_t *prod, uint32_t port, const void *src, size_t n);

/* Signals event channel (port) (EVTCHNOP_send). */
void uk_xen_notify(uint32_t port);

/* Sets HVM parameter (index) of this domain; Xen's result (negative errno on failure). */
long uk_xen_hvm_param_set(uint32_t index, uint64_t value);

/* --- xenstore (xenstore_xen.c): one request at a time over the domain's xenstore ring. --- */

#define XS_DIRECTORY 1
#define XS_READ 2
#define XS_WATCH 4
#define XS_WRITE 11
#define XS_WATCH_EVENT 15
#define XS_ERROR 16
#define XS_PAYLOAD_MAX 4096
#define XS_PATH_MAX 256

/* struct xsd_sockmsg: the header of every request and reply. */
struct uk_xs_msg {
	uint32_t type, req_id, tx_id, len;
};

/* Uses the ring at (page) and event channel (port); 0, -1 without a page. */
int uk_xs_attach(void *page, uint32_t port);

/* Reads (path) (relative paths are under /local/domain/ID) into (buf) (cap bytes, NUL-terminated);
 * returns its length, -1 when it does not exist, does not fit or xenstore does not answer. */
int uk_xs_read(const char *path, char *buf, size_t cap);

/* The names under (path), each NUL-terminated, one after the other, into (buf) (cap bytes);
 * returns their total length (0: none), -1 when (path) does not exist or the list does not fit. */
int uk_xs_directory(const char *path, char *buf, size_t cap);

/* Writes (value) at (path); 0 or -1. */
int uk_xs_write(const char *path, const char *value);

/* Watches (path) with (token); xenstored fires the watch once at once, then on each change. */
int uk_xs_watch(const char *path, const char *token);

/* Without waiting: 1 and the watched path that changed in (path) if a watch event arrived since
 * the last call, else 0. */
int uk_xs_take_watch_event(char *path, size_t cap);

/* The reply parser, exposed for the tests and the fuzz target. uk_xs_parse_header decodes a 16-byte
 * header (-1 if its length exceeds XS_PAYLOAD_MAX); uk_xs_recv takes one whole message off the
 * ring (1), none yet (0) or a malformed one (-1, for good); uk_xs_watch_event_path copies the path
 * of a watch event's payload ("PATH\0TOKEN\0") into (path): its length, or -1. */
int uk_xs_parse_header(const void *raw, struct uk_xs_msg *m);
int uk_xs_recv(struct uk_xs_msg *m, char *out);
int uk_xs_watch_event_path(const char *payload, uint32_t len, char *path, size_t cap);

/* --- xenbus, the device handshake over xenstore (xenbus_xen.c). --- */

/* XenbusState values a frontend and its backend publish at DIR/state. */
enum {
	XENBUS_INITIALISING = 1,
	XENBUS_INIT_WAIT = 2,
	XENBUS_INITIALISED = 3,
	XENBUS_CONNECTED = 4,
	XENBUS_CLOSING = 5,
	XENBUS_CLOSED = 6,
};

/* Parses (s), a xenstore value the other side wrote (outside input): decimal digits only, no
 * sign, no overflow. 0 and the number in (*v), or -1. */
int uk_xenbus_parse_u64(const char *s, uint64_t *v);

/* Reads (dir)/(key) as a decimal number into (*v); 0, or -1 when it is missing or malformed. */
int uk_xenbus_read_u64(const char *dir, const char *key, uint64_t *v);

/* Writes the decimal (v) at (dir)/(key); 0 or -1. */
int uk_xenbus_write_u32(const char *dir, const char *key, uint32_t v);

/* Waits (bounded by (timeout_ns)) until (dir)/state is (want) or, past it, closing or closed
 * (XENBUS_CLOSING on: the other side gave up). Returns the state seen last (0 when unreadable). */
int uk_xenbus_wait_state(const char *dir, int want, uint64_t timeout_ns);

/* The header of a shared request/response ring (struct *_sring up to its entries). */
struct uk_xen_sring_hdr {
	uint32_t req_prod, req_event, rsp_prod, rsp_event;
	uint8_t pad[48];
};

/* Publishes requests up to (prod) on ring (h) and notifies (port) if the backend asked for it. */
void uk_xen_ring_push(volatile struct uk_xen_sring_hdr *h, uint32_t prod, uint32_t port);

/* --- Grant table and event channels for backends (gnttab_xen.c). --- */

/* Grants domain (domid) access to the page at physical address (page) (read-only if (readonly));
 * the grant reference, or -1 (the table cannot be mapped or every entry is in use). */
int uk_xen_grant(uint16_t domid, uintptr_t page, int readonly);

/* Ends grant (ref) if the grantee does not have the page mapped, and frees the entry for reuse:
 * 0, else -1 (still mapped: the page MUST stay the grantee's; call again later). */
int uk_xen_grant_end(int ref);

/* Allocates an event channel for domain (remote) to bind to; its port in (*port). 0 or -1. */
int uk_xen_evtchn_alloc_unbound(uint16_t remote, uint32_t *port);

/* The netfront driver (netfront_xen.c), linked when the image links the network stack: connects
 * device/vif/0 and registers it as a uk_netdev. */
void uk_xen_netfront_init(void) __attribute__((weak));

/* The blkfront driver (blkfront_xen.c): connects each device/vbd/N and registers it under
 * uk/block.h when the image links the registry (-lblock); exit() disconnects them (atexit). */
void uk_xen_blkfront_init(void);

/* --- Events and the stop request (events_xen.c). --- */

/* Arms the event upcall on vector (vector) (HVM_PARAM_CALLBACK_IRQ), attaches
 * xenstore and watches control/shutdown; (shared_info) is the mapped shared info page. */
void uk_xen_events_init(volatile uint8_t *shared_info, int vector);

/* Nonzero once a toolstack asked the domain to stop (control/shutdown = poweroff, halt, reboot)
 * since the last call; acknowledges the request in xenstore. Reads the ring: no hypercall unless
 * an event came. */
int uk_xen_stop_requested(void);

#endif
