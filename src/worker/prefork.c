#include "prefork.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int cc_helper_start(struct cc_helper *h, void (*serve)(int fd), cc_error *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return cc_failx(err, errno, "cannot create a helper socket");
	h->pid = fork();
	if (h->pid < 0) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return cc_failx(err, errno, "cannot fork a helper");
	}
	if (h->pid == 0) {
		/* Nothing of the worker's (the broker socket above all) but the
		 * terminal and our own socket. */
		int fd = sv[1];
		(void)close(sv[0]);
		if (fd > 3)
			(void)syscall(SYS_close_range, 3, fd - 1, 0);
		(void)syscall(SYS_close_range, fd + 1, ~0U, 0);
		serve(fd);
		_exit(1);
	}
	(void)close(sv[1]);
	h->fd = sv[0];
	return 0;
}

void cc_helper_stop(struct cc_helper *h)
{
	if (h->fd >= 0)
		(void)close(h->fd);
	h->fd = -1;
	if (h->pid > 0)
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
	h->pid = -1;
}

ssize_t cc_argv_pack(char *const argv[], char *buf, size_t cap)
{
	size_t len = 0;
	for (char *const *a = argv; *a; a++) {
		size_t n = strlen(*a) + 1;
		if (len + n > cap)
			return -E2BIG;
		memcpy(buf + len, *a, n);
		len += n;
	}
	return (ssize_t)len;
}

int cc_argv_unpack(char *buf, size_t len, char **argv, size_t max)
{
	size_t argc = 0;
	if (len == 0 || buf[len - 1] != '\0' || max == 0)
		return -EINVAL;
	for (size_t i = 0; i < len && argc + 1 < max; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;
	return (int)argc;
}
