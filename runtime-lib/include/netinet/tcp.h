/* TCP socket options. */
#ifndef UK_LIBC_NETINET_TCP_H
#define UK_LIBC_NETINET_TCP_H

#define TCP_NODELAY \
	1 /* accepted: the stack has no Nagle, writes go out at the end of each poll step */
#define TCP_MAXSEG 2
#define TCP_KEEPIDLE 4 /* accepted and ignored: no keepalive in the stack */
#define TCP_KEEPINTVL 5
#define TCP_KEEPCNT 6

#endif
