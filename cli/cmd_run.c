/* uk run: create and start an instance; attached, print its console and exit with its code. */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Set by SIGINT/SIGTERM while attached: the first stops the console stream and kills the
 * instance; a second abandons the wait only once uk has said that it would (attach_armed):
 * `timeout -s INT` sends two signals at once, which must not leave the instance behind. */
static volatile int attach_stop_logs, attach_force;
static volatile sig_atomic_t attach_signals, attach_armed;

static void attach_on_signal(int sig)
{
	(void)sig;
	attach_signals++;
	attach_stop_logs = 1;
	if (attach_armed)
		attach_force = 1;
}

static struct sigaction attach_old_int, attach_old_term;
static int attach_installed;

void cli_attach_signals(void)
{
	struct sigaction sa = {0};

	if (attach_installed)
		return;
	attach_stop_logs = attach_force = 0;
	attach_signals = attach_armed = 0;
	sa.sa_handler = attach_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &attach_old_int);
	sigaction(SIGTERM, &sa, &attach_old_term);
	attach_installed = 1;
}

static void attach_restore_signals(void)
{
	if (!attach_installed)
		return;
	sigaction(SIGINT, &attach_old_int, NULL);
	sigaction(SIGTERM, &attach_old_term, NULL);
	attach_installed = 0;
}

struct attach_wait {
	uk_client_t *client;
	const char *id;
	int code;
	int ret;
	uk_err_t err;
	volatile int done;
	volatile int logs_finished;
};

static void *attach_wait_thread(void *arg)
{
	struct attach_wait *w = arg;
	_cleanup_free_ char *path = cli_path("instances", w->id, "/wait");
	_cleanup_json_ json_object *res = NULL;

	w->ret = uk_client_call(w->client, "POST", path, NULL, NULL, &res, &w->err);
	if (w->ret == 0)
		w->code = (int)cli_jint(res, "status_code", -1);
	if (w->ret == 0 && w->code < 0)
		w->ret = uk_err_set(&w->err, 500, "bad_response",
		                    "wait: no status_code in the answer");
	w->done = 1;
	/* a daemon keeps the console stream open a moment after the exit: let it drain, then
	 * stop it ourselves so a stream that never ends cannot hang us */
	for (int i = 0; i < 400 && !w->logs_finished; i++) { /* 2 s, looked at every 5 ms */
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	attach_stop_logs = 1;
	return NULL;
}

static int attach_console(const char *data, size_t len, void *ud)
{
	(void)ud;
	if (uk_write_all(STDOUT_FILENO, data, len) < 0)
		return 1; /* stdout closed: stop printing, keep waiting */
	return 0;
}

int cli_attach(struct cli *cli, const char *id, int rm)
{
	struct attach_wait w = {.id = id};
	uk_client_t *logs = NULL;
	uk_err_t err = {0};
	_cleanup_free_ char *lpath = cli_path("instances", id, "/logs?follow=1&tail=all");
	pthread_t th;
	int ret = CLI_EXIT_RUN_FAIL;

	cli_attach_signals(); /* usually done already, before create/start */
	logs = cli_new_client(cli, &err);
	w.client = cli_new_client(cli, &err);
	if (!logs || !w.client) {
		cli_fail(&err);
		goto out;
	}
	uk_client_set_interrupt(logs, &attach_stop_logs);
	uk_client_set_interrupt(w.client, &attach_force);

	/* wait runs beside the console stream: whichever way the stream ends, we learn the code */
	if (pthread_create(&th, NULL, attach_wait_thread, &w) != 0) {
		cli_warn("attach %s: cannot start a thread", id);
		goto restore;
	}
	fflush(stdout);
	if (uk_client_stream(logs, "GET", lpath, NULL, attach_console, NULL, &err) < 0 &&
	    strcmp(err.code, "interrupted") != 0 && !w.done)
		cli_warn("warning: console of %.12s: %s", id, err.message);
	w.logs_finished = 1;
	/* the stream ended: either the instance stopped (wait is about to answer) or a signal */
	if (attach_stop_logs && !w.done) {
		_cleanup_free_ char *kpath = cli_path("instances", id, "/kill");
		uk_err_t kerr = {0};

		cli_warn("killing %.12s%s (press ^C again to stop waiting)", id,
		         rm ? " and removing it" : "");
		attach_armed = 1;
		if (uk_client_call(cli_client(cli) ? cli->client : w.client, "POST", kpath, NULL,
		                   NULL, NULL, &kerr) < 0 &&
		    kerr.status != 409)
			cli_warn("kill %.12s: %s", id, kerr.message);
	}
	pthread_join(th, NULL);
	if (w.ret < 0) {
		if (strcmp(w.err.code, "interrupted") == 0 && rm) {
			/* --rm: not left behind, waited for or not (force: kill and remove) */
			_cleanup_free_ char *dpath = cli_path("instances", id, "?force=1");
			uk_err_t derr = {0};
			if (cli_connect(cli, &derr) &&
			    (uk_client_call(cli->client, "DELETE", dpath, NULL, NULL, NULL,
			                    &derr) == 0 ||
			     derr.status == 404))
				cli_warn("gave up waiting for %.12s; removed it", id);
			else
				cli_warn("gave up waiting for %.12s: it may still be running (not "
				         "removed: %s)",
				         id, derr.message);
		} else if (strcmp(w.err.code, "interrupted") == 0) {
			cli_warn("gave up waiting for %.12s: it may still be running", id);
		} else {
			cli_fail(&w.err);
		}
		goto restore;
	}
	ret = w.code & 255;
restore:
	attach_restore_signals();
	if (rm && w.done && w.ret == 0) {
		_cleanup_free_ char *dpath = cli_path("instances", id, "?force=1");
		uk_err_t derr = {0};
		if (cli_connect(cli, &derr) &&
		    uk_client_call(cli->client, "DELETE", dpath, NULL, NULL, NULL, &derr) < 0 &&
		    derr.status != 404)
			cli_warn("remove %.12s: %s", id, derr.message);
	}
out:
	uk_client_free(logs);
	uk_client_free(w.client);
	return ret;
}

static int run_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	        CLI_CREATE_LONGOPTS,
	        {"detach", no_argument, NULL, 'd'},
	        {"rm", no_argument, NULL, 'X'},
	        {NULL, 0, NULL, 0},
	};
	struct cli_create_opts o = {0};
	uk_err_t err = {0};
	_cleanup_free_ char *id = NULL;
	int c, r;

	while ((c = cli_getopt(cli, argc, argv, "+dm:e:p:Pv:l:", opts)) != -1) {
		if (c == 'h') {
			cli_create_opts_clear(&o);
			return cli_help(&cli_cmd_run);
		}
		if (c == '?')
			goto usage;
		if (c == 'd') {
			o.detach = 1;
			continue;
		}
		if (c == 'X') {
			o.rm = 1;
			continue;
		}
		r = cli_create_option(cli, &o, c, optarg);
		if (r != 0)
			goto usage;
	}
	if (optind >= argc) {
		cli_usage_error(cli, "an IMAGE is required");
		goto usage;
	}
	o.image = argv[optind];
	o.args = argv + optind + 1;
	o.nargs = argc - optind - 1;
	if (o.rm && o.restart && strcmp(o.restart, "no") != 0) {
		cli_usage_error(cli, "--rm and --restart %s cannot be used together", o.restart);
		goto usage;
	}
	{
		json_object *probe = cli_create_body(&o, &err);
		if (!probe) {
			cli_usage_error(cli, "%s", err.message);
			goto usage;
		}
		json_object_put(probe);
	}
	/*
	 * Detached, the daemon removes the instance when it exits (auto_remove). Attached, we
	 * remove it ourselves after reading its exit code: a daemon-side removal could race
	 * with our wait and lose the code.
	 */
	o.auto_remove = o.rm && o.detach;
	if (!o.detach)
		cli_attach_signals(); /* a ^C from here on kills the instance, not just uk */
	id = cli_create_instance(cli, &o, &err);
	cli_create_opts_clear(&o);
	if (!id) {
		cli_fail(&err);
		return CLI_EXIT_RUN_FAIL;
	}
	if (cli_start_instance(cli, id, &err) < 0) {
		cli_fail(&err);
		/* like docker run: the instance stays, created; say so */
		if (!o.rm)
			cli_warn("instance %.12s was created but not started: `uk start %.12s` "
			         "retries, `uk rm %.12s` removes it",
			         id, id, id);
		if (o.rm) {
			_cleanup_free_ char *dpath = cli_path("instances", id, "?force=1");
			uk_err_t derr = {0};
			if (uk_client_call(cli->client, "DELETE", dpath, NULL, NULL, NULL, &derr) <
			            0 &&
			    derr.status != 404)
				cli_warn("remove %.12s: %s", id, derr.message);
		}
		return CLI_EXIT_RUN_FAIL;
	}
	if (o.detach) {
		puts(id);
		return 0;
	}
	return cli_attach(cli, id, o.rm);
usage:
	cli_create_opts_clear(&o);
	return CLI_EXIT_USAGE;
}

const struct cli_cmd cli_cmd_run = {
        .name = "run",
        .summary =
                "Create and start an instance; attached, print its console and exit with its code",
        .help = "Usage: uk run [OPTIONS] IMAGE [ARG...]\n"
                "\n"
                "Create an instance of IMAGE and start it. ARGs replace the image's CMD.\n"
                "Attached (the default), the instance's console is copied to standard output\n"
                "and uk exits with the instance's exit code; SIGINT or SIGTERM kills the\n"
                "instance (a second one stops waiting). With -d, print the id and return.\n"
                "\n"
                "Options:\n"
                "  -d, --detach           start in the background and print the instance id\n"
                "      --rm               remove the instance when it "
                "exits\n" CLI_CREATE_OPTIONS_HELP "  -h, --help             print this help\n"
                "\n"
                "Exit status: the instance's exit code; 125 if uk or the daemon failed;\n"
                "2 for bad usage.\n",
        .run = run_run,
};
