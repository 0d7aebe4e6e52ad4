/* Fuzz target: the kernel command line (from the host) through splitting, `--` and runtime options.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int uk_cmdline_split(char *line, char **words, int max_words);
int uk_args_split(int nwords, char **words, int *app_first);
int uk_runtime_option(const char *word);

void uk_entropy_add_seed(const void *buf, size_t len)
{
	(void)buf;
	(void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The runtime keeps pointers into the command line (environ, virtio
	 * words) for its lifetime: one static buffer plays that role here. */
	static char line[4096];
	char *words[65];
	int n, first, nopts, i;

	if (size >= sizeof(line))
		size = sizeof(line) - 1;
	memcpy(line, data, size);
	line[size] = 0;
	n = uk_cmdline_split(line, words, 64);
	if (n == -1 || n == -2)
		return 0;
	if (n < 0 || n > 64 || words[n] != NULL)
		abort();
	nopts = uk_args_split(n, words, &first);
	if (nopts < 0 || nopts > n || first < 0 || first > n)
		abort();
	for (i = 0; i < nopts; i++)
		uk_runtime_option(words[i]);
	return 0;
}
