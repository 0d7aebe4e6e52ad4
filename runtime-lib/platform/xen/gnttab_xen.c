/* Grant table v1 (one frame, 512 entries) mapped over a page of .bss: grants a backend domain
 * access to our pages and takes it back, and event channels allocated for a backend. */
#include "platform/xen/xen.h"

#define XEN_MAPSPACE_GRANT_TABLE 1
#define GNT_FIRST 8 /* entries 0-7 are reserved for the toolstack */
#define GNT_COUNT (4096 / 8)
#define GTF_PERMIT_ACCESS 1
#define GTF_READONLY 4
#define GTF_READING 8  /* set by Xen while the other domain has the page mapped */
#define GTF_WRITING 16 /* ... mapped writable */
#define EVTCHNOP_ALLOC_UNBOUND 6

struct gnt_v1 {
	uint16_t flags, domid;
	uint32_t frame;
};

static volatile struct gnt_v1 table[GNT_COUNT] __attribute__((aligned(4096)));
static int mapped;
static uint32_t next_ref = GNT_FIRST; /* entries from here on were never used */
static uint16_t free_refs[GNT_COUNT]; /* ended grants, reused first */
static uint32_t nfree;

int uk_xen_grant(uint16_t domid, uintptr_t page, int readonly)
{
	uint32_t ref;

	if (!mapped) {
		struct {
			uint16_t domid, size;
			uint32_t space;
			uint64_t idx, gpfn;
		} xatp = {XEN_DOMID_SELF, 0, XEN_MAPSPACE_GRANT_TABLE, 0, (uintptr_t)table >> 12};

		if (uk_xen_hypercall(XEN_HC_MEMORY_OP, XEN_MEM_ADD_TO_PHYSMAP, (uintptr_t)&xatp,
		                     0) < 0)
			return -1;
		mapped = 1;
	}
	if (nfree)
		ref = free_refs[--nfree];
	else if (next_ref < GNT_COUNT)
		ref = next_ref++;
	else
		return -1; /* every entry is granted */
	table[ref].domid = domid;
	table[ref].frame = (uint32_t)(page >> 12);
	__asm__ volatile("" ::: "memory"); /* domid and frame before the flags that publish them */
	table[ref].flags = GTF_PERMIT_ACCESS | (readonly ? GTF_READONLY : 0);
	return (int)ref;
}

int uk_xen_grant_end(int ref)
{
	volatile uint16_t *flags;
	uint16_t f;

	if (ref < GNT_FIRST || ref >= (int)next_ref)
		return -1;
	flags = &table[ref].flags;
	/* Xen sets GTF_reading/writing while the grantee maps the page: take the grant back only
	 * when it is not mapped, atomically against Xen setting them meanwhile (Linux does the
	 * same for v1). */
	f = *flags;
	do {
		if (f & (GTF_READING | GTF_WRITING))
			return -1;
	} while (!__atomic_compare_exchange_n((uint16_t *)(uintptr_t)flags, &f, 0, 0,
	                                      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	if (f & GTF_PERMIT_ACCESS)
		free_refs[nfree++] = (uint16_t)ref; /* (ended twice: the second is a no-op) */
	return 0;
}

int uk_xen_evtchn_alloc_unbound(uint16_t remote, uint32_t *port)
{
	struct {
		uint16_t dom, remote_dom;
		uint32_t port;
	} op = {XEN_DOMID_SELF, remote, 0};

	if (uk_xen_hypercall(XEN_HC_EVENT_CHANNEL_OP, EVTCHNOP_ALLOC_UNBOUND, (uintptr_t)&op, 0) <
	    0)
		return -1;
	*port = op.port;
	return 0;
}
