/* The one QEMU argv renderer: a typed struct ukvmm_config in, a deterministic argv out. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uk/vmm.h"

/* A growing argv; any allocation failure sticks and is reported once at the end. */
struct av {
	char **v;
	size_t n, cap;
	int oom;
};

static void av_add(struct av *a, const char *s)
{
	char **v;

	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->oom = 1;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n] = strdup(s);
	if (!a->v[a->n]) {
		a->oom = 1;
		return;
	}
	a->v[++a->n] = NULL;
}

static void av_addf(struct av *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void av_addf(struct av *a, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		a->oom = 1;
		return;
	}
	av_add(a, s);
	free(s);
}

/* Option value with its commas doubled; "" on allocation failure (marked in a). */
static char *esc(struct av *a, const char *value)
{
	char *e = ukvmm_opt_escape(value);

	if (!e)
		a->oom = 1;
	return e;
}

char *ukvmm_opt_escape(const char *value)
{
	size_t n = strlen(value), commas = 0;
	char *out, *p;

	for (const char *s = value; *s; s++)
		commas += *s == ',';
	out = malloc(n + commas + 1);
	if (!out)
		return NULL;
	for (p = out; *value; value++) {
		*p++ = *value;
		if (*value == ',')
			*p++ = ',';
	}
	*p = '\0';
	return out;
}

void ukvmm_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static const char *machine_name(enum ukvmm_machine m)
{
	switch (m) {
	case UKVMM_MACHINE_MICROVM:
		return "microvm";
	case UKVMM_MACHINE_PC:
		return "pc";
	case UKVMM_MACHINE_Q35:
		return "q35";
	default:
		return NULL;
	}
}

static size_t virtio_count(const struct ukvmm_config *cfg)
{
	return cfg->n_nics + cfg->n_disks + (cfg->rng ? 1 : 0);
}

enum ukvmm_machine ukvmm_machine_pick(const struct ukvmm_config *cfg)
{
	if (cfg->machine != UKVMM_MACHINE_AUTO)
		return cfg->machine;
	if (cfg->power_button || virtio_count(cfg) > UKVMM_MICROVM_SLOTS)
		return UKVMM_MACHINE_PC;
	return UKVMM_MACHINE_MICROVM;
}

/* "52:54:00:12:34:56": six hex pairs, unicast (a multicast source address is never valid). */
static int mac_valid(const char *mac)
{
	static const char hex[] = "0123456789abcdefABCDEF";

	if (strlen(mac) != 17)
		return 0;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (mac[i] != ':')
				return 0;
		} else if (!strchr(hex, mac[i])) {
			return 0;
		}
	}
	return !(strtoul((char[]){mac[0], mac[1], 0}, NULL, 16) & 1);
}

/* A name QEMU and Linux both take for a tap: 1-15 bytes, no '/', blank, comma or ':'. */
static int ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s == '/' || *s == ',' || *s == ':' || *s == 0x7f)
			return 0;
	return 1;
}

/* A user name for -runas: what useradd accepts, or a numeric uid. */
static int user_valid(const char *s)
{
	if (!*s || strlen(s) > 32 || *s == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

static int chan_file(struct av *a, const struct ukvmm_chan *c, const char *id, const char *what,
                     uk_err_t *err)
{
	char *p;

	switch (c->kind) {
	case UKVMM_CHAN_NONE:
		av_addf(a, "null,id=%s", id);
		return 0;
	case UKVMM_CHAN_FILE:
		if (!c->path || !*c->path)
			return uk_err_bad(err, "%s: a file channel needs a path", what);
		p = esc(a, c->path);
		if (p)
			av_addf(a, "file,id=%s,path=%s,append=on", id, p);
		free(p);
		return 0;
	case UKVMM_CHAN_FD:
		if (strcmp(id, "uk.console"))
			return uk_err_bad(err, "%s: only the console can be an fd (QEMU's stdout)",
			                  what);
		if (c->fd < 0)
			return uk_err_bad(err, "%s: fd %d is not a file descriptor", what, c->fd);
		av_addf(a, "stdio,id=%s,signal=off", id);
		return 0;
	}
	return uk_err_bad(err, "%s: unknown channel kind %d", what, (int)c->kind);
}

static int render_nic(struct av *a, const struct ukvmm_nic *nic, size_t i, int mmio, uk_err_t *err)
{
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *f;

	if (nic->mac && !mac_valid(nic->mac))
		return uk_err_bad(err,
		                  "nic %zu: MAC \"%s\" is not six hex pairs of a unicast address "
		                  "(e.g. 52:54:00:12:34:56)",
		                  i, nic->mac);
	f = open_memstream(&buf, &len);
	if (!f)
		return uk_err_errno(err, errno, "nic %zu: render", i);
	if (nic->kind == UKVMM_NIC_USER) {
		fprintf(f, "user,id=net%zu,restrict=on", i);
		for (size_t j = 0; j < nic->n_fwds; j++) {
			const struct ukvmm_fwd *fw = &nic->fwds[j];
			struct in_addr ia;

			if (!fw->host_addr || inet_pton(AF_INET, fw->host_addr, &ia) != 1) {
				fclose(f);
				free(buf);
				return uk_err_bad(
				        err,
				        "nic %zu forward %zu: host address \"%s\" is not an "
				        "IPv4 address (use 127.0.0.1, or 0.0.0.0 for all)",
				        i, j, fw->host_addr ? fw->host_addr : "(none)");
			}
			if (!fw->host_port || !fw->guest_port) {
				fclose(f);
				free(buf);
				return uk_err_bad(
				        err,
				        "nic %zu forward %zu: port 0 (host %u, guest %u): "
				        "ports are 1-65535",
				        i, j, fw->host_port, fw->guest_port);
			}
			fprintf(f, ",hostfwd=%s:%s:%u-:%u", fw->proto == UKVMM_UDP ? "udp" : "tcp",
			        fw->host_addr, fw->host_port, fw->guest_port);
		}
	} else if (nic->kind == UKVMM_NIC_TAP) {
		if (!nic->ifname || !ifname_valid(nic->ifname)) {
			fclose(f);
			free(buf);
			return uk_err_bad(err,
			                  "nic %zu: tap name \"%s\" is not an interface name "
			                  "(1-15 bytes, no '/', ',', ':' or blanks)",
			                  i, nic->ifname ? nic->ifname : "(none)");
		}
		if (nic->n_fwds) {
			fclose(f);
			free(buf);
			return uk_err_bad(err, "nic %zu: port forwards need a user NIC, not a tap",
			                  i);
		}
		fprintf(f, "tap,id=net%zu,ifname=%s,script=no,downscript=no%s", i, nic->ifname,
		        nic->vhost ? ",vhost=on" : "");
	} else {
		fclose(f);
		free(buf);
		return uk_err_bad(err, "nic %zu: unknown kind %d", i, (int)nic->kind);
	}
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return uk_err_errno(err, ENOMEM, "nic %zu: render", i);
	}
	av_add(a, "-netdev");
	av_add(a, buf);
	free(buf);
	av_add(a, "-device");
	p = NULL;
	if (nic->mac && asprintf(&p, ",mac=%s", nic->mac) < 0)
		a->oom = 1;
	/* romfile=: no PXE option ROM, nobody boots from the network */
	av_addf(a, "%s,netdev=net%zu%s", mmio ? "virtio-net-device" : "virtio-net-pci,romfile=", i,
	        p ? p : "");
	free(p);
	return 0;
}

int ukvmm_argv_render(const struct ukvmm_config *cfg, char ***argv, uk_err_t *err)
{
	enum ukvmm_machine machine = ukvmm_machine_pick(cfg);
	const char *mname = machine_name(machine);
	struct av a = {0};
	int mmio = machine == UKVMM_MACHINE_MICROVM;
	char *p;

	*argv = NULL;
	if (!mname)
		return uk_err_bad(err, "machine %d: expected microvm, pc or q35",
		                  (int)cfg->machine);
	if (cfg->accel != UKVMM_ACCEL_KVM && cfg->accel != UKVMM_ACCEL_TCG)
		return uk_err_bad(err, "accelerator: resolve \"auto\" first (ukvmm_accel_detect) "
		                       "or choose kvm or tcg");
	if (!cfg->kernel || !*cfg->kernel)
		return uk_err_bad(err, "kernel: a path is required");
	if (cfg->memory_mib < 2 || cfg->memory_mib > 1024 * 1024)
		return uk_err_bad(err, "memory: %u MiB is outside 2 MiB-1 TiB", cfg->memory_mib);
	if (cfg->vcpus < 1 || cfg->vcpus > 255)
		return uk_err_bad(err, "vcpus: %u is outside 1-255", cfg->vcpus);
	if (mmio && virtio_count(cfg) > UKVMM_MICROVM_SLOTS)
		return uk_err_bad(
		        err,
		        "microvm has %d virtio-mmio slots, the config needs %zu (%zu NICs, "
		        "%zu disks, %d rng): use machine pc or q35 (or auto)",
		        UKVMM_MICROVM_SLOTS, virtio_count(cfg), cfg->n_nics, cfg->n_disks,
		        cfg->rng ? 1 : 0);
	if (mmio && cfg->power_button)
		return uk_err_bad(err,
		                  "microvm has no power button the runtime handles: a graceful "
		                  "stop needs machine pc or q35 (or auto)");
	if (cfg->status.kind == UKVMM_CHAN_FD)
		return uk_err_bad(err, "status channel: a file or none, not an fd");
	if (cfg->run_as && !user_valid(cfg->run_as))
		return uk_err_bad(err, "run as: \"%s\" is not a user name", cfg->run_as);

	av_add(&a, cfg->qemu ? cfg->qemu : "qemu-system-x86_64");
	if (cfg->name) {
		p = esc(&a, cfg->name);
		/* guest= spelled out: a name like "debug-threads=on" must stay a name */
		av_add(&a, "-name");
		if (p)
			av_addf(&a, "guest=%s", p);
		free(p);
	}
	av_add(&a, "-M");
	av_add(&a, mname);
	av_add(&a, "-accel");
	av_add(&a, cfg->accel == UKVMM_ACCEL_KVM ? "kvm" : "tcg");
	av_add(&a, "-m");
	av_addf(&a, "%u", cfg->memory_mib);
	av_add(&a, "-smp");
	av_addf(&a, "%u", cfg->vcpus);
	/* -nodefaults: no VGA, NIC, floppy, CD, monitor or serial we did not ask for;
	 * -no-user-config: no /etc/qemu config file adding devices behind the renderer's back */
	av_add(&a, "-nodefaults");
	av_add(&a, "-no-user-config");
	av_add(&a, "-nographic");
	av_add(&a, "-no-reboot");
	if (cfg->start_paused)
		av_add(&a, "-S");
	if (cfg->gdb) {
		/* a chardev address only: "tcp:" and nothing that could add options */
		if (strncmp(cfg->gdb, "tcp:", 4) || strpbrk(cfg->gdb, ", ")) {
			uk_err_bad(err, "gdb \"%s\": expected \"tcp:IP:PORT\"", cfg->gdb);
			goto fail;
		}
		av_add(&a, "-gdb");
		av_add(&a, cfg->gdb);
	}
	if (cfg->firmware) {
		av_add(&a, "-bios");
		av_add(&a, cfg->firmware);
	}
	/* -kernel and -append take their value whole: no option syntax inside */
	av_add(&a, "-kernel");
	av_add(&a, cfg->kernel);
	av_add(&a, "-append");
	av_add(&a, cfg->cmdline ? cfg->cmdline : "");

	/* COM1 and COM2 on every machine (microvm makes only COM1 itself) */
	av_add(&a, "-chardev");
	if (chan_file(&a, &cfg->console, "uk.console", "console", err) < 0)
		goto fail;
	av_add(&a, "-serial");
	av_add(&a, "chardev:uk.console");
	av_add(&a, "-chardev");
	if (chan_file(&a, &cfg->status, "uk.status", "status channel", err) < 0)
		goto fail;
	av_add(&a, "-device");
	av_add(&a, "isa-serial,chardev=uk.status,index=1");
	if (cfg->clock_pipe) {
		if (!*cfg->clock_pipe) {
			uk_err_bad(err, "clock pipe: an empty path");
			goto fail;
		}
		p = esc(&a, cfg->clock_pipe);
		av_add(&a, "-chardev");
		if (p)
			av_addf(&a, "pipe,id=uk.clock,path=%s", p);
		free(p);
		av_add(&a, "-device");
		av_add(&a, "isa-serial,chardev=uk.clock,index=2");
	}
	av_add(&a, "-device");
	av_add(&a, "isa-debug-exit,iobase=0xf4,iosize=4");

	for (size_t i = 0; i < cfg->n_nics; i++) {
		if (cfg->nics[i].vhost && cfg->accel != UKVMM_ACCEL_KVM) {
			uk_err_bad(err,
			           "nic %zu: vhost-net needs kvm (its ioeventfd and irqfd); "
			           "leave vhost off under tcg",
			           i);
			goto fail;
		}
		if (render_nic(&a, &cfg->nics[i], i, mmio, err) < 0)
			goto fail;
	}
	for (size_t i = 0; i < cfg->n_disks; i++) {
		const struct ukvmm_disk *d = &cfg->disks[i];

		/* absolute: "nbd:...", "json:{...}" and other protocol prefixes never apply */
		if (!d->path || d->path[0] != '/') {
			uk_err_bad(err, "disk %zu: \"%s\" is not an absolute path", i,
			           d->path ? d->path : "(none)");
			goto fail;
		}
		p = esc(&a, d->path);
		av_add(&a, "-drive");
		if (p)
			av_addf(&a, "file=%s,if=none,id=disk%zu,format=raw,readonly=%s", p, i,
			        d->read_only ? "on" : "off");
		free(p);
		av_add(&a, "-device");
		av_addf(&a, "%s,drive=disk%zu", mmio ? "virtio-blk-device" : "virtio-blk-pci", i);
	}
	if (cfg->rng) {
		av_add(&a, "-object");
		av_add(&a, "rng-random,id=rng0,filename=/dev/urandom");
		av_add(&a, "-device");
		av_add(&a, mmio ? "virtio-rng-device,rng=rng0" : "virtio-rng-pci,rng=rng0");
	}
	if (cfg->qmp_socket) {
		p = esc(&a, cfg->qmp_socket);
		av_add(&a, "-chardev");
		if (p)
			av_addf(&a, "socket,id=uk.qmp,path=%s,server=on,wait=off", p);
		free(p);
		av_add(&a, "-mon");
		av_add(&a, "chardev=uk.qmp,mode=control");
	}
	if (cfg->pid_file) {
		av_add(&a, "-pidfile");
		av_add(&a, cfg->pid_file);
	}
	if (cfg->sandbox) {
		/* switching users needs setuid after the filter is in place */
		av_add(&a, "-sandbox");
		av_addf(&a, "on,obsolete=deny,elevateprivileges=%s,spawn=deny,resourcecontrol=deny",
		        cfg->run_as ? "allow" : "deny");
	}
	if (cfg->run_as) {
		if (cfg->qemu_version >= 90100) {
			av_add(&a, "-run-with");
			av_addf(&a, "user=%s", cfg->run_as);
		} else {
			av_add(&a, "-runas");
			av_add(&a, cfg->run_as);
		}
	}
	if (a.oom) {
		uk_err_errno(err, ENOMEM, "render QEMU's arguments");
		goto fail;
	}
	*argv = a.v;
	return 0;
fail:
	ukvmm_argv_free(a.v);
	return -1;
}
