/* Builds the guest's kernel command line, quoting each word for runtime-lib's shell-like splitter.
 */
#include "cmdline.h"
#include "names.h"

#include <stdio.h>
#include <string.h>

static int word_needs_quotes(const char *w)
{
	if (!*w)
		return 1;
	for (; *w; w++)
		if (strchr(" \t\n\r\"'\\", *w))
			return 1;
	return 0;
}

int ukd_cmdline_append(char *buf, size_t len, size_t *used, const char *word, uk_err_t *err)
{
	size_t need = strlen(word) * 2 + 4, n = *used;

	for (const char *p = word; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return uk_err_bad(
			        err, "argument \"%s\": control characters are not allowed", word);
	if (n + need >= len)
		return uk_err_bad(err, "command line longer than %zu bytes", len - 1);
	if (n)
		buf[n++] = ' ';
	if (!word_needs_quotes(word)) {
		n += (size_t)sprintf(buf + n, "%s", word);
	} else {
		buf[n++] = '"';
		for (const char *p = word; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf[n++] = '\\';
			buf[n++] = *p;
		}
		buf[n++] = '"';
	}
	buf[n] = 0;
	*used = n;
	return 0;
}

int ukd_cmdline_build(char *buf, size_t len, const char *const *env, const char *const *args,
                      int version, uk_err_t *err)
{
	char word[UKD_CMDLINE_MAX + 8], seed[65];
	size_t used = 0;

	buf[0] = 0;
	for (; env && *env; env++) {
		if (strlen(*env) > UKD_CMDLINE_MAX)
			return uk_err_bad(err, "environment too long");
		snprintf(word, sizeof(word), "env=%s", *env);
		if (ukd_cmdline_append(buf, len, &used, word, err) < 0)
			return -1;
	}
	if (ukd_random_hex(seed, 32, err) < 0)
		return -1;
	snprintf(word, sizeof(word), "seed=%s", seed);
	if (ukd_cmdline_append(buf, len, &used, word, err) < 0)
		return -1;
	/* the guest's wall clock at boot: this plus its TSC since the VM started (runtime-lib's
	 * time_kvm.c), where the CMOS RTC would give whole seconds (docs/runtime.md) */
	snprintf(word, sizeof(word), "time=%lld", (long long)ukd_now_ns());
	/* 3: the backend also writes the host's time into COM3 right before the guest's CPUs
	 * first run (clock_sync.h), within ms of the host where time= is QEMU's start-up behind */
	if ((version >= 2 && ukd_cmdline_append(buf, len, &used, word, err) < 0) ||
	    (version >= 3 && ukd_cmdline_append(buf, len, &used, "timesync=com3", err) < 0) ||
	    ukd_cmdline_append(buf, len, &used, "--", err) < 0)
		return -1;
	for (; args && *args; args++)
		if (ukd_cmdline_append(buf, len, &used, *args, err) < 0)
			return -1;
	return 0;
}
