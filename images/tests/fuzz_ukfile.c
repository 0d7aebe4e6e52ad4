/* libFuzzer target: the Ukfile parser, the word splitter and the memory parser on arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uk/images.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 if (p) has a ".." component. */
static int dotdot(const char *p)
{
	for (const char *c = p; (c = strstr(c, "..")); c++)
		if ((c == p || c[-1] == '/') && (c[2] == 0 || c[2] == '/'))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uk_err_t err = {0};
	ukimg_ukfile_t *uf = ukimg_ukfile_parse((const char *)data, size, "Ukfile", &err);
	char *s;
	size_t n;
	char **w;
	uint64_t mem;

	if (uf) {
		/* What the build relies on, whatever the input. */
		if (uf->n_sources == 0 || uf->memory < UKIMG_MEMORY_MIN ||
		    uf->memory > UKIMG_MEMORY_MAX)
			abort();
		for (size_t i = 0; i < uf->n_sources; i++)
			if (uf->sources[i][0] == '/' || dotdot(uf->sources[i]))
				abort();
		for (size_t i = 0; i < uf->n_files; i++)
			if (uf->files[i].src[0] == '/' || dotdot(uf->files[i].src) ||
			    uf->files[i].dst[0] != '/' || dotdot(uf->files[i].dst))
				abort();
		for (size_t i = 0; i < uf->n_cflags; i++)
			if (uf->cflags[i][0] != '-' || strchr("oBf", uf->cflags[i][1]) ||
			    (uf->cflags[i][1] == 'W' && strchr(uf->cflags[i], ',')))
				abort();
		for (size_t i = 0; i < uf->n_ports; i++)
			if (uf->ports[i].port == 0)
				abort();
		if (uf->cmd[uf->n_cmd] || uf->env[uf->n_env])
			abort();
		ukimg_ukfile_free(uf);
	} else if ((err.status != 400 && err.status != 413) || !err.message[0]) {
		abort();
	}

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	w = ukimg_words_split(s, &n, &err);
	if (w && w[n])
		abort();
	ukimg_strv_free(w);
	if (ukimg_memory_parse(s, &mem, &err) == 0 &&
	    (mem < UKIMG_MEMORY_MIN || mem > UKIMG_MEMORY_MAX))
		abort();
	free(s);
	return 0;
}
