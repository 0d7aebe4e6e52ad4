/* Instance logs: the pump moving QEMU's console output into rotated files bounded by the
 * instance's log options, and the reader (tail/follow/timestamps) over those files. */
#ifndef UKD_LOGS_H
#define UKD_LOGS_H

#include <sys/types.h>

#include "ukd.h"

struct ukd_logs;
/* Opens (id)'s console log. (tail) < 0 = all lines. */
struct ukd_logs *ukd_logs_open(struct ukd *d, const char *id, long tail, int follow, int timestamps,
                               int client_fd, uk_err_t *err);
/* A ukd_stream_fn. With follow, blocks for more until the instance is not running. */
ssize_t ukd_logs_read(void *logs, char *buf, size_t max);
void ukd_logs_close(void *logs);

/*
 * The pump: a thread that, every 20 ms, copies what QEMU appended to console.raw into
 * console.log (rotated to console.log.1 ... at max-size, max-file files kept), notes the
 * arrival time of its lines in console.ts, and punches the copied bytes out of console.raw;
 * it also keeps the status channel's file to its last bytes (docs/daemon.md, "Logs").
 */
int ukd_logs_pump_start(struct ukd *d, uk_err_t *err);
void ukd_logs_pump_stop(void);
/* Creates (dir)'s console.raw for a start, and console.pos when missing. */
int ukd_logs_prepare(const char *dir, uk_err_t *err);
/* Copies what is left in (id)'s console.raw now (a guest that ended: before its exit is
 * recorded, so a follower that sees the exit has every byte). */
void ukd_logs_drain(struct ukd *d, const char *id);
/* Keep the pump off every instance's files (while an instance directory is removed). */
void ukd_logs_pump_lock(void);
void ukd_logs_pump_unlock(void);
/* Offset of the byte after the last (n) lines of (fd) (size (size)). */
off_t ukd_logs_tail_offset(int fd, off_t size, long n);

#endif
