/* The caller of a function that faulted before it had a frame: the return address at RSP,
 * accepted when the code around it says the frame pointer chain skips that caller. */
#include <uk/internal.h>
#include <string.h>

/* A frameless function is rarely longer than this: a call target further below the faulting
 * instruction is taken for another function. */
#define LEAF_MAX 65536
/* How far into a function "mov %rsp,%rbp" is looked for. */
#define PROLOGUE_MAX 32

/* The program's code, readable for as long as it runs: kvm.ld or the host linker's script
 * (weak: the unit tests link this file under other names, without them, and never fault). */
extern const unsigned char __executable_start[] __attribute__((weak)),
        __etext[] __attribute__((weak));

static int in_text(uint64_t a, uint64_t n)
{
	return a >= (uintptr_t)__executable_start && a + n >= a && a + n <= (uintptr_t)__etext;
}

/* Whether a call instruction ends at (ret); *(target) is a direct call's destination, 0 for an
 * indirect one (ff /2, its length from the ModRM byte). */
static int call_before(uint64_t ret, uint64_t *target)
{
	const unsigned char *p = (const unsigned char *)(uintptr_t)ret;

	*target = 0;
	if (!in_text(ret - 7, 7))
		return 0;
	if (p[-5] == 0xe8) {
		int32_t rel = (int32_t)((uint32_t)p[-4] | (uint32_t)p[-3] << 8 |
		                        (uint32_t)p[-2] << 16 | (uint32_t)p[-1] << 24);

		*target = ret + (uint64_t)(int64_t)rel;
		return 1;
	}
	for (int len = 2; len <= 7; len++) {
		unsigned m = p[1 - len], mod = m >> 6, rm = m & 7;
		int want = mod == 3   ? 2
		           : mod == 1 ? (rm == 4 ? 4 : 3)
		           : mod == 2 ? (rm == 4 ? 7 : 6)
		           : rm == 4  ? 3
		           : rm == 5  ? 6
		                      : 2;

		if (p[-len] == 0xff && (m & 0x38) == 0x10 && len == want)
			return 1;
	}
	return 0;
}

/* Whether the function at (fn) holds (rip) and has run "push %rbp" (after an optional
 * endbr64) and "mov %rsp,%rbp" (gcc may schedule a few instructions between) by then: its frame
 * is the chain's first. */
static int holds_with_frame(uint64_t fn, uint64_t rip)
{
	static const unsigned char endbr[4] = {0xf3, 0x0f, 0x1e, 0xfa};
	const unsigned char *p = (const unsigned char *)(uintptr_t)fn;
	uint64_t k = 0;

	if (!fn || fn > rip || rip - fn >= LEAF_MAX || !in_text(fn, PROLOGUE_MAX + 8))
		return 0;
	if (!memcmp(p, endbr, 4))
		k = 4;
	if (p[k] != 0x55)
		return 0;
	for (k++; k < PROLOGUE_MAX; k++)
		if (p[k] == 0x48 && p[k + 1] == 0x89 && p[k + 2] == 0xe5)
			return rip >= fn + k + 3;
	return 0;
}

uint64_t uk_backtrace_caller_at_rsp(uint64_t rip, uint64_t rsp, uint64_t rbp, uint64_t limit)
{
	uint64_t ret, ret0, t, t0 = 0;

	if (!rsp || (rsp & 7) || rsp < 0x1000 || rsp >= limit - 8)
		return 0;
	ret = *(const uint64_t *)(uintptr_t)rsp;
	if (!in_text(ret, 1) || !call_before(ret, &t))
		return 0;
	/* a direct call elsewhere: a stale slot, or a local that looks like code */
	if (t && (t > rip || rip - t >= LEAF_MAX))
		return 0;
	if (!(rbp & 7) && rbp >= 0x1000 && rbp < limit - 16 &&
	    (ret0 = ((const uint64_t *)(uintptr_t)rbp)[1]) && in_text(ret0, 1))
		call_before(ret0, &t0);
	/* the chain's first call leads nearer to rip: that function holds rip, not t's */
	if (t && t0 > t && t0 <= rip)
		return 0;
	/* the function holding rip set its frame up: the chain names its caller already */
	if (holds_with_frame(t ? t : t0, rip))
		return 0;
	return ret;
}
