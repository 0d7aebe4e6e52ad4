/* Ukfile parser tests: a table of bad Ukfiles with their exact file:line messages, and good ones
 * field by field. */
#include "testutil.h"

struct bad_case {
	const char *text;
	const char *want; /* substring of the error message */
};

static const struct bad_case bad[] = {
        {"SOURCS main.c\n", "Ukfile:1: unknown instruction \"SOURCS\" (did you mean SOURCES?)"},
        {"# comment\n\nSOURCES main.c\nFROBNICATE x\n",
         "Ukfile:4: unknown instruction \"FROBNICATE\" (instructions are FROM, SOURCES"},
        {"", "Ukfile: no SOURCES instruction: add a line like \"SOURCES main.c\""},
        {"# only a comment\nLIBS net\n", "Ukfile: no SOURCES instruction"},
        {"SOURCES\n", "Ukfile:1: SOURCES needs at least one file"},
        {"SOURCES /etc/passwd.c\n", "Ukfile:1: SOURCES: \"/etc/passwd.c\" is absolute: paths are "
                                    "relative to the build context"},
        {"SOURCES ../x.c\n", "Ukfile:1: SOURCES: \"../x.c\" leaves the build context"},
        {"SOURCES a/../../x.c\n", "Ukfile:1: SOURCES: \"a/../../x.c\" leaves the build context"},
        {"SOURCES main.txt\n", "Ukfile:1: SOURCES \"main.txt\": not a C or assembly source"},
        {"SOURCES main.c ./main.c\n", "Ukfile:1: SOURCES \"./main.c\" listed twice"},
        {"SOURCES src*/x.c\n",
         "Ukfile:1: SOURCES \"src*/x.c\": wildcards are allowed in the file name"},
        {"SOURCES main.c\nMEMORY 16M\nMEMORY 32M\n",
         "Ukfile:3: MEMORY given twice (first on line 2)"},
        {"SOURCES main.c\nMEMORY 1M\n",
         "Ukfile:2: MEMORY: memory \"1M\" out of range (from 2M to 64G)"},
        {"SOURCES main.c\nMEMORY 65G\n", "Ukfile:2: MEMORY: memory \"65G\" out of range"},
        {"SOURCES main.c\nMEMORY 16X\n", "Ukfile:2: MEMORY: memory \"16X\": unknown suffix \"X\""},
        {"SOURCES main.c\nMEMORY lots\n", "Ukfile:2: MEMORY: memory \"lots\": expected a number"},
        {"SOURCES main.c\nMEMORY 99999999999999999999G\n", "number too large"},
        {"SOURCES main.c\nMEMORY 16M 32M\n", "Ukfile:2: MEMORY takes one size"},
        {"SOURCES main.c\nEXPOSE 0\n", "Ukfile:2: EXPOSE \"0\": bad port"},
        {"SOURCES main.c\nEXPOSE 65536\n", "Ukfile:2: EXPOSE \"65536\": bad port"},
        {"SOURCES main.c\nEXPOSE 99999999999999999999\n", "bad port"},
        {"SOURCES main.c\nEXPOSE 80/sctp\n", "Ukfile:2: EXPOSE \"80/sctp\": unknown protocol"},
        {"SOURCES main.c\nEXPOSE http\n", "Ukfile:2: EXPOSE \"http\": expected a port number"},
        {"SOURCES main.c\nEXPOSE 80x\n", "Ukfile:2: EXPOSE \"80x\": bad port"},
        {"SOURCES main.c\nEXPOSE\n", "Ukfile:2: EXPOSE needs at least one port"},
        {"SOURCES main.c\nCMD --name \"unterminated\n", "Ukfile:2: CMD: unterminated double quote"},
        {"SOURCES main.c\nCMD 'x\n", "Ukfile:2: CMD: unterminated single quote"},
        {"SOURCES main.c\nCMD [\"a\", 1]\n",
         "Ukfile:2: CMD: element 1 of the JSON array is not a string"},
        {"SOURCES main.c\nCMD [\"a\"\n", "Ukfile:2: CMD: bad JSON array (unterminated)"},
        {"SOURCES main.c\nCMD [\"a\"] extra\n",
         "Ukfile:2: CMD: unexpected text after the JSON array"},
        {"SOURCES main.c\nCMD a\nCMD b\n", "Ukfile:3: CMD given twice (first on line 2)"},
        {"SOURCES main.c\nCFLAGS -o x\n", "Ukfile:2: CFLAGS \"-o\" is not allowed"},
        {"SOURCES main.c\nCFLAGS -fplugin=evil.so\n",
         "Ukfile:2: CFLAGS \"-fplugin=evil.so\" is not allowed"},
        {"SOURCES main.c\nCFLAGS -specs=x\n", "CFLAGS \"-specs=x\" is not allowed"},
        {"SOURCES main.c\nCFLAGS -Wl,-rpath,/x\n", "CFLAGS \"-Wl,-rpath,/x\" is not allowed"},
        {"SOURCES main.c\nCFLAGS -Wp,-MD,/etc/x\n", "CFLAGS \"-Wp,-MD,/etc/x\" is not allowed"},
        {"SOURCES main.c\nCFLAGS -B/tmp\n", "CFLAGS \"-B/tmp\" is not allowed"},
        {"SOURCES main.c\nCFLAGS -O9\n", "CFLAGS \"-O9\" is not allowed"},
        {"SOURCES main.c\nCFLAGS -D1X\n", "CFLAGS \"-D1X\" is not allowed"},
        {"SOURCES main.c\nCFLAGS -I/usr/include\n",
         "Ukfile:2: CFLAGS \"-I/usr/include\": include directories must be relative"},
        {"SOURCES main.c\nCFLAGS -I../up\n", "Ukfile:2: CFLAGS \"-I../up\": include directories"},
        {"FROM uk/runtime:2\nSOURCES main.c\n",
         "Ukfile:1: FROM \"uk/runtime:2\": this uk builds for uk/runtime:1 only"},
        {"FROM alpine:3\nSOURCES main.c\n",
         "Ukfile:1: FROM \"alpine:3\": only uk/runtime[:VERSION] is supported"},
        {"FROM uk/runtime:x\nSOURCES main.c\n",
         "Ukfile:1: FROM \"uk/runtime:x\": the version must be a number"},
        {"SOURCES main.c\nFROM uk/runtime:1\n", "Ukfile:2: FROM must be the first instruction"},
        {"FROM uk/runtime:1\nFROM uk/runtime:1\nSOURCES main.c\n",
         "Ukfile:2: FROM given twice (first on line 1)"},
        {"SOURCES main.c\nENV novalue\n", "Ukfile:2: ENV \"novalue\": expected KEY=VALUE"},
        {"SOURCES main.c\nENV 1A=b\n", "Ukfile:2: ENV \"1A=b\": bad variable name"},
        {"SOURCES main.c\nENV\n", "Ukfile:2: ENV needs KEY=VALUE pairs"},
        {"SOURCES main.c\nFILES site\n", "Ukfile:2: FILES takes a source and a destination"},
        {"SOURCES main.c\nFILES site www\n",
         "Ukfile:2: FILES destination \"www\" must be an absolute path"},
        {"SOURCES main.c\nFILES ../site /www\n",
         "Ukfile:2: FILES: \"../site\" leaves the build context"},
        {"SOURCES main.c\nFILES /etc /www\n", "Ukfile:2: FILES: \"/etc\" is absolute"},
        {"SOURCES main.c\nFILES site /www/../..\n",
         "Ukfile:2: FILES destination \"/www/../..\": \"..\" is not allowed"},
        {"SOURCES main.c\nLIBS Net\n", "Ukfile:2: LIBS \"Net\": not a component name"},
        {"SOURCES main.c\nLIBS ../x\n", "Ukfile:2: LIBS \"../x\": not a component name"},
        /* Continuation lines: the instruction is reported at its first line. */
        {"SOURCES a.c \\\n   b.c\nFOO x\n", "Ukfile:3: unknown instruction \"FOO\""},
        {"SOURCES a.c \\\n# inside\n   b.c\nFOO x\n", "Ukfile:4: unknown instruction \"FOO\""},
        {"SOURCES main.c\nEXPOSE 80 \\\n  0\n", "Ukfile:2: EXPOSE \"0\": bad port"},
        {"SOURCES main.c\r\nFOO\r\n", "Ukfile:2: unknown instruction \"FOO\""},
};

static void test_bad_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uk_err_t err = {0};
		ukimg_ukfile_t *uf =
		        ukimg_ukfile_parse(bad[i].text, strlen(bad[i].text), "Ukfile", &err);
		if (uf || !strstr(err.message, bad[i].want) || err.status != 400) {
			fprintf(stderr, "case %zu: %s\n  want: %s\n  got:  %s (status %d)\n", i,
			        bad[i].text, bad[i].want, uf ? "(parsed OK)" : err.message,
			        err.status);
			fail();
		}
	}
}

static void test_nul_byte(void **state)
{
	static const char text[] = "SOURCES main.c\nCMD a\0b\n";
	uk_err_t err = {0};

	(void)state;
	assert_null(ukimg_ukfile_parse(text, sizeof(text) - 1, "Ukfile", &err));
	assert_string_equal(err.message, "Ukfile:2: contains a NUL byte: is this a text file?");
}

static ukimg_ukfile_t *parse_ok(const char *text)
{
	uk_err_t err = {0};
	ukimg_ukfile_t *uf = ukimg_ukfile_parse(text, strlen(text), "Ukfile", &err);

	if (!uf)
		fprintf(stderr, "unexpected error: %s\n", err.message);
	assert_non_null(uf);
	return uf;
}

static void test_design_example(void **state)
{
	ukimg_ukfile_t *uf = parse_ok("FROM uk/runtime:1        # runtime-lib version\n"
	                              "SOURCES main.c util.c    # compiled against runtime-lib\n"
	                              "LIBS net http            # runtime-lib components to link\n"
	                              "FILES site/ /www         # embedded read-only files\n"
	                              "EXPOSE 80\n"
	                              "MEMORY 16M\n"
	                              "CMD --port=80\n");
	(void)state;
	assert_int_equal(uf->runtime_version, 1);
	assert_int_equal(uf->n_sources, 2);
	assert_string_equal(uf->sources[0], "main.c");
	assert_string_equal(uf->sources[1], "util.c");
	assert_int_equal(uf->n_libs, 2);
	assert_string_equal(uf->libs[1], "http");
	assert_int_equal(uf->n_files, 1);
	assert_string_equal(uf->files[0].src, "site");
	assert_string_equal(uf->files[0].dst, "/www");
	assert_int_equal(uf->files[0].line, 4);
	assert_int_equal(uf->n_ports, 1);
	assert_int_equal(uf->ports[0].port, 80);
	assert_string_equal(uf->ports[0].proto, "tcp");
	assert_int_equal(uf->memory, 16ULL << 20);
	assert_true(uf->has_cmd);
	assert_int_equal(uf->n_cmd, 1);
	assert_string_equal(uf->cmd[0], "--port=80");
	assert_null(uf->cmd[1]);
	ukimg_ukfile_free(uf);
}

static void test_defaults_and_forms(void **state)
{
	ukimg_ukfile_t *uf;

	(void)state;
	uf = parse_ok("sources ./src//main.c\n");
	assert_int_equal(uf->runtime_version, UKIMG_RUNTIME_VERSION);
	assert_int_equal(uf->memory, UKIMG_MEMORY_DEFAULT);
	assert_false(uf->has_cmd);
	assert_int_equal(uf->n_cmd, 0);
	assert_string_equal(uf->sources[0], "src/main.c");
	ukimg_ukfile_free(uf);

	/* exec form, an empty CMD, quotes, escapes, inline comment */
	uf = parse_ok("SOURCES main.c\nCMD [\"a b\", \"--x=\\\"y\\\"\", \"\"]  # exec form\n");
	assert_int_equal(uf->n_cmd, 3);
	assert_string_equal(uf->cmd[0], "a b");
	assert_string_equal(uf->cmd[1], "--x=\"y\"");
	assert_string_equal(uf->cmd[2], "");
	ukimg_ukfile_free(uf);
	uf = parse_ok("SOURCES main.c\nCMD []\n");
	assert_true(uf->has_cmd);
	assert_int_equal(uf->n_cmd, 0);
	ukimg_ukfile_free(uf);
	uf = parse_ok("SOURCES main.c\nCmd \"two words\" 'single #x' a\\ b \"q\\\"q\" # done\n");
	assert_int_equal(uf->n_cmd, 4);
	assert_string_equal(uf->cmd[0], "two words");
	assert_string_equal(uf->cmd[1], "single #x");
	assert_string_equal(uf->cmd[2], "a b");
	assert_string_equal(uf->cmd[3], "q\"q");
	ukimg_ukfile_free(uf);

	/* ENV: a later key replaces an earlier one; values keep '=' */
	uf = parse_ok("SOURCES main.c\nENV A=1 B=x=y\nENV A=2 \"C=with space\"\n");
	assert_int_equal(uf->n_env, 3);
	assert_string_equal(uf->env[0], "A=2");
	assert_string_equal(uf->env[1], "B=x=y");
	assert_string_equal(uf->env[2], "C=with space");
	ukimg_ukfile_free(uf);
	/* at most UKIMG_ENV_MAX variables (what a guest holds; a replaced one does not count) */
	{
		char text[64 * 16] = "SOURCES main.c\nENV A=1", *p = text + strlen(text);
		uk_err_t err = {0};
		for (int i = 1; i < UKIMG_ENV_MAX; i++)
			p += sprintf(p, " K%d=v", i);
		strcpy(p, " A=2\n");
		uf = parse_ok(text);
		assert_int_equal(uf->n_env, UKIMG_ENV_MAX);
		ukimg_ukfile_free(uf);
		strcpy(p, " K64=v\n");
		assert_null(ukimg_ukfile_parse(text, strlen(text), NULL, &err));
		assert_int_equal(err.status, 400);
		assert_non_null(
		        strstr(err.message, "Ukfile:2: ENV \"K64=v\": more than 64 variables"));
	}

	/* EXPOSE: protocols, case, duplicates */
	uf = parse_ok("SOURCES main.c\nEXPOSE 80 53/UDP 80/tcp 53/udp 65535\n");
	assert_int_equal(uf->n_ports, 3);
	assert_string_equal(uf->ports[1].proto, "udp");
	assert_int_equal(uf->ports[2].port, 65535);
	ukimg_ukfile_free(uf);

	/* continuation lines and CRLF */
	uf = parse_ok("SOURCES a.c \\\r\n  b.c \\\n  # a comment inside\n  c.S\r\nLIBS net\r\n");
	assert_int_equal(uf->n_sources, 3);
	assert_string_equal(uf->sources[2], "c.S");
	assert_int_equal(uf->n_libs, 1);
	ukimg_ukfile_free(uf);

	/* wildcards, CFLAGS, LIBS dedup, FILES with a trailing slash */
	uf = parse_ok("SOURCES src/*.c main.c\nCFLAGS -O0 -g -DX=1 -DNDEBUG -Iinclude -Wno-unused "
	              "-Werror\nLIBS net net\nFILES a.txt /etc/\nFILES b.txt /\n");
	assert_string_equal(uf->sources[0], "src/*.c");
	assert_int_equal(uf->n_cflags, 7);
	assert_int_equal(uf->n_libs, 1);
	assert_string_equal(uf->files[0].dst, "/etc/");
	assert_string_equal(uf->files[1].dst, "/");
	ukimg_ukfile_free(uf);
}

static void test_memory(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {{"16M", 16ULL << 20},  {"16m", 16ULL << 20},   {"16MiB", 16ULL << 20},
	          {"16MB", 16ULL << 20}, {"2048K", 2ULL << 20},  {"1G", 1ULL << 30},
	          {"64G", 64ULL << 30},  {"2097152", 2ULL << 20}};
	static const char *const no[] = {"",    "M",   "1M",   "2097151", "65G",
	                                 "16T", "-1M", "1.5G", "16 M"};
	uk_err_t err;
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(ukimg_memory_parse(ok[i].s, &v, &err), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		uk_err_clear(&err);
		assert_int_equal(ukimg_memory_parse(no[i], &v, &err), -1);
		assert_int_equal(err.status, 400);
		assert_non_null(strstr(err.message, "memory"));
	}
}

static void test_words(void **state)
{
	uk_err_t err = {0};
	size_t n;
	char **w = ukimg_words_split("  a \"b c\" 'd e' f\\ g \"h\\\"i\" \"\" #x ", &n, &err);

	(void)state;
	assert_non_null(w);
	assert_int_equal(n, 7);
	assert_string_equal(w[0], "a");
	assert_string_equal(w[1], "b c");
	assert_string_equal(w[2], "d e");
	assert_string_equal(w[3], "f g");
	assert_string_equal(w[4], "h\"i");
	assert_string_equal(w[5], "");
	assert_string_equal(w[6], "#x"); /* no comments outside a Ukfile */
	assert_null(w[7]);
	ukimg_strv_free(w);
	assert_null(ukimg_words_split("a \"b", &n, &err));
	assert_string_equal(err.message, "unterminated double quote");
}

static void test_load_file(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX + 16];
	uk_err_t err = {0};
	ukimg_ukfile_t *uf;

	(void)state;
	tu_write(dir, "Ukfile", "SOURCES main.c\nEXPOSE 8080\n");
	tu_write(dir, "Bad.ukfile", "SOURCES main.c\n\nEXPOSE eighty\n");
	snprintf(path, sizeof(path), "%s/Ukfile", dir);
	uf = ukimg_ukfile_load(path, &err);
	assert_non_null(uf);
	assert_int_equal(uf->ports[0].port, 8080);
	ukimg_ukfile_free(uf);
	snprintf(path, sizeof(path), "%s/Bad.ukfile", dir);
	assert_null(ukimg_ukfile_load(path, &err));
	assert_non_null(strstr(err.message, "Bad.ukfile:3: EXPOSE \"eighty\""));
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_null(ukimg_ukfile_load(path, &err));
	assert_int_equal(err.status, 404);
	assert_null(strstr(err.message, dir));
	/* too large: the message names the file, not the directories above it (a daemon's root) */
	{
		char *big = malloc((2 << 20) + 1);
		assert_non_null(big);
		memset(big, '#', 2 << 20);
		big[2 << 20] = 0;
		tu_write(dir, "Big", big);
		free(big);
	}
	snprintf(path, sizeof(path), "%s/Big", dir);
	assert_null(ukimg_ukfile_load(path, &err));
	assert_int_equal(err.status, 413);
	assert_string_equal(err.message, "Big: larger than 1 MiB");
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bad_table),      cmocka_unit_test(test_nul_byte),
	        cmocka_unit_test(test_design_example), cmocka_unit_test(test_defaults_and_forms),
	        cmocka_unit_test(test_memory),         cmocka_unit_test(test_words),
	        cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
