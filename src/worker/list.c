/* crashcart --list: every container the resolver can see, and whether the
 * toolbox image is mounted in it now. */
#include "resolve.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

#define MOUNTINFO_MAX_BYTES (16u << 20) /* a container may have very many mounts */

/* Is the 5th field (mount point) of this mountinfo line "/dev/crashcart"? */
static bool line_is_crashcart(const char *line, size_t len)
{
	static const char want[] = "/dev/crashcart";
	size_t i = 0;
	for (int field = 1; field < 5; field++) {
		while (i < len && line[i] != ' ')
			i++;
		if (i >= len)
			return false;
		i++;
	}
	size_t end = i;
	while (end < len && line[end] != ' ')
		end++;
	return end - i == sizeof(want) - 1 && memcmp(line + i, want, sizeof(want) - 1) == 0;
}

int cc_mountinfo_has_crashcart(int fd)
{
	char buf[8192];
	size_t have = 0, total = 0;
	bool skipping = false; /* inside a line longer than buf */

	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return (have > 0 && !skipping && line_is_crashcart(buf, have)) ? 1 : 0;
		total += (size_t)n;
		if (total > MOUNTINFO_MAX_BYTES)
			return -EFBIG;
		have += (size_t)n;
		size_t start = 0;
		for (size_t i = 0; i < have; i++) {
			if (buf[i] != '\n')
				continue;
			if (!skipping && line_is_crashcart(buf + start, i - start))
				return 1;
			skipping = false;
			start = i + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == sizeof(buf)) { /* one line fills the buffer: not ours, skip it */
			skipping = true;
			have = 0;
		}
	}
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
