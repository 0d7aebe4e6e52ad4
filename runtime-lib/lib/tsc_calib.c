/* Calibrates a free-running counter (the TSC) against a slower reference (the PIT), robust to the
 * vCPU being descheduled between reads: pure arithmetic over injected reads, unit-tested hosted. */
#include <uk/internal.h>

#define REF_PERIOD 0xffffu  /* the reference reloads at 0xffff and counts down to 1 */
#define STUCK_FIRST 100000u /* reads before a reference that never changes is called absent */
#define STUCK_LOOP 1000000u
#define MAX_WINDOWS 8u

/* Reference ticks from (prev) down to (cur), through one reload if (cur) is above (prev). */
static uint32_t ref_delta(uint16_t prev, uint16_t cur)
{
	return cur <= prev ? (uint32_t)(prev - cur) : (uint32_t)prev + REF_PERIOD - cur;
}

uint64_t uk_calib_window_hz(const struct uk_calib_window *w, uint64_t ref_hz)
{
	uint64_t w0, w1, span;

	if (!w->ref_ticks || w->t0_hi < w->t0_lo || w->t1_hi < w->t1_lo || w->t1_lo < w->t0_hi)
		return 0;
	w0 = w->t0_hi - w->t0_lo;
	w1 = w->t1_hi - w->t1_lo;
	span = (w->t1_lo + w1 / 2) - (w->t0_lo + w0 / 2);
	/* Each reference read happened somewhere inside its bracket: a wide bracket (the vCPU
	 * stopped around that read) leaves the window's length unknown, so the window is void. */
	if (!span || w0 > span / UK_CALIB_BRACKET || w1 > span / UK_CALIB_BRACKET ||
	    span > UINT64_MAX / ref_hz)
		return 0;
	return span * ref_hz / w->ref_ticks;
}

/* A sample: the counter read just before and just after one reference read. */
static uint16_t sample(const struct uk_calib_ops *ops, uint64_t *lo, uint64_t *hi)
{
	uint16_t r;

	*lo = ops->counter(ops->ctx);
	r = ops->ref_read(ops->ctx);
	*hi = ops->counter(ops->ctx);
	return r;
}

/*
 * One window of at least (want) reference ticks into (w), and the aux counter's ticks over
 * (aux_ticks) counter ticks: its first read inside the first sample's bracket, its last one
 * bracketed after the window (a wide bracket there voids the aux figure: *aux_span = 0).
 * -1 if the reference stopped counting.
 */
static int window(const struct uk_calib_ops *ops, uint32_t want, struct uk_calib_window *w,
                  uint32_t *aux_ticks, uint64_t *aux_span)
{
	uint64_t lo, hi, end;
	uint32_t a0 = 0, a1 = 0, seen = 0, stuck = 0;
	uint16_t prev, cur;

	w->t0_lo = ops->counter(ops->ctx);
	prev = ops->ref_read(ops->ctx);
	if (ops->aux_read)
		a0 = ops->aux_read(ops->ctx);
	w->t0_hi = ops->counter(ops->ctx);
	for (;;) {
		cur = sample(ops, &lo, &hi);
		if (cur == prev) {
			if (++stuck > STUCK_LOOP)
				return -1;
			continue;
		}
		stuck = 0;
		seen += ref_delta(prev, cur);
		prev = cur;
		if (seen >= want)
			break;
	}
	if (ops->aux_read)
		a1 = ops->aux_read(ops->ctx);
	end = ops->counter(ops->ctx);
	w->t1_lo = lo;
	w->t1_hi = hi;
	w->ref_ticks = seen;
	*aux_ticks = a0 - a1; /* the LAPIC timer counts down */
	*aux_span = (hi + end) / 2 - (w->t0_lo + w->t0_hi) / 2;
	if (end - hi > *aux_span / UK_CALIB_BRACKET)
		*aux_span = 0;
	return 0;
}

int uk_calib_run(const struct uk_calib_ops *ops, uint32_t want, uint64_t ref_hz,
                 struct uk_calib_result *out)
{
	uint64_t hz[MAX_WINDOWS], aux[MAX_WINDOWS];
	uint32_t n = 0, stuck = 0;
	uint16_t first = ops->ref_read(ops->ctx);
	uint64_t lo, hi;

	*out = (struct uk_calib_result){0};
	/* a reference that never changes is absent (or stopped): the caller falls back */
	while (sample(ops, &lo, &hi) == first)
		if (++stuck > STUCK_FIRST)
			return -1;
	if (ops->aux_read) /* a first access can be slow (its page mapped): not inside a bracket */
		ops->aux_read(ops->ctx);
	for (uint32_t i = 0; i < MAX_WINDOWS; i++) {
		struct uk_calib_window w;
		uint32_t aux_ticks;
		uint64_t h, span, a;

		if (window(ops, want, &w, &aux_ticks, &span) < 0)
			return -1;
		out->windows++;
		if (w.t0_hi - w.t0_lo > out->widest)
			out->widest = w.t0_hi - w.t0_lo;
		if (w.t1_hi - w.t1_lo > out->widest)
			out->widest = w.t1_hi - w.t1_lo;
		if (!(h = uk_calib_window_hz(&w, ref_hz)) || (ops->aux_read && !span)) {
			out->void_windows++;
			continue;
		}
		out->last_hz = h;
		/* the aux counter's ticks per ms: its ticks over a stretch of counter ticks */
		a = span ? (uint64_t)aux_ticks * (h / 1000) / span : 0;
		/*
		 * Two windows that agree: a preemption the brackets missed (the vCPU stopped
		 * between two loop reads long enough for the reference to wrap unseen) gives one
		 * window a far-off figure, never two the same one.
		 */
		for (uint32_t j = 0; j < n; j++) {
			uint64_t d = h > hz[j] ? h - hz[j] : hz[j] - h;

			if (d <= h / UK_CALIB_AGREE) {
				out->hz = (h + hz[j]) / 2;
				out->aux_per_ms = (a + aux[j]) / 2;
				out->agreed = 1;
				return 0;
			}
		}
		hz[n] = h;
		aux[n++] = a;
	}
	if (!n)
		return -1;
	/* no two agreed (a host busier than ever seen): the median of what was measured */
	for (uint32_t i = 1; i < n; i++)
		for (uint32_t j = i; j > 0 && hz[j - 1] > hz[j]; j--) {
			uint64_t t = hz[j];

			hz[j] = hz[j - 1];
			hz[j - 1] = t;
			t = aux[j];
			aux[j] = aux[j - 1];
			aux[j - 1] = t;
		}
	out->hz = hz[n / 2];
	out->aux_per_ms = aux[n / 2];
	return 0;
}
