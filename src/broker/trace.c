/* "We left nothing behind", on record: what the container's mount table
 * and /dev looked like before the session's first mount and after its last
 * unmount. The unmount's end record carries both digests, whether they are
 * identical, and the lines that differ (a mount left, a directory not
 * removed, an entry the container made meanwhile).
 *
 * Nothing privileged: /proc/PID/mountinfo is world-readable (mount ids are
 * left out: they are not the container's state), and /dev is listed through
 * the fd mount.c opened and checked (no symlink followed). Entries are
 * described by name, type, mode, owner and device number; times are not
 * state either (making and removing /dev/crashcart changes /dev's). */
#include "broker.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "auditlog.h"
#include "json.h"

#define TRACE_MAX (256 * 1024) /* a container with more is described by its first part */
#define DIFF_LINES 20

struct buf {
	char *p;
	size_t len, cap;
	bool full;
};

static void add(struct buf *b, const char *s, size_t n)
{
	if (b->full || b->len + n + 1 > TRACE_MAX) {
		b->full = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->full = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dev(int devfd, struct buf *b)
{
	int fd = fcntl(devfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char *lines[4096];
	size_t n = 0;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			(void)close(fd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d)) && n < ARRAY_SIZE(lines)) {
		struct stat st;
		char line[600];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		snprintf(line, sizeof(line), "dev %s %o %u:%u %u:%u\n", e->d_name, (unsigned)st.st_mode,
			 (unsigned)st.st_uid, (unsigned)st.st_gid,
			 S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? major(st.st_rdev) : 0,
			 S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? minor(st.st_rdev) : 0);
		lines[n] = strdup(line);
		if (lines[n])
			n++;
	}
	closedir(d);
	qsort(lines, n, sizeof(lines[0]), by_name);
	for (size_t i = 0; i < n; i++) {
		add(b, lines[i], strlen(lines[i]));
		free(lines[i]);
	}
}

void cc_trace_take(const struct cc_pin *p, int devfd, struct cc_trace *t)
{
	char *mi = malloc(TRACE_MAX);
	struct buf b = { 0 };

	cc_trace_free(t);
	if (!mi)
		return;
	if (cc_read_file_at(p->procfd, "mountinfo", mi, TRACE_MAX) < 0) {
		free(mi);
		return;
	}
	/* each line without its mount id and parent id: split by hand, not by
	 * libmount, for the reason in target.c (parse_mountinfo_line) */
	for (char *line = mi, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) : strlen(line);
		if (next)
			next++;
		char *sp = memchr(line, ' ', len);
		char *sp2 = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - line)) : NULL;
		if (!sp2)
			continue;
		add(&b, "mount ", 6);
		add(&b, sp2 + 1, len - (size_t)(sp2 + 1 - line));
		add(&b, "\n", 1);
	}
	free(mi);
	list_dev(devfd, &b);
	if (!b.p)
		return;
	t->text = b.p;
	cc_sha256_hex(b.p, b.len, t->sha256);
	t->taken = true;
}

void cc_trace_free(struct cc_trace *t)
{
	free(t->text);
	memset(t, 0, sizeof(*t));
}

/* Lines of a that are not in b, as "PREFIX line", at most *room of them. */
static void missing(struct cc_json *j, const char *a, const char *b, char prefix, int *room)
{
	for (const char *line = a; *line && *room > 0;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		bool found = false;
		for (const char *q = b; *q && !found;) {
			const char *qe = strchr(q, '\n');
			size_t ql = qe ? (size_t)(qe - q) : strlen(q);
			found = ql == len && memcmp(q, line, len) == 0;
			q += ql + (qe ? 1 : 0);
		}
		if (!found) {
			char out[700];
			snprintf(out, sizeof(out), "%c %.*s", prefix, (int)(len < 680 ? len : 680), line);
			cc_json_str(j, NULL, out);
			(*room)--;
		}
		line += len + (end ? 1 : 0);
	}
}

void cc_trace_json(struct cc_json *j, const struct cc_trace *before, const struct cc_trace *after)
{
	cc_json_open(j, "trace");
	cc_json_str(j, "before_sha256", before->taken ? before->sha256 : NULL);
	cc_json_str(j, "after_sha256", after->taken ? after->sha256 : NULL);
	if (before->taken && after->taken) {
		bool same = strcmp(before->sha256, after->sha256) == 0;
		cc_json_bool(j, "identical", same);
		if (!same) {
			int room = DIFF_LINES;
			cc_json_open_array(j, "diff");
			missing(j, before->text, after->text, '-', &room);
			missing(j, after->text, before->text, '+', &room);
			cc_json_close_array(j);
		}
	}
	cc_json_close(j);
}
