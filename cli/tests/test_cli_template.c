/* Unit tests (cmocka) of the --format template engine: Docker's common templates, errors with
 * the column of the mistake, and the table layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "cli.h"

static const char *const dot_json =
        "{\"ID\": \"0123456789ab\", \"Names\": \"web\", \"Status\": \"Up 2 minutes\","
        " \"Ports\": \"127.0.0.1:8080->80/tcp\", \"N\": 3, \"F\": 1.5, \"Big\": 1000000.0,"
        " \"T\": true, \"Z\": null, \"Empty\": \"\","
        " \"State\": {\"Status\": \"running\", \"ExitCode\": 0},"
        " \"Config\": {\"Env\": [\"A=1\", \"B=2\"], \"Labels\": {\"com.x\": \"1\", \"b\": "
        "\"two\"}}}";

/* (tmpl) run on the test object: the output, or "ERR: message". The caller frees. */
static char *run(const char *tmpl)
{
	json_object *dot = json_tokener_parse(dot_json);
	uk_err_t err = {0};
	struct cli_tmpl *t = cli_tmpl_parse(tmpl, CLI_TMPL_ESCAPES, 0, &err);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(dot);
	if (!t) {
		json_object_put(dot);
		return cli_sprintf("ERR: %s", err.message);
	}
	f = open_memstream(&buf, &len);
	if (cli_tmpl_exec(t, dot, f, &err) < 0) {
		fclose(f);
		free(buf);
		buf = cli_sprintf("ERR: %s", err.message);
	} else {
		fclose(f);
	}
	cli_tmpl_free(t);
	json_object_put(dot);
	return buf;
}

static void check(const char *tmpl, const char *want)
{
	char *got = run(tmpl);

	if (strcmp(got, want) != 0)
		fail_msg("template %s\n  want: %s\n  got:  %s", tmpl, want, got);
	free(got);
}

static void test_docker_cases(void **state)
{
	(void)state;
	check("{{.Names}}", "web");
	check("{{.ID}}: {{.Status}}", "0123456789ab: Up 2 minutes");
	check("{{.State.Status}} {{.State.ExitCode}}", "running 0");
	check("{{json .Config.Env}}", "[\"A=1\",\"B=2\"]");
	check("{{json .State}}", "{\"Status\":\"running\",\"ExitCode\":0}");
	check("{{.Names}}\\t{{.Ports}}", "web\t127.0.0.1:8080->80/tcp");
	check("{{range .Config.Env}}{{.}};{{end}}", "A=1;B=2;");
	check("{{range $i, $e := .Config.Env}}{{$i}}={{$e}} {{end}}", "0=A=1 1=B=2 ");
	check("{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}},{{end}}", "b:two,com.x:1,");
	check("{{index .Config.Labels \"com.x\"}}", "1");
	check("[{{index .Config.Labels \"missing\"}}]", "[]");
	check("{{index .Config.Env 1}}", "B=2");
	check("{{println .Names}}", "web\n");
	check("{{print .N .F}}|{{print .Names .Names}}", "3 1.5|webweb");
	check("{{upper .Names}} {{.Names | upper}} {{lower \"AbC\"}} {{title \"a b\"}}",
	      "WEB WEB abc A B");
	check("{{.Config.Labels}} {{.Config.Env}}", "map[b:two com.x:1] [A=1 B=2]");
	check("{{.Big}} {{.T}} {{.Z}}", "1e+06 true <no value>");
	check("{{if eq .State.Status \"running\"}}up{{else}}down{{end}}", "up");
	check("{{if .Empty}}x{{else if .T}}y{{else}}z{{end}}", "y");
	check("{{with .State}}{{.Status}}{{end}}", "running");
	check("{{range .Z}}x{{else}}none{{end}}", "none");
	check("{{len .Config.Env}} {{join .Config.Env \",\"}} {{len (split \"a:b:c\" \":\")}}",
	      "2 A=1,B=2 3");
	check("{{printf \"%-5s|%3d|%q\" .Names .N .Names}}", "web  |  3|\"web\"");
	check("{{$n := .Names}}{{range .Config.Env}}{{$n}}{{end}}", "webweb");
	check("{{/* a comment */}}a  {{- \" b \" -}}  c", "a b c");
	check("{{truncate .ID 4}} {{and .T .N}} {{or .Empty \"dflt\"}} {{not .T}}",
	      "0123 3 dflt false");
	check("{{if and (gt .N 2) (lt .F 2.0)}}yes{{end}}", "yes");
	check("{{$.Names}}{{range .Config.Env}}{{$.Names}}{{end}}", "webwebweb");
	check("plain {{\"text\"}}", "plain text");
}

static void test_errors(void **state)
{
	(void)state;
	check("{{.Names", "ERR: template at column 1: unclosed action: '{{' without its '}}'");
	check("ab {{.Nmes}}",
	      "ERR: template at column 6: no field Nmes here (fields: Big, Config, Empty, "
	      "F, ID, N, Names, Ports, State, Status, T, Z)");
	check("{{if .T}}x", "ERR: template at column 3: this block has no {{end}}");
	check("x{{end}}", "ERR: template at column 4: {{end}} without an if, range or with");
	check("{{nosuch .Names}}",
	      "ERR: template at column 3: function nosuch not defined (uk has json, "
	      "upper, lower, title, index, len, join, split, truncate, print, "
	      "println, printf, eq, ne, lt, le, gt, ge, not, and, or)");
	check("{{.Names .ID}}",
	      "ERR: template at column 10: only a function takes arguments (this is a value)");
	check("{{\"abc}}", "ERR: template at column 3: unterminated quoted string");
	check("{{ }}", "ERR: template at column 4: missing value in an action");
	check("{{.Names |}}", "ERR: template at column 11: missing command after '|'");
	check("{{(.Names}}", "ERR: template at column 10: unexpected '}}': a '(' is not closed");
	check("{{index .Config.Env 5}}",
	      "ERR: template at column 3: index 5 out of range (length 2)");
	check("{{range .N}}{{end}}", "ERR: template at column 3: range can't iterate over a int");
	check("{{.State.Status.X}}", "ERR: template at column 3: can't read field X of a string");
	check("{{template \"x\"}}",
	      "ERR: template at column 3: {{template}} is not supported by uk's templates");
	check("a\n{{.X}}",
	      "ERR: template at line 2, column 3: no field X here (fields: Big, Config, "
	      "Empty, F, ID, N, Names, Ports, State, Status, T, Z)");
	check("{{$x}}", "ERR: template at column 3: undefined variable $x");
	check("{{.Names-}}", "ERR: template at column 9: '-}}' needs a space before the '-'");
}

/* Nested ranges over the whole value end with an error, not after 10^30 steps. */
static void test_limits(void **state)
{
	char tmpl[4096] = "";
	char *got;

	(void)state;
	for (int i = 0; i < 40; i++)
		strcat(tmpl, "{{range $.Config.Env}}x");
	for (int i = 0; i < 40; i++)
		strcat(tmpl, "{{end}}");
	got = run(tmpl);
	assert_non_null(strstr(got, "runs too long"));
	free(got);
	memset(tmpl, 0, sizeof(tmpl));
	for (int i = 0; i < 100; i++)
		strcat(tmpl, "{{if 1}}");
	got = run(tmpl);
	assert_non_null(strstr(got, "nested too deep"));
	free(got);
}

/* The table layout: titles from the header object, cells aligned at tabs like Docker's. */
static void test_table(void **state)
{
	static const char *const kv[] = {"Names", "NAMES", "Ports", "PORTS"};
	struct cli cli = {.cmd = "ps", .templates = 1};
	json_object *rows = json_tokener_parse("[{\"Names\": \"a-rather-long-name\", \"Ports\": "
	                                       "\"p1\"}, {\"Names\": \"b\", \"Ports\": \"\"}]");
	json_object *hdr = cli_format_header(kv, 4);
	char *buf = NULL;
	size_t len = 0;
	FILE *saved = stdout;

	(void)state;
	assert_int_equal(cli_set_format(&cli, "table {{.Names}}\\t{{.Ports}}"), 0);
	stdout = open_memstream(&buf, &len);
	assert_int_equal(cli_format_rows(&cli, rows, hdr), 0);
	fclose(stdout);
	stdout = saved;
	assert_string_equal(buf, "NAMES                PORTS\n"
	                         "a-rather-long-name   p1\n"
	                         "b                    \n");
	free(buf);
	assert_int_equal(cli_set_format(&cli, "{{.Names}}"), 0);
	assert_int_equal(cli.tmpl_table, 0);
	assert_int_equal(cli_set_format(&cli, "table {{.Nope"), -1);
	assert_null(cli.tmpl);
	cli_tmpl_free(cli.tmpl);
	json_object_put(rows);
	json_object_put(hdr);
}

/* Docker's keys beside uk's in inspect's output. */
static void test_docker_keys(void **state)
{
	json_object *o = json_tokener_parse(
	        "{\"id\": \"abc\", \"name\": \"web\", \"image\": \"hello:latest\", \"image_id\": "
	        "\"sha256:1\", \"created\": 0, \"state\": {\"status\": \"exited\", \"running\": "
	        "false, "
	        "\"exit_code\": 7, \"pid\": 0}, \"ports\": [{\"host_ip\": \"127.0.0.1\", "
	        "\"host_port\": 8080, \"guest_port\": 80, \"protocol\": \"tcp\"}], \"config\": "
	        "{\"env\": [\"A=1\"], \"cmd\": [\"x\"], \"memory\": 16777216}}");
	struct cli cli = {.cmd = "inspect", .templates = 1};
	char *buf = NULL;
	size_t len = 0;
	FILE *saved = stdout;

	(void)state;
	cli_docker_keys(o);
	assert_int_equal(cli_set_format(&cli,
	                                "{{.Name}} {{.State.Status}} {{.State.ExitCode}} "
	                                "{{json .Config.Env}} {{.HostConfig.Memory}} "
	                                "{{json .NetworkSettings.Ports}} {{.state.exit_code}}"),
	                 0);
	stdout = open_memstream(&buf, &len);
	assert_int_equal(cli_format_one(&cli, o), 0);
	fclose(stdout);
	stdout = saved;
	assert_string_equal(buf,
	                    "/web exited 7 [\"A=1\"] 16777216 "
	                    "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]} 7\n");
	free(buf);
	cli_tmpl_free(cli.tmpl);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_docker_cases), cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_limits),       cmocka_unit_test(test_table),
	        cmocka_unit_test(test_docker_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
