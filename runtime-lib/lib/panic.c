/* uk_panic and uk_printk: unbuffered reports on the console for broken invariants. */
#include <uk/uk.h>
#include <uk/internal.h>
#include <stdarg.h>
#include <stdio.h>

static void vprintk(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		return;
	uk_console_write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void uk_printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
}

_Noreturn void uk_panic(const char *fmt, ...)
{
	static int panicking;
	uint64_t *rbp = __builtin_frame_address(0);
	int depth;
	va_list ap;

	if (panicking++)
		uk_exit(134);
	fflush(stdout);
	uk_printk("\npanic: ");
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	uk_printk("\nbacktrace:\n");
	for (depth = 0; rbp && depth < 32; depth++) {
		if (((uintptr_t)rbp & 7) || (uintptr_t)rbp < 0x1000 || !rbp[1])
			break;
		uk_printk("  #%d 0x%016llx\n", depth, (unsigned long long)rbp[1]);
		rbp = (uint64_t *)rbp[0];
	}
	uk_exit(134);
}
