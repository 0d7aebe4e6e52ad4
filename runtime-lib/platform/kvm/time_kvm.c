/* PVH platform clocks and idling: kvmclock, Xen's vCPU time info or a calibrated TSC, the CMOS
 * RTC, and LAPIC-timer wakeups around hlt. */
#include "platform/kvm/kvm.h"
#include "platform/bindings.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/x86.h"
#include <uk/uk.h>
#include <uk/internal.h>
#include <stdio.h>
#include <string.h>

#define MSR_TSC_DEADLINE 0x6e0
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define PIT_HZ 1193182ULL
#define CALIBRATE_MS 3 /* per window: two agreeing windows are needed */

struct pvclock_wall {
	uint32_t version, sec, nsec;
} __attribute__((packed));

static volatile struct uk_pvclock kvmclock __attribute__((aligned(64)));
static const volatile struct uk_pvclock *pvclock = &kvmclock; /* the one CLOCK_KVM reads */
static const char *given_name;                                /* set by uk_clock_use_pvclock() */
static uint64_t given_wall_ns;
static volatile struct pvclock_wall kvmwall __attribute__((aligned(64)));

static enum { CLOCK_NONE, CLOCK_TSC, CLOCK_KVM } clock_kind;
static uint64_t tsc_mult;        /* ns = (ticks * tsc_mult) >> 32 */
static uint64_t boot_ns_at_init; /* monotonic ns at clock init (TSC since boot) */
static uint64_t wall_at_init;    /* wall ns at clock init */
static uint64_t lapic_per_ms;    /* LAPIC timer ticks per ms (divide by 1) */
static int tsc_deadline;
static const char *clock_source = "none";
static const char *wall_source = "none";
static uint64_t record_wait_ns; /* how long the time record took to arrive (diagnostics) */

static void timer_irq(int vec)
{
	(void)vec; /* waking the hlt was the point */
}

void uk_kvm_timer_init(void)
{
	uint32_t r[4];

	uk_lapic_init();
	uk_lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | UK_IRQ_TIMER);
	uk_arch_irq_register(UK_IRQ_TIMER, timer_irq);
	cpuid(1, 0, r);
	tsc_deadline = (r[2] >> 24) & 1;
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * tsc_mult) >> 32);
}

static uint64_t kvmclock_ns(void)
{
	uint32_t v;
	uint64_t ns;

	do {
		v = pvclock->version;
		__asm__ volatile("" ::: "memory");
		uint64_t d = uk_rdtsc() - pvclock->tsc_timestamp;

		d = pvclock->shift >= 0 ? d << pvclock->shift : d >> -pvclock->shift;
		ns = pvclock->system_time + (uint64_t)(((unsigned __int128)d * pvclock->mul) >> 32);
		__asm__ volatile("" ::: "memory");
	} while ((v & 1) || v != pvclock->version);
	return ns;
}

void uk_clock_use_pvclock(const volatile struct uk_pvclock *pc, uint64_t wall_ns_at_zero,
                          uint64_t lapic_ticks_per_ms, const char *name)
{
	pvclock = pc;
	lapic_per_ms = lapic_ticks_per_ms;
	given_wall_ns = wall_ns_at_zero;
	given_name = name;
}

static int has_kvmclock(void)
{
	uint32_t r[4];

	cpuid(0x40000000, 0, r);
	if (r[1] != 0x4b4d564b || r[2] != 0x564b4d56 || r[3] != 0x4d) /* "KVMKVMKVM" */
		return 0;
	cpuid(0x40000001, 0, r);
	return (r[0] >> 3) & 1; /* KVM_FEATURE_CLOCKSOURCE2 */
}

/* TSC Hz from CPUID where the hypervisor or CPU states it; 0 if not. */
static uint64_t tsc_hz_cpuid(void)
{
	uint32_t r[4];

	cpuid(0x40000000, 0, r);
	if (r[0] >= 0x40000010) {
		cpuid(0x40000010, 0, r); /* timing leaf: TSC kHz */
		if (r[0])
			return (uint64_t)r[0] * 1000;
	}
	cpuid(0, 0, r);
	if (r[0] >= 0x15) {
		cpuid(0x15, 0, r);
		if (r[0] && r[1] && r[2])
			return (uint64_t)r[2] * r[1] / r[0];
	}
	return 0;
}

static uint16_t pit_read0(void)
{
	uint8_t lo, hi;

	outb(0x43, 0x00); /* latch channel 0 */
	lo = inb(0x40);
	hi = inb(0x40);
	return (uint16_t)(lo | (hi << 8));
}

static uint64_t op_tsc(void *ctx)
{
	(void)ctx;
	return uk_rdtsc();
}

static uint16_t op_pit(void *ctx)
{
	(void)ctx;
	return pit_read0();
}

static uint32_t op_lapic(void *ctx)
{
	(void)ctx;
	return uk_lapic_read(LAPIC_TIMER_CUR);
}

static struct uk_calib_result calib; /* the PIT calibration's figures, for uk_clock_describe() */

/*
 * TSC and LAPIC ticks against PIT channel 0, read back by latching (port 0x61's channel 2
 * output does not exist on microvm), in windows of CALIBRATE_MS bracketed by TSC reads
 * (lib/tsc_calib.c): under TCG the vCPU thread can be descheduled between any two reads, and
 * a single window then gave a clock running several times fast or slow. Bounded: returns 0
 * when no PIT counts (absent, or stuck), and the caller falls back.
 */
static uint64_t tsc_hz_pit(void)
{
	struct uk_calib_ops ops = {op_tsc, op_pit, op_lapic, NULL};

	outb(0x43, 0x34); /* channel 0, lo/hi, mode 2 (rate generator), binary */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
	uk_lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	uk_lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | UK_IRQ_TIMER);
	uk_lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
	if (uk_calib_run(&ops, (uint32_t)(PIT_HZ * CALIBRATE_MS / 1000), PIT_HZ, &calib) < 0)
		calib.hz = 0;
	uk_lapic_write(LAPIC_TIMER_INIT, 0);
	if (calib.hz)
		lapic_per_ms = calib.aux_per_ms;
	return calib.hz;
}

static int bcd(int v, int binary)
{
	return binary ? v : (v & 0x0f) + (v >> 4) * 10;
}

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

/* Seconds since the epoch from the CMOS RTC (UTC, as QEMU keeps it by default). */
static uint64_t rtc_epoch(void)
{
	int i, bin, sec, min, hour, day, mon, year, pm;
	uint64_t days;

	for (i = 0; i < 100000 && (cmos(0x0a) & 0x80); i++)
		;
	bin = cmos(0x0b) & 0x04;
	sec = bcd(cmos(0x00), bin);
	min = bcd(cmos(0x02), bin);
	hour = cmos(0x04);
	pm = hour & 0x80;
	hour = bcd(hour & 0x7f, bin);
	if (!(cmos(0x0b) & 0x02) && pm)
		hour = (hour % 12) + 12;
	day = bcd(cmos(0x07), bin);
	mon = bcd(cmos(0x08), bin);
	year = bcd(cmos(0x09), bin) + 2000;
	if (mon < 1 || mon > 12 || day < 1 || day > 31)
		return 0;
	/* Days from civil date (proleptic Gregorian), March-based year. */
	{
		int y = year - (mon <= 2);
		int era = y / 400, yoe = y - era * 400;
		int doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + day - 1;
		int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = (uint64_t)(era * 146097 + doe - 719468);
	}
	return days * 86400 + hour * 3600 + min * 60 + sec;
}

/* The record is in QEMU's pipe before the CPUs run: it normally comes at once. */
#define RECORD_WAIT_MS 250
#define RECORD_POLL_NS 10000

/*
 * The host's time record from the UART at (port): "time=NS\n", which ukd wrote into the
 * chardev just before it let the guest's CPUs run (docs/runtime.md, "Clocks and idling"), so NS
 * plus the TSC (which starts then) is the wall clock. The UART is left as reset (no FIFO: the
 * byte QEMU moved into it before boot would be lost by enabling one). Bounded; 0 if no record.
 */
static uint64_t time_record(uint16_t port)
{
	char line[32];
	size_t n = 0;
	uint64_t t0 = uk_rdtsc(), ns = 0;
	uint64_t wait = (uint64_t)(((unsigned __int128)RECORD_WAIT_MS * 1000000 << 32) / tsc_mult);
	uint64_t poll = (uint64_t)(((unsigned __int128)RECORD_POLL_NS << 32) / tsc_mult);

	while (n < sizeof(line)) {
		uint8_t lsr = inb(port + 5);

		if (lsr == 0xff) /* no UART there */
			return 0;
		if (!(lsr & 1)) { /* nothing yet: wait without a VM exit per spin */
			uint64_t t = uk_rdtsc();

			if (t - t0 > wait)
				return 0;
			while (uk_rdtsc() - t < poll)
				__asm__ volatile("pause");
			continue;
		}
		line[n] = (char)inb(port);
		if (line[n] == '\n')
			break;
		n++;
	}
	record_wait_ns = ticks_to_ns(uk_rdtsc() - t0);
	if (n == sizeof(line) || n < 6 || memcmp(line, "time=", 5))
		return 0;
	line[n] = 0;
	return uk_time_parse_ns(line + 5, &ns) == UK_OK ? ns : 0;
}

static void clock_init(void)
{
	uint64_t hz = 0;

	if (given_name) {
		clock_kind =
		        CLOCK_KVM; /* the platform's pvclock (Xen), no PIT to calibrate against */
		clock_source = given_name;
		wall_source = given_name;
		wall_at_init = given_wall_ns;
	} else if (has_kvmclock()) {
		wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&kvmclock | 1);
		wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uintptr_t)&kvmwall);
		clock_kind = CLOCK_KVM;
		clock_source = "kvmclock";
		wall_at_init = (uint64_t)kvmwall.sec * 1000000000ULL + kvmwall.nsec;
		wall_source = "kvmclock";
	}
	if (clock_kind == CLOCK_KVM && pvclock->mul) {
		int8_t sh = pvclock->shift;

		/* TSC Hz from the pvclock scale: ns = ((d << shift) * mul) >> 32. */
		hz = (1000000000ULL << 32) / pvclock->mul;
		hz = sh >= 0 ? hz >> sh : hz << -sh;
	}
	if (!hz && (hz = tsc_hz_cpuid()))
		clock_source = "tsc (cpuid)";
	if ((!tsc_deadline || !hz) && !given_name) {
		uint64_t pit = tsc_hz_pit(); /* also measures the LAPIC timer */

		if (!hz && pit) {
			hz = pit;
			clock_source = "tsc (pit-calibrated)";
		}
	}
	if (!hz) {
		hz = 1000000000ULL; /* documented last resort: assume 1 GHz */
		clock_source = "tsc (assumed 1 GHz)";
	}
	if (!lapic_per_ms)
		lapic_per_ms = 1000000; /* QEMU's LAPIC timer runs at 1 GHz */
	tsc_mult = (1000000000ULL << 32) / hz;
	if (clock_kind == CLOCK_NONE) {
		uint64_t rtc = rtc_epoch() * 1000000000ULL, now;
		uint64_t rec = uk_cmdline_time_port() ? time_record(uk_cmdline_time_port()) : 0;
		uint64_t host = rec ? rec : uk_cmdline_host_time();
		uint64_t given;

		/* the TSC counts from the VM's first run (QEMU zeroes it and counts only while the
		 * VM runs), which came after the host read its clock for the record (just before
		 * resuming the guest) or for time= (before spawning QEMU): their sum is the wall
		 * clock, behind by the resume or by QEMU's start-up */
		now = uk_rdtsc();
		given = host + ticks_to_ns(now);
		clock_kind = CLOCK_TSC;
		boot_ns_at_init = ticks_to_ns(now - uk_boot_tsc);
		/* QEMU's RTC shows whole seconds and lags the host by up to one more (it keeps the
		 * seconds of its own start): 1-2 s behind. A time= older than the RTC by more
		 * than that is stale (a guest held paused for gdb): the RTC wins then. */
		if (host && rtc <= given + 2000000000ULL) {
			wall_at_init = given;
			wall_source = rec ? "time record (com3)" : "time=";
		} else {
			wall_at_init = rtc;
			wall_source = "cmos rtc";
		}
	}
}

uint64_t uk_time_monotonic_ns(void)
{
	if (clock_kind == CLOCK_NONE)
		clock_init();
	if (clock_kind == CLOCK_KVM)
		return kvmclock_ns(); /* counts from the guest's creation */
	return ticks_to_ns(uk_rdtsc() - uk_boot_tsc);
}

uint64_t uk_time_wall_ns(void)
{
	uint64_t now = uk_time_monotonic_ns();

	if (clock_kind == CLOCK_KVM)
		return wall_at_init + now; /* the wall clock MSR dates system_time 0 */
	return wall_at_init + (now - boot_ns_at_init);
}

const char *uk_kvm_clock_source(void)
{
	if (clock_kind == CLOCK_NONE)
		clock_init();
	return clock_source;
}

size_t uk_clock_describe(char *buf, size_t len)
{
	uint64_t hz;

	if (clock_kind == CLOCK_NONE)
		clock_init();
	hz = (uint64_t)(((unsigned __int128)1000000000ULL << 32) / tsc_mult);
	return (size_t)snprintf(
	        buf, len,
	        "clock %s, %llu Hz, lapic %llu/ms; pit windows %u (%u void, "
	        "%s, last %llu Hz, widest bracket %llu ns); wall from %s "
	        "(record after %llu us)",
	        clock_source, (unsigned long long)hz, (unsigned long long)lapic_per_ms,
	        calib.windows, calib.void_windows, calib.agreed ? "agreed" : "none agreed",
	        (unsigned long long)calib.last_hz, (unsigned long long)ticks_to_ns(calib.widest),
	        wall_source, (unsigned long long)(record_wait_ns / 1000));
}

uint64_t uk_time_block_until(uint64_t deadline)
{
	uint64_t now = uk_time_monotonic_ns();

	if (now >= deadline)
		return now;
	{
		uint64_t wait = deadline - now;

		if (tsc_deadline && tsc_mult) {
			uint64_t ticks = (uint64_t)(((unsigned __int128)wait << 32) / tsc_mult) + 1;

			uk_lapic_write(LAPIC_LVT_TIMER, LVT_TSC_DEADLINE | UK_IRQ_TIMER);
			wrmsr(MSR_TSC_DEADLINE, uk_rdtsc() + ticks);
		} else {
			uint64_t count = wait * lapic_per_ms / 1000000 + 1;

			if (count > 0xffffffffULL)
				count = 0xffffffffULL;
			uk_lapic_write(LAPIC_TIMER_DIV, 0xb);
			uk_lapic_write(LAPIC_LVT_TIMER, UK_IRQ_TIMER); /* one-shot */
			uk_lapic_write(LAPIC_TIMER_INIT, (uint32_t)count);
		}
	}
	/* sti's one-instruction shadow makes "sti; hlt" atomic: no wakeup is lost. */
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	if (uk_plat_stop_requested())
		uk_shutdown_request();
	return uk_time_monotonic_ns();
}
