/* What a backend is asked to run: one guest as typed devices, no hypervisor syntax. */
#ifndef UKD_VM_H
#define UKD_VM_H

#include <stddef.h>
#include <stdint.h>

struct ukd_port; /* ports.h */

/*
 * Each backend renders these its own way (libvirt: domain XML; qemu: ukvmm's argv). The guest
 * always sees: COM1 = console, COM2 = status channel, isa-debug-exit, then NICs in order
 * (eth0 first), then disks in order (blk0 first). Strings are borrowed for the call.
 */

enum ukd_vm_accel { UKD_VM_KVM = 0, UKD_VM_TCG };

enum ukd_nic_kind {
	UKD_NIC_USER = 0, /* QEMU user networking (slirp), restrict=on: only the forwards get in */
	UKD_NIC_TAP,      /* an existing tap device, made and owned by ukd (daemon/network.h) */
	UKD_NIC_BRIDGE,   /* a port the hypervisor makes on (bridge) itself (Xen's netback vif,
	                     its hotplug script names it (tap)); ukd made the bridge only */
};

struct ukd_nic {
	enum ukd_nic_kind kind;
	char mac[18];                /* "52:54:00:xx:xx:xx" */
	const struct ukd_port *fwds; /* USER: host ports forwarded in */
	int n_fwds;
	char tap[16];    /* TAP, BRIDGE: the device's name ("uk" + ...) */
	char bridge[16]; /* TAP, BRIDGE: the uk network's bridge it is on ("uk-" + ...) */
};

struct ukd_disk {
	const char *path; /* absolute path of a raw image file */
	int read_only;
};

struct ukd_vm {
	const char *name;        /* "uk-<id12>": unique per instance */
	const char *dir;         /* the instance's directory: a backend keeps its files here */
	enum ukd_vm_accel accel; /* resolved (daemon/accel.h) */
	int vhost_net;           /* KVM: TAP NICs through vhost-net (ukd_vhost_net_usable()) */
	const char *kernel;      /* PVH ELF */
	const char *cmdline;     /* the kernel command line (daemon/cmdline.h) */
	uint64_t memory;         /* bytes */
	unsigned vcpus;          /* >= 1 */
	const char *console_log; /* COM1 → appended to this file */
	const char *status_log;  /* COM2 → this file (emptied by the backend at start) */
	const struct ukd_nic *nics;
	int n_nics;
	const struct ukd_disk *disks;
	int n_disks;
	const char *gdb; /* "tcp:IP:PORT": QEMU's gdb stub listens there and the guest starts
	                    paused (gdb's `continue` runs it); NULL = none */
	/* COM3's input, a FIFO (daemon/clock_sync.h): the backend writes the host's time there
	 * just before it resumes the guest; NULL = no COM3 (the kernel does not read it) */
	const char *clock_pipe;
};

/*
 * Errors a backend returns (uk_err_t.code), so ukd can act on them; the message is for people.
 *   "port_in_use" 409   a published host port is taken (message names IP:PORT)
 *   "no_memory"   507   the host cannot give the guest its memory
 *   "no_accel"    503   the accelerator asked for is missing (e.g. kvm without /dev/kvm)
 *   "unavailable" 503   the hypervisor is not usable now (probe failed, shutting down)
 *   "not_found"   404   no such guest
 *   "conflict"    409   a guest of this name still exists
 */
#define UKD_VM_ERR_PORT "port_in_use"
#define UKD_VM_ERR_MEMORY "no_memory"
#define UKD_VM_ERR_ACCEL "no_accel"
#define UKD_VM_ERR_UNAVAILABLE "unavailable"

#endif
