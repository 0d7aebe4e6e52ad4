/* uk login / uk logout: check credentials through the daemon and keep them in the credentials
 * file (0600, written atomically), or forget them. */
#include "cli.h"

#include <errno.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <uk/regauth.h>

/* Reads one line from (f) into a malloc'd string without its newline; NULL at EOF. With (hide)
 * the terminal does not echo it. */
static char *login_read_line(FILE *f, const char *prompt, int hide)
{
	struct termios old, quiet;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int echo_off = 0;

	/* echo off before the prompt: what is typed after seeing it is never shown */
	if (hide && tcgetattr(fileno(f), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(fileno(f), TCSAFLUSH, &quiet) == 0;
	}
	if (prompt) {
		fputs(prompt, stderr);
		fflush(stderr);
	}
	n = getline(&line, &cap, f);
	if (echo_off) {
		tcsetattr(fileno(f), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	return line;
}

/* The username and password: -u / --password-stdin, else prompts on a terminal. */
static int login_creds(struct cli *cli, uk_regauth_t *a, const char *user, int pw_stdin)
{
	int tty = isatty(STDIN_FILENO);

	if (user)
		a->username = cli_sprintf("%s", user);
	else if (tty && !pw_stdin)
		a->username = login_read_line(stdin, "Username: ", 0);
	if (!a->username || !*a->username)
		return cli_usage_error(cli, "a username is required (-u USER)");
	if (pw_stdin)
		a->password = login_read_line(stdin, NULL, 0);
	else if (tty)
		a->password = login_read_line(stdin, "Password: ", 1);
	else
		return cli_usage_error(cli, "cannot prompt for a password: standard input is not "
		                            "a terminal (use --password-stdin)");
	if (!a->password || !*a->password)
		return cli_usage_error(cli, "a password is required");
	return 0;
}

/* Stores (a) under (server) in the credentials file at (path). */
static int login_store(const char *path, json_object *cfg, const char *server,
                       const uk_regauth_t *a, uk_err_t *err)
{
	_cleanup_free_ char *plain = cli_sprintf("%s:%s", a->username, a->password);
	char *b64 = uk_base64_encode(plain, strlen(plain), 0);
	json_object *auths, *entry = json_object_new_object();
	int r;

	memset(plain, 0, strlen(plain));
	if (!b64 || !entry)
		return uk_err_errno(err, ENOMEM, "login");
	if (!json_object_object_get_ex(cfg, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object)) {
		auths = json_object_new_object();
		json_object_object_add(cfg, "auths", auths);
	}
	json_object_object_add(entry, "auth", json_object_new_string(b64));
	json_object_object_add(auths, server, entry);
	memset(b64, 0, strlen(b64));
	free(b64);
	r = cli_config_save(path, cfg, err);
	return r;
}

static int login_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"username", required_argument, NULL, 'u'},
	        {"password-stdin", no_argument, NULL, 'P'},
	        {NULL, 0, NULL, 0},
	};
	_cleanup_free_ char *cfgpath = cli_config_path();
	_cleanup_json_ json_object *cfg = NULL;
	const char *user = NULL, *arg;
	char server[UK_REGAUTH_SERVER_MAX];
	uk_regauth_t a = {0};
	uk_err_t err = {0};
	int c, pw_stdin = 0, http, r = CLI_EXIT_FAIL;

	while ((c = cli_getopt(cli, argc, argv, "u:", opts)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_login);
		if (c == 'u')
			user = optarg;
		else if (c == 'P')
			pw_stdin = 1;
		else
			return CLI_EXIT_USAGE;
	}
	if (argc - optind > 1)
		return cli_usage_error(cli, "at most one SERVER");
	arg = optind < argc ? argv[optind] : UK_REGAUTH_DEFAULT;
	if (uk_regauth_server(arg, server, &http, &err) < 0)
		return cli_usage_error(cli, "%s", err.message);
	/* A file we could not write back is found before the password is asked for. */
	if (!(cfg = cli_config_load(cfgpath, &err)))
		return cli_fail(&err);
	if ((r = login_creds(cli, &a, user, pw_stdin)) != 0)
		goto out;
	r = CLI_EXIT_FAIL;
	a.serveraddress = cli_sprintf("%s%s", http ? "http://" : "", server);
	if (!cli_client(cli))
		goto out;
	if (cli_send_creds(cli, &a) < 0 ||
	    uk_client_call(cli->client, "POST", "/v1/auth", NULL, NULL, NULL, &err) < 0) {
		cli_warn("login %s: %s", server, err.message);
		goto out;
	}
	if (login_store(cfgpath, cfg, server, &a, &err) < 0) {
		cli_warn("login %s: %s", server, err.message);
		goto out;
	}
	puts("Login Succeeded");
	r = 0;
out:
	uk_regauth_clear(&a);
	return r;
}

static int logout_run(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *cfgpath = cli_config_path();
	_cleanup_json_ json_object *cfg = NULL;
	char server[UK_REGAUTH_SERVER_MAX];
	json_object *auths;
	uk_err_t err = {0};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1) {
		if (c == 'h')
			return cli_help(&cli_cmd_logout);
		return CLI_EXIT_USAGE;
	}
	if (argc - optind > 1)
		return cli_usage_error(cli, "at most one SERVER");
	if (uk_regauth_server(optind < argc ? argv[optind] : UK_REGAUTH_DEFAULT, server, NULL,
	                      &err) < 0)
		return cli_usage_error(cli, "%s", err.message);
	if (!(cfg = cli_config_load(cfgpath, &err)))
		return cli_fail(&err);
	if (!json_object_object_get_ex(cfg, "auths", &auths) ||
	    !json_object_object_get_ex(auths, server, NULL)) {
		printf("Not logged in to %s\n", server);
		return 0;
	}
	json_object_object_del(auths, server);
	if (cli_config_save(cfgpath, cfg, &err) < 0) {
		cli_warn("logout %s: %s", server, err.message);
		return CLI_EXIT_FAIL;
	}
	printf("Removing login credentials for %s\n", server);
	return 0;
}

const struct cli_cmd cli_cmd_login = {
        .name = "login",
        .summary = "Log in to a registry",
        .help = "Usage: uk login [OPTIONS] [SERVER]\n"
                "\n"
                "Check a username and password against the registry SERVER (HOST[:PORT],\n"
                "default docker.io) through the daemon and, when it accepts them, keep them\n"
                "for push and pull in $UK_CONFIG/config.json (default\n"
                "~/.config/uk/config.json; mode 0600, refused when looser). The daemon never\n"
                "stores them. Without -u and --password-stdin, asks on the terminal (the\n"
                "password without echo).\n"
                "\n"
                "Options:\n"
                "  -u, --username USER    the username\n"
                "      --password-stdin   read the password from standard input\n"
                "  -h, --help             print this help\n"
                "\n"
                "Exit status: 0 when logged in, 1 when the registry refused (nothing is\n"
                "stored), 2 for bad usage.\n",
        .run = login_run,
};

const struct cli_cmd cli_cmd_logout = {
        .name = "logout",
        .summary = "Log out from a registry",
        .help = "Usage: uk logout [SERVER]\n"
                "\n"
                "Remove the credentials stored for SERVER (default docker.io) from\n"
                "$UK_CONFIG/config.json.\n"
                "\n"
                "Options:\n"
                "  -h, --help   print this help\n",
        .run = logout_run,
};
