/* uk trust: Ed25519 signing keys kept on this machine, signing images locally (the daemon only
 * stores the signature), and listing an image's signatures. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "uk/registry.h"
#include "uk/trust.h"

/* ~/.config/uk/trust (or $XDG_CONFIG_HOME/uk/trust), made 0700 when (create). */
static int key_dir(char *out, size_t len, int create, uk_err_t *err)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char base[PATH_MAX], mid[PATH_MAX + 8];

	if (xdg && xdg[0] == '/')
		snprintf(base, sizeof(base), "%s", xdg);
	else if (home && home[0] == '/')
		snprintf(base, sizeof(base), "%s/.config", home);
	else
		return uk_err_bad(err, "neither XDG_CONFIG_HOME nor HOME is an absolute path: "
		                       "nowhere to keep keys");
	snprintf(mid, sizeof(mid), "%s/uk", base);
	if (snprintf(out, len, "%s/trust", mid) >= (int)len)
		return uk_err_bad(err, "key directory path too long");
	if (!create)
		return 0;
	if ((mkdir(base, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(mid, 0700) < 0 && errno != EEXIST) || (mkdir(out, 0700) < 0 && errno != EEXIST))
		return uk_err_errno(err, errno, "create %s", out);
	return 0;
}

static int key_name_valid(const char *n)
{
	size_t len = strlen(n);

	return len > 0 && len <= 64 && n[0] != '.' && n[0] != '-' &&
	       strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	               len;
}

static int trust_keygen(struct cli *cli, int argc, char **argv)
{
	char dir[PATH_MAX], priv[PATH_MAX + 80], pub[PATH_MAX + 80], id[UKIMG_TRUST_KEYID_SIZE];
	uk_err_t err = {0};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1)
		return c == 'h' ? cli_help(&cli_cmd_trust) : CLI_EXIT_USAGE;
	if (argc - optind != 1 || !key_name_valid(argv[optind]))
		return cli_usage_error(cli, "keygen needs one key NAME ([A-Za-z0-9_.-], up to 64)");
	if (key_dir(dir, sizeof(dir), 1, &err) < 0)
		return cli_fail(&err);
	snprintf(priv, sizeof(priv), "%s/%s.key", dir, argv[optind]);
	snprintf(pub, sizeof(pub), "%s/%s.pub", dir, argv[optind]);
	if (ukimg_trust_keygen(priv, pub, id, &err) < 0) {
		cli_warn("trust keygen %s: %s", argv[optind], err.message);
		return CLI_EXIT_FAIL;
	}
	if (cli->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(argv[optind]));
		json_object_object_add(o, "keyid", json_object_new_string(id));
		json_object_object_add(o, "private_key", json_object_new_string(priv));
		json_object_object_add(o, "public_key", json_object_new_string(pub));
		cli_print_json(o);
		json_object_put(o);
		return 0;
	}
	printf("Key %s, id %.16s\n  private: %s (stays here; uk never sends it)\n"
	       "  public:  %s (list it in daemon.json \"trust\": {\"keys\": [...]})\n",
	       argv[optind], id, priv, pub);
	return 0;
}

/* The private key to sign with: (name), or the only key in the directory. */
static int key_pick(struct cli *cli, const char *name, char *path, size_t len)
{
	char dir[PATH_MAX], only[256] = "";
	uk_err_t err = {0};
	struct dirent *e;
	DIR *dd;
	int n = 0;

	if (key_dir(dir, sizeof(dir), 0, &err) < 0)
		return cli_fail(&err);
	if (name) {
		if (!key_name_valid(name))
			return cli_usage_error(cli, "bad key name '%s'", name);
		snprintf(path, len, "%s/%s.key", dir, name);
		return 0;
	}
	dd = opendir(dir);
	while (dd && (e = readdir(dd))) {
		size_t l = strlen(e->d_name);

		if (l > 4 && l < sizeof(only) && !strcmp(e->d_name + l - 4, ".key") && n++ == 0)
			snprintf(only, sizeof(only), "%s", e->d_name);
	}
	if (dd)
		closedir(dd);
	if (n != 1)
		return cli_usage_error(cli,
		                       n ? "%d keys in %s: say which with --key NAME"
		                         : "%d keys in %s: make one with 'uk trust keygen NAME'",
		                       n, dir);
	snprintf(path, len, "%s/%s", dir, only);
	return 0;
}

/* POSTs (sig) for (image) to the daemon; prints what was stored. */
static int sign_post(struct cli *cli, const char *image, const ukimg_trust_sig_t *sig)
{
	_cleanup_free_ char *path = cli_path("images", image, "/signatures");
	_cleanup_json_ json_object *body = json_object_new_object(), *out = NULL;
	uk_err_t err = {0};

	if (cli_registry_creds(cli, image, &err) < 0) {
		cli_warn("trust sign %s: %s", image, err.message);
		return CLI_EXIT_FAIL;
	}
	json_object_object_add(body, "payload", json_object_new_string(sig->payload));
	json_object_object_add(body, "signature", json_object_new_string(sig->signature));
	json_object_object_add(body, "keyid", json_object_new_string(sig->keyid));
	if (uk_client_call(
	            cli->client, "POST", path,
	            &UK_BODY_JSON(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN)),
	            NULL, &out, &err) < 0) {
		cli_warn("trust sign %s: %s", image, err.message);
		return CLI_EXIT_FAIL;
	}
	if (cli->json)
		cli_print_json(out);
	else
		printf("Signed %s (%s) with key %.16s: stored as %s\n", image,
		       cli_jstr(out, "digest"), sig->keyid, cli_jstr(out, "tag"));
	return 0;
}

static int trust_sign(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {{"key", required_argument, NULL, 'k'},
	                                         {NULL, 0, NULL, 0}};
	_cleanup_free_ char *ipath = NULL;
	_cleanup_json_ json_object *img = NULL;
	const char *keyname = NULL, *image;
	char key[PATH_MAX + 300], dref[UKIMG_REGISTRY_MAX + UKIMG_REPO_MAX + 2];
	ukimg_regref_t ref;
	ukimg_trust_sig_t sig = {0};
	uk_err_t err = {0};
	int c, rc;

	while ((c = cli_getopt(cli, argc, argv, "k:", longopts)) != -1) {
		if (c == 'k')
			keyname = optarg;
		else
			return c == 'h' ? cli_help(&cli_cmd_trust) : CLI_EXIT_USAGE;
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "sign needs one IMAGE (REGISTRY/REPOSITORY[:TAG])");
	image = argv[optind];
	if (ukimg_ref_parse(image, &ref, &err) < 0) {
		cli_warn("trust sign %s: %s", image, err.message);
		return CLI_EXIT_FAIL;
	}
	snprintf(dref, sizeof(dref), "%s/%s", ref.registry, ref.repository);
	if ((rc = key_pick(cli, keyname, key, sizeof(key))) != 0)
		return rc;
	ipath = cli_path("images", image, "");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (uk_client_call(cli->client, "GET", ipath, NULL, NULL, &img, &err) < 0) {
		cli_warn("trust sign %s: %s", image, err.message);
		return CLI_EXIT_FAIL;
	}
	/* The digest comes from the daemon; the key and the signing stay here. */
	if (ukimg_trust_sign_payload(key, cli_jstr(img, "digest"), dref, &sig, &err) < 0) {
		cli_warn("trust sign %s: %s", image, err.message);
		return CLI_EXIT_FAIL;
	}
	rc = sign_post(cli, image, &sig);
	ukimg_trust_sig_clear(&sig);
	return rc;
}

static int trust_inspect(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_object *out = NULL;
	json_object *sigs = NULL, *v = NULL;
	struct cli_table *t;
	uk_err_t err = {0};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "", NULL)) != -1)
		return c == 'h' ? cli_help(&cli_cmd_trust) : CLI_EXIT_USAGE;
	if (argc - optind != 1)
		return cli_usage_error(cli, "inspect needs one IMAGE");
	path = cli_path("images", argv[optind], "/signatures");
	if (!cli_client(cli))
		return CLI_EXIT_FAIL;
	if (cli_registry_creds(cli, argv[optind], &err) < 0 ||
	    uk_client_call(cli->client, "GET", path, NULL, NULL, &out, &err) < 0) {
		cli_warn("trust inspect %s: %s", argv[optind], err.message);
		return CLI_EXIT_FAIL;
	}
	if (cli->json) {
		cli_print_json(out);
		return 0;
	}
	json_object_object_get_ex(out, "signatures", &sigs);
	json_object_object_get_ex(out, "verification", &v);
	printf("Image %s (%s), signatures under tag %s\n", argv[optind], cli_jstr(out, "digest"),
	       cli_jstr(out, "tag"));
	t = cli_table_new(3, "KEY ID", "SIGNED DIGEST", "REFERENCE");
	for (size_t i = 0; sigs && i < json_object_array_length(sigs); i++) {
		json_object *s = json_object_array_get_idx(sigs, i);
		char kid[17];

		snprintf(kid, sizeof(kid), "%s", cli_jstr(s, "keyid"));
		cli_table_row(t, kid[0] ? kid : "-", cli_jstr(s, "signed_digest"),
		              cli_jstr(s, "docker_reference"));
	}
	cli_table_print(t, stdout);
	cli_table_free(t);
	printf("Verification: %s%s%s\n", cli_jstr(v, "result"), *cli_jstr(v, "message") ? ": " : "",
	       cli_jstr(v, "message"));
	return 0;
}

static int trust_run(struct cli *cli, int argc, char **argv)
{
	static const struct cli_sub subs[] = {{"keygen", trust_keygen, NULL, 0},
	                                      {"sign", trust_sign, NULL, 0},
	                                      {"inspect", trust_inspect, NULL, 0}};

	return cli_run_sub(cli, &cli_cmd_trust, subs, sizeof(subs) / sizeof(subs[0]), argc, argv);
}

const struct cli_cmd cli_cmd_trust = {
        .name = "trust",
        .summary = "Sign images and see their signatures",
        .help = "Usage: uk trust keygen NAME\n"
                "       uk trust sign [--key NAME] IMAGE\n"
                "       uk trust inspect IMAGE\n"
                "\n"
                "keygen makes an Ed25519 key pair in ~/.config/uk/trust ($XDG_CONFIG_HOME):\n"
                "NAME.key (private, 0600) and NAME.pub (for daemon.json \"trust\".\"keys\").\n"
                "sign signs IMAGE (REGISTRY/REPOSITORY[:TAG], pushed already) here with the\n"
                "key (--key, or the only one there is) and has the daemon store the signature\n"
                "in the registry next to the image; the private key never leaves this machine.\n"
                "inspect lists the image's signatures and whether the daemon's keys trust it.\n"
                "\n"
                "Options:\n"
                "  -k, --key NAME   the key to sign with\n"
                "      --format FMT table or json\n"
                "  -h, --help       print this help\n",
        .run = trust_run,
};
