/* Unit tests of the networks' pure parts: names, subnets, overlaps, DNS queries and answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "net_dns.h"
#include "net_pin.h"
#include "network.h"

static void test_names(void **state)
{
	static const char *const ok[] = {
	        "a",      "net1",
	        "my-net", "a.b_c-d",
	        "9lives", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"};
	static const char *const bad[] = {
	        "",
	        "../x",
	        "-a",
	        ".a",
	        "a b",
	        "a/b",
	        "é",
	        "n\xc3\xa9t",
	        "a\nb",
	        "_a",
	        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(ukd_net_name_valid(ok[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(ukd_net_name_valid(bad[i]));
}

static void test_cidr(void **state)
{
	uint32_t net;
	int p;
	uk_err_t err = {0};
	static const char *const bad[] = {"10.0.0.0",    "10.0.0.0/",  "10.0.0.0/7", "10.0.0.0/31",
	                                  "10.0.0.1/24", "10.0.0/24",  "x/24",       "10.0.0.0/24x",
	                                  "/24",         "10.0.0.0/-1"};

	(void)state;
	assert_int_equal(ukd_net_cidr_parse("10.89.7.0/24", &net, &p, &err), 0);
	assert_int_equal(net, 0x0a590700u);
	assert_int_equal(p, 24);
	assert_int_equal(ukd_net_cidr_parse("172.16.0.0/12", &net, &p, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(ukd_net_cidr_parse(bad[i], &net, &p, &err), -1);
		assert_int_equal(err.status, 400);
	}
	assert_non_null(strstr(err.message, "10.0.0.0/-1"));
	assert_true(ukd_net_overlap(0x0a590000u, 16, 0x0a590700u, 24));
	assert_true(ukd_net_overlap(0x0a590700u, 24, 0x0a590000u, 16));
	assert_false(ukd_net_overlap(0x0a590700u, 24, 0x0a590800u, 24));
	assert_false(ukd_net_overlap(0x0a590000u, 24, 0x0a000000u, 16));
}

static size_t query(uint8_t *b, uint16_t flags, const char *name, uint16_t qtype)
{
	size_t n = 12;
	memset(b, 0, 12);
	b[0] = 0xbe, b[1] = 0xef, b[2] = (uint8_t)(flags >> 8), b[3] = (uint8_t)flags, b[5] = 1;
	for (const char *l = name; *l;) {
		size_t len = strcspn(l, ".");
		b[n++] = (uint8_t)len;
		memcpy(b + n, l, len);
		n += len;
		l += len + (l[len] == '.');
	}
	b[n++] = 0;
	b[n++] = 0, b[n++] = (uint8_t)qtype, b[n++] = 0, b[n++] = 1;
	return n;
}

static void test_dns(void **state)
{
	uint8_t b[600], out[UKD_DNS_MAX];
	struct ukd_dns_query q;
	uint32_t ip = htonl(0x0a590002u);
	size_t n = query(b, 0x0100, "Server.Alias", 1), o;

	(void)state;
	assert_int_equal(ukd_dns_parse_query(b, n, &q), 0);
	assert_string_equal(q.name, "server.alias");
	assert_int_equal(q.qtype, 1);
	assert_int_equal(q.qend, n);
	o = ukd_dns_answer(b, &q, UKD_DNS_NOERROR, &ip, 1, out);
	assert_int_equal(o, n + 16);
	assert_int_equal(out[0], 0xbe);
	assert_int_equal(out[2], 0x85); /* QR AA RD */
	assert_int_equal(out[3] & 0xf, 0);
	assert_int_equal(out[7], 1); /* one answer */
	assert_memory_equal(out + o - 4, &ip, 4);
	/* NXDOMAIN: the question echoed, no answer */
	o = ukd_dns_answer(b, &q, UKD_DNS_NXDOMAIN, NULL, 0, out);
	assert_int_equal(o, n);
	assert_int_equal(out[3] & 0xf, UKD_DNS_NXDOMAIN);
	assert_int_equal(out[7], 0);
	/* a response is never answered; a short or oversized packet neither */
	n = query(b, 0x8100, "x", 1);
	assert_int_equal(ukd_dns_parse_query(b, n, &q), -1);
	assert_int_equal(ukd_dns_parse_query(b, 11, &q), -1);
	memset(b, 0, sizeof(b));
	assert_int_equal(ukd_dns_parse_query(b, UKD_DNS_MAX + 1, &q), -1);
	/* other opcodes: NOTIMP; two questions, a pointer, a cut name: FORMERR */
	n = query(b, 0x2800, "x", 1);
	assert_int_equal(ukd_dns_parse_query(b, n, &q), UKD_DNS_NOTIMP);
	n = query(b, 0x0100, "x", 1);
	b[5] = 2;
	assert_int_equal(ukd_dns_parse_query(b, n, &q), UKD_DNS_FORMERR);
	b[5] = 1;
	assert_int_equal(ukd_dns_parse_query(b, n - 3, &q), UKD_DNS_FORMERR);
	b[12] = 0xc0;
	assert_int_equal(ukd_dns_parse_query(b, n, &q), UKD_DNS_FORMERR);
	/* odd bytes in a name match nothing */
	n = query(b, 0x0100, "a*b", 1);
	assert_int_equal(ukd_dns_parse_query(b, n, &q), 0);
	assert_string_equal(q.name, "");
}

/* one nftables table per ukd root: a valid nft identifier, stable, different per root */
static void test_table_name(void **state)
{
	char a[16], b[16], c[16];

	(void)state;
	ukd_net_table_name("/var/lib/uk", a);
	ukd_net_table_name("/var/lib/uk", b);
	ukd_net_table_name("/tmp/ukt-x", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 11);
	assert_int_equal(strncmp(a, "uk_", 3), 0);
	assert_int_equal(strspn(a + 3, "0123456789abcdef"), 8);
}

/* The bridge table pinning each NIC: its rules, a malformed NIC dropping all, no network. */
static void test_pin_rules(void **state)
{
	const struct ukd_pin pins[] = {
	        {"uk0123456789ab0", "52:54:00:01:23:45", "10.89.0.2"},
	        {"uk0123456789ab1", "52:54:01:01:23:45", "not-an-ip"},
	        {"bad name\"", "52:54:00:01:23:46", "10.89.0.3"},
	};
	char buf[4096];
	size_t len = 0;

	(void)state;
	ukd_net_pin_rules("uk_1234abcd", pins, 3, 1, buf, sizeof(buf), &len);
	assert_true(len < sizeof(buf));
	assert_non_null(strstr(buf, "table bridge uk_1234abcd\ndelete table bridge uk_1234abcd\n"));
	assert_non_null(strstr(buf,
	                       "  iifname vmap { \"uk0123456789ab0\" : jump nic_uk0123456789ab0, "
	                       "\"uk0123456789ab1\" : jump nic_uk0123456789ab1 }\n"));
	assert_non_null(strstr(buf, " chain nic_uk0123456789ab0 {\n"
	                            "  ether saddr != 52:54:00:01:23:45 counter drop\n"
	                            "  ether type != { ip, arp } counter drop\n"
	                            "  ip saddr 10.89.0.2 accept\n"
	                            "  arp htype 1 arp ptype ip arp hlen 6 arp plen 4 arp saddr "
	                            "ether 52:54:00:01:23:45 arp saddr ip 10.89.0.2 accept\n"
	                            "  counter drop\n }\n"));
	/* a NIC whose address is not one: every frame of it dropped */
	assert_non_null(strstr(buf, " chain nic_uk0123456789ab1 {\n  counter drop\n }\n"));
	/* a name that is not ukd's: no rule at all (never text nft would misread) */
	assert_null(strstr(buf, "bad name"));
	/* no network: the table only deleted */
	len = 0;
	ukd_net_pin_rules("uk_1234abcd", pins, 3, 0, buf, sizeof(buf), &len);
	assert_string_equal(buf, "table bridge uk_1234abcd\ndelete table bridge uk_1234abcd\n");
	/* too small: the length it needs, never past (cap) */
	size_t need = 0;
	ukd_net_pin_rules("uk_1234abcd", pins, 1, 1, buf, 10, &need);
	assert_true(need > 10 && need < 400 + 300);
	assert_int_equal(strlen(buf), 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),      cmocka_unit_test(test_pin_rules),
	        cmocka_unit_test(test_cidr),       cmocka_unit_test(test_dns),
	        cmocka_unit_test(test_table_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
