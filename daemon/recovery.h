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

#endif
