/* The guest's kernel command line, written by ukd's own builder (one quoting rule for both). */
#include "cmdline.h"

int runuk_guest_cmdline(char *buf, size_t len, const char *const *env, const char *const *args,
                        uk_err_t *err);

int runuk_guest_cmdline(char *buf, size_t len, const char *const *env, const char *const *args,
                        uk_err_t *err)
{
	return ukd_cmdline_build(buf, len, env, args, err);
}
