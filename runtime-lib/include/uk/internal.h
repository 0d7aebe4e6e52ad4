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
