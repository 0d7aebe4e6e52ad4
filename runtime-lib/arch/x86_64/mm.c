/* Page-table finishing touches: unmapped null page and stack guard, RAM above 4 GiB. */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/x86.h"
#include <uk/uk.h>

#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define PTE_PS 0x80ULL
#define PAGE 4096ULL
#define MB2 (2ULL << 20)
#define GB1 (1ULL << 30)

extern uint64_t uk_boot_pml4[512], uk_boot_pdpt[512], uk_boot_pd[4 * 512];
extern char uk_boot_stack_guard[];

static uint64_t *take_page(uintptr_t *cursor)
{
	uint64_t *p = (uint64_t *)*cursor;
	int i;

	*cursor += PAGE;
	for (i = 0; i < 512; i++)
		p[i] = 0;
	return p;
}

/* Replaces the 2 MiB mapping around (va) with 4 KiB pages and unmaps the page at (va). */
static void unmap_4k(uintptr_t va, uintptr_t *cursor)
{
	uint64_t *pde = &uk_boot_pd[va / MB2];
	uint64_t *pt;
	int i;

	if (*pde & PTE_PS) {
		uint64_t base = *pde & ~(MB2 - 1);

		pt = take_page(cursor);
		for (i = 0; i < 512; i++)
			pt[i] = (base + i * PAGE) | PTE_P | PTE_W;
		*pde = (uintptr_t)pt | PTE_P | PTE_W;
	} else {
		pt = (uint64_t *)(*pde & ~(PAGE - 1));
	}
	pt[(va % MB2) / PAGE] = 0;
	invlpg(va); /* drops the old 2 MiB entry too: cheaper than reloading CR3 */
}

void uk_arch_mm_init(uint64_t ram_top, uintptr_t *cursor)
{
	uint32_t r[4];
	uint64_t gb;
	int huge;

	unmap_4k(0, cursor);
	unmap_4k((uintptr_t)uk_boot_stack_guard, cursor);

	if (ram_top <= 4 * GB1)
		return;
	cpuid(0x80000001, 0, r);
	huge = (r[3] >> 26) & 1; /* 1 GiB pages */
	for (gb = 4; gb * GB1 < ram_top && gb < 512; gb++) {
		if (huge) {
			uk_boot_pdpt[gb] = (gb * GB1) | PTE_P | PTE_W | PTE_PS;
		} else {
			uint64_t *pd = take_page(cursor);
			int i;

			for (i = 0; i < 512; i++)
				pd[i] = (gb * GB1 + i * MB2) | PTE_P | PTE_W | PTE_PS;
			uk_boot_pdpt[gb] = (uintptr_t)pd | PTE_P | PTE_W;
		}
	}
	/* Only not-present entries were filled in: nothing cached to flush. */
}
