/* Debugging guests: the kernel ELF an instance runs (for gdb) and symbolized crash reports. */
#ifndef UKD_DEBUG_H
#define UKD_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "ukd.h"

struct ukd_instance;
struct ukd_req;

struct ukd_crash_frame {
	uint64_t addr;
	int faulting; /* the faulting instruction itself (else a return address) */
};
/* The frames of the last panic report in (text) (a console log's tail, guest output: any
 * bytes); how many were stored (<= max), 0 when there is no report with a backtrace. */
int ukd_crash_frames(const char *text, size_t len, struct ukd_crash_frame *out, int max);

/* The path of the kernel ELF (in)'s image boots (with its symbols: images are not stripped). */
int ukd_debug_kernel_path(struct ukd *d, const struct ukd_instance *in, char *out, size_t len,
                          uk_err_t *err);
/* After (in)'s guest ended with (code): when it is a fault's or a panic's (132, 134, 136,
 * 139), appends the last panic report's backtrace symbolized (function at file:line, by
 * addr2line over the image's kernel) to its console log. Never fails the caller. */
void ukd_debug_symbolize_crash(struct ukd *d, const struct ukd_instance *in, int code);

#endif
