/* ukimages: uk's image library — blob store, Ukfile parser, safe tar, OCI image build, save/load.
 */
#ifndef UK_IMAGES_H
#define UK_IMAGES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "uk/error.h"

/*
 * Conventions.
 *
 * - Every function that can fail returns -1 (or NULL) and fills (err) (which MAY be NULL);
 *   400-class statuses mean the input (Ukfile, tar, digest, reference) is at fault, 404 means
 *   a blob is missing, 413 means a limit was exceeded, 500 means our side failed (disk, fork).
 *   Messages name what failed and on what; callers wrap them with their own context.
 * - A digest is the string "sha256:" followed by 64 lowercase hex digits (UKIMG_DIGEST_SIZE
 *   bytes with the NUL). Functions taking a digest MUST reject anything else with 400.
 * - A store handle is immutable after ukimg_store_open(): every function here MAY be called
 *   from several threads on one handle at once. ukimg_store_gc() is the exception: the caller
 *   MUST NOT run it concurrently with builds, loads or puts on the same root.
 * - Nothing here writes outside the store root, and nothing here runs a shell.
 * - Functions returning allocated memory say who frees it; *_free(NULL) is a no-op.
 */

#define UKIMG_DIGEST_SIZE 72 /* "sha256:" + 64 hex + NUL */

/* The runtime-lib major version this library builds for (FROM uk/runtime:1). */
#define UKIMG_RUNTIME_VERSION 1

/* Media types (OCI image spec v1). */
#define UKIMG_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define UKIMG_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define UKIMG_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define UKIMG_MT_LAYER "application/vnd.oci.image.layer.v1.tar"

/* Labels (config.Labels) and manifest annotations uk writes. */
#define UKIMG_LABEL_PLATFORM "org.uk.platform"       /* "kvm" */
#define UKIMG_LABEL_RUNTIME "org.uk.runtime.version" /* "1" */
#define UKIMG_LABEL_MEMORY "org.uk.memory"           /* bytes, decimal */
#define UKIMG_LABEL_LIBS "org.uk.libs"               /* "net http" */
/* Which kernel command line the image's kernel reads (docs/image-format.md): 1 (or absent) env=,
 * seed=, dns=, mount=; 2 also time=; 3 also timesync=com3 (the host's time record on COM3). ukd
 * passes a word only to a kernel that reads it (an older one would print "ignoring unknown
 * runtime option" at every start). */
#define UKIMG_LABEL_CMDLINE "org.uk.cmdline"
#define UKIMG_CMDLINE_VERSION 3
#define UKIMG_ANNOT_ARCH "org.uk.arch" /* "x86_64" */
#define UKIMG_ANNOT_REF_NAME "org.opencontainers.image.ref.name"
#define UKIMG_ANNOT_CONTAINERD_NAME "io.containerd.image.name"

/* Where the layer puts things (paths inside the layer tar, no leading slash). */
#define UKIMG_LAYER_KERNEL "uk/kernel"
#define UKIMG_LAYER_FILES "uk/files"

/* Memory: default when the Ukfile has no MEMORY, and the accepted bounds. */
#define UKIMG_MEMORY_DEFAULT (32ULL << 20)
#define UKIMG_MEMORY_MIN (2ULL << 20)
#define UKIMG_MEMORY_MAX (64ULL << 30)

/* Environment variables a guest holds (the runtime's table, docs/runtime.md): an image's ENV
 * and an instance's env after merging with it have at most this many. */
#define UKIMG_ENV_MAX 64
/* 1 if the (len) bytes at (key) are a variable name: [A-Za-z_][A-Za-z0-9_]*. */
int ukimg_env_key_valid(const char *key, size_t len);

/* ------------------------------------------------------------------------------------------ */
/* Digests                                                                                     */

/* Returns 1 if (digest) is "sha256:" + 64 lowercase hex digits, else 0. */
int ukimg_digest_valid(const char *digest);

/* Computes the digest of (len) bytes at (buf) into (out). */
void ukimg_digest_buf(const void *buf, size_t len, char out[UKIMG_DIGEST_SIZE]);

/* ------------------------------------------------------------------------------------------ */
/* Blob store: <root>/blobs/sha256/<hex>, <root>/tmp/, <root>/kernels/<config hex>/kernel       */

typedef struct ukimg_store ukimg_store_t;

/*
 * Opens the store under (root), creating root (mode 0711 if new), blobs/sha256/ and tmp/
 * (0700) and kernels/ (0755, so a QEMU running as another user can read kernels) as needed. (root)
 * MUST be absolute. Leftover files in tmp/ older than an hour are removed (they are the debris of
 * crashed writers). Free with ukimg_store_free().
 */
ukimg_store_t *ukimg_store_open(const char *root, uk_err_t *err);
void ukimg_store_free(ukimg_store_t *store);

/* The absolute root path (owned by the store). */
const char *ukimg_store_root(const ukimg_store_t *store);

/*
 * Writes a blob. Bytes are streamed into a fresh file under <root>/tmp/ while their SHA-256
 * is computed (OpenSSL EVP), then the file is fsync'ed, renamed to blobs/sha256/<hex> and the
 * directory fsync'ed: a blob path either holds the complete blob or does not exist. If the
 * blob already exists the write is a no-op that succeeds. On any failure (read error, short
 * input, size or digest mismatch, disk full) the temp file is removed and no blob appears.
 *
 * (expect) MAY be NULL; if given, the computed digest MUST equal it (else 400 "digest
 * mismatch", nothing stored). (max_len) < 0 means no limit; exceeding it is 413.
 * (out) MAY be NULL; it receives the digest. (size_out) MAY be NULL; it receives the size.
 */
int ukimg_store_put_buf(ukimg_store_t *store, const void *buf, size_t len, const char *expect,
                        char out[UKIMG_DIGEST_SIZE], uk_err_t *err);
/* Reads (fd) to EOF (not closed). */
int ukimg_store_put_fd(ukimg_store_t *store, int fd, int64_t max_len, const char *expect,
                       char out[UKIMG_DIGEST_SIZE], int64_t *size_out, uk_err_t *err);
/* Copies the file at (path). */
int ukimg_store_put_file(ukimg_store_t *store, const char *path, const char *expect,
                         char out[UKIMG_DIGEST_SIZE], int64_t *size_out, uk_err_t *err);

/* 1 if the blob exists, 0 if not (also for an invalid digest). */
int ukimg_store_has(const ukimg_store_t *store, const char *digest);

/* Writes the blob's path into (buf) (whether or not it exists); -1 on invalid digest. */
int ukimg_store_path(const ukimg_store_t *store, const char *digest, char *buf, size_t buflen,
                     uk_err_t *err);

/* Opens the blob read-only; returns the fd (caller closes) or -1 (404 if missing). */
int ukimg_store_open_blob(const ukimg_store_t *store, const char *digest, uk_err_t *err);

/*
 * Reads a whole blob into a NUL-terminated malloc'ed buffer (*out, caller frees; *len_out
 * excludes the NUL). Blobs larger than (max) are refused with 413. Does not verify the digest.
 */
int ukimg_store_read(const ukimg_store_t *store, const char *digest, size_t max, char **out,
                     size_t *len_out, uk_err_t *err);

/* Size in bytes, or -1 (404 if missing). */
int64_t ukimg_store_size(const ukimg_store_t *store, const char *digest, uk_err_t *err);

/* Removes the blob. Removing a missing blob succeeds. */
int ukimg_store_delete(ukimg_store_t *store, const char *digest, uk_err_t *err);

/* Recomputes the blob's digest: 0 if it matches, -1 with 500 "blob ... is corrupt" if not. */
int ukimg_store_verify(const ukimg_store_t *store, const char *digest, uk_err_t *err);

/*
 * Mark and sweep: keeps every blob reachable from the (n) manifests in (live) (their config
 * and layers) and the extracted kernels of their configs; removes every other blob, kernel
 * directory and temp file. (removed_out) MAY be NULL; it receives the number of blobs removed.
 * The caller MUST hold off builds, loads and puts on this root while it runs.
 */
int ukimg_store_gc(ukimg_store_t *store, const char *const *live, size_t n, size_t *removed_out,
                   uk_err_t *err);

/* ------------------------------------------------------------------------------------------ */
/* Ukfile                                                                                      */

typedef struct ukimg_file_spec {
	char *src; /* relative path in the build context, normalized ("site", "a/b.txt") */
	char *dst; /* absolute path in the image, normalized ("/www"); keeps a trailing '/' if
	            * given ("/www/": a file source goes to /www/<its name>) */
	int line;
} ukimg_file_spec_t;

typedef struct ukimg_port {
	uint16_t port;
	char proto[4]; /* "tcp" or "udp" */
} ukimg_port_t;

typedef struct ukimg_ukfile {
	int runtime_version; /* from FROM uk/runtime:N; UKIMG_RUNTIME_VERSION if absent */
	char **sources;      /* relative paths, or wildcards in the file name, in order */
	size_t n_sources;
	char **libs; /* runtime-lib component names, deduplicated, in order */
	size_t n_libs;
	ukimg_file_spec_t *files;
	size_t n_files;
	int has_cmd; /* CMD given (possibly as an empty JSON array) */
	char **cmd;  /* the app's argv[1..] */
	size_t n_cmd;
	char **env; /* "KEY=VALUE"; a later KEY replaces an earlier one */
	size_t n_env;
	ukimg_port_t *ports; /* deduplicated, in order */
	size_t n_ports;
	uint64_t memory; /* bytes; UKIMG_MEMORY_DEFAULT if absent */
	char **cflags;   /* validated extra compiler flags, in order */
	size_t n_cflags;
} ukimg_ukfile_t;

/*
 * Parses a Ukfile (syntax in docs/ukfile.md). (name) is used in messages ("Ukfile:3: ...").
 * (text) need not be NUL-terminated and MAY contain NULs (refused). Errors are 400 and read
 * like `Ukfile:3: unknown instruction "SOURCS" (expected one of FROM, SOURCES, ...)`.
 * Free the result with ukimg_ukfile_free().
 */
ukimg_ukfile_t *ukimg_ukfile_parse(const char *text, size_t len, const char *name, uk_err_t *err);
/* Reads (path) (at most 1 MiB) and parses it; messages name only (path)'s basename, never
 * the directories above it (a daemon's root stays out of its clients' errors). */
ukimg_ukfile_t *ukimg_ukfile_load(const char *path, uk_err_t *err);
void ukimg_ukfile_free(ukimg_ukfile_t *uf);

/* Parses a memory size "16M", "512K", "1G", "4194304" into bytes, within MIN..MAX; 400 if bad. */
int ukimg_memory_parse(const char *s, uint64_t *out, uk_err_t *err);

/*
 * Splits (s) into words like the Ukfile does (and like the kernel command line): blanks
 * separate; "double quotes" group and allow \" \\ escapes; 'single quotes' are literal; a
 * backslash outside quotes escapes the next character. Returns a NULL-terminated malloc'ed
 * array (free with ukimg_strv_free()), or NULL with 400 on an unterminated quote.
 */
char **ukimg_words_split(const char *s, size_t *n_out, uk_err_t *err);
void ukimg_strv_free(char **v);

/* ------------------------------------------------------------------------------------------ */
/* Tar                                                                                         */

typedef struct ukimg_tar_limits {
	uint64_t max_entries; /* 0 = UKIMG_TAR_MAX_ENTRIES */
	uint64_t max_bytes;   /* total file data; 0 = UKIMG_TAR_MAX_BYTES */
} ukimg_tar_limits_t;

#define UKIMG_TAR_MAX_ENTRIES 10000
#define UKIMG_TAR_MAX_BYTES (256ULL << 20)

/*
 * Extracts a tar stream read from (fd) (ustar, GNU long names 'L'/'K', pax 'x' path/linkpath/
 * size; pax 'g' is ignored) into the existing directory (destdir), which SHOULD be empty and
 * private. Refused with 400 "bad_request" (naming the entry): absolute paths, ".." components,
 * symlinks whose target is absolute or leads outside (destdir), hardlinks to anything but a
 * regular file already extracted, device nodes, fifos, unknown entry types, bad checksums,
 * truncated archives, a path that walks through a symlink. Refused with 413 "too_large": more
 * than (limits)->max_entries entries or more than max_bytes of file data. (limits) MAY be NULL.
 * Files get mode 0644 or 0755 (no setuid, no sticky), no owner changes, no mtimes. Nothing is
 * ever created outside (destdir); on failure what was extracted stays for the caller to remove.
 * After the end-of-archive blocks the rest of (fd) is read and discarded up to EOF (within
 * max_bytes), so a writer on the other end of a pipe is never left blocked.
 */
int ukimg_tar_extract(int fd, const char *destdir, const ukimg_tar_limits_t *limits, uk_err_t *err);

/*
 * A deterministic ustar writer: entries are collected, then written sorted by name (bytewise),
 * with mtime 0, uid/gid 0, empty user/group names, and mode 0755 or 0644. Names longer than
 * ustar allows get a pax 'x' header. Parent directories are NOT added implicitly.
 */
typedef struct ukimg_tar ukimg_tar_t;

ukimg_tar_t *ukimg_tar_new(void);
void ukimg_tar_free(ukimg_tar_t *tar);
/* (name) is relative and normalized ("uk/files"), without trailing slash. The same name added
 * twice makes ukimg_tar_write() fail with 400, except for a directory added twice. */
int ukimg_tar_add_dir(ukimg_tar_t *tar, const char *name, uk_err_t *err);
/* Records (path) to be read at write time; (exec) selects 0755 over 0644. */
int ukimg_tar_add_file(ukimg_tar_t *tar, const char *name, const char *path, int exec,
                       uk_err_t *err);
/* Copies (len) bytes at (buf). */
int ukimg_tar_add_buf(ukimg_tar_t *tar, const char *name, const void *buf, size_t len, int exec,
                      uk_err_t *err);
/* Writes the archive (with its two zero end blocks) to (fd). May be called more than once. */
int ukimg_tar_write(ukimg_tar_t *tar, int fd, uk_err_t *err);

/* ------------------------------------------------------------------------------------------ */
/* Build                                                                                       */

/* Receives one line of progress or compiler output, without its newline; called on the
 * thread that runs ukimg_build(), which waits for it to return. */
typedef void (*ukimg_progress_fn)(void *ctx, const char *line);

typedef struct ukimg_build_opts {
	/* The build context: a tar in (context_fd) (>= 0, read to EOF, not closed) or, if
	 * context_fd < 0, at path (context_tar), or, if both unset, the directory (context_dir)
	 * used in place (read only; for tests and local builds). */
	int context_fd;
	const char *context_tar;
	const char *context_dir;
	const char *ukfile;         /* the Ukfile's name in the context; NULL = "Ukfile" */
	const char *ukcc_path;      /* absolute path of ukcc; required */
	ukimg_progress_fn progress; /* MAY be NULL */
	void *progress_ctx;
	/* MAY be NULL: called once with (progress_ctx) when the context is extracted and the
	 * Ukfile parsed, before the compile; errors before it are the request's (400, 413). */
	void (*prepared)(void *ctx);
	int timeout_sec; /* compile time limit; 0 = 300 s */
	/* The compiler's sandbox (docs/ukfile.md "Sandbox"). Limits, 0 = default: CPU seconds
	 * (the time limit), address space (4096 MiB), size of any file written (64 MiB). When the
	 * caller is root the compiler runs as (build_user), or as nobody (65534) if that user does
	 * not exist; NULL keeps the caller's user (tests, local builds). Always: its own PID,
	 * mount, network and IPC namespaces (not root: where user namespaces allow), a private
	 * temp dir as its /tmp, the rest of the file system read only, no new privileges, a
	 * seccomp filter, a clean environment (docs/security.md "What isolates a build").
	 * (ukcc_path) MUST NOT be under /tmp, which the build cannot see. */
	unsigned cpu_sec, memory_mb, file_size_mb;
	const char *build_user;
	ukimg_tar_limits_t limits; /* for the context tar; zeros = defaults */
	int64_t created; /* unix seconds for config.created; < 0 = now (0 is 1970, allowed) */
} ukimg_build_opts_t;

/* Sets (opts) to defaults: no context, context_fd = -1, created = -1. */
void ukimg_build_opts_init(ukimg_build_opts_t *opts);

typedef struct ukimg_build_result {
	char manifest_digest[UKIMG_DIGEST_SIZE];
	char config_digest[UKIMG_DIGEST_SIZE]; /* = the image id */
	char layer_digest[UKIMG_DIGEST_SIZE];  /* = the layer's diff_id (uncompressed) */
	int64_t size;                          /* layer bytes (what Docker calls Size) */
} ukimg_build_result_t;

/*
 * Builds an image: extracts the context safely into a fresh mkdtemp() under <root>/tmp,
 * parses the Ukfile, runs `ukcc --target=kvm -O2 [CFLAGS] -o kernel SOURCES... -lLIB...`
 * (fork/exec, no shell, cwd = the context, stdin /dev/null, stdout+stderr streamed line by
 * line to (progress), killed after the time limit), then stores the layer tar (uk/kernel,
 * uk/files/...), the OCI config and the OCI manifest, in that order, only after the compile
 * succeeded. The temp dir is removed whatever happens. The compiler runs in its own process
 * group and is waited for by pid: the caller MUST NOT reap children it did not start
 * (waitpid(-1, ...)) while builds run. Errors: 400 for the context or the
 * Ukfile; a compile failure is 400 "build: compile failed (exit N)" (its output
 * was already streamed), a limit 400 "build exceeded its N s time limit" (or CPU, memory;
 * "build output exceeded N MiB" for the file size), 500 ours.
 *
 * Deterministic: the layer (and so diff_id/layer digest) is byte-identical for the same
 * context and the same ukcc output; config and manifest are too when (opts)->created is fixed.
 */
int ukimg_build(ukimg_store_t *store, const ukimg_build_opts_t *opts, ukimg_build_result_t *res,
                uk_err_t *err);

/*
 * Crash recovery of builds. Each build's dir in the store's tmp/ (<root>/tmp/build-*) holds a
 * record, written before the sandbox's private dir (/tmp/uk-build.<16 hex>) exists and again
 * once the compiler has its own process group (before it may execute): "uk-sandbox-1 DIR PGID
 * UID START\n" (PGID and START, the leader's start time in clock ticks after boot, 0 before).
 * A compiler outlives a killed ukd in its own mount namespace, so its working directory does
 * not show it; its process group, user and start time do. The group's leader is the first
 * process of the build's PID namespace: once it is killed, the kernel kills every process of
 * the build, those that left the group (setsid) too. The caller kills the processes the
 * record owns (and any working in DIR), then removes DIR.
 */
#define UKIMG_SANDBOX_RECORD "sandbox"
typedef struct ukimg_sandbox_record {
	char dir[4096];
	pid_t pgid;               /* 0: the compiler had not been started */
	uid_t uid;                /* what the compiler runs as */
	unsigned long long start; /* the group leader's start time */
} ukimg_sandbox_record_t;
/* Reads the record in (build_dir): 0, or -1 if there is none or it is not one this code
 * writes (then nothing may be removed on its word). */
int ukimg_sandbox_record_read(const char *build_dir, ukimg_sandbox_record_t *rec);
/* 1 if (pid) is a live process of the recorded compiler: in its group, as its user, started no
 * earlier than its leader, and the group's leader (if alive) is the recorded one; else 0. */
int ukimg_sandbox_record_owns(const ukimg_sandbox_record_t *rec, pid_t pid);
/* Removes the record's private dir (not following links); call once its processes are gone. */
void ukimg_sandbox_record_clean(const ukimg_sandbox_record_t *rec);

/* ------------------------------------------------------------------------------------------ */
/* Using images                                                                                */

typedef struct ukimg_info {
	char manifest_digest[UKIMG_DIGEST_SIZE];
	char config_digest[UKIMG_DIGEST_SIZE]; /* the image id */
	char **cmd;                            /* NULL-terminated (maybe empty) */
	size_t n_cmd;
	char **env; /* "K=V", NULL-terminated */
	size_t n_env;
	char **exposed_ports; /* "80/tcp", NULL-terminated, sorted */
	size_t n_ports;
	char **labels; /* the config's Labels as "K=V", NULL-terminated */
	size_t n_labels;
	uint64_t memory;          /* bytes (label, else UKIMG_MEMORY_DEFAULT) */
	char platform[16];        /* "kvm" */
	char architecture[16];    /* config architecture: "amd64" */
	char os[16];              /* config os: "linux" */
	char runtime_version[16]; /* "1" */
	int cmdline_version;      /* org.uk.cmdline; 1 if absent or not a number */
	char created_rfc3339[40]; /* as in the config */
	int64_t created;          /* unix seconds; 0 if absent or unparsable */
	int64_t size;             /* sum of layer sizes */
} ukimg_info_t;

/*
 * Reads the manifest and config of an image and fills (info) (release with ukimg_info_clear()).
 * 404 if a blob is missing; 400 if the manifest or config is not a uk image (wrong media
 * type, no org.uk.platform label, not exactly one layer).
 */
int ukimg_inspect(const ukimg_store_t *store, const char *manifest_digest, ukimg_info_t *info,
                  uk_err_t *err);
void ukimg_info_clear(ukimg_info_t *info);

/*
 * Lists the digests an image consists of (manifest, config, layers) as a NULL-terminated
 * malloc'ed array (free with ukimg_strv_free()).
 */
char **ukimg_image_blobs(const ukimg_store_t *store, const char *manifest_digest, size_t *n_out,
                         uk_err_t *err);

/*
 * Returns the path of the image's kernel ELF, extracting it from the layer on first use into
 * <root>/kernels/<config hex>/kernel (through a temp dir and a rename, so concurrent callers
 * see either nothing or the whole file; the layer digest is verified first). (out) receives
 * the absolute path.
 */
int ukimg_kernel_path(ukimg_store_t *store, const char *manifest_digest, char *out, size_t outlen,
                      uk_err_t *err);

/* Removes <root>/kernels/<config hex>/ if present (after the image is deleted). */
int ukimg_kernel_remove(ukimg_store_t *store, const char *config_digest, uk_err_t *err);

/* ------------------------------------------------------------------------------------------ */
/* Save and load (OCI image layout tar, also carrying Docker's manifest.json)                  */

typedef struct ukimg_ref {
	const char *name;            /* "hello:latest"; MAY be NULL (untagged) */
	const char *manifest_digest; /* required */
} ukimg_ref_t;

/*
 * Writes an OCI image-layout tar to (out_fd): oci-layout, index.json (one descriptor per
 * ref, annotated with org.opencontainers.image.ref.name and io.containerd.image.name = name),
 * blobs/sha256/<hex> for every blob (each once), and a Docker manifest.json so `docker load`
 * of Docker < 25 accepts it too. The same digest MAY appear under several names.
 */
int ukimg_save(const ukimg_store_t *store, const ukimg_ref_t *refs, size_t n, int out_fd,
               uk_err_t *err);

/* Called once per image loaded; (name) is the index annotation (io.containerd.image.name,
 * else org.opencontainers.image.ref.name) or NULL. Return -1 (filling err) to abort. */
typedef int (*ukimg_load_fn)(void *ctx, const char *name, const char *manifest_digest,
                             uk_err_t *err);

/*
 * Reads an OCI image-layout tar from (in_fd) into a temp dir under the store (safe
 * extraction, (limits) MAY be NULL: 10000 entries / 4 GiB), checks oci-layout, walks
 * index.json (nested indexes allowed), verifies every referenced blob's digest and size and
 * that each image is a uk image, and only then moves the blobs into the store and calls (cb)
 * for each image in index order. Any error (400 for a bad archive) stores nothing.
 */
int ukimg_load(ukimg_store_t *store, int in_fd, const ukimg_tar_limits_t *limits, ukimg_load_fn cb,
               void *ctx, uk_err_t *err);

#endif
