/* Tool profiles: with which identity and capabilities the tool runs.
 *
 *   restricted  the operator's uid, gid and groups; no capability (default)
 *   ptrace      the target process's own uids, gids and groups (read from
 *               /proc/PID/status of the pinned process) and CAP_SYS_PTRACE:
 *               gdb opens /proc/PID/mem, a 0600 file of the target's euid,
 *               which CAP_SYS_PTRACE alone does not pass (DESIGN.md), and
 *               the target's identity is one its container already has.
 *               CAP_SYS_PTRACE stays for what the same ids do not give: a
 *               target whose permitted set is not a subset of the tool's
 *               (container root: the kernel's cap_ptrace_access_check) or
 *               that is not dumpable. The launcher needs CAP_SETUID and
 *               CAP_SETGID to take that identity.
 *   netadmin    the operator's ids, CAP_NET_ADMIN and CAP_NET_RAW in a
 *               container with its own network namespace; refused when that
 *               namespace is linked to another (a veth peer's, any nsid):
 *               CAP_NET_ADMIN of the initial user namespace reaches every
 *               namespace that has an nsid there (rtnetlink's
 *               IFLA_TARGET_NETNSID), the host's included; and when a
 *               task of the container's PID namespace is in another network
 *               namespace (a sidecar with the host's network): rtnetlink
 *               names a namespace by a PID of the caller's PID namespace too
 *               (NETNSA_PID gives it an nsid, IFLA_NET_NS_PID puts a link
 *               there), and checks CAP_NET_ADMIN where it is owned.
 *
 * Each profile but restricted is refused where the container's mount
 * namespace holds a procfs of another PID namespace (a monitoring
 * container's /host/proc): its /proc/PID/root, fd/ and ns/ links reach that
 * namespace's processes, past the container's, and CAP_SYS_PTRACE passes
 * their ptrace checks (the host's root filesystem through /host/proc/1/root);
 * netadmin also where it holds an nsfs mount of another network namespace.
 *
 * Each profile but restricted needs capabilities beyond the broker's base
 * set; the install-time opt-in (-Dprofiles=) gives the broker's file those,
 * and the broker keeps them in its launcher only (caps.h). A broker without
 * them refuses the profile and says how to enable it. Not for a container
 * in a user namespace of its own (SECURITY.md: the tool stays in the initial user namespace).
 *
 * The tool never gains a capability on exec: no_new_privs (the kernel's
 * cap_bprm_creds_from_file then caps what an exec gives, uid 0 included, at
 * the permitted set the tool already has), and its seccomp filter keeps
 * setns, unshare of namespaces and every mount call away. */
#include "broker.h"

#include <grp.h>
#include <libmnl/libmnl.h>
#include <linux/net_namespace.h>
#include <linux/openat2.h>
#include <linux/rtnetlink.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "caps.h"
#include "proto.h"

#define MAX_GROUPS 64

struct profile {
	const char *name;
	uint64_t tool;      /* the tool's capabilities */
	uint64_t launcher;  /* what the launcher needs beyond the base set */
	const char *enable; /* the -Dprofiles= word */
};

static const struct profile profiles[] = {
	[CC_PROFILE_RESTRICTED] = { "restricted", 0, 0, NULL },
	[CC_PROFILE_PTRACE] = { "ptrace", CC_CAP(CAP_SYS_PTRACE), CC_CAP(CAP_SETUID) | CC_CAP(CAP_SETGID), "ptrace" },
	[CC_PROFILE_NETADMIN] = { "netadmin", CC_CAP(CAP_NET_ADMIN) | CC_CAP(CAP_NET_RAW),
				  CC_CAP(CAP_NET_ADMIN) | CC_CAP(CAP_NET_RAW), "netadmin" },
};

bool cc_pin_own_netns(const struct cc_pin *p)
{
	struct stat self;
	if (stat("/proc/self/ns/net", &self) < 0)
		return false;
	for (int i = 0; i < p->nns; i++)
		if (strcmp(p->ns[i].name, "net") == 0)
			return p->ns[i].ino != self.st_ino;
	return false;
}

static void cap_list(uint64_t mask, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int c = 0; c < 64 && o < len; c++)
		if (mask & CC_CAP(c))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", cc_cap_name(c));
}

/* "Uid:\tR\tE\tS\tFS": the first three numbers after the key. */
static int status_ids(const char *status, const char *key, unsigned long ids[3])
{
	const char *l = strstr(status, key);
	if (!l || (l != status && l[-1] != '\n'))
		return -1;
	return sscanf(l + strlen(key), "%lu %lu %lu", &ids[0], &ids[1], &ids[2]) == 3 ? 0 : -1;
}

/* The target's credentials as "RUID EUID SUID RGID EGID SGID [GROUP...]". */
static int target_creds(const struct cc_pin *p, char *out, size_t len, cc_error *err)
{
	char status[8192];
	unsigned long u[3], g[3];
	int r = cc_read_file_at(p->procfd, "status", status, sizeof(status));
	if (r < 0)
		return cc_failx(err, -r, "cannot read the identity of PID %d", p->pid);
	if (status_ids(status, "Uid:", u) < 0 || status_ids(status, "Gid:", g) < 0)
		return cc_fail(err, EINVAL, "cannot read the identity of PID %d: no Uid/Gid lines", p->pid);
	size_t o = (size_t)snprintf(out, len, "%lu %lu %lu %lu %lu %lu", u[0], u[1], u[2], g[0], g[1], g[2]);
	const char *gl = strstr(status, "\nGroups:");
	if (gl) {
		gl += strlen("\nGroups:");
		int n = 0;
		for (;;) {
			char *end;
			while (*gl == ' ' || *gl == '\t')
				gl++;
			if (*gl < '0' || *gl > '9')
				break;
			unsigned long v = strtoul(gl, &end, 10);
			if (++n > MAX_GROUPS)
				return cc_fail(err, E2BIG, "PID %d has more than %d supplementary groups: the ptrace "
					       "profile does not take them", p->pid, MAX_GROUPS);
			o += (size_t)snprintf(out + o, len - o, " %lu", v);
			gl = end;
		}
	}
	if (o >= len)
		return cc_fail(err, E2BIG, "the identity of PID %d is too long", p->pid);
	return 0;
}

/* In a user-namespaced container the tool runs with profile = restricted
 * only: it stays in the initial user namespace (target.c), where a
 * profile's capability would be more than the container's own root holds
 * over its processes. session.c asks before anything is attached. */
int cc_profile_fits_target(enum cc_profile prof, const struct cc_pin *p, const char *rule, cc_error *err)
{
	if (prof == CC_PROFILE_RESTRICTED || !p->own_userns)
		return 0;
	return cc_fail(err, EPERM,
		       "PID %d is in a user-namespaced container, and rule [%s] gives the tool a profile with "
		       "capabilities: only profile = restricted runs there", p->pid, rule);
}

int cc_profile_plan(enum cc_profile prof, const struct cc_pin *p, struct cc_profile_plan *plan, cc_error *err)
{
	memset(plan, 0, sizeof(*plan));
	plan->profile = prof;
	if ((size_t)prof >= ARRAY_SIZE(profiles) || !profiles[prof].name)
		return cc_fail(err, EINVAL, "unknown profile %d", (int)prof);
	const struct profile *d = &profiles[prof];
	if (prof == CC_PROFILE_RESTRICTED)
		return 0;
	/* (a user-namespaced target: refused at the mount, cc_profile_fits_target,
	 * and an exec comes only after its session's mount: NEED_MOUNT) */
	uint64_t missing = d->launcher & ~cc_caps_available();
	if (missing) {
		char caps[200];
		cap_list(missing, caps, sizeof(caps));
		return cc_fail(err, EPERM, "profile %s needs %s, which crashcart-broker was not installed with: "
			       "enable it with `meson setup -Dprofiles=%s` and install again (SECURITY.md, Profiles)",
			       d->name, caps, d->enable);
	}
	plan->tool_caps = d->tool;
	plan->launch_flags |= CC_LAUNCH_OWN_PROC;
	if (prof == CC_PROFILE_PTRACE) {
		/* perf stat/record -p of the container's processes, as their own
		 * uids (policy/seccomp-tool.list, %variant ptrace) */
		plan->launch_flags |= CC_LAUNCH_PERF;
		return target_creds(p, plan->creds, sizeof(plan->creds), err);
	}
	if (prof == CC_PROFILE_NETADMIN)
		plan->launch_flags |= CC_LAUNCH_NET_ALONE;
	return 0;
}

const char *cc_profile_tool_caps(const struct cc_profile_plan *plan, char *buf, size_t len)
{
	cap_list(plan->tool_caps, buf, len);
	return buf;
}

/* ---- in the launcher ---- */

int cc_profile_become(const char *creds)
{
	unsigned long v[6 + MAX_GROUPS];
	gid_t groups[MAX_GROUPS];
	int n = 0, used;
	const char *s = creds;

	while (n < (int)ARRAY_SIZE(v) && sscanf(s, "%lu%n", &v[n], &used) == 1) {
		n++;
		s += used;
	}
	if (n < 6 || *s)
		return -EINVAL;
	for (int i = 6; i < n; i++)
		groups[i - 6] = (gid_t)v[i];
	/* From a uid 0 operator to a non-zero uid the kernel would empty the
	 * permitted set; what is kept is chosen right after, by the caller. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	int r;
	WITH_CAPS(CC_CAP(CAP_SETGID), {
		r = setgroups((size_t)(n - 6), groups);
		if (r == 0)
			r = setresgid((gid_t)v[3], (gid_t)v[4], (gid_t)v[5]);
	});
	if (r < 0)
		return -errno;
	WITH_CAPS(CC_CAP(CAP_SETUID), r = setresuid((uid_t)v[0], (uid_t)v[1], (uid_t)v[2]));
	if (r < 0)
		return -errno;
	(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* the new ids made the process non-dumpable; the caller decides */
	return 0;
}

struct linked {
	int nsid;       /* the first nsid seen, -1: none */
	bool peer;      /* a link whose other end is in another namespace */
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct linked *l = data;
	struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
		if (mnl_attr_get_type(a) == IFLA_LINK_NETNSID) {
			l->peer = true;
			if (l->nsid < 0 && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				l->nsid = (int)mnl_attr_get_u32(a);
		}
	return MNL_CB_OK;
}

static int nsid_cb(const struct nlmsghdr *nlh, void *data)
{
	struct linked *l = data;
	struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct rtgenmsg))
		if (mnl_attr_get_type(a) == NETNSA_NSID && mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			int id = (int)mnl_attr_get_u32(a);
			if (id >= 0 && l->nsid < 0)
				l->nsid = id;
		}
	return MNL_CB_OK;
}

static int dump(struct mnl_socket *nl, uint16_t type, size_t hdrlen, mnl_cb_t cb, struct linked *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	unsigned seq = (unsigned)time(NULL) ^ type;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	unsigned portid = mnl_socket_get_portid(nl);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		int r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, l);
		if (r < 0)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

int cc_profile_net_alone(cc_error *err)
{
	struct linked l = { .nsid = -1 };
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return cc_failx(err, errno, "profile netadmin: cannot open a netlink socket in the container");
	int r = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	/* The link dump first: it gives every peer namespace an nsid here
	 * (the kernel allocates one to report IFLA_LINK_NETNSID), so the nsid
	 * dump after it sees them all. */
	if (r == 0)
		r = dump(nl, RTM_GETLINK, sizeof(struct ifinfomsg), link_cb, &l);
	if (r == 0)
		r = dump(nl, RTM_GETNSID, sizeof(struct rtgenmsg), nsid_cb, &l);
	mnl_socket_close(nl);
	if (r < 0)
		return cc_failx(err, -r, "profile netadmin: cannot list the links of the container's network namespace");
	if (l.peer || l.nsid >= 0)
		return cc_fail(err, EXDEV, "profile netadmin refused: the container's network namespace is linked "
			       "to another one (nsid %d%s), which CAP_NET_ADMIN there would reach", l.nsid,
			       l.peer ? ", the other end of a veth or similar link" : "");
	return 0;
}

/* The ns link `ns` of a task of `tfd` (a /proc/PID/task fd): 1 and *st,
 * 0 when the task is gone (ENOENT, ESRCH: it ended, or is a zombie without
 * namespaces), -errno otherwise: the check fails closed. Another user's
 * task: the ptrace access check of ns links, hence CAP_SYS_PTRACE. */
static int task_ns(int tfd, const char *tid, const char *ns, struct stat *st)
{
	char path[64];
	int s;
	snprintf(path, sizeof(path), "%s/ns/%s", tid, ns);
	WITH_CAPS(CC_CAP(CAP_SYS_PTRACE), s = fstatat(tfd, path, st, 0));
	if (s == 0)
		return 1;
	return errno == ENOENT || errno == ESRCH ? 0 : -errno;
}

static bool same(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

struct task_refs {
	const struct stat *net;     /* a task in another network namespace is foreign */
	const struct stat *hostmnt; /* a task in this mount namespace (the host's) is foreign */
	bool mknod;                 /* a task that can make device nodes is refused (ptrace) */
	pid_t self;                 /* the checking child: the broker's capabilities, not the container's */
};

/* Can the task make device nodes, now or after an exec? CAP_MKNOD in its
 * permitted set, or in its bounding set without no_new_privs (uid 0, or a
 * set-uid or file-capability program, gives it back on exec). The ptrace
 * tool can drive any task of the PID namespace into that mknod, and the
 * node is the container cgroup's to allow (Docker: `b *:* m`), not the
 * session's: SECURITY.md, "the ptrace profile and CAP_MKNOD". /proc/TID/
 * status escapes the task's name, so a field is a line's start. 1: yes. */
static int task_can_mknod(int taskdir, const char *tid)
{
	char path[64], buf[4096];
	unsigned long long prm = 0, bnd = 0;
	int nnp = -1, have = 0;
	snprintf(path, sizeof(path), "%s/status", tid);
	int r = cc_read_file_at(taskdir, path, buf, sizeof(buf));
	if (r < 0)
		return r == -ENOENT || r == -ESRCH ? 0 : r; /* ended meanwhile */
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (sscanf(line, "CapPrm:\t%llx", &prm) == 1)
			have |= 1;
		else if (sscanf(line, "CapBnd:\t%llx", &bnd) == 1)
			have |= 2;
		else if (sscanf(line, "NoNewPrivs:\t%d", &nnp) == 1)
			have |= 4;
	}
	if (have != 7)
		return -EPROTO;
	const unsigned long long mknod = 1ULL << CAP_MKNOD;
	return (prm & mknod) || ((bnd & mknod) && nnp == 0);
}

/* The directory at/path, to read (NULL and errno) */
static DIR *dir_at(int at, const char *path)
{
	int fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		(void)close(fd);
		errno = e;
	}
	return d;
}

/* The tasks of /proc/PID, each checked against refs. */
static int foreign_tasks(int procfd, const char *pid, const struct task_refs *refs, pid_t *tid, const char **what)
{
	char path[64];
	snprintf(path, sizeof(path), "%s/task", pid);
	DIR *d = dir_at(procfd, path);
	if (!d) /* a process that ended meanwhile has no tasks */
		return errno == ENOENT || errno == ESRCH ? 0 : -errno;
	int tfd = dirfd(d), r = 0;
	struct dirent *de;
	while (r == 0 && !*tid && (de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (refs->net && (r = task_ns(tfd, de->d_name, "net", &st)) > 0 && !same(&st, refs->net))
			*what = "another network namespace", *tid = (pid_t)atoi(de->d_name);
		else if (r >= 0 && refs->hostmnt && (r = task_ns(tfd, de->d_name, "mnt", &st)) > 0 &&
			 same(&st, refs->hostmnt))
			*what = "the host's mount namespace", *tid = (pid_t)atoi(de->d_name);
		else if (r >= 0 && refs->mknod && atoi(de->d_name) != refs->self &&
			 (r = task_can_mknod(tfd, de->d_name)) > 0)
			*what = CC_PROFILE_MKNOD_WHAT, *tid = (pid_t)atoi(de->d_name);
		if (r > 0)
			r = 0;
	}
	(void)closedir(d);
	return r;
}

int cc_profile_foreign_task(int procfd, bool net, const struct stat *hostmnt, bool mknod, pid_t *tid,
			    const char **what)
{
	char self[32];
	struct stat own;
	struct task_refs refs = { .net = net ? &own : NULL, .hostmnt = hostmnt, .mknod = mknod, .self = getpid() };
	*tid = 0;
	*what = NULL;
	/* our own entry, in our own procfs: the container's namespace */
	snprintf(self, sizeof(self), "%d/ns/net", (int)getpid());
	if (fstatat(procfd, self, &own, 0) < 0)
		return -errno;
	DIR *d = dir_at(procfd, ".");
	if (!d)
		return -errno;
	int r = 0;
	struct dirent *de;
	while (r == 0 && !*tid && (de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			r = foreign_tasks(procfd, de->d_name, &refs, tid, what);
	(void)closedir(d);
	return r;
}

/* mountinfo's octal escapes (\040 for a space...), in place */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Is the procfs mounted at `mp` (mount `id`) one of another PID namespace
 * than ours (`own`: a procfs of our own)? Its "self" must be us, by our PID
 * here (an ancestor's numbers us otherwise, and one we are not in has no
 * "self"), and its PID 1 must start when ours did (the numbers of two
 * namespaces can meet; the ns links of PID 1 would need the ptrace check,
 * which a host's PID 1 can refuse even CAP_SYS_PTRACE). 1: yes, 0: no, or
 * not reachable by its path (covered by another mount); -errno. */
static int foreign_procfs(const char *mp, unsigned long id, int own)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, mp, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID)) {
		int e = errno ? errno : EOPNOTSUPP;
		(void)close(fd);
		return -e;
	}
	if (sx.stx_mnt_id != id) {
		(void)close(fd);
		return 0;
	}
	char self[32], stat[1024];
	uint64_t t_there = 0, t_here = 0;
	ssize_t n = readlinkat(fd, "self", self, sizeof(self) - 1);
	int r = 1;
	if (n > 0) {
		self[n] = '\0';
		if (atoi(self) == (int)getpid()) {
			int a = cc_read_file_at(fd, "1/stat", stat, sizeof(stat));
			if (a >= 0 && cc_parse_stat_start_time(stat, &t_there) == 0 &&
			    cc_read_file_at(own, "1/stat", stat, sizeof(stat)) >= 0 &&
			    cc_parse_stat_start_time(stat, &t_here) == 0)
				r = t_there != t_here;
		}
	}
	(void)close(fd);
	return r;
}

int cc_profile_foreign_mount(int procfd, bool net, char *where, size_t len)
{
	char path[48];
	struct stat netns;
	static char info[256 * 1024];
	int n;

	where[0] = '\0';
	snprintf(path, sizeof(path), "%d/ns/net", (int)getpid());
	if (fstatat(procfd, path, &netns, 0) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%d/mountinfo", (int)getpid());
	n = cc_read_file_at(procfd, path, info, sizeof(info));
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(info) - 1)
		return -E2BIG; /* cut: the rest could hide one */
	for (char *line = info, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
		char *f[5], *save = NULL, *sep = strstr(line, " - ");
		int i = 0;
		if (!sep)
			continue;
		*sep = '\0';
		for (char *t = strtok_r(line, " ", &save); t && i < 5; t = strtok_r(NULL, " ", &save))
			f[i++] = t;
		char *fstype = strtok_r(sep + 3, " ", &save);
		if (i < 5 || !fstype)
			continue;
		unescape(f[4]);
		if (strcmp(fstype, "proc") == 0 && strcmp(f[3], "/") != 0) {
			/* a bind of part of a procfs (Docker's read-only /proc/sys,
			 * /proc/irq...): no process's links below it, unless the
			 * part is a process's directory */
			unescape(f[3]);
			if (f[3][1] >= '0' && f[3][1] <= '9') {
				snprintf(where, len, "%s is a process's directory of a procfs", f[4]);
				return 0;
			}
		} else if (strcmp(fstype, "proc") == 0) {
			int r = foreign_procfs(f[4], strtoul(f[0], NULL, 10), procfd);
			if (r < 0)
				return r;
			if (r) {
				snprintf(where, len, "%s is a procfs of another PID namespace", f[4]);
				return 0;
			}
		} else if (net && strcmp(fstype, "nsfs") == 0 && strncmp(f[3], "net:[", 5) == 0 &&
			   strtoull(f[3] + 5, NULL, 10) != (unsigned long long)netns.st_ino) {
			snprintf(where, len, "%s is another network namespace (nsfs)", f[4]);
			return 0;
		}
	}
	return 0;
}
