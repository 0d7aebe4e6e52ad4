/* Hosted fault reports: SIGSEGV/SIGBUS/SIGFPE/SIGILL print a panic report like the kvm platform's,
 * then exit 128+signal. */
#include <uk/uk.h>
#include <uk/internal.h>

#define SYS_rt_sigaction 13
#define SYS_rt_sigreturn 15
#define SYS_sigaltstack 131
#define SA_SIGINFO 0x4
#define SA_ONSTACK 0x08000000
#define SA_RESTORER 0x04000000
#define SA_RESETHAND 0x80000000UL
#define ALT_STACK_SIZE 32768

/* The kernel's struct sigaction on x86_64. */
struct ksigaction {
	void (*handler)(int, void *, void *);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

struct kstack {
	void *sp;
	int flags;
	size_t size;
};

/* ucontext_t: uc_flags, uc_link, uc_stack (24 bytes), then mcontext's gregs. */
enum { G_RBP = 10, G_RSP = 15, G_RIP = 16 };
#define GREGS_OFFSET 40

static char alt_stack[ALT_STACK_SIZE] __attribute__((aligned(16)));

long uk_hosted_syscall(long n, long a, long b, long c, long d, long e, long f);
/* Returns from a signal handler (entry_hosted.S): rt_sigreturn with the frame untouched. */
void uk_hosted_restorer(void);

static const char *sig_name(int sig)
{
	switch (sig) {
	case 4:
		return "SIGILL (invalid opcode)";
	case 7:
		return "SIGBUS (bus error)";
	case 8:
		return "SIGFPE (arithmetic fault)";
	default:
		return "SIGSEGV (page fault)";
	}
}

static void on_fault(int sig, void *info, void *ucontext)
{
	uint64_t addr = *(uint64_t *)((char *)info + 16);
	uint64_t *g = (uint64_t *)((char *)ucontext + GREGS_OFFSET);
	const char *why = "";

	if (sig == 11 && addr < 0x1000)
		why = " (null pointer dereference)";
	else if (sig == 11 && addr + 65536 >= g[G_RSP] && addr <= g[G_RSP] + 65536)
		why = " (stack overflow)";
	uk_printk("\npanic: %s, fault address 0x%016llx%s\n", sig_name(sig),
	          (unsigned long long)addr, why);
	uk_printk("rip %016llx rsp %016llx rbp %016llx\n", (unsigned long long)g[G_RIP],
	          (unsigned long long)g[G_RSP], (unsigned long long)g[G_RBP]);
	/* a fault near the stack top (an overflow, a bad rsp) would fault again reading it */
	uk_backtrace_print(
	        g[G_RIP],
	        sig == 11 && addr + 4096 >= g[G_RSP] && addr <= g[G_RSP] + 4096 ? 0 : g[G_RSP],
	        g[G_RBP], UINT64_MAX);
	uk_exit(128 + sig);
}

void uk_hosted_faults_init(void)
{
	static const int sigs[] = {4, 7, 8, 11};
	struct kstack ss = {alt_stack, 0, sizeof(alt_stack)};
	struct ksigaction sa = {on_fault, SA_SIGINFO | SA_ONSTACK | SA_RESTORER | SA_RESETHAND,
	                        uk_hosted_restorer, 0};
	unsigned i;

	uk_hosted_syscall(SYS_sigaltstack, (long)&ss, 0, 0, 0, 0, 0);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		uk_hosted_syscall(SYS_rt_sigaction, sigs[i], (long)&sa, 0, 8, 0, 0);
}
