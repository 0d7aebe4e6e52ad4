/* Instance logs: the console file read with tail/follow/timestamps, and a pump timestamping lines.
 */
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

/* The pump: a thread that notes the arrival time of each console line in console.ts. */
int ukd_logs_pump_start(struct ukd *d, uk_err_t *err);
void ukd_logs_pump_stop(void);
/* Offset of the byte after the last (n) lines of (fd) (size (size)). */
off_t ukd_logs_tail_offset(int fd, off_t size, long n);

#endif
