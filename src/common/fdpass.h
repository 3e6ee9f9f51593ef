/* Datagram send/receive with SCM_RIGHTS fd passing, checked. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Sends one datagram of len bytes with nfds fds attached. */
int cc_send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds);

/* Receives one datagram. Returns its length (0 on EOF) or a negative errno:
 * -EMSGSIZE on a truncated datagram, -EBADMSG on truncated or unexpected
 * control data (wrong level/type/length, more than maxfds fds). Received fds
 * are O_CLOEXEC; on any error none are left open. */
ssize_t cc_recv_with_fds(int sock, void *buf, size_t cap, int *fds, size_t maxfds, size_t *nfds);
