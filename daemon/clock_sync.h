/* The guest's wall clock at boot: the host's time written into the guest's COM3 (a FIFO QEMU
 * reads) just before its CPUs first run, for kernels that read it (docs/runtime.md). */
#ifndef UKD_CLOCK_SYNC_H
#define UKD_CLOCK_SYNC_H

#include "ukd.h"

/*
 * Makes ROOT/clock/(id) an empty FIFO QEMU's user can open (an old one is replaced: no stale
 * record survives) and puts its path in (path). Instance directories are ukd's alone, hence a
 * directory of its own. The caller removes it once the start is over (QEMU keeps it open).
 */
int ukd_clock_pipe_make(struct ukd *d, const char *id, char *path, size_t len, uk_err_t *err);

/*
 * Writes "time=NS\n", NS being the host's unix ns now, into (path) for the guest, which adds
 * its TSC (counting from the resume that MUST follow at once) to it. Never blocks; a failure
 * is logged and the guest falls back to time= after its bounded wait.
 */
void ukd_clock_pipe_send(const char *path, const char *name);

#endif
