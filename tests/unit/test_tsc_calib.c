/* Unit tests of lib/tsc_calib.c: TSC calibration against a simulated PIT with the vCPU
 * descheduled at every point of the first windows, as TCG guests are on a loaded host. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <uk/internal.h>
#include "ukt.h"

#define UKT_PANIC_STUB
#include "ukt_check.h"

#define PIT_HZ 1193182ULL
#define TSC_HZ 2500000000ULL /* the simulated TSC: 2.5 ticks per ns */
#define OP_NS 1000           /* what each read costs the vCPU (a VM exit under TCG) */

/* The simulated machine: host time in ns, one preemption of (stall_ns) before the (stall_at)th
 * read of any counter (counted from 1; 0 = none), a second one before the (stall2_at)th. */
struct sim {
	uint64_t now;
	uint64_t ops, reads, stall_at, stall2_at, stall_ns;
	int pit_stuck;
};

static void sim_op(struct sim *s, uint64_t cost)
{
	if (++s->ops == s->stall_at || s->ops == s->stall2_at)
		s->now += s->stall_ns;
	s->now += cost;
}

static uint64_t sim_tsc(void *ctx)
{
	struct sim *s = ctx;

	sim_op(s, OP_NS / 4);
	return s->now * (TSC_HZ / 1000000) / 1000;
}

static uint16_t sim_pit(void *ctx)
{
	struct sim *s = ctx;
	uint64_t ticks;

	s->reads++;
	sim_op(s, OP_NS / 2);
	if (s->pit_stuck)
		return 0x1234;
	ticks = (uint64_t)((unsigned __int128)s->now * PIT_HZ / 1000000000ULL);
	return (uint16_t)(0xffff - ticks % 0xffff); /* mode 2, reload 0xffff: 0xffff .. 1 */
}

static uint32_t sim_lapic(void *ctx)
{
	struct sim *s = ctx;

	sim_op(s, OP_NS / 4);
	return (uint32_t)(0xffffffffu - s->now); /* QEMU's LAPIC timer: 1 GHz, counting down */
}

static int run(struct sim *s, struct uk_calib_result *r)
{
	struct uk_calib_ops ops = {sim_tsc, sim_pit, sim_lapic, s};

	return ukt_uk_calib_run(&ops, (uint32_t)(PIT_HZ * 3 / 1000), PIT_HZ, r);
}

/* |a - b| within 1/div of b */
static int near(uint64_t a, uint64_t b, uint64_t div)
{
	return (a > b ? a - b : b - a) <= b / div;
}

static void test_quiet(void)
{
	struct sim s = {.now = 123456789};
	struct uk_calib_result r;

	CHECK(run(&s, &r) == 0, "quiet machine");
	CHECK(near(r.hz, TSC_HZ, 1000), "hz %llu", (unsigned long long)r.hz);
	CHECK(near(r.aux_per_ms, 1000000, 1000), "lapic %llu/ms", (unsigned long long)r.aux_per_ms);
	CHECK(r.agreed && r.windows == 2 && r.void_windows == 0, "two windows, agreed: %u %u %d",
	      r.windows, r.void_windows, r.agreed);
}

/*
 * A stall before any one read of the first windows: the old single window, which started
 * on a PIT edge and read the TSC after it, counted a stall there as PIT time without TSC time
 * (a clock running several times fast: the CI failure), and a stall past the PIT's 55 ms
 * period lost a wrap (a slow one). Every stall length, every position.
 */
static void test_stalls(void)
{
	static const uint64_t stalls[] = {20000, 300000, 3000000, 20000000, 70000000, 400000000};
	int bad = 0, runs = 0;

	for (size_t k = 0; k < sizeof(stalls) / sizeof(stalls[0]); k++)
		for (uint64_t at = 1; at < 20000; at += at < 64 ? 1 : 7) {
			struct sim s = {
			        .now = 1000 + at * 7, .stall_at = at, .stall_ns = stalls[k]};
			struct uk_calib_result r;

			runs++;
			if (run(&s, &r) < 0 || !near(r.hz, TSC_HZ, 200) ||
			    !near(r.aux_per_ms, 1000000, 200)) {
				if (bad++ < 5)
					CHECK(0,
					      "stall %llu ns before read %llu: %llu Hz, lapic "
					      "%llu/ms (%u windows, %u void)",
					      (unsigned long long)stalls[k], (unsigned long long)at,
					      (unsigned long long)r.hz,
					      (unsigned long long)r.aux_per_ms, r.windows,
					      r.void_windows);
			}
		}
	CHECK(bad == 0, "%d of %d stalled runs off by more than 0.5%%", bad, runs);
}

/* Two stalls in different windows: still two clean windows among the eight. */
static void test_two_stalls(void)
{
	int bad = 0;

	for (uint64_t at = 1; at < 9000; at += 13) {
		struct sim s = {.stall_at = at, .stall2_at = at + 9001, .stall_ns = 3000000};
		struct uk_calib_result r;

		if (run(&s, &r) < 0 || !near(r.hz, TSC_HZ, 200))
			bad++;
	}
	CHECK(bad == 0, "%d runs with two stalls off", bad);
}

static void test_no_pit(void)
{
	struct sim s = {.pit_stuck = 1};
	struct uk_calib_result r;

	CHECK(run(&s, &r) < 0, "a PIT that never counts is absent");
	CHECK(r.hz == 0, "no figure");
	CHECK(s.reads < 200000, "bounded: %llu reads", (unsigned long long)s.reads);
}

/* One window's arithmetic: midpoints of the brackets, void when a bracket is wide. */
static void test_window(void)
{
	struct uk_calib_window w = {1000, 1010, 1001000, 1001010, 1193};

	/* 1,000,000 counter ticks over 1193 PIT ticks (999.85 us): 1.000151 GHz */
	CHECK(near(ukt_uk_calib_window_hz(&w, PIT_HZ), 1000151000ULL, 100000), "%llu",
	      (unsigned long long)ukt_uk_calib_window_hz(&w, PIT_HZ));
	w.t0_hi = 1000 + 1000000 / 100; /* the first read's bracket: 1/100 of the window */
	CHECK(ukt_uk_calib_window_hz(&w, PIT_HZ) == 0, "a wide start bracket voids it");
	w.t0_hi = 1010;
	w.t1_lo = 1001010 - 1000000 / 100;
	CHECK(ukt_uk_calib_window_hz(&w, PIT_HZ) == 0, "a wide end bracket voids it");
	w.t1_lo = 1001000;
	w.ref_ticks = 0;
	CHECK(ukt_uk_calib_window_hz(&w, PIT_HZ) == 0, "no PIT ticks");
	w = (struct uk_calib_window){5000, 4000, 9000, 9010, 10};
	CHECK(ukt_uk_calib_window_hz(&w, PIT_HZ) == 0, "a bracket backwards");
	w = (struct uk_calib_window){5000, 5010, 4000, 4010, 10};
	CHECK(ukt_uk_calib_window_hz(&w, PIT_HZ) == 0, "an end before the start");
}

/* The time record's and time='s number: the shared parser. */
static void test_parse(void)
{
	uint64_t ns = 7;

	CHECK(ukt_uk_time_parse_ns("1796600000123456789", &ns) == UK_OK &&
	              ns == 1796600000123456789ULL,
	      "19 digits");
	ns = 7;
	CHECK(ukt_uk_time_parse_ns("", &ns) == UK_EINVAL && ns == 7, "empty, untouched");
	CHECK(ukt_uk_time_parse_ns("0", &ns) == UK_EINVAL, "0");
	CHECK(ukt_uk_time_parse_ns("12 ", &ns) == UK_EINVAL, "trailing space");
	CHECK(ukt_uk_time_parse_ns("12345678901234567890", &ns) == UK_EINVAL, "20 digits");
	CHECK(ukt_uk_cmdline_time_port() == 0, "no timesync= yet");
	CHECK(ukt_uk_runtime_option("timesync=com1") == UK_EINVAL, "timesync=com1");
	CHECK(ukt_uk_runtime_option("timesync=") == UK_EINVAL, "timesync= empty");
	CHECK(ukt_uk_cmdline_time_port() == 0, "refused values leave it unset");
	CHECK(ukt_uk_runtime_option("timesync=com3") == UK_OK &&
	              ukt_uk_cmdline_time_port() == 0x3e8,
	      "timesync=com3 is COM3's port");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_window();
	test_quiet();
	test_stalls();
	test_two_stalls();
	test_no_pit();
	test_parse();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
