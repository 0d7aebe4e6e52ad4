/* The guest's kernel command line, written by ukd's own builder (one quoting rule for both). */
#include "cmdline.h"

int runuk_guest_cmdline(char *buf, size_t len, const char *const *env, const char *const *args,
                        uk_err_t *err);

int runuk_guest_cmdline(char *buf, size_t len, const char *const *env, const char *const *args,
                        uk_err_t *err)
{
	/* 1: no time= word. An engine hands runuk the bundle, not the image's labels, so runuk
	 * cannot tell whether the kernel reads it (images.h UKIMG_LABEL_CMDLINE); the guest's
	 * clock then starts from the CMOS RTC's whole seconds (docs/runtime.md). */
	return ukd_cmdline_build(buf, len, env, args, 1, err);
}
