/* Interfaces between runtime-lib layers (startup, platform, libc); not for apps. */
#ifndef UK_INTERNAL_H
#define UK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <uk/uk.h>

/* --- startup (lib/start.c) --- */

/* Splits the kernel command line (cmdline, modified in place) into runtime
 * options and the app's argv, applies the options, runs constructors, calls
 * main and exits with its result. */
_Noreturn void uk_start_cmdline(char *cmdline);

/* Runs constructors, calls main(argc, argv) and exits with its result. */
_Noreturn void uk_start_main(int argc, char **argv);

/* Prints "backtrace:", the faulting instruction (rip) if nonzero, the return address at (rsp)
 * when the faulting function has no frame yet (uk_backtrace_caller_at_rsp), and the return
 * addresses found by walking frame pointers from (rbp); frames at or above (limit) are not
 * read. (rsp) MUST be 0 when the stack top may be unreadable (a fault on its page). */
void uk_backtrace_print(uint64_t rip, uint64_t rsp, uint64_t rbp, uint64_t limit);

/* The return address at (rsp) when it names the caller of the function holding (rip) that the
 * frame pointer chain from (rbp) skips (a leaf without a frame, a fault before a prologue ran,
 * a call through a bad pointer), else 0; reads only the stack word at (rsp) (below (limit)),
 * the chain's first frame and the program's code (lib/unwind_x86_64.c). */
uint64_t uk_backtrace_caller_at_rsp(uint64_t rip, uint64_t rsp, uint64_t rbp, uint64_t limit);

/* Runs the uk_on_shutdown() handler, or exit(143) without one (lib/start.c). */
void uk_shutdown_request(void);

/* Formats to the console (stderr stream) without stdio buffering; for panics and boot messages. */
void uk_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- lib/cmdline.c, lib/entropy.c (see those files) --- */

/*
 * Splits (line) in place into words like a shell: blanks (space, \t, \n, \v,
 * \f, \r) separate words; "..." and '...' group; a backslash outside single
 * quotes takes the next character literally (a trailing one stays a
 * backslash); adjacent pieces join (a"b c"d is one word "ab cd"); "" is an
 * empty word. Stores the words in (words), which MUST have room for
 * (max_words) + 1 entries, then a NULL. Returns the number of words, -1 if
 * there are more than (max_words), -2 for an unterminated quote.
 */
int uk_cmdline_split(char *line, char **words, int max_words);

/*
 * Finds the first word "--" in (words): the (nwords) words before it are
 * runtime options, those after it the app's. Without one, all are the app's.
 * Sets (*app_first) to the index of the app's first word; returns the number
 * of runtime-option words.
 */
int uk_args_split(int nwords, char **words, int *app_first);

/*
 * Applies one runtime option (word), which MUST stay valid for the rest of the
 * run (environ and the virtio list keep pointers into it):
 *   env=KEY=VALUE         adds KEY=VALUE to environ, replacing an earlier KEY
 *   seed=HEX              passes the bytes (1 to 64) to uk_entropy_add_seed()
 *   time=NS               the host's unix time in ns when it started the guest (1 to 19
 *                         digits, not 0): the wall clock's origin where no pvclock gives one
 *   timesync=com3         the host writes "time=NS\n" into COM3 before the CPUs first run
 *   virtio_mmio.device=.. kept for the virtio-mmio driver (QEMU microvm adds it)
 *   mount=DEV:PATH[:ro]   mounts the key-value store on block device DEV ("blk0") at PATH
 *                         ("/data"; read-only with ":ro", ":rw" is the default) for the file
 *                         functions of lib/file.c; see docs/storage.md. PATH is "/"-rooted,
 *                         not "/", of components [A-Za-z0-9._-] other than "." and "..",
 *                         shorter than 64 bytes, and neither inside nor around another mount.
 * Returns UK_OK; UK_EINVAL for an unknown option or a malformed value;
 * UK_ENOMEM when environ (64 entries), the virtio list (8) or the mounts (8) are full.
 */
int uk_runtime_option(const char *word);

/* The time= option's value, 0 if none was given. */
uint64_t uk_cmdline_host_time(void);

/* The timesync=com3 option: the I/O port of the UART that carries the host's time record
 * ("time=NS\n", written by ukd just before the guest's CPUs first run), 0 if none. */
unsigned uk_cmdline_time_port(void);

/* Parses the unix ns of a time record or time= (1 to 19 digits, not 0) into (*ns). */
int uk_time_parse_ns(const char *digits, uint64_t *ns);

/*
 * TSC calibration against the PIT (lib/tsc_calib.c), the reads injected so that a host test
 * can deschedule the "vCPU" anywhere. A window is the counter read just before and after the
 * reference read at each end; a window whose either bracket exceeds 1/UK_CALIB_BRACKET of its
 * length is void (each end's midpoint is then within 1/256 of it), and the result is the mean
 * of the first two windows that agree within 1/UK_CALIB_AGREE (else the median of the valid
 * ones, agreed = 0).
 */
#define UK_CALIB_BRACKET 128
#define UK_CALIB_AGREE 256
struct uk_calib_window {
	uint64_t t0_lo, t0_hi; /* counter before/after the first reference read */
	uint64_t t1_lo, t1_hi; /* counter before/after the last reference read */
	uint32_t ref_ticks;    /* reference ticks between the two reads */
};
struct uk_calib_ops {
	uint64_t (*counter)(void *ctx);  /* the counter being calibrated (rdtsc) */
	uint16_t (*ref_read)(void *ctx); /* reference count: reloads at 0xffff, counts down */
	uint32_t (*aux_read)(void *ctx); /* optional: a down-counter to rate too (LAPIC timer) */
	void *ctx;
};
struct uk_calib_result {
	uint64_t hz;           /* the counter's Hz */
	uint64_t aux_per_ms;   /* the aux counter's ticks per ms */
	uint64_t last_hz;      /* the last valid window's figure (diagnostics) */
	uint32_t windows;      /* windows measured */
	uint32_t void_windows; /* of which void (a bracket too wide) */
	uint64_t widest;       /* the widest bracket seen, in counter ticks (diagnostics) */
	int agreed;            /* two windows agreed */
};
/* The counter's Hz from (w) against a reference of (ref_hz); 0 if (w) is void. */
uint64_t uk_calib_window_hz(const struct uk_calib_window *w, uint64_t ref_hz);
/* Measures windows of at least (want) reference ticks; -1 if the reference does not count or
 * no window was valid, then (out) says what was seen. */
int uk_calib_run(const struct uk_calib_ops *ops, uint32_t want, uint64_t ref_hz,
                 struct uk_calib_result *out);

/* Sets (*dev), (*path) and (*ro) from the (i)th mount= option; UK_EINVAL past the last. */
int uk_cmdline_mount(int i, const char **dev, const char **path, int *ro);

/* Sets (*word) to the (i)th virtio_mmio.device= word, whole; UK_EINVAL past the last. */
int uk_cmdline_virtio_mmio(int i, const char **word);

/*
 * Mixes (len) bytes of (buf) from the host (the seed=HEX option) into the
 * entropy generator. From 16 bytes on, uk_entropy_strength() reports at least
 * UK_ENTROPY_SEED.
 */
void uk_entropy_add_seed(const void *buf, size_t len);

/* RFC 8439's ChaCha20 block function: block (counter) of the (key), (nonce) keystream to (out). */
void uk_chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12],
                       uint8_t out[64]);

#endif
