/* -v NAME:/PATH[:ro] and --mount type=volume,... into the create body's "mounts" objects. */
#include "cli.h"

#include <string.h>

static json_object *mount_obj(const char *src, size_t srclen, const char *dst, size_t dstlen,
                              int ro)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "type", json_object_new_string("volume"));
	json_object_object_add(m, "source", json_object_new_string_len(src, (int)srclen));
	json_object_object_add(m, "target", json_object_new_string_len(dst, (int)dstlen));
	json_object_object_add(m, "read_only", json_object_new_boolean(ro));
	return m;
}

int cli_parse_volume(const char *spec, json_object **out, uk_err_t *err)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	size_t dlen;
	int ro = 0;

	if (spec[0] == '/' || spec[0] == '.' || spec[0] == '~')
		return uk_err_bad(err,
		                  "-v %s: bind mounts of host paths are not supported: use a "
		                  "named volume, -v NAME:/PATH",
		                  spec);
	if (!c1 || c1 == spec || c1[1] != '/')
		return uk_err_bad(err, "-v %s: expected NAME:/PATH[:ro] (e.g. -v data:/data)",
		                  spec);
	dlen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (c2 && !strcmp(c2 + 1, "ro"))
		ro = 1;
	else if (c2 && strcmp(c2 + 1, "rw"))
		return uk_err_bad(err, "-v %s: the only modes are ro and rw (got '%s')", spec,
		                  c2 + 1);
	*out = mount_obj(spec, (size_t)(c1 - spec), c1 + 1, dlen, ro);
	return 0;
}

/* 1 for true/1/absent value, 0 for false/0, -1 otherwise. */
static int bool_value(const char *v, size_t n)
{
	if (!n || (n == 4 && !strncmp(v, "true", 4)) || (n == 1 && v[0] == '1'))
		return 1;
	if ((n == 5 && !strncmp(v, "false", 5)) || (n == 1 && v[0] == '0'))
		return 0;
	return -1;
}

int cli_parse_mount(const char *spec, json_object **out, uk_err_t *err)
{
	const char *src = NULL, *dst = NULL, *p = spec;
	size_t srclen = 0, dstlen = 0;
	int ro = 0, type_ok = 0;

	while (*p) {
		size_t n = strcspn(p, ","), klen;
		const char *eq = memchr(p, '=', n), *v = eq ? eq + 1 : p + n;
		size_t vlen = eq ? n - (size_t)(v - p) : 0;

		klen = eq ? (size_t)(eq - p) : n;
#define KEY(s) (klen == strlen(s) && !strncmp(p, s, klen))
		if (KEY("type")) {
			if (vlen != 6 || strncmp(v, "volume", 6))
				return uk_err_bad(err,
				                  "--mount %s: only type=volume is supported (no "
				                  "bind or tmpfs mounts)",
				                  spec);
			type_ok = 1;
		} else if (KEY("source") || KEY("src")) {
			src = v, srclen = vlen;
		} else if (KEY("destination") || KEY("dst") || KEY("target")) {
			dst = v, dstlen = vlen;
		} else if (KEY("readonly") || KEY("ro")) {
			if ((ro = bool_value(v, vlen)) < 0)
				return uk_err_bad(err, "--mount %s: readonly takes true or false",
				                  spec);
		} else {
			return uk_err_bad(err,
			                  "--mount %s: unknown key '%.*s' (type, source, target, "
			                  "readonly)",
			                  spec, (int)klen, p);
		}
#undef KEY
		p += n;
		if (*p == ',')
			p++;
	}
	if (!type_ok || !srclen || !dstlen || dst[0] != '/')
		return uk_err_bad(err,
		                  "--mount %s: expected type=volume,src=NAME,dst=/PATH[,readonly]",
		                  spec);
	*out = mount_obj(src, srclen, dst, dstlen, ro);
	return 0;
}
