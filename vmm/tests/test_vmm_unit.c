/* ukvmm unit tests: golden argv per config, refused configs, QMP framing/parsing, exit decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "uk/vmm.h"

/* Renders (cfg) and compares the argv, one element a line, with (want). */
static void check_golden(const struct ukvmm_config *cfg, const char *want)
{
	uk_err_t err = {0};
	char **argv = NULL, *got = NULL;
	size_t len = 0;
	FILE *f;

	if (ukvmm_argv_render(cfg, &argv, &err) < 0)
		fail_msg("render failed: %s", err.message);
	f = open_memstream(&got, &len);
	for (char **p = argv; *p; p++)
		fprintf(f, "%s\n", *p);
	fclose(f);
	if (strcmp(got, want)) {
		fprintf(stderr, "--- got\n%s--- want\n%s", got, want);
		fail_msg("argv differs from the golden one");
	}
	free(got);
	ukvmm_argv_free(argv);
}

/* A config that depends on nothing on this host. */
static void base(struct ukvmm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->qemu = "/usr/bin/qemu-system-x86_64";
	c->accel = UKVMM_ACCEL_TCG;
	c->memory_mib = 16;
	c->vcpus = 1;
	c->kernel = "/k/hello";
	c->cmdline = "seed=00 -- world \"two words\"";
	c->firmware = UKVMM_QBOOT;
	c->console = (struct ukvmm_chan){UKVMM_CHAN_FILE, "/run/i/console.log", -1};
	c->status = (struct ukvmm_chan){UKVMM_CHAN_FILE, "/run/i/status", -1};
}

static void golden_microvm(void **state)
{
	struct ukvmm_config c;

	(void)state;
	base(&c);
	c.qmp_socket = "/run/i/qmp";
	c.pid_file = "/run/i/pid";
	c.sandbox = 1;
	check_golden(&c, "/usr/bin/qemu-system-x86_64\n-M\nmicrovm\n-accel\ntcg\n-m\n16\n-smp\n1\n"
	                 "-nodefaults\n-no-user-config\n-nographic\n-no-reboot\n-bios\n/usr/share/"
	                 "qemu/qboot.rom\n"
	                 "-kernel\n/k/hello\n-append\nseed=00 -- world \"two words\"\n"
	                 "-chardev\nfile,id=uk.console,path=/run/i/console.log,append=on\n"
	                 "-serial\nchardev:uk.console\n"
	                 "-chardev\nfile,id=uk.status,path=/run/i/status,append=on\n"
	                 "-device\nisa-serial,chardev=uk.status,index=1\n"
	                 "-device\nisa-debug-exit,iobase=0xf4,iosize=4\n"
	                 "-chardev\nsocket,id=uk.qmp,path=/run/i/qmp,server=on,wait=off\n"
	                 "-mon\nchardev=uk.qmp,mode=control\n-pidfile\n/run/i/pid\n"
	                 "-sandbox\non,obsolete=deny,elevateprivileges=deny,spawn=deny,"
	                 "resourcecontrol=deny\n");
}

/* A power button picks pc; forwards, MAC, a disk whose path holds commas, rng, paused, -runas. */
static void golden_pc_devices(void **state)
{
	struct ukvmm_fwd fw[] = {{UKVMM_TCP, "127.0.0.1", 8080, 80},
	                         {UKVMM_UDP, "0.0.0.0", 5353, 53}};
	struct ukvmm_nic nic = {UKVMM_NIC_USER, "52:54:00:AB:cd:01", NULL, fw, 2, 0};
	struct ukvmm_disk disk = {"/var/lib/uk/a,b/vol,,1.img", 1};
	struct ukvmm_config c;

	(void)state;
	base(&c);
	c.name = "uk-abc,def,process=x";
	c.power_button = 1;
	c.nics = &nic;
	c.n_nics = 1;
	c.disks = &disk;
	c.n_disks = 1;
	c.rng = 1;
	c.start_paused = 1;
	c.clock_pipe = "/var/lib/uk/clock/a,b"; /* COM3: the host's time record */
	c.accel = UKVMM_ACCEL_KVM;
	c.vcpus = 2;
	c.firmware = NULL;
	c.console = (struct ukvmm_chan){UKVMM_CHAN_FD, NULL, 7};
	c.status = (struct ukvmm_chan){UKVMM_CHAN_NONE, NULL, -1};
	c.sandbox = 1;
	c.run_as = "libvirt-qemu";
	c.qemu_version = 70222;
	check_golden(
	        &c, "/usr/bin/"
	            "qemu-system-x86_64\n-name\nguest=uk-abc,,def,,process=x\n-M\npc\n-accel\nkvm\n"
	            "-m\n16\n-smp\n2\n-nodefaults\n-no-user-config\n-nographic\n-no-reboot\n-S\n"
	            "-kernel\n/k/hello\n-append\nseed=00 -- world \"two words\"\n"
	            "-chardev\nstdio,id=uk.console,signal=off\n-serial\nchardev:uk.console\n"
	            "-chardev\nnull,id=uk.status\n"
	            "-device\nisa-serial,chardev=uk.status,index=1\n"
	            "-chardev\npipe,id=uk.clock,path=/var/lib/uk/clock/a,,b\n"
	            "-device\nisa-serial,chardev=uk.clock,index=2\n"
	            "-device\nisa-debug-exit,iobase=0xf4,iosize=4\n"
	            "-netdev\nuser,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80,"
	            "hostfwd=udp:0.0.0.0:5353-:53\n"
	            "-device\nvirtio-net-pci,romfile=,netdev=net0,mac=52:54:00:AB:cd:01\n"
	            "-drive\nfile=/var/lib/uk/a,,b/vol,,,,1.img,if=none,id=disk0,format=raw,"
	            "readonly=on\n-device\nvirtio-blk-pci,drive=disk0\n"
	            "-object\nrng-random,id=rng0,filename=/dev/urandom\n"
	            "-device\nvirtio-rng-pci,rng=rng0\n"
	            "-sandbox\non,obsolete=deny,elevateprivileges=allow,spawn=deny,"
	            "resourcecontrol=deny\n-runas\nlibvirt-qemu\n");
	/* QEMU 9.1 replaced -runas */
	c.qemu_version = 90100;
	c.sandbox = 0;
	c.power_button = 0;
	c.machine = UKVMM_MACHINE_Q35;
	c.rng = 0;
	c.n_disks = 0;
	c.start_paused = 0;
	c.clock_pipe = NULL;
	c.name = NULL;
	c.n_nics = 0;
	check_golden(&c, "/usr/bin/qemu-system-x86_64\n-M\nq35\n-accel\nkvm\n"
	                 "-m\n16\n-smp\n2\n-nodefaults\n-no-user-config\n-nographic\n-no-reboot\n"
	                 "-kernel\n/k/hello\n-append\nseed=00 -- world \"two words\"\n"
	                 "-chardev\nstdio,id=uk.console,signal=off\n-serial\nchardev:uk.console\n"
	                 "-chardev\nnull,id=uk.status\n"
	                 "-device\nisa-serial,chardev=uk.status,index=1\n"
	                 "-device\nisa-debug-exit,iobase=0xf4,iosize=4\n"
	                 "-run-with\nuser=libvirt-qemu\n");
}

/* microvm: virtio-mmio devices; a tap; a console path with a comma. */
static void golden_microvm_mmio(void **state)
{
	struct ukvmm_nic nics[] = {{UKVMM_NIC_TAP, "02:00:00:00:00:01", "tap0", NULL, 0, 0},
	                           {UKVMM_NIC_USER, NULL, NULL, NULL, 0, 0}};
	struct ukvmm_disk disk = {"/d.img", 0};
	struct ukvmm_config c;

	(void)state;
	base(&c);
	c.cmdline = NULL;
	c.console.path = "/tmp/a,b/console";
	c.nics = nics;
	c.n_nics = 2;
	c.disks = &disk;
	c.n_disks = 1;
	c.rng = 1;
	check_golden(&c,
	             "/usr/bin/qemu-system-x86_64\n-M\nmicrovm\n-accel\ntcg\n-m\n16\n-smp\n1\n"
	             "-nodefaults\n-no-user-config\n-nographic\n-no-reboot\n-bios\n/usr/share/qemu/"
	             "qboot.rom\n"
	             "-kernel\n/k/hello\n-append\n\n"
	             "-chardev\nfile,id=uk.console,path=/tmp/a,,b/console,append=on\n"
	             "-serial\nchardev:uk.console\n"
	             "-chardev\nfile,id=uk.status,path=/run/i/status,append=on\n"
	             "-device\nisa-serial,chardev=uk.status,index=1\n"
	             "-device\nisa-debug-exit,iobase=0xf4,iosize=4\n"
	             "-netdev\ntap,id=net0,ifname=tap0,script=no,downscript=no\n"
	             "-device\nvirtio-net-device,netdev=net0,mac=02:00:00:00:00:01\n"
	             "-netdev\nuser,id=net1,restrict=on\n-device\nvirtio-net-device,netdev=net1\n"
	             "-drive\nfile=/d.img,if=none,id=disk0,format=raw,readonly=off\n"
	             "-device\nvirtio-blk-device,drive=disk0\n"
	             "-object\nrng-random,id=rng0,filename=/dev/urandom\n"
	             "-device\nvirtio-rng-device,rng=rng0\n");
}

/* A KVM guest's tap through vhost-net (the qemu backend asks where /dev/vhost-net opens). */
static void vhost_tap(void **state)
{
	struct ukvmm_nic nic = {UKVMM_NIC_TAP, NULL, "tap0", NULL, 0, 1};
	struct ukvmm_config c;
	uk_err_t err = {0};
	char **argv = NULL;
	int found = 0;

	(void)state;
	base(&c);
	c.accel = UKVMM_ACCEL_KVM;
	c.nics = &nic;
	c.n_nics = 1;
	assert_int_equal(ukvmm_argv_render(&c, &argv, &err), 0);
	for (char **a = argv; *a; a++)
		found += !strcmp(*a, "tap,id=net0,ifname=tap0,script=no,downscript=no,vhost=on");
	assert_int_equal(found, 1);
	ukvmm_argv_free(argv);
	nic.vhost = 0;
	assert_int_equal(ukvmm_argv_render(&c, &argv, &err), 0);
	for (char **a = argv; *a; a++)
		assert_null(strstr(*a, "vhost"));
	ukvmm_argv_free(argv);
}

static void expect_refused(const struct ukvmm_config *c, const char *needle)
{
	uk_err_t err = {0};
	char **argv = (char **)1;

	assert_int_equal(ukvmm_argv_render(c, &argv, &err), -1);
	assert_null(argv);
	assert_int_equal(err.status, 400);
	if (!strstr(err.message, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err.message, needle);
}

static void refused_configs(void **state)
{
	struct ukvmm_disk disks[9];
	struct ukvmm_fwd fw = {UKVMM_TCP, "127.0.0.1", 0, 80};
	struct ukvmm_nic nic = {UKVMM_NIC_USER, NULL, NULL, &fw, 1, 0};
	struct ukvmm_config c;

	(void)state;
	for (int i = 0; i < 9; i++)
		disks[i] = (struct ukvmm_disk){"/d", 1};
	base(&c);
	c.machine = UKVMM_MACHINE_MICROVM;
	c.disks = disks;
	c.n_disks = 9;
	expect_refused(&c, "8 virtio-mmio slots, the config needs 9");
	/* auto picks pc for the same devices */
	c.machine = UKVMM_MACHINE_AUTO;
	assert_int_equal(ukvmm_machine_pick(&c), UKVMM_MACHINE_PC);
	c.n_disks = 8;
	assert_int_equal(ukvmm_machine_pick(&c), UKVMM_MACHINE_MICROVM);
	c.n_disks = 0;

	c.nics = &nic;
	c.n_nics = 1;
	expect_refused(&c, "port 0");
	fw.host_port = 8080;
	fw.guest_port = 0;
	expect_refused(&c, "port 0");
	fw.guest_port = 80;
	fw.host_addr = "localhost";
	expect_refused(&c, "not an IPv4 address");
	fw.host_addr = "127.0.0.1";
	nic.mac = "01:00:5e:00:00:01";
	expect_refused(&c, "unicast");
	nic.mac = "52:54:00:12:34";
	expect_refused(&c, "six hex pairs");
	nic.mac = "52:54:00:12:34:5g";
	expect_refused(&c, "six hex pairs");
	nic.mac = "52-54-00-12-34-56";
	expect_refused(&c, "six hex pairs");
	nic.mac = NULL;
	nic.kind = UKVMM_NIC_TAP;
	nic.ifname = "tap0";
	expect_refused(&c, "forwards need a user NIC");
	nic.n_fwds = 0;
	nic.ifname = "tap,0";
	expect_refused(&c, "tap name");
	nic.ifname = "a-name-too-long0";
	expect_refused(&c, "tap name");
	nic.ifname = "tap0";
	nic.vhost = 1; /* base() is tcg */
	expect_refused(&c, "vhost-net needs kvm");
	nic.vhost = 0;
	c.n_nics = 0;

	c.disks = disks;
	c.n_disks = 1;
	disks[0].path = "json:{\"file\":{\"driver\":\"nbd\"}}";
	expect_refused(&c, "not an absolute path");
	c.n_disks = 0;

	c.accel = UKVMM_ACCEL_AUTO;
	expect_refused(&c, "resolve \"auto\"");
	c.accel = UKVMM_ACCEL_TCG;
	c.kernel = NULL;
	expect_refused(&c, "kernel");
	c.kernel = "/k";
	c.memory_mib = 1;
	expect_refused(&c, "memory");
	c.memory_mib = 16;
	c.vcpus = 0;
	expect_refused(&c, "vcpus");
	c.vcpus = 1;
	c.machine = UKVMM_MACHINE_MICROVM;
	c.power_button = 1;
	expect_refused(&c, "power button");
	c.power_button = 0;
	c.status = (struct ukvmm_chan){UKVMM_CHAN_FD, NULL, 3};
	expect_refused(&c, "status channel");
	c.status = (struct ukvmm_chan){UKVMM_CHAN_FILE, "", -1};
	expect_refused(&c, "needs a path");
	c.status.path = "/s";
	c.run_as = "root,evil=1";
	expect_refused(&c, "not a user name");
	c.run_as = NULL;
	c.machine = 42;
	expect_refused(&c, "machine 42");
}

static void escape(void **state)
{
	char *e = ukvmm_opt_escape(",a,,b,");

	(void)state;
	assert_string_equal(e, ",,a,,,,b,,");
	free(e);
	e = ukvmm_opt_escape("");
	assert_string_equal(e, "");
	free(e);
}

static void version(void **state)
{
	static const char out[] = "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n"
	                          "Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project\n";

	(void)state;
	assert_int_equal(ukvmm_parse_version(out, strlen(out)), 70222);
	assert_int_equal(ukvmm_parse_version("QEMU emulator version 9.1.0\n", 28), 90100);
	assert_int_equal(ukvmm_parse_version("QEMU emulator version 10.0\n", 27), 100000);
	assert_int_equal(ukvmm_parse_version("no version here", 15), -1);
	assert_int_equal(ukvmm_parse_version("version 7", 9), -1);
	assert_int_equal(ukvmm_parse_version("version 1234.1.1", 16), -1);
	/* not NUL-terminated: the length bounds the scan */
	assert_int_equal(ukvmm_parse_version("version 7.2.1", 11), 70200);
}

/* AUTO follows the host: no usable /dev/kvm, or PVM, means TCG, and the reason says which. */
static void accel(void **state)
{
	char reason[256];
	enum ukvmm_accel a = ukvmm_accel_detect(reason, sizeof(reason));
	struct stat st;

	(void)state;
	printf("accelerator: %s\n", reason);
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		assert_int_equal(a, UKVMM_ACCEL_TCG);
		assert_non_null(strstr(reason, "/dev/kvm is not usable"));
	} else if (stat("/sys/module/kvm_pvm", &st) == 0) {
		assert_int_equal(a, UKVMM_ACCEL_TCG);
		assert_non_null(strstr(reason, "PVM"));
	}
	assert_true(!strncmp(reason, a == UKVMM_ACCEL_KVM ? "kvm: " : "tcg: ", 5));
	/* a NULL reason is allowed */
	assert_int_equal(ukvmm_accel_detect(NULL, 0), a);
}

/* A fake QEMU script at (path): refuses -sandbox when (seccomp) is 0, prints (version_line). */
static void fake_binary(const char *path, int seccomp, const char *version_line)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n");
	if (!seccomp)
		fprintf(f, "[ \"$1\" = -sandbox ] && { echo \"$0: -sandbox on: -sandbox is not "
		           "supported by this QEMU binary\"; exit 1; }\n");
	fprintf(f, "echo '%s'\n", version_line);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

static void probe(void **state)
{
	char dir[] = "/tmp/ukvmm-probe.XXXXXX", path[64];
	struct ukvmm_qemu_caps caps;
	uk_err_t err = {0};

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qemu", dir);
	fake_binary(path, 1, "QEMU emulator version 9.2.0");
	assert_int_equal(ukvmm_qemu_probe(path, &caps, &err), 0);
	assert_int_equal(caps.version, 90200);
	assert_int_equal(caps.sandbox, 1);
	fake_binary(path, 0, "QEMU emulator version 7.2.22 (Debian)");
	assert_int_equal(ukvmm_qemu_probe(path, &caps, &err), 0);
	assert_int_equal(caps.version, 70222);
	assert_int_equal(caps.sandbox, 0);
	fake_binary(path, 1, "not a qemu");
	assert_int_equal(ukvmm_qemu_probe(path, &caps, &err), -1);
	assert_non_null(strstr(err.message, "no version"));
	unlink(path);
	assert_int_equal(ukvmm_qemu_probe(path, &caps, &err), -1);
	assert_int_equal(ukvmm_qemu_probe("/x'y", &caps, &err), -1);
	rmdir(dir);
}

static void exit_status(void **state)
{
	struct ukvmm_exit x;
	const char *line = "junk\nUK_EXIT=7\nUK_EXIT=143\r\n";

	(void)state;
	assert_int_equal(ukvmm_status_parse(line, strlen(line)), 143);
	assert_int_equal(ukvmm_status_parse("UK_EXIT=256\n", 12), -1);
	assert_int_equal(ukvmm_status_parse("UK_EXIT=\n", 9), -1);
	assert_int_equal(ukvmm_status_parse("UK_EXIT=4x\n", 11), -1);
	assert_int_equal(ukvmm_status_parse("xUK_EXIT=4\n", 11), -1);
	assert_int_equal(ukvmm_status_parse("UK_EXIT=0", 9), 0);
	assert_int_equal(ukvmm_status_parse("UK_EXIT=00042\n", 14), -1);

	/* the line wins over QEMU's truncated status */
	ukvmm_exit_decode(W_EXITCODE((15 << 1) | 1, 0), line, strlen(line), &x);
	assert_int_equal(x.code, 143);
	assert_int_equal(x.source, UKVMM_EXIT_CHANNEL);
	/* no channel: (n<<1)|1, low 7 bits */
	ukvmm_exit_decode(W_EXITCODE(85, 0), NULL, 0, &x);
	assert_int_equal(x.code, 42);
	assert_int_equal(x.source, UKVMM_EXIT_DEBUG_EXIT);
	ukvmm_exit_decode(W_EXITCODE(1, 0), NULL, 0, &x);
	assert_int_equal(x.code, 0);
	/* an empty channel and QEMU's 1: QEMU failed, not exit(0) */
	ukvmm_exit_decode(W_EXITCODE(1, 0), "", 0, &x);
	assert_int_equal(x.code, -1);
	assert_int_equal(x.source, UKVMM_EXIT_NONE);
	ukvmm_exit_decode(W_EXITCODE(85, 0), "", 0, &x);
	assert_int_equal(x.code, 42);
	ukvmm_exit_decode(W_EXITCODE(0, 0), "", 0, &x);
	assert_int_equal(x.code, -1);
	ukvmm_exit_decode(W_EXITCODE(2, 0), NULL, 0, &x);
	assert_int_equal(x.code, -1);
	ukvmm_exit_decode(W_EXITCODE(0, 9), "", 0, &x);
	assert_int_equal(x.code, 137);
	assert_int_equal(x.source, UKVMM_EXIT_SIGNAL);
}

static void qmp_parse(void **state)
{
	struct ukvmm_qmp_msg m;
	uk_err_t err = {0};
	char deep[200];
	const char *s;

	(void)state;
	s = "{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}";
	assert_int_equal(ukvmm_qmp_parse(s, strlen(s), &m, &err), 0);
	assert_int_equal(m.kind, UKVMM_QMP_GREETING);
	ukvmm_qmp_msg_clear(&m);
	s = "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 7}";
	assert_int_equal(ukvmm_qmp_parse(s, strlen(s), &m, &err), 0);
	assert_int_equal(m.kind, UKVMM_QMP_RETURN);
	assert_int_equal(m.id, 7);
	assert_true(json_object_is_type(m.value, json_type_object));
	ukvmm_qmp_msg_clear(&m);
	s = "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"no\"}, \"id\": 3}";
	assert_int_equal(ukvmm_qmp_parse(s, strlen(s), &m, &err), 0);
	assert_int_equal(m.kind, UKVMM_QMP_ERROR);
	assert_string_equal(m.eclass, "CommandNotFound");
	assert_string_equal(m.desc, "no");
	ukvmm_qmp_msg_clear(&m);
	s = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"SHUTDOWN\", "
	    "\"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}";
	assert_int_equal(ukvmm_qmp_parse(s, strlen(s), &m, &err), 0);
	assert_int_equal(m.kind, UKVMM_QMP_EVENT);
	assert_string_equal(m.event, "SHUTDOWN");
	assert_int_equal(m.id, -1);
	ukvmm_qmp_msg_clear(&m);

	static const char *bad[] = {
	        "[1]",
	        "{\"return\": 1",
	        "{}",
	        "{\"event\": 5}",
	        "{\"error\": \"x\"}",
	        "{\"error\": {\"desc\": \"no class\"}}",
	        "{\"return\": {}} trailing",
	        "nul",
	        "{\"return\": 'single'}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(ukvmm_qmp_parse(bad[i], strlen(bad[i]), &m, &err), -1);
		assert_int_equal(err.status, 502);
		assert_null(m.root);
	}
	assert_int_equal(ukvmm_qmp_parse("{\"return\":{}}\0x", 15, &m, &err), -1);
	/* nesting deeper than QEMU ever sends */
	memset(deep, '[', 100);
	memcpy(deep, "{\"return\":", 10);
	memset(deep + 100, ']', 90);
	memcpy(deep + 190, "}", 2);
	assert_int_equal(ukvmm_qmp_parse(deep, strlen(deep), &m, &err), -1);
}

static void feed(struct ukvmm_qmp_rbuf *rb, const char *s)
{
	size_t space, n = strlen(s);
	char *at = ukvmm_qmp_rbuf_space(rb, &space);

	assert_true(n <= space);
	memcpy(at, s, n);
	rb->len += n;
}

static void qmp_framing(void **state)
{
	static struct ukvmm_qmp_rbuf rb;
	uk_err_t err = {0};
	const char *line;
	size_t len, space;
	char *at;

	(void)state;
	feed(&rb, "{\"a\":");
	assert_int_equal(ukvmm_qmp_rbuf_line(&rb, &line, &len, &err), 0);
	feed(&rb, "1}\r\n{\"b\"");
	assert_int_equal(ukvmm_qmp_rbuf_line(&rb, &line, &len, &err), 1);
	assert_int_equal(len, 7);
	assert_memory_equal(line, "{\"a\":1}", 7);
	assert_int_equal(ukvmm_qmp_rbuf_line(&rb, &line, &len, &err), 0);
	feed(&rb, ":2}\n\n");
	assert_int_equal(ukvmm_qmp_rbuf_line(&rb, &line, &len, &err), 1);
	assert_memory_equal(line, "{\"b\":2}", 7);
	assert_int_equal(ukvmm_qmp_rbuf_line(&rb, &line, &len, &err), 1);
	assert_int_equal(len, 0);
	assert_int_equal(ukvmm_qmp_rbuf_line(&rb, &line, &len, &err), 0);
	/* a line that never ends fills the buffer and is refused, not grown */
	at = ukvmm_qmp_rbuf_space(&rb, &space);
	assert_int_equal(space, UKVMM_QMP_MAX_LINE);
	memset(at, 'x', space);
	rb.len += space;
	assert_int_equal(ukvmm_qmp_rbuf_line(&rb, &line, &len, &err), -1);
	assert_int_equal(err.status, 502);
	ukvmm_qmp_rbuf_space(&rb, &space);
	assert_int_equal(space, 0);
}

/* A fake QEMU on a unix socket: sends (script) after accepting, then reads and drops what comes
 * for (linger_s) seconds; a negative (linger_s): closes at once. */
static pid_t fake_qemu(const char *path, const char *script, int linger_s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	pid = fork();
	if (pid == 0) {
		int c = accept(l, NULL, NULL);
		char buf[4096];
		size_t n = strlen(script);

		/* the script's start goes out in pieces: a reader must reassemble lines */
		for (size_t i = 0; i < n;) {
			size_t k = i < 1024 ? (n - i < 7 ? n - i : 7) : n - i;
			ssize_t w = write(c, script + i, k);
			if (w <= 0)
				_exit(1);
			i += (size_t)w;
			usleep(200);
		}
		if (linger_s < 0)
			_exit(0);
		alarm((unsigned)linger_s);
		while (read(c, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(l);
	return pid;
}

/* Connecting to a fake QEMU that sends (script) fails with (status) within (timeout_ms). */
static void expect_connect_fails(const char *path, const char *script, int timeout_ms, int status)
{
	pid_t pid = fake_qemu(path, script, status == 410 ? -1 : 3);
	uk_err_t err = {0};

	assert_null(ukvmm_qmp_connect(path, timeout_ms, &err));
	if (err.status != status)
		fail_msg("connect: %d %s, want %d", err.status, err.message, status);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int events_seen;
static void count_event(void *opaque, const char *event, json_object *data)
{
	(void)data;
	if (!strcmp(event, (const char *)opaque))
		events_seen++;
}

static void qmp_peers(void **state)
{
	char dir[] = "/tmp/ukvmm-qmp.XXXXXX", path[64], ev[32];
	struct ukvmm_qmp *q;
	uk_err_t err = {0};
	int running = -1;
	char status[32];
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/q", dir);

	/* nobody listening: a bounded wait, then 504 */
	q = ukvmm_qmp_connect(path, 150, &err);
	assert_null(q);
	assert_int_equal(err.status, 504);

	/* greeting, capabilities, an event before the reply (handed to the callback) */
	pid = fake_qemu(
	        path,
	        "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n"
	        "{\"return\": {}, \"id\": 1}\r\n"
	        "{\"event\": \"RESUME\", \"timestamp\": {}}\r\n"
	        "{\"return\": {}, \"id\": 99}\r\n"
	        "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 2}\r\n"
	        "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}}\r\n"
	        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}, \"id\": 3}\r\n",
	        5);
	q = ukvmm_qmp_connect(path, 5000, &err);
	if (!q)
		fail_msg("connect: %s", err.message);
	ukvmm_qmp_on_event(q, count_event, "RESUME");
	assert_int_equal(ukvmm_qmp_query_status(q, status, sizeof(status), &running, &err), 0);
	assert_string_equal(status, "running");
	assert_int_equal(running, 1);
	assert_int_equal(events_seen, 1);
	assert_int_equal(ukvmm_qmp_next_event(q, ev, sizeof(ev), 2000, &err), 1);
	assert_string_equal(ev, "SHUTDOWN");
	assert_int_equal(ukvmm_qmp_cont(q, &err), -1);
	assert_int_equal(err.status, 409);
	assert_string_equal(err.code, "qmp_GenericError");
	assert_non_null(strstr(err.message, "nope"));
	/* nothing more comes: timeout is 0, not an error */
	assert_int_equal(ukvmm_qmp_next_event(q, ev, sizeof(ev), 100, &err), 0);
	ukvmm_qmp_close(q);
	waitpid(pid, NULL, 0);

	/* a peer that greets and then never answers: 504 within the bound */
	expect_connect_fails(path, "{\"QMP\": {}}\n", 300, 504);
	/* a peer that floods bytes without a newline: refused (502), never buffered past 64 KiB */
	{
		char *flood = malloc(UKVMM_QMP_MAX_LINE + 100);
		memset(flood, 'x', UKVMM_QMP_MAX_LINE + 99);
		flood[UKVMM_QMP_MAX_LINE + 99] = '\0';
		memcpy(flood, "{\"QMP\": {}}\n", 12);
		expect_connect_fails(path, flood, 10000, 502);
		free(flood);
	}
	/* a peer that sends junk first */
	expect_connect_fails(path, "HTTP/1.1 200 OK\r\n", 3000, 502);
	/* a peer that closes after the greeting: 410, at once */
	expect_connect_fails(path, "{\"QMP\": {}}\n", 10000, 410);
	unlink(path);
	rmdir(dir);
}

/* gdb: -S then -gdb tcp:IP:PORT; anything but a plain tcp address is refused. */
static void gdb_stub(void **state)
{
	struct ukvmm_config c;

	(void)state;
	base(&c);
	c.start_paused = 1;
	c.gdb = "tcp:127.0.0.1:1234";
	check_golden(&c, "/usr/bin/qemu-system-x86_64\n-M\nmicrovm\n-accel\ntcg\n-m\n16\n-smp\n1\n"
	                 "-nodefaults\n-no-user-config\n-nographic\n-no-reboot\n-S\n"
	                 "-gdb\ntcp:127.0.0.1:1234\n-bios\n/usr/share/qemu/qboot.rom\n"
	                 "-kernel\n/k/hello\n-append\nseed=00 -- world \"two words\"\n"
	                 "-chardev\nfile,id=uk.console,path=/run/i/console.log,append=on\n"
	                 "-serial\nchardev:uk.console\n"
	                 "-chardev\nfile,id=uk.status,path=/run/i/status,append=on\n"
	                 "-device\nisa-serial,chardev=uk.status,index=1\n"
	                 "-device\nisa-debug-exit,iobase=0xf4,iosize=4\n");
	c.gdb = "tcp:127.0.0.1:1234,server=on,ipv6=on";
	expect_refused(&c, "gdb");
	c.gdb = "unix:/tmp/gdb.sock";
	expect_refused(&c, "gdb");
	c.gdb = "tcp:127.0.0.1:1 -monitor";
	expect_refused(&c, "gdb");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(golden_microvm),
	        cmocka_unit_test(golden_pc_devices),
	        cmocka_unit_test(golden_microvm_mmio),
	        cmocka_unit_test(refused_configs),
	        cmocka_unit_test(vhost_tap),
	        cmocka_unit_test(gdb_stub),
	        cmocka_unit_test(escape),
	        cmocka_unit_test(version),
	        cmocka_unit_test(probe),
	        cmocka_unit_test(accel),
	        cmocka_unit_test(exit_status),
	        cmocka_unit_test(qmp_parse),
	        cmocka_unit_test(qmp_framing),
	        cmocka_unit_test(qmp_peers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
