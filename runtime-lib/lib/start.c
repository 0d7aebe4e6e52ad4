/* Startup shared by every platform: command line to argv, runtime options, constructors, main,
 * exit. */
#include <uk/uk.h>
#include <uk/internal.h>
#include <stdlib.h>

#define MAX_WORDS 256

extern int main(int argc, char **argv);
extern void (*__init_array_start[])(void) __attribute__((weak));
extern void (*__init_array_end[])(void) __attribute__((weak));

static char *words[MAX_WORDS + 2];
static void (*shutdown_fn)(void);

void uk_on_shutdown(void (*fn)(void))
{
	shutdown_fn = fn;
}

void uk_shutdown_request(void)
{
	if (shutdown_fn)
		shutdown_fn();
	else
		exit(143);
}

/* Words QEMU appends to the command line for the runtime (microvm with
 * acpi=off) are runtime options wherever they appear. */
static int is_platform_word(const char *w)
{
	const char *p = "virtio_mmio.device=";

	while (*p && *w == *p)
		p++, w++;
	return !*p;
}

_Noreturn void uk_start_main(int argc, char **argv)
{
	void (**ctor)(void);

	for (ctor = __init_array_start; ctor && ctor < __init_array_end; ctor++)
		(*ctor)();
	uk_boot_stamps[4] = uk_rdtsc();
	exit(main(argc, argv));
}

_Noreturn void uk_start_cmdline(char *cmdline)
{
	int n, nopts, first, i;
	char **argv;

	/* words[0] is reserved for argv[0]. */
	n = uk_cmdline_split(cmdline, words + 1, MAX_WORDS);
	if (n < 0) {
		uk_printk("uk: bad kernel command line (%s)\n",
		          n == -2 ? "unterminated quote" : "too many words");
		uk_exit(2);
	}
	nopts = uk_args_split(n, words + 1, &first);
	for (i = 0; i < nopts; i++)
		if (uk_runtime_option(words[1 + i]) != UK_OK)
			uk_printk("uk: ignoring unknown runtime option \"%s\"\n", words[1 + i]);
	/* virtio_mmio.device= words QEMU appends after the app's words are the runtime's too. */
	argv = words + first;
	argv[0] = "app";
	n = 1 + n - first;
	for (i = 1; i < n;)
		if (is_platform_word(argv[i])) {
			uk_runtime_option(argv[i]);
			for (int j = i; j < n; j++)
				argv[j] = argv[j + 1];
			n--;
		} else {
			i++;
		}
	argv[n] = 0;
	uk_start_main(n, argv);
}
