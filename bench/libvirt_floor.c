/* Benchmark helper: ukd's domain XML started through libvirt alone, timed to the exit report. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void *event_loop(void *arg)
{
	(void)arg;
	for (;;)
		virEventRunDefaultImpl();
	return NULL;
}

static int status_written(const char *path)
{
	char buf[64] = {0};
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return 0;
	ok = fread(buf, 1, sizeof(buf) - 1, f) > 0 && strstr(buf, "UK_EXIT=") && strchr(buf, '\n');
	fclose(f);
	return ok;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void quiet(void *u, virErrorPtr e)
{
	(void)u;
	(void)e;
}

int main(int argc, char **argv)
{
	struct ukd_vm spec = {0};
	char console[4096], status[4096];
	double *create_ms, *total_ms;
	virConnectPtr conn;
	pthread_t loop;
	int runs, i;
	char *xml, name[64];

	if (argc != 6) {
		fprintf(stderr, "usage: libvirt_floor URI KERNEL CMDLINE TMPDIR RUNS\n"
		                "prints p50/p90 ms of virDomainCreateXML and of create to the "
		                "guest's exit report\n");
		return 2;
	}
	runs = atoi(argv[5]);
	snprintf(console, sizeof(console), "%s/console.log", argv[4]);
	snprintf(status, sizeof(status), "%s/status.log", argv[4]);
	spec.name = name;
	spec.accel = UKD_VM_TCG;
	spec.vcpus = 1;
	spec.kernel = argv[2];
	spec.cmdline = argv[3];
	spec.memory = 16ull << 20;
	spec.console_log = console;
	spec.status_log = status;

	virSetErrorFunc(NULL, quiet);
	virEventRegisterDefaultImpl();
	pthread_create(&loop, NULL, event_loop, NULL);
	conn = virConnectOpen(argv[1]);
	if (!conn) {
		fprintf(stderr, "libvirt_floor: cannot open %s\n", argv[1]);
		return 1;
	}
	create_ms = calloc(runs, sizeof(double));
	total_ms = calloc(runs, sizeof(double));
	for (i = 0; i < runs; i++) {
		double t0, t1;
		virDomainPtr d;
		int state, reason;

		/* A name per run: libvirt may still hold the last run's domain after a lookup by
		 * name no longer finds it ("already exists" at the next create). */
		snprintf(name, sizeof(name), "uk-bench-floor-%d-%d", (int)getpid(), i);
		xml = ukd_backend_domain_xml(&spec);
		unlink(status);
		t0 = now_ms();
		d = virDomainCreateXML(conn, xml, 0);
		if (!d) {
			fprintf(stderr, "libvirt_floor: create failed: %s\n",
			        virGetLastErrorMessage());
			return 1;
		}
		t1 = now_ms();
		/* Done when the guest has reported its exit status on COM2, as ukd records it. */
		while (!status_written(status) && now_ms() - t0 < 30000)
			usleep(500);
		total_ms[i] = now_ms() - t0;
		create_ms[i] = t1 - t0;
		/* Not timed: wait until libvirt has dropped the transient domain. */
		while (virDomainGetState(d, &state, &reason, 0) == 0 && state != VIR_DOMAIN_SHUTOFF)
			usleep(2000);
		virDomainFree(d);
		while ((d = virDomainLookupByName(conn, spec.name))) {
			virDomainFree(d);
			usleep(2000);
		}
		free(xml);
	}
	qsort(create_ms, runs, sizeof(double), cmp);
	qsort(total_ms, runs, sizeof(double), cmp);
	printf("%.1f %.1f %.1f %.1f\n", create_ms[runs / 2], create_ms[runs * 9 / 10],
	       total_ms[runs / 2], total_ms[runs * 9 / 10]);
	return 0;
}
