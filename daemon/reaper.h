/* ukd's orphan reaper: the main thread reaps every process reparented to ukd, nothing else. */
#ifndef UKD_REAPER_H
#define UKD_REAPER_H

/*
 * Makes ukd a child subreaper, runs (run)(argc, argv) on a new thread (the process exits with
 * its result) and turns the calling thread, the process's first, into the reaper. Call it from
 * main() before anything else: the calling thread MUST NOT have forked. Returns only if the
 * thread cannot be created, with (run)'s result after running it here, unreaped.
 */
int ukd_reaper_main(int (*run)(int argc, char **argv), int argc, char **argv);

#endif
