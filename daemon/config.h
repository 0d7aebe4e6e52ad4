/* ukd configuration: command-line flags over /etc/uk/daemon.json (same keys as the flags). */
#ifndef UKD_CONFIG_H
#define UKD_CONFIG_H

#include "ukd.h"

enum { UKD_CONFIG_RUN, UKD_CONFIG_EXIT_OK };

/* Fills (cfg) from defaults, the config file and (argv). Returns UKD_CONFIG_RUN, UKD_CONFIG_EXIT_OK
 * (after --help/--version) or -1 with (err) set. */
int ukd_config_load(struct ukd_config *cfg, int argc, char **argv, uk_err_t *err);
void ukd_config_free(struct ukd_config *cfg);

#endif
