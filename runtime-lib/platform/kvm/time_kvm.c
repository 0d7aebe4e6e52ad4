/* PVH platform clocks and idling: kvmclock, Xen's vCPU time info or a calibrated TSC, the CMOS
 * RTC, and LAPIC-timer wakeups around hlt. */
#include "platform/kvm/kvm.h"
#include "platform/bindings.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/x86.h"
#include <uk/uk.h>
#include <uk/internal.h>

#define MSR_TSC_DEADLINE 0x6e0
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define PIT_HZ 1193182ULL
#define CALIBRATE_MS 5

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

/*
 * Counts TSC and LAPIC ticks over CALIBRATE_MS of PIT channel 0, read back by
 * latching (port 0x61's channel 2 output does not exist on microvm). Bounded:
 * returns 0 when no PIT counts (absent, or stuck), and the caller falls back.
 */
static uint64_t tsc_hz_pit(void)
{
	uint32_t want = (uint32_t)(PIT_HZ * CALIBRATE_MS / 1000), seen = 0, stuck = 0;
	uint64_t t0, t1;
	uint32_t l0, l1;
	uint16_t prev, cur;

	outb(0x43, 0x34); /* channel 0, lo/hi, mode 2 (rate generator), binary */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
	uk_lapic_write(LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	uk_lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | UK_IRQ_TIMER);
	uk_lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
	/* Start on a count change so the window begins on a PIT tick. */
	prev = pit_read0();
	while ((cur = pit_read0()) == prev)
		if (++stuck > 100000)
			return 0;
	prev = cur;
	l0 = uk_lapic_read(LAPIC_TIMER_CUR);
	t0 = uk_rdtsc();
	stuck = 0;
	while (seen < want) {
		cur = pit_read0();
		if (cur == prev) {
			if (++stuck > 1000000)
				return 0;
			continue;
		}
		stuck = 0;
		seen += cur < prev ? (uint32_t)(prev - cur) : (uint32_t)prev + 0xffff - cur;
		prev = cur;
	}
	t1 = uk_rdtsc();
	l1 = uk_lapic_read(LAPIC_TIMER_CUR);
	uk_lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_per_ms = (uint64_t)(l0 - l1) * PIT_HZ / seen / 1000;
	return (t1 - t0) * PIT_HZ / seen;
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

static void clock_init(void)
{
	uint64_t hz = 0;

	if (given_name) {
		clock_kind =
		        CLOCK_KVM; /* the platform's pvclock (Xen), no PIT to calibrate against */
		clock_source = given_name;
		wall_at_init = given_wall_ns;
	} else if (has_kvmclock()) {
		wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uintptr_t)&kvmclock | 1);
		wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uintptr_t)&kvmwall);
		clock_kind = CLOCK_KVM;
		clock_source = "kvmclock";
		wall_at_init = (uint64_t)kvmwall.sec * 1000000000ULL + kvmwall.nsec;
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
		uint64_t rtc = rtc_epoch() * 1000000000ULL, now = uk_rdtsc();
		uint64_t host = uk_cmdline_host_time();
		/* the TSC counts from the VM's start (QEMU zeroes it), which came after the host
		 * wrote time=: their sum is the wall clock to within QEMU's start-up */
		uint64_t given = host + ticks_to_ns(now);

		clock_kind = CLOCK_TSC;
		boot_ns_at_init = ticks_to_ns(now - uk_boot_tsc);
		/* QEMU's RTC shows whole seconds and lags the host by up to one more (it keeps the
		 * seconds of its own start): 1-2 s behind. A time= older than the RTC by more
		 * than that is stale (a guest held paused for gdb): the RTC wins then. */
		wall_at_init = host && rtc <= given + 2000000000ULL ? given : rtc;
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
