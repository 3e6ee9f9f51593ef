#include "fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"

int cc_send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CC_FDS_MAX)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > CC_FDS_MAX)
		return -EINVAL;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		return (size_t)n == len ? 0 : -EIO;
	}
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void)close(fds[i]);
}

ssize_t cc_recv_with_fds(int sock, void *buf, size_t cap, int *fds, size_t maxfds, size_t *nfds)
{
	union {
		/* Room for more than we accept, so that an oversized SCM_RIGHTS is
		 * seen (and its fds closed) rather than silently truncated. */
		char buf[CMSG_SPACE(sizeof(int) * (CC_FDS_MAX + 4))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	int got[CC_FDS_MAX + 4];
	size_t ngot = 0;
	ssize_t n;
	int r = 0;

	*nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	/* Collect every fd that arrived first, so every error path closes them. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			r = -EBADMSG; /* e.g. SCM_CREDENTIALS: nothing we asked for */
			continue;
		}
		size_t payload = c->cmsg_len - CMSG_LEN(0);
		if (payload % sizeof(int) != 0) {
			r = -EBADMSG;
			continue;
		}
		for (size_t i = 0; i < payload / sizeof(int); i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (ngot < ARRAY_SIZE(got))
				got[ngot++] = fd;
			else
				(void)close(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		r = -EBADMSG;
	else if (mh.msg_flags & MSG_TRUNC)
		r = -EMSGSIZE;
	else if (ngot > maxfds)
		r = -EBADMSG;
	if (r < 0) {
		close_all(got, ngot);
		return r;
	}
	memcpy(fds, got, ngot * sizeof(int));
	*nfds = ngot;
	return n;
}
