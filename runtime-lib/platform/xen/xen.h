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
#define XEN_HVMOP_GET_PARAM 1
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

#endif
