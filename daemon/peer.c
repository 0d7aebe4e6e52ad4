/* Who is calling ukd: the TLS client's certificate (verified here, since libmicrohttpd only
 * asks for it) or a unix socket's peer credentials, for the log and for read-only clients. */
#include "peer.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The subject of (crt) in RFC 4514 form, and whether one of its OUs is the read-only one. */
static void peer_subject(gnutls_x509_crt_t crt, struct ukd_peer *peer)
{
	gnutls_datum_t dn = {0};
	char ou[256];

	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
		snprintf(peer->who, sizeof(peer->who), "%.*s", (int)dn.size, (char *)dn.data);
		gnutls_free(dn.data);
	} else {
		snprintf(peer->who, sizeof(peer->who), "(unreadable subject)");
	}
	for (unsigned i = 0;; i++) {
		size_t len = sizeof(ou);
		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, i,
		                                  0, ou, &len) < 0)
			break;
		if (!strcmp(ou, UKD_PEER_READONLY_OU))
			peer->readonly = 1;
	}
}

int ukd_peer_tls(struct MHD_Connection *conn, struct ukd_peer *peer, uk_err_t *err)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s = ci ? (gnutls_session_t)ci->tls_session : NULL;
	gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
	                                 .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT};
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t crt;
	gnutls_datum_t why = {0};
	unsigned status = 0, n = 0;
	int r;

	memset(peer, 0, sizeof(*peer));
	if (!s)
		return uk_err_set(err, 403, "forbidden", "not a TLS connection");
	r = gnutls_certificate_verify_peers(s, &purpose, 1, &status);
	if (r == GNUTLS_E_NO_CERTIFICATE_FOUND || (r == 0 && !gnutls_certificate_get_peers(s, &n)))
		return uk_err_set(err, 403, "forbidden",
		                  "TLS client certificate required: this daemon serves only "
		                  "clients whose certificate its CA signed (uk --tlsverify)");
	if (r < 0)
		return uk_err_set(err, 403, "forbidden", "TLS client certificate refused: %s",
		                  gnutls_strerror(r));
	if (status) {
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
		uk_err_set(err, 403, "forbidden", "TLS client certificate refused: %s",
		           why.data ? (char *)why.data : "not trusted");
		gnutls_free(why.data);
		return -1;
	}
	chain = gnutls_certificate_get_peers(s, &n);
	if (!chain || !n || gnutls_x509_crt_init(&crt) < 0)
		return uk_err_set(err, 403, "forbidden", "TLS client certificate unreadable");
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) == 0)
		peer_subject(crt, peer);
	else
		snprintf(peer->who, sizeof(peer->who), "(unreadable certificate)");
	gnutls_x509_crt_deinit(crt);
	return 0;
}

void ukd_peer_plain(struct MHD_Connection *conn, struct ukd_peer *peer)
{
	const union MHD_ConnectionInfo *fd =
	        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *addr =
	        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct ucred uc;
	socklen_t len = sizeof(uc);

	memset(peer, 0, sizeof(*peer));
	snprintf(peer->who, sizeof(peer->who), "unknown peer");
	if (fd && getsockopt(fd->connect_fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 &&
	    len == sizeof(uc) && uc.pid > 0) {
		snprintf(peer->who, sizeof(peer->who), "pid %ld uid %lu gid %lu", (long)uc.pid,
		         (unsigned long)uc.uid, (unsigned long)uc.gid);
	} else if (addr && addr->client_addr && addr->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr->client_addr;
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(peer->who, sizeof(peer->who), "%s:%u", ip, ntohs(in->sin_port));
	}
}

int ukd_peer_method_reads(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}
