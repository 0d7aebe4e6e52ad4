/* ukd logging: one line per call on stderr: time, level, subsystem, message (escaped). */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int log_level = UKD_LOG_INFO;
static int log_json; /* --log-format json: one JSON object per line */
static const char *const level_names[] = {"error", "warn", "info", "debug"};

int ukd_log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcasecmp(s, level_names[i]))
			return i;
	if (!strcasecmp(s, "warning"))
		return UKD_LOG_WARN;
	return -1;
}

void ukd_log_set_level(int level)
{
	log_level = level;
}

int ukd_log_parse_format(const char *s)
{
	return !strcmp(s, "text") ? 0 : !strcmp(s, "json") ? 1 : -1;
}

void ukd_log_set_format(int json)
{
	log_json = json;
}

/* (in), already escaped (printable, no control characters), as the inside of a JSON string. */
static void json_quote(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in && o + 3 < outlen; in++) {
		if (*in == '"' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = 0;
}

int ukd_log_enabled(int level)
{
	return level <= log_level;
}

/* The length of the well-formed UTF-8 sequence at (s) (at most (n) bytes) and its code point in
 * (*cp); 0 when it is not one (a stray byte, an overlong form, a surrogate, past U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	uint32_t c;

	if (!len || s[0] > 0xf4 || len > n)
		return 0;
	c = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Code points a terminal or a log viewer acts on: C1 controls (0x9b is CSI on some terminals),
 * the line and paragraph separators, and the bidirectional overrides that reorder what is shown. */
static int cp_is_control(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e ||
	       c == 0x200f || c == 0x061c;
}

void ukd_utf8_scrub(const char *in, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), o = 0;
	uint32_t cp;

	for (size_t i = 0, take; i < n && outlen; i += take) {
		take = s[i] < 0x80 ? 1 : utf8_seq(s + i, n - i, &cp);
		if (o + (take ? take : 3) >= outlen)
			break;
		if (take) {
			memcpy(out + o, s + i, take);
			o += take;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			take = 1;
		}
	}
	if (outlen)
		out[o] = 0;
}

size_t ukd_log_escape(const char *in, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), o = 0;

	if (!outlen)
		return 0;
	for (size_t i = 0; i < n;) {
		char e[16];
		size_t elen = 0, take = 1;
		uint32_t cp;

		if (s[i] == '\\')
			elen = (size_t)snprintf(e, sizeof(e), "\\\\");
		else if (s[i] == '\n')
			elen = (size_t)snprintf(e, sizeof(e), "\\n");
		else if (s[i] == '\r')
			elen = (size_t)snprintf(e, sizeof(e), "\\r");
		else if (s[i] == '\t')
			elen = (size_t)snprintf(e, sizeof(e), "\\t");
		else if (s[i] < 0x20 || s[i] == 0x7f)
			elen = (size_t)snprintf(e, sizeof(e), "\\x%02x", s[i]);
		else if (s[i] >= 0x80 && !(take = utf8_seq(s + i, n - i, &cp)))
			elen = (size_t)snprintf(e, sizeof(e), "\\x%02x", s[i]), take = 1;
		else if (s[i] >= 0x80 && cp_is_control(cp))
			elen = (size_t)snprintf(e, sizeof(e), "\\u%04x", (unsigned)cp);
		else
			memcpy(e, s + i, take), elen = take;
		if (o + elen >= outlen) /* keep whole escapes: never half a sequence */
			break;
		memcpy(out + o, e, elen);
		o += elen;
		i += take;
	}
	out[o] = 0;
	return o;
}

void ukd_log(int level, const char *subsys, const char *fmt, ...)
{
	char msg[4096], safe[8192], ts[32], js[16384], jsub[128];
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Every message is escaped here, so no caller can forget: a client's path, a guest's
	 * output or a registry's error cannot start a line of its own or drive the terminal. */
	ukd_log_escape(msg, safe, sizeof(safe));
	/* One fprintf per line so concurrent threads do not interleave inside a line. */
	if (log_json) { /* "msg" decodes to the text line's message: escapes and all */
		json_quote(safe, js, sizeof(js));
		ukd_log_escape(subsys, msg, sizeof(jsub));
		json_quote(msg, jsub, sizeof(jsub));
		fprintf(stderr,
		        "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"subsys\":\"%s\",\"msg\":\"%s\"}"
		        "\n",
		        ts, now.tv_nsec / 1000000, level_names[level], jsub, js);
		return;
	}
	fprintf(stderr, "%s.%03ldZ %-5s %s: %s\n", ts, now.tv_nsec / 1000000, level_names[level],
	        subsys, safe);
}
