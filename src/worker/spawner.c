#include "spawner.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define REQ_MAX (64 * 1024)
#define OUT_MAX (4 * 1024 * 1024)

static int spawner_fd = -1;
static pid_t spawner_pid = -1;

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int put_blob(int fd, const void *data, uint32_t len)
{
	int r = cc_write_all(fd, &len, sizeof(len));
	return r < 0 ? r : cc_write_all(fd, data, len);
}

/* Reply: i32 result, then blobs: error message, stderr, stdout. */
static void serve(int fd)
{
	static char req[REQ_MAX];
	uint32_t len;

	while (read_all(fd, &len, sizeof(len)) == 0) {
		char *argv[65], errbuf[512] = "", *out = NULL;
		size_t outlen = 0, off = 0;
		int argc = 0;
		cc_error e = { 0 };
		int32_t r;

		if (len == 0 || len > REQ_MAX || read_all(fd, req, len) < 0 || req[len - 1] != '\0')
			_exit(1); /* the worker, our parent, speaks nonsense: stop */
		while (off < len && argc < 64) {
			argv[argc++] = req + off;
			off += strlen(req + off) + 1;
		}
		argv[argc] = NULL;
		if (argc < 2)
			_exit(1);
		/* argv[0] is the binary's path, argv[1..] its argv */
		r = cc_run_bounded(argv[0], argv + 1, &out, &outlen, OUT_MAX, errbuf, sizeof(errbuf), &e);
		if (cc_write_all(fd, &r, sizeof(r)) < 0 || put_blob(fd, e.msg, r < 0 ? (uint32_t)strlen(e.msg) : 0) < 0 ||
		    put_blob(fd, errbuf, (uint32_t)strlen(errbuf)) < 0 || put_blob(fd, out ? out : "", (uint32_t)outlen) < 0)
			_exit(1);
		free(out);
	}
	_exit(0);
}

int cc_spawner_start(cc_error *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return cc_failx(err, errno, "cannot create the spawner socket");
	spawner_pid = fork();
	if (spawner_pid < 0) {
		(void)close(sv[0]);
		(void)close(sv[1]);
		return cc_failx(err, errno, "cannot fork the spawner");
	}
	if (spawner_pid == 0) {
		/* Nothing of the worker's (the broker socket above all) but the
		 * terminal and our own socket. */
		int fd = sv[1];
		(void)close(sv[0]);
		if (fd > 3)
			(void)syscall(SYS_close_range, 3, fd - 1, 0);
		(void)syscall(SYS_close_range, fd + 1, ~0U, 0);
		serve(fd);
	}
	(void)close(sv[1]);
	spawner_fd = sv[0];
	return 0;
}

void cc_spawner_stop(void)
{
	if (spawner_fd >= 0)
		(void)close(spawner_fd);
	spawner_fd = -1;
	if (spawner_pid > 0)
		while (waitpid(spawner_pid, NULL, 0) < 0 && errno == EINTR)
			;
	spawner_pid = -1;
}

static int get_blob(int fd, char **out, uint32_t *len, uint32_t max)
{
	if (read_all(fd, len, sizeof(*len)) < 0 || *len > max)
		return -EBADMSG;
	*out = malloc((size_t)*len + 1);
	if (!*out)
		return -ENOMEM;
	if (read_all(fd, *out, *len) < 0) {
		free(*out);
		*out = NULL;
		return -EBADMSG;
	}
	(*out)[*len] = '\0';
	return 0;
}

int cc_spawn_bounded(const char *bin, char *const argv[], char **out, size_t *outlen, size_t max, char *errbuf,
		     size_t errmax, cc_error *err)
{
	char req[REQ_MAX];
	size_t len = 0;
	int32_t r;
	uint32_t n;

	if (spawner_fd < 0)
		return cc_run_bounded(bin, argv, out, outlen, max, errbuf, errmax, err);
	*out = NULL;
	*outlen = 0;
	if (errmax)
		errbuf[0] = '\0';
	for (size_t i = 0; i == 0 || argv[i - 1]; i++) {
		const char *s = i == 0 ? bin : argv[i - 1];
		size_t k = strlen(s) + 1;
		if (len + k > sizeof(req))
			return cc_fail(err, E2BIG, "command too long");
		memcpy(req + len, s, k);
		len += k;
	}
	n = (uint32_t)len;
	if (cc_write_all(spawner_fd, &n, sizeof(n)) < 0 || cc_write_all(spawner_fd, req, len) < 0 ||
	    read_all(spawner_fd, &r, sizeof(r)) < 0)
		return cc_fail(err, EPIPE, "the spawner of %s went away", bin);
	_cleanup_free_ char *msg = NULL, *ebuf = NULL;
	char *obuf = NULL;
	uint32_t mlen, elen, olen;
	if (get_blob(spawner_fd, &msg, &mlen, 1024) < 0 || get_blob(spawner_fd, &ebuf, &elen, 1024) < 0 ||
	    get_blob(spawner_fd, &obuf, &olen, OUT_MAX) < 0)
		return cc_fail(err, EBADMSG, "bad reply from the spawner of %s", bin);
	if (errmax)
		snprintf(errbuf, errmax, "%s", ebuf);
	if (r < 0) {
		free(obuf);
		return cc_fail(err, -r, "%s", msg);
	}
	if (olen > max) {
		free(obuf);
		return cc_fail(err, EFBIG, "%s printed more than %zu bytes", bin, max);
	}
	*out = obuf;
	*outlen = olen;
	return r;
}
