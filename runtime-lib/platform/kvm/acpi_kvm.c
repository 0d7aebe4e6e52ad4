/* ACPI power-off: find the FADT through the RSDP and enter S5 (PM1 control block or HW-reduced
 * sleep register). */
#include "platform/kvm/kvm.h"
#include "arch/x86_64/cpu.h"
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

const void *uk_kvm_acpi_table(const char *sig)
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

const void *uk_plat_acpi_dsdt(uint32_t *len)
{
	const uint8_t *fadt = uk_kvm_acpi_table("FACP");
	const struct sdt_header *dsdt;
	uint32_t flen;

	if (!fadt)
		return 0;
	flen = ((const struct sdt_header *)fadt)->length;
	dsdt = (const void *)(uintptr_t) * (const uint32_t *)(fadt + 40);
	if (flen >= 148 && *(const uint64_t *)(fadt + 140))
		dsdt = (const void *)(uintptr_t) * (const uint64_t *)(fadt + 140);
	if (!dsdt || !sig_eq(dsdt->sig, "DSDT", 4))
		return 0;
	*len = dsdt->length;
	return dsdt;
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
	const uint8_t *fadt = uk_kvm_acpi_table("FACP");
	const struct sdt_header *dsdt;
	uint32_t len, dlen, flags;
	int typ;

	if (!fadt)
		return;
	len = ((const struct sdt_header *)fadt)->length;
	dsdt = uk_plat_acpi_dsdt(&dlen);
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

/* --- The ACPI power button: how a supervisor asks the guest to stop (virDomainShutdown). --- */

#define PM1_PWRBTN (1u << 8)
#define PM1_SCI_EN 1u
#define IOAPIC_DEFAULT 0xfec00000UL

static uint16_t pm1a_evt, pm1_evt_len;
static volatile int power_button;

/* Finds the IOAPIC and the polarity/trigger of ISA IRQ (irq) in the MADT; returns its GSI. */
static uint32_t madt_gsi(uint8_t irq, uintptr_t *ioapic, uint16_t *flags)
{
	const struct sdt_header *madt = uk_kvm_acpi_table("APIC");
	const uint8_t *p, *end;
	uint32_t gsi = irq;

	*ioapic = IOAPIC_DEFAULT;
	*flags = 0x000d; /* ISA SCI default: active high, level triggered */
	if (!madt)
		return gsi;
	p = (const uint8_t *)madt + sizeof(*madt) + 8;
	end = (const uint8_t *)madt + madt->length;
	for (; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1]) {
		if (p[0] == 1 && p[1] >= 12) /* I/O APIC */
			*ioapic = *(const uint32_t *)(p + 4);
		if (p[0] == 2 && p[1] >= 10 && p[3] == irq) { /* interrupt source override */
			gsi = *(const uint32_t *)(p + 4);
			*flags = *(const uint16_t *)(p + 8);
		}
	}
	return gsi;
}

static void ioapic_route(uintptr_t base, uint32_t gsi, uint8_t vector, uint16_t flags)
{
	uint32_t lo = vector;

	if ((flags & 3) == 3)
		lo |= 1u << 13; /* active low */
	if (((flags >> 2) & 3) == 3)
		lo |= 1u << 15; /* level triggered */
	mmio_write32(base, 0x10 + 2 * gsi + 1);
	mmio_write32(base + 0x10, 0); /* destination: LAPIC 0 */
	mmio_write32(base, 0x10 + 2 * gsi);
	mmio_write32(base + 0x10, lo);
}

static void sci_irq(int vec)
{
	uint16_t sts = inw(pm1a_evt);

	(void)vec;
	if (sts & PM1_PWRBTN)
		power_button = 1;
	outw(pm1a_evt, sts); /* write-1-to-clear what we saw; the line drops */
}

void uk_kvm_acpi_power_button_init(void)
{
	const uint8_t *fadt = uk_kvm_acpi_table("FACP");
	uint32_t len, pm1a_cnt, smi_cmd, gsi;
	uint16_t sci, flags;
	uintptr_t ioapic;
	int i;

	if (!fadt)
		return;
	len = ((const struct sdt_header *)fadt)->length;
	if (len < 116 || (*(const uint32_t *)(fadt + 112) & (1u << 20)))
		return; /* hardware-reduced ACPI (microvm): no fixed power button */
	sci = *(const uint16_t *)(fadt + 46);
	smi_cmd = *(const uint32_t *)(fadt + 48);
	pm1a_evt = (uint16_t) * (const uint32_t *)(fadt + 56);
	pm1a_cnt = *(const uint32_t *)(fadt + 64);
	pm1_evt_len = fadt[88];
	if (!pm1a_evt || !pm1a_cnt || pm1_evt_len < 4 || sci > 15)
		return;
	/* Into ACPI mode if the firmware left us in legacy mode. */
	if (!(inw((uint16_t)pm1a_cnt) & PM1_SCI_EN) && smi_cmd && fadt[52]) {
		outb((uint16_t)smi_cmd, fadt[52]);
		for (i = 0; i < 1000 && !(inw((uint16_t)pm1a_cnt) & PM1_SCI_EN); i++)
			;
	}
	gsi = madt_gsi((uint8_t)sci, &ioapic, &flags);
	if (gsi > 23)
		return;
	uk_arch_irq_register(UK_IRQ_SCI, sci_irq);
	outw(pm1a_evt, PM1_PWRBTN);                               /* clear a stale press */
	outw((uint16_t)(pm1a_evt + pm1_evt_len / 2), PM1_PWRBTN); /* enable */
	ioapic_route(ioapic, gsi, UK_IRQ_SCI, flags);
}

int uk_kvm_power_button_pressed(void)
{
	int v = power_button;

	power_button = 0;
	return v;
}
