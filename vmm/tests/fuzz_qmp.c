/* Fuzz target: bytes from a QMP socket through the line framer and the message parser. */
#include <stdint.h>
#include <string.h>

#include "uk/vmm.h"

static struct ukvmm_qmp_rbuf rb;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uk_err_t err;

	memset(&rb, 0, sizeof(rb));
	/* the first byte picks the read size: lines split across reads like a socket's */
	size_t chunk = size ? (size_t)data[0] % 64 + 1 : 1;
	for (size_t off = size ? 1 : 0; off < size;) {
		size_t space, n;
		char *at = ukvmm_qmp_rbuf_space(&rb, &space);
		const char *line;
		size_t len;
		int r;

		n = size - off < chunk ? size - off : chunk;
		if (n > space)
			n = space;
		memcpy(at, data + off, n);
		rb.len += n;
		off += n;
		while ((r = ukvmm_qmp_rbuf_line(&rb, &line, &len, &err)) > 0) {
			struct ukvmm_qmp_msg msg;
			if (ukvmm_qmp_parse(line, len, &msg, &err) == 0) {
				if (msg.kind == UKVMM_QMP_EVENT && !msg.event)
					__builtin_trap();
				if (msg.kind == UKVMM_QMP_ERROR && (!msg.eclass || !msg.desc))
					__builtin_trap();
				ukvmm_qmp_msg_clear(&msg);
			}
		}
		if (r < 0)
			break;
	}
	/* the status channel and version parsers read outside bytes too */
	ukvmm_status_parse((const char *)data, size);
	ukvmm_parse_version((const char *)data, size);
	return 0;
}
