/* Resource usage of an instance (`uk stats`, `uk top`): its VMM process, its disks, its taps. */
#ifndef UKD_STATS_H
#define UKD_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "ukd.h"

struct ukd_instance;

/* One sample. Counters are cumulative since the guest started; -1: not measurable (a slirp NIC
 * has no counters ukd can read; a guest without disks has no block I/O). */
struct ukd_stats {
	int running;
	int pid;           /* the VMM's (QEMU's) */
	int64_t read_ns;   /* when it was taken, unix ns */
	int64_t cpu_ns;    /* the VMM's user + system time, all its threads */
	int64_t mem_usage; /* the VMM's resident set, bytes: guest pages it touched + QEMU's own */
	int64_t mem_limit; /* the host's memory: no cgroup bounds the VMM (docker's "no limit") */
	int64_t mem_guest; /* the guest's memory, bytes */
	int64_t net_rx;    /* bytes the guest received, over its taps */
	int64_t net_tx;    /* bytes it sent */
	int64_t blk_read;  /* bytes its disks read */
	int64_t blk_write; /* bytes they wrote */
};

/* Samples (in). A guest that is not running is a zeroed sample (running 0), as Docker shows a
 * stopped container: 0 with (s) zeroed; -1 when the backend or /proc cannot be read. */
int ukd_stats_sample(struct ukd *d, const struct ukd_instance *in, struct ukd_stats *s,
                     uk_err_t *err);
/* {"id","name","state","read","pid","cpu_ns","cpu_percent","memory":{"usage","limit","guest"},
 * "network":{"rx_bytes","tx_bytes"}|null,"block":{"read_bytes","write_bytes"}|null};
 * cpu_percent (of one host CPU) over (prev) to (s), null without (prev). */
json_object *ukd_stats_json(const struct ukd_instance *in, const struct ukd_stats *s,
                            const struct ukd_stats *prev);

/* {"Titles":[...],"Processes":[[...]],"Guest":"..."}: the VMM process of (in) (PID, USER, %CPU
 * over its life, RSS, COMMAND) and what the guest reports of itself. 409 if it is not running. */
json_object *ukd_stats_top(struct ukd *d, const struct ukd_instance *in, uk_err_t *err);

/* ---- /proc parsing, exposed for tests and the fuzz target ---- */

/* /proc/PID/stat (buf, len): utime + stime and starttime in clock ticks. -1 if malformed. */
int ukd_stats_parse_stat(const char *buf, size_t len, uint64_t *cpu_ticks, uint64_t *start_ticks);
/* The value of (key) ("VmRSS") in /proc/PID/status (buf, len), in bytes for a "kB" value, else
 * as written; -1 if absent or malformed. */
int64_t ukd_stats_parse_status(const char *buf, size_t len, const char *key);

/* /proc/net/dev (buf, len): the sums over the links named (prefix) + digits, seen from the
 * guest (what the host side received it sent: *tx). 0 with -1 each when none is there, the
 * number of links counted, -1 when the sums overflow. */
int ukd_stats_parse_netdev(const char *buf, size_t len, const char *prefix, int64_t *rx,
                           int64_t *tx);

#endif
