/* The grant table on the host: runtime-lib's gnttab_xen.c with Xen faked (the table page found
 * through the add-to-physmap call, Xen's "mapped" bits set by the test): grants, ends, reuses. */
#include "platform/xen/xen.h"
#include "ukt_check.h"
#include <stdint.h>

#define GTF_PERMIT_ACCESS 1
#define GTF_READONLY 4
#define GTF_READING 8
#define GTF_WRITING 16

struct gnt {
	uint16_t flags, domid;
	uint32_t frame;
};

static volatile struct gnt *table; /* where the guest asked Xen to map the table frame */
static int physmap_calls;

long uk_xen_hypercall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a3;
	if (nr == XEN_HC_MEMORY_OP && a1 == XEN_MEM_ADD_TO_PHYSMAP) {
		const struct {
			uint16_t domid, size;
			uint32_t space;
			uint64_t idx, gpfn;
		} *x = (const void *)(uintptr_t)a2;

		physmap_calls++;
		table = (volatile struct gnt *)(uintptr_t)(x->gpfn << 12);
		return 0;
	}
	return -38;
}

int main(void)
{
	int refs[600], n = 0, a, b, c;

	a = uk_xen_grant(3, 0x1234000, 1);
	CHECK(a >= 8 && table && physmap_calls == 1, "first grant %d (entries 0-7 are reserved)",
	      a);
	CHECK(table[a].flags == (GTF_PERMIT_ACCESS | GTF_READONLY) && table[a].domid == 3 &&
	              table[a].frame == 0x1234,
	      "entry %d: flags %u domid %u frame %#x", a, table[a].flags, table[a].domid,
	      table[a].frame);
	b = uk_xen_grant(3, 0x5000, 0);
	CHECK(b != a && table[b].flags == GTF_PERMIT_ACCESS, "second grant %d", b);

	/* Ended while the backend does not map it: the entry is cleared and used again. */
	CHECK(uk_xen_grant_end(a) == 0 && table[a].flags == 0, "end %d: flags %u", a,
	      table[a].flags);
	c = uk_xen_grant(4, 0x6000, 0);
	CHECK(c == a && table[c].domid == 4 && table[c].frame == 6, "reused %d, got %d", a, c);

	/* Mapped by the backend (Xen's bits): not ended, the grant stays; once unmapped, it ends.
	 */
	table[b].flags |= GTF_WRITING;
	CHECK(uk_xen_grant_end(b) == -1 && (table[b].flags & GTF_PERMIT_ACCESS),
	      "ended a mapped grant");
	table[b].flags = GTF_PERMIT_ACCESS | GTF_READING;
	CHECK(uk_xen_grant_end(b) == -1, "ended a grant being read");
	table[b].flags = GTF_PERMIT_ACCESS;
	CHECK(uk_xen_grant_end(b) == 0 && table[b].flags == 0, "end after unmap");
	CHECK(uk_xen_grant_end(b) == 0, "a second end is a no-op");
	CHECK(uk_xen_grant_end(7) == -1 && uk_xen_grant_end(-1) == -1 &&
	              uk_xen_grant_end(100000) == -1,
	      "ended a reserved or out-of-range entry");

	/* Full: -1; one ended, one more grant (the ended entry only once: no double free). */
	uk_xen_grant_end(c);
	while (n < 600 && (refs[n] = uk_xen_grant(5, 0x7000, 0)) >= 0)
		n++;
	CHECK(n == 512 - 8, "%d grants fit, want %d", n, 512 - 8);
	CHECK(uk_xen_grant_end(refs[10]) == 0 && uk_xen_grant(5, 0x8000, 0) == refs[10] &&
	              uk_xen_grant(5, 0x9000, 0) == -1,
	      "after one end exactly one grant fits");
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
