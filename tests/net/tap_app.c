/* Hosted test app for tap_loss.sh: port 5001 sends a known 10 MB stream, port 5002 answers an
 * upload with its SHA-256. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/net.h>
#include <uk/uk.h>

/* --- SHA-256 (FIPS 180-4), enough for the test --- */
struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	uint64_t len;
};

static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       w[i - 7] + (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
		              K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
}

static void sha_update(struct sha256 *s, const void *data, size_t n)
{
	const uint8_t *p = data;

	while (n) {
		size_t off = s->len % 64, k = 64 - off < n ? 64 - off : n;

		memcpy(s->buf + off, p, k);
		s->len += k, p += k, n -= k;
		if (s->len % 64 == 0)
			sha_block(s, s->buf);
	}
}

static void sha_final(struct sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->len * 8;
	uint8_t pad = 0x80, z = 0, l[8];
	int i;

	sha_update(s, &pad, 1);
	while (s->len % 64 != 56)
		sha_update(s, &z, 1);
	for (i = 0; i < 8; i++)
		l[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha_update(s, l, 8);
	for (i = 0; i < 32; i++)
		out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* The stream: SHA-256(le32(i)) for i = 0, 1, ... (Python rebuilds it with hashlib). */
static void stream_block(uint32_t i, uint8_t out[32])
{
	struct sha256 s;
	uint8_t le[4] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24)};

	sha_init(&s);
	sha_update(&s, le, 4);
	sha_final(&s, out);
}

/* --- connections --- */
struct conn {
	int upload;        /* 1: port 5002, hashing; 0: port 5001, sending */
	uint64_t sent;     /* download: bytes written */
	uint8_t blk[32];   /* download: the current block */
	struct sha256 sha; /* upload: hash so far */
	char reply[66];
	int replied;
};

static uint64_t total = 10u << 20;

static void print_stats(const char *what)
{
	struct uk_net_stats st;

	uk_net_get_stats(&st);
	printf("tap_app: %s; frames in %llu, out %llu; rto retransmits %llu, fast retransmits "
	       "%llu\n",
	       what, (unsigned long long)st.rx_frames, (unsigned long long)st.tx_frames,
	       (unsigned long long)st.tcp_retransmits, (unsigned long long)st.tcp_fast_retransmits);
	fflush(stdout);
}

static void on_conn(struct uk_tcp *c, unsigned ev, void *arg)
{
	struct conn *k = arg;
	uint8_t buf[8192];
	long n;

	if (ev & UK_NET_ERROR) {
		fprintf(stderr, "tap_app: connection error (state %d)\n", uk_tcp_state(c));
		uk_tcp_close(c);
		free(k);
		return;
	}
	if (k->upload) {
		while ((n = uk_tcp_read(c, buf, sizeof(buf))) > 0)
			sha_update(&k->sha, buf, (size_t)n);
		if (n == 0 && !k->replied) {
			uint8_t d[32];
			unsigned long long got = (unsigned long long)k->sha.len;

			sha_final(&k->sha, d);
			for (int i = 0; i < 32; i++)
				snprintf(k->reply + 2 * i, 3, "%02x", d[i]);
			k->reply[64] = '\n';
			k->replied = 1;
			if (uk_tcp_write(c, k->reply, 65) != 65)
				fprintf(stderr, "tap_app: short reply\n");
			printf("tap_app: upload of %llu bytes hashed\n", got);
			print_stats("after the upload");
			uk_tcp_close(c);
			free(k);
		}
		return;
	}
	while (k->sent < total) {
		size_t len = 0;

		while (len < sizeof(buf) && k->sent + len < total) {
			uint64_t at = k->sent + len;
			size_t pos = (size_t)(at % 32), take = 32 - pos;

			if (pos == 0 || len == 0)
				stream_block((uint32_t)(at / 32), k->blk);
			if (take > sizeof(buf) - len)
				take = sizeof(buf) - len;
			if (take > total - at)
				take = (size_t)(total - at);
			memcpy(buf + len, k->blk + pos, take);
			len += take;
		}
		n = uk_tcp_write(c, buf, len);
		if (n <= 0)
			return; /* UK_EAGAIN: called again when writable */
		k->sent += (uint64_t)n;
	}
	printf("tap_app: download of %llu bytes queued\n", (unsigned long long)k->sent);
	print_stats("download queued");
	uk_tcp_close(c);
	free(k);
}

int main(int argc, char **argv)
{
	struct uk_tcp *down, *up, *c;

	if (argc > 1)
		total = strtoull(argv[1], NULL, 10);
	if (uk_net_configure_from_options() != UK_OK) {
		fprintf(stderr, "tap_app: no network (set UK_TAP and UK_IP)\n");
		return 1;
	}
	down = uk_tcp_listen(5001, 16);
	up = uk_tcp_listen(5002, 16);
	if (!down || !up) {
		fprintf(stderr, "tap_app: cannot listen\n");
		return 1;
	}
	printf("tap_app: listening on 5001 (download) and 5002 (upload)\n");
	fflush(stdout);
	for (;;) {
		uk_net_poll(1000000000ull);
		for (int i = 0; i < 2; i++)
			while ((c = uk_tcp_accept(i ? up : down))) {
				struct conn *k = calloc(1, sizeof(*k));

				if (!k) {
					uk_tcp_abort(c);
					continue;
				}
				k->upload = i;
				sha_init(&k->sha);
				uk_tcp_set_callback(c, on_conn, k);
				on_conn(c, uk_tcp_events(c), k);
			}
	}
}
