/* The hosted platform: the runtime API over raw Linux system calls, so an app runs as a process
 * (gdb, tests). */
#include <uk/uk.h>
#include <uk/internal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYS_write 1
#define SYS_mmap 9
#define SYS_clock_gettime 228
#define SYS_clock_nanosleep 230
#define SYS_exit_group 231
#define SYS_getrandom 318
#define SYS_ppoll 271
#define CLOCK_REALTIME_ 0
#define CLOCK_MONOTONIC_ 1
#define TIMER_ABSTIME_ 1
#define HEAP_SIZE (1ULL << 30) /* reserved, committed by the kernel on first touch */

uint64_t uk_boot_tsc;
uint64_t uk_boot_stamps[UK_BOOT_STAMPS];
static uint64_t boot_mono;

void uk_hosted_faults_init(void);
void uk_hosted_restorer(void);
void uk_hosted_tap_init(void);
void uk_hosted_block_init(void);
extern int uk_hosted_tap_fd;

/* One Linux system call; returns the raw result (negative errno on failure). */
long uk_hosted_syscall(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
	                 : "rcx", "r11", "memory");
	return ret;
}

struct kts {
	long sec, nsec;
};

static uint64_t clock_ns(int clk)
{
	struct kts ts;

	uk_hosted_syscall(SYS_clock_gettime, clk, (long)&ts, 0, 0, 0, 0);
	return (uint64_t)ts.sec * 1000000000ULL + (uint64_t)ts.nsec;
}

const char *uk_platform(void)
{
	return "hosted";
}

void uk_console_write(int fd, const char *buf, size_t len)
{
	while (len) {
		long n = uk_hosted_syscall(SYS_write, fd == 2 ? 2 : 1, (long)buf, (long)len, 0, 0,
		                           0);

		if (n == -4) /* EINTR */
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

uint64_t uk_time_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC_) - boot_mono;
}

uint64_t uk_time_wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME_);
}

size_t uk_clock_describe(char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "clock: the host's clock_gettime");
}

static volatile int sigterm_seen;

static void on_sigterm(int sig, void *info, void *uc)
{
	(void)sig, (void)info, (void)uc;
	sigterm_seen = 1;
}

/* SIGTERM is the hosted platform's power button: handled when the program idles. */
static void sigterm_init(void)
{
	struct {
		void (*handler)(int, void *, void *);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} sa = {on_sigterm, 0x4 | 0x04000000 /* SA_SIGINFO | SA_RESTORER */, uk_hosted_restorer, 0};

	uk_hosted_syscall(13 /* rt_sigaction */, 15 /* SIGTERM */, (long)&sa, 0, 8, 0, 0);
}

uint64_t uk_time_block_until(uint64_t deadline)
{
	uint64_t abs = deadline + boot_mono;
	struct kts ts = {(long)(abs / 1000000000ULL), (long)(abs % 1000000000ULL)};

	uint64_t now = uk_time_monotonic_ns();

	if (now < deadline && uk_hosted_tap_fd >= 0) {
		/* A tap is open (tap_hosted.c): wake when a frame arrives, too. */
		struct {
			int fd;
			short events, revents;
		} pfd = {uk_hosted_tap_fd, 1 /* POLLIN */, 0};
		struct kts rel = {(long)((deadline - now) / 1000000000ULL),
		                  (long)((deadline - now) % 1000000000ULL)};

		uk_hosted_syscall(SYS_ppoll, (long)&pfd, 1, (long)&rel, 0, 8, 0);
	} else if (now < deadline) {
		uk_hosted_syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC_, TIMER_ABSTIME_, (long)&ts,
		                  0, 0, 0);
	}
	if (sigterm_seen) {
		sigterm_seen = 0;
		uk_shutdown_request();
	}
	return uk_time_monotonic_ns();
}

_Noreturn void uk_exit(int status)
{
	for (;;)
		uk_hosted_syscall(SYS_exit_group, status & 0xff, 0, 0, 0, 0, 0);
}

/* Like the kernel command line: words before a `--` are runtime options. The
 * process environment is kept; env=K=V options add to or override it. */
static int apply_runtime_options(int argc, char **argv)
{
	int first, nopts, i;

	nopts = uk_args_split(argc - 1, argv + 1, &first);
	for (i = 1; i <= nopts; i++) {
		char *w = argv[i], *eq;

		if (w[0] == 'e' && w[1] == 'n' && w[2] == 'v' && w[3] == '=' &&
		    (eq = strchr(w + 4, '=')) && eq > w + 4) {
			*eq = 0;
			setenv(w + 4, eq + 1, 1);
			*eq = '=';
		} else if (uk_runtime_option(w) != UK_OK) {
			uk_printk("uk: ignoring unknown runtime option \"%s\"\n", w);
		}
	}
	if (!nopts && first == 0)
		return 0;
	/* Keep argv[0]; the app's words follow it. */
	for (i = 0; i + first + 1 <= argc; i++)
		argv[1 + i] = argv[1 + first + i];
	return first;
}

_Noreturn void uk_hosted_main(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	unsigned char seed[32];
	long heap;

	uk_boot_tsc = uk_rdtsc();
	uk_hosted_faults_init();
	sigterm_init();
	boot_mono = clock_ns(CLOCK_MONOTONIC_);
	environ = argv + argc + 1;
	heap = uk_hosted_syscall(SYS_mmap, 0, (long)HEAP_SIZE, 3 /* RW */,
	                         0x22 | 0x4000 /* PRIVATE|ANON|NORESERVE */, -1, 0);
	if (heap < 0 && heap > -4096) {
		uk_console_write(2, "uk: cannot reserve the heap\n", 28);
		uk_exit(127);
	}
	uk_heap_add((void *)heap, HEAP_SIZE);
	if (uk_hosted_syscall(SYS_getrandom, (long)seed, sizeof(seed), 0, 0, 0, 0) ==
	    (long)sizeof(seed))
		uk_entropy_add_seed(seed, sizeof(seed));
	argc -= apply_runtime_options(argc, argv);
	uk_hosted_tap_init();
	uk_hosted_block_init();
	uk_start_main(argc, argv);
}
