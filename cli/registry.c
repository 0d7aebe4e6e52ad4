/* What push, pull, login and logout share: the credentials file and a transfer's progress. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uk/regauth.h>

char *cli_config_path(void)
{
	const char *dir = getenv("UK_CONFIG"), *home = getenv("HOME");

	if (dir && *dir)
		return cli_sprintf("%s/config.json", dir);
	return cli_sprintf("%s/.config/uk/config.json", home && *home ? home : ".");
}

json_object *cli_config_load(const char *path, uk_err_t *err)
{
	json_object *cfg;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 && errno == ENOENT)
		return json_object_new_object();
	if (fd < 0)
		return uk_err_errno(err, errno, "open %s", path), NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return uk_err_bad(err, "%s: not a regular file", path), NULL;
	}
	if (st.st_mode & 077) {
		close(fd);
		uk_err_bad(err,
		           "%s has mode %04o but holds registry credentials: run 'chmod 600 %s' "
		           "(or remove it and log in again)",
		           path, (unsigned)(st.st_mode & 07777), path);
		return NULL;
	}
	cfg = json_object_from_fd(fd);
	close(fd);
	if (!cfg || !json_object_is_type(cfg, json_type_object)) {
		json_object_put(cfg);
		return uk_err_bad(err, "%s: not a JSON object (fix or remove it)", path), NULL;
	}
	return cfg;
}

/* mkdir -p for the file's directory, each new component 0700. */
static int config_mkdirs(const char *path, uk_err_t *err)
{
	_cleanup_free_ char *dir = cli_sprintf("%s", path);
	char *slash = strrchr(dir, '/');

	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return uk_err_errno(err, errno, "create %s", dir);
		if (!(*p = c))
			return 0;
	}
}

int cli_config_save(const char *path, json_object *cfg, uk_err_t *err)
{
	_cleanup_free_ char *tmp = cli_sprintf("%s.XXXXXX", path);
	const char *text = json_object_to_json_string_ext(
	        cfg,
	        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	int fd;

	if (config_mkdirs(path, err) < 0)
		return -1;
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return uk_err_errno(err, errno, "create %s", tmp);
	if (fchmod(fd, 0600) < 0 || uk_write_all(fd, text, strlen(text)) < 0 ||
	    uk_write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		uk_err_errno(err, errno, "write %s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		uk_err_errno(err, errno, "rename %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int cli_config_creds(json_object *cfg, const char *server, uk_regauth_t *out)
{
	json_object *auths, *entry;
	const char *b64;
	char *plain = NULL, *colon;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!json_object_object_get_ex(cfg, "auths", &auths) ||
	    !json_object_object_get_ex(auths, server, &entry) || !*(b64 = cli_jstr(entry, "auth")))
		return 0;
	if (uk_base64_decode(b64, strlen(b64), &plain, &len) < 0 || !(colon = strchr(plain, ':'))) {
		free(plain);
		return -1;
	}
	*colon = 0;
	out->username = cli_sprintf("%s", plain);
	out->password = cli_sprintf("%s", colon + 1);
	out->serveraddress = cli_sprintf("%s", server);
	memset(colon + 1, 0, strlen(colon + 1));
	free(plain);
	return 1;
}

int cli_send_creds(struct cli *cli, const uk_regauth_t *a)
{
	char *h = uk_regauth_encode(a);
	int r;

	if (!h)
		return -1;
	r = uk_client_set_header(cli->client, UK_REGAUTH_HEADER, h);
	memset(h, 0, strlen(h));
	free(h);
	return r;
}

int cli_registry_creds(struct cli *cli, const char *name, uk_err_t *err)
{
	_cleanup_free_ char *path = cli_config_path();
	char server[UK_REGAUTH_SERVER_MAX];
	uk_regauth_t a;
	json_object *cfg;
	int r;

	uk_regauth_registry_of(name, server);
	if (!(cfg = cli_config_load(path, err)))
		return -1;
	r = cli_config_creds(cfg, server, &a);
	json_object_put(cfg);
	if (r < 0)
		return uk_err_bad(err, "%s: bad \"auth\" for %s (log in again)", path, server);
	if (r > 0 && cli_send_creds(cli, &a) < 0)
		r = uk_err_errno(err, ENOMEM, "credentials");
	uk_regauth_clear(&a);
	return r < 0 ? -1 : 0;
}

struct xfer_state {
	struct cli *cli;
	const char *verb;
	int done;
	int fetched; /* a pull downloaded something */
	char digest[128];
	char ref[600];
	uk_err_t err;
};

static void xfer_print(json_object *obj, int push)
{
	static const struct {
		const char *status, *text;
	} words[] = {
	        {"exists", "Layer already exists"},
	        {"uploaded", "Pushed"},
	        {"have", "Already exists"},
	        {"downloaded", "Pull complete"},
	        {"manifest", "Manifest verified"},
	        {"manifest+push", "Manifest pushed"},
	        {"mounted", "Mounted from another repository"},
	};
	const char *st = cli_jstr(obj, "status"), *dg = cli_jstr(obj, "digest");
	char size[32];

	if (push && !strcmp(st, "manifest"))
		st = "manifest+push";
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(st, words[i].status))
			continue;
		cli_human_size((double)cli_jint(obj, "size", 0), size, sizeof(size));
		printf("%.12s: %s (%s)\n", strncmp(dg, "sha256:", 7) ? dg : dg + 7, words[i].text,
		       size);
		fflush(stdout);
	}
}

static int xfer_line(json_object *obj, void *ud)
{
	struct xfer_state *s = ud;
	json_object *e;

	if (s->cli->json) {
		puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
		                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
		fflush(stdout);
	}
	if (json_object_object_get_ex(obj, "error", &e)) {
		uk_err_set(&s->err, (int)cli_jint(e, "status", 500),
		           *cli_jstr(e, "code") ? cli_jstr(e, "code") : "internal", "%s",
		           cli_jstr(e, "message"));
		return 0;
	}
	if (!strcmp(cli_jstr(obj, "status"), "done")) {
		s->done = 1;
		snprintf(s->digest, sizeof(s->digest), "%s", cli_jstr(obj, "digest"));
		snprintf(s->ref, sizeof(s->ref), "%s", cli_jstr(obj, "ref"));
	} else {
		s->fetched |= !strcmp(cli_jstr(obj, "status"), "downloaded");
		if (!s->cli->json)
			xfer_print(obj, !strcmp(s->verb, "push"));
	}
	return 0;
}

int cli_registry_xfer(struct cli *cli, const char *verb, const char *name, const char *path)
{
	struct xfer_state s = {.cli = cli, .verb = verb};
	uk_err_t err = {0};

	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (cli_registry_creds(cli, name, &err) < 0) {
		cli_warn("%s %s: %s", verb, name, err.message);
		return CLI_EXIT_FAIL;
	}
	if (uk_client_stream_json(cli->client, "POST", path, NULL, xfer_line, &s, &err) < 0) {
		cli_warn("%s %s: %s", verb, name, err.message);
		return CLI_EXIT_FAIL;
	}
	if (s.err.status) {
		char server[UK_REGAUTH_SERVER_MAX];

		uk_regauth_registry_of(name, server);
		if (!strcmp(verb, "pull") && !strcmp(server, "docker.io") &&
		    strncmp(name, "docker.io/", 10) && !strstr(s.err.message, "docker.io"))
			cli_warn("%s (tried docker.io: a name without a registry is looked up "
			         "there; name another registry as HOST[:PORT]/%s)",
			         s.err.message, name);
		else
			cli_warn("%s", s.err.message);
		return CLI_EXIT_FAIL;
	}
	if (!s.done) {
		cli_warn("%s %s: the daemon ended the stream without a result (see its log)", verb,
		         name);
		return CLI_EXIT_FAIL;
	}
	if (!cli->json && !strcmp(verb, "push"))
		printf("%s: digest: %s\n", s.ref, s.digest);
	else if (!cli->json)
		printf("Digest: %s\nStatus: %s %s\n", s.digest,
		       s.fetched ? "Downloaded newer image for" : "Image is up to date for", s.ref);
	return 0;
}
