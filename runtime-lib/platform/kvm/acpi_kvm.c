/* ACPI power-off: find the FADT through the RSDP and enter S5 (PM1 control block or HW-reduced
 * sleep register). */
#include "platform/kvm/kvm.h"
#include "arch/x86_64/x86.h"
#include <uk/uk.h>

struct sdt_header {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static int sig_eq(const char *a, const char *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/* The RSDP lives where PVH told us, else in the BIOS area 0xe0000-0xfffff. */
static const uint8_t *find_rsdp(void)
{
	uintptr_t p;

	if (uk_kvm_rsdp)
		return (const uint8_t *)(uintptr_t)uk_kvm_rsdp;
	for (p = 0xe0000; p < 0x100000; p += 16)
		if (sig_eq((const char *)p, "RSD PTR ", 8))
			return (const uint8_t *)p;
	return 0;
}

static const struct sdt_header *find_table(const char *sig)
{
	const uint8_t *rsdp = find_rsdp();
	const struct sdt_header *root;
	int wide, n, i;

	if (!rsdp || !sig_eq((const char *)rsdp, "RSD PTR ", 8))
		return 0;
	wide = rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24);
	root = wide ? (const void *)(uintptr_t) * (const uint64_t *)(rsdp + 24)
	            : (const void *)(uintptr_t) * (const uint32_t *)(rsdp + 16);
	n = (root->length - sizeof(*root)) / (wide ? 8 : 4);
	for (i = 0; i < n; i++) {
		const uint8_t *ents = (const uint8_t *)(root + 1);
		uint64_t a = wide ? *(const uint64_t *)(ents + 8 * i)
		                  : *(const uint32_t *)(ents + 4 * i);
		const struct sdt_header *t = (const void *)(uintptr_t)a;

		if (a && sig_eq(t->sig, sig, 4))
			return t;
	}
	return 0;
}

/* SLP_TYPa for S5 from the DSDT's \_S5 package: 08 '_S5_' 12 len count (0a xx | byte). */
static int s5_sleep_type(const struct sdt_header *dsdt)
{
	const uint8_t *p = (const uint8_t *)dsdt, *end = p + dsdt->length;

	for (p += sizeof(*dsdt); p + 8 < end; p++) {
		if (!sig_eq((const char *)p, "_S5_", 4) || p[4] != 0x12)
			continue;
		p += 5;
		p += ((*p >> 6) & 3) + 1; /* PkgLength */
		p++;                      /* NumElements */
		if (*p == 0x0a)           /* BytePrefix */
			p++;
		return *p <= 7 ? *p : 0;
	}
	return -1;
}

void uk_kvm_acpi_poweroff(void)
{
	const uint8_t *fadt = (const uint8_t *)find_table("FACP");
	const struct sdt_header *dsdt;
	uint32_t len, flags;
	int typ;

	if (!fadt)
		return;
	len = ((const struct sdt_header *)fadt)->length;
	dsdt = (const void *)(uintptr_t) * (const uint32_t *)(fadt + 40);
	if (len >= 148 && *(const uint64_t *)(fadt + 140))
		dsdt = (const void *)(uintptr_t) * (const uint64_t *)(fadt + 140);
	typ = dsdt ? s5_sleep_type(dsdt) : -1;
	if (typ < 0)
		typ = 0;
	flags = len >= 116 ? *(const uint32_t *)(fadt + 112) : 0;
	if ((flags & (1u << 20)) && len >= 256) {
		/* HW-reduced ACPI (microvm): SLEEP_CONTROL_REG, a generic address. */
		const uint8_t *gas = fadt + 244;
		uint64_t addr = *(const uint64_t *)(gas + 4);
		uint8_t v = (uint8_t)(((typ & 7) << 2) | (1 << 5));

		if (gas[0] == 1)
			outb((uint16_t)addr, v);
		else if (gas[0] == 0 && addr)
			*(volatile uint8_t *)(uintptr_t)addr = v;
	} else {
		uint32_t pm1a = *(const uint32_t *)(fadt + 64);
		uint32_t pm1b = *(const uint32_t *)(fadt + 68);

		if (pm1a)
			outw((uint16_t)pm1a, (uint16_t)((typ << 10) | (1 << 13)));
		if (pm1b)
			outw((uint16_t)pm1b, (uint16_t)((typ << 10) | (1 << 13)));
	}
	/* The write takes effect when QEMU's main loop runs; give it a moment. */
	for (volatile int i = 0; i < 1000000; i++)
		;
}
