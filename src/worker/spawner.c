#include "spawner.h"

#include "prefork.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define OUT_MAX (4 * 1024 * 1024)

static struct cc_helper spawner = CC_HELPER_INIT;
static bool spawner_skipped; /* cc_spawner_skip(): the filter is on, no spawner */

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
	static char req[CC_ARGV_BYTES];
	uint32_t len;

	while (read_all(fd, &len, sizeof(len)) == 0) {
		char *argv[65], errbuf[512] = "", *out = NULL;
		size_t outlen = 0;
		cc_error e = { 0 };
		int32_t r;

		if (len > sizeof(req) || read_all(fd, req, len) < 0 ||
		    cc_argv_unpack(req, len, argv, ARRAY_SIZE(argv)) < 2)
			_exit(1); /* the worker, our parent, speaks nonsense: stop */
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
	return cc_helper_start(&spawner, serve, err);
}

void cc_spawner_skip(void)
{
	spawner_skipped = true;
}

void cc_spawner_stop(void)
{
	cc_helper_stop(&spawner);
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
	static char req[CC_ARGV_BYTES];
	char *full[66];
	ssize_t len;
	int32_t r;
	uint32_t n;

	if (spawner.fd < 0 && spawner_skipped)
		return cc_fail(err, ESRCH, "cannot run %s: the target was a live PID when crashcart started, so no helper "
			       "for runtime commands was started (did the process exit? try again)", bin);
	if (spawner.fd < 0)
		return cc_run_bounded(bin, argv, out, outlen, max, errbuf, errmax, err);
	*out = NULL;
	*outlen = 0;
	if (errmax)
		errbuf[0] = '\0';
	/* the binary's path first, then its argv */
	full[0] = (char *)bin;
	full[1] = NULL;
	for (size_t i = 0; argv[i]; i++) {
		if (i + 2 >= ARRAY_SIZE(full))
			return cc_fail(err, E2BIG, "command too long");
		full[i + 1] = argv[i];
		full[i + 2] = NULL;
	}
	len = cc_argv_pack(full, req, sizeof(req));
	if (len < 0)
		return cc_fail(err, E2BIG, "command too long");
	n = (uint32_t)len;
	if (cc_write_all(spawner.fd, &n, sizeof(n)) < 0 || cc_write_all(spawner.fd, req, len) < 0 ||
	    read_all(spawner.fd, &r, sizeof(r)) < 0)
		return cc_fail(err, EPIPE, "the spawner of %s went away", bin);
	_cleanup_free_ char *msg = NULL, *ebuf = NULL;
	char *obuf = NULL;
	uint32_t mlen, elen, olen;
	if (get_blob(spawner.fd, &msg, &mlen, 1024) < 0 || get_blob(spawner.fd, &ebuf, &elen, 1024) < 0 ||
	    get_blob(spawner.fd, &obuf, &olen, OUT_MAX) < 0)
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
