/* ukvmm: runs one uk guest under QEMU directly: typed VM description, argv renderer, spawn, QMP,
 * exit status. Shared by ukd's qemu backend and runuk (docs/vmm.md). */
#ifndef UK_VMM_H
#define UK_VMM_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "uk/error.h"

/*
 * Contract. A caller fills a struct ukvmm_config (ukvmm_config_init() sets the defaults), then
 * either renders it (ukvmm_argv_render(): pure, deterministic, the same config always gives the
 * same argv) or spawns QEMU from it (ukvmm_spawn()). Strings are borrowed: they MUST outlive the
 * call, never the returned argv (which holds copies). Errors are uk_err_t: 400 "bad_request" for
 * a config QEMU cannot run (the message names the field), 500 for the host, 504 "timeout" for a
 * QMP peer that did not answer in time, 502 "bad_gateway" for one that answered nonsense.
 *
 * The guest always sees the same devices, whichever machine: COM1 = console, COM2 = status
 * channel (the runtime writes "UK_EXIT=<n>" there, docs/runtime.md), isa-debug-exit at 0xf4,
 * then the virtio devices below (virtio-mmio on microvm, virtio-pci on pc and q35).
 */

enum ukvmm_machine {
	UKVMM_MACHINE_AUTO = 0, /* microvm unless a device needs pc (see ukvmm_machine_pick) */
	UKVMM_MACHINE_MICROVM,
	UKVMM_MACHINE_PC,
	UKVMM_MACHINE_Q35,
};

enum ukvmm_accel {
	UKVMM_ACCEL_AUTO =
	        0, /* resolved by ukvmm_accel_detect() in ukvmm_spawn(); render refuses it */
	UKVMM_ACCEL_KVM,
	UKVMM_ACCEL_TCG,
};

enum ukvmm_chan_kind {
	UKVMM_CHAN_NONE = 0, /* the UART exists, its output is dropped */
	UKVMM_CHAN_FILE,     /* appended to (path) */
	UKVMM_CHAN_FD, /* written to (fd): ukvmm_spawn() makes it QEMU's stdout (console only) */
};

struct ukvmm_chan {
	enum ukvmm_chan_kind kind;
	const char *path;
	int fd;
};

enum ukvmm_proto { UKVMM_TCP = 0, UKVMM_UDP };

/* A host port forwarded into the guest by QEMU's user networking. */
struct ukvmm_fwd {
	enum ukvmm_proto proto;
	const char *host_addr; /* IPv4 literal, required: "127.0.0.1", or "0.0.0.0" for all */
	uint16_t host_port;    /* 1-65535 */
	uint16_t guest_port;   /* 1-65535 */
};

enum ukvmm_nic_kind {
	UKVMM_NIC_USER = 0, /* slirp, restrict=on (no way out but the forwards) */
	UKVMM_NIC_TAP,      /* an existing tap device (ifname), script=no */
};

struct ukvmm_nic {
	enum ukvmm_nic_kind kind;
	const char *mac;    /* "52:54:00:xx:xx:xx" (unicast), or NULL for QEMU's default */
	const char *ifname; /* TAP: the device's name (< 16 bytes) */
	const struct ukvmm_fwd *fwds; /* USER: (n_fwds) forwards */
	size_t n_fwds;
	int vhost; /* TAP: through the host's vhost-net (KVM only: /dev/vhost-net) */
};

struct ukvmm_disk {
	const char
	        *path; /* absolute path of a raw image (no protocol prefixes, no format probing) */
	int read_only;
};

struct ukvmm_config {
	const char *qemu; /* the binary; NULL = "qemu-system-x86_64" found in PATH */
	/* QEMU's version as major*10000+minor*100+micro (ukvmm_qemu_probe()); 0 = 7.2.0, the
	 * oldest supported. Picks -runas (< 9.1) or -run-with user= (>= 9.1). */
	unsigned qemu_version;
	const char *name; /* -name, optional: shows in ps and QEMU's messages */
	enum ukvmm_machine machine;
	enum ukvmm_accel accel;
	unsigned memory_mib;  /* >= 2 */
	unsigned vcpus;       /* 1-255 */
	const char *kernel;   /* PVH ELF, required */
	const char *cmdline;  /* -append, passed as one word; NULL = empty */
	const char *firmware; /* -bios: qboot by default when installed; NULL = QEMU's SeaBIOS */
	struct ukvmm_chan console; /* COM1 */
	struct ukvmm_chan status;  /* COM2: FILE or NONE */
	/* COM3's input: a FIFO the caller made, into which it writes the host's time record
	 * ("time=NS\n") just before QMP "cont" (start_paused), docs/runtime.md; NULL = no COM3 */
	const char *clock_pipe;
	const struct ukvmm_nic *nics;
	size_t n_nics;
	const struct ukvmm_disk *disks;
	size_t n_disks;
	int rng;          /* a virtio-rng fed from the host's /dev/urandom */
	int power_button; /* graceful stop (system_powerdown) needed: microvm has no power button
	                     the runtime handles, so AUTO picks pc */
	const char *qmp_socket; /* QMP control socket (server, no wait); NULL = none */
	const char *pid_file;   /* written by QEMU; NULL = none */
	int start_paused;       /* -S: the guest runs only after QMP "cont" */
	int sandbox;            /* -sandbox on with every deny QEMU offers */
	const char *run_as;     /* user QEMU drops to after opening its files; NULL = stay */
	const char *gdb; /* -gdb: QEMU's gdb stub, "tcp:IP:PORT"; NULL = none (see start_paused) */
	int die_with_parent; /* QEMU gets SIGKILL when the process that spawned it ends
	                        (PR_SET_PDEATHSIG): runuk's supervisor killed = guest gone */
};

/* MMIO slots of QEMU's microvm. */
#define UKVMM_MICROVM_SLOTS 8
#define UKVMM_QBOOT "/usr/share/qemu/qboot.rom"

/* Defaults: auto machine and accelerator, 64 MiB, 1 vCPU, qboot when installed, sandbox on. */
void ukvmm_config_init(struct ukvmm_config *cfg);

/* The machine (cfg) runs on: (cfg)->machine unless AUTO; AUTO is microvm unless a power button
 * is wanted or the virtio devices exceed microvm's slots, then pc. */
enum ukvmm_machine ukvmm_machine_pick(const struct ukvmm_config *cfg);

/* What AUTO means on this host: TCG when /dev/kvm is missing or unusable, or is PVM
 * (/sys/module/kvm_pvm: it emulates non-PVM guests instruction by instruction), or when the
 * CPU reports neither VMX nor SVM; else KVM (ukd's accelerator rule, docs/daemon.md).
 * (reason) (may be NULL) receives why. */
enum ukvmm_accel ukvmm_accel_detect(char *reason, size_t len);

/* What the installed QEMU can do: fill a config's qemu_version and sandbox from it. */
struct ukvmm_qemu_caps {
	unsigned version; /* major*10000+minor*100+micro */
	int sandbox;      /* built with seccomp: -sandbox is accepted */
};

/* Runs "(qemu) -sandbox on -version" (QEMU without seccomp refuses the option before it prints
 * its version), then "-version" alone if that failed. (qemu) NULL: "qemu-system-x86_64". */
int ukvmm_qemu_probe(const char *qemu, struct ukvmm_qemu_caps *caps, uk_err_t *err);

/* Parses QEMU's "-version" output; -1 if it holds no "version X.Y.Z". */
int ukvmm_parse_version(const char *text, size_t len);

/* Renders (cfg) into a NULL-terminated argv (*argv), argv[0] being the binary. Pure: no file is
 * touched. The caller frees it with ukvmm_argv_free(). -1 and 400 on a config QEMU cannot run
 * (AUTO accelerator, more virtio devices than microvm's slots, a bad MAC, port 0, ...). */
int ukvmm_argv_render(const struct ukvmm_config *cfg, char ***argv, uk_err_t *err);
void ukvmm_argv_free(char **argv);

/* Doubles every comma of (value): how a QEMU option value (file=, path=, ifname=) carries one.
 * NULL on allocation failure. */
char *ukvmm_opt_escape(const char *value);

/*
 * Starts QEMU for (cfg) (AUTO accelerator resolved here) in its own process group, with an
 * environment of PATH and LC_ALL=C only, the status file (if any) emptied, stdin /dev/null, stdout
 * the console fd (UKVMM_CHAN_FD) or /dev/null, stderr (log_fd) (-1: /dev/null), no other fd open,
 * signals at their defaults. Returns its pid once QEMU has been executed (an exec failure is
 * reported here), -1 on error. The caller reaps it (waitpid) and decodes the status with
 * ukvmm_exit_decode().
 */
pid_t ukvmm_spawn(const struct ukvmm_config *cfg, int log_fd, uk_err_t *err);

/* The pid of the QEMU that holds (pid_file) (QEMU keeps a write lock on it while it runs): > 0
 * alive, 0 when no process holds it (QEMU ended; a pid in the file may since belong to someone
 * else), -1 with 404 when the file does not exist (QEMU removes it when it exits normally, if
 * its user (run_as) may).
 * What a restarted supervisor uses to re-attach to a QEMU its predecessor spawned. */
pid_t ukvmm_pidfile_owner(const char *pid_file, uk_err_t *err);

/* ---- exit status ---- */

enum ukvmm_exit_source {
	UKVMM_EXIT_NONE = 0,   /* no status: (code) -1 */
	UKVMM_EXIT_CHANNEL,    /* the status channel's UK_EXIT line: the full 0-255 status */
	UKVMM_EXIT_DEBUG_EXIT, /* isa-debug-exit's (n<<1)|1: only n's low 7 bits */
	UKVMM_EXIT_SIGNAL,     /* QEMU was killed by a signal: 128+signal, as a shell reports it */
};

struct ukvmm_exit {
	int code; /* 0-255, or -1 when the guest left no status */
	enum ukvmm_exit_source source;
	char why[160]; /* for people: where the code came from, or why there is none */
};

/* The last well-formed "UK_EXIT=<0-255>" line of (buf) (a status channel's bytes), -1 if none. */
int ukvmm_status_parse(const char *buf, size_t len);

/*
 * Decodes QEMU's waitpid (wait_status) and the status channel's bytes (status, len; NULL when
 * the guest had no status channel, empty when it wrote nothing) by docs/runtime.md's rules:
 * the UK_EXIT line wins; else an odd QEMU status (n<<1)|1 gives n & 0x7f — except 1 when a
 * status channel was wired, since a guest always writes its line before port 0xf4 and QEMU
 * itself exits 1 on errors; QEMU's 0 means it quit (QMP quit, ACPI power-off) with no status.
 */
void ukvmm_exit_decode(int wait_status, const char *status, size_t len, struct ukvmm_exit *out);

/* As ukvmm_exit_decode with the tail of the status file (path) (NULL: none wired). */
void ukvmm_exit_read(int wait_status, const char *path, struct ukvmm_exit *out);

/* ---- QMP ---- */

struct ukvmm_qmp;

/* Called for each asynchronous event read while waiting for something else: (event) e.g.
 * "SHUTDOWN", (data) borrowed (may be NULL) for the duration of the call. */
typedef void (*ukvmm_qmp_event_fn)(void *opaque, const char *event, json_object *data);

/* Connects to the QMP socket (path), waiting up to (timeout_ms) for QEMU to create and accept
 * it, reads the greeting and negotiates capabilities. 504 after (timeout_ms). */
struct ukvmm_qmp *ukvmm_qmp_connect(const char *path, int timeout_ms, uk_err_t *err);
void ukvmm_qmp_close(struct ukvmm_qmp *q);
void ukvmm_qmp_on_event(struct ukvmm_qmp *q, ukvmm_qmp_event_fn fn, void *opaque);
/* The socket, for poll(2) by callers that wait for events among other things. */
int ukvmm_qmp_fd(const struct ukvmm_qmp *q);

/* Executes (command) with (args) (borrowed, may be NULL) and waits up to (timeout_ms) for its
 * reply, handing events read meanwhile to the callback. (*ret) (may be NULL) receives the
 * "return" value (caller puts it). A QMP error is 409 "qmp_<class>" with QEMU's description. */
int ukvmm_qmp_cmd(struct ukvmm_qmp *q, const char *command, json_object *args, json_object **ret,
                  int timeout_ms, uk_err_t *err);
int ukvmm_qmp_cont(struct ukvmm_qmp *q, uk_err_t *err);
/* Presses the power button / asks QEMU to quit: success also when QEMU closes the socket before
 * its reply is read (a guest that powers off at once ends QEMU). */
int ukvmm_qmp_system_powerdown(struct ukvmm_qmp *q, uk_err_t *err);
int ukvmm_qmp_quit(struct ukvmm_qmp *q, uk_err_t *err);
/* query-status: (status) e.g. "running", "prelaunch", "paused", "shutdown"; (*running) 0/1. */
int ukvmm_qmp_query_status(struct ukvmm_qmp *q, char *status, size_t len, int *running,
                           uk_err_t *err);
/* Waits up to (timeout_ms) for the next event and copies its name into (event): 1 got one,
 * 0 timed out, -1 error (410 "gone" when QEMU closed the socket). The callback also sees it. */
int ukvmm_qmp_next_event(struct ukvmm_qmp *q, char *event, size_t len, int timeout_ms,
                         uk_err_t *err);

/* ---- QMP wire format (exposed for tests and the fuzz target) ---- */

#define UKVMM_QMP_MAX_LINE 65536 /* longer messages are refused, never buffered */

enum ukvmm_qmp_kind {
	UKVMM_QMP_GREETING = 1,
	UKVMM_QMP_RETURN,
	UKVMM_QMP_ERROR,
	UKVMM_QMP_EVENT,
};

struct ukvmm_qmp_msg {
	enum ukvmm_qmp_kind kind;
	json_object *root;  /* owned: ukvmm_qmp_msg_clear() puts it */
	json_object *value; /* borrowed from root: "return", or the event's "data" (may be NULL) */
	const char *event;  /* EVENT: its name */
	const char *eclass; /* ERROR: "GenericError", ... */
	const char *desc;   /* ERROR: QEMU's description */
	int64_t id;         /* RETURN/ERROR: the command's numeric "id", -1 if absent */
};

/* Parses one QMP message (line, len) (no newline): 502 on anything that is not one JSON object
 * of the four kinds. */
int ukvmm_qmp_parse(const char *line, size_t len, struct ukvmm_qmp_msg *msg, uk_err_t *err);
void ukvmm_qmp_msg_clear(struct ukvmm_qmp_msg *msg);

/* Line framing over a fixed buffer: append what was read, take whole lines out. */
struct ukvmm_qmp_rbuf {
	size_t len, start;
	char buf[UKVMM_QMP_MAX_LINE + 1];
};
/* The next complete line (without its "\r\n"), 1; 0 if none is complete yet; -1 (502) when a
 * line outgrows the buffer. (line) stays valid until the next call. */
int ukvmm_qmp_rbuf_line(struct ukvmm_qmp_rbuf *rb, const char **line, size_t *len, uk_err_t *err);
/* Room left for reading: (*space) bytes at the returned pointer (compacts first). */
char *ukvmm_qmp_rbuf_space(struct ukvmm_qmp_rbuf *rb, size_t *space);

#endif
