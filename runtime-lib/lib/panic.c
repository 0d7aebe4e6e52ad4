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

void uk_backtrace_print(uint64_t rip, uint64_t rsp, uint64_t rbp, uint64_t limit)
{
	uint64_t caller = uk_backtrace_caller_at_rsp(rip, rsp, rbp, limit);
	int depth, first = caller ? 1 : 0;

	uk_printk("backtrace:\n");
	if (rip)
		uk_printk("  #  0x%016llx (faulting instruction)\n", (unsigned long long)rip);
	if (caller)
		uk_printk("  #0 0x%016llx (return address at rsp: the faulting function had no "
		          "frame yet)\n",
		          (unsigned long long)caller);
	/* Stop at the zero the entry code left, at odd, low or out-of-range frame pointers, at a
	 * zero return address, and after a bounded depth. */
	for (depth = first; rbp && depth < 32; depth++) {
		const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;

		if ((rbp & 7) || rbp < 0x1000 || rbp >= limit || !frame[1])
			break;
		uk_printk("  #%d 0x%016llx\n", depth, (unsigned long long)frame[1]);
		rbp = frame[0];
	}
}

_Noreturn void uk_panic(const char *fmt, ...)
{
	static int panicking;
	va_list ap;

	if (panicking++)
		uk_exit(134);
	fflush(stdout);
	uk_printk("\npanic: ");
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	uk_printk("\n");
	uk_backtrace_print(0, 0, (uint64_t)(uintptr_t)__builtin_frame_address(0), UINT64_MAX);
	uk_exit(134);
}
