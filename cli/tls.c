/* The CLI's TLS settings, Docker's way: --tls/--tlsverify, --tlscacert/--tlscert/--tlskey,
 * UK_TLS_VERIFY and UK_CERT_PATH (default ~/.uk), applied to every client the CLI makes. */
#include "cli.h"

#include <string.h>
#include <unistd.h>

/* (flag) if given, else DIR/(name) when it exists (or always, when (needed)). */
static const char *tls_pick(char *buf, size_t len, const char *flag, const char *dir,
                            const char *name, int needed)
{
	if (flag)
		return flag;
	if (!dir)
		return NULL;
	snprintf(buf, len, "%s/%s", dir, name);
	return needed || access(buf, F_OK) == 0 ? buf : NULL;
}

void cli_tls_resolve(struct cli *cli)
{
	struct cli_tls *t = &cli->tls;
	const char *env = getenv("UK_TLS_VERIFY");
	const char *dir = getenv("UK_CERT_PATH");

	if (env && *env && strcmp(env, "0") != 0)
		t->verify = 1;
	t->on = t->on || t->verify;
	if (!t->on)
		return; /* like docker: certificate flags alone do not turn TLS on */
	if (!dir || !*dir) {
		const char *home = getenv("HOME");
		dir = NULL;
		if (home && *home) {
			snprintf(t->dir, sizeof(t->dir), "%s/.uk", home);
			dir = t->dir;
		}
	}
	t->opts.verify = t->verify;
	t->opts.ca = tls_pick(t->ca, sizeof(t->ca), t->ca_flag, dir, "ca.pem", t->verify);
	t->opts.cert = tls_pick(t->cert, sizeof(t->cert), t->cert_flag, dir, "cert.pem", 0);
	t->opts.key = tls_pick(t->key, sizeof(t->key), t->key_flag, dir, "key.pem", 0);
}

uk_client_t *cli_new_client(struct cli *cli, uk_err_t *err)
{
	uk_client_t *c = uk_client_new(cli->host, err);

	if (c && cli->tls.on && uk_client_set_tls(c, &cli->tls.opts, err) < 0) {
		uk_client_free(c);
		return NULL;
	}
	return c;
}
