/* Command line: shell-like words, `--` separating runtime options from the app's, env= reaching
 * getenv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uk/uk.h>

int main(int argc, char **argv)
{
	static const char *const want[] = {"app", "one", "two words", "a\"q", ""};
	const char *g = getenv("GREETING");
	int i, bad = 0;

	for (i = 0; i < argc; i++)
		printf("argv[%d] = \"%s\"\n", i, argv[i]);
	if (argc != 5) {
		printf("FAIL: argc %d, want 5\n", argc);
		return 1;
	}
	/* argv[0] is "app" in a guest, the program's path when hosted. */
	for (i = strcmp(uk_platform(), "hosted") ? 0 : 1; i < argc; i++)
		if (strcmp(argv[i], want[i])) {
			printf("FAIL: argv[%d] = \"%s\", want \"%s\"\n", i, argv[i], want[i]);
			bad = 1;
		}
	if (!g || strcmp(g, "hi there")) {
		printf("FAIL: GREETING = %s\n", g ? g : "(unset)");
		bad = 1;
	}
	if (argv[argc] != NULL) {
		printf("FAIL: argv not NULL-terminated\n");
		bad = 1;
	}
	if (!bad)
		printf("SUCCESS\n");
	return bad;
}
