/* uk run: create and start an instance; attached, print its console and exit with its code. */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Set by SIGINT/SIGTERM while attached: the first stops the console stream and asks ukd to stop
 * the instance; a second gives up waiting only once uk has said that it would (attach_armed):
 * `timeout -s INT` sends two signals at once, which must not leave the instance behind. */
static volatile int attach_stop_logs, attach_force;
static volatile sig_atomic_t attach_signals, attach_armed, attach_last_sig;

/* What the first signal asks of ukd: the power button, a kill after this many seconds (ukd's and
 * `docker stop`'s default); uk waits that long plus the margin for the exit, then gives up. */
#define ATTACH_STOP_S 10
#define ATTACH_MARGIN_S 10
/* After giving up, --rm's forced removal waits at most this long for the daemon. */
#define ATTACH_RM_S 5

static void attach_on_signal(int sig)
{
	attach_signals++;
	attach_last_sig = sig;
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
	attach_signals = attach_armed = attach_last_sig = 0;
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

static int64_t attach_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The first signal: asks ukd to stop (id) (the power button, a kill after ATTACH_STOP_S) and
 * waits for the wait thread (w) to learn the exit, at most ATTACH_STOP_S + ATTACH_MARGIN_S in
 * all: a daemon that never answers or an instance that never goes cannot hold uk. A second
 * signal gives up at once. Giving up sets attach_force, which ends (w)'s request; returns 1 if
 * the bound ran out.
 */
static int attach_stop(struct cli *cli, struct attach_wait *w, const char *id, int rm)
{
	_cleanup_free_ char *spath = NULL;
	uk_client_t *c;
	uk_err_t err = {0};
	int64_t until = attach_now_ms() + (ATTACH_STOP_S + ATTACH_MARGIN_S) * 1000;
	char q[32];

	cli_warn("stopping %.12s%s: killed if it has not stopped in %d s (press ^C again to stop "
	         "waiting)",
	         id, rm ? " and removing it" : "", ATTACH_STOP_S);
	attach_armed = 1;
	snprintf(q, sizeof(q), "/stop?t=%d", ATTACH_STOP_S);
	spath = cli_path("instances", id, q);
	c = cli_new_client(cli, &err);
	if (c) {
		/* the stop answers when the instance is gone, so it shares the bound */
		uk_client_set_interrupt(c, &attach_force);
		uk_client_set_timeout(c, until - attach_now_ms());
		if (uk_client_call(c, "POST", spath, NULL, NULL, NULL, &err) < 0 &&
		    strcmp(err.code, "interrupted") != 0 && strcmp(err.code, "timeout") != 0)
			cli_warn("stop %.12s: %s", id, err.message);
		uk_client_free(c);
	} else {
		cli_warn("stop %.12s: %s", id, err.message);
	}
	while (!w->done && !attach_force && attach_now_ms() < until) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (w->done || attach_force)
		return 0;
	attach_force = 1;
	return 1;
}

int cli_attach(struct cli *cli, const char *id, int rm)
{
	struct attach_wait w = {.id = id};
	uk_client_t *logs = NULL;
	uk_err_t err = {0};
	_cleanup_free_ char *lpath = cli_path("instances", id, "/logs?follow=1&tail=all");
	pthread_t th;
	int ret = CLI_EXIT_RUN_FAIL, timed_out = 0;

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
	if (attach_stop_logs && !w.done)
		timed_out = attach_stop(cli, &w, id, rm);
	pthread_join(th, NULL);
	if (w.ret < 0 && strcmp(w.err.code, "interrupted") != 0) {
		cli_fail(&w.err);
		goto restore;
	}
	if (w.ret < 0) {
		/* gave up without the exit code: uk ends as the signal would have ended it */
		char why[64];
		uk_client_t *c = cli_connect(cli, &err);
		_cleanup_free_ char *dpath = cli_path("instances", id, "?force=1");

		ret = 128 + (attach_last_sig ? (int)attach_last_sig : SIGINT);
		if (timed_out)
			snprintf(why, sizeof(why), "no exit %d s after the stop",
			         ATTACH_STOP_S + ATTACH_MARGIN_S);
		else
			snprintf(why, sizeof(why), "a second signal");
		if (!rm) {
			cli_warn("gave up waiting for %.12s (%s): it may still be running; `uk rm "
			         "-f "
			         "%.12s` removes it",
			         id, why, id);
			goto restore;
		}
		/* --rm: not left behind, waited for or not (force: kill and remove), bounded */
		if (c)
			uk_client_set_timeout(c, ATTACH_RM_S * 1000);
		if (c && (uk_client_call(c, "DELETE", dpath, NULL, NULL, NULL, &err) == 0 ||
		          err.status == 404))
			cli_warn("gave up waiting for %.12s (%s); removed it", id, why);
		else
			cli_warn("gave up waiting for %.12s (%s): it may still be running (not "
			         "removed: %s); `uk rm -f %.12s` removes it",
			         id, why, err.message, id);
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
	struct cli_create_opts o = {0};
	uk_err_t err = {0};
	_cleanup_free_ char *id = NULL;
	int status;

	if (cli_create_parse(cli, &cli_cmd_run, argc, argv, &o, &status) < 0)
		return status;
	/*
	 * Detached, the daemon removes the instance when it exits (auto_remove). Attached, we
	 * remove it ourselves after reading its exit code: a daemon-side removal could race
	 * with our wait and lose the code.
	 */
	o.auto_remove = o.rm && o.detach;
	if (!o.detach)
		cli_attach_signals(); /* a ^C from here on stops the instance, not just uk */
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
}

const struct cli_cmd cli_cmd_run = {
        .name = "run",
        .summary =
                "Create and start an instance; attached, print its console and exit with its code",
        .help = "Usage: uk run [OPTIONS] IMAGE [ARG...]\n"
                "\n"
                "Create an instance of IMAGE and start it. ARGs replace the image's CMD.\n"
                "Attached (the default), the instance's console is copied to standard output\n"
                "and uk exits with the instance's exit code. SIGINT or SIGTERM stops the\n"
                "instance as 'uk stop' does (killed if still running after 10 s) and waits at\n"
                "most 20 s for it; a second signal stops waiting at once. With -d, print the id\n"
                "and return.\n"
                "\n"
                "Options:\n"
                "  -d, --detach           start in the background and print the instance id\n"
                "      --rm               remove the instance when it "
                "exits\n" CLI_CREATE_OPTIONS_HELP "  -h, --help             print this help\n"
                "\n"
                "Exit status: the instance's exit code (143 if it stopped when asked, 137 if\n"
                "killed); 128+N if uk gave up waiting after signal N (130 ^C, 143 SIGTERM);\n"
                "125 if uk or the daemon failed; 2 for bad usage.\n",
        .run = run_run,
};
