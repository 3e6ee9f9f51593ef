/* Finding containers in the cgroup tree, unprivileged.
 *
 * Cost: the walk visits cgroup directories (d_type only, no file reads);
 * only the cgroups whose names match the query have their member list
 * (cgroup.procs) read, and only those members' /proc/PID/status and stat.
 * Nothing here reads every /proc/PID, so resolution does not slow down as
 * the host runs more processes.
 *
 * Everything read here is container-controlled (a container with a
 * delegated cgroup names its sub-cgroups; its processes write their own
 * comm): reads are bounded, the walk never follows symlinks, and depth and
 * counts are capped. */
#include "resolve.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define WALK_MAX_DEPTH 32        /* cgroup levels below a hierarchy root */
#define WALK_MAX_DIRS 200000     /* cgroups visited per hierarchy */
#define PATH_MAX_LEN 4096
#define MEMBER_MAX_DEPTH 8       /* sub-cgroups of a container searched for members */
#define MEMBER_MAX_DIRS 256
#define MEMBER_MAX_PIDS 4096     /* processes examined per container */
#define PROCS_MAX_BYTES (64 * 1024)
#define STATUS_MAX_BYTES (16 * 1024)
#define STAT_MAX_BYTES 2048

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* containerd namespace names: [A-Za-z0-9] then [A-Za-z0-9._-]. */
static bool is_ns_name(const char *s)
{
	if (!isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return false;
	return true;
}

/* systemd unit-name escaping: "\x2d" is '-'. Invalid escapes are kept. */
static void unescape_unit(const char *s, size_t n, char *out, size_t max)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < max; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && isxdigit((unsigned char)s[i + 2]) &&
		    isxdigit((unsigned char)s[i + 3])) {
			char hex[3] = { s[i + 2], s[i + 3], 0 };
			unsigned v = (unsigned)strtoul(hex, NULL, 16);
			if (v != 0) {
				out[o++] = (char)v;
				i += 3;
				continue;
			}
		}
		out[o++] = s[i];
	}
	out[o] = '\0';
}

static bool set_id(struct cc_cgroup_class *c, unsigned rt, const char *runtime, const char *id, size_t n)
{
	if (n == 0 || n >= sizeof(c->id))
		return false;
	c->rt = rt;
	c->runtime = runtime;
	memcpy(c->id, id, n);
	c->id[n] = '\0';
	return true;
}

bool cc_cgroup_classify(const char *base, const char *parent, int depth, const char *path, struct cc_cgroup_class *c)
{
	size_t n = strlen(base);

	memset(c, 0, sizeof(*c));
	if (has_suffix(base, ".scope")) {
		size_t m = n - strlen(".scope");
		static const struct {
			const char *prefix;
			unsigned rt;
			const char *runtime;
			bool hex;
		} scopes[] = {
			{ "docker-", CC_RT_DOCKER, "docker", true },
			{ "libpod-", CC_RT_PODMAN, "podman", true }, /* libpod-conmon-<id> is not hex */
			{ "cri-containerd-", CC_RT_CONTAINERD, "containerd", true },
			{ "crio-", CC_RT_CRIO, "cri-o", true },      /* crio-conmon-<id> is not hex */
			{ "runc-", CC_RT_RUNC, "runc", false },
			{ "crun-", CC_RT_RUNC, "crun", false },
		};
		for (size_t i = 0; i < ARRAY_SIZE(scopes); i++) {
			size_t p = strlen(scopes[i].prefix);
			if (m <= p || strncmp(base, scopes[i].prefix, p) != 0)
				continue;
			if (scopes[i].hex && !cc_is_hex64(base + p, m - p))
				return false;
			return set_id(c, scopes[i].rt, scopes[i].runtime, base + p, m - p);
		}
		if (m > 8 && has_prefix(base, "machine-")) {
			unescape_unit(base + 8, m - 8, c->name, sizeof(c->name));
			return set_id(c, CC_RT_MACHINE, "machine", c->name, strlen(c->name));
		}
		return false;
	}
	if (has_prefix(base, "lxc.payload.") && n > 12) {
		snprintf(c->name, sizeof(c->name), "%s", base + 12);
		return set_id(c, CC_RT_LXC, "lxc", base + 12, n - 12);
	}
	if (strcmp(parent, "docker") == 0 && cc_is_hex64(base, n))
		return set_id(c, CC_RT_DOCKER, "docker", base, n);
	if (strcmp(parent, "libpod_parent") == 0 && has_prefix(base, "libpod-") && cc_is_hex64(base + 7, n - 7))
		return set_id(c, CC_RT_PODMAN, "podman", base + 7, n - 7);
	if (strcmp(parent, "lxc") == 0 && depth == 2) {
		snprintf(c->name, sizeof(c->name), "%s", base);
		return set_id(c, CC_RT_LXC, "lxc", base, n);
	}
	/* Kubernetes with the cgroupfs driver: /kubepods[/<qos>]/pod<uid>/<id>. */
	if (has_prefix(parent, "pod") && has_prefix(path, "kubepods/")) {
		if (has_prefix(base, "crio-") && cc_is_hex64(base + 5, n - 5))
			return set_id(c, CC_RT_CRIO, "cri-o", base + 5, n - 5);
		if (cc_is_hex64(base, n))
			return set_id(c, CC_RT_CONTAINERD, "containerd", base, n);
		return false;
	}
	/* containerd (ctr, nerdctl) with the cgroupfs driver: /<namespace>/<id>. */
	if (depth == 2 && is_ns_name(parent) && strcmp(parent, "kubepods") != 0 && !has_prefix(parent, "lxc") &&
	    !has_suffix(parent, ".slice") && !has_suffix(parent, ".scope") && !has_suffix(parent, ".service")) {
		if (!set_id(c, CC_RT_CONTAINERD, "containerd", base, n))
			return false;
		snprintf(c->name, sizeof(c->name), "%s/%s", parent, base);
		c->need_shim = true;
		return true;
	}
	return false;
}

static int match_query(const struct cc_query *q, const struct cc_cgroup_class *c)
{
	if (q->runtimes && !(q->runtimes & c->rt))
		return CC_MATCH_NONE;
	if (q->full_id_only) {
		for (const char *const *p = q->ids; p && *p; p++)
			if (strcmp(*p, c->id) == 0 && !c->generic && (c->rt & (CC_RT_DOCKER | CC_RT_CONTAINERD | CC_RT_CRIO)))
				return CC_MATCH_EXACT;
		return CC_MATCH_NONE;
	}
	if (!q->spec)
		return c->generic ? CC_MATCH_NONE : CC_MATCH_EXACT;
	if (c->generic)
		return strcmp(q->spec, c->id) == 0 ? CC_MATCH_EXACT : CC_MATCH_NONE;
	if (c->name[0] && strcmp(q->spec, c->name) == 0)
		return CC_MATCH_EXACT;
	if (c->rt & (CC_RT_LXC | CC_RT_MACHINE))
		return CC_MATCH_NONE; /* names: exact only */
	if (strcmp(q->spec, c->id) == 0)
		return CC_MATCH_EXACT;
	if (q->spec[0] && has_prefix(c->id, q->spec))
		return CC_MATCH_PREFIX;
	return CC_MATCH_NONE;
}

/* Read at most max-1 bytes; a longer file is cut after its last complete
 * line. Returns the length or -errno. */
static int read_lines_at(int dirfd, const char *path, char *buf, size_t max)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	while (len + 1 < max) {
		ssize_t r = read(fd, buf + len, max - 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			buf[len] = '\0';
			return (int)len;
		}
		len += (size_t)r;
	}
	buf[len] = '\0';
	char *nl = strrchr(buf, '\n');
	len = nl ? (size_t)(nl - buf + 1) : 0;
	buf[len] = '\0';
	return (int)len;
}

int cc_parse_status_nspid(const char *status, uint64_t *last, int *levels)
{
	const char *p = strstr(status, "\nNSpid:");

	*levels = 0;
	if (!p)
		return -ENOENT;
	p += 7;
	for (;;) {
		while (*p == '\t' || *p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			break;
		char num[24];
		size_t n = 0;
		while (p[n] >= '0' && p[n] <= '9' && n + 1 < sizeof(num)) {
			num[n] = p[n];
			n++;
		}
		num[n] = '\0';
		p += n;
		if (cc_parse_u64(num, UINT32_MAX, last) < 0)
			return -EINVAL;
		(*levels)++;
	}
	return *levels > 0 ? 0 : -EINVAL;
}

int cc_parse_stat_ppid(const char *stat, uint32_t *ppid)
{
	const char *p = strrchr(stat, ')');
	unsigned long v;

	if (!p || sscanf(p + 1, " %*c %lu", &v) != 1 || v > UINT32_MAX)
		return -EINVAL;
	*ppid = (uint32_t)v;
	return 0;
}

/* Last NSpid field and how many levels there are. -ENOENT: gone/unreadable. */
static int read_nspid(int procfd, uint32_t pid, uint64_t *last, int *levels)
{
	char path[32], buf[STATUS_MAX_BYTES];
	int r;

	snprintf(path, sizeof(path), "%u/status", pid);
	r = read_lines_at(procfd, path, buf, sizeof(buf));
	if (r < 0)
		return r;
	return cc_parse_status_nspid(buf, last, levels);
}

/* Start time and parent PID from /proc/PID/stat. */
static int read_stat(int procfd, uint32_t pid, uint64_t *start, uint32_t *ppid)
{
	char path[32], buf[STAT_MAX_BYTES];
	int r;

	snprintf(path, sizeof(path), "%u/stat", pid);
	r = cc_read_file_at(procfd, path, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (cc_parse_stat_start_time(buf, start) < 0)
		return -EINVAL;
	if (ppid && cc_parse_stat_ppid(buf, ppid) < 0)
		return -EINVAL;
	return 0;
}

struct pick {
	int procfd;
	char *procs;     /* PROCS_MAX_BYTES scratch */
	size_t examined; /* processes looked at */
	size_t dirs;
	bool truncated;
	/* best PID-namespace init: fewest NSpid levels, then oldest, then lowest PID */
	uint32_t init;
	int init_levels;
	uint64_t init_start;
	size_t ninit;
	/* oldest process overall */
	uint32_t oldest;
	uint64_t oldest_start;
};

static bool better(uint64_t s1, uint32_t p1, uint64_t s2, uint32_t p2)
{
	return s1 < s2 || (s1 == s2 && p1 < p2);
}

static void pick_members(struct pick *k, int cgfd, int depth, bool recursive)
{
	int r = read_lines_at(cgfd, "cgroup.procs", k->procs, PROCS_MAX_BYTES);
	if (r == PROCS_MAX_BYTES - 1 || (r > 0 && (size_t)r + 32 >= PROCS_MAX_BYTES))
		k->truncated = true;
	if (r > 0) {
		char *save = NULL;
		for (char *line = strtok_r(k->procs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			uint64_t pid, last, start;
			int levels;
			if (cc_parse_u64(line, 0x3fffffff, &pid) < 0 || pid == 0)
				continue;
			if (k->examined >= MEMBER_MAX_PIDS) {
				k->truncated = true;
				break;
			}
			k->examined++;
			if (read_nspid(k->procfd, (uint32_t)pid, &last, &levels) < 0)
				continue; /* exited, or not a process we can see */
			if (read_stat(k->procfd, (uint32_t)pid, &start, NULL) < 0)
				continue;
			if (!k->oldest || better(start, (uint32_t)pid, k->oldest_start, k->oldest)) {
				k->oldest = (uint32_t)pid;
				k->oldest_start = start;
			}
			if (levels >= 2 && last == 1) {
				k->ninit++;
				if (!k->init || levels < k->init_levels ||
				    (levels == k->init_levels && better(start, (uint32_t)pid, k->init_start, k->init))) {
					k->init = (uint32_t)pid;
					k->init_levels = levels;
					k->init_start = start;
				}
			}
		}
	}
	if (!recursive || depth >= MEMBER_MAX_DEPTH)
		return;
	DIR *d = fdopendir(dup(cgfd));
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (++k->dirs > MEMBER_MAX_DIRS) {
			k->truncated = true;
			break;
		}
		_cleanup_close_ int sub =
			openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			pick_members(k, sub, depth + 1, true);
	}
	closedir(d);
}

static bool parent_is_shim(int procfd, uint32_t pid)
{
	uint64_t start;
	uint32_t ppid;
	char path[32], comm[64];

	if (read_stat(procfd, pid, &start, &ppid) < 0 || ppid == 0)
		return false;
	snprintf(path, sizeof(path), "%u/comm", ppid);
	if (cc_read_file_at(procfd, path, comm, sizeof(comm)) < 0)
		return false;
	return has_prefix(comm, "containerd-shim");
}

struct walk {
	const struct cc_resolve_ctx *ctx;
	const struct cc_query *q;
	int procfd;
	char *procs;
	struct cc_found **v;
	size_t *nv;
	size_t visited;
	int hier;
	int rc;
	cc_error *err;
};

/* The same container met in an earlier hierarchy: same names and the same
 * cgroup path (pid 0: not known yet) or the same chosen process. */
static bool seen(struct walk *w, const struct cc_cgroup_class *c, const char *cgroup, uint32_t pid)
{
	for (size_t i = 0; i < *w->nv; i++) {
		const struct cc_found *o = &(*w->v)[i];
		if (o->hier == w->hier || strcmp(o->c.runtime, c->runtime) != 0 || strcmp(o->c.id, c->id) != 0 ||
		    strcmp(o->c.name, c->name) != 0)
			continue;
		if (strcmp(o->c.cgroup, cgroup) == 0 || (pid && o->c.pid == pid))
			return true;
	}
	return false;
}

/* Adds the container if it has a live process; returns whether it did. */
static bool consider(struct walk *w, int parentfd, const char *base, const char *path, const struct cc_cgroup_class *c, int m)
{
	_cleanup_close_ int cgfd = openat(parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct pick k = { .procfd = w->procfd, .procs = w->procs };
	struct cc_container ct;

	char cgroup[sizeof(ct.cgroup)];

	snprintf(cgroup, sizeof(cgroup), "/%s", path);
	if (cgfd < 0 || seen(w, c, cgroup, 0))
		return false;
	pick_members(&k, cgfd, 0, !c->generic);
	if (!k.oldest)
		return false; /* no live process: an exited container's leftover cgroup */
	memset(&ct, 0, sizeof(ct));
	snprintf(ct.runtime, sizeof(ct.runtime), "%s", c->runtime);
	snprintf(ct.id, sizeof(ct.id), "%s", c->id);
	snprintf(ct.name, sizeof(ct.name), "%s", c->name);
	snprintf(ct.cgroup, sizeof(ct.cgroup), "%s", cgroup);
	ct.mounted = CC_MOUNTED_UNKNOWN;
	if (k.init) {
		ct.pid = k.init;
		ct.start_time = k.init_start;
		ct.own_pidns = true;
		if (k.ninit > 1)
			snprintf(ct.note, sizeof(ct.note),
				 "PID %u: the outermost (then oldest) of %zu PID-namespace inits in the cgroup", k.init,
				 k.ninit);
	} else {
		if (c->generic)
			return false; /* an unrecognised cgroup counts only with a PID-namespace init */
		ct.pid = k.oldest;
		ct.start_time = k.oldest_start;
		snprintf(ct.note, sizeof(ct.note),
			 "no PID namespace of its own: chose PID %u, the oldest process in the cgroup "
			 "(start time %llu; lowest PID on a tie)",
			 ct.pid, (unsigned long long)ct.start_time);
	}
	if (c->need_shim && !parent_is_shim(w->procfd, ct.pid))
		return false;
	if (c->generic)
		snprintf(ct.note, sizeof(ct.note), "cgroup %s does not name its runtime (runc, crun or similar)",
			 ct.cgroup);
	if (k.truncated && !ct.note[0])
		snprintf(ct.note, sizeof(ct.note), "only the first %d processes of the cgroup were examined",
			 MEMBER_MAX_PIDS);

	if (seen(w, c, ct.cgroup, ct.pid))
		return false;
	struct cc_found *nvv = realloc(*w->v, (*w->nv + 1) * sizeof(**w->v));
	if (!nvv) {
		w->rc = cc_fail(w->err, ENOMEM, "out of memory");
		return false;
	}
	*w->v = nvv;
	nvv[*w->nv].c = ct;
	nvv[*w->nv].match = m;
	nvv[*w->nv].hier = w->hier;
	(*w->nv)++;
	return true;
}

static bool is_dir_entry(int dfd, const struct dirent *e)
{
	struct stat st;
	if (e->d_type == DT_DIR)
		return true;
	if (e->d_type != DT_UNKNOWN)
		return false;
	return fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* dfd is consumed. path is relative to the hierarchy root ("" at the root). */
static void walk_dir(struct walk *w, int dfd, char *path, size_t plen, const char *base, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;

	if (!d) {
		(void)close(dfd);
		return;
	}
	while (w->rc == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!is_dir_entry(dirfd(d), e))
			continue;
		if (++w->visited > WALK_MAX_DIRS)
			break;
		size_t n = strlen(e->d_name);
		if (plen + 1 + n + 1 > PATH_MAX_LEN)
			continue;
		size_t nplen = plen ? plen + 1 + n : n;
		if (plen)
			path[plen] = '/';
		memcpy(path + (plen ? plen + 1 : 0), e->d_name, n + 1);

		struct cc_cgroup_class c;
		bool known = cc_cgroup_classify(e->d_name, base, depth + 1, path, &c), added = false;
		int m = known ? match_query(w->q, &c) : CC_MATCH_NONE;
		char cg[sizeof(((struct cc_container *)0)->cgroup)];
		snprintf(cg, sizeof(cg), "/%s", path);
		/* met in an earlier hierarchy already: not a new candidate of any kind */
		bool dup = known && seen(w, &c, cg, 0);
		if (m != CC_MATCH_NONE && !dup)
			added = consider(w, dirfd(d), e->d_name, path, &c, m);
		/* Not a runtime's naming (or "/<ns>/<id>" without a containerd
		 * shim): a cgroup named exactly like the spec may still be a
		 * runc/crun container placed by hand. */
		if ((!known || (c.need_shim && !added && !dup)) && w->rc == 0 && w->q->spec && !w->q->full_id_only &&
		    strcmp(e->d_name, w->q->spec) == 0) {
			memset(&c, 0, sizeof(c));
			c.generic = true;
			(void)set_id(&c, CC_RT_RUNC, "runc", e->d_name, n);
			m = match_query(w->q, &c);
			if (m != CC_MATCH_NONE)
				(void)consider(w, dirfd(d), e->d_name, path, &c, m);
		}

		if (depth + 1 < WALK_MAX_DEPTH) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				char name[256];
				snprintf(name, sizeof(name), "%s", e->d_name);
				walk_dir(w, sub, path, nplen, name, depth + 1);
			}
		}
		path[plen] = '\0';
	}
	closedir(d);
}

static int open_dir(int dfd, const char *name)
{
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int cc_cgroup_find(const struct cc_resolve_ctx *ctx, const struct cc_query *q, struct cc_found **v, size_t *nv,
		   cc_error *err)
{
	static const char *const preferred[] = { "unified", "systemd", "pids" };
	static const char *const fallback[] = { "memory", "cpu,cpuacct", "cpu", "freezer", "devices" };
	_cleanup_close_ int rootfd = open(ctx->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int procfd = open(ctx->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *procs = NULL, *path = NULL;
	struct walk w = { .ctx = ctx, .q = q, .v = v, .nv = nv, .err = err };
	struct stat st;
	int hier[ARRAY_SIZE(preferred) + 1], nh = 0;

	if (rootfd < 0)
		return cc_failx(err, errno, "cannot open %s", ctx->cgroup_root);
	if (procfd < 0)
		return cc_failx(err, errno, "cannot open %s", ctx->proc_root);
	procs = malloc(PROCS_MAX_BYTES);
	path = malloc(PATH_MAX_LEN);
	if (!procs || !path)
		return cc_fail(err, ENOMEM, "out of memory");
	w.procfd = procfd;
	w.procs = procs;

	if (fstatat(rootfd, "cgroup.controllers", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		hier[nh++] = open_dir(rootfd, "."); /* unified hierarchy mounted at the root */
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(preferred); i++) {
			int fd = open_dir(rootfd, preferred[i]);
			if (fd >= 0)
				hier[nh++] = fd;
		}
		for (size_t i = 0; nh == 0 && i < ARRAY_SIZE(fallback); i++) {
			int fd = open_dir(rootfd, fallback[i]);
			if (fd >= 0)
				hier[nh++] = fd;
		}
	}
	for (int i = 0; i < nh; i++) {
		if (hier[i] < 0)
			continue;
		w.visited = 0;
		w.hier = i;
		path[0] = '\0';
		if (w.rc == 0)
			walk_dir(&w, hier[i], path, 0, "", 0);
		else
			(void)close(hier[i]);
	}
	return w.rc;
}
