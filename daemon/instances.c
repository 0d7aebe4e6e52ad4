/* The instance service: lifecycle transitions over the store and the backend, and JSON views. */
#include "instances.h"
#include "accel.h"
#include "backend.h"
#include "backends.h"
#include "clock_sync.h"
#include "cmdline.h"
#include "events.h"
#include "health.h"
#include "http.h"
#include "log.h"
#include "logs.h"
#include "names.h"
#include "network.h"
#include "ports.h"
#include "qemu_user.h"
#include "spec.h"
#include "volumes.h"
#include "trust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <uk/images.h>

#define STOP_GRACE_MAX 3600
#define EXIT_RECORD_TIMEOUT_MS 30000

/* ---- tombstones of auto-removed instances, for late waits ---- */

#define N_TOMBS 256
static struct {
	char id[65], name[128];
	int code;
} tombs[N_TOMBS];
static unsigned tomb_next;

void ukd_instance_tombstone(struct ukd *d, const struct ukd_instance *in)
{
	pthread_mutex_lock(&d->lock);
	unsigned i = tomb_next++ % N_TOMBS;
	snprintf(tombs[i].id, sizeof(tombs[i].id), "%s", in->id);
	snprintf(tombs[i].name, sizeof(tombs[i].name), "%s", in->name);
	tombs[i].code = in->exit_code;
	pthread_mutex_unlock(&d->lock);
}

/* Caller holds d->lock. */
static int tomb_find(const char *key, int *code)
{
	size_t k = strlen(key);

	for (unsigned i = 0; i < N_TOMBS; i++)
		if (tombs[i].id[0] &&
		    (!strcmp(tombs[i].name, key) || (k >= 4 && !strncmp(tombs[i].id, key, k)))) {
			*code = tombs[i].code;
			return 1;
		}
	return 0;
}

/* ---- create ---- */

/*
 * A name that is another instance's id, in full or from its short form (ps's 12 digits) up,
 * would shadow it: references resolve to a full id or a name before an id prefix
 * (ukd_store_instance_find), so `uk stop <that id>` would stop the named one. 409.
 */
static int name_shadows_id(struct ukd *d, const char *want, uk_err_t *err)
{
	struct ukd_instance other;
	uk_err_t e = {0};
	int r;

	if (!ukd_name_looks_like_id(want))
		return 0;
	r = ukd_store_instance_find(d->store, want, &other, &e);
	if (r == 0 && strcmp(other.name, want))
		r = uk_err_conflict(
		        err,
		        "name \"%s\" is the id of instance %s (%.12s): pick a name that "
		        "is not an instance id",
		        want, other.name, other.id);
	else if (r < 0 && e.status == 409)
		r = uk_err_conflict(err,
		                    "name \"%s\" begins the ids of several instances: pick a name "
		                    "that is not an instance id",
		                    want);
	else if (r < 0 && e.status != 404)
		*err = e;
	else
		r = 0; /* free, or this very name (the insert answers that 409) */
	ukd_instance_clear(&other);
	return r;
}

static int create_name(struct ukd *d, const char *want, char *out, size_t len, uk_err_t *err)
{
	int taken;

	if (want) {
		if (!ukd_name_valid(want))
			return uk_err_bad(
			        err,
			        "name \"%s\": expected [a-zA-Z0-9][a-zA-Z0-9_.-]* (at most "
			        "127 characters, not 64 hex digits: that is an instance id)",
			        want);
		if (name_shadows_id(d, want, err) < 0)
			return -1;
		snprintf(out, len, "%s", want);
		return 0;
	}
	for (unsigned attempt = 0; attempt < 100; attempt++) {
		ukd_name_generate(out, len, attempt / 10);
		if ((taken = ukd_store_name_taken(d->store, out, err)) < 0)
			return -1;
		if (!taken)
			return 0;
	}
	return uk_err_internal(err, "could not generate a free instance name");
}

static int create_dir(struct ukd *d, const char *id, uk_err_t *err)
{
	char path[PATH_MAX];

	ukd_instance_path(d, id, NULL, path, sizeof(path));
	if (mkdir(path, 0700) < 0)
		return uk_err_errno(err, errno, "create %s", path);
	return 0;
}

/* Removes (id)'s directory and every file in it (console.log.N, console.ts.N, status ...). */
static void remove_dir(struct ukd *d, const char *id)
{
	char path[PATH_MAX], file[PATH_MAX + 300];
	struct dirent *e;
	DIR *dp;

	ukd_instance_path(d, id, NULL, path, sizeof(path));
	ukd_logs_pump_lock(); /* or the pump could create console.log again */
	if ((dp = opendir(path))) {
		while ((e = readdir(dp)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
				unlink(file);
			}
		closedir(dp);
	}
	if (rmdir(path) < 0 && errno != ENOENT)
		log_warn("instances", "remove %s: %s", path, strerror(errno));
	ukd_logs_pump_unlock();
}

int64_t ukd_instance_disk_bytes(struct ukd *d, const char *id)
{
	char path[PATH_MAX], file[PATH_MAX + 300];
	struct dirent *e;
	struct stat st;
	int64_t n = 0;
	DIR *dp;

	ukd_instance_path(d, id, NULL, path, sizeof(path));
	if (!(dp = opendir(path)))
		return 0;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
			if (lstat(file, &st) == 0 && S_ISREG(st.st_mode))
				n += (int64_t)st.st_blocks * 512;
		}
	closedir(dp);
	return n;
}

int ukd_instance_create(struct ukd *d, json_object *body, char id[65], json_object **warnings,
                        uk_err_t *err)
{
	struct ukd_instance in = {0};
	struct ukd_image_row img;
	ukimg_info_t info = {0};
	json_object *cfg = NULL;
	const char *image, *name;
	int r = -1;

	*warnings = NULL;
	if (ukd_spec_body_check(body, &image, &name, err) < 0)
		return -1;
	if (ukd_store_image_resolve(d->store, image, &img, err) < 0 ||
	    ukd_trust_check_image(d, &img, image, err) < 0)
		return -1;
	if (ukimg_inspect(d->images, img.manifest, &info, err) < 0)
		return uk_err_wrap(err, "image %s", image);
	if (ukd_spec_from_body(d, body, &info, &in.spec, err) < 0 ||
	    ukd_volumes_on_create(d, &in.spec, err) < 0)
		goto out;
	in.spec.backend = ukd_spec_resolve_backend(d, &in.spec);
	cfg = ukd_spec_to_json(&in.spec);
	if (!cfg ||
	    !(in.config = strdup(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN)))) {
		uk_err_internal(err, "instance config: out of memory");
		goto out;
	}
	if (create_name(d, name, in.name, sizeof(in.name), err) < 0 ||
	    ukd_random_hex(in.id, 32, err) < 0)
		goto out;
	snprintf(in.image_ref, sizeof(in.image_ref), "%s", image);
	snprintf(in.image_id, sizeof(in.image_id), "%s", img.id);
	in.state = UKD_STATE_CREATED;
	in.created = ukd_now_ns();
	snprintf(in.domain_name, sizeof(in.domain_name), "uk-%.12s", in.id);
	if (create_dir(d, in.id, err) < 0)
		goto out;
	if (ukd_net_attach(d, &in, err) < 0) { /* its address on its network, if it joins one */
		remove_dir(d, in.id);
		goto out;
	}
	if (ukd_store_instance_insert(d->store, &in, err) < 0) {
		ukd_net_detach(d, in.id);
		remove_dir(d, in.id);
		if (err->status == 409)
			uk_err_conflict(err,
			                "name \"%s\" is already in use by another instance: "
			                "remove it or pick another name",
			                in.name);
		goto out;
	}
	memcpy(id, in.id, 65);
	*warnings = json_object_new_array();
	ukd_events_emit(d, "instance", "create", in.id, in.name, NULL);
	r = 0;
out:
	json_object_put(cfg);
	ukd_instance_clear(&in);
	ukimg_info_clear(&info);
	return r;
}

/* ---- start ---- */

static int start_prepare_files(struct ukd *d, const char *id, char *console, char *status,
                               uk_err_t *err)
{
	char dir[PATH_MAX];
	int fd;

	ukd_instance_path(d, id, NULL, dir, sizeof(dir));
	ukd_instance_path(d, id, "console.raw", console, PATH_MAX);
	ukd_instance_path(d, id, "status", status, PATH_MAX);
	/* The status channel is per run; the console log accumulates, like docker logs. */
	fd = open(status, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return uk_err_errno(err, errno, "create %s", status);
	close(fd);
	return ukd_logs_prepare(dir, err);
}

struct port_holder_ctx {
	const char *self;
	const struct ukd_port *want;
	char name[128];
};

static int port_holder_one(void *p, struct ukd_instance *in)
{
	struct port_holder_ctx *c = p;
	const struct ukd_port *ports = in->spec.ports;

	if (!strcmp(in->id, c->self) || in->state != UKD_STATE_RUNNING)
		return 0;
	for (int i = 0; i < in->spec.n_ports; i++)
		if (ports[i].host_port == c->want->host_port &&
		    !strcmp(ports[i].proto, c->want->proto) &&
		    (!strcmp(ports[i].host_ip, c->want->host_ip) ||
		     !strcmp(ports[i].host_ip, "0.0.0.0") ||
		     !strcmp(c->want->host_ip, "0.0.0.0"))) {
			snprintf(c->name, sizeof(c->name), "%s", in->name);
			break;
		}
	return c->name[0] ? -1 : 0;
}

/* A 409 for a taken port names the instance holding it when it is one of ours. */
static void port_conflict_detail(struct ukd *d, const char *self, const struct ukd_port *ports,
                                 int n, uk_err_t *err)
{
	for (int i = 0; i < n; i++) {
		struct port_holder_ctx c = {.self = self, .want = &ports[i]};
		char hp[40], want[64];

		/* the message of ukd_ports_check_free names exactly one port */
		snprintf(hp, sizeof(hp), "%.15s:%u", ports[i].host_ip, ports[i].host_port);
		snprintf(want, sizeof(want), "port %s%s is already", hp,
		         strcmp(ports[i].proto, "udp") ? "" : "/udp");
		if (!strstr(err->message, want))
			continue;
		ukd_store_instance_each(d->store, port_holder_one, &c, NULL);
		if (c.name[0])
			snprintf(err->message, sizeof(err->message),
			         "port %s%s is already in use by instance %s: stop it or publish "
			         "another host port",
			         hp, strcmp(ports[i].proto, "udp") ? "" : "/udp", c.name);
		return;
	}
}

/*
 * The guest's network: a virtio-net NIC on QEMU user networking when the instance publishes
 * ports or its image EXPOSEs any, or it asked for one (docs/networking.md). Fills (nic) with
 * (ports) (room for UKD_PORTS_MAX + 1) as its forwards; returns the number of NICs (0 or 1).
 * Adds the static address to (env) ((*n_env) entries, room for two more; (ip_kv) holds the
 * text) unless the instance sets UK_IP itself.
 */
static int start_network(struct ukd *d, struct ukd_instance *in, const char **env, size_t *n_env,
                         char ip_kv[64], struct ukd_nic *nic, struct ukd_port *ports, uk_err_t *err)
{
	const struct ukd_instance_spec *s = &in->spec;
	int n = s->n_ports, fwd;

	memcpy(ports, s->ports, sizeof(ports[0]) * (size_t)n);
	fwd = ukd_health_prepare(d, in->id, &s->health, ports, n, &ports[n], err);
	memset(nic, 0, sizeof(*nic));
	if (fwd < 0)
		return -1;
	if (!ukd_spec_has_nic(s))
		return 0;
	/* the previous run's QEMU may still hold the ports for a moment after its exit */
	if (n && ukd_backend_wait_gone(ukd_backend_of(d, in), in->domain_name, err) < 0)
		return -1;
	if (ukd_ports_check_free(ports, n, err) < 0) {
		if (err->status == 409)
			port_conflict_detail(d, in->id, ports, n, err);
		return -1;
	}
	nic->kind = UKD_NIC_USER;
	nic->fwds = ports;
	nic->n_fwds = n + fwd;
	/* locally administered range QEMU uses, stable per instance */
	snprintf(nic->mac, sizeof(nic->mac), "52:54:00:%.2s:%.2s:%.2s", in->id, in->id + 2,
	         in->id + 4);
	if (!ukd_env_has(s->env, "UK_IP")) {
		snprintf(ip_kv, 64, "UK_IP=%s/%d", UKD_GUEST_IP, UKD_GUEST_PREFIX);
		env[(*n_env)++] = ip_kv;
		if (!ukd_env_has(s->env, "UK_GW"))
			env[(*n_env)++] = "UK_GW=" UKD_GUEST_GW;
	}
	return 1;
}

/* What this daemon boots: PVH kernels, on QEMU/KVM and on Xen alike. "kvm" is what uk build
 * writes (docs/image-format.md). */
const char *const ukd_platforms[] = {"kvm", "pvh", NULL};

/* 400 unless (manifest)'s org.uk.platform is one of ukd_platforms; else (*cmdline) is its
 * org.uk.cmdline (images.h): which command line words its kernel reads. */
static int start_image_check(struct ukd *d, const struct ukd_instance *in, const char *manifest,
                             int *cmdline, uk_err_t *err)
{
	ukimg_info_t info = {0};
	int ok = 0;

	if (ukimg_inspect(d->images, manifest, &info, err) < 0)
		return -1;
	for (int i = 0; ukd_platforms[i] && !ok; i++)
		ok = !strcmp(info.platform, ukd_platforms[i]);
	if (!ok)
		uk_err_bad(err,
		           "image %s is built for platform %s; this daemon runs kvm and pvh (PVH "
		           "kernels): rebuild it with uk build",
		           in->image_ref, info.platform);
	*cmdline = info.cmdline_version;
	ukimg_info_clear(&info);
	return ok ? 0 : -1;
}

static int start_domain(struct ukd *d, struct ukd_instance *in, uk_err_t *err)
{
	struct ukd_port ports[UKD_PORTS_MAX + 1]; /* + the health check's forward */
	struct ukd_nic nic;
	char ip_kv[64], kernel[PATH_MAX], console[PATH_MAX], status[PATH_MAX], dir[PATH_MAX];
	char type[8], cmdline[UKD_CMDLINE_MAX], gdb[32], clock_pipe[PATH_MAX];
	const struct ukd_instance_spec *s = &in->spec;
	_cleanup_free_ const char **env = NULL;
	size_t n_env = 0;
	struct ukd_image_row img;
	struct ukd_domain_info info;
	struct ukd_backend *be;
	struct ukd_disk disks[UKD_MOUNTS_MAX];
	struct ukd_net_guest net;
	int n_nics = 0, n_disks, cmdline_v = 1, r;

	clock_pipe[0] = 0;
	if (in->spec_error[0])
		return uk_err_internal(err, "%s: remove the instance and create it again",
		                       in->spec_error);
	/* its backend, opened now if this is the first run that wants it (its error, e.g. QEMU
	 * missing, is the start's) */
	if (!(be = ukd_backends_get(d, ukd_backends_kind_of(d, in), err)))
		return -1;
	while (s->env && s->env[n_env])
		n_env++;
	/* + the networks' (UK_IP, UK_GW, UK_MAC, UK_DNS, UK_IPk, UK_GWk, UK_MACk) or slirp's
	 * (UK_IP, UK_GW), NULL */
	if (!(env = calloc(n_env + 3 * UKD_NETS_MAX + 2, sizeof(*env))))
		return uk_err_internal(err, "out of memory");
	memcpy(env, s->env, n_env * sizeof(*env));
	if (ukd_qemu_user_check(d, err) < 0 ||
	    ukd_store_image_resolve(d->store, in->image_id, &img, err) < 0 ||
	    start_image_check(d, in, img.manifest, &cmdline_v, err) < 0 ||
	    ukimg_kernel_path(d->images, img.manifest, kernel, sizeof(kernel), err) < 0 ||
	    start_prepare_files(d, in->id, console, status, err) < 0)
		return -1;
	/* a uk network's tap (network.h), else QEMU's user networking */
	if (ukd_net_prepare(d, in, ukd_backend_nic_kind(be), &net, err) < 0)
		return -1;
	if (net.n_nics && ukd_health_prepare_at(d, in->id, &s->health, net.ip, err) < 0)
		goto fail;
	for (int i = 0; i < net.n_env; i++)
		env[n_env++] = net.env[i];
	/* a guest held paused for gdb would date its clock from a record of long before; a Xen
	 * guest reads Xen's clock and has no COM3 */
	if ((s->gdb[0] || ukd_xen_uri(ukd_backend_uri(be))) && cmdline_v > 2)
		cmdline_v = 2;
	if (cmdline_v >= 3 &&
	    ukd_clock_pipe_make(d, in->id, clock_pipe, sizeof(clock_pipe), err) < 0)
		goto fail;
	if ((!net.n_nics &&
	     (n_nics = start_network(d, in, env, &n_env, ip_kv, &nic, ports, err)) < 0) ||
	    ukd_cmdline_build(cmdline, sizeof(cmdline), env, (const char *const *)s->cmd, cmdline_v,
	                      err) < 0 ||
	    ukd_volumes_prepare(d, in, disks, &n_disks, cmdline, sizeof(cmdline), err) < 0 ||
	    ukd_accel_resolve(d, ukd_accel_want_name(s->accel), type, err) < 0)
		goto fail;
	ukd_instance_path(d, in->id, NULL, dir, sizeof(dir));
	struct ukd_vm vm = {
	        .name = in->domain_name,
	        .dir = dir,
	        .accel = strcmp(type, "kvm") ? UKD_VM_TCG : UKD_VM_KVM,
	        .vhost_net = !strcmp(type, "kvm") && ukd_vhost_net_usable(),
	        .kernel = kernel,
	        .cmdline = cmdline,
	        .memory = s->memory,
	        .vcpus = s->vcpus ? s->vcpus : 1,
	        .console_log = console,
	        .status_log = status,
	        .nics = net.n_nics ? net.nics : &nic,
	        .n_nics = net.n_nics ? net.n_nics : n_nics,
	        .disks = disks,
	        .n_disks = n_disks,
	        .gdb = s->gdb[0] ? gdb : NULL,
	        .clock_pipe = cmdline_v >= 3 ? clock_pipe : NULL,
	};
	snprintf(gdb, sizeof(gdb), "tcp:%s", s->gdb);
	if (vm.memory < (2 << 20))
		vm.memory = UKIMG_MEMORY_DEFAULT;
	r = ukd_memory_check((int64_t)vm.memory, err) < 0 || /* created for a larger host */
	    ukd_backend_start(be, &vm, &info, err) < 0;
	if (r)
		goto fail;
	unlink(clock_pipe); /* written (or not) by now; QEMU keeps its own descriptor */
	snprintf(in->domain_uuid, sizeof(in->domain_uuid), "%s", info.uuid);
	snprintf(in->domain_type, sizeof(in->domain_type), "%s", type);
	in->pid = info.pid;
	return 0;
fail:
	if (clock_pipe[0])
		unlink(clock_pipe);
	ukd_net_release(d, in->id);
	return -1;
}

int ukd_instance_start_locked(struct ukd *d, const char *id, uk_err_t *err)
{
	struct ukd_instance in;
	int r;

	if (ukd_store_instance_find(d->store, id, &in, err) < 0)
		return -1;
	if (in.state == UKD_STATE_RUNNING) {
		ukd_instance_clear(&in);
		return 1;
	}
	if (start_domain(d, &in, err) < 0) {
		snprintf(in.error, sizeof(in.error), "%.500s", err->message);
		ukd_store_instance_update(d->store, &in, NULL);
		ukd_volumes_start_done(d, in.id);
		uk_err_wrap(err, "start %s", in.name[0] ? in.name : id);
		ukd_instance_clear(&in);
		return -1;
	}
	in.state = UKD_STATE_RUNNING;
	in.started = ukd_now_ns();
	in.finished = 0;
	in.exit_code = 0;
	in.error[0] = 0;
	in.stop_requested = 0;
	r = ukd_store_instance_update(d->store, &in, err);
	ukd_volumes_start_done(d, in.id); /* the stored state speaks for its volumes now */
	if (r == 0)
		ukd_events_emit(d, "instance", "start", in.id, in.name, NULL);
	ukd_instance_clear(&in);
	ukd_instance_changed(d);
	return r;
}

static int find_id(struct ukd *d, const char *key, char id[65], uk_err_t *err)
{
	struct ukd_instance in;

	if (ukd_store_instance_find(d->store, key, &in, err) < 0)
		return -1;
	memcpy(id, in.id, 65);
	ukd_instance_clear(&in);
	return 0;
}

int ukd_instance_start(struct ukd *d, const char *key, uk_err_t *err)
{
	char id[65];
	int r;

	if (find_id(d, key, id, err) < 0)
		return -1;
	ukd_instance_lock(d, id);
	r = ukd_instance_start_locked(d, id, err);
	ukd_instance_unlock(d, id);
	return r;
}

/* ---- stop, kill, wait ---- */

/*
 * Waits until (id) is not running; 1 = stopped, 0 = timed out, -1 = removed or error. A wait
 * for a client ends when ukd starts shutting down, unless (through_shutdown): shutdown's own.
 */
static int wait_not_running(struct ukd *d, const char *id, int timeout_ms, int client_fd, int *code,
                            int through_shutdown)
{
	int64_t deadline = ukd_now_ns() + (int64_t)timeout_ms * 1000000;
	struct ukd_instance in;
	int r = 0;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		if (ukd_store_instance_find(d->store, id, &in, NULL) < 0) {
			r = tomb_find(id, code) ? 1 : -1;
			break;
		}
		if (in.state != UKD_STATE_RUNNING) {
			*code = in.exit_code;
			ukd_instance_clear(&in);
			r = 1;
			break;
		}
		ukd_instance_clear(&in);
		if ((timeout_ms >= 0 && ukd_now_ns() >= deadline) ||
		    (d->stopping && !through_shutdown))
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d->changed, &d->lock, &ts);
		if (client_fd >= 0) {
			pthread_mutex_unlock(&d->lock);
			int gone = ukd_http_wait(client_fd, -1, 0) < 0;
			pthread_mutex_lock(&d->lock);
			if (gone)
				break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* Empties the status channel of (id) (named (name) in messages), with its lock held: what the
 * guest wrote before a stop request does not count, a line after it does. */
static void status_empty(struct ukd *d, const char *id, const char *name)
{
	char status[PATH_MAX];

	ukd_instance_path(d, id, "status", status, sizeof(status));
	ukd_logs_pump_lock(); /* its hole punching must not land on a line written after */
	if (truncate(status, 0) < 0 && errno != ENOENT)
		log_error("instances", "%s: empty the status channel: %s (stopping it anyway)",
		          name, strerror(errno));
	ukd_logs_pump_unlock();
}

/*
 * Marks (id) as stopped by the user: (how) UKD_STOP_GRACEFUL or UKD_STOP_KILL. A graceful stop
 * of a running guest empties its status channel first (under the lock that recording an exit
 * takes): what the guest wrote before the request does not count, a line after it does. A
 * mark that could not be written (a full disk) goes to (werr) and the stop goes on: the guest
 * is stopped all the same, and the caller reports (werr) after.
 */
static int mark_stop(struct ukd *d, const char *id, int how, struct ukd_instance *in, uk_err_t *err,
                     uk_err_t *werr)
{
	int r;

	ukd_instance_lock(d, id);
	r = ukd_store_instance_find(d->store, id, in, err);
	if (r == 0 && how == UKD_STOP_GRACEFUL && in->state == UKD_STATE_RUNNING)
		status_empty(d, id, in->name);
	/* Also when not running: a stop cancels a restart the policy has scheduled. */
	if (r == 0 && in->stop_requested < how) {
		in->stop_requested = how;
		if (ukd_store_instance_update(d->store, in, werr) < 0)
			log_error("instances",
			          "%s: record the stop request: %s (stopping it anyway)", in->name,
			          werr->message);
	}
	ukd_instance_unlock(d, id);
	return r;
}

/* The stop of (name) went through but (werr) did not: (err) says both. */
static int stop_unrecorded(uk_err_t *err, const char *name, uk_err_t *werr)
{
	*err = *werr;
	return uk_err_wrap(err,
	                   "instance %s: its guest is stopped, but the stop could not be "
	                   "recorded (free space where ukd keeps its state, then check "
	                   "`uk ps -a`)",
	                   name);
}

/* Kills (id)'s guest and waits for its exit to be recorded; the kill happens even when the
 * kill request cannot be recorded, which is then the error. */
static int kill_and_wait(struct ukd *d, const char *id, uk_err_t *err)
{
	struct ukd_instance in;
	uk_err_t w = {0}, *werr = &w;
	char name[sizeof(in.name)];
	int code;

	if (mark_stop(d, id, UKD_STOP_KILL, &in, err, werr) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s", in.name);
	if (in.state != UKD_STATE_RUNNING) {
		ukd_instance_clear(&in);
		return werr->status ? stop_unrecorded(err, name, werr) : 0;
	}
	/* noted in memory too: a kill whose request could not be recorded is a kill all the same */
	ukd_instance_note_kill(d, in.domain_uuid, "");
	if (ukd_backend_destroy(ukd_backend_of(d, &in), in.domain_name, err) < 0 &&
	    err->status != 404) {
		ukd_instance_clear(&in);
		return -1;
	}
	ukd_instance_clear(&in);
	uk_err_clear(err);
	if (werr->status)
		return stop_unrecorded(err, name, werr);
	if (wait_not_running(d, id, EXIT_RECORD_TIMEOUT_MS, -1, &code, 1) == 0)
		return uk_err_internal(err,
		                       "instance %s: killed, but its exit was not recorded "
		                       "within %d s (see ukd's log)",
		                       name, EXIT_RECORD_TIMEOUT_MS / 1000);
	return 0;
}

int ukd_instance_stop(struct ukd *d, const char *key, long timeout_s, uk_err_t *err)
{
	struct ukd_instance in;
	uk_err_t werr = {0};
	char id[65];
	int code;

	if (timeout_s > STOP_GRACE_MAX)
		return uk_err_bad(err, "t=%ld: at most %d seconds", timeout_s, STOP_GRACE_MAX);
	if (find_id(d, key, id, err) < 0 ||
	    mark_stop(d, id, UKD_STOP_GRACEFUL, &in, err, &werr) < 0)
		return -1;
	if (in.state != UKD_STATE_RUNNING) {
		char name[sizeof(in.name)];
		snprintf(name, sizeof(name), "%s", in.name);
		ukd_instance_clear(&in);
		return werr.status ? stop_unrecorded(err, name, &werr) : 1;
	}
	/* The guest may ignore the ACPI power button; the timeout then kills it. */
	if (timeout_s > 0 && ukd_backend_shutdown(ukd_backend_of(d, &in), in.domain_name, err) < 0)
		log_debug("instances", "shutdown %s: %s", in.domain_name, err->message);
	ukd_instance_clear(&in);
	uk_err_clear(err);
	/* Unrecorded (werr), the stop request is the kill's to record; ukd shutting down cuts the
	 * grace period short: the stop ends as a kill. */
	if (timeout_s > 0 && wait_not_running(d, id, (int)timeout_s * 1000, -1, &code, 0) != 0 &&
	    !werr.status)
		return 0;
	return kill_and_wait(d, id, err);
}

/* ---- runs ukd killed (the user's kills, its shutdown): 137 whatever their status channel
 * says ---- */

#define N_KILLED 256
static struct {
	char uuid[40];
	char why[64];
} killed_runs[N_KILLED];
static unsigned killed_next;

void ukd_instance_note_kill(struct ukd *d, const char *uuid, const char *why)
{
	pthread_mutex_lock(&d->lock);
	unsigned i = killed_next++ % N_KILLED;
	snprintf(killed_runs[i].uuid, sizeof(killed_runs[i].uuid), "%s", uuid);
	snprintf(killed_runs[i].why, sizeof(killed_runs[i].why), "%s", why);
	pthread_mutex_unlock(&d->lock);
}

int ukd_instance_kill_noted(struct ukd *d, const char *uuid, char *why, size_t len)
{
	int r = 0;

	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < N_KILLED && !r && *uuid; i++)
		if ((r = !strcmp(killed_runs[i].uuid, uuid)))
			snprintf(why, len, "%s", killed_runs[i].why);
	pthread_mutex_unlock(&d->lock);
	return r;
}

int ukd_instance_stop_shutdown(struct ukd *d, const char *id, int64_t grace_until, int64_t until,
                               uk_err_t *err)
{
	struct ukd_instance in;
	char name[sizeof(in.domain_name)], uuid[sizeof(in.domain_uuid)];
	struct ukd_backend *be;
	int code;

	if (ukd_store_instance_find(d->store, id, &in, err) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s", in.domain_name);
	snprintf(uuid, sizeof(uuid), "%s", in.domain_uuid);
	code = in.state != UKD_STATE_RUNNING;
	be = ukd_backend_of(d, &in);
	ukd_instance_clear(&in);
	if (code)
		return 0;
	/* the power button (what the guest wrote before it does not count); a guest that ignores
	 * it is destroyed when its grace ends */
	ukd_instance_lock(d, id);
	status_empty(d, id, name);
	ukd_instance_unlock(d, id);
	if (grace_until > ukd_now_ns() && ukd_backend_shutdown(be, name, err) < 0)
		log_debug("instances", "shutdown %s: %s", name, err->message);
	uk_err_clear(err);
	/* its exit recorded (the guest powered off), then its QEMU gone */
	wait_not_running(d, id, ukd_ms_until(grace_until), -1, &code, 1);
	while (ukd_now_ns() < grace_until && ukd_backend_state(be, name, NULL, NULL) == 1)
		nanosleep(&(struct timespec){0, 50000000}, NULL);
	if (ukd_backend_state(be, name, NULL, NULL) != 0) {
		ukd_instance_note_kill(d, uuid, UKD_SHUTDOWN_KILL);
		if (ukd_backend_destroy(be, name, err) < 0 && err->status != 404)
			return -1;
	}
	uk_err_clear(err);
	if (wait_not_running(d, id, ukd_ms_until(until), -1, &code, 1) == 0)
		return uk_err_internal(
		        err, "instance %.12s: stopped, but its exit was not recorded", id);
	return 0;
}

int ukd_instance_kill(struct ukd *d, const char *key, uk_err_t *err)
{
	struct ukd_instance in;
	char id[65];

	if (ukd_store_instance_find(d->store, key, &in, err) < 0)
		return -1;
	memcpy(id, in.id, sizeof(id));
	if (in.state != UKD_STATE_RUNNING) {
		uk_err_conflict(err, "instance %s is not running", in.name);
		ukd_instance_clear(&in);
		return -1;
	}
	ukd_instance_clear(&in);
	return kill_and_wait(d, id, err);
}

int ukd_instance_restart(struct ukd *d, const char *key, long timeout_s, uk_err_t *err)
{
	char id[65];

	if (find_id(d, key, id, err) < 0 || ukd_instance_stop(d, id, timeout_s, err) < 0)
		return -1;
	return ukd_instance_start(d, id, err) < 0 ? -1 : 0;
}

int ukd_instance_wait(struct ukd *d, const char *key, int client_fd, int *code, uk_err_t *err)
{
	char id[65];
	int r;

	if (find_id(d, key, id, err) < 0) {
		pthread_mutex_lock(&d->lock);
		r = tomb_find(key, code);
		pthread_mutex_unlock(&d->lock);
		if (r)
			uk_err_clear(err);
		return r ? 0 : -1;
	}
	r = wait_not_running(d, id, -1, client_fd, code, 0);
	if (r < 0)
		return uk_err_notfound(err, "instance %s was removed", key);
	if (r == 0)
		return uk_err_set(err, 503, "unavailable", "wait on %s interrupted", key);
	return 0;
}

/* ---- remove ---- */

int ukd_instance_remove_locked(struct ukd *d, struct ukd_instance *in, uk_err_t *err)
{
	if (ukd_store_instance_delete(d->store, in->id, err) < 0)
		return -1;
	ukd_net_detach(d, in->id);
	remove_dir(d, in->id);
	ukd_events_emit(d, "instance", "destroy", in->id, in->name, NULL);
	return 0;
}

int ukd_instance_remove(struct ukd *d, const char *key, int force, uk_err_t *err)
{
	struct ukd_instance in;
	char id[65];
	int r;

	if (find_id(d, key, id, err) < 0)
		return -1;
	if (force && kill_and_wait(d, id, err) < 0)
		return -1;
	ukd_instance_lock(d, id);
	r = ukd_store_instance_find(d->store, id, &in, err);
	if (r == 0 && in.state == UKD_STATE_RUNNING)
		r = uk_err_conflict(err,
		                    "instance %s is running: stop it first or remove with force=1",
		                    in.name);
	if (r == 0) {
		/* Keep auto_remove's restart thread from reviving it. */
		in.stop_requested = UKD_STOP_KILL;
		r = ukd_instance_remove_locked(d, &in, err);
	}
	ukd_instance_clear(&in);
	ukd_instance_unlock(d, id);
	ukd_instance_changed(d);
	return r;
}

/* ---- JSON views ---- */

json_object *ukd_instance_ports_json(const struct ukd_instance *in)
{
	json_object *out = json_object_new_array();

	for (int i = 0; i < in->spec.n_ports; i++)
		json_object_array_add(out, ukd_port_json(&in->spec.ports[i]));
	return out;
}

/* The guest's network as the daemon configures it (docs/networking.md). */
static json_object *network_json(struct ukd *d, const struct ukd_instance *in)
{
	json_object *o = NULL;
	int nic = ukd_spec_has_nic(&in->spec);
	char mac[18];

	if (in->spec.net_mode == UKD_NET_BRIDGE && (o = ukd_net_endpoint_json(d, in))) {
		json_object_object_add(o, "mode", json_object_new_string("bridge"));
		return o;
	}
	o = json_object_new_object();
	json_object_object_add(o, "mode", json_object_new_string(nic ? "user" : "none"));
	if (nic) {
		snprintf(mac, sizeof(mac), "52:54:00:%.2s:%.2s:%.2s", in->id, in->id + 2,
		         in->id + 4);
		json_object_object_add(o, "mac_address", json_object_new_string(mac));
		json_object_object_add(o, "ip_address", json_object_new_string(UKD_GUEST_IP));
		json_object_object_add(o, "prefix_length", json_object_new_int(UKD_GUEST_PREFIX));
		json_object_object_add(o, "gateway", json_object_new_string(UKD_GUEST_GW));
		json_object_object_add(o, "restricted", json_object_new_boolean(1));
	}
	return o;
}

json_object *ukd_instance_json(struct ukd *d, const struct ukd_instance *in)
{
	json_object *o = json_object_new_object(), *st = json_object_new_object();
	json_object *dom = json_object_new_object(), *v;
	int running = in->state == UKD_STATE_RUNNING;
	char path[PATH_MAX];
	struct ukd_image_row img = {0};

	ukd_store_image_resolve(d->store, in->image_id, &img, NULL);
	json_object_object_add(o, "id", json_object_new_string(in->id));
	json_object_object_add(o, "name", json_object_new_string(in->name));
	json_object_object_add(o, "image", json_object_new_string(in->image_ref));
	json_object_object_add(o, "image_id", json_object_new_string(in->image_id));
	json_object_object_add(o, "image_digest", json_object_new_string(img.manifest));
	json_object_object_add(o, "created", json_object_new_int64(in->created / 1000000000));
	json_object_object_add(st, "status", json_object_new_string(ukd_state_name(in->state)));
	json_object_object_add(st, "running", json_object_new_boolean(running));
	json_object_object_add(st, "exit_code", json_object_new_int(in->exit_code));
	json_object_object_add(st, "started_at", uk_json_time_ns(in->started));
	json_object_object_add(st, "finished_at", uk_json_time_ns(in->finished));
	json_object_object_add(st, "pid", json_object_new_int(running ? in->pid : 0));
	json_object_object_add(st, "restart_count", json_object_new_int(in->restart_count));
	json_object_object_add(st, "error", json_object_new_string(in->error));
	if ((v = ukd_health_json(in)))
		json_object_object_add(st, "health", v);
	json_object_object_add(o, "state", st);
	json_object_object_add(o, "ports", ukd_instance_ports_json(in));
	json_object_object_add(o, "network", network_json(d, in));
	/* a config that did not decode shows as {} (its start says why) */
	json_object_object_add(o, "config",
	                       in->spec_error[0] ? json_object_new_object()
	                                         : ukd_spec_to_json(&in->spec));
	json_object_object_add(dom, "name", json_object_new_string(in->domain_name));
	json_object_object_add(dom, "uuid", json_object_new_string(in->domain_uuid));
	json_object_object_add(dom, "uri", json_object_new_string(d->cfg.libvirt_uri));
	json_object_object_add(dom, "type", json_object_new_string(in->domain_type));
	/* which backend runs it (backends.c): "libvirt" or "qemu" */
	json_object_object_add(
	        dom, "backend",
	        json_object_new_string(ukd_backend_kind_name(ukd_backends_kind_of(d, in))));
	json_object_object_add(o, "domain", dom);
	ukd_instance_path(d, in->id, "console.log", path, sizeof(path));
	json_object_object_add(o, "log_path", json_object_new_string(path));
	return o;
}

static void human_duration(int64_t ns, char *buf, size_t len)
{
	int64_t s = ns / 1000000000;

	if (s < 1)
		snprintf(buf, len, "Less than a second");
	else if (s < 60)
		snprintf(buf, len, "%lld second%s", (long long)s, s == 1 ? "" : "s");
	else if (s < 3600)
		snprintf(buf, len, "%lld minute%s", (long long)s / 60, s / 60 == 1 ? "" : "s");
	else if (s < 86400 * 2)
		snprintf(buf, len, "%lld hours", (long long)s / 3600);
	else
		snprintf(buf, len, "%lld days", (long long)s / 86400);
}

json_object *ukd_instance_summary_json(const struct ukd_instance *in)
{
	json_object *o = json_object_new_object(), *names = json_object_new_array();
	char status[128], dur[48], command[1024] = "", health[32];
	size_t used = 0;

	for (size_t i = 0; in->spec.cmd && in->spec.cmd[i]; i++)
		ukd_cmdline_append(command, sizeof(command), &used, in->spec.cmd[i], NULL);
	if (in->state == UKD_STATE_RUNNING) {
		human_duration(ukd_now_ns() - in->started, dur, sizeof(dur));
		ukd_health_ps_suffix(in, health, sizeof(health));
		snprintf(status, sizeof(status), "Up %s%s", dur, health);
	} else if (in->state == UKD_STATE_EXITED) {
		human_duration(ukd_now_ns() - in->finished, dur, sizeof(dur));
		snprintf(status, sizeof(status), "Exited (%d) %s ago", in->exit_code, dur);
	} else {
		snprintf(status, sizeof(status), "%c%s", ukd_state_name(in->state)[0] - 32,
		         ukd_state_name(in->state) + 1);
	}
	json_object_array_add(names, json_object_new_string(in->name));
	json_object_object_add(o, "id", json_object_new_string(in->id));
	json_object_object_add(o, "names", names);
	json_object_object_add(o, "image", json_object_new_string(in->image_ref));
	json_object_object_add(o, "image_id", json_object_new_string(in->image_id));
	json_object_object_add(o, "command", json_object_new_string(command));
	json_object_object_add(o, "created", json_object_new_int64(in->created / 1000000000));
	json_object_object_add(o, "state", json_object_new_string(ukd_state_name(in->state)));
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "exit_code", json_object_new_int(in->exit_code));
	json_object_object_add(o, "ports", ukd_instance_ports_json(in));
	return o;
}
