/* Instance ids and names: random hex ids, Docker-like adjective_noun names, validation. */
#include "names.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char *const adjectives[] = {
        "agile", "bold",   "brave",  "bright", "calm",   "clever", "cosmic", "crisp",  "eager",
        "fast",  "fierce", "gentle", "happy",  "jolly",  "keen",   "lucid",  "merry",  "nimble",
        "proud", "quick",  "quiet",  "rapid",  "serene", "sharp",  "shiny",  "silent", "sleek",
        "smart", "steady", "swift",  "tiny",   "vivid",  "warm",   "wise",   "zesty",  "zen"};
static const char *const nouns[] = {
        "babbage",  "backus",   "bell",    "cerf",    "codd",       "dijkstra", "engelbart",
        "hamming",  "hopper",   "kahan",   "kay",     "knuth",      "lamport",  "liskov",
        "lovelace", "mccarthy", "milner",  "minsky",  "morse",      "naur",     "noether",
        "perlman",  "pike",     "ritchie", "shannon", "sutherland", "tarjan",   "thompson",
        "torvalds", "turing",   "wirth",   "wozniak"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

int ukd_random_hex(char *out, size_t nbytes, uk_err_t *err)
{
	unsigned char buf[64];
	size_t got = 0;

	if (nbytes > sizeof(buf))
		return uk_err_internal(err, "random: %zu bytes is too many", nbytes);
	while (got < nbytes) {
		ssize_t n = getrandom(buf + got, nbytes - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uk_err_errno(err, errno, "getrandom");
		got += (size_t)n;
	}
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	return 0;
}

void ukd_name_generate(char *out, size_t len, unsigned attempt)
{
	unsigned r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)ukd_now_ns();
	if (attempt)
		snprintf(out, len, "%s_%s_%u", adjectives[r % N(adjectives)],
		         nouns[(r / N(adjectives)) % N(nouns)], attempt);
	else
		snprintf(out, len, "%s_%s", adjectives[r % N(adjectives)],
		         nouns[(r / N(adjectives)) % N(nouns)]);
}

int ukd_name_valid(const char *name)
{
	size_t n = strlen(name), hex = 0;

	if (n == 0 || n > 127 || !isalnum((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return 0;
		hex += isxdigit((unsigned char)name[i]) && !isupper((unsigned char)name[i]);
	}
	return !(n == 64 && hex == 64); /* would shadow an id */
}

int ukd_name_looks_like_id(const char *name)
{
	size_t n = strlen(name);

	return n >= UKD_SHORT_ID_LEN && n <= 64 && strspn(name, "0123456789abcdef") == n;
}
