/* Pinning the target. The worker says "PID N, started at T"; the broker
 * opens a pidfd (which names that process, not the number), then reads its
 * /proc entry and checks the pidfd is still alive afterwards: if it is, the
 * /proc entry we opened belonged to the pidfd's process, and the start time
 * we read is that process's. A PID reused in between is caught here.
 *
 * What a target is: a container, never a host process. It has a mount
 * namespace and a PID namespace that are not the host's, and it is not in a
 * user namespace the caller owns (an operator's own `unshare -Urm` is a
 * mount namespace that is not the host's, and it can bind any directory it
 * can read onto its /dev). The host checks come first and need no access to
 * the target's namespaces, so that every host process gets the same answer.
 * What the host mounts (its mountinfo) is also read here; mount.c uses it to
 * check that the container's /dev is the container's own tmpfs.
 *
 * A container in a user namespace of its own (rootless podman, --userns=auto,
 * unprivileged LXC) is a target when nobody up its chain of user namespaces
 * is the caller: the caller's own, or one made inside it (where the caller's
 * subordinate ids are "root"), is theirs to fill with mounts, and is no more
 * a container than `unshare -Urm`. What the broker does in the others is
 * the same as in any container (mount.c, idmap.c); the tool does not join
 * their user namespace (ns_flags). */
#include "broker.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "caps.h"

#define MOUNTINFO_MAX (16u << 20) /* the host's mountinfo, bounded */
#define USERNS_MAX_DEPTH 33       /* the kernel nests at most 32 */

static int pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int cc_mntns_of_self(uint64_t *ino, cc_error *err)
{
	struct stat st;
	if (stat("/proc/self/ns/mnt", &st) < 0)
		return cc_failx(err, errno, "cannot read the broker's own mount namespace");
	*ino = st.st_ino;
	return 0;
}

/* ---- what the host mounts ---- */

/* The whole of a /proc file that may be large (the host's mountinfo). */
static int read_all(int dirfd, const char *path, char **out, cc_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 64 << 10;
	char *buf;

	if (fd < 0)
		return cc_failx(err, errno, "cannot open %s", path);
	buf = malloc(cap);
	if (!buf)
		return cc_fail(err, ENOMEM, "out of memory");
	for (;;) {
		if (len + 1 >= cap) {
			char *n = cap < MOUNTINFO_MAX ? realloc(buf, cap * 2) : NULL;
			if (!n) {
				free(buf);
				return cc_fail(err, EFBIG, "%s is larger than %u bytes", path, MOUNTINFO_MAX);
			}
			buf = n;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return cc_failx(err, e, "cannot read %s", path);
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* "ID PARENT MAJ:MIN ...": the first three fields only, by hand. Not
 * libmount (which the worker's --list uses), because after parsing a line
 * libmount realpath()s the file name and, for a mount whose source reads
 * "/dev/root", looks the device up through /sys/dev/block (readlink) and
 * /proc/cmdline: syscalls this process's filter kills (readlink, getcwd;
 * policy/seccomp-broker.list), driven by text a container chooses (every
 * bind of a host file shows "/dev/root" on hosts without an initramfs), and
 * its filter callback that would drop entries before that is not exported
 * (2.38). tests/unit/test_seccomp.c (test_broker_kills_libmount) shows it. */
static bool parse_mountinfo_line(const char *line, uint64_t *id, uint64_t *dev)
{
	unsigned long long i, parent;
	unsigned ma, mi;
	if (sscanf(line, "%llu %llu %u:%u", &i, &parent, &ma, &mi) != 4)
		return false;
	*id = i;
	*dev = makedev(ma, mi);
	return true;
}

int cc_host_mounts_read(struct cc_host_mounts *hm, cc_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t cap = 0;
	int r;

	memset(hm, 0, sizeof(*hm));
	r = read_all(AT_FDCWD, "/proc/self/mountinfo", &text, err);
	if (r < 0)
		return r;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		uint64_t id, dev;
		if (!parse_mountinfo_line(line, &id, &dev))
			continue;
		if (hm->n == cap) {
			cap = cap ? cap * 2 : 256;
			void *n = realloc(hm->m, cap * sizeof(*hm->m));
			if (!n) {
				cc_host_mounts_free(hm);
				return cc_fail(err, ENOMEM, "out of memory");
			}
			hm->m = n;
		}
		hm->m[hm->n].id = id;
		hm->m[hm->n++].dev = dev;
	}
	if (hm->n == 0)
		return cc_fail(err, EINVAL, "the broker's mountinfo lists no mounts");
	return 0;
}

bool cc_host_mounts_dev(const struct cc_host_mounts *hm, uint64_t dev)
{
	for (size_t i = 0; i < hm->n; i++)
		if (hm->m[i].dev == dev)
			return true;
	return false;
}

static bool host_mounts_id(const struct cc_host_mounts *hm, uint64_t id)
{
	for (size_t i = 0; i < hm->n; i++)
		if (hm->m[i].id == id)
			return true;
	return false;
}

void cc_host_mounts_free(struct cc_host_mounts *hm)
{
	free(hm->m);
	hm->m = NULL;
	hm->n = 0;
}

/* ---- the host checks, without access to the target's namespaces ---- */

/* Mount ids are unique across the system and a mount is in one namespace
 * only: a mount of the target's (its mountinfo is world-readable) that the
 * host also lists means the target is in the host's mount namespace. Host
 * PID 1 is not even ptrace-readable here; this still answers for it. */
static int shares_host_mntns(const struct cc_pin *p, const struct cc_host_mounts *hm)
{
	char first[512];
	uint64_t id, dev;
	_cleanup_close_ int fd = openat(p->procfd, "mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* the inode comparison below decides */
	ssize_t n = read(fd, first, sizeof(first) - 1);
	if (n <= 0)
		return 0;
	first[n] = '\0';
	return parse_mountinfo_line(first, &id, &dev) && host_mounts_id(hm, id);
}

/* /proc/PID/status "NSpid:" lists the PID in each PID namespace from ours
 * down: one entry means it is in ours. -1: the kernel does not say. */
static int pid_levels(const struct cc_pin *p)
{
	char status[8192];
	if (cc_read_file_at(p->procfd, "status", status, sizeof(status)) < 0)
		return -1;
	const char *l = strstr(status, "\nNSpid:");
	if (!l)
		return -1;
	int levels = 0;
	for (l += 7; *l && *l != '\n';) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l < '0' || *l > '9')
			break;
		levels++;
		while (*l >= '0' && *l <= '9')
			l++;
	}
	return levels;
}

/* The target's user namespace and every one above it up to the broker's
 * (the initial one, which is fine): none may be owned by the caller. A
 * namespace the operator made is theirs to fill with any mount they like. */
static int check_userns(const struct cc_pin *p, uid_t caller, cc_error *err)
{
	struct stat self, st;
	int fd, r = 0;

	if (stat("/proc/self/ns/user", &self) < 0)
		return cc_failx(err, errno, "cannot read the broker's own user namespace");
	/* /proc/PID/ns/ of another user's process: ptrace access check */
	WITH_CAPS(CC_CAP(CAP_SYS_PTRACE), fd = openat(p->procfd, "ns/user", O_RDONLY | O_CLOEXEC));
	if (fd < 0)
		return cc_failx(err, errno, "cannot open the user namespace of PID %d", p->pid);
	for (int depth = 0;; depth++) {
		uid_t owner;
		if (fstat(fd, &st) < 0) {
			r = cc_failx(err, errno, "cannot read a user namespace of PID %d", p->pid);
			break;
		}
		if (st.st_ino == self.st_ino && st.st_dev == self.st_dev)
			break;
		if (ioctl(fd, NS_GET_OWNER_UID, &owner) < 0) {
			r = cc_failx(err, errno, "cannot read the owner of a user namespace of PID %d", p->pid);
			break;
		}
		if (owner == caller) {
			r = cc_fail(err, EPERM,
				    "PID %d is not in a container: it is in a user namespace owned by you (uid %u)",
				    p->pid, caller);
			break;
		}
		int parent = depth < USERNS_MAX_DEPTH ? ioctl(fd, NS_GET_PARENT) : -1;
		if (parent < 0) {
			r = cc_fail(err, EPERM, "PID %d: its user namespaces do not lead to the broker's", p->pid);
			break;
		}
		(void)close(fd);
		fd = parent;
	}
	(void)close(fd);
	return r;
}

static const struct {
	const char *name;
	int flag;
} namespaces[] = {
	/* setns(pidfd, mask) enters them all at once, in the kernel's order
	 * (user first), so the order here does not matter. */
	{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID },
	{ "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

/* Namespaces to enter: every one the kernel has but the user namespace.
 *
 * A user-namespaced container's namespaces are entered from the initial
 * user namespace (CAP_SYS_ADMIN there covers every namespace below it), and
 * the tool stays in it, as the operator's uid and gid: unmapped in the
 * container, so the container sees it as the overflow id. Joining the
 * container's user namespace would make the tool's credentials the
 * container's to rule: its root holds every capability there, and could
 * ptrace the tool and act with the operator's uid and groups on whatever
 * of theirs the container's mounts reach (a host bind mount), or signal it.
 * Outside, nothing in the container has any privilege over the tool, and
 * the tool has none over the container beyond what its ids give anyone. */
static int ns_flags(struct cc_pin *p, int procfd, cc_error *err)
{
	int flags = 0;

	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++) {
		char path[32], self[32];
		struct stat a, b;
		snprintf(path, sizeof(path), "ns/%s", namespaces[i].name);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", namespaces[i].name);
		if (stat(self, &b) < 0)
			continue; /* the kernel lacks it */
		int r;
		/* /proc/PID/ns/ of another user's process: ptrace access check */
		WITH_CAPS(CC_CAP(CAP_SYS_PTRACE), r = fstatat(procfd, path, &a, 0));
		if (r < 0)
			return cc_failx(err, errno, "cannot read namespace %s of the target", namespaces[i].name);
		if (p->nns < (int)ARRAY_SIZE(p->ns)) {
			p->ns[p->nns].name = namespaces[i].name;
			p->ns[p->nns++].ino = a.st_ino;
		}
		bool own = a.st_ino != b.st_ino || a.st_dev != b.st_dev;
		if (namespaces[i].flag == CLONE_NEWPID)
			p->own_pidns = own;
		if (namespaces[i].flag == CLONE_NEWUSER) {
			p->own_userns = own;
			continue;
		}
		flags |= namespaces[i].flag;
	}
	return flags;
}

int cc_target_pin(struct cc_pin *p, pid_t pid, uint64_t claimed_start, uint64_t host_mntns, uid_t caller,
		  cc_error *err)
{
	__attribute__((cleanup(cc_host_mounts_free))) struct cc_host_mounts hm = { 0 };
	char path[32], stat_text[1024];
	struct stat st;
	int r;

	memset(p, 0, sizeof(*p));
	p->pidfd = p->procfd = -1;
	p->pid = pid;
	if (pid <= 0)
		return cc_fail(err, EINVAL, "invalid PID %d", pid);
	p->pidfd = pidfd_open(pid, 0);
	if (p->pidfd < 0)
		return errno == ESRCH ? cc_fail(err, ESRCH, "no process with PID %d", pid)
				      : cc_failx(err, errno, "cannot open PID %d", pid);
	snprintf(path, sizeof(path), "/proc/%d", pid);
	p->procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->procfd < 0) {
		r = cc_fail(err, ESRCH, "process %d exited", pid);
		goto fail;
	}
	r = cc_read_file_at(p->procfd, "stat", stat_text, sizeof(stat_text));
	if (r < 0 || cc_parse_stat_start_time(stat_text, &p->start_time) < 0) {
		r = cc_fail(err, ESRCH, "process %d exited", pid);
		goto fail;
	}
	/* Alive now, so the /proc entry and start time above are the pidfd's. */
	if (pidfd_send_signal(p->pidfd, 0) < 0 && errno == ESRCH) {
		r = cc_fail(err, ESRCH, "process %d exited", pid);
		goto fail;
	}
	if (claimed_start && claimed_start != p->start_time) {
		r = cc_fail(err, ESRCH,
			    "PID %d is not the process that was resolved (it started at %llu, not %llu: the PID was reused)",
			    pid, (unsigned long long)p->start_time, (unsigned long long)claimed_start);
		goto fail;
	}
	/* Host processes first, by what anyone may read: the same answer for
	 * every one of them, whether or not we may look into it. */
	r = cc_host_mounts_read(&hm, err);
	if (r < 0)
		goto fail;
	if (shares_host_mntns(p, &hm)) {
		r = cc_fail(err, EPERM, "PID %d is not in a container: it shares the host's mount namespace", pid);
		goto fail;
	}
	if (pid_levels(p) == 1) {
		r = cc_fail(err, EPERM, "PID %d is not in a container: it shares the host's PID namespace "
			    "(a host process with a private mount namespace, e.g. a service with PrivateTmp=)", pid);
		goto fail;
	}
	WITH_CAPS(CC_CAP(CAP_SYS_PTRACE), r = fstatat(p->procfd, "ns/mnt", &st, 0));
	if (r < 0) {
		r = cc_failx(err, errno, "cannot read the mount namespace of PID %d", pid);
		goto fail;
	}
	p->mntns = st.st_ino;
	if (p->mntns == host_mntns) {
		r = cc_fail(err, EPERM, "PID %d is not in a container: it shares the host's mount namespace", pid);
		goto fail;
	}
	r = ns_flags(p, p->procfd, err);
	if (r < 0)
		goto fail;
	p->nsflags = r;
	if (!p->own_pidns) {
		r = cc_fail(err, EPERM, "PID %d is not in a container: it has no PID namespace of its own", pid);
		goto fail;
	}
	r = check_userns(p, caller, err);
	if (r < 0)
		goto fail;
	r = cc_read_file_at(p->procfd, "cgroup", p->cgroup, sizeof(p->cgroup));
	if (r < 0)
		p->cgroup[0] = '\0'; /* only informative here; huge cgroup files are cut */
	return 0;
fail:
	cc_target_release(p);
	return r;
}

void cc_target_release(struct cc_pin *p)
{
	cc_closep(&p->pidfd);
	cc_closep(&p->procfd);
	p->pidfd = p->procfd = -1;
}
