/* The runtime API every uk application and the libc subset sit on: console, clocks, sleep, entropy,
 * exit. */
#ifndef UK_UK_H
#define UK_UK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Contract. This header is the whole interface between an application (or the
 * libc subset in runtime-lib/lib) and the platform it runs on: the kvm platform
 * (a PVH guest under QEMU/KVM) or the hosted platform (a Linux process). Every
 * platform MUST implement every function here with the semantics written below.
 * The runtime is single-threaded: none of these functions may be called from an
 * interrupt handler unless it says so.
 */

/* Result codes of the runtime (no errno inside the library OS). */
typedef enum {
	UK_OK = 0,
	UK_EAGAIN = -1,  /* not now; try again later */
	UK_EINVAL = -2,  /* bad argument */
	UK_ENOMEM = -3,  /* out of memory */
	UK_EUNSPEC = -4, /* anything else */
	UK_ENOENT = -5,  /* no such key, name or entry */
	UK_ENOSPC = -6,  /* the device or store is full */
} uk_result_t;

/*
 * Writes (len) bytes of (buf) to the console stream (fd): 1 = standard output,
 * 2 = standard error. MUST write every byte before returning (no short writes);
 * MAY interleave both streams on one device (the kvm platform has one serial
 * console). Unbuffered: stdio's buffering lives above it.
 */
void uk_console_write(int fd, const char *buf, size_t len);

/* Nanoseconds since an arbitrary point before main(); MUST never go backwards. */
uint64_t uk_time_monotonic_ns(void);

/* Nanoseconds since 1970-01-01T00:00:00Z (UTC) as the platform best knows it. */
uint64_t uk_time_wall_ns(void);

/*
 * Idles until uk_time_monotonic_ns() >= (deadline_ns) or an interrupt the
 * runtime cares about arrives, whichever is first; returns the current
 * monotonic time. The kvm platform MUST halt the CPU (hlt) while it waits,
 * never spin. Callers loop on their own condition.
 */
uint64_t uk_time_block_until(uint64_t deadline_ns);

/*
 * Fills (buf) with (len) bytes from the runtime's entropy source. Returns
 * UK_OK. The source is a ChaCha20 generator seeded from RDSEED/RDRAND when the
 * CPU has them, from the `seed=HEX` runtime option when given (ukd passes one
 * from the host's /dev/urandom), and always mixed with TSC jitter; see
 * uk_entropy_strength() for what the seed came from.
 */
uk_result_t uk_entropy_get(void *buf, size_t len);

/* Where the entropy seed came from. */
typedef enum {
	UK_ENTROPY_WEAK = 0, /* only timer jitter: do not use for keys */
	UK_ENTROPY_SEED = 1, /* the host-provided seed= option */
	UK_ENTROPY_CPU = 2,  /* RDSEED/RDRAND */
} uk_entropy_strength_t;
uk_entropy_strength_t uk_entropy_strength(void);

/*
 * Ends the unikernel with (status) as its exit status; see docs/runtime.md for
 * how the status reaches QEMU (isa-debug-exit) and supervisors (COM2 line).
 * Does not flush stdio: exit() does that, then calls this.
 */
_Noreturn void uk_exit(int status);

/*
 * Reports a broken invariant: prints "panic: " and the formatted message, a
 * backtrace, and ends the unikernel with status 134 (like SIGABRT).
 */
_Noreturn void uk_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Registers (fn) to run when the host asks this instance to stop: the ACPI
 * power button on the kvm platform (libvirt's shutdown, `uk stop`), SIGTERM on
 * the hosted one. (fn) runs from uk_time_block_until(), i.e. when the program
 * idles, never from an interrupt; it MAY return to keep running. Without a
 * handler the runtime calls exit(143), as SIGTERM ends a process under Docker.
 * Passing NULL restores that default.
 */
void uk_on_shutdown(void (*fn)(void));

/* The platform's name: "kvm", "xen" (the same ELF, detected at boot) or "hosted". */
const char *uk_platform(void);

/*
 * Runtime-internal hooks the libc subset uses; applications should not call them.
 */

/* Adds [base, base+len) to the heap; called by the platform at boot. */
void uk_heap_add(void *base, size_t len);

/* Bytes of heap in total and in use (for tests and `uk stats`). */
size_t uk_heap_total(void);
size_t uk_heap_used(void);

/* The environment as "KEY=VALUE" strings, NULL-terminated; set at startup. */
extern char **environ;

/* Describes the clocks into (buf) (at most (len) bytes, NUL-terminated): source, rate, how the
 * rate was calibrated and where the wall clock came from. For diagnostics; returns the length
 * snprintf would have written. */
size_t uk_clock_describe(char *buf, size_t len);

/* Reads the CPU's time-stamp counter. */
static inline uint64_t uk_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* TSC value captured at the first instruction of the kernel (kvm) or at _start (hosted). */
extern uint64_t uk_boot_tsc;

/* TSC values at boot stages (kvm): C entry, CPU tables done, memory done,
 * LAPIC done, constructors done (just before main). For boot benchmarks. */
#define UK_BOOT_STAMPS 5
extern uint64_t uk_boot_stamps[UK_BOOT_STAMPS];

#endif
