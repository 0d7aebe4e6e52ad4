/* Image jobs and blob garbage collection: who may use the blob store while gc sweeps it, and the
 * count of jobs shutdown waits for. Routes start jobs; main.c and recovery.c wait and collect. */
#ifndef UKD_IMAGE_JOBS_H
#define UKD_IMAGE_JOBS_H

#include "ukd.h"

/* A job (build, load, push, pull) runs from begin to end; it counts for ukd_images_wait_builds. */
void ukd_images_job_begin(void);
void ukd_images_job_end(void);
/* Holding the store (shared) keeps blob gc away while a job reads or adds blobs. */
void ukd_images_store_hold(void);
void ukd_images_store_release(void);
/* Removes unreferenced image blobs (skipped while a job holds the store: the next deletion or
 * daemon start does it). */
void ukd_images_gc(struct ukd *d);
/* Waits up to (timeout_ms) for running jobs; returns how many still run. */
int ukd_images_wait_builds(int timeout_ms);

#endif
