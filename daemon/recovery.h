/* Start-up recovery after a crash: what a ukd killed mid-request leaves behind, cleaned up. */
#ifndef UKD_RECOVERY_H
#define UKD_RECOVERY_H

#include "ukd.h"

/*
 * Kills build processes an earlier ukd on this root left running, removes request bodies it was
 * spooling (ROOT/tmp) and instance directories no row owns. Call once at start, after the store
 * is open and before anything serves requests (the image store's tmp/ is cleaned by the blob
 * gc that follows).
 */
void ukd_recovery_sweep(struct ukd *d);
/* Shutdown: kills the processes of the builds running on this root (as the sweep would find
 * them after a crash); their build threads then end with the build failed. Returns how many. */
int ukd_recovery_kill_builds(struct ukd *d);

#endif
