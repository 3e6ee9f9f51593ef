/* crashcart --list: every container the resolver can see, and whether the
 * toolbox image is mounted in it now. */
#include "resolve.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <libmount/libmount.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

#define MOUNTINFO_MAX_BYTES (16u << 20) /* a container may have very many mounts */

/* The mountinfo text comes through a stream that counts bytes and ends the
 * file at MOUNTINFO_MAX_BYTES (a container may make a very large one); it
 * has no fd of its own, so libmount reads only what we give it. */
struct bounded {
	int fd;
	size_t total;
	int err; /* first read error (positive errno), or EFBIG */
};

static ssize_t bounded_read(void *cookie, char *buf, size_t size)
{
	struct bounded *b = cookie;
	if (b->err)
		return 0;
	for (;;) {
		ssize_t n = read(b->fd, buf, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			b->err = errno;
			return 0;
		}
		b->total += (size_t)n;
		if (b->total > MOUNTINFO_MAX_BYTES) {
			b->err = EFBIG;
			return 0;
		}
		return n;
	}
}

/* libmount costs every crashcart run 0.25 ms of loading (it brings
 * libselinux and libpcre2), for --list only: load it then, like libcurl. */
static struct {
	struct libmnt_table *(*new_table)(void);
	int (*parse_stream)(struct libmnt_table *, FILE *, const char *);
	struct libmnt_fs *(*find_target)(struct libmnt_table *, const char *, int);
	void (*unref_table)(struct libmnt_table *);
} lm;

static int load_libmount(void)
{
	static void *dl;
	if (dl)
		return 0;
	dl = dlopen("libmount.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return -ENOENT;
	*(void **)&lm.new_table = dlsym(dl, "mnt_new_table");
	*(void **)&lm.parse_stream = dlsym(dl, "mnt_table_parse_stream");
	*(void **)&lm.find_target = dlsym(dl, "mnt_table_find_target");
	*(void **)&lm.unref_table = dlsym(dl, "mnt_unref_table");
	if (!lm.new_table || !lm.parse_stream || !lm.find_target || !lm.unref_table) {
		dlclose(dl);
		dl = NULL;
		return -ENOENT;
	}
	return 0;
}

/* libmount parses (fields, octal escapes, optional fields); lines it cannot
 * parse are skipped. The file name given to it is "" on purpose: for a
 * mountinfo, libmount realpath()s the name to learn the thread id, and ""
 * is never looked up. A mount whose source reads "/dev/root" still makes
 * it look the device up in /sys/dev/block: harmless here (no privilege,
 * no filter: --list runs before the worker loads one), and the reason the
 * broker does not use libmount (target.c). */
int cc_mountinfo_has_crashcart(int fd)
{
	struct bounded b = { .fd = fd };
	cookie_io_functions_t io = { .read = bounded_read };
	struct libmnt_table *tb = NULL;
	FILE *f;
	int r = load_libmount();

	if (r < 0)
		return r;
	f = fopencookie(&b, "r", io);
	if (!f)
		return -ENOMEM;
	r = -ENOMEM;
	tb = lm.new_table();
	if (!tb)
		goto out;
	r = lm.parse_stream(tb, f, "");
	if (b.err)
		r = -b.err;
	else if (r >= 0)
		/* no cache set: target strings are compared as they are, nothing
		 * is canonicalized on this host's file system */
		r = lm.find_target(tb, "/dev/crashcart", MNT_ITER_BACKWARD) != NULL;
out:
	lm.unref_table(tb);
	fclose(f);
	return r;
}

int cc_proc_has_crashcart(int procfd, uint32_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "%u/mountinfo", pid);
	_cleanup_close_ int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	return cc_mountinfo_has_crashcart(fd);
}

static int cmp_container(const void *a, const void *b)
{
	return cc_container_cmp(a, b);
}

int cc_list(const struct cc_resolve_ctx *ctx, struct cc_container **out, size_t *n, cc_error *err)
{
	_cleanup_free_ struct cc_found *v = NULL;
	struct cc_query q = { .spec = NULL };
	size_t nv = 0;
	int r;

	*out = NULL;
	*n = 0;
	r = cc_cgroup_find(ctx, &q, &v, &nv, err);
	if (r < 0)
		return r;
	struct cc_container *c = calloc(nv ? nv : 1, sizeof(*c));
	if (!c)
		return cc_fail(err, ENOMEM, "out of memory");
	_cleanup_close_ int procfd = open(ctx->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < nv; i++) {
		c[i] = v[i].c;
		if (procfd >= 0) {
			r = cc_proc_has_crashcart(procfd, c[i].pid);
			c[i].mounted = r < 0 ? CC_MOUNTED_UNKNOWN : r ? CC_MOUNTED_YES : CC_MOUNTED_NO;
		}
	}
	/* names only the runtimes know: podman's from conmon's command line,
	 * Docker's from its API when the user may use its socket */
	for (size_t i = 0; i < nv && procfd >= 0 && (ctx->podman_host || ctx->podman_bin); i++)
		if (strcmp(c[i].runtime, "podman") == 0 && !c[i].name[0])
			(void)cc_conmon_name(procfd, c[i].pid, c[i].id, c[i].name, sizeof(c[i].name));
	(void)cc_docker_names(ctx, c, nv);
	cc_k8s_name(ctx, c, nv);
	qsort(c, nv, sizeof(*c), cmp_container);
	*out = c;
	*n = nv;
	return 0;
}

int cc_list_print_table(FILE *f, const struct cc_container *c, size_t n)
{
	fprintf(f, "%-10s %-12s %-32s %8s %s\n", "RUNTIME", "ID", "NAME", "PID", "MOUNTED");
	for (size_t i = 0; i < n; i++) {
		char sid[13], ssid[64], sname[300], srt[64];
		cc_short_id(c[i].id, sid);
		/* names and ids come from the containers and their runtimes */
		cc_escape(sid, ssid, sizeof(ssid));
		cc_escape(c[i].name[0] ? c[i].name : "-", sname, sizeof(sname));
		cc_escape(c[i].runtime, srt, sizeof(srt));
		fprintf(f, "%-10s %-12s %-32s %8u %s\n", srt, ssid, sname, c[i].pid,
			c[i].mounted == CC_MOUNTED_YES ? "yes" : c[i].mounted == CC_MOUNTED_NO ? "no" : "?");
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

int cc_list_print_json(FILE *f, const struct cc_container *c, size_t n)
{
	struct cc_json j;
	int r = 0;

	cc_json_init(&j);
	cc_json_open(&j, NULL);
	cc_json_open_array(&j, "containers");
	for (size_t i = 0; i < n; i++) {
		char sid[13];
		cc_short_id(c[i].id, sid);
		cc_json_open(&j, NULL);
		cc_json_str(&j, "runtime", c[i].runtime);
		cc_json_str(&j, "id", c[i].id);
		cc_json_str(&j, "short_id", sid);
		cc_json_str(&j, "name", c[i].name[0] ? c[i].name : NULL);
		cc_json_u64(&j, "pid", c[i].pid);
		cc_json_u64(&j, "start_time", c[i].start_time);
		cc_json_bool(&j, "pidns", c[i].own_pidns);
		if (c[i].mounted == CC_MOUNTED_UNKNOWN)
			cc_json_str(&j, "mounted", NULL);
		else
			cc_json_bool(&j, "mounted", c[i].mounted == CC_MOUNTED_YES);
		cc_json_str(&j, "cgroup", c[i].cgroup);
		cc_json_str(&j, "note", c[i].note[0] ? c[i].note : NULL);
		cc_json_close(&j);
	}
	cc_json_close_array(&j);
	cc_json_close(&j);
	const char *t = cc_json_text(&j);
	if (!t)
		r = -ENOMEM;
	else if (fprintf(f, "%s\n", t) < 0 || fflush(f) != 0)
		r = -EIO;
	cc_json_free(&j);
	return r;
}
