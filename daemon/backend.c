/* The backend interface's dispatch (each ukd_backend_* call goes to the backend's ops table) and
 * the mapping of QEMU's start failures both QEMU-based backends share. */
#include "backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *ukd_backend_name(const struct ukd_backend *b)
{
	return b->ops->name;
}

void ukd_backend_close(struct ukd_backend *b)
{
	if (b)
		b->ops->close(b);
}

/* A call on a backend that could not be opened (backends.c logged why). */
static int backend_none(const char *name, uk_err_t *err)
{
	return uk_err_set(err, 503, UKD_VM_ERR_UNAVAILABLE,
	                  "%s: its backend is not available (see ukd's log)", name);
}

int ukd_backend_start(struct ukd_backend *b, const struct ukd_vm *vm, struct ukd_domain_info *info,
                      uk_err_t *err)
{
	return b ? b->ops->start(b, vm, info, err) : backend_none(vm->name, err);
}

int ukd_backend_wait_gone(struct ukd_backend *b, const char *name, uk_err_t *err)
{
	return b ? b->ops->wait_gone(b, name, err) : backend_none(name, err);
}

int ukd_backend_shutdown(struct ukd_backend *b, const char *name, uk_err_t *err)
{
	return b ? b->ops->shutdown(b, name, err) : backend_none(name, err);
}

int ukd_backend_destroy(struct ukd_backend *b, const char *name, uk_err_t *err)
{
	return b ? b->ops->destroy(b, name, err) : backend_none(name, err);
}

int ukd_backend_starting(struct ukd_backend *b)
{
	return b ? b->ops->starting(b) : 0;
}

int ukd_backend_abort_starts(struct ukd_backend *b)
{
	return b ? b->ops->abort_starts(b) : 0;
}

void ukd_backend_kill_guests(struct ukd_backend *b)
{
	if (b)
		b->ops->kill_guests(b);
}

int ukd_backend_lookup(struct ukd_backend *b, const char *name, struct ukd_domain_info *info,
                       uk_err_t *err)
{
	memset(info, 0, sizeof(*info));
	return b ? b->ops->lookup(b, name, info, err) : backend_none(name, err);
}

int ukd_backend_stats(struct ukd_backend *b, const char *name, struct ukd_vm_stats *st,
                      uk_err_t *err)
{
	st->blk_read = st->blk_write = st->cpu_ns = st->mem = -1;
	if (!b)
		return backend_none(name, err);
	return b->ops->stats ? b->ops->stats(b, name, st, err) : 0;
}

int ukd_backend_state(struct ukd_backend *b, const char *name, int *pid, uk_err_t *err)
{
	struct ukd_domain_info info;
	int r = ukd_backend_lookup(b, name, &info, err);

	if (pid)
		*pid = r > 0 ? info.pid : 0;
	return r;
}

char **ukd_backend_list(struct ukd_backend *b, const char *prefix, uk_err_t *err)
{
	if (!b) {
		backend_none(prefix, err);
		return NULL;
	}
	return b->ops->list(b, prefix, err);
}

void ukd_backend_set_probe_timeout(struct ukd_backend *b, int seconds)
{
	if (b->ops->set_probe_timeout)
		b->ops->set_probe_timeout(b, seconds);
}

const char *ukd_backend_probe_state(struct ukd_backend *b, int64_t *since_ns)
{
	if (b->ops->probe_state)
		return b->ops->probe_state(b, since_ns);
	*since_ns = 0;
	return "ready";
}

const char *ukd_backend_uri(struct ukd_backend *b)
{
	return b->ops->uri(b);
}

int ukd_xen_uri(const char *uri)
{
	return uri && (!strncmp(uri, "xen:", 4) || !strncmp(uri, "libxl:", 6));
}

enum ukd_nic_kind ukd_backend_nic_kind(struct ukd_backend *b)
{
	return b && ukd_xen_uri(ukd_backend_uri(b)) ? UKD_NIC_BRIDGE : UKD_NIC_TAP;
}

const char *ukd_backend_version(struct ukd_backend *b)
{
	return b->ops->version(b);
}

const char *ukd_backend_hypervisor(struct ukd_backend *b)
{
	return b->ops->hypervisor ? b->ops->hypervisor(b) : "";
}

int ukd_backend_qemu_error(const char *msg, const struct ukd_vm *vm, uk_err_t *err)
{
	const char *r = msg ? strstr(msg, "host forwarding rule '") : NULL;
	char proto[8] = "", ip[64] = "";
	unsigned hp = 0;

	/* QEMU could not map the guest's RAM: the memory asked for, not ukd, is at fault */
	if (msg && strstr(msg, "cannot set up guest memory"))
		return uk_err_set(
		        err, 507, UKD_VM_ERR_MEMORY,
		        "memory: QEMU could not allocate the guest's %llu MiB on this host "
		        "(%.300s): give less with -m or free memory",
		        (unsigned long long)((vm ? vm->memory : 0) >> 20), msg);
	if (!r)
		return 0;
	r += strlen("host forwarding rule '");
	/* "tcp:IP:HOST-:GUEST", IP possibly empty (QEMU's default, every address) */
	if ((sscanf(r, "%7[a-z]:%63[0-9.]:%u-", proto, ip, &hp) == 3 ||
	     (ip[0] = 0, sscanf(r, "%7[a-z]::%u-", proto, &hp) == 2)) &&
	    hp && hp < 65536) {
		struct ukd_port p = {.host_port = hp};

		snprintf(p.proto, sizeof(p.proto), "%s", proto);
		snprintf(p.host_ip, sizeof(p.host_ip), "%s", *ip ? ip : "0.0.0.0");
		ukd_ports_in_use(&p, err);
		return -1;
	}
	return uk_err_set(err, 409, UKD_VM_ERR_PORT,
	                  "a published port is already in use (QEMU: %.300s)", msg);
}

int ukd_backend_check_accel(const struct ukd_vm *vm, uk_err_t *err)
{
	if (vm->accel == UKD_VM_KVM && access("/dev/kvm", R_OK | W_OK) < 0)
		return uk_err_set(err, 503, UKD_VM_ERR_ACCEL,
		                  "start %s: KVM asked for, but /dev/kvm is not usable here (%s): "
		                  "run it with --accelerator tcg or auto",
		                  vm->name, strerror(errno));
	return 0;
}
