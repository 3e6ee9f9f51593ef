/* Pinning the target. The worker says "PID N, started at T"; the broker
 * opens a pidfd (which names that process, not the number), then reads its
 * /proc entry and checks the pidfd is still alive afterwards: if it is, the
 * /proc entry we opened belonged to the pidfd's process, and the start time
 * we read is that process's. A PID reused in between is caught here. */
#include "broker.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "caps.h"

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

/* Namespaces to enter: every one the kernel has, except the user namespace
 * when it is ours (entering one's own user namespace is EINVAL). */
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
		if (namespaces[i].flag == CLONE_NEWPID)
			p->own_pidns = a.st_ino != b.st_ino || a.st_dev != b.st_dev;
		if (namespaces[i].flag == CLONE_NEWUSER && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		flags |= namespaces[i].flag;
	}
	return flags;
}

int cc_target_pin(struct cc_pin *p, pid_t pid, uint64_t claimed_start, uint64_t host_mntns, cc_error *err)
{
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
