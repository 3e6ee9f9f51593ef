/* Writing into the container's /dev without CAP_DAC_OVERRIDE.
 *
 * The container's /dev is a root-owned 0755 tmpfs and the broker runs with
 * the operator's uid, so creating /dev/crashcart in it is a DAC write. Instead
 * of a capability that bypasses every permission check on every file, the
 * broker writes through a private, detached, idmapped clone of that one
 * mount: open_tree(OPEN_TREE_CLONE) of the container's /dev, then
 * mount_setattr(MOUNT_ATTR_IDMAP) with a user namespace that maps id 0 to
 * the caller. Through the clone, the directory's owner (0) is the caller,
 * and what the caller creates is owned by 0 in the filesystem (host root,
 * or the container's root when its /dev belongs to a user namespace). The
 * clone is never attached anywhere and is closed right after the one
 * mkdirat/unlinkat it was made for; only CAP_SYS_ADMIN is raised.
 *
 * The user namespace is made once at start-up, before the strict seccomp
 * filter (which then needs neither clone nor unshare): a short-lived child
 * unshares it, the broker writes its maps and keeps an fd of it. Nothing
 * else is done with it. tmpfs supports idmapped mounts from Linux 6.3. */
#include "broker.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "caps.h"

static int userns_fd = -1;

/* close_range over [lo, hi], skipping nothing: lo > hi is a no-op */
static void close_span(int lo, int hi)
{
	if (lo <= hi)
		(void)syscall(SYS_close_range, lo, hi, 0);
}

/* In the child: become an empty user namespace, say so, wait to be read. */
static void child_main(int ready_w, int done_r)
{
	int lo = ready_w < done_r ? ready_w : done_r, hi = ready_w < done_r ? done_r : ready_w, r;
	char c = 0;

	/* Nothing of the broker's but the two pipe ends stays open here. */
	close_span(3, lo - 1);
	close_span(lo + 1, hi - 1);
	close_span(hi + 1, ~0U >> 1);
	/* Kernels that restrict unprivileged user namespaces (Debian's
	 * kernel.unprivileged_userns_clone=0) still allow CAP_SYS_ADMIN. */
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), r = unshare(CLONE_NEWUSER));
	if (r < 0)
		_exit(2);
	/* It needs nothing: no capability (in either namespace) while it
	 * waits. Dumpable, so that /proc/CHILD is the caller's and the
	 * broker, with the same uid, may write its maps (a process started
	 * with file capabilities is not dumpable, and its /proc is root's). */
	if (cc_caps_drop_all(0) < 0 || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		_exit(3);
	if (write(ready_w, &c, 1) != 1)
		_exit(4);
	(void)!read(done_r, &c, 1); /* the broker closes its end when done */
	_exit(0);
}

static int write_at(int dirfd, const char *name, const char *text)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	if (n < 0)
		return -errno;
	return (size_t)n == strlen(text) ? 0 : -EIO;
}

/* In the broker: the child's maps, then an fd of its user namespace. */
static int map_and_open(pid_t child, uid_t uid, gid_t gid, cc_error *err)
{
	char path[32], map[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d", child);
	_cleanup_close_ int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return cc_failx(err, errno, "cannot open %s", path);
	/* 0 inside is the caller outside, and nobody else: through the
	 * idmapped clone the caller acts as the owner of root-owned files, and
	 * owns nothing else. setgroups must be denied before an unprivileged
	 * gid_map. */
	snprintf(map, sizeof(map), "0 %u 1\n", uid);
	r = write_at(procfd, "setgroups", "deny");
	if (r == 0)
		r = write_at(procfd, "uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1\n", gid);
	if (r == 0)
		r = write_at(procfd, "gid_map", map);
	if (r < 0)
		return cc_fail(err, -r, "cannot write the maps of the idmapping user namespace: %s", strerror(-r));
	userns_fd = openat(procfd, "ns/user", O_RDONLY | O_CLOEXEC);
	if (userns_fd < 0)
		return cc_failx(err, errno, "cannot open the idmapping user namespace");
	return 0;
}

static pid_t idmap_child = -1;

int cc_idmap_init(uid_t uid, gid_t gid, cc_error *err)
{
	int ready[2], done[2], r;
	pid_t child;
	ssize_t n;
	char c;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return cc_failx(err, errno, "cannot create a pipe");
	if (pipe2(done, O_CLOEXEC) < 0) {
		r = errno;
		(void)close(ready[0]);
		(void)close(ready[1]);
		return cc_failx(err, r, "cannot create a pipe");
	}
	child = fork();
	if (child == 0)
		child_main(ready[1], done[0]);
	r = errno;
	(void)close(ready[1]);
	(void)close(done[0]);
	if (child < 0) {
		(void)close(ready[0]);
		(void)close(done[1]);
		return cc_failx(err, r, "cannot fork");
	}
	do
		n = read(ready[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		r = map_and_open(child, uid, gid, err);
	else
		r = cc_fail(err, EOPNOTSUPP, "cannot create a user namespace for idmapped mounts "
			    "(are user namespaces disabled? user.max_user_namespaces)");
	(void)close(ready[0]);
	(void)close(done[1]); /* the child's read returns: it exits */
	idmap_child = child; /* reaped by cc_idmap_reap, between requests: not waited for here */
	return r;
}

void cc_idmap_reap(bool block)
{
	pid_t w;
	while (idmap_child > 0 && (w = waitpid(idmap_child, NULL, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	if (idmap_child > 0 && (block || w != 0))
		idmap_child = -1;
}

/* A detached clone of the mount of `dirfd`, idmapped so that the caller is
 * its root. Must run in the mount namespace `dirfd` belongs to. */
static int idmapped_clone(int dirfd, const char *what, cc_error *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
	_cleanup_close_ int tree = -1;
	int r;

	if (userns_fd < 0)
		return cc_fail(err, EBADF, "no idmapping user namespace");
	/* Cloning a mount (a new, detached one of the same filesystem) is a
	 * mount operation: CAP_SYS_ADMIN over the container's mount namespace. */
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN),
		  tree = (int)syscall(SYS_open_tree, dirfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
	if (tree < 0) {
		if (errno == ENOSYS)
			return cc_fail(err, EOPNOTSUPP, "the kernel lacks open_tree (new mount API, Linux >= 5.2): "
				       "cannot write to %s without CAP_DAC_OVERRIDE", what);
		return cc_failx(err, errno, "cannot clone the mount of %s", what);
	}
	/* Idmapping a detached mount of a filesystem whose superblock we
	 * control (CAP_SYS_ADMIN in its user namespace). */
	WITH_CAPS(CC_CAP(CAP_SYS_ADMIN), r = (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)));
	if (r < 0) {
		if (errno == ENOSYS)
			return cc_fail(err, EOPNOTSUPP, "the kernel lacks mount_setattr (idmapped mounts, Linux >= 5.12): "
				       "cannot write to %s", what);
		if (errno == EINVAL)
			return cc_fail(err, EOPNOTSUPP, "the filesystem of %s does not support idmapped mounts "
				       "(tmpfs has them from Linux 6.3): cannot write to it", what);
		return cc_failx(err, errno, "cannot idmap the mount of %s", what);
	}
	r = tree;
	tree = -1;
	return r;
}

int cc_idmap_mkdirat(int dirfd, const char *name, mode_t mode, const char *what, cc_error *err)
{
	_cleanup_close_ int tree = idmapped_clone(dirfd, what, err);
	if (tree < 0)
		return tree;
	if (mkdirat(tree, name, mode) < 0)
		return cc_failx(err, errno, "cannot create %s/%s", what, name);
	return 0;
}

int cc_idmap_rmdirat(int dirfd, const char *name, const char *what, cc_error *err)
{
	_cleanup_close_ int tree = idmapped_clone(dirfd, what, err);
	if (tree < 0)
		return tree;
	if (unlinkat(tree, name, AT_REMOVEDIR) < 0)
		return cc_failx(err, errno, "cannot remove %s/%s", what, name);
	return 0;
}
