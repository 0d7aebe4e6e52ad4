/* libFuzzer target for what the CLI parses from outside: daemon JSON lines, .ukignore, sizes,
 * times, hosts, -p port specs, guest output escaped for a terminal, --format templates. */
#include <stdint.h>
#include <string.h>

#include "cli.h"

static int fuzz_line(json_object *obj, void *ud)
{
	(void)ud;
	return json_object_get_type(obj) == json_type_boolean;
}

static void fuzz_term(const char *in, size_t len)
{
	struct cli_term t = {0};
	size_t half = len / 2, n;
	char *out = malloc(4 * (len + 8) + 8);

	if (!out)
		return;
	n = cli_term_escape(&t, in, half, 0, out);
	n += cli_term_escape(&t, in + half, len - half, 0, out + n);
	n += cli_term_escape(&t, "", 0, 1, out + n);
	if (t.ncarry)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		if ((c < 0x20 && c != '\n' && c != '\t' &&
		     !(c == '\r' && i + 1 < n && out[i + 1] == '\n')) ||
		    c == 0x7f || (c == 0xc2 && i + 1 < n && (unsigned char)out[i + 1] < 0xa0))
			__builtin_trap();
	}
	free(out);
}

static void fuzz_template(const char *src)
{
	static const char *const dot_json =
	        "{\"ID\": \"abc\", \"N\": 2, \"F\": 0.5, \"L\": [\"a\", 1, null, {\"K\": [true]}],"
	        " \"M\": {\"k\": \"v\", \"n\": {\"x\": 1}}, \"S\": {\"Status\": \"running\"}}";
	json_object *dot = json_tokener_parse(dot_json);
	struct cli_tmpl *t;
	uk_err_t err = {0};
	FILE *out;

	t = cli_tmpl_parse(src, CLI_TMPL_ESCAPES, 0, &err);
	if (!t && !strstr(err.message, "column"))
		__builtin_trap();
	out = fopen("/dev/null", "w");
	if (t && out && cli_tmpl_exec(t, dot, out, &err) < 0 && !strstr(err.message, "column"))
		__builtin_trap();
	if (out)
		fclose(out);
	cli_tmpl_free(t);
	json_object_put(dot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uk_err_t err;
	char *s;

	if (size < 1 || size > 65536)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 9) {
	case 0: { /* JSON lines, fed in two pieces */
		uk_jsonl_t j;
		size_t half = (size - 1) / 2;
		uk_jsonl_init(&j, fuzz_line, NULL);
		if (uk_jsonl_feed(&j, (const char *)data + 1, half, &err) == 0 &&
		    uk_jsonl_feed(&j, (const char *)data + 1 + half, size - 1 - half, &err) == 0)
			uk_jsonl_finish(&j, &err);
		uk_jsonl_release(&j);
		break;
	}
	case 1: { /* .ukignore text, then match its own lines as paths */
		size_t n, i;
		char **p = cli_ignore_parse(s, &n);
		for (i = 0; i < n; i++)
			cli_ignore_match(p, n, p[i] + 1, i & 1);
		cli_ignore_match(p, n, "a/b/c.o", 0);
		cli_ignore_free(p, n);
		break;
	}
	case 2: {
		int64_t v;
		cli_parse_memory(s, &v, &err);
		break;
	}
	case 3: {
		double t;
		cli_parse_time(s, &t, &err);
		cli_parse_rfc3339(s);
		break;
	}
	case 4:
		uk_client_free(uk_client_new(s, &err));
		free(uk_client_escape(s));
		break;
	case 5: { /* -p [IP:]HOST:GUEST[/proto], [IP::]GUEST: accepted ports are in range (no host
		   * port: the daemon picks one), render back */
		json_object *p;
		char buf[128];
		if (cli_parse_publish(s, &p, &err) == 0) {
			int64_t h = cli_jint(p, "host_port", 0), g = cli_jint(p, "guest_port", 0);
			if (h < 0 || h > 65535 || g < 1 || g > 65535)
				__builtin_trap();
			cli_port_format(p, buf, sizeof(buf));
			json_object_put(p);
		}
		break;
	}
	case 6: /* guest output in two pieces: nothing that drives a terminal gets through */
		fuzz_term((const char *)data + 1, size - 1);
		break;
	case 7: { /* -v NAME:/PATH[:ro] and --mount ...: accepted ones name a source and a /target
		   */
		json_object *m;
		for (int k = 0; k < 2; k++)
			if ((k ? cli_parse_mount(s, &m, &err) : cli_parse_volume(s, &m, &err)) ==
			    0) {
				if (!*cli_jstr(m, "source") || cli_jstr(m, "target")[0] != '/')
					__builtin_trap();
				json_object_put(m);
			}
		break;
	}
	case 8: /* a --format template, run on an inspect-like value; a refusal says where */
		fuzz_template(s);
		break;
	}
	free(s);
	return 0;
}
