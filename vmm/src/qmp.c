/* QMP client: bounded line framing, message parsing, commands and events over QEMU's socket. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "uk/vmm.h"

#define QMP_DEPTH 32 /* QEMU's replies nest a few levels; a deeper one is not QEMU */

struct ukvmm_qmp {
	int fd;
	int64_t next_id;
	ukvmm_qmp_event_fn on_event;
	void *opaque;
	struct ukvmm_qmp_rbuf rb;
};

#define err_timeout(err, ...) uk_err_set((err), 504, "timeout", __VA_ARGS__)
#define err_peer(err, ...) uk_err_set((err), 502, "bad_gateway", __VA_ARGS__)
#define err_gone(err, ...) uk_err_set((err), 410, "gone", __VA_ARGS__)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* ---- framing and parsing ---- */

char *ukvmm_qmp_rbuf_space(struct ukvmm_qmp_rbuf *rb, size_t *space)
{
	if (rb->start) {
		memmove(rb->buf, rb->buf + rb->start, rb->len - rb->start);
		rb->len -= rb->start;
		rb->start = 0;
	}
	*space = UKVMM_QMP_MAX_LINE - rb->len;
	return rb->buf + rb->len;
}

int ukvmm_qmp_rbuf_line(struct ukvmm_qmp_rbuf *rb, const char **line, size_t *len, uk_err_t *err)
{
	char *s = rb->buf + rb->start;
	size_t avail = rb->len - rb->start;
	char *nl = memchr(s, '\n', avail);

	if (!nl) {
		if (avail >= UKVMM_QMP_MAX_LINE)
			return err_peer(err, "QMP: a message longer than %d bytes",
			                UKVMM_QMP_MAX_LINE);
		return 0;
	}
	*line = s;
	*len = (size_t)(nl - s);
	if (*len && s[*len - 1] == '\r')
		(*len)--;
	s[*len] = '\0';
	rb->start += (size_t)(nl - s) + 1;
	if (rb->start == rb->len)
		rb->start = rb->len = 0;
	return 1;
}

void ukvmm_qmp_msg_clear(struct ukvmm_qmp_msg *msg)
{
	if (msg->root)
		json_object_put(msg->root);
	memset(msg, 0, sizeof(*msg));
	msg->id = -1;
}

static const char *str_member(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int ukvmm_qmp_parse(const char *line, size_t len, struct ukvmm_qmp_msg *msg, uk_err_t *err)
{
	json_tokener *tok;
	json_object *o, *v;

	memset(msg, 0, sizeof(*msg));
	msg->id = -1;
	if (len > INT_MAX || memchr(line, 0, len))
		return err_peer(err, "QMP: a message with a NUL byte");
	tok = json_tokener_new_ex(QMP_DEPTH);
	if (!tok)
		return uk_err_errno(err, ENOMEM, "QMP: parse");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o && json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return err_peer(err, "QMP: not a JSON object: \"%.60s\"", line);
	}
	msg->root = o;
	if (json_object_object_get_ex(o, "id", &v) && json_object_is_type(v, json_type_int))
		msg->id = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "return", &v)) {
		msg->kind = UKVMM_QMP_RETURN;
		msg->value = v;
	} else if (json_object_object_get_ex(o, "error", &v)) {
		msg->kind = UKVMM_QMP_ERROR;
		if (!json_object_is_type(v, json_type_object))
			goto bad;
		msg->eclass = str_member(v, "class");
		msg->desc = str_member(v, "desc");
		if (!msg->eclass)
			goto bad;
		if (!msg->desc)
			msg->desc = "(no description)";
	} else if ((msg->event = str_member(o, "event"))) {
		msg->kind = UKVMM_QMP_EVENT;
		if (json_object_object_get_ex(o, "data", &v))
			msg->value = v;
	} else if (json_object_object_get_ex(o, "QMP", &v)) {
		msg->kind = UKVMM_QMP_GREETING;
		msg->value = v;
	} else {
		goto bad;
	}
	return 0;
bad:
	ukvmm_qmp_msg_clear(msg);
	return err_peer(err, "QMP: not a greeting, reply or event: \"%.60s\"", line);
}

/* ---- the connection ---- */

/* Reads the next message before (deadline). 0 ok; -1 with 504 timeout, 410 EOF, 502 junk. */
static int qmp_read(struct ukvmm_qmp *q, int64_t deadline, struct ukvmm_qmp_msg *msg, uk_err_t *err)
{
	for (;;) {
		struct pollfd p = {.fd = q->fd, .events = POLLIN};
		const char *line;
		size_t len, space;
		char *at;
		ssize_t n;
		int r = ukvmm_qmp_rbuf_line(&q->rb, &line, &len, err);

		if (r < 0)
			return -1;
		if (r > 0) {
			if (!len)
				continue;
			return ukvmm_qmp_parse(line, len, msg, err);
		}
		r = poll(&p, 1, left_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return uk_err_errno(err, errno, "QMP: poll");
		if (r == 0)
			return err_timeout(err, "QMP: QEMU did not answer in time");
		at = ukvmm_qmp_rbuf_space(&q->rb, &space);
		n = read(q->fd, at, space);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET)
			return uk_err_errno(err, errno, "QMP: read");
		if (n <= 0)
			return err_gone(err, "QMP: QEMU closed the socket");
		q->rb.len += (size_t)n;
	}
}

static int qmp_write(struct ukvmm_qmp *q, const char *s, size_t len, int64_t deadline,
                     uk_err_t *err)
{
	while (len) {
		struct pollfd p = {.fd = q->fd, .events = POLLOUT};
		ssize_t n = send(q->fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			s += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return err_gone(err, "QMP: QEMU closed the socket");
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return uk_err_errno(err, errno, "QMP: write");
		if (poll(&p, 1, left_ms(deadline)) == 0)
			return err_timeout(err, "QMP: QEMU did not take the command in time");
	}
	return 0;
}

static void deliver(struct ukvmm_qmp *q, const struct ukvmm_qmp_msg *msg)
{
	if (q->on_event)
		q->on_event(q->opaque, msg->event, msg->value);
}

static int qmp_cmd_until(struct ukvmm_qmp *q, const char *command, json_object *args,
                         json_object **ret, int64_t deadline, uk_err_t *err)
{
	json_object *req = json_object_new_object();
	int64_t id = q->next_id++;
	const char *text;
	int r = -1;

	if (ret)
		*ret = NULL;
	if (!req)
		return uk_err_errno(err, ENOMEM, "QMP %s", command);
	json_object_object_add(req, "execute", json_object_new_string(command));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	json_object_object_add(req, "id", json_object_new_int64(id));
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (qmp_write(q, text, strlen(text), deadline, err) < 0 ||
	    qmp_write(q, "\n", 1, deadline, err) < 0)
		goto out;
	for (;;) {
		struct ukvmm_qmp_msg msg;

		if (qmp_read(q, deadline, &msg, err) < 0)
			goto out;
		if (msg.kind == UKVMM_QMP_EVENT) {
			deliver(q, &msg);
		} else if ((msg.kind == UKVMM_QMP_RETURN || msg.kind == UKVMM_QMP_ERROR) &&
		           msg.id == id) {
			if (msg.kind == UKVMM_QMP_ERROR) {
				char code[32];
				snprintf(code, sizeof(code), "qmp_%s", msg.eclass);
				uk_err_set(err, 409, code, "QMP %s: %s", command, msg.desc);
			} else {
				if (ret)
					*ret = json_object_get(msg.value);
				r = 0;
			}
			ukvmm_qmp_msg_clear(&msg);
			goto out;
		}
		/* a reply to someone else's id, or a second greeting: not ours */
		ukvmm_qmp_msg_clear(&msg);
	}
out:
	json_object_put(req);
	return r;
}

int ukvmm_qmp_cmd(struct ukvmm_qmp *q, const char *command, json_object *args, json_object **ret,
                  int timeout_ms, uk_err_t *err)
{
	return qmp_cmd_until(q, command, args, ret, now_ms() + timeout_ms, err);
}

struct ukvmm_qmp *ukvmm_qmp_connect(const char *path, int timeout_ms, uk_err_t *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = now_ms() + timeout_ms;
	struct ukvmm_qmp_msg msg;
	struct ukvmm_qmp *q;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		uk_err_bad(err, "QMP socket %s: longer than %zu bytes (use a shorter directory)",
		           path, sizeof(sa.sun_path) - 1);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path));
	q = calloc(1, sizeof(*q));
	if (!q) {
		uk_err_errno(err, ENOMEM, "QMP %s", path);
		return NULL;
	}
	q->next_id = 1;
	for (;;) {
		q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (q->fd < 0) {
			uk_err_errno(err, errno, "QMP %s: socket", path);
			goto fail;
		}
		if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN) {
			uk_err_errno(err, errno, "QMP %s: connect", path);
			goto fail;
		}
		close(q->fd);
		q->fd = -1;
		if (now_ms() >= deadline) {
			err_timeout(err, "QMP %s: no QEMU listening after %d ms (did it start?)",
			            path, timeout_ms);
			goto fail;
		}
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	}
	if (qmp_read(q, deadline, &msg, err) < 0)
		goto fail_wrap;
	if (msg.kind != UKVMM_QMP_GREETING) {
		ukvmm_qmp_msg_clear(&msg);
		err_peer(err, "QMP: the first message is not QEMU's greeting");
		goto fail_wrap;
	}
	ukvmm_qmp_msg_clear(&msg);
	if (qmp_cmd_until(q, "qmp_capabilities", NULL, NULL, deadline, err) < 0)
		goto fail_wrap;
	return q;
fail_wrap:
	uk_err_wrap(err, "connect to %s", path);
fail:
	ukvmm_qmp_close(q);
	return NULL;
}

void ukvmm_qmp_close(struct ukvmm_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q);
}

void ukvmm_qmp_on_event(struct ukvmm_qmp *q, ukvmm_qmp_event_fn fn, void *opaque)
{
	q->on_event = fn;
	q->opaque = opaque;
}

int ukvmm_qmp_fd(const struct ukvmm_qmp *q)
{
	return q->fd;
}

#define QMP_TIMEOUT_MS 5000

int ukvmm_qmp_cont(struct ukvmm_qmp *q, uk_err_t *err)
{
	return ukvmm_qmp_cmd(q, "cont", NULL, NULL, QMP_TIMEOUT_MS, err);
}

/* (command) whose effect may end QEMU before its reply is read: a closed socket is success. */
static int qmp_cmd_ending(struct ukvmm_qmp *q, const char *command, uk_err_t *err)
{
	uk_err_t e = {0};

	if (ukvmm_qmp_cmd(q, command, NULL, NULL, QMP_TIMEOUT_MS, &e) == 0 || e.status == 410)
		return 0;
	if (err)
		*err = e;
	return -1;
}

int ukvmm_qmp_system_powerdown(struct ukvmm_qmp *q, uk_err_t *err)
{
	return qmp_cmd_ending(q, "system_powerdown", err);
}

int ukvmm_qmp_quit(struct ukvmm_qmp *q, uk_err_t *err)
{
	return qmp_cmd_ending(q, "quit", err);
}

int ukvmm_qmp_query_status(struct ukvmm_qmp *q, char *status, size_t len, int *running,
                           uk_err_t *err)
{
	json_object *ret = NULL, *v;
	const char *s;

	if (ukvmm_qmp_cmd(q, "query-status", NULL, &ret, QMP_TIMEOUT_MS, err) < 0)
		return -1;
	s = json_object_is_type(ret, json_type_object) ? str_member(ret, "status") : NULL;
	if (!s || !json_object_object_get_ex(ret, "running", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		json_object_put(ret);
		return err_peer(err, "QMP query-status: a reply without status and running");
	}
	if (status)
		snprintf(status, len, "%s", s);
	if (running)
		*running = json_object_get_boolean(v);
	json_object_put(ret);
	return 0;
}

int ukvmm_qmp_next_event(struct ukvmm_qmp *q, char *event, size_t len, int timeout_ms,
                         uk_err_t *err)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct ukvmm_qmp_msg msg;
		uk_err_t e = {0};

		if (qmp_read(q, deadline, &msg, &e) < 0) {
			if (e.status == 504)
				return 0;
			if (err)
				*err = e;
			return -1;
		}
		if (msg.kind == UKVMM_QMP_EVENT) {
			deliver(q, &msg);
			if (event)
				snprintf(event, len, "%s", msg.event);
			ukvmm_qmp_msg_clear(&msg);
			return 1;
		}
		ukvmm_qmp_msg_clear(&msg);
	}
}
