/* What depends on the host: defaults, the accelerator, QEMU's version, the exit status. */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uk/vmm.h"

void ukvmm_config_init(struct ukvmm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memory_mib = 64;
	cfg->vcpus = 1;
	cfg->sandbox = 1;
	cfg->console.fd = -1;
	cfg->status.fd = -1;
	if (access(UKVMM_QBOOT, R_OK) == 0)
		cfg->firmware = UKVMM_QBOOT;
}

/* VMX or SVM in CPUID: without either, a /dev/kvm is something else's emulation */
static int cpu_has_virt(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 5)))
		return 1; /* VMX */
	if (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 2)))
		return 1; /* SVM */
	return 0;
}

enum ukvmm_accel ukvmm_accel_detect(char *reason, size_t len)
{
	struct stat st;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	char dummy[1];

	if (!reason) {
		reason = dummy;
		len = sizeof(dummy);
	}
	if (fd < 0) {
		snprintf(reason, len, "tcg: /dev/kvm is not usable (%s)", strerror(errno));
		return UKVMM_ACCEL_TCG;
	}
	close(fd);
	if (stat("/sys/module/kvm_pvm", &st) == 0) {
		snprintf(reason, len,
		         "tcg: /dev/kvm is PVM (/sys/module/kvm_pvm), which emulates uk guests "
		         "instruction by instruction; TCG is faster");
		return UKVMM_ACCEL_TCG;
	}
	if (!cpu_has_virt()) {
		snprintf(reason, len, "tcg: the CPU reports neither VMX nor SVM");
		return UKVMM_ACCEL_TCG;
	}
	snprintf(reason, len, "kvm: /dev/kvm usable and hardware-assisted (VMX/SVM)");
	return UKVMM_ACCEL_KVM;
}

int ukvmm_parse_version(const char *text, size_t len)
{
	static const char key[] = "version ";
	const char *p = memmem(text, len, key, sizeof(key) - 1);
	const char *end = text + len;
	long part[3] = {0, 0, 0};
	int i = 0;

	if (!p)
		return -1;
	p += sizeof(key) - 1;
	for (; i < 3 && p < end && *p >= '0' && *p <= '9'; i++) {
		int digits = 0;
		while (p < end && *p >= '0' && *p <= '9' && digits < 3)
			part[i] = part[i] * 10 + (*p++ - '0'), digits++;
		if (p < end && *p >= '0' && *p <= '9')
			return -1; /* a fourth digit: not a QEMU version */
		if (p < end && *p == '.' && i < 2)
			p++;
		else {
			i++;
			break;
		}
	}
	if (i < 2 || part[1] > 99 || part[2] > 99)
		return -1;
	return (int)(part[0] * 10000 + part[1] * 100 + part[2]);
}

/* Output and exit status of "'(qemu)' (args) 2>&1"; -1 if it could not run. */
static int run_capture(const char *qemu, const char *args, char *buf, size_t len)
{
	char cmd[4096];
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' %s </dev/null 2>&1", qemu, args);
	f = popen(cmd, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	return pclose(f);
}

int ukvmm_qemu_probe(const char *qemu, struct ukvmm_qemu_caps *caps, uk_err_t *err)
{
	char buf[512];
	int st, v;

	if (!qemu)
		qemu = "qemu-system-x86_64";
	if (strchr(qemu, '\''))
		return uk_err_bad(err, "QEMU binary \"%s\": a quote in its path", qemu);
	memset(caps, 0, sizeof(*caps));
	st = run_capture(qemu, "-sandbox on -version", buf, sizeof(buf));
	caps->sandbox = st == 0;
	if (st != 0)
		st = run_capture(qemu, "-version", buf, sizeof(buf));
	v = ukvmm_parse_version(buf, strlen(buf));
	if (st != 0 || v < 0)
		return uk_err_internal(err, "%s -version: %s \"%.80s\" (is QEMU installed?)", qemu,
		                       st ? "failed" : "no version in", buf);
	caps->version = (unsigned)v;
	return 0;
}

pid_t ukvmm_pidfile_owner(const char *pid_file, uk_err_t *err)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd = open(pid_file, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return uk_err_notfound(err, "pid file %s: none (QEMU is not running)", pid_file);
	if (fd < 0)
		return uk_err_errno(err, errno, "pid file %s", pid_file);
	/* the lock's holder, not the file's digits: a pid is reused, a lock dies with its owner */
	if (fcntl(fd, F_GETLK, &fl) < 0) {
		uk_err_errno(err, errno, "pid file %s: F_GETLK", pid_file);
		close(fd);
		return -1;
	}
	close(fd);
	return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

int ukvmm_status_parse(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	int code = -1;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		if (eol - p >= 9 && !memcmp(p, "UK_EXIT=", 8)) {
			const char *q = p + 8;
			int v = 0, digits = 0;

			for (; q < eol && *q >= '0' && *q <= '9' && digits < 4; q++)
				v = v * 10 + (*q - '0'), digits++;
			if (digits && v <= 255 && (q == eol || (*q == '\r' && q + 1 == eol)))
				code = v;
		}
		p = eol + 1;
	}
	return code;
}

void ukvmm_exit_decode(int wait_status, const char *status, size_t len, struct ukvmm_exit *out)
{
	int line = status ? ukvmm_status_parse(status, len) : -1;
	int q;

	memset(out, 0, sizeof(*out));
	out->code = -1;
	if (line >= 0) {
		out->code = line;
		out->source = UKVMM_EXIT_CHANNEL;
		snprintf(out->why, sizeof(out->why), "the guest's status line UK_EXIT=%d", line);
		return;
	}
	if (WIFSIGNALED(wait_status)) {
		out->code = 128 + WTERMSIG(wait_status);
		out->source = UKVMM_EXIT_SIGNAL;
		snprintf(out->why, sizeof(out->why), "QEMU was killed by signal %d (%s)",
		         WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status)));
		return;
	}
	if (!WIFEXITED(wait_status)) {
		snprintf(out->why, sizeof(out->why), "QEMU has not exited (wait status 0x%x)",
		         (unsigned)wait_status);
		return;
	}
	q = WEXITSTATUS(wait_status);
	if (q == 0) {
		snprintf(out->why, sizeof(out->why),
		         "QEMU quit without a guest status (QMP quit, or an ACPI power-off without "
		         "exit)");
	} else if (!(q & 1)) {
		snprintf(out->why, sizeof(out->why), "QEMU failed with status %d", q);
	} else if (q == 1 && status) {
		snprintf(out->why, sizeof(out->why),
		         "QEMU exited 1 and the status channel is empty: QEMU failed (see its "
		         "stderr), the guest did not exit(0)");
	} else {
		out->code = q >> 1;
		out->source = UKVMM_EXIT_DEBUG_EXIT;
		snprintf(out->why, sizeof(out->why),
		         "isa-debug-exit: QEMU status %d = (%d<<1)|1 (low 7 bits of the guest's)",
		         q, out->code);
	}
}

void ukvmm_exit_read(int wait_status, const char *path, struct ukvmm_exit *out)
{
	char buf[4096];
	ssize_t n = 0;
	off_t size;
	int fd;

	if (!path) {
		ukvmm_exit_decode(wait_status, NULL, 0, out);
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* the guest writes one line; a long file is junk, and its tail is what counts */
		size = lseek(fd, 0, SEEK_END);
		n = pread(fd, buf, sizeof(buf),
		          size > (off_t)sizeof(buf) ? size - (off_t)sizeof(buf) : 0);
		close(fd);
	}
	ukvmm_exit_decode(wait_status, buf, n > 0 ? (size_t)n : 0, out);
}
