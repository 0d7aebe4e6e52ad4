/* One-sentence answers for what a Docker user types that cannot apply to a unikernel. */
#include "cli.h"

#include <string.h>

/* Commands uk does not have because a unikernel has no shell, no reachable file system and no
 * input: what to do instead. */
static const struct {
	const char *name, *why;
} commands[] = {
        {"exec", "a unikernel runs one program and has no shell or second process to start: "
                 "read its console with 'uk logs -f INSTANCE', talk to it on a published port "
                 "(-p), or rebuild the image with what you need"},
        {"attach", "a unikernel reads no input, so there is nothing to attach to: its console "
                   "output is 'uk logs -f INSTANCE', and 'uk start -a INSTANCE' starts one "
                   "attached"},
        {"cp", "a running unikernel has no file system reachable from outside: put files in "
               "the image at build time (the Ukfile) and keep the data it writes in a volume "
               "(uk run -v VOLUME:/data)"},
        {"commit", "an image is built from sources, not saved from a running instance: change "
                   "the Ukfile and 'uk build' again, and keep changing data in a volume"},
        {"export", "an instance has no file system of its own to export: its image is "
                   "'uk save IMAGE', its data lives in a volume"},
        {"diff", "an instance does not change its image's files: keep what it writes in a "
                 "volume"},
};

/* Flags of run/create/start that cannot apply, short or long. */
static const struct {
	const char *cmds; /* space-separated */
	const char *flags;
	const char *why;
} flags[] = {
        {"run create start", "-i --interactive -t --tty",
         "a unikernel has no terminal and reads no input: its console output is shown here "
         "(after -d: 'uk logs -f INSTANCE'); give it input as arguments, -e variables or files "
         "in a volume"},
        {"run create", "-u --user",
         "a unikernel is one program with no users inside: it already runs with everything "
         "its image allows, and the host side runs unprivileged"},
        {"run create", "-w --workdir",
         "a unikernel has no working directory to change: paths it opens are those of its "
         "image and volumes"},
};

/* Is (word) one of the space-separated words of (list)? */
static int in_list(const char *list, const char *word, size_t n)
{
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, " ");
		if (len == n && !strncmp(p, word, n))
			return 1;
		p += len;
		p += strspn(p, " ");
	}
	return 0;
}

const char *cli_docker_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].why;
	return NULL;
}

const char *cli_docker_flag(const char *cmd, const char *flag, size_t n)
{
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (in_list(flags[i].cmds, cmd, strlen(cmd)) && in_list(flags[i].flags, flag, n))
			return flags[i].why;
	return NULL;
}
